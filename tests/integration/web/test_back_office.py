"""The back office in the web UI with Litestar's test client on the demo data: finance (queue,
decisions with the dealer's credit beside them, payment entry booked once per form, ageing),
dispatch, and the exports (XLSX opened with openpyxl)."""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import re
from pathlib import Path

import msgspec
import openpyxl
import pytest
import sqlalchemy as sa

from dealercrm.adapters.db.credit_tables import credit_accounts
from dealercrm.adapters.db.orm import dealers
from dealercrm.application.services.analytics import EXPOSURE_CHART_ROWS, Period
from dealercrm.domain.identity import Principal
from dealercrm.domain.orders import OrderState
from dealercrm.domain.values import Uscc
from dealercrm.entrypoints.demo import DEMO_PASSWORD

from .conftest import csrf_token

pytestmark = pytest.mark.slow
SYSTEM = Principal.system()
ROOT = Path(__file__).resolve().parents[3]
VENDOR = ROOT / "src" / "dealercrm" / "entrypoints" / "web" / "static" / "vendor"


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


# -- 发运与门卫办公室 ------------------------------------------------------------------------------

def _pending_pass(crm):
    (row,) = crm.gate.list_passes(SYSTEM, status="pending_approval", limit=10)
    return row


def test_dispatch_voids_a_pass_and_issues_a_new_one_from_the_letter_checked_at_the_kiosk(browser, crm):
    old = _pending_pass(crm)
    client = browser("dispatch")
    page = client.get(f"/dispatch/passes/{old['id']}")

    void = client.post(f"/dispatch/passes/{old['id']}/void", data={
        "_csrf_token": csrf_token(page.text), "reason": "提车人更换"}, follow_redirects=False)
    letter = client.get(f"/dispatch/authorizations/{old['authorization_id']}")
    issued = client.post(f"/dispatch/authorizations/{old['authorization_id']}/passes", data={
        "_csrf_token": csrf_token(letter.text), "id_number": ""}, follow_redirects=False)

    assert void.status_code == 303 and crm.gate.gate_pass(SYSTEM, old["id"])["status"] == "voided"
    assert issued.status_code == 303, re.findall(r'(?:error|alert)[^>]*>([^<]+)', issued.text)
    new_id = int(issued.headers["location"].split("/")[-1].split("?")[0])
    fresh = crm.gate.gate_pass(SYSTEM, new_id)
    assert fresh["status"] == "pending_approval" and fresh["vins"] == old["vins"]
    assert "出门证已开具" in client.get(issued.headers["location"]).text


def test_a_wrong_id_number_is_shown_beside_the_field(browser, crm):
    old = _pending_pass(crm)
    client = browser("dispatch")
    page = client.get(f"/dispatch/passes/{old['id']}")
    client.post(f"/dispatch/passes/{old['id']}/void", data={"_csrf_token": csrf_token(page.text), "reason": "重开"})
    letter = client.get(f"/dispatch/authorizations/{old['authorization_id']}")

    r = client.post(f"/dispatch/authorizations/{old['authorization_id']}/passes", data={
        "_csrf_token": csrf_token(letter.text), "id_number": "123"})

    assert r.status_code == 422 and 'value="123"' in r.text and 'id="id_number"' in r.text
    assert "field-error" in r.text


def test_dispatch_reissues_a_pass_in_one_step(browser, crm):
    old = _pending_pass(crm)
    client = browser("dispatch")
    page = client.get(f"/dispatch/passes/{old['id']}")

    r = client.post(f"/dispatch/passes/{old['id']}/reissue", data={
        "_csrf_token": csrf_token(page.text), "reason": "纸质出门证遗失"}, follow_redirects=False)

    new_id = int(r.headers["location"].split("/")[-1])
    assert r.status_code == 303 and new_id != old["id"]
    assert crm.gate.gate_pass(SYSTEM, old["id"])["status"] == "voided"
    assert crm.gate.gate_pass(SYSTEM, new_id)["status"] == "pending_approval"


def test_dispatch_hands_over_a_pass_finance_approved(browser, crm):
    gate_pass = _pending_pass(crm)
    crm.gate.approve_pass(crm.identity.login("finance", DEMO_PASSWORD).principal, gate_pass["id"])
    client = browser("dispatch")
    page = client.get(f"/dispatch/passes/{gate_pass['id']}")

    r = client.post(f"/dispatch/passes/{gate_pass['id']}/handover", data={"_csrf_token": csrf_token(page.text)},
                    follow_redirects=False)

    assert "确认交车" in page.text
    assert r.status_code == 303 and crm.gate.gate_pass(SYSTEM, gate_pass["id"])["status"] == "handed_over"


def test_a_void_without_a_reason_keeps_the_pass_and_says_why(browser, crm):
    old = _pending_pass(crm)
    client = browser("dispatch")
    page = client.get(f"/dispatch/passes/{old['id']}")

    r = client.post(f"/dispatch/passes/{old['id']}/void", data={"_csrf_token": csrf_token(page.text), "reason": ""})

    assert r.status_code == 422 and "请填写作废原因" in r.text
    assert crm.gate.gate_pass(SYSTEM, old["id"])["status"] == "pending_approval"


def test_finance_approves_a_gate_pass_seeing_the_dealers_credit(browser, crm):
    gate_pass = _pending_pass(crm)
    client = browser("finance")
    page = client.get(f"/finance/passes/{gate_pass['id']}")

    r = client.post(f"/finance/passes/{gate_pass['id']}/decide", data={
        "_csrf_token": csrf_token(page.text), "decision": "approve"}, follow_redirects=False)

    assert "可用额度" in page.text and gate_pass["pass_no"] in page.text
    assert r.status_code == 303 and crm.gate.gate_pass(SYSTEM, gate_pass["id"])["status"] == "approved"


def test_dispatch_lists_letters_passes_exits_and_shipments_with_exports(browser, crm):
    client = browser("dispatch")
    shipment = crm.gate.list_shipments(SYSTEM, limit=1)[0]

    pages = {path: client.get(path) for path in (
        "/dispatch/authorizations", "/dispatch/passes", "/dispatch/exits", "/dispatch/shipments",
        f"/dispatch/shipments/{shipment['id']}", "/dispatch/shipments/new")}
    passes = client.get("/dispatch/passes/export?format=xlsx")
    shipments = client.get("/dispatch/shipments/export?format=csv")

    assert {p: r.status_code for p, r in pages.items()} == dict.fromkeys(pages, 200)
    assert "PA-2026-" in pages["/dispatch/authorizations"].text and shipment["shipment_no"] in pages["/dispatch/shipments"].text
    sheet = openpyxl.load_workbook(io.BytesIO(passes.content)).active
    assert sheet["A1"].value == "出门证号" and sheet.max_row == len(crm.gate.list_passes(SYSTEM, limit=500)) + 1
    assert sheet["J2"].is_date
    assert shipment["shipment_no"] in shipments.content.decode("utf-8-sig")


def test_a_shipment_form_error_keeps_the_input(browser):
    client = browser("dispatch")
    form = client.get("/dispatch/shipments/new")

    r = client.post("/dispatch/shipments", data={
        "_csrf_token": csrf_token(form.text), "vins": "", "carrier": "顺达物流", "planned_departure": "2026-12-08T09:00",
        "expected_arrival": "2026-12-10T09:00"})

    assert r.status_code == 422 and "请填写至少一个车架号" in r.text and 'value="顺达物流"' in r.text


def test_dispatch_registers_shipments_then_departs_one_and_cancels_the_other_with_a_reason(browser, crm):
    with crm.engine.connect() as conn:
        vins = list(conn.execute(sa.text(
            "select vin from vehicles where state = 'in_factory_stock' and contract_no = (select contract_no "
            "from vehicles where state = 'in_factory_stock' group by contract_no having count(*) >= 2 "
            "order by contract_no limit 1) order by vin limit 2")).scalars())
    client = browser("dispatch")
    token = csrf_token(client.get("/dispatch/shipments/new").text)
    made = [client.post("/dispatch/shipments", data={
        "_csrf_token": token, "vins": vin, "carrier": "顺达物流", "driver_name": "王师傅",
        "driver_id_number": "11010519491231002X", "driver_phone": "13912345678", "truck_plate": "鲁A12345",
        "planned_departure": "2026-12-08T09:00", "expected_arrival": "2026-12-10T09:00"}, follow_redirects=False)
        for vin in vins]
    first, second = (int(r.headers["location"].rsplit("/", 1)[1]) for r in made)

    departed = client.post(f"/dispatch/shipments/{first}/depart", data={"_csrf_token": token}, follow_redirects=False)
    no_reason = client.post(f"/dispatch/shipments/{second}/cancel", data={"_csrf_token": token, "reason": ""})
    cancelled = client.post(f"/dispatch/shipments/{second}/cancel", data={"_csrf_token": token, "reason": "客户改为自提"},
                            follow_redirects=False)
    again = client.post(f"/dispatch/shipments/{second}/depart", data={"_csrf_token": token})

    assert len(vins) == 2 and [r.status_code for r in made] == [303, 303]
    assert departed.status_code == 303 and crm.gate.shipment(SYSTEM, first)["status"] == "departed"
    assert no_reason.status_code == 422 and "取消原因" in no_reason.text
    assert cancelled.status_code == 303 and crm.gate.shipment(SYSTEM, second)["status"] == "cancelled"
    assert again.status_code == 409 and "已取消" in again.text


def test_the_back_office_routes_never_answer_500_to_finance_or_dispatch(browser, app):
    """The back office's own roles (the walk of every web route in test_sessions_and_pages covers
    admin, a dealer and a reviewer); the report API with a session cookie is the login redirect."""
    paths = sorted({r.path for r in app.routes
                    if r.path.startswith(("/finance", "/dispatch", "/orders/export", "/analytics", "/api/v1/reports"))})
    failures = []
    for user in ("finance", "dispatch"):
        client = browser(user)
        token = csrf_token(client.get("/account/password").text)
        for path in paths:
            for value in ("x", "999999", "9223372036854775808"):
                url = path.replace("{gate_pass_id:int}", value).replace("{order_id:int}", value).replace(
                    "{authorization_id:int}", value).replace("{shipment_id:int}", value).replace("{action:str}", value).replace(
                    "{code:str}", value)
                for params in ({}, {"format": "x", "status": "x", "after": "x", "region": "x" * 50, "dealer_id": "0",
                                    "from": "2026-02-30", "to": "1900-01-01"}):
                    r = client.get(url, params=params)
                    if r.status_code >= 500:
                        failures.append(("GET", url, user, params, r.status_code))
                for data in ({}, {"decision": "approve", "version": "x", "amount": "1e9", "dealer_id": "x",
                                  "form_token": "x" * 64, "received_on": "2026-02-30", "reason": "x" * 600,
                                  "id_number": "x" * 18, "planned_departure": "x", "vins": "x"}):
                    r = client.post(url, data={"_csrf_token": token, **data})
                    if r.status_code >= 500:
                        failures.append(("POST", url, user, data, r.status_code))

    assert len(paths) >= 15
    assert failures == []


# -- 分析 -----------------------------------------------------------------------------------------

REPORT_DATA = re.compile(r'<script type="application/json" id="report-data"[^>]*>(.*?)</script>', re.DOTALL)


def _as_api_answers(report):
    """The report as the JSON API sends it (msgspec encodes the service's typed rows). The
    browser journey reads the live /api/v1/reports endpoints: here the fixed test clock makes
    bearer tokens not yet valid against the wall clock PyJWT checks."""
    return json.loads(msgspec.json.encode(report))


def _report(crm, board, principal, period):
    analytics = crm.analytics
    if board == "orders":
        return analytics.orders_report(principal, period)
    if board == "credit":
        return analytics.credit_report(principal)
    if board == "stock":
        return analytics.stock_report(principal)
    if board == "credit-evaluation":
        return analytics.credit_evaluation_report(principal, period)
    if board == "training":
        return analytics.training_report(principal, period)
    if board == "satisfaction":
        return analytics.satisfaction_report(principal, period)
    if board == "parts-stock":
        return analytics.parts_stock_report(principal)
    return analytics.gate_throughput(principal, period)


@pytest.mark.parametrize(("board", "query"), [
    ("orders", "from=2026-01-01&to=2026-12-07"),
    ("credit", ""),
    ("stock", ""),
    ("gate", "from=2026-11-20&to=2026-12-07"),
    ("credit-evaluation", "from=2026-01-01&to=2026-12-07"),
    ("training", "from=2026-01-01&to=2026-12-07"),
    ("satisfaction", "from=2026-01-01&to=2026-12-07"),
    ("parts-stock", ""),
])
def test_each_dashboard_embeds_exactly_the_report_apis_data_for_echarts(browser, crm, board, query):
    client = browser("admin")
    admin = crm.identity.login("admin", DEMO_PASSWORD).principal
    period = Period(dt.date(2026, 11, 20) if board == "gate" else dt.date(2026, 1, 1), dt.date(2026, 12, 7))

    page = client.get(f"/analytics/{board}?{query}")

    assert page.status_code == 200
    embedded = json.loads(html.unescape(REPORT_DATA.search(page.text).group(1)))
    assert embedded == _chart_rows_of(board, _as_api_answers(_report(crm, board, admin, period)))
    assert '/static/vendor/echarts/echarts.min.js' in page.text and 'class="chart"' in page.text
    assert "数据表" in page.text


def _chart_rows_of(board, answer):
    """The API's answer as the dashboard embeds it: the credit page only its chart's rows (the
    largest exposures), its totals and ageing whole."""
    return {**answer, "exposure": answer["exposure"][:EXPOSURE_CHART_ROWS]} if board == "credit" else answer


def _dealers_with_credit(crm, count, region):
    """``count`` dealers of ``region`` (codes DL-P0000 …), each with a credit account: the later
    the code, the larger its exposure."""
    with crm.engine.begin() as conn:
        conn.execute(sa.insert(dealers), [
            {"code": f"DL-P{n:04d}", "legal_name": f"分页专用车有限公司{n}", "region": region, "province": "陕西省",
             "city": "西安市", "address_detail": f"高新区{n}号", "status": "approved", "territory_regions": [],
             "territory_industries": [], "version": 1,
             "uscc": (body := f"91{610000 + n:06d}MA{n:07d}") + Uscc.check_char(body)} for n in range(count)])
        ids = dict(conn.execute(sa.select(dealers.c.code, dealers.c.id).where(dealers.c.code.like("DL-P%"))).all())
        conn.execute(sa.insert(credit_accounts), [
            {"dealer_id": ids[f"DL-P{n:04d}"], "limit_fen": 500_000_000, "term_days": 30, "payment_cycle": "monthly",
             "warning_threshold_permille": 800, "status": "active", "receivable_fen": (n + 1) * 100_000,
             "uninvoiced_fen": 0, "prepayment_fen": 0, "warning_active": False, "warning_crossings": 0, "version": 1}
            for n in range(count)])


TABLE_CODES = re.compile(r"<tr><td>(DL-P\d{4})</td>")


def test_the_credit_dashboard_pages_its_table_keeps_the_filters_and_exports_every_row(browser, crm):
    _dealers_with_credit(crm, 320, "塞北")  # more dealers than a select list holds
    admin = crm.identity.login("admin", DEMO_PASSWORD).principal
    report = crm.analytics.credit_report(admin, region="塞北")
    client = browser("admin")

    first = client.get("/analytics/credit?region=塞北")
    second = client.get(html.unescape(re.search(r'href="([^"]+)">下一页', first.text).group(1)))
    last = client.get("/analytics/credit?region=塞北&at=300")
    csv = client.get(re.search(r'href="([^"]+format=csv[^"]*)"', second.text).group(1).replace("&amp;", "&"))

    codes = [r.dealer_code for r in report.exposure]
    assert len(codes) == 320 and codes[0] == "DL-P0319"  # the largest exposure first
    assert TABLE_CODES.findall(first.text) == codes[:50] and "第 1–50 家，共 320 家" in first.text
    assert second.url.params["region"] == "塞北" and second.url.params["at"] == "50"
    assert TABLE_CODES.findall(second.text) == codes[50:100] and 'href="/analytics/credit?region=' in second.text
    assert TABLE_CODES.findall(last.text) == codes[300:] and "下一页" not in last.text and "上一页" in last.text
    for page in (first, second, last):  # the chart: the largest exposures and the whole totals, on every page
        assert json.loads(html.unescape(REPORT_DATA.search(page.text).group(1))) == _chart_rows_of(
            "credit", _as_api_answers(report))
    assert csv.url.params["region"] == "塞北" and "at" not in csv.url.params  # the page's link: every row
    assert [line.split(",")[0] for line in csv.text.strip().splitlines()[1:]] == codes


def test_past_a_few_hundred_dealers_the_dealer_filter_is_a_search_box(browser, crm):
    _dealers_with_credit(crm, 320, "塞北")
    client = browser("admin")

    page = client.get("/analytics/credit")
    found = client.get("/analytics/dealer-options?dealer=dl-p031&region=塞北")
    chosen = client.get("/analytics/credit?region=塞北&dealer=DL-P0312 分页专用车有限公司312")
    by_name = client.get("/analytics/stock?dealer=有限公司312")
    unknown = client.get("/analytics/credit?dealer=没有这家")
    small = client.get("/analytics/credit?region=华东")

    assert page.status_code == 200 and 'name="dealer" list="f-dealer-found"' in page.text
    assert '<select id="f-dealer"' not in page.text and "DL-P0100" not in page.text.split("数据表")[0]
    assert re.findall(r'<option value="(DL-P\d{4}) ', found.text) == [f"DL-P{n:04d}" for n in range(310, 320)]
    assert TABLE_CODES.findall(chosen.text) == ["DL-P0312"] and 'value="DL-P0312 分页专用车有限公司312"' in chosen.text
    assert "dealer_id=" in re.search(r'export\?format=csv[^"]*', chosen.text).group(0) and "下一页" not in chosen.text
    assert by_name.status_code == 200 and 'value="DL-P0312 分页专用车有限公司312"' in by_name.text
    assert unknown.status_code == 422 and "没有找到该经销商" in unknown.text and 'value="没有这家"' in unknown.text
    assert '<select id="f-dealer" name="dealer_id">' in small.text  # a region of a few dealers keeps its list


YUAN = (int, float)  # money: a number of yuan with the ¥ format
#: the statistics of seed items 2.3.4, 2.6.2/4.6.2, 4.2.3 and 4.4.4: (dashboard, its export's typed columns
#: (header, kind) checked in the first data row, the demo's figure that must not be empty)
SEED_BOARDS = {
    "credit-evaluation": ((("信用得分", int), ("评价日期", dt.datetime)), "dealers"),
    "training": ((("开始日期", dt.datetime), ("邀请", int), ("出席", int)), "trainings"),
    "satisfaction": ((("问卷答复", int), ("服务评分数", int), ("不满意", str)), "dealers"),
    "parts-stock": ((("数量", int), ("库存金额（标准成本）", YUAN), ("呆滞金额", YUAN)), "stations"),
}


def test_the_seed_statistics_dashboards_draw_demo_data_and_export_typed_cells(browser, crm):
    admin = crm.identity.login("admin", DEMO_PASSWORD).principal
    client = browser("admin")
    period = Period(dt.date(2026, 1, 1), dt.date(2026, 12, 7))
    training = crm.analytics.training_report(admin, period)
    satisfaction = crm.analytics.satisfaction_report(admin, period)
    parts = crm.analytics.parts_stock_report(admin)

    for board, (columns, rows) in SEED_BOARDS.items():
        report = _report(crm, board, admin, period)
        xlsx = client.get(f"/analytics/{board}/export?format=xlsx&from=2026-01-01&to=2026-12-07")
        sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
        header = [c.value for c in sheet[1]]
        assert xlsx.status_code == 200 and len(getattr(report, rows)) > 0, board
        assert sheet.max_row == len(getattr(report, rows)) + 1 and sheet.freeze_panes == "A2", board
        for label, kind in columns:
            cell = sheet.cell(row=2, column=header.index(label) + 1)
            assert isinstance(cell.value, kind), (board, label, cell.value)
            if kind is YUAN:
                assert "¥" in cell.number_format, (board, label)
    assert {a.key for a in training.by_audience if a.attended} == {"dealers", "stations"}
    assert sum(m.trainings for m in training.by_month) == len(training.trainings)
    assert satisfaction.dissatisfied >= 1 and satisfaction.dealers[0].reasons
    assert sum(s.count for s in satisfaction.survey_scores) > 0 and sum(s.count for s in satisfaction.service_scores) > 0
    assert parts.value_fen == sum(r.value_fen for r in parts.stations) == sum(r.value_fen for r in parts.by_region) > 0
    csv = client.get("/analytics/parts-stock/export?format=csv").text
    assert len(csv.strip().splitlines()) == len(parts.stations) + 1
    one = parts.stations[-1]
    filtered = client.get(f"/analytics/parts-stock?station_id={one.station_id}")
    assert crm.analytics.parts_stock_report(admin, station_id=one.station_id).stations == (one,)
    assert f'<option value="{one.station_id}" selected>' in filtered.text


@pytest.mark.parametrize(("username", "allowed", "refused"), [
    ("finance", ("credit-evaluation", "parts-stock"), ("training", "satisfaction")),
    ("marketing", ("training", "satisfaction"), ("credit-evaluation", "parts-stock")),
    ("guard", (), ("credit-evaluation", "training", "satisfaction", "parts-stock")),
])
def test_the_seed_statistics_dashboards_refuse_a_role_they_do_not_serve(browser, username, allowed, refused):
    client = browser(username)

    index = client.get("/analytics").text

    for board in allowed:
        assert client.get(f"/analytics/{board}").status_code == 200 and f'href="/analytics/{board}"' in index
    for board in refused:
        assert client.get(f"/analytics/{board}").status_code == 403, board
        assert client.get(f"/analytics/{board}/export?format=xlsx").status_code == 403, board
        assert f'href="/analytics/{board}"' not in index


def test_the_orders_dashboard_counts_the_demo_orders_and_its_export_matches(browser, crm):
    client = browser("admin")
    admin = crm.identity.login("admin", DEMO_PASSWORD).principal
    placed = [r for r in crm.orders.list_orders(SYSTEM, {}, None, 1000) if r.state not in ("draft", "cancelled")]

    report = crm.analytics.orders_report(admin, Period(dt.date(2026, 1, 1), dt.date(2026, 12, 7)))
    xlsx = client.get("/analytics/orders/export?format=xlsx&from=2026-01-01&to=2026-12-07")

    assert sum(m.orders for m in report["by_month"]) == len(placed)
    assert sum(m.amount_fen for m in report["by_region"]) == sum(r.total_fen for r in placed)
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    months = [row for row in sheet.iter_rows(min_row=2, values_only=True) if row[0] == "月份"]
    assert [m[1] for m in months] == [m.month for m in report["by_month"]]
    assert sum(m[4] or 0 for m in months) == pytest.approx(sum(r.total_fen for r in placed) / 100)


def test_a_reversed_period_is_shown_beside_the_filter_not_a_500(browser):
    client = browser("admin")

    r = client.get("/analytics/orders?from=2026-12-01&to=2026-11-01")

    assert r.status_code == 422 and "结束日期不能早于开始日期" in r.text and 'value="2026-12-01"' in r.text


def test_a_role_sees_only_its_dashboards(browser):
    guard = browser("guard")

    index = guard.get("/analytics")

    assert 'href="/analytics/gate"' in index.text and 'href="/analytics/orders"' not in index.text
    assert guard.get("/analytics/orders").status_code == 403
    assert guard.get("/analytics/gate").status_code == 200
    assert browser("dealer01").get("/analytics").status_code == 403


def test_the_dashboards_load_echarts_from_our_static_folder_and_the_readme_names_its_version(browser):
    client = browser("admin")
    hosts = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)
    versions = dict(line.split() for line in (VENDOR / "VERSIONS").read_text().splitlines() if line.strip())

    page = client.get("/analytics/gate")
    asset = client.get("/static/vendor/echarts/echarts.min.js")
    script = client.get("/static/charts.js")

    assert page.status_code == 200 and not hosts.search(page.text)
    assert asset.status_code == 200 and script.status_code == 200
    assert f"| echarts | {versions['echarts']} | Apache-2.0 |" in (ROOT / "README.md").read_text()
