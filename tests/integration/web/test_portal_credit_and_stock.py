"""信用与账款 and 库存 in the dealer portal with Litestar's test client on the demo data: the
credit figures, receipts confirmed vehicle by vehicle, and the retail sale entry."""

from __future__ import annotations

import pytest

from dealercrm.domain.identity import Principal
from dealercrm.domain.values import Uscc

from .conftest import csrf_token

pytestmark = pytest.mark.slow
SYSTEM = Principal.system()
SHIPMENT = 1  # dealer09's delivery in transit (demo)
VINS = ("LHZ5GYYB2TA000020", "LHZ5GYYB4TA000021", "LHZ5GYYB6TA000022")


def _company_uscc() -> str:
    body = "91410100MA44TH202"
    return body + Uscc.check_char(body)


def test_the_dealer_sees_limit_exposure_available_payments_and_invoices(browser):
    client = browser("dealer18")

    r = client.get("/credit")

    assert r.status_code == 200
    text = r.text
    assert "¥12,000,000.00" in text and "可用额度" in text and "¥9,146,060.00" in text
    assert "SK-2026-000012" in text and "FP-2026-000014" in text and "无逾期" in text


def test_staff_read_a_dealers_credit_only_within_their_regions(browser):
    client = browser("rm_huadong")

    own_region = client.get("/credit/5")  # 华南: not rm_huadong's
    dealer_only = browser("dealer18").get("/credit/18")

    assert own_region.status_code == 404
    assert dealer_only.status_code == 403


def test_a_damaged_vehicle_without_a_note_keeps_the_form_and_says_why(browser):
    client = browser("dealer09")
    html = client.get(f"/stock/receipts/{SHIPMENT}").text

    r = client.post(f"/stock/receipts/{SHIPMENT}", follow_redirects=False, data={
        "_csrf_token": csrf_token(html), "receiver_name": "王收货", f"outcome:{VINS[0]}": "damaged",
        **{f"config_ok:{v}": "1" for v in VINS}})

    assert r.status_code == 422
    assert "有损伤、未收到或配置不符时请说明情况" in r.text and 'value="王收货"' in r.text
    assert '<option value="damaged" selected>' in r.text


def test_the_dealer_confirms_a_delivery_and_then_records_a_retail_sale(browser, crm):
    client = browser("dealer09")
    html = client.get(f"/stock/receipts/{SHIPMENT}").text

    receipt = client.post(f"/stock/receipts/{SHIPMENT}", follow_redirects=False, data={
        "_csrf_token": csrf_token(html), "receiver_name": "王收货", f"outcome:{VINS[1]}": "damaged",
        f"note:{VINS[1]}": "左侧护栏刮伤", **{f"config_ok:{v}": "1" for v in VINS}})
    stock = client.get(receipt.headers["location"])
    form = client.get(f"/stock/sales/new?vin={VINS[0]}").text
    bad = client.post("/stock/sales", follow_redirects=False, data={
        "_csrf_token": csrf_token(form), "vin": VINS[0], "kind": "company", "name": "郑州宏运物流有限公司",
        "phone": "12345", "uscc": _company_uscc(), "price": "356,000", "customer_receipt_no": "SJ-0001"})
    good = client.post("/stock/sales", follow_redirects=False, data={
        "_csrf_token": csrf_token(form), "vin": VINS[0], "kind": "company", "name": "郑州宏运物流有限公司",
        "phone": "13800138000", "uscc": _company_uscc(), "price": "356,000", "customer_receipt_no": "SJ-0001"})

    assert receipt.status_code == 303
    assert "收货回执已提交" in stock.text and all(v in stock.text for v in VINS)
    assert bad.status_code == 422 and 'id="phone-error"' in bad.text and 'value="郑州宏运物流有限公司"' in bad.text
    assert good.status_code == 303
    sales = crm.stock.list_sales(SYSTEM, vin=VINS[0])
    assert [(s["price_fen"], s["customer_name"]) for s in sales] == [(35_600_000, "郑州宏运物流有限公司")]
    assert "¥356,000.00" in client.get("/stock").text


def test_another_dealers_delivery_is_the_404_page(browser):
    client = browser("dealer18")

    r = client.get(f"/stock/receipts/{SHIPMENT}")

    assert r.status_code == 404


def test_the_dealer_exports_its_invoice_statement_as_csv_and_xlsx(browser):
    client = browser("dealer18")

    page = client.get("/credit")
    csv = client.get("/credit/export?format=csv")
    xlsx = client.get("/credit/export?format=xlsx")
    bad = client.get("/credit/export?format=pdf")
    foreign = client.get("/credit/5/export?format=csv")
    outside = browser("rm_huadong").get("/credit/5/export?format=csv")

    assert 'href="/credit/export?format=xlsx"' in page.text and 'href="/credit/export?format=csv"' in page.text
    assert csv.status_code == 200 and csv.headers["content-disposition"].startswith("attachment")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("发票号,合同号,状态,金额") and any(x.startswith("FP-2026-000014,") for x in lines)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert bad.status_code == 422 and "text/html" in bad.headers["content-type"]
    assert foreign.status_code == 403 and outside.status_code == 404


def test_the_dealer_exports_its_stock_once_a_delivery_is_received(browser):
    client = browser("dealer09")
    html = client.get(f"/stock/receipts/{SHIPMENT}").text
    client.post(f"/stock/receipts/{SHIPMENT}", data={
        "_csrf_token": csrf_token(html), "receiver_name": "王收货", **{f"config_ok:{v}": "1" for v in VINS}})

    page = client.get("/stock")
    csv = client.get("/stock/export?format=csv")
    xlsx = client.get("/stock/export")
    other = browser("dealer18").get("/stock/export?format=csv")

    assert 'href="/stock/export?format=csv"' in page.text
    assert csv.status_code == 200 and all(v in csv.content.decode("utf-8-sig") for v in VINS)
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert other.status_code == 200 and not any(v in other.content.decode("utf-8-sig") for v in VINS)
