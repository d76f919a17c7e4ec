"""The dealer list endpoint (``GET /api/v1/dealers/``, filtered, 20 a page) vs the same query in raw
sqlite3 with ``json.dumps``, in the same server and the same run, at a realistic data size.

    .venv/bin/python benchmarks/dealer_list.py [--dealers 10000] [--seconds 5] [--connections 16]

Two filters a back office really uses, each against its raw twin: a region (华中, about a seventh
of the dealers) and a text search (a name fragment, a full LIKE scan). Prints rps, p50 and p99 of
each with the ratio to its baseline; the lead records the official figures on an idle machine.

Target (issue 20 §4): the filtered list's p99 < 50 ms at c16.
"""

from __future__ import annotations

import argparse
import json
import logging
import queue
import shutil
import sqlite3
import sys
import tempfile
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import cpu_note, free_port, report, serve, wrk  # noqa: E402
from dealer_reads import seed  # noqa: E402
from litestar import get  # noqa: E402
from litestar.response import Response  # noqa: E402

import dealercrm  # noqa: E402
from dealercrm.config import load_settings  # noqa: E402
from dealercrm.entrypoints.http.app import create_app  # noqa: E402

COLUMNS = ("id", "code", "legal_name", "short_name", "region", "province", "city", "status", "registered_at")
REGION = "华中"
TEXT = "公司12"  # matches dealers 12, 120–129, 1200–1299, …: a page fills only after a long scan
PAGE = 20


def _raw_list(conn: sqlite3.Connection, region: str | None, text: str | None) -> bytes:
    """What the endpoint answers, by hand: the same columns, filter, keyset order and page size
    (one row more to know whether there is a next page)."""
    where, params = [], []
    if region:
        where.append("region = ?")
        params.append(region)
    if text:
        where.append("(legal_name LIKE ? OR short_name LIKE ? OR code LIKE ? OR uscc LIKE ? OR city LIKE ?)")
        params += [f"%{text}%"] * 5
    sql = (f"SELECT {', '.join(COLUMNS)} FROM dealers"
           + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY id LIMIT ?")
    rows = conn.execute(sql, (*params, PAGE + 1)).fetchall()
    items = [dict(zip(COLUMNS, r)) for r in rows[:PAGE]]
    cursor = str(items[-1]["id"]) if len(rows) > PAGE else None
    return json.dumps({"items": items, "next_cursor": cursor}, ensure_ascii=False).encode()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dealers", type=int, default=10_000)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="dealercrm-bench-"))
    db = tmp / "bench.db"
    settings = load_settings({}, database_url=f"sqlite:///{db}", log_level="WARNING", jwt_secret="b" * 48,
                             principal_cache_seconds=5, sqlite_synchronous="NORMAL")
    crm = dealercrm.bootstrap(settings)
    seed(crm, args.dealers)

    # As many connections as the engine's pool keeps (10), each with a warm page cache: one per
    # worker thread (40) would make the baseline scan from colder caches than the endpoint does.
    pool: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
    for _ in range(10):
        pool.put(sqlite3.connect(db, check_same_thread=False))

    @get("/bench/raw/dealers", sync_to_thread=True, include_in_schema=False, exclude_from_auth=True)
    def raw(region: str | None = None, q: str | None = None) -> Response[bytes]:
        conn = pool.get()
        try:
            return Response(_raw_list(conn, region, q), media_type="application/json")
        finally:
            pool.put(conn)

    app = create_app(settings, container=crm, extra_route_handlers=[raw])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serve(app, port):
        import httpx

        logging.getLogger("httpx").setLevel(logging.WARNING)

        token = httpx.post(f"{base}/api/v1/auth/login",
                           json={"username": "bench_admin", "password": "Bench2026pass"}).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        pairs = [("region", f"region={urllib.parse.quote(REGION)}"), ("text", f"q={urllib.parse.quote(TEXT)}")]
        for label, query in pairs:  # both sides answer the same page before anything is timed
            ours = httpx.get(f"{base}/api/v1/dealers/?{query}&limit={PAGE}", headers=auth)
            theirs = httpx.get(f"{base}/bench/raw/dealers?{query}")
            if ours.status_code != 200 or [d["id"] for d in ours.json()["items"]] != [
                    d["id"] for d in theirs.json()["items"]]:
                print(f"{label}: the endpoint and its baseline disagree: {ours.status_code} {ours.text[:200]}",
                      file=sys.stderr)
                return 1
        print(f"dealer list, {args.dealers} dealers, {PAGE} a page, SQLite WAL, uvicorn, "
              f"wrk -t1 -c{args.connections} -d{args.seconds}s; {cpu_note()}")
        wrk(f"{base}/bench/raw/dealers?{pairs[0][1]}", name="warm-up", seconds=1)
        for label, query in pairs:
            baseline = wrk(f"{base}/bench/raw/dealers?{query}", name=f"baseline: raw sqlite3 ({label})",
                           connections=args.connections, seconds=args.seconds)
            ours = wrk(f"{base}/api/v1/dealers/?{query}&limit={PAGE}", name=f"GET /api/v1/dealers/ ({label})",
                       connections=args.connections, seconds=args.seconds, headers=auth)
            report([ours], baseline)
    crm.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
