"""Live delivery with 1,000 open WebSockets on one server (issue 21, Performance), side by side
with a bare Litestar WebSocket broadcast of the same messages.

    .venv/bin/python benchmarks/live_websockets.py [--sockets 1000] [--groups 20] [--rounds 5]
                                                   [--database-url postgresql+psycopg://…]

Without ``--database-url`` it starts a throwaway PostgreSQL cluster (``pg_workers.throwaway_postgres``),
so the server carries its events on Litestar channels' PostgreSQL LISTEN/NOTIFY backend, as in
production. ``--database-url sqlite:///…`` runs the in-memory channels backend instead.

Set-up: ``--sockets`` people (staff, so they may write to one another), in ``--groups`` group
conversations of equal size (50 each by default, the group limit); each person's browser holds
one ``/live`` socket (a web session opened in the database, as a login would). The server is one
``uvicorn`` process (``create_worker_app``, as ``dealercrm serve`` runs a worker); the clients run
here, in asyncio.

A round posts one message into every group at once (``POST /api/v1/conversations/{id}/messages``,
one member of each group writing) and waits until every member's socket has it: one delivery per
socket per round. Latency is from just before the POST to the moment the socket hands over the
event, so it includes the post's own request (its commit included) and, on the dealercrm side,
the socket reading the message from the database as its reader (the channel event carries ids
only).

The baseline is a bare Litestar app in a second ``uvicorn`` process: the same number of sockets,
subscribed in the same groups to Litestar channels (in-memory backend), and a ``POST /publish``
that broadcasts the same JSON on a group's channel; measured the same way.

Printed: delivery latency p50/p99 of both and their ratio (target: dealercrm's p99 ≤ 2× the
baseline's), each server's RSS before and with the sockets open, memory per open connection, and
the database connections the dealercrm server holds (idle, and the most seen during the rounds).
It raises its own open-file limit. Absolute figures drift between runs on a shared machine; the
ratio says more.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from _harness import cpu_note, free_port

import dealercrm

SRC = Path(dealercrm.__file__).resolve().parent.parent
PASSWORD = "Bench-Passw0rd"
SECRETS = {"DEALERCRM_JWT_SECRET": "j" * 48, "DEALERCRM_SESSION_SECRET": "s" * 48}


# --- the bare baseline server (uvicorn live_websockets:baseline_app --factory) -------------

def baseline_app() -> Any:
    import anyio
    import msgspec
    from litestar import Litestar, WebSocket, get, post, websocket
    from litestar.channels import ChannelsPlugin
    from litestar.channels.backends.memory import MemoryChannelsBackend
    from litestar.exceptions import WebSocketDisconnect

    @websocket("/ws")
    async def socket_handler(socket: WebSocket[Any, Any, Any], channels: ChannelsPlugin) -> None:
        await socket.accept()
        async with channels.start_subscription([socket.query_params["channel"]]) as subscriber:
            async def forward() -> None:
                async for raw in subscriber.iter_events():
                    await socket.send_text(raw.decode())

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(forward)
                with contextlib.suppress(WebSocketDisconnect):
                    while True:
                        await socket.receive_data(mode="text")
                tasks.cancel_scope.cancel()

    @post("/publish", status_code=201)
    async def publish(data: dict[str, Any], channels: ChannelsPlugin) -> dict[str, int]:
        channels.publish(msgspec.json.encode({"type": "message", "change": "posted",
                                              "message": {"body": data["body"]}}), [data["channel"]])
        return {"id": 0}

    @get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    plugin = ChannelsPlugin(backend=MemoryChannelsBackend(), arbitrary_channels_allowed=True,
                            subscriber_max_backlog=1000, subscriber_backlog_strategy="dropleft")
    return Litestar(route_handlers=[socket_handler, publish, health], plugins=[plugin])


# --- helpers ---------------------------------------------------------------------------------

def raise_open_file_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@contextlib.contextmanager
def uvicorn_process(target: list[str], env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", *target, "--host", "127.0.0.1", "--port", str(port),
                             "--log-level", "warning", "--no-access-log"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        yield proc, base
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


class ConnectionSampler:
    """Counts the dealercrm server's connections to its PostgreSQL database every 50 ms."""

    def __init__(self, dsn: str | None) -> None:
        self.dsn = dsn
        self.most = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def count(self) -> int | None:
        if self.dsn is None:
            return None
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                               "AND pid <> pg_backend_pid() AND backend_type = 'client backend'").fetchone()
        return int(row[0]) if row else 0

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:  # type: ignore[arg-type]
            while not self._stop.is_set():
                row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                   "AND pid <> pg_backend_pid() AND backend_type = 'client backend'").fetchone()
                self.most = max(self.most, int(row[0]) if row else 0)
                time.sleep(0.05)

    def __enter__(self) -> Self:
        if self.dsn is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self.dsn is not None:
            self._thread.join(5)


# --- the driver --------------------------------------------------------------------------------

class Run:
    """Open sockets, post rounds, collect latencies (seconds) per delivery of a measured round.
    A round is over when every socket has that round's message; nothing of the next round is
    sent before, so rounds do not overlap."""

    def __init__(self, expected_per_round: int) -> None:
        self.expected = expected_per_round
        self.sent_at: dict[str, tuple[int, float]] = {}  # body → (round, when posted)
        self.latencies: list[float] = []
        self.current = -1
        self.received = 0
        self.round_done = asyncio.Event()

    def delivered(self, raw: str | bytes) -> None:
        event = json.loads(raw)
        if event.get("type") != "message" or event.get("change") != "posted":
            return
        sent = self.sent_at.get(event["message"]["body"])
        if sent is None:
            return
        round_no, start = sent
        if round_no > 0:  # round 0 warms up
            self.latencies.append(time.perf_counter() - start)
        if round_no == self.current:
            self.received += 1
            if self.received >= self.expected:
                self.round_done.set()


async def open_sockets(urls: list[tuple[str, dict[str, str]]], run: Run) -> list[Any]:
    from websockets.asyncio.client import connect

    sockets: list[Any] = []

    async def reader(ws: Any) -> None:
        with contextlib.suppress(Exception):
            async for raw in ws:
                run.delivered(raw)

    async def one(url: str, headers: dict[str, str]) -> None:
        ws = await connect(url, additional_headers=headers, open_timeout=60, max_queue=None, ping_interval=None)
        sockets.append((ws, asyncio.create_task(reader(ws))))

    for i in range(0, len(urls), 50):  # fifty at a time, as browsers arriving
        await asyncio.gather(*(one(u, h) for u, h in urls[i:i + 50]))
    return sockets


async def close_sockets(sockets: list[Any]) -> None:
    for ws, task in sockets:
        await ws.close()
        task.cancel()


async def drive(run: Run, rounds: int, post_round: Any, per_round_timeout: float) -> int:
    """Warm-up round, then ``rounds`` measured ones; returns the deliveries missed (timeouts)."""
    missed = 0
    for r in range(rounds + 1):
        run.current, run.received = r, 0
        run.round_done.clear()
        await post_round(r, measured=r > 0)
        try:
            await asyncio.wait_for(run.round_done.wait(), per_round_timeout)
        except TimeoutError:
            if r > 0:
                missed += run.expected - run.received
    return missed


def seed(url: str, people: int, groups: int) -> tuple[list[int], list[list[int]], list[str], list[int]]:
    """People, their groups, one web session each, and each group's conversation id."""
    from dealercrm.adapters.security import Argon2PasswordHasher
    from dealercrm.application.identity import CreateUser
    from dealercrm.config import load_settings
    from dealercrm.domain.identity import Principal, Role

    settings = load_settings({**os.environ, **SECRETS, "DEALERCRM_DATABASE_URL": url, "DEALERCRM_LOG_LEVEL": "WARNING"})
    cheap = Argon2PasswordHasher(time_cost=1, memory_cost=1024)  # set-up only: a thousand hashes quickly
    crm = dealercrm.bootstrap(settings, password_hasher=cheap)
    try:
        system = Principal.system()
        ids = [crm.identity.create_user(system, CreateUser(f"live{i:04d}", f"用户{i:04d}", Role.SALES.value, PASSWORD))
               for i in range(people)]
        size = people // groups
        members = [ids[g * size:(g + 1) * size] for g in range(groups)]
        cids = [crm.messages.start_group(Principal(m[0], f"live{ids.index(m[0]):04d}", Role.SALES), f"压测群{g}", m[1:])
                for g, m in enumerate(members)]
        tokens = [crm.web_sessions.open(uid) for uid in ids]
    finally:
        crm.close()
    return ids, members, tokens, cids


async def bench_dealercrm(base: str, ids: list[int], members: list[list[int]], tokens: list[str],
                          cids: list[int], rounds: int) -> tuple[Run, int, list[Any]]:
    ws_base = "ws" + base[4:]
    token_of = dict(zip(ids, tokens, strict=True))
    run = Run(sum(len(m) for m in members))
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        bearer = {}
        for m in members:
            username = f"live{ids.index(m[0]):04d}"
            r = await http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
            r.raise_for_status()
            bearer[m[0]] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        urls = [(f"{ws_base}/live?after=0", {"Cookie": f"dealercrm_session={token_of[uid]}"})
                for m in members for uid in m]
        sockets = await open_sockets(urls, run)

        async def post_round(r: int, measured: bool) -> None:
            async def one(g: int, m: list[int]) -> None:
                body = f"第{r}轮 群{g} 发车计划已更新"
                run.sent_at[body] = (r, time.perf_counter())
                resp = await http.post(f"/api/v1/conversations/{cids[g]}/messages", json={"body": body},
                                       headers=bearer[m[0]])
                resp.raise_for_status()
            await asyncio.gather(*(one(g, m) for g, m in enumerate(members)))

        await asyncio.sleep(0.5)  # the sockets' catch-up answers settle
        missed = await drive(run, rounds, post_round, 180)
    return run, missed, sockets


async def bench_baseline(base: str, members: list[list[int]], rounds: int) -> tuple[Run, int, list[Any]]:
    ws_base = "ws" + base[4:]
    run = Run(sum(len(m) for m in members))
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        urls: list[tuple[str, dict[str, str]]] = [(f"{ws_base}/ws?channel=group_{g}", {})
                                                  for g, m in enumerate(members) for _ in m]
        sockets = await open_sockets(urls, run)

        async def post_round(r: int, measured: bool) -> None:
            async def one(g: int) -> None:
                body = f"第{r}轮 群{g} 发车计划已更新"
                run.sent_at[body] = (r, time.perf_counter())
                resp = await http.post("/publish", json={"channel": f"group_{g}", "body": body})
                resp.raise_for_status()
            await asyncio.gather(*(one(g) for g in range(len(members))))

        await asyncio.sleep(0.5)
        missed = await drive(run, rounds, post_round, 180)
    return run, missed, sockets


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    if args.sockets % args.groups or args.sockets // args.groups > 50:
        parser.error("--sockets must be a multiple of --groups, at most 50 per group (the group limit)")
    limit = raise_open_file_limit()
    if limit < args.sockets * 3:
        print(f"open-file limit {limit} is too low for {args.sockets} sockets", file=sys.stderr)
        return 2

    with contextlib.ExitStack() as stack:
        url = args.database_url
        if url is None:
            from pg_workers import throwaway_postgres

            url = stack.enter_context(throwaway_postgres())
        dsn = None if url.startswith("sqlite") else url.replace("postgresql+psycopg://", "postgresql://")
        t0 = time.perf_counter()
        ids, members, tokens, cids = seed(url, args.sockets, args.groups)
        print(f"seeded {len(ids)} people in {len(cids)} groups in {time.perf_counter() - t0:.1f} s "
              f"({'PostgreSQL LISTEN/NOTIFY' if dsn else 'in-memory'} channels); {cpu_note()}")

        env = {**os.environ, **SECRETS, "DEALERCRM_DATABASE_URL": url, "DEALERCRM_LOG_LEVEL": "WARNING",
               "DEALERCRM_LOGIN_RATE_PER_MINUTE": "100000", "DEALERCRM_MESSAGE_RATE_PER_MINUTE": "100000",
               "PYTHONPATH": os.pathsep.join([str(SRC), str(Path(__file__).resolve().parent),
                                              os.environ.get("PYTHONPATH", "")])}
        sampler = ConnectionSampler(dsn)
        with uvicorn_process(["dealercrm.entrypoints.http.app:create_worker_app", "--factory"], env) as (proc, base):
            httpx.get(f"{base}/health")
            idle_rss, idle_db = rss_mib(proc.pid), sampler.count()

            async def measured_dealercrm() -> tuple[Run, int, float]:
                run, missed, sockets = await bench_dealercrm(base, ids, members, tokens, cids, args.rounds)
                open_rss = rss_mib(proc.pid)
                await close_sockets(sockets)
                return run, missed, open_rss

            with sampler:
                crm_run, crm_missed, crm_open_rss = asyncio.run(measured_dealercrm())
            crm_db_open = sampler.most

        with uvicorn_process(["live_websockets:baseline_app", "--factory"], env) as (bproc, bbase):
            httpx.get(f"{bbase}/health")
            base_idle_rss = rss_mib(bproc.pid)

            async def measured_baseline() -> tuple[Run, int, float]:
                run, missed, sockets = await bench_baseline(bbase, members, args.rounds)
                open_rss = rss_mib(bproc.pid)
                await close_sockets(sockets)
                return run, missed, open_rss

            base_run, base_missed, base_open_rss = asyncio.run(measured_baseline())

    n = args.sockets
    print(f"\n{args.sockets} open WebSockets, {args.groups} groups of {n // args.groups}, {args.rounds} rounds "
          f"(one message per group per round: {n} deliveries a round)\n")
    print(f"{'server':<28}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}{'missed':>8}"
          f"{'RSS idle':>10}{'RSS open':>10}{'KiB/conn':>10}")
    for name, run, missed, idle, opened in (("bare Litestar broadcast", base_run, base_missed, base_idle_rss,
                                             base_open_rss),
                                            ("dealercrm /live", crm_run, crm_missed, idle_rss, crm_open_rss)):
        lat = run.latencies
        print(f"{name:<28}{pct(lat, 50):>10.1f}{pct(lat, 99):>10.1f}{(max(lat) * 1000 if lat else 0):>10.1f}"
              f"{missed:>8}{idle:>9.0f}M{opened:>9.0f}M{(opened - idle) * 1024 / n:>10.1f}")
    ratio = pct(crm_run.latencies, 99) / pct(base_run.latencies, 99)
    print(f"\np99 ratio dealercrm / bare: {ratio:.2f}× (target ≤ 2×); "
          f"p50 ratio: {pct(crm_run.latencies, 50) / pct(base_run.latencies, 50):.2f}×")
    if dsn:
        print(f"dealercrm database connections: {idle_db} idle, at most {crm_db_open} with the sockets open "
              f"and during the rounds (channels' LISTEN connection included)")
    print(f"deliveries measured: dealercrm {len(crm_run.latencies)}, bare {len(base_run.latencies)}; "
          f"mean latency dealercrm {statistics.fmean(crm_run.latencies) * 1000:.1f} ms, "
          f"bare {statistics.fmean(base_run.latencies) * 1000:.1f} ms" if crm_run.latencies and base_run.latencies
          else "no deliveries measured")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
