"""Dealer list and dealer detail over HTTP vs a raw-sqlite primary-key lookup, same server, same run.

    .venv/bin/python benchmarks/dealer_reads.py [--dealers 10000] [--seconds 5] [--connections 16]

Target (PERFORMANCE.md): read endpoints ≥ 50 % of the raw lookup's rps, p99 < 50 ms at c16.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import sqlite3
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import cpu_note, cpu_seconds, free_port, report, serve, wrk  # noqa: E402
from litestar import get  # noqa: E402
from litestar.response import Response  # noqa: E402
from sqlalchemy import insert  # noqa: E402

import dealercrm  # noqa: E402
from dealercrm.adapters.db.orm import dealer_contacts, dealers, users  # noqa: E402
from dealercrm.adapters.security import Argon2PasswordHasher  # noqa: E402
from dealercrm.config import load_settings  # noqa: E402
from dealercrm.domain.channel import REGIONS  # noqa: E402
from dealercrm.domain.values import Uscc  # noqa: E402
from dealercrm.entrypoints.http.app import create_app  # noqa: E402


def seed(crm, n: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(1)
    now = dt.datetime.now(dt.UTC)
    rows, contacts = [], []
    for i in range(1, n + 1):
        body = f"91{110000 + i:06d}MA{i:07d}"
        rows.append(dict(
            id=i, code=f"DL-{i:06d}", legal_name=f"基准测试专用车销售有限公司{i}", short_name=f"基准{i}",
            uscc=body + Uscc.check_char(body), region=REGIONS[i % 7], province="河南省", city="郑州市",
            address_detail=f"经开区{i}号", status="approved", territory_regions=["河南省"], territory_industries=[],
            registered_at=now, version=1,
        ))
        contacts.append(dict(dealer_id=i, name="王建国", kind="management", title="总经理",
                             phone=f"138{rng.randrange(10**8):08d}", is_primary=True))
    with crm.engine.begin() as conn:
        conn.execute(insert(dealers), rows)
        conn.execute(insert(dealer_contacts), contacts)
        conn.execute(insert(users), [dict(username="bench_admin", display_name="bench", role="admin",
                                          password_hash=Argon2PasswordHasher().hash("Bench2026pass"), regions=[],
                                          is_active=True, created_at=now)])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dealers", type=int, default=10_000)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--plain-uvicorn", action="store_true", help="h11 + asyncio instead of httptools + uvloop")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="dealercrm-bench-"))
    db = tmp / "bench.db"
    settings = load_settings({}, database_url=f"sqlite:///{db}", log_level="WARNING", jwt_secret="b" * 48,
                             principal_cache_seconds=5, sqlite_synchronous="NORMAL")
    crm = dealercrm.bootstrap(settings)
    seed(crm, args.dealers)

    local = threading.local()

    @get("/bench/raw/{dealer_id:int}", sync_to_thread=True, include_in_schema=False, exclude_from_auth=True)
    def raw(dealer_id: int) -> Response[bytes]:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = sqlite3.connect(db, check_same_thread=False)
        row = conn.execute("SELECT id, code, legal_name, region, status FROM dealers WHERE id = ?", (dealer_id,)).fetchone()
        return Response(json.dumps(dict(zip(("id", "code", "legal_name", "region", "status"), row)), ensure_ascii=False).encode(),
                        media_type="application/json")

    app = create_app(settings, container=crm, extra_route_handlers=[raw])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serve(app, port, plain=args.plain_uvicorn):
        import httpx

        token = httpx.post(f"{base}/api/v1/auth/login", json={"username": "bench_admin", "password": "Bench2026pass"}).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        mid = args.dealers // 2
        assert httpx.get(f"{base}/api/v1/dealers/{mid}", headers=auth).status_code == 200
        assert httpx.get(f"{base}/bench/raw/{mid}").status_code == 200
        server = "uvicorn (h11, asyncio)" if args.plain_uvicorn else "uvicorn[standard] (httptools, uvloop)"
        print(f"dealer reads, {args.dealers} dealers, SQLite WAL, {server}, wrk -t1 -c{args.connections} -d{args.seconds}s; {cpu_note()}")
        wrk(f"{base}/bench/raw/{mid}", name="warm-up", seconds=1)
        cpu_ms: dict[str, float] = {}

        def measured(url: str, name: str, **kw):  # type: ignore[no-untyped-def]
            before = cpu_seconds()
            result = wrk(url, name=name, connections=args.connections, seconds=args.seconds, **kw)
            cpu_ms[name] = (cpu_seconds() - before) * 1000 / max(1.0, result.rps * args.seconds)
            return result

        baseline = measured(f"{base}/bench/raw/{mid}", "baseline: raw sqlite3 PK lookup")
        detail = measured(f"{base}/api/v1/dealers/{mid}", "GET /api/v1/dealers/{id}", headers=auth)
        listing = measured(f"{base}/api/v1/dealers/?region=%E5%8D%8E%E4%B8%AD&limit=20",
                           "GET /api/v1/dealers/?region&limit=20", headers=auth)
        report([detail, listing], baseline)
        print("server CPU ms per request (this process, /proc): "
              + ", ".join(f"{name}: {ms:.2f}" for name, ms in cpu_ms.items()))
    crm.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
