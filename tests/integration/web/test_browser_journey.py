"""Browser journey in headless Chromium (Debian's ``chromium`` driven by Playwright for Python)
against a real ``dealercrm serve --demo`` on a temporary SQLite file: a dealer logs in, configures
and submits an order, and a reviewer finds it on the workbench and approves their step. Screenshots of each main page go to
``build/screenshots/`` (not committed)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

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
def server(tmp_path_factory):
    """``dealercrm serve --demo`` on a free loopback port, until the module is done."""
    folder = tmp_path_factory.mktemp("browser")
    port = _free_port()
    env = {**os.environ, "DEALERCRM_DATABASE_URL": f"sqlite:///{folder / 'dealercrm.db'}",
           "DEALERCRM_JWT_SECRET": "b" * 48, "DEALERCRM_SESSION_SECRET": "c" * 48, "DEALERCRM_LOG_LEVEL": "WARNING",
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


def _login(page, base: str, username: str) -> None:
    page.goto(f"{base}/")
    assert page.url.startswith(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_a_dealer_submits_an_order_and_a_reviewer_approves_it_from_the_workbench(server, chromium):
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

    phone = chromium.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True)
    small = phone.new_page()
    _login(small, server, "procurement")
    width = small.evaluate("document.documentElement.scrollWidth")
    _shot(small, "workbench-375")
    phone.close()
    context.close()

    assert width <= 375
    assert offsite == []
