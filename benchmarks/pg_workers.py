"""Order creation + submission on PostgreSQL with ``dealercrm serve --workers N`` for N = 1, 2, 4,
with the realistic staff of ``order_submit.py`` (3 review staff per role and region: 12 review
e-mails per order), while ``pg_stat_activity`` is sampled for lock waits.

    .venv/bin/python benchmarks/pg_workers.py [--seconds 5] [--connections 16] [--workers 1,2,4]
                                              [--sample-ms 20] [--database-url postgresql+psycopg://…]

Without ``--database-url`` it starts a throwaway PostgreSQL cluster the way ``tests/conftest.py``
does (initdb + pg_ctl of the installed server, as the ``postgres`` user when run as root, on a
free loopback port, ``fsync=off synchronous_commit=off``) and removes it afterwards. Each N runs
the real CLI in a process group of its own (``serve --workers N``, secrets from a fresh
``keys init`` folder) and is driven by ``wrk -t1`` posting ``POST /api/v1/orders/?submit=true``.

It prints, per N: orders/s (counted in the database), the ratio to one worker, p50/p99, non-2xx
answers, and the lock waits seen in the samples; then the waits grouped by wait event and query,
marking those on a document-number row (``document_sequences``, which gap-tolerant numbers on
PostgreSQL no longer touch: they come from sequences).

Targets (PERFORMANCE.md, issue 20): 2 workers ≥ 1.3× one worker; no sampled waits on a
document-number row. On a 2-core machine shared with other work the ratios say more than the
absolute figures; the load average is printed beside them.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Self

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import psycopg
from _harness import _LAT, Result, cpu_note, free_port
from order_submit import OPTIONS, PASSWORD, one_call_script, seed

import dealercrm
from dealercrm.config import load_settings

SRC = Path(dealercrm.__file__).resolve().parent.parent  # the checkout these sources come from


def _run_as_pg(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A PostgreSQL cluster of this run only (as ``tests/conftest.py`` starts one); its URL."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    bindir = Path(found[-1]).parent if found else (Path(shutil.which("initdb") or "").parent)
    if not (bindir / "initdb").exists():
        print("PostgreSQL server binaries not found", file=sys.stderr)
        raise SystemExit(2)
    datadir = Path(tempfile.mkdtemp(prefix="dealercrm-bench-pg-"))
    if os.geteuid() == 0:
        shutil.chown(datadir, "postgres", "postgres")
    port = free_port()
    r = _run_as_pg([str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                    "--locale=C.UTF-8", "-N"])
    if r.returncode != 0:
        print(f"initdb failed: {r.stderr[-500:]}", file=sys.stderr)
        raise SystemExit(2)
    opts = (f"-p {port} -k {datadir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=300 -c shared_buffers=128MB")
    r = _run_as_pg([str(bindir / "pg_ctl"), "-D", str(datadir), "-o", opts, "-l", str(datadir / "server.log"),
                    "-w", "-t", "60", "start"])
    if r.returncode != 0:
        print(f"pg_ctl start failed: {r.stderr[-300:]}", file=sys.stderr)
        raise SystemExit(2)
    try:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/bench"
    finally:
        _run_as_pg([str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(datadir, ignore_errors=True)


class LockSampler:
    """Polls ``pg_stat_activity`` of the benchmark's database every ``interval`` seconds: the
    backends waiting on a lock (by wait event and query), and how many were busy at all."""

    SAMPLE = ("SELECT wait_event_type, wait_event, state, query FROM pg_stat_activity "
              "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'")

    def __init__(self, dsn: str, interval: float) -> None:
        self.dsn = dsn
        self.interval = interval
        self.samples = 0
        self.waits: collections.Counter[tuple[str, str]] = collections.Counter()
        self.busy = 0
        self.idle_in_transaction = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._stop.is_set():
                rows = conn.execute(self.SAMPLE).fetchall()
                self.samples += 1
                for wait_type, wait_event, state, query in rows:
                    if state == "active":
                        self.busy += 1
                    elif state == "idle in transaction":
                        self.idle_in_transaction += 1
                    if wait_type == "Lock":
                        self.waits[(wait_event or "?", " ".join((query or "").split())[:110])] += 1
                self._stop.wait(self.interval)


def start_server(workers: int, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-c", "import sys; from dealercrm.entrypoints.cli import main; sys.exit(main())",
           "serve", "--workers", str(workers), "--port", str(port)]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            print(f"serve --workers {workers} exited {proc.returncode}; see {log}", file=sys.stderr)
            raise SystemExit(2)
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_server(proc)
    print(f"serve --workers {workers} did not answer within 120 s; see {log}", file=sys.stderr)
    raise SystemExit(2)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT to the server's own process group (uvicorn's supervisor and its workers)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def wrk_script(url: str, script: str, *, name: str, connections: int, seconds: int) -> tuple[Result, int]:
    """``order_submit.wrk_script`` with a 30 s request timeout (a loaded machine answers slowly;
    wrk's default of 2 s drops those answers from the latencies); also the timeouts wrk counted."""
    exe = shutil.which("wrk")
    if exe is None:
        print("wrk not found: apt-get install wrk", file=sys.stderr)
        raise SystemExit(2)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run([exe, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "--latency",
                              "-s", f.name, url], capture_output=True, text=True, timeout=seconds + 90,
                             check=True).stdout
    finally:
        os.unlink(f.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = {pct: float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[u] for pct, v, u in _LAT.findall(out)}
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    t = re.search(r"timeout (\d+)", out)
    return (Result(name, rps, lat.get("50", 0.0), lat.get("99", 0.0), int(m.group(1)) if m else 0),
            int(t.group(1)) if t else 0)


def count_orders(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return int(conn.execute("SELECT count(*) FROM orders WHERE state = 'submitted'").fetchone()[0])  # type: ignore[index]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=3, help="seconds of load before each measured run")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    ap.add_argument("--sample-ms", type=int, default=20, help="pg_stat_activity sampling interval")
    ap.add_argument("--database-url", help="an existing, empty PostgreSQL database instead of a throwaway cluster")
    args = ap.parse_args()
    counts = [int(n) for n in args.workers.split(",")]

    with contextlib.ExitStack() as stack:
        url = args.database_url or stack.enter_context(throwaway_postgres())
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        tmp = Path(tempfile.mkdtemp(prefix="dealercrm-bench-workers-"))
        stack.callback(shutil.rmtree, tmp, True)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
               "DEALERCRM_DATABASE_URL": url, "DEALERCRM_KEY_DIR": str(tmp / "keys"), "DEALERCRM_LOG_LEVEL": "WARNING"}
        cli = "import sys; from dealercrm.entrypoints.cli import main; sys.exit(main())"
        subprocess.run([sys.executable, "-c", cli, "keys", "init", "--dir", str(tmp / "keys")],
                       env=env, check=True, capture_output=True)
        crm = dealercrm.bootstrap(load_settings({}, database_url=url, log_level="WARNING"))
        _, template_id = seed(crm)
        crm.close()
        delivery = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 60 * 86400))
        body = json.dumps({"template_id": template_id, "options": OPTIONS, "quantity": 1,
                           "requested_delivery_date": delivery, "delivery_method": "self_pickup",
                           "end_customer": {"name": "中石化河南石油分公司", "industry": "成品油运输"},
                           "remarks": "基准测试"}, ensure_ascii=False)

        print(f"order creation + submission on PostgreSQL, serve --workers N, wrk -t1 -c{args.connections} "
              f"-d{args.seconds}s, pg_stat_activity every {args.sample_ms} ms; {cpu_note()}; "
              f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        rows = []
        for n in counts:
            port = free_port()
            proc = start_server(n, port, env, tmp / f"serve-{n}.log")
            try:
                base = f"http://127.0.0.1:{port}"
                token = httpx.post(f"{base}/api/v1/auth/login", json={"username": "bench_dealer",
                                                                       "password": PASSWORD}).json()["access_token"]
                script = one_call_script(token, body, "/api/v1/orders/?submit=true")
                # every worker builds its container and fills its caches on its first requests
                wrk_script(base, script, name="warm-up", connections=args.connections, seconds=args.warmup)
                before = count_orders(dsn)
                with LockSampler(dsn, args.sample_ms / 1000) as sampler:
                    result, timeouts = wrk_script(base, script, name=f"{n} worker(s)", connections=args.connections,
                                                  seconds=args.seconds)
                orders = count_orders(dsn) - before
                rows.append((n, result, timeouts, orders / args.seconds, sampler, os.getloadavg()[0]))
            finally:
                stop_server(proc)

        one = rows[0][3] if rows else 0.0
        print(f"{'workers':>7}{'orders/s':>10}{'vs 1':>7}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'timeouts':>9}"
              f"{'samples':>9}{'lock waits':>12}{'doc-no waits':>14}{'active/sample':>15}{'idle-in-tx/sample':>19}"
              f"{'load 1m':>9}")
        for n, r, timeouts, per_s, s, load in rows:
            docno = sum(c for (_, q), c in s.waits.items() if "document_sequences" in q)
            print(f"{n:>7}{per_s:>10.1f}{per_s / one if one else 0:>7.2f}{r.p50_ms:>9.1f}{r.p99_ms:>9.1f}"
                  f"{r.errors:>9}{timeouts:>9}{s.samples:>9}{sum(s.waits.values()):>12}{docno:>14}"
                  f"{s.busy / max(1, s.samples):>15.1f}{s.idle_in_transaction / max(1, s.samples):>19.1f}{load:>9.1f}")
        for n, _, _, _, s, _ in rows:
            if not s.waits:
                print(f"{n} worker(s): no lock waits sampled")
                continue
            print(f"{n} worker(s): lock waits by wait event and query (count over {s.samples} samples)")
            for (event, query), c in s.waits.most_common(10):
                mark = "  <- document-number row" if "document_sequences" in query else ""
                print(f"  {c:>6}  {event:<14} {query}{mark}")
        print("targets: 2 workers >= 1.3x one worker; no sampled waits on a document-number row (issue 20)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
