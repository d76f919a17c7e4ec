"""A guard badge enrolled through the admin API signs in at the guard station (online, and from
the agent's cached badge book while the server is down), and the exits the server records name
that guard; the agent's status report reaches the admins' device list — against a real
``dealercrm serve``."""

from __future__ import annotations

import threading

import httpx
import pytest

from dealercrm.application.identity import CreateUser
from dealercrm.domain.identity import Principal, Role
from edge_agent.guard import BadgeBook, Guard, GuardSession, KeyRing, Link, Replayer
from edge_agent.journal import Journal
from edge_agent.runner import StatusBoard, report_status
from edge_agent.server import KioskServer

from .conftest import PASSWORD, wait_for

pytestmark = pytest.mark.devices

BADGE = "04A1B2C3D4E5F6"


def _admin(url: str) -> dict[str, str]:
    r = httpx.post(f"{url}/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_an_enrolled_guard_badge_signs_in_and_the_exit_names_that_guard_online_and_offline(
        gate_world, make_server, tmp_path):
    guard_id = gate_world.crm.identity.create_user(Principal.system(), CreateUser(
        "menwei", "王门卫", Role.GUARD.value, PASSWORD, email="menwei@factory.example.cn"))
    [(first_no, _), (second_no, _)] = gate_world.passes(2)
    qr = dict(gate_world.query("SELECT pass_no, qr_payload FROM gate_passes"))
    server = make_server(gate_world)
    admin = _admin(server.url)
    enrolled = httpx.post(f"{server.url}/api/v1/admin/users/{guard_id}/badge", headers=admin,
                          json={"badge_uid": "04:a1:b2:c3:d4:e5:f6", "purpose": "guard"})
    api = KioskServer(server.url, gate_world.device_key, timeout=2.0, connect_timeout=0.5)
    state = tmp_path / "agent"
    journal, keys = Journal(state / "journal.db"), KeyRing(state / "keys.json")
    badges = BadgeBook(api.device_secret, state / "badges.json")
    assert keys.refresh(api) and badges.refresh(api)
    link, lock = Link(), threading.Lock()
    session = GuardSession(book=badges)
    guard = Guard(api, journal, keys, link=link, send_lock=lock, session=session)

    stranger = session.tap("0A0B0C0D")
    signed_in = session.tap(BADGE)
    online = guard.handle_scan(qr[first_no])

    assert enrolled.status_code == 200, enrolled.text
    assert stranger == "badge_unknown" and signed_in == "signed_in"
    assert session.on_duty is not None and session.on_duty.name == "王门卫"
    assert online.ok and online.code == "ok" and online.guard_badge == BADGE
    assert gate_world.query("SELECT guard_user_id FROM gate_exits WHERE pass_no = ?", first_no) == [(guard_id,)]
    assert BADGE not in (state / "badges.json").read_text(encoding="utf-8")

    server.stop()
    offline_session = GuardSession(book=BadgeBook(api.device_secret, state / "badges.json"))  # a restarted agent
    offline_guard = Guard(api, journal, keys, link=link, send_lock=lock, session=offline_session)
    offline_signed_in = offline_session.tap(BADGE)
    offline = offline_guard.handle_scan(qr[second_no])
    server.start()
    stop = threading.Event()
    worker = threading.Thread(target=Replayer(api, journal, link=link, send_lock=lock, min_backoff=0.2,
                                              max_backoff=1.0).run, args=(stop,), daemon=True)
    worker.start()
    wait_for(lambda: journal.counts()["sent"] == 2)
    stop.set()
    worker.join(timeout=5)

    assert offline_signed_in == "signed_in"
    assert offline.ok and offline.queued and offline.guard_badge == BADGE
    assert gate_world.query("SELECT guard_user_id FROM gate_exits WHERE pass_no = ?", second_no) == [(guard_id,)]

    board = StatusBoard(state / "status.json", journal, link, ["guard"])
    board.session = session
    board.state = "running"
    done = threading.Event()
    done.set()  # one report, then return
    report_status(api, board, done)
    devices = httpx.get(f"{server.url}/api/v1/admin/devices", headers=admin).json()["items"]

    [device] = devices
    assert device["report"]["state"] == "running"
    assert device["report"]["journal"] == {"pending": 0, "sent": 2, "refused": 0}
    assert device["report"]["guard"]["on_duty"]["name"] == "王门卫"
    assert device["reported_at"] is not None
    api.close()


def test_edge_agent_run_signs_in_an_enrolled_badge_records_the_guard_and_reports_in(
        gate_world, make_server, tmp_path):
    import io
    import os

    from dealercrm.adapters.devices.memory import FixedBadgeReader
    from edge_agent.config import AgentConfig, BadgeConfig, DeviceConfig, ScannerConfig, ServerConfig
    from edge_agent.runner import run_agent

    guard_id = gate_world.crm.identity.create_user(Principal.system(), CreateUser(
        "menwei", "王门卫", Role.GUARD.value, PASSWORD, email="menwei@factory.example.cn"))
    [(pass_no, vins)] = gate_world.passes(1)
    [(qr,)] = gate_world.query("SELECT qr_payload FROM gate_passes WHERE pass_no = ?", pass_no)
    server = make_server(gate_world)
    admin = _admin(server.url)
    httpx.post(f"{server.url}/api/v1/admin/users/{guard_id}/badge", headers=admin, json={"badge_uid": BADGE})
    master, slave = os.openpty()
    state = tmp_path / "agent"
    config = DeviceConfig(
        scanner=ScannerConfig(kind="serial", port=os.ttyname(slave)), badge=BadgeConfig(reader="sim"),
        server=ServerConfig(url=server.url, device_key=gate_world.device_key),
        agent=AgentConfig(roles=("guard",), state_dir=str(state), log_json=True, report_every=1))
    stop, result = threading.Event(), []
    agent = threading.Thread(target=lambda: result.append(run_agent(
        config, out=io.StringIO(), stop=stop, badge=FixedBadgeReader(BADGE), min_backoff=0.2)), daemon=True)
    agent.start()
    try:
        wait_for(lambda: (_status(state) or {}).get("guard", {}).get("on_duty"))
        os.write(master, f"{qr}\n".encode())
        wait_for(lambda: gate_world.exits() == 1)
        reported = wait_for(lambda: [d for d in httpx.get(f"{server.url}/api/v1/admin/devices", headers=admin).json()["items"]
                                     if (d["report"] or {}).get("guard", {}).get("scans")])
    finally:
        stop.set()
        agent.join(15)
        os.close(master)
        os.close(slave)

    assert result == [0]
    assert gate_world.query("SELECT guard_user_id FROM gate_exits WHERE pass_no = ?", pass_no) == [(guard_id,)]
    assert gate_world.vehicle_states(vins) == ["released"]
    [device] = reported
    assert device["report"]["guard"]["on_duty"]["name"] == "王门卫"
    assert device["report"]["devices"]["badge"]["state"] == "ok"
    assert BADGE not in (state / "badges.json").read_text(encoding="utf-8")


def _status(state):  # type: ignore[no-untyped-def]
    import json

    try:
        return json.loads((state / "status.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
