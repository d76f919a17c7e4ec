"""Dealer list and dealer detail over HTTP vs a raw-sqlite primary-key lookup, same server, same run.

    .venv/bin/python benchmarks/dealer_reads.py [--dealers 10000] [--seconds 5] [--connections 16] [--rounds 3]
                                                [--only raw|detail|list]

The three endpoints run in interleaved rounds (raw, detail, list; raw, detail, list; …) and each
ratio is taken against the raw lookup of its own round, then the median is printed: on a shared
machine the load drifts between runs of a few seconds.

Target (PERFORMANCE.md): detail ≥ 60 % of the raw lookup's rps, filtered list p99 < 50 ms at c16.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import random
import shutil
import statistics
import sqlite3
import sys
import tempfile
import threading
from urllib.parse import quote
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Result, cpu_note, cpu_seconds, free_port, report, serve, wrk  # noqa: E402
from litestar import get  # noqa: E402
from litestar.response import Response  # noqa: E402
from sqlalchemy import insert  # noqa: E402

import dealercrm  # noqa: E402
from dealercrm.adapters.db.orm import dealer_contacts, dealers, users  # noqa: E402
from dealercrm.adapters.security import Argon2PasswordHasher  # noqa: E402
from dealercrm.config import load_settings  # noqa: E402
from dealercrm.domain.identity import Principal  # noqa: E402
from dealercrm.domain.values import Uscc  # noqa: E402
from dealercrm.entrypoints.http.app import create_app  # noqa: E402


def seed(crm, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    """``n`` approved dealers spread over the active regions the ``regions`` table holds (the
    migration seeds seven; administrators keep them), each in one of its region's provinces.
    Returns the region names in their order."""
    rng = random.Random(1)
    now = dt.datetime.now(dt.UTC)
    regions = crm.regions.list_regions(Principal.system(), include_inactive=False)
    rows, contacts = [], []
    for i in range(1, n + 1):
        body = f"91{110000 + i:06d}MA{i:07d}"
        region = regions[i % len(regions)]
        province = region["provinces"][i % len(region["provinces"])]
        rows.append(dict(
            id=i, code=f"DL-{i:06d}", legal_name=f"基准测试专用车销售有限公司{i}", short_name=f"基准{i}",
            uscc=body + Uscc.check_char(body), region=region["name"], province=province, city=f"{province}市",
            address_detail=f"经开区{i}号", status="approved", territory_regions=[province], territory_industries=[],
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
    return [r["name"] for r in regions]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dealers", type=int, default=10_000)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the three endpoints")
    ap.add_argument("--only", choices=["raw", "detail", "list"], help="run one endpoint (e.g. under a profiler)")
    ap.add_argument("--plain-uvicorn", action="store_true", help="h11 + asyncio instead of httptools + uvloop")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="dealercrm-bench-"))
    db = tmp / "bench.db"
    settings = load_settings({}, database_url=f"sqlite:///{db}", log_level="WARNING", jwt_secret="b" * 48,
                             principal_cache_seconds=5, sqlite_synchronous="NORMAL")
    crm = dealercrm.bootstrap(settings)
    region_names = seed(crm, args.dealers)

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

        logging.getLogger("httpx").setLevel(logging.WARNING)

        token = httpx.post(f"{base}/api/v1/auth/login", json={"username": "bench_admin", "password": "Bench2026pass"}).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        mid = args.dealers // 2
        assert httpx.get(f"{base}/api/v1/dealers/{mid}", headers=auth).status_code == 200
        assert httpx.get(f"{base}/bench/raw/{mid}").status_code == 200
        server = "uvicorn (h11, asyncio)" if args.plain_uvicorn else "uvicorn[standard] (httptools, uvloop)"
        print(f"dealer reads, {args.dealers} dealers, SQLite WAL, {server}, wrk -t1 -c{args.connections} -d{args.seconds}s; {cpu_note()}")
        wrk(f"{base}/bench/raw/{mid}", name="warm-up", seconds=1)
        region = quote(region_names[mid % len(region_names)])  # the detail's dealer's region
        endpoints = {
            "raw": (f"{base}/bench/raw/{mid}", "baseline: raw sqlite3 PK lookup", {}),
            "detail": (f"{base}/api/v1/dealers/{mid}", "GET /api/v1/dealers/{id}", auth),
            "list": (f"{base}/api/v1/dealers/?region={region}&limit=20", "GET /api/v1/dealers/?region&limit=20", auth),
        }
        if args.only:  # one endpoint for as long as asked (e.g. under a profiler); no ratio
            url, name, headers = endpoints[args.only]
            before = cpu_seconds()
            r = wrk(url, name=name, connections=args.connections, seconds=args.seconds, headers=headers)
            ms = (cpu_seconds() - before) * 1000 / max(1.0, r.rps * args.seconds)
            print(f"{name}: {r.rps:.0f} rps, p50 {r.p50_ms:.2f} ms, p99 {r.p99_ms:.2f} ms, non-2xx {r.errors}, "
                  f"server CPU {ms:.2f} ms per request")
        else:
            rounds: list[dict[str, tuple[Result, float]]] = []
            for n in range(args.rounds):  # interleaved, so drift on a shared machine hits all three alike
                got: dict[str, tuple[Result, float]] = {}
                for key, (url, name, headers) in endpoints.items():
                    before = cpu_seconds()
                    r = wrk(url, name=name, connections=args.connections, seconds=args.seconds, headers=headers)
                    got[key] = (r, (cpu_seconds() - before) * 1000 / max(1.0, r.rps * args.seconds))
                rounds.append(got)
                print(f"round {n + 1}:")
                report([got["detail"][0], got["list"][0]], got["raw"][0])
            print(f"median of {args.rounds} rounds (each ratio against the baseline of its own round):")
            print(f"{'endpoint':<38}{'rps ratio':>10}{'p99 ms':>9}{'CPU ms/req':>11}{'CPU ratio':>10}")
            for key in endpoints:
                ratio = statistics.median(g[key][0].rps / g["raw"][0].rps for g in rounds)
                p99 = statistics.median(g[key][0].p99_ms for g in rounds)
                cpu = statistics.median(g[key][1] for g in rounds)
                cpu_ratio = statistics.median(g["raw"][1] / g[key][1] for g in rounds)
                print(f"{endpoints[key][1]:<38}{ratio:>10.0%}{p99:>9.1f}{cpu:>11.2f}{cpu_ratio:>10.0%}")
            print("rps ratio: this endpoint's rps over the raw lookup's in the same round; CPU ratio: the raw "
                  "lookup's server CPU per request over this endpoint's (steadier on a busy machine)")
            print("targets: detail >= 60 % of the raw lookup's rps; filtered list p99 < 50 ms at c16 (issue 20)")
    crm.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
