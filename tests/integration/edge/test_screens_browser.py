"""The gate screens in headless Chromium (Debian's ``chromium`` driven by Playwright), served by
``run_agent`` itself on 127.0.0.1, with the SAM reader and ESC/POS printer simulators and a
real ``dealercrm serve``: a tap walks the kiosk screen through its states to 请取走出门证 and the
slip prints; the guard screen shows the exit live (no reload); a card whose pass is not approved
shows the reason; a printer out of paper says so and whom to call; a maintenance badge opens
maintenance (test print, paper status); the server stopped, the guard screen says 离线 and the
backlog of an exit scanned meanwhile, and after the restart the backlog drains and the server
has the exit once. Screenshots go to ``build/screenshots/``."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from dealercrm.adapters.devices.escpos_printer import EscposReceiptPrinter
from dealercrm.adapters.devices.memory import FixedBadgeReader
from dealercrm.adapters.devices.sim import DEMO_CARD
from dealercrm.adapters.devices.sim.escpos_printer import EscposPrinterSimulator
from dealercrm.adapters.devices.sim.sam_reader import SamReaderSimulator
from dealercrm.application.identity import CreateUser
from dealercrm.application.ports.devices import IdCardData
from dealercrm.domain.gate import masked_holder
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.printing import PrintDocument, document_from_wire
from edge_agent.config import (
    AgentConfig,
    BadgeConfig,
    DeviceConfig,
    PrinterConfig,
    ReaderConfig,
    ScreenConfig,
    ServerConfig,
)
from edge_agent.runner import run_agent

from .conftest import PASSWORD, GateWorld, ServerProcess, child_env, free_port, wait_for

pytestmark = [pytest.mark.devices, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[3]
SHOTS = ROOT / "build" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
GUARD_BADGE = "04A1B2C3D4E5F6"
MAINTENANCE_BADGE = "04B7C8D9E0F1A2"
HELP = "发车处 分机 8001"
WAITING_CARD = IdCardData(name="李强", gender="男", nation="汉", birth_date=date(1949, 12, 31), address="北京市朝阳区",
                          id_number="11010519491231002X", issuing_authority="北京市公安局朝阳分局",
                          valid_from=date(2019, 1, 1), valid_to=date(2039, 1, 1))
OFFLINE_HOLDER, OFFLINE_ID = "赵六", "110105198001010016"  # a pass printed at the desk, scanned offline
PAPER_CARD = IdCardData(name="王芳", gender="女", nation="汉", birth_date=date(1985, 6, 15), address="北京市朝阳区",
                        id_number="110105198506151228", issuing_authority="北京市公安局朝阳分局",
                        valid_from=date(2019, 1, 1), valid_to=date(2039, 1, 1))

sync_api = pytest.importorskip("playwright.sync_api")
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip("Debian's chromium is not installed (scripts/test installs it as root)", allow_module_level=True)


def _admin(url: str) -> dict[str, str]:
    r = httpx.post(f"{url}/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module")
def gate(tmp_path_factory) -> Iterator[SimpleNamespace]:
    """One server, one agent (kiosk + guard, a badge reader) with its screens, for the module."""
    folder = tmp_path_factory.mktemp("screens")
    world = GateWorld(folder)
    guard_id = world.crm.identity.create_user(Principal.system(), CreateUser(
        "menwei", "王门卫", Role.GUARD.value, PASSWORD, email="menwei@factory.example.cn"))
    fitter_id = world.crm.identity.create_user(Principal.system(), CreateUser(
        "weixiu", "赵师傅", Role.PRODUCTION.value, PASSWORD, email="weixiu@factory.example.cn"))
    [(pass_no, vins)] = world.passes(1, per_pass=2)
    [(waiting_no, _)] = world.passes(1, person=WAITING_CARD.name, id_number=WAITING_CARD.id_number, approve=False)
    world.passes(1, person=PAPER_CARD.name, id_number=PAPER_CARD.id_number)
    [(offline_no, offline_vins)] = world.passes(1, person=OFFLINE_HOLDER, id_number=OFFLINE_ID)
    world.crm.close()
    server = ServerProcess(child_env(DEALERCRM_DATABASE_URL=world.url, DEALERCRM_GATE_SIGNING_KEY=str(world.key_path),
                                     DEALERCRM_JWT_SECRET="edge-test-secret-that-is-long-enough-for-hs256-0123456789",
                                     DEALERCRM_SESSION_SECRET="edge-test-session-secret-long-enough-0123456789",
                                     DEALERCRM_LOG_LEVEL="WARNING"), free_port(), folder / "server.log")
    server.start()
    admin = _admin(server.url)
    for user_id, uid, purpose in ((guard_id, GUARD_BADGE, "guard"), (fitter_id, MAINTENANCE_BADGE, "maintenance")):
        r = httpx.post(f"{server.url}/api/v1/admin/users/{user_id}/badge", headers=admin,
                       json={"badge_uid": uid, "purpose": purpose})
        assert r.status_code == 200, r.text
    badge = FixedBadgeReader(GUARD_BADGE)  # the guard signs in as the agent starts
    stop, result = threading.Event(), []
    with SamReaderSimulator(None, wire_delay=True) as sam, EscposPrinterSimulator() as printer:
        port = free_port()
        config = DeviceConfig(
            reader=ReaderConfig(port=sam.path, timeout=0.5),
            printer=PrinterConfig(kind="network", host=printer.host, port=printer.port, status_timeout=0.5),
            badge=BadgeConfig(reader="sim"),
            server=ServerConfig(url=server.url, device_key=world.device_key, timeout=3.0),
            agent=AgentConfig(roles=("kiosk", "guard"), state_dir=str(folder / "agent"), log_json=True),
            screen=ScreenConfig(port=port, help=HELP, idle_timeout=60))
        agent = threading.Thread(target=lambda: result.append(run_agent(
            config, out=io.StringIO(), stop=stop, sims=(sam, printer, []), badge=badge, min_backoff=0.2,
            max_backoff=1.0)),
            daemon=True)
        agent.start()
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _state(url) and _state(url)["guard"]["on_duty"])
        badge.uid = None
        try:
            with sync_api.sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                yield SimpleNamespace(url=url, sam=sam, printer=printer, badge=badge, browser=browser, world=world,
                                      pass_no=pass_no, vins=vins, waiting_no=waiting_no, server=server,
                                      offline_no=offline_no, offline_vins=offline_vins)
                browser.close()
        finally:
            stop.set()
            agent.join(15)
            server.stop()
    assert result == [0]


def _state(url: str) -> dict | None:
    try:
        return httpx.get(f"{url}/state", timeout=1).json()
    except (httpx.HTTPError, ValueError):
        return None


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def _tap(gate: SimpleNamespace, card: IdCardData, page, phase: str) -> None:  # type: ignore[no-untyped-def]
    gate.sam.insert_card(card)
    page.wait_for_function(f"document.getElementById('stage').dataset.phase === '{phase}'", timeout=15_000)
    gate.sam.remove_card()


def _screen(gate: SimpleNamespace, path: str = "/"):  # type: ignore[no-untyped-def]
    # bypass_csp: Playwright evaluates its wait conditions as strings, which the pages' CSP forbids
    page = gate.browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN", bypass_csp=True)
    page.goto(gate.url + path)
    page.wait_for_function("document.body.dataset.seq !== undefined", timeout=10_000)
    return page


def test_a_tap_walks_the_kiosk_screen_to_the_printed_pass_and_the_guard_screen_shows_the_exit_live(gate):
    kiosk, guard = _screen(gate), _screen(gate, "/guard")
    _shot(kiosk, "kiosk-waiting")
    guard.evaluate("window.notReloaded = true")
    waiting_title = kiosk.text_content("#title")

    _tap(gate, DEMO_CARD, kiosk, "done")
    seen = kiosk.evaluate("window.screenSeen")
    done_title, done_detail = kiosk.text_content("#title"), kiosk.text_content("#detail")
    passes = kiosk.text_content("#passes")
    _shot(kiosk, "kiosk-done")
    [job] = gate.printer.wait_for_jobs(1, timeout=10)
    guard.wait_for_function("document.getElementById('verdict').dataset.verdict === 'allow'", timeout=15_000)
    _shot(guard, "guard-allow")

    assert waiting_title == "请刷身份证"
    assert seen == ["waiting", "reading", "verifying", "found", "printing", "done"]
    assert done_title == "请取走出门证" and gate.pass_no in done_detail
    assert gate.pass_no in passes and "车辆 2 台" in passes and "有效期至" in passes
    assert job.qr_payloads and gate.pass_no in "\n".join(job.text_lines)
    assert guard.text_content("#verdict-title") == "可以放行"
    assert guard.text_content("#f-pass") == gate.pass_no and gate.vins[0] in guard.text_content("#f-vins")
    assert guard.text_content("#f-holder") == masked_holder(DEMO_CARD.name)  # e.g. 王*国: matches the face, names no one
    assert "王门卫" in guard.text_content("#on-duty") and guard.text_content("#link") == "在线"
    assert guard.text_content("#exit-count") == "1" and gate.pass_no in guard.text_content("#exits")
    assert guard.evaluate("window.notReloaded") is True
    assert gate.world.exits() == 1


def test_a_card_without_a_printable_pass_shows_the_reason_and_paper_out_says_whom_to_call(gate):
    kiosk = _screen(gate)

    _tap(gate, WAITING_CARD, kiosk, "refused")
    refused = kiosk.text_content("#title"), kiosk.text_content("#detail")
    _shot(kiosk, "kiosk-refused")
    gate.printer.paper_out = True
    _tap(gate, PAPER_CARD, kiosk, "error")
    paper = kiosk.text_content("#title"), kiosk.text_content("#detail"), kiosk.text_content("#faults")
    _shot(kiosk, "kiosk-paper-out")
    gate.printer.paper_out = False

    assert refused == ("没有可打印的出门证", f"出门证 {gate.waiting_no} 尚未审核通过，请稍后再试或联系发车处")
    assert paper[0] == "打印机缺纸" and "请联系工作人员加纸" in paper[1] and HELP in paper[1]
    assert "设备故障：打印机" in paper[2]


def test_a_maintenance_badge_opens_maintenance_with_a_test_print_and_the_paper_status(gate):
    kiosk, guard = _screen(gate), _screen(gate, "/guard")
    printed_before = len(gate.printer.jobs)

    gate.badge.uid = MAINTENANCE_BADGE
    kiosk.wait_for_function("document.getElementById('stage').dataset.phase === 'maintenance'", timeout=10_000)
    gate.badge.uid = None
    kiosk.click("button[data-action=print-test]")
    kiosk.wait_for_function("document.getElementById('maintenance-result').textContent.includes('测试页已打印')",
                            timeout=10_000)
    kiosk.click("button[data-action=paper]")
    kiosk.wait_for_function("document.getElementById('maintenance-result').textContent.includes('纸张充足')",
                            timeout=10_000)
    _shot(kiosk, "kiosk-maintenance")
    holder = kiosk.text_content("#maintenance-holder")
    forged = httpx.post(f"{gate.url}/maintenance/print-test", headers={"X-Maintenance-Token": "guess"})
    gate.badge.uid = MAINTENANCE_BADGE
    kiosk.wait_for_function("document.getElementById('stage').dataset.phase === 'waiting'", timeout=10_000)
    gate.badge.uid = None
    # the simulated guard scans every slip the printer gave out: the test slip's QR is not the factory's
    guard.wait_for_function("document.getElementById('verdict').dataset.verdict === 'refuse'", timeout=15_000)
    _shot(guard, "guard-refuse")
    refusal = guard.text_content("#verdict-title"), guard.text_content("#verdict-message")

    assert holder == "维护人员：赵**"
    assert len(gate.printer.jobs) == printed_before + 1
    assert forged.status_code == 403
    assert refusal[0] == "禁止放行" and "二维码签名无效" in refusal[1]


def _desk_slip(gate: SimpleNamespace, pass_no: str) -> PrintDocument:
    """The pass as the dispatcher's desk prints it (``GET /gate-passes/{id}/print``)."""
    r = httpx.post(f"{gate.server.url}/api/v1/auth/login", json={"username": "dispatch", "password": PASSWORD})
    dispatch = {"Authorization": f"Bearer {r.json()['access_token']}"}
    [(pass_id,)] = gate.world.query("SELECT id FROM gate_passes WHERE pass_no = ?", pass_no)
    slip = httpx.get(f"{gate.server.url}/api/v1/gate-passes/{pass_id}/print", headers=dispatch)
    assert slip.status_code == 200, slip.text
    return document_from_wire(slip.json()["layout"])


def test_with_the_server_stopped_the_guard_screen_says_offline_and_the_backlog_drains_after_the_restart(gate):
    guard = _screen(gate, "/guard")
    guard.wait_for_function("document.getElementById('link').textContent === '在线'", timeout=10_000)
    slip = _desk_slip(gate, gate.offline_no)
    exits_before = gate.world.exits()

    gate.server.stop()
    # printed on the gate printer at the desk: the simulated guard scans every slip it gives out
    EscposReceiptPrinter.network(gate.printer.host, gate.printer.port).print(slip)
    guard.evaluate("window.notReloaded = true")
    guard.wait_for_function(f"document.getElementById('f-pass').textContent === '{gate.offline_no}'", timeout=15_000)
    guard.wait_for_function("document.getElementById('link').textContent === '离线'", timeout=10_000)
    offline = (guard.text_content("#verdict-title"), guard.text_content("#verdict-message"),
               guard.text_content("#backlog"))
    _shot(guard, "guard-offline")
    exits_offline = gate.world.exits()
    gate.server.start()
    guard.wait_for_function("document.getElementById('backlog').textContent === '待上传 0'", timeout=30_000)
    guard.wait_for_function("document.getElementById('link').textContent === '在线'", timeout=10_000)
    replay = guard.text_content("#replay")

    assert offline[0] == "可以放行" and "离线核验" in offline[1] and offline[2] == "待上传 1"
    assert exits_offline == exits_before
    assert "（1 条）" in replay
    assert gate.world.query("SELECT count(*) FROM gate_exits WHERE pass_no = ?", gate.offline_no) == [(1,)]
    assert gate.world.exits() == exits_before + 1
    assert gate.world.vehicle_states(gate.offline_vins) == ["released"]
    assert guard.evaluate("window.notReloaded") is True
