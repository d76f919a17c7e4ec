"""Where one workbench request's time goes: SQL statements and a cProfile, in process.

    .venv/bin/python benchmarks/workbench_profile.py [--requests 200] [--profile] [--statements]

Seeds the demo data as ``web_pages.py`` does, signs in through the login form with Litestar's
TestClient, and for the dealer's JSON workbench, the dealer's web workbench and the reviewer's web
workbench prints the SQL statements one request issues and the wall time per request in process
and the CPU time of the whole process (client and server, no network). ``--profile`` adds the top of a cProfile of each.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import pstats
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from litestar.testing import TestClient
from sqlalchemy import event

import dealercrm
from dealercrm.config import load_settings
from dealercrm.entrypoints.demo import DEMO_PASSWORD, load_demo
from dealercrm.entrypoints.http.app import create_app

CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')


def sign_in(client: TestClient, username: str) -> None:
    token = CSRF_INPUT.search(client.get("/login").text).group(1)  # type: ignore[union-attr]
    r = client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "_csrf_token": token},
                    follow_redirects=False)
    if r.status_code != 303:
        raise RuntimeError(f"login as {username} failed: {r.status_code}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--statements", action="store_true", help="print each statement's first line")
    ap.add_argument("--py-spy", metavar="EXE", help="also sample each case with this py-spy into collapsed-stack files")
    args = ap.parse_args()
    logging.disable(logging.WARNING)

    tmp = Path(tempfile.mkdtemp(prefix="dealercrm-wbprof-"))
    settings = load_settings({}, database_url=f"sqlite:///{tmp / 'bench.db'}", log_level="WARNING",
                             jwt_secret="b" * 48, session_secret="s" * 48, login_rate_per_minute=10_000,
                             principal_cache_seconds=5, sqlite_synchronous="NORMAL")
    crm = dealercrm.bootstrap(settings)
    load_demo(crm, erp_state=str(tmp / "erp-sim.sqlite3"))
    app = create_app(settings, container=crm)
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        statements.append(statement)

    with TestClient(app) as dealer, TestClient(app) as reviewer, TestClient(app) as api:
        sign_in(dealer, "dealer32")
        sign_in(reviewer, "procurement")
        token = api.post("/api/v1/auth/login", json={"username": "dealer32", "password": DEMO_PASSWORD}).json()
        api.headers["Authorization"] = f"Bearer {token['access_token']}"
        cases = (("json: dealer GET /api/v1/workbench", api, "/api/v1/workbench"),
                 ("web: dealer GET /", dealer, "/"),
                 ("web: reviewer GET /", reviewer, "/"))
        for name, client, path in cases:
            for _ in range(3):  # warm caches (templates, principal cache, compiled statements)
                if client.get(path).status_code != 200:
                    raise RuntimeError(f"{name} failed")
            statements.clear()
            event.listen(crm.engine, "before_cursor_execute", record)
            client.get(path)
            event.remove(crm.engine, "before_cursor_execute", record)
            print(f"{name}: {len(statements)} SQL statements")
            if args.statements:
                for text, n in Counter(" ".join(s.split())[:150] for s in statements).most_common():
                    print(f"   {n:3d} × {text}")
            started, cpu = time.perf_counter(), time.process_time()
            for _ in range(args.requests):
                client.get(path)
            print(f"   {(time.perf_counter() - started) * 1000 / args.requests:.2f} ms wall, "
                  f"{(time.process_time() - cpu) * 1000 / args.requests:.2f} ms CPU (client included) per request")
            if args.py_spy:
                out_file = tmp.parent / f"workbench-{name.split(':')[0]}-{name.split()[1]}.folded"
                spy = subprocess.Popen([args.py_spy, "record", "--pid", str(os.getpid()), "--rate", "400",
                                        "--duration", "6", "--format", "raw", "--output", str(out_file)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1)
                until = time.monotonic() + 6
                while time.monotonic() < until:
                    client.get(path)
                spy.wait()
                print(f"   py-spy samples: {out_file}")
            if args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(args.requests):
                    client.get(path)
                profiler.disable()
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(45)
                print(out.getvalue())
    crm.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
