"""Browser journey in headless Chromium (Debian's ``chromium`` driven by Playwright for Python)
against a real ``dealercrm serve --demo`` on a temporary SQLite file: a dealer logs in, configures
and submits an order, the four reviewers approve it in turn from their task lists, the dealer accepts
the e-contract, finance approves, and — once the worker has released it to the (simulated) ERP —
the dealer's order page shows the ERP release. Screenshots of each main page go to
``build/screenshots/`` (not committed)."""

from __future__ import annotations

import functools
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dealercrm.domain.orders import OrderState
from dealercrm.entrypoints.demo import DEMO_PASSWORD

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
SHOTS = ROOT / "build" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
QUANTITY = "7"  # unusual, so the reviewer's line is this order's

sync_api = pytest.importorskip("playwright.sync_api")
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip("Debian's chromium is not installed (scripts/test installs it as root)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_folder(tmp_path_factory):
    """Where the server keeps its SQLite file (``dealercrm.db``) and the demo's ERP book."""
    return tmp_path_factory.mktemp("browser")


@pytest.fixture(scope="module")
def server(server_folder):
    """``dealercrm serve --demo`` on a free loopback port, until the module is done."""
    folder = server_folder
    port = _free_port()
    env = {**os.environ, "DEALERCRM_DATABASE_URL": f"sqlite:///{folder / 'dealercrm.db'}",
           "DEALERCRM_JWT_SECRET": "b" * 48, "DEALERCRM_SESSION_SECRET": "c" * 48, "DEALERCRM_LOG_LEVEL": "WARNING",
           # seven journeys sign in some twenty times within a minute from one address; the limit
           # itself is tested in tests/integration/core (test_api, test_workers_share_state)
           "DEALERCRM_LOGIN_RATE_PER_MINUTE": "1000",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    log = (folder / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "dealercrm.entrypoints.cli", "serve", "--demo", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:  # the server answers at once; the demo loads beside it and prints its logins when done
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=1):
                if "Demo logins" in (folder / "server.log").read_text(encoding="utf-8"):
                    break
                raise OSError("demo still loading")
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"dealercrm serve did not start:\n{(folder / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)
    yield base
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


@pytest.fixture(scope="module")
def chromium():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _login(page, base: str, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{base}/")
    assert page.url.startswith(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _open_task(page, order_no: str) -> None:
    """From the reviewer's task list (oldest first, paged) to the decision page of the order's step."""
    page.click("nav >> text=审批任务")
    while not page.locator("tr", has_text=order_no).count():
        page.click("a.button:has-text('下一页')")
        page.wait_for_load_state()
    page.locator("tr", has_text=order_no).locator("a").first.click()
    page.wait_for_selector("button[value=approve]")


def _release_to_erp(folder: Path, order_id: int) -> None:
    """What ``dealercrm worker`` does with an ERP configured, in process on the server's database:
    deliver the release that finance approval queued to the demo's simulated ERP book."""
    import dealercrm
    from dealercrm.adapters.erp.memory import InMemoryErpGateway
    from dealercrm.adapters.notify.sql_outbox import SqlAlchemyOutboxStore
    from dealercrm.application.erp_release import ErpReleaseDeliverer
    from dealercrm.config import load_settings
    from dealercrm.domain.identity import Principal
    from dealercrm.entrypoints.demo_order_flow import default_erp_state

    settings = load_settings({}, database_url=f"sqlite:///{folder / 'dealercrm.db'}", log_level="CRITICAL",
                             jwt_secret="b" * 48, session_secret="c" * 48)
    container = dealercrm.bootstrap(settings, migrate=False)  # the server migrated it
    gateway = InMemoryErpGateway(seed=None, clock=container.clock, path=default_erp_state(settings))
    try:
        contract_no = container.orders.detail(Principal.system(), order_id)["contract_no"]
        store = SqlAlchemyOutboxStore(container.engine)
        message = store.by_idempotency_key(f"erp.release:contract:{contract_no}")
        assert message is not None, f"finance approval queued no ERP release for {contract_no}"
        ErpReleaseDeliverer(container.uow, gateway, container.clock)(message)
        store.mark_sent(message.id, "journey", now=container.clock())
    finally:
        gateway.close()
        container.close()


def test_a_dealer_submits_an_order_and_a_reviewer_approves_it_from_the_workbench(server, server_folder, chromium):
    offsite: list[str] = []
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.on("request", lambda r: offsite.append(r.url) if not r.url.startswith(server) else None)
    page = context.new_page()

    _login(page, server, "dealer32")
    _shot(page, "workbench-dealer")
    page.click("nav >> text=新建订单")
    _shot(page, "order-templates")
    page.locator("section.card", has_text="运油半挂车").locator("text=选配此车型").click()
    page.wait_for_selector("#total")
    page.check("input[value=COMP-6]")
    page.wait_for_selector("input[value='TANK-5083-6'][disabled]")
    page.fill("#quantity", QUANTITY)
    page.press("#quantity", "Tab")
    page.wait_for_function("document.querySelector('#estimate dl').innerText.includes('7')")
    page.fill("#requested_delivery_date", "2027-03-01")
    _shot(page, "configurator")
    page.click("button[value=submit]")
    page.wait_for_url(re.compile(r".*/orders/\d+$"))
    order_no = page.locator("dl.facts dd").first.inner_text()
    order_url = page.url
    assert "已提交待评审" in page.locator(".state").first.inner_text()
    _shot(page, "order-page")
    page.click("text=退出登录")
    page.wait_for_url(re.compile(r".*/login$"))

    _login(page, server, "procurement")
    approvals = page.locator("#wb-approvals")
    assert f"× {QUANTITY}" in approvals.inner_text()
    _shot(page, "workbench-reviewer")
    page.click("nav >> text=审批任务")
    assert order_no in page.content()
    _shot(page, "review-tasks")
    page.locator("tr", has_text=order_no).locator("a").first.click()
    page.wait_for_selector("button[value=approve]")
    _shot(page, "task-decision")
    page.fill("#comment", "采购可满足")
    page.click("button[value=approve]")
    page.wait_for_url(re.compile(r".*/tasks\?done=1$"))
    assert order_no not in page.locator("main").inner_text()
    _logout(page)

    for reviewer, comment in (("technical", "技术方案可行"), ("production", "三月初可排产"), ("sales_huazhong", "价格确认")):
        _login(page, server, reviewer)  # the three other departments, each from their own task list
        _open_task(page, order_no)
        page.fill("#comment", comment)
        page.click("button[value=approve]")
        page.wait_for_url(re.compile(r".*/tasks\?done=1$"))
        _logout(page)

    _login(page, server, "dealer32")  # all four approved: the e-contract waits for the dealer
    page.goto(order_url)
    assert page.locator("#accept-form").count() == 1
    _shot(page, "order-contract-to-accept")
    page.click("#accept-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/orders/\d+\?done=contract$"))
    _logout(page)

    _login(page, server, "finance")
    page.click("nav >> text=财务审批")
    page.locator("section", has_text="待财务审批的订单").locator("tr", has_text=order_no).locator("text=审批").click()
    page.wait_for_selector(".credit-picture")
    over_limit = page.locator(".notice.warn").inner_text()  # seven tankers exceed dealer32's available credit
    decision_url = page.url
    page.click("nav >> text=收款登记")  # the dealer's advance payment arrives: finance books it first
    page.select_option("#dealer_id", page.locator("#dealer_id option", has_text="DL-000032").get_attribute("value"))
    page.fill("#amount", "600000")
    page.fill("#reference", "工行电汇 预付货款")
    page.click("button:has-text('登记收款')")
    page.wait_for_selector("text=已登记收款")
    page.goto(decision_url)
    within_limit = page.locator(".notice.warn").count()
    _shot(page, "finance-order-decision")
    page.click("button[value=approve]")
    page.wait_for_url(re.compile(r".*/finance\?done=order$"))
    _logout(page)

    _release_to_erp(server_folder, int(order_url.rsplit("/", 1)[1]))
    _login(page, server, "dealer32")
    page.goto(order_url)
    released = page.locator("main").inner_text()
    _shot(page, "order-released")
    page.click("text=退出登录")
    page.wait_for_url(re.compile(r".*/login$"))

    phone = chromium.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True)
    small = phone.new_page()
    _login(small, server, "procurement")
    width = small.evaluate("document.documentElement.scrollWidth")
    _shot(small, "workbench-375")
    small.goto(f"{server}/analytics/quality")  # 统计报表 on a phone (seed 000 §6 item 3)
    small.wait_for_load_state("load")
    report_width = small.evaluate("document.documentElement.scrollWidth")
    _shot(small, "quality-report-375")
    phone.close()
    dealer_phone = chromium.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True)
    on_phone = dealer_phone.new_page()
    _login(on_phone, server, "dealer32")
    on_phone.goto(f"{server}/orders/new")
    on_phone.locator("section.card", has_text="运油半挂车").locator("text=选配此车型").click()
    on_phone.wait_for_selector("#total")
    dealer_widths = {"configurator": on_phone.evaluate("document.documentElement.scrollWidth")}
    _shot(on_phone, "configurator-375")
    # seed 000 §6 item 3 on a phone: stock, order progress, the parts catalog (and the announcement below)
    for name, path in (("dealer-profile", "/dealer/"), ("forecasts", "/forecasts"), ("stock", "/stock"),
                       ("orders", "/orders"), ("parts-catalog", "/parts-catalog/")):
        on_phone.goto(f"{server}{path}")
        dealer_widths[name] = on_phone.evaluate("document.documentElement.scrollWidth")
        _shot(on_phone, f"{name}-375")
    dealer_phone.close()
    context.close()

    assert "订单金额超过可用额度" in over_limit
    assert all(f"评审同意：{c}" in released for c in ("采购可满足", "技术方案可行", "三月初可排产", "价格确认"))
    assert within_limit == 0 and "电子合同" in released
    assert OrderState.RELEASED.label in released and "ERP 跟踪号" in released
    assert width <= 375 and report_width <= 375
    assert max(dealer_widths.values()) <= 375, dealer_widths
    assert offsite == []


# -- the back office (财务, 发运, 分析) ------------------------------------------------------------

@functools.cache
def _api_token(base: str, username: str) -> str:
    """One API sign-in per server and user: the server counts sign-ins per address (login rate), and
    the registration form shares that budget, so a journey must not spend it on repeated reads."""
    login = urllib.request.Request(f"{base}/api/v1/auth/login", method="POST", headers={"Content-Type": "application/json"},
                                   data=json.dumps({"username": username, "password": DEMO_PASSWORD}).encode())
    with urllib.request.urlopen(login, timeout=10) as r:
        return str(json.load(r)["access_token"])


def _api_json(base: str, path: str, username: str) -> object:
    token = _api_token(base, username)
    with urllib.request.urlopen(urllib.request.Request(f"{base}{path}", headers={"Authorization": f"Bearer {token}"}),
                                timeout=30) as r:
        return json.load(r)


def test_finance_approves_an_order_seeing_the_dealers_credit(server, chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()

    _login(page, server, "finance")
    page.click("nav >> text=财务审批")
    _shot(page, "finance-queue")
    row = page.locator("section", has_text="待财务审批的订单").locator("tbody tr").first
    order_no = row.locator("td").first.inner_text()
    row.locator("text=审批").click()
    page.wait_for_selector(".credit-picture")
    picture = page.locator(".credit-picture").inner_text()
    _shot(page, "finance-decision")
    page.click("button[value=approve]")
    page.wait_for_url(re.compile(r".*/finance\?done=order$"))
    queue = page.locator("main").inner_text()
    page.goto(f"{server}/orders?q={order_no}")
    state = page.locator("tbody .state").first.inner_text()

    phone = chromium.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True)
    small = phone.new_page()
    _login(small, server, "finance")
    small.goto(f"{server}/finance/ageing")
    width = small.evaluate("document.documentElement.scrollWidth")
    _shot(small, "finance-ageing-375")
    phone.close()
    context.close()

    assert all(label in picture for label in ("信用额度", "占用敞口", "可用额度", "逾期应收"))
    assert "订单财务审批已处理" in queue and order_no not in queue
    assert state == OrderState.AWAITING_RELEASE.label
    assert width <= 375


def test_dispatch_issues_a_gate_pass_and_finance_sees_it_waiting(server, chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()

    _login(page, server, "dispatch")
    page.click("nav >> text=出门证")
    page.select_option("#f-status", "pending_approval")
    page.click("text=筛选")
    page.locator("tbody tr a").first.click()
    page.fill("#void-reason", "提车人更换车辆顺序")
    page.click("text=作废出门证")
    page.wait_for_selector("text=已作废")
    page.click("dl.facts >> a")  # the letter
    page.wait_for_selector("text=开具出门证")
    _shot(page, "dispatch-letter")
    page.click("button:has-text('开具出门证')")
    page.wait_for_url(re.compile(r".*/dispatch/passes/\d+\?issued=1$"))
    notice = page.locator("#flash").inner_text()
    pass_no = page.locator("h2").first.inner_text().split()[1]
    _shot(page, "dispatch-pass")
    page.click("nav >> text=出门记录")
    exits = page.locator("main").inner_text()
    page.click("text=退出登录")
    page.wait_for_url(re.compile(r".*/login$"))
    _login(page, server, "finance")
    page.click("nav >> text=财务审批")
    queue = page.locator("main").inner_text()
    context.close()

    assert "出门证已开具" in notice
    assert "出门记录" in exits
    assert pass_no in queue


def test_a_dashboard_draws_its_charts_from_the_report_apis_data(server, chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()

    _login(page, server, "admin")
    page.click("nav >> text=分析")
    page.click("text=订单分析")
    page.wait_for_function("document.documentElement.dataset.chartsDrawn === '4'")
    canvases = page.locator(".chart canvas").count()
    embedded = json.loads(page.locator("#report-data").text_content())
    query = page.url.split("?", 1)[1] if "?" in page.url else ""
    _shot(page, "dashboard-orders")
    page.goto(f"{server}/analytics/gate")
    page.wait_for_function("document.documentElement.dataset.chartsDrawn === '1'")
    gate_embedded = json.loads(page.locator("#report-data").text_content())
    seed_boards = {}  # the dashboards of seed items 2.3.4, 2.6.2/4.6.2, 4.2.3, 4.4.4: every chart drawn
    for board, charts in (("credit-evaluation", 3), ("training", 3), ("satisfaction", 2), ("parts-stock", 2)):
        page.goto(f"{server}/analytics/{board}")
        page.wait_for_function(f"document.documentElement.dataset.chartsDrawn === '{charts}'")
        seed_boards[board] = (page.locator(".chart canvas").count(), json.loads(page.locator("#report-data").text_content()))
    context.close()

    assert canvases >= 4
    assert embedded == _api_json(server, f"/api/v1/reports/orders?{query}", "admin")
    assert gate_embedded == _api_json(server, "/api/v1/reports/gate-throughput", "admin")
    for board, (drawn, board_embedded) in seed_boards.items():
        assert drawn >= 2 and board_embedded == _api_json(server, f"/api/v1/reports/{board}", "admin"), board


def _logout(page) -> None:
    page.click("text=退出登录")
    page.wait_for_url(re.compile(r".*/login$"))


def test_a_new_dealer_registers_and_the_regional_manager_approves_it(server, chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()

    page.goto(f"{server}/login")
    page.click("text=在线注册")
    page.wait_for_url(f"{server}/register")
    values = {"#legal_name": "苏州恒通专用车销售有限公司", "#uscc": "91320500MA1XK9P70Y", "#province": "江苏省",
              "#city": "苏州市", "#address_detail": "吴中区汽车城6号", "#contact_name": "顾建华",
              "#contact_phone": "13962001234", "#contact_email": "gm@hengtong.example.cn",
              "#applicant_username": "hengtong_sz", "#applicant_password": "Hengtong2026", "#confirm_password": "Hengtong2026"}
    for selector, value in values.items():
        page.fill(selector, value)
    page.select_option("#region", "华东")
    page.click("button[type=submit].primary")
    page.wait_for_selector("#uscc-error")  # a mistyped check character: the form comes back with the error
    assert page.input_value("#legal_name") == "苏州恒通专用车销售有限公司"
    _shot(page, "register-error")
    page.fill("#uscc", _uscc("91320500MA1XK9P70"))
    page.fill("#applicant_password", "Hengtong2026")
    page.fill("#confirm_password", "Hengtong2026")
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r".*/registration\?done=1$"))
    assert "审核中" in page.locator("#registration-status").inner_text()
    _shot(page, "registration-status")
    _logout(page)

    _login(page, server, "rm_huadong")
    page.click("nav >> text=经销商注册审核")
    row = page.locator("tr", has_text="苏州恒通专用车销售有限公司")
    _shot(page, "registrations-review")
    row.locator("button[value=approve]").click()
    page.wait_for_url(f"{server}/dealers/registrations")
    page.goto(f"{server}/my-dealers?status=approved&q=苏州恒通")
    assert "已准入" in page.locator("main").inner_text()
    _shot(page, "my-dealers")
    _logout(page)
    _login(page, server, "hengtong_sz", "Hengtong2026")
    page.goto(f"{server}/registration")
    status = page.locator("#registration-status").inner_text()
    context.close()

    assert "已准入" in status


def _uscc(body: str) -> str:
    from dealercrm.domain.values import Uscc

    return body + Uscc.check_char(body)


def test_the_dealer_accepts_its_contract_and_forgeries_and_foreign_orders_are_refused(server, chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()

    _login(page, server, "dealer18")
    page.goto(f"{server}/orders/4")  # dealer05's order
    foreign = (page.locator("h1").inner_text(), page.locator(".error-card").inner_text())
    _shot(page, "foreign-order-404")
    _logout(page)

    _login(page, server, "dealer05")
    page.goto(f"{server}/orders/4")
    assert "电子合同" in page.locator("#contract").inner_text()
    _shot(page, "order-contract")
    page.evaluate("document.querySelector('#accept-form input[name=_csrf_token]').value = 'forged'")
    page.click("#accept-form button[type=submit]")
    page.wait_for_selector(".error-card")
    forged = page.locator("main").inner_text()
    _shot(page, "csrf-refused")
    page.goto(f"{server}/orders/4")
    page.click("#accept-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/orders/4\?done=contract$"))
    accepted = page.locator("main").inner_text()
    _shot(page, "contract-accepted")
    page.click("nav >> text=信用与账款")
    _shot(page, "credit")
    page.click("nav >> text=库存")
    _shot(page, "stock")
    page.click("nav >> text=知识库")
    page.fill("#k-q", "呼吸阀")
    page.click("form[role=search] button[type=submit]")
    page.click("text=罐体呼吸阀漏气怎么处理？")
    _shot(page, "knowledge-article")
    context.close()

    assert foreign[0] == "页面不存在" and "404" in foreign[1]
    assert "请刷新页面后重新提交" in forged
    assert "电子合同已确认" in accepted and "财务审核" in accepted


def test_a_reviewer_approves_from_a_phone(server, chromium):
    phone = chromium.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True)
    page = phone.new_page()

    _login(page, server, "technical")
    page.click("nav >> text=审批任务")
    page.locator("table a").first.click()
    page.wait_for_selector("button[value=approve]")
    widths = [page.evaluate("document.documentElement.scrollWidth")]
    _shot(page, "task-decision-375")
    page.fill("#comment", "技术可行")
    page.click("button[value=approve]")
    page.wait_for_url(re.compile(r".*/tasks\?done=1$"))
    done = page.locator("main").inner_text()
    widths.append(page.evaluate("document.documentElement.scrollWidth"))
    _shot(page, "tasks-375")
    phone.close()

    assert "已处理" in done
    assert max(widths) <= 375


# -- 系统管理 -----------------------------------------------------------------------------------

def test_an_admin_adds_a_catalog_option_that_appears_in_the_dealers_configurator(server, chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()

    _login(page, server, "admin")
    page.click("nav >> text=产品模板")
    _shot(page, "admin-catalog")
    page.click("a[href='/admin/catalog/1']")
    page.fill("#code", "ROOF-LED")
    page.fill("#name", "车顶LED示廓灯")
    page.fill("#price", "980")
    page.click("text=加入草稿")
    page.wait_for_url(re.compile(r".*/admin/catalog/1\?done=option$"))
    draft = page.locator("main").inner_text()
    page.click("button:has-text('发布为第')")
    page.wait_for_url(re.compile(r".*/admin/catalog/1\?done=published$"))
    _shot(page, "admin-catalog-template")
    page.click("nav >> text=用户与角色")
    page.wait_for_url(re.compile(r".*/admin/users$"))
    _shot(page, "admin-users")
    page.fill("#f-q", "guard")
    page.click("button:has-text('筛选')")
    users = page.locator("tbody").inner_text()
    context.close()

    dealer = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    _login(dealer, server, "dealer32")
    dealer.goto(f"{server}/orders/new?template=1")
    offered = dealer.locator("main").inner_text()
    _shot(dealer, "configurator-new-option")
    dealer.context.close()
    phone = chromium.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True)
    small = phone.new_page()
    _login(small, server, "admin")
    widths = []
    for path in ("/admin/users", "/admin/catalog/1", "/admin/devices",
                 # the channel-depth pages (shareholders, assessment, credit grade, growth plan, budget, targets)
                 "/admin/dealers/5/shareholders", "/admin/dealers/37/assessment", "/admin/dealers/5/credit-grade",
                 "/admin/dealers/5/growth-plans", "/admin/dealers/assessment-rules", "/marketing/plans",
                 "/marketing/campaigns/1/targets",
                 # the regions and the lead follow-ups with their log
                 "/admin/regions", "/admin/regions/1", "/marketing/leads?due=true", "/marketing/leads/1"):
        small.goto(f"{server}{path}")
        widths.append(small.evaluate("document.documentElement.scrollWidth"))
    _shot(small, "admin-devices-375")
    phone.close()
    stored = _api_json(server, "/api/v1/catalog/templates/1", "admin")

    assert "车顶LED示廓灯" in draft and "有未发布修改" in draft
    assert "门卫" in users
    assert "车顶LED示廓灯" in offered
    assert max(widths) <= 375, widths
    options = [o["code"] for g in stored["published"]["content"]["option_groups"] for o in g["options"]]
    assert "ROOF-LED" in options


def test_marketing_publishes_an_announcement_that_a_dealer_reads(server, chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()

    _login(page, server, "marketing")
    page.click("nav >> text=公告管理")
    page.click("text=发布公告")
    page.fill("#title", "冬季防冻液更换提醒")
    page.fill("#body", "请各经销商在十二月底前为库存车辆更换防冻液。")
    page.check("input[name=audience][value=roles]")
    page.check("input[name=roles][value=dealer]")
    page.click("button:has-text('发布')")
    page.wait_for_url(re.compile(r".*/marketing/announcements/\d+\?done=published$"))
    detail_url = page.url.split("?")[0]

    reader = chromium.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True).new_page()
    _login(reader, server, "dealer32")
    reader.click("text=冬季防冻液更换提醒")
    reader.click("button:has-text('我已阅读')")
    reader.wait_for_selector("#receipt >> text=已阅读")
    _shot(reader, "announcement-read-375")
    reader.context.close()

    page.goto(detail_url)
    receipts = page.locator("main").inner_text()
    _shot(page, "announcement-receipts")
    page.click("nav >> text=营销活动")
    page.wait_for_url(re.compile(r".*/marketing/campaigns$"))
    campaigns = page.locator("main").inner_text()
    _shot(page, "marketing-campaigns")
    context.close()

    assert "已读 1 人" in receipts and "dealer32" in receipts
    assert "春季罐式车客户推介会" in campaigns

# -- 售后 (service stations and after-sales) -----------------------------------------------------

def test_a_station_clerk_records_a_repair_with_a_photo_and_after_sales_approves_its_claim(server, chromium, tmp_path):
    from .test_aftersales_pages import _png

    photo = tmp_path / "repair.png"
    photo.write_bytes(_png(320, 240))
    phone = chromium.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True)
    page = phone.new_page()
    widths = []

    _login(page, server, "station_jn")
    page.click("nav >> text=服务请求")
    page.locator("tr", has_text="已派单待接单").locator("a").first.click()
    page.click("button:has-text('接单')")
    page.wait_for_selector("#r-problem")
    page.fill("#r-problem", "第二轴制动气室膜片破裂")
    page.fill("#r-solution", "更换制动气室，气密性检查合格")
    page.fill("#r-started_at", "2026-12-05T09:00")
    page.fill("#r-finished_at", "2026-12-05T10:30")
    page.fill("#r-labour_hours", "1.5")
    page.fill("#r-part_no", "BR-0420")
    widths.append(page.evaluate("document.documentElement.scrollWidth"))
    page.click("button:has-text('保存维修记录')")
    page.wait_for_url(re.compile(r".*/aftersales/records/\d+\?recorded=1$"))
    record_no = page.locator("section[aria-label=维修记录] h2").inner_text()
    page.set_input_files("#m-file", str(photo))
    page.fill("#m-caption", "更换后的制动气室")
    page.click("button:has-text('上传')")
    page.wait_for_selector("#media img")
    assert page.evaluate("document.querySelector('#media img').naturalWidth") > 0  # the thumbnail loads
    widths.append(page.evaluate("document.documentElement.scrollWidth"))
    _shot(page, "aftersales-record-375")
    page.fill("#c-customer_name", "山东鲁油物流 张经理")
    page.click("button:has-text('客户确认')")
    page.click("button:has-text('提交三包结算申请')")
    page.wait_for_url(re.compile(r".*/aftersales/claims/\d+\?submitted=1$"))
    claim_id = int(re.search(r"/claims/(\d+)", page.url).group(1))
    claim_no = page.locator("section[aria-label=结算申请] h2").inner_text().split()[0]
    phone.close()

    desk = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = desk.new_page()
    _login(page, server, "aftersales")
    page.click("nav >> text=索赔审核")
    page.click(f"text={claim_no}")
    assert page.locator("#media img, .media-grid img").count() >= 1
    _shot(page, "aftersales-claim")
    page.click("button[value=approve]")
    page.wait_for_url(re.compile(r".*/aftersales/claims/\d+\?decided=1$"))
    shown = page.locator("main").inner_text()
    desk.close()

    phone = chromium.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True)
    page = phone.new_page()
    _login(page, server, "aftersales")
    for path in ("/aftersales/stations/nearest?city=济南市", "/aftersales/stations", "/aftersales/requests",
                 f"/aftersales/claims/{claim_id}", "/aftersales/stock"):
        page.goto(f"{server}{path}")
        widths.append(page.evaluate("document.documentElement.scrollWidth"))
    page.goto(f"{server}/aftersales/stations/nearest?city=济南市")
    nearest_first = page.locator("section[aria-label=查找结果] li a").first.inner_text()
    _shot(page, "aftersales-nearest-375")
    phone.close()

    claim = _api_json(server, f"/api/v1/aftersales/claims/{claim_id}", "finance")
    assert nearest_first == "济南鲁通专用车服务站"
    assert claim["record_no"] == record_no and claim["state"] == "in_review"
    assert "售后服务部审核：已同意" in shown and "当前等待：财务审核" in shown
    assert max(widths) <= 375


def test_a_dealer_writes_on_its_order_thread_and_the_reviewer_sees_it_live_and_replies(server, chromium):
    """Issue 21: two browsers on the demo's order thread; the reviewer's page is never reloaded
    while the dealer's message arrives through the WebSocket. The dealer writes from a phone."""
    def api(path: str, token: str | None = None, body: dict | None = None) -> dict:
        req = urllib.request.Request(f"{server}{path}", data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    token = api("/api/v1/auth/login", body={"username": "procurement", "password": DEMO_PASSWORD})["access_token"]
    thread = next(c for c in api("/api/v1/conversations", token)["items"] if c["record_kind"] == "order")
    order = api(f"/api/v1/orders/{thread['record_id']}", token)
    dealer = f"dealer{int(order['dealer_code'].split('-')[1]):02d}"  # the demo's dealer users are dealerNN
    desk = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    phone = chromium.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True)
    reviewer, seller = desk.new_page(), phone.new_page()
    _login(reviewer, server, "procurement")
    reviewer.goto(f"{server}/messages/{thread['id']}")
    reviewer.wait_for_selector("body[data-live=open]")
    reviewer.evaluate("window.notReloaded = true")
    _login(seller, server, dealer)

    seller.goto(f"{server}/orders/{thread['record_id']}")
    seller.click("#thread-box a.button")
    seller.fill("#msg-body", "@procurement 客户同意加价，请尽快评审")
    seller.click("#composer button[type=submit]")
    reviewer.wait_for_selector("#thread .msg-body:has-text('客户同意加价')", timeout=15000)
    not_reloaded = reviewer.evaluate("window.notReloaded === true")
    _shot(reviewer, "messages-thread-reviewer")
    reviewer.fill("#msg-body", "收到，今天处理")
    reviewer.click("#composer button[type=submit]")
    seller.wait_for_selector("#thread .msg-body:has-text('收到，今天处理')", timeout=15000)
    _shot(seller, "messages-thread-phone")
    width = seller.evaluate("document.documentElement.scrollWidth")
    reviewer.wait_for_url(f"{server}/messages/{thread['id']}#latest")  # the page after sending the reply
    reviewer.wait_for_selector("body[data-live=open]")
    reviewer.evaluate("window.notReloaded = true")
    mine = seller.locator("#thread li.mine:has-text('客户同意加价')")
    mine.locator("summary").click()  # 编辑或撤回, on one's own message within 15 minutes
    mine.locator(".msg-withdraw button").click()
    reviewer.wait_for_selector("#thread li:has-text('此消息已撤回')", timeout=15000)  # live, not reloaded
    still_not_reloaded = reviewer.evaluate("window.notReloaded === true")
    seller.goto(f"{server}/community")  # the community on the same phone: the list, then an answered question
    seller.wait_for_selector("#posts li")
    community_width = seller.evaluate("document.documentElement.scrollWidth")
    _shot(seller, "community-375")
    seller.click("#posts li:has(.state.ok) a")
    seller.wait_for_url(re.compile(r".*/community/\d+$"))
    question_width = seller.evaluate("document.documentElement.scrollWidth")
    _shot(seller, "community-question-375")

    assert not_reloaded and still_not_reloaded
    assert width <= 375
    assert community_width <= 375 and question_width <= 375
    desk.close()
    phone.close()
