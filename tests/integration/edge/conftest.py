"""A real dealercrm server for the edge agent: seeded through the application layer, then run as
``dealercrm serve`` in a child process on 127.0.0.1 (stoppable and restartable on the same
port, so tests can take the link away), plus the device simulators."""

from __future__ import annotations

import datetime as dt
import os
import socket
import sqlite3
import subprocess
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import dealercrm
from dealercrm.adapters.devices.sim import DEMO_CARD
from dealercrm.adapters.devices.sim.escpos_printer import EscposPrinterSimulator
from dealercrm.adapters.devices.sim.sam_reader import SamReaderSimulator
from dealercrm.adapters.gate_keys import ensure_signing_key
from dealercrm.application import channel as ch
from dealercrm.application import gate as g
from dealercrm.application.identity import CreateUser
from dealercrm.application.vehicles import StockIn
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import Uscc, Vin

SECRET = "edge-test-secret-that-is-long-enough-for-hs256-0123456789"
PASSWORD = "Passw0rd123"
REPO = Path(__file__).resolve().parents[3]


class AllowRelease:
    """The credit rule is not what these tests are about: every release is allowed."""

    def check_release(self, uow, dealer_id, contract_no, vins) -> None:  # type: ignore[no-untyped-def]
        return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


class ServerProcess:
    """``dealercrm serve`` on a fixed loopback port; ``stop()`` and ``start()`` again at will."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.env = env
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        assert self.proc is None
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from dealercrm.entrypoints.cli import main; raise SystemExit(main())",
             "serve", "--port", str(self.port)], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=0.5).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()  # not left running behind a failed test
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


def _dealer(crm) -> tuple[int, Principal]:  # type: ignore[no-untyped-def]
    body = "91350101M000100Y4"[:17]
    reg = crm.channel.register_dealer(ch.RegisterDealer(
        legal_name="郑州专用车销售有限公司", uscc=body + Uscc.check_char(body), region="华中",
        address=ch.AddressIn("河南省", "郑州市", "经开区1号"),
        contact=ch.ContactIn(name="王建国", title="总经理", phone="13800138000", email="gm@dealer1.example.cn"),
        applicant_username="dealer1", applicant_password=PASSWORD))
    system = Principal.system()
    crm.channel.submit(system, reg.dealer_id)
    crm.channel.approve(system, reg.dealer_id)
    return reg.dealer_id, Principal(reg.user_id, "dealer1", Role.DEALER, dealer_id=reg.dealer_id)


class GateWorld:
    """The seeded database (use it before the server starts, or read-only afterwards)."""

    def __init__(self, tmp_path: Path) -> None:
        self.db_path = tmp_path / "dealercrm.db"
        self.key_path = ensure_signing_key(tmp_path / "gate-signing.pem")
        self.url = f"sqlite:///{self.db_path}"
        settings = load_settings({}, database_url=self.url, jwt_secret=SECRET, gate_signing_key=str(self.key_path),
                                 log_level="WARNING")
        self.crm = dealercrm.bootstrap(settings, vehicle_release_policy=AllowRelease())
        system = Principal.system()
        self.staff: dict[str, Principal] = {}
        for name, role in (("admin", Role.ADMIN), ("dispatch", Role.DISPATCH), ("finance", Role.FINANCE),
                           ("production", Role.PRODUCTION)):
            uid = self.crm.identity.create_user(system, CreateUser(name, name, role.value, PASSWORD,
                                                                   email=f"{name}@factory.example.cn"))
            self.staff[name] = Principal(uid, name, role)
        self.dealer_id, self.dealer = _dealer(self.crm)
        self.device_key = self.crm.identity.issue_device_key(self.staff["admin"], "北门自助机", "北门").api_key
        self.serial = 0

    def stock(self, n: int) -> list[str]:
        vins = []
        for _ in range(n):
            self.serial += 1
            vin = Vin.build("LZZ", "1CLVB", "T", "A", f"{self.serial:06d}").value
            self.crm.gate.stock_in(self.staff["production"], StockIn(
                vin=vin, dealer_id=self.dealer_id, contract_no="HT-2026-000101", product_line="tanker",
                model_code="HZZ5250GYY"))
            vins.append(vin)
        return vins

    def passes(self, count: int, *, per_pass: int = 1, person: str = DEMO_CARD.name,
               id_number: str = DEMO_CARD.id_number, approve: bool = True, hand_over: bool = True,
               hours: int = 48) -> list[tuple[str, list[str]]]:
        """``count`` gate passes of ``per_pass`` vehicles each, through the use cases."""
        now = self.crm.clock()
        out: list[tuple[str, list[str]]] = []
        per_letter = max(1, 50 // per_pass) * per_pass
        remaining = count * per_pass
        while remaining:
            vins = self.stock(min(per_letter, remaining))
            remaining -= len(vins)
            letter = self.crm.gate.register_authorization(self.dealer, g.RegisterAuthorization(
                contract_no="HT-2026-000101", vins=tuple(vins), person_name=person, id_number=id_number,
                phone="13912345678", valid_from=now - dt.timedelta(hours=1), valid_to=now + dt.timedelta(hours=hours)))
            for i in range(0, len(vins), per_pass):
                chunk = vins[i:i + per_pass]
                created = self.crm.gate.create_pass(self.staff["dispatch"], g.CreateGatePass(
                    letter.id, id_number=id_number, id_source="card", vins=tuple(chunk)))
                if approve:
                    self.crm.gate.approve_pass(self.staff["finance"], created.id)
                    if hand_over:
                        self.crm.gate.hand_over(self.staff["dispatch"], created.id)
                out.append((created.number, chunk))
        return out

    def close(self) -> None:
        self.crm.close()

    # read-only checks (safe while the server runs)
    def query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def exits(self) -> int:
        return int(self.query("SELECT count(*) FROM gate_exits")[0][0])

    def vehicle_states(self, vins: list[str]) -> list[str]:
        marks = ",".join("?" * len(vins))
        rows = dict(self.query(f"SELECT vin, state FROM vehicles WHERE vin IN ({marks})", *vins))
        return [str(rows[v]) for v in vins]


@pytest.fixture
def gate_world(tmp_path: Path) -> Iterator[GateWorld]:
    world = GateWorld(tmp_path)
    try:
        yield world
    finally:
        world.close()


@pytest.fixture
def make_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    started: list[ServerProcess] = []

    def make(world: GateWorld) -> ServerProcess:
        world.crm.close()  # the server process owns the database from now on
        env = child_env(DEALERCRM_DATABASE_URL=world.url, DEALERCRM_GATE_SIGNING_KEY=str(world.key_path),
                        DEALERCRM_JWT_SECRET=SECRET, DEALERCRM_SESSION_SECRET="s" * 48,
                        DEALERCRM_LOG_LEVEL="WARNING")
        server = ServerProcess(env, free_port(), tmp_path / "server.log")
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def sam_reader() -> Iterator[SamReaderSimulator]:
    with SamReaderSimulator(None, wire_delay=True) as sim:
        yield sim


@pytest.fixture
def printer_sim() -> Iterator[EscposPrinterSimulator]:
    with EscposPrinterSimulator() as sim:
        yield sim


def wait_for(predicate, timeout: float = 30.0, every: float = 0.05):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(every)


def namespace(**kw: object) -> types.SimpleNamespace:
    return types.SimpleNamespace(**kw)
