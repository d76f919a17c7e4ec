"""Shared benchmark plumbing: start a server on a free loopback port, drive it with wrk, parse.

wrk (Debian package ``wrk``) is the load generator, as in PERFORMANCE.md. Each benchmark serves
its dealercrm endpoint and a baseline endpoint *in the same server, in the same run*, and prints
the ratio, because absolute numbers drift ±25 % between runs on these machines.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import attrs


@attrs.frozen
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(app, port: int, *, plain: bool = False) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """``plain``: uvicorn's pure-Python h11 parser and asyncio loop instead of httptools + uvloop."""
    import uvicorn

    from dealercrm.entrypoints.http.app import settle_heap

    settle_heap()  # as `dealercrm serve` does before it serves
    extra = {"http": "h11", "loop": "asyncio"} if plain else {}
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", access_log=False, **extra)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        if time.time() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(10)


_LAT = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)", re.M)


def wrk(url: str, *, name: str, connections: int = 16, seconds: int = 5, headers: dict[str, str] | None = None) -> Result:
    exe = shutil.which("wrk")
    if exe is None:
        print("wrk not found: apt-get install wrk", file=sys.stderr)
        raise SystemExit(2)
    cmd = [exe, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = {}
    for pct, value, unit in _LAT.findall(out):
        lat[pct] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m:
        errors = int(m.group(1))
    return Result(name, rps, lat.get("50", 0.0), lat.get("99", 0.0), errors)


def report(results: list[Result], baseline: Result) -> None:
    print(f"{'endpoint':<34}{'rps':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>9}{'vs baseline':>13}")
    for r in [baseline, *results]:
        ratio = r.rps / baseline.rps if baseline.rps else 0.0
        print(f"{r.name:<34}{r.rps:>10.0f}{r.p50_ms:>10.2f}{r.p99_ms:>10.2f}{r.errors:>9}{ratio:>12.0%}")


def cpu_seconds() -> float:
    """This process's CPU time (user + system) from /proc/self/stat (a server run in a thread of
    this process: its CPU per request does not depend on how busy the other cores are)."""
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_note() -> str:
    return f"cores={os.cpu_count()} python={sys.version.split()[0]}"
