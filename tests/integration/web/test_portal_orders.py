"""The order page's e-contract (text, PDF, the dealer's 确认 once per form, stale versions) and
change / 退单 requests, with Litestar's test client on the demo data."""

from __future__ import annotations

import re

import pytest

from dealercrm.domain.identity import Principal

from .conftest import csrf_token

pytestmark = pytest.mark.slow
SYSTEM = Principal.system()
SIGNING_ORDER = 4  # dealer05's order waiting for its contract to be accepted (demo)
RELEASED_ORDER = 15  # dealer18's order in production, with a pending change (demo)


def _form_field(html: str, form_id: str, name: str) -> str:
    form = html[html.index(f'id="{form_id}"'):]
    return re.search(rf'name="{name}" value="([^"]*)"', form).group(1)


def test_the_dealer_reads_the_contract_on_the_order_page_and_opens_its_pdf(browser):
    client = browser("dealer05")

    page = client.get(f"/orders/{SIGNING_ORDER}")
    pdf = client.get(f"/orders/{SIGNING_ORDER}/contract.pdf")

    assert page.status_code == 200
    assert "电子合同 HT-2026-000001" in page.text and "专用车辆产品购销合同" in page.text
    assert "确认电子合同" in page.text and f'href="/orders/{SIGNING_ORDER}/contract.pdf"' in page.text
    assert pdf.status_code == 200 and pdf.headers["content-type"].startswith("application/pdf")
    assert pdf.content.startswith(b"%PDF")


def test_a_double_clicked_accept_books_the_contract_once(browser, crm):
    client = browser("dealer05")
    html = client.get(f"/orders/{SIGNING_ORDER}").text
    form = {"_csrf_token": csrf_token(html), "version": _form_field(html, "accept-form", "version"),
            "form_token": _form_field(html, "accept-form", "form_token")}

    first = client.post(f"/orders/{SIGNING_ORDER}/contract/accept", data=form, follow_redirects=False)
    second = client.post(f"/orders/{SIGNING_ORDER}/contract/accept", data=form, follow_redirects=False)

    assert (first.status_code, second.status_code) == (303, 303)
    page = client.get(first.headers["location"])
    assert "电子合同已确认" in page.text and "确认电子合同</button>" not in page.text
    assert crm.order_flow.contract(SYSTEM, SIGNING_ORDER)["status"] == "awaiting_finance"
    events = [e for e in crm.orders.timeline(SYSTEM, SIGNING_ORDER) if e.kind == "contract_accepted"]
    assert len(events) == 1


def test_an_accept_from_a_stale_page_shows_the_current_state(browser, crm):
    client = browser("dealer05")
    html = client.get(f"/orders/{SIGNING_ORDER}").text
    version = int(_form_field(html, "accept-form", "version"))

    r = client.post(f"/orders/{SIGNING_ORDER}/contract/accept", follow_redirects=False, data={
        "_csrf_token": csrf_token(html), "version": str(version - 1),
        "form_token": _form_field(html, "accept-form", "form_token")})

    assert r.status_code == 409
    assert "已被他人修改" in r.text and "电子合同待确认" in r.text
    assert crm.order_flow.contract(SYSTEM, SIGNING_ORDER)["status"] == "awaiting_acceptance"


def test_an_accept_without_the_csrf_token_is_refused_with_a_page(browser, crm):
    client = browser("dealer05")
    html = client.get(f"/orders/{SIGNING_ORDER}").text

    r = client.post(f"/orders/{SIGNING_ORDER}/contract/accept", follow_redirects=False, data={
        "version": _form_field(html, "accept-form", "version"),
        "form_token": _form_field(html, "accept-form", "form_token")})

    assert r.status_code == 403 and "请刷新页面后重新提交" in r.text
    assert crm.order_flow.contract(SYSTEM, SIGNING_ORDER)["status"] == "awaiting_acceptance"


def test_another_dealers_order_and_contract_are_the_404_page(browser):
    client = browser("dealer18")

    page = client.get(f"/orders/{SIGNING_ORDER}")
    pdf = client.get(f"/orders/{SIGNING_ORDER}/contract.pdf")
    accept = client.post(f"/orders/{SIGNING_ORDER}/contract/accept", follow_redirects=False, data={
        "_csrf_token": csrf_token(client.get("/").text), "version": "5", "form_token": "a" * 32})

    assert (page.status_code, pdf.status_code, accept.status_code) == (404, 404, 404)
    assert "页面不存在" in page.text


def test_an_empty_change_request_shows_the_error_beside_the_field(browser):
    client = browser("dealer05")
    html = client.get(f"/orders/{SIGNING_ORDER}").text

    r = client.post(f"/orders/{SIGNING_ORDER}/changes", follow_redirects=False, data={
        "_csrf_token": csrf_token(html), "description": "   ",
        "form_token": _form_field(html, "change-form", "form_token")})

    assert r.status_code == 422
    assert 'id="description-error"' in r.text and "请填写变更内容或退单原因" in r.text


def test_a_change_request_is_filed_once_and_shown_with_its_state(browser, crm):
    client = browser("dealer05")
    html = client.get(f"/orders/{SIGNING_ORDER}").text
    form = {"_csrf_token": csrf_token(html), "description": "客户要求退单：项目取消",
            "form_token": _form_field(html, "change-form", "form_token")}

    first = client.post(f"/orders/{SIGNING_ORDER}/changes", data=form, follow_redirects=False)
    second = client.post(f"/orders/{SIGNING_ORDER}/changes", data=form, follow_redirects=False)

    assert (first.status_code, second.status_code) == (303, 303)
    page = client.get(f"/orders/{SIGNING_ORDER}")
    assert "客户要求退单：项目取消" in page.text and "审核中" in page.text
    assert 'id="change-form"' not in page.text  # one open request per order
    assert len(crm.order_flow.changes(SYSTEM, SIGNING_ORDER)) == 1


def test_a_change_request_while_one_is_open_keeps_the_text_and_says_why(browser):
    client = browser("dealer18")
    html = client.get(f"/orders/{RELEASED_ORDER}").text
    assert 'id="change-form"' not in html and "审核中" in html

    r = client.post(f"/orders/{RELEASED_ORDER}/changes", follow_redirects=False, data={
        "_csrf_token": csrf_token(html), "description": "再加一个工具箱", "form_token": "b" * 32})

    assert r.status_code == 409
    assert "已有处理中的变更申请" in r.text
