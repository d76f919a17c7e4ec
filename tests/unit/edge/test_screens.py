"""The screens' state and their server, without a browser: a tap's phases reach a subscriber in
order, a result goes back to 请刷身份证 after the idle timeout, the guard's verdicts and today's
exits, maintenance by badge with its token, and a server that answers only its own loopback
pages. Clocks are injected; the HTTP server runs on a free loopback port."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from dealercrm.adapters.devices.memory import (
    FixedCardIdCardReader,
    RecordingReceiptPrinter,
)
from dealercrm.application.ports.devices import PrinterStatus
from edge_agent.config import ConfigError, parse_config
from edge_agent.guard import BadgeBook, BadgeDesk, GuardResult, GuardSession
from edge_agent.journal import Journal
from edge_agent.kiosk import Kiosk
from edge_agent.runner import _maintenance_toggle, maintenance_actions
from edge_agent.screen_server import ScreenServer
from edge_agent.screens import ScreenHub
from edge_agent.supervisor import DeviceHealth

from .test_kiosk_flow import CARD, refused, slip

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def drain(feed) -> list[dict]:  # type: ignore[no-untyped-def]
    out = []
    while not feed.empty():
        out.append(json.loads(feed.get_nowait()))
    return out


def hub_for(**kw) -> ScreenHub:  # type: ignore[no-untyped-def]
    return ScreenHub(now=lambda: NOW, **kw)


def test_a_tap_reaches_the_screen_phase_by_phase_and_ends_with_the_pass_to_take(FakeServer, tmp_path):
    hub = hub_for()
    feed = hub.subscribe()
    journal = Journal(tmp_path / "j.db")
    kiosk = Kiosk(FixedCardIdCardReader(CARD), RecordingReceiptPrinter(), FakeServer({"passes": [slip()]}), journal,
                  on_phase=hub.kiosk_phase, on_result=hub.kiosk_result)

    kiosk.handle_card(CARD)
    documents = drain(feed)
    journal.close()

    phases = [d["kiosk"]["phase"] for d in documents]
    last = documents[-1]["kiosk"]
    assert phases == ["waiting", "reading", "verifying", "found", "printing", "done"]
    assert documents[3]["kiosk"]["title"] == "找到 1 张出门证"
    assert last["title"] == "请取走出门证" and "GP-2026-000001 已打印" in last["detail"]
    assert last["steps"] == ["reading", "verifying", "printing", "done"]
    assert last["passes"][0]["vehicles"] == 2 and last["passes"][0]["valid_to"] == "03-09 09:00"
    assert CARD.id_number not in json.dumps(documents, ensure_ascii=False)
    assert CARD.name not in json.dumps(documents, ensure_ascii=False)


def test_a_refusal_names_the_reason_and_the_screen_goes_back_to_the_start_after_the_idle_timeout(
        FakeServer, tmp_path):
    ticks = Ticks()
    hub = hub_for(idle_timeout=20, monotonic=ticks)
    journal = Journal(tmp_path / "j.db")
    kiosk = Kiosk(FixedCardIdCardReader(CARD), RecordingReceiptPrinter(),
                  FakeServer({"passes": [refused("gate_pass.expired")]}), journal,
                  on_phase=hub.kiosk_phase, on_result=hub.kiosk_result)

    kiosk.handle_card(CARD)
    shown = hub.snapshot()["kiosk"]
    ticks.now = 19.0
    hub.tick()
    still = hub.snapshot()["kiosk"]["phase"]
    ticks.now = 20.5
    hub.tick()
    after = hub.snapshot()["kiosk"]
    journal.close()

    assert shown["phase"] == "refused" and shown["title"] == "没有可打印的出门证"
    assert shown["detail"] == "出门证 GP-2026-000002 已过期，请联系经销商重新办理"
    assert still == "refused"
    assert after["phase"] == "waiting" and after["title"] == "请刷身份证" and after["steps"] == []


def test_a_printer_out_of_paper_is_an_error_screen_and_a_device_fault(FakeServer, tmp_path):
    health = DeviceHealth(["reader", "printer"])
    hub = hub_for(health=health, help_text="发车处 分机 8001")
    journal = Journal(tmp_path / "j.db")
    kiosk = Kiosk(FixedCardIdCardReader(CARD), RecordingReceiptPrinter(PrinterStatus.PAPER_OUT),
                  FakeServer({"passes": [slip()]}), journal, health=health,
                  on_phase=hub.kiosk_phase, on_result=hub.kiosk_result)

    kiosk.handle_card(CARD)
    state = hub.snapshot()
    journal.close()

    assert state["kiosk"]["phase"] == "error" and state["kiosk"]["title"] == "打印机缺纸"
    assert state["kiosk"]["detail"] == "打印机缺纸，暂时无法打印出门证，请联系工作人员加纸"
    assert state["faults"] == [{"device": "printer", "label": "打印机", "message": "打印机缺纸，暂时无法打印出门证"}]
    assert state["help"] == "发车处 分机 8001"


def test_the_guard_screen_shows_each_verdict_and_only_todays_exits_with_the_guard_on_duty(tmp_path):
    session = GuardSession(clock=lambda: NOW)
    session.tap("04A1B2C3D4E5F6")
    hub = hub_for(session=session)
    journal = Journal(tmp_path / "j.db")
    journal.record("exit", {"pass_no": "GP-1", "vins": ["V1"], "scanned_at": (NOW - timedelta(days=1)).isoformat()},
                   now=NOW - timedelta(days=1))
    journal.record("exit", {"pass_no": "GP-2", "vins": ["V2", "V3"], "scanned_at": NOW.isoformat()}, now=NOW)
    hub.load_exits(journal.since("exit", NOW - timedelta(hours=10)))
    allowed = GuardResult(True, "ok", "出门证 GP-3 有效，共 1 台车辆，可以放行，出门已登记", "GP-3", ("V4",),
                          guard_badge="04A1B2C3D4E5F6", valid_from=NOW.isoformat(),
                          valid_to=(NOW + timedelta(days=1)).isoformat())
    again = GuardResult(False, "gate_pass.already_exited", "出门证 GP-3 已于 … 放行，禁止重复使用", "GP-3", ("V4",))

    hub.guard_result(allowed)
    green = hub.snapshot()["guard"]
    hub.guard_result(again)
    red = hub.snapshot()["guard"]
    journal.close()

    assert green["last"]["verdict"] == "可以放行" and green["last"]["valid_to"] == "12-08 10:00"
    assert green["last"]["guard"] == "****E5F6" and green["on_duty"]["badge"] == "****E5F6"
    assert [e["pass_no"] for e in green["exits_today"]] == ["GP-3", "GP-2"]
    assert red["last"]["verdict"] == "禁止放行" and "禁止重复使用" in red["last"]["message"]
    assert [e["pass_no"] for e in red["exits_today"]] == ["GP-3", "GP-2"]


def test_a_maintenance_badge_opens_maintenance_and_the_kiosk_stops_taking_cards(FakeServer, tmp_path):
    secret = "s" * 64
    from dealercrm.domain.identity import badge_digest

    book = BadgeBook(secret, book={"as_of": NOW.isoformat(), "badges": [
        {"digest": badge_digest(secret, "04B7C8D9E0F1A2"), "purpose": "maintenance", "name": "赵师傅", "user_id": 3},
        {"digest": badge_digest(secret, "04A1B2C3D4E5F6"), "purpose": "guard", "name": "王门卫", "user_id": 6}]})
    hub = hub_for()
    session = GuardSession(book=book)
    desk = BadgeDesk(book, session, maintenance=_maintenance_toggle(hub))
    printer = RecordingReceiptPrinter()
    journal = Journal(tmp_path / "j.db")
    kiosk = Kiosk(FixedCardIdCardReader(CARD), printer, FakeServer({"passes": [slip()]}), journal,
                  on_phase=hub.kiosk_phase, in_maintenance=lambda: hub.in_maintenance)
    act = maintenance_actions(hub, kiosk, wait=5)
    stop = threading.Event()
    worker = threading.Thread(target=kiosk.run, args=(stop,), daemon=True)

    opened = desk.tap("04B7C8D9E0F1A2")
    guard_tap = desk.tap("04A1B2C3D4E5F6")
    worker.start()
    test_print = act("print_test")
    paper = act("paper")
    during = hub.snapshot()
    closed = desk.tap("04B7C8D9E0F1A2")
    stop.set()
    worker.join(5)
    journal.close()

    assert opened == "maintenance_on" and guard_tap == "signed_in" and closed == "maintenance_off"
    assert during["kiosk"]["phase"] == "maintenance" and during["maintenance"]["holder"] == "赵**"
    assert test_print["ok"] and "测试页已打印" in test_print["message"]
    assert paper == {"ok": True, "code": "ok", "message": "打印机正常，纸张充足"}
    assert [doc.lines[0].text for doc in printer.printed] == ["出门证"]  # the test slip only: no card was handled
    assert "token" not in json.dumps(during) and hub.snapshot()["kiosk"]["phase"] == "waiting"


@pytest.fixture
def screens():
    hub = hub_for()
    calls: list[str] = []

    def act(action: str) -> dict:
        calls.append(action)
        return {"ok": True, "code": "ok", "message": action}

    with ScreenServer(hub, 0, maintenance=act) as server:
        yield server, hub, calls


def test_the_screens_are_served_with_a_strict_policy_and_stream_the_state(screens):
    server, hub, _ = screens
    base = f"http://127.0.0.1:{server.port}"

    page = httpx.get(f"{base}/")
    guard = httpx.get(f"{base}/guard")
    css = httpx.get(f"{base}/static/app.css")
    missing = httpx.get(f"{base}/../../etc/passwd")
    with httpx.stream("GET", f"{base}/events", timeout=5) as events:
        lines = events.iter_lines()
        first = next(line for line in lines if line.startswith("data: "))
        hub.kiosk_phase("reading")
        second = next(line for line in lines if line.startswith("data: "))

    assert page.status_code == 200 and "请刷身份证" in page.text and "cdn" not in page.text.lower()
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert guard.status_code == 200 and "今日出厂" in guard.text
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert missing.status_code == 404
    assert json.loads(first[6:])["kiosk"]["phase"] == "waiting"
    assert json.loads(second[6:])["kiosk"]["phase"] == "reading"


def test_maintenance_actions_need_maintenance_its_token_and_a_loopback_host(screens):
    server, hub, calls = screens
    base = f"http://127.0.0.1:{server.port}"

    closed = httpx.post(f"{base}/maintenance/paper")
    token = hub.enter_maintenance("赵*")
    guessed = httpx.post(f"{base}/maintenance/paper", headers={"X-Maintenance-Token": "guess"})
    rebound = httpx.post(f"{base}/maintenance/paper", headers={"X-Maintenance-Token": token, "Host": "evil.example"})
    foreign = httpx.post(f"{base}/maintenance/paper",
                         headers={"X-Maintenance-Token": token, "Origin": "http://evil.example"})
    done = httpx.post(f"{base}/maintenance/paper", headers={"X-Maintenance-Token": token})

    assert closed.status_code == 409 and closed.json()["code"] == "maintenance.closed"
    assert guessed.status_code == 403 and rebound.status_code == 403 and foreign.status_code == 403
    assert done.status_code == 200 and calls == ["paper"]


def test_the_screen_section_has_defaults_and_refuses_bad_values():
    default = parse_config({}).screen
    custom = parse_config({"screen": {"port": 9000, "help": "发车处", "idle_timeout": 30}}).screen

    assert default is not None and default.port == 8765 and default.enabled
    assert custom is not None and (custom.port, custom.help, custom.idle_timeout) == (9000, "发车处", 30.0)
    with pytest.raises(ConfigError, match="port"):
        parse_config({"screen": {"port": 70000}})
    with pytest.raises(ConfigError, match="idle_timeout"):
        parse_config({"screen": {"idle_timeout": 1}})
    with pytest.raises(ConfigError, match="unknown keys"):
        parse_config({"screen": {"colour": "red"}})


def test_the_guard_screen_shows_the_link_offline_the_backlog_and_the_last_replay(FakeServer, tmp_path):
    from edge_agent.guard import Link, Replayer

    link = Link()
    journal = Journal(tmp_path / "j.db")
    server = FakeServer()
    replayer = Replayer(server, journal, link=link, clock=lambda: NOW)
    hub = hub_for(journal=journal, link=link, replayer=replayer)
    feed = hub.subscribe()
    server.down = True
    for n in range(3):
        journal.record("print", {"pass_no": f"GP-{n}"})
    replayer.replay_once()

    hub.tick()
    offline = drain(feed)[-1]
    server.down = False
    replayer.replay_once()
    hub.tick()
    online = drain(feed)[-1]
    journal.close()

    assert offline["link"] == {"up": False, "label": "离线", "last_error": "unreachable: ConnectError"}
    assert offline["journal"]["pending"] == 3 and offline["replay"] is None
    assert online["link"]["up"] and online["journal"] == {"pending": 0, "sent": 3, "refused": 0}
    assert online["replay"]["answered"] == 3 and online["replay"]["time"] == "10:00:00"
