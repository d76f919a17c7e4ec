"""The back office in the web UI with Litestar's test client on the demo data: finance (queue,
decisions with the dealer's credit beside them, payment entry booked once per form, ageing),
dispatch, and the exports (XLSX opened with openpyxl)."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest

from dealercrm.domain.identity import Principal
from dealercrm.domain.orders import OrderState

from .conftest import csrf_token

pytestmark = pytest.mark.slow
SYSTEM = Principal.system()


def _finance_order(crm):
    (row,) = crm.orders.list_orders(SYSTEM, {"states": ["finance_review"]}, None, 10)
    return row


def test_the_finance_queue_lists_orders_and_gate_passes_waiting_for_finance(browser, crm):
    order = _finance_order(crm)

    page = browser("finance").get("/finance")

    assert page.status_code == 200
    assert order.order_no in page.text and f'href="/finance/orders/{order.id}"' in page.text
    assert "GP-2026-" in page.text and "待审批的出门证" in page.text


def test_a_finance_decision_page_shows_the_dealers_credit_beside_the_order(browser, crm):
    order = _finance_order(crm)
    credit = crm.credit.page(SYSTEM, order.dealer_id)

    page = browser("finance").get(f"/finance/orders/{order.id}")

    assert page.status_code == 200
    for label in ("信用额度", "占用敞口", "可用额度", "逾期应收"):
        assert label in page.text
    limit = credit["account"]["limit_fen"]
    assert f"¥{limit // 100:,}.{limit % 100:02d}" in page.text


def test_finance_approves_an_order_and_it_awaits_release(browser, crm):
    order = _finance_order(crm)
    client = browser("finance")
    page = client.get(f"/finance/orders/{order.id}")
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)

    r = client.post(f"/finance/orders/{order.id}/decide", data={
        "_csrf_token": csrf_token(page.text), "decision": "approve", "version": version}, follow_redirects=False)

    assert (r.status_code, r.headers["location"]) == (303, "/finance?done=order")
    assert crm.orders.detail(SYSTEM, order.id)["state"] == "awaiting_release"


def test_a_rejection_without_a_reason_shows_the_error_beside_the_field(browser, crm):
    order = _finance_order(crm)
    client = browser("finance")
    page = client.get(f"/finance/orders/{order.id}")

    r = client.post(f"/finance/orders/{order.id}/decide", data={
        "_csrf_token": csrf_token(page.text), "decision": "reject", "reason": " ", "override_reason": "留着"})

    assert r.status_code == 422
    assert "请填写驳回原因" in r.text and "留着" in r.text
    assert crm.orders.detail(SYSTEM, order.id)["state"] == "finance_review"


def test_a_stale_version_shows_the_current_state(browser, crm):
    order = _finance_order(crm)
    client = browser("finance")
    page = client.get(f"/finance/orders/{order.id}")

    r = client.post(f"/finance/orders/{order.id}/decide", data={
        "_csrf_token": csrf_token(page.text), "decision": "approve", "version": "0"})

    assert r.status_code == 409 and "已被他人修改" in r.text


def test_a_payment_form_posted_twice_books_one_payment(browser, crm):
    order = _finance_order(crm)
    client = browser("finance")
    form = client.get(f"/finance/payments/new?dealer_id={order.dealer_id}")
    token = re.search(r'name="form_token" value="([0-9a-f]+)"', form.text).group(1)
    data = {"_csrf_token": csrf_token(form.text), "form_token": token, "dealer_id": str(order.dealer_id),
            "amount": "12,345.60", "received_on": "2026-12-07", "method": "bank_transfer"}
    before = len(crm.credit.payments(SYSTEM, dealer_id=order.dealer_id, limit=500))

    first = client.post("/finance/payments", data=data)
    second = client.post("/finance/payments", data=data)

    payments = crm.credit.payments(SYSTEM, dealer_id=order.dealer_id, limit=500)
    assert first.status_code == second.status_code == 200
    assert "已登记收款" in first.text and "¥12,345.60" in first.text
    assert len(payments) == before + 1 and payments[0].amount_fen == 1234560


def test_a_wrong_amount_is_shown_beside_the_field_and_the_input_is_kept(browser, crm):
    order = _finance_order(crm)
    client = browser("finance")
    form = client.get("/finance/payments/new")
    token = re.search(r'name="form_token" value="([0-9a-f]+)"', form.text).group(1)

    r = client.post("/finance/payments", data={
        "_csrf_token": csrf_token(form.text), "form_token": token, "dealer_id": str(order.dealer_id),
        "amount": "12.345", "received_on": "2026-12-07", "reference": "BANK-778"})

    assert r.status_code == 422
    assert "最多两位小数" in r.text and 'value="12.345"' in r.text and 'value="BANK-778"' in r.text


def test_receivables_ageing_page_and_its_xlsx_export_agree(browser, crm):
    client = browser("finance")
    data = crm.credit.ageing(SYSTEM)

    page = client.get("/finance/ageing")
    xlsx = client.get("/finance/ageing/export?format=xlsx")

    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert page.status_code == 200 and "应收账龄" in page.text
    assert xlsx.status_code == 200 and 'filename="receivables-ageing-' in xlsx.headers["content-disposition"]
    assert sheet.freeze_panes == "A2" and sheet.max_row == len(data["dealers"]) + 2
    last = [c.value for c in sheet[sheet.max_row]]
    assert last[1] == "合计" and last[-1] == data["total"]["open_fen"] / 100
    assert "¥" in sheet.cell(sheet.max_row, len(last)).number_format


def test_the_order_list_exports_every_row_as_typed_xlsx_and_as_csv(browser, crm):
    rows = crm.orders.list_orders(SYSTEM, {}, None, 1000)
    client = browser("admin")

    xlsx = client.get("/orders/export?format=xlsx")
    csv = client.get("/orders/export?format=csv&state=finance_review")

    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert xlsx.status_code == 200 and sheet.max_row == len(rows) + 1
    assert sheet["A1"].value == "订单号" and sheet["A2"].value == rows[0].order_no
    assert sheet["I2"].value == rows[0].total_fen / 100 and sheet["K2"].is_date
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert csv.content.startswith(b"\xef\xbb\xbf") and len(lines) == 2
    assert OrderState.FINANCE_REVIEW.label in lines[1]


def test_a_bad_export_format_or_filter_is_a_page_not_a_500(browser):
    client = browser("admin")

    assert client.get("/orders/export?format=pdf").status_code == 422
    assert client.get("/orders/export?from=2026-13-01").status_code == 422
    assert client.get("/finance/ageing/export?format=doc").status_code == 422


def test_a_dealer_may_not_open_the_finance_pages(browser, crm):
    order = _finance_order(crm)
    client = browser("dealer01")

    assert client.get("/finance").status_code == 403
    assert client.get(f"/finance/orders/{order.id}").status_code == 403
