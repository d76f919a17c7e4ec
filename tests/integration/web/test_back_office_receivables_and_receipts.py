"""The back office in the web UI on the demo data (one module: one demo load). 财务: invoices (list,
export, entry booked once per form, void), dunning (overdue receivables per dealer with the
reminders sent) and credit change requests (requested by one finance user, approved by another,
then applied). 发运: the dealers' receipts and the discrepancy alarms (acknowledge, resolve)."""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import re
import uuid

import msgspec
import openpyxl
import pytest

from dealercrm.application.services.analytics import Period
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.demo import DEMO_PASSWORD
from dealercrm.entrypoints.web.filters import money

from .conftest import csrf_token

pytestmark = pytest.mark.slow
SYSTEM = Principal.system()
TOKEN = re.compile(r'name="form_token" value="([0-9a-f]+)"')


def _yuan(fen: int) -> str:
    return f"¥{fen // 100:,}.{fen % 100:02d}"


def _invoiceable_contract(crm):
    """A demo contract with value not yet invoiced: (contract_no, uninvoiced fen)."""
    for account in crm.credit.accounts(SYSTEM, limit=500):
        for c in crm.credit.page(SYSTEM, account["dealer_id"])["contracts"]:
            if c["state"] in ("reserved", "invoiced_part") and c["uninvoiced_fen"] >= 100_000_00:
                return c["contract_no"], c["uninvoiced_fen"]
    raise AssertionError("the demo has no contract left to invoice")


def _overdue_invoice(crm):
    (row,) = [i for i in crm.credit.invoices(SYSTEM, open_only=True, limit=500)
              if i["due_on"] < crm.credit.today()]
    return row


# -- 发票 -------------------------------------------------------------------------------------------

def test_the_invoice_list_shows_the_demo_invoices_with_exact_money_and_its_xlsx_export_agrees(browser, crm):
    invoices = crm.credit.invoices(SYSTEM, limit=500)
    newest = invoices[0]
    client = browser("finance")

    page = client.get("/finance/invoices")
    open_page = client.get("/finance/invoices?open_only=true")
    xlsx = client.get("/finance/invoices/export?format=xlsx")

    assert page.status_code == 200 and newest["invoice_no"] in page.text
    assert _yuan(newest["amount_fen"]) in page.text
    settled = next(i for i in invoices if i["open_fen"] == 0)
    assert settled["invoice_no"] in page.text and settled["invoice_no"] not in open_page.text
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert xlsx.status_code == 200 and sheet.max_row == len(invoices) + 1
    first = [c.value for c in sheet[2]]
    assert first[0] == newest["invoice_no"] and first[5] == newest["amount_fen"] / 100


def test_an_invoice_form_posted_twice_issues_one_invoice_and_shows_it_both_times(browser, crm):
    contract_no, _ = _invoiceable_contract(crm)
    client = browser("finance")
    form = client.get(f"/finance/invoices/new?contract_no={contract_no}")
    data = {"_csrf_token": csrf_token(form.text), "form_token": TOKEN.search(form.text).group(1),
            "contract_no": contract_no, "amount": "100,000.01", "issued_on": "2026-12-07"}
    before = len(crm.credit.invoices(SYSTEM, contract_no=contract_no, limit=500))

    first = client.post("/finance/invoices", data=data, follow_redirects=False)
    second = client.post("/finance/invoices", data=data, follow_redirects=False)

    issued = crm.credit.invoices(SYSTEM, contract_no=contract_no, limit=500)
    assert len(issued) == before + 1 and issued[0]["amount_fen"] == 10_000_001
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"] == f"/finance/invoices/{issued[0]['id']}?issued=1"
    shown = client.get(first.headers["location"])
    assert f"已开票 {issued[0]['invoice_no']}" in shown.text and "¥100,000.01" in shown.text


def test_a_wrong_amount_or_unknown_contract_is_shown_beside_the_field_and_nothing_is_issued(browser, crm):
    contract_no, uninvoiced = _invoiceable_contract(crm)
    client = browser("finance")
    form = client.get("/finance/invoices/new")
    base = {"_csrf_token": csrf_token(form.text), "form_token": TOKEN.search(form.text).group(1),
            "issued_on": "2026-12-07"}
    before = len(crm.credit.invoices(SYSTEM, limit=500))

    decimals = client.post("/finance/invoices", data={**base, "contract_no": contract_no, "amount": "12.345"})
    too_much = client.post("/finance/invoices", data={**base, "contract_no": contract_no,
                                                      "amount": f"{(uninvoiced + 100) / 100:.2f}"})
    unknown = client.post("/finance/invoices", data={**base, "contract_no": "HTD-1999-9999", "amount": "10"})

    assert decimals.status_code == too_much.status_code == unknown.status_code == 422
    assert "最多两位小数" in decimals.text and 'value="12.345"' in decimals.text
    assert "开票金额超过合同未开票金额" in too_much.text
    assert "未经财务审批占用额度" in unknown.text and 'value="HTD-1999-9999"' in unknown.text
    assert len(crm.credit.invoices(SYSTEM, limit=500)) == before


def test_an_invoice_page_shows_its_payments_and_a_void_needs_a_reason_then_a_second_void_is_stale(browser, crm):
    invoice = next(i for i in crm.credit.invoices(SYSTEM, limit=500) if 0 < i["paid_fen"] < i["amount_fen"])
    client = browser("finance")
    page = client.get(f"/finance/invoices/{invoice['id']}")
    token = csrf_token(page.text)

    blank = client.post(f"/finance/invoices/{invoice['id']}/void", data={"_csrf_token": token, "reason": " "})
    voided = client.post(f"/finance/invoices/{invoice['id']}/void", data={"_csrf_token": token, "reason": "金额开错"},
                         follow_redirects=False)
    again = client.post(f"/finance/invoices/{invoice['id']}/void", data={"_csrf_token": token, "reason": "再作废"})

    assert page.status_code == 200 and _yuan(invoice["paid_fen"]) in page.text and _yuan(invoice["open_fen"]) in page.text
    assert blank.status_code == 422 and "请填写作废原因" in blank.text
    assert voided.status_code == 303
    assert again.status_code == 409 and "已被他人修改" in again.text and "金额开错" in again.text
    assert crm.credit.invoice(SYSTEM, invoice["id"])["state"] == "voided"


# -- 催款 -------------------------------------------------------------------------------------------

def test_dunning_lists_the_overdue_dealer_and_after_a_run_the_reminders_sent(browser, crm):
    overdue = _overdue_invoice(crm)
    client = browser("finance")

    before = client.get("/finance/dunning")
    run = client.post("/finance/dunning/run", data={"_csrf_token": csrf_token(before.text)})
    after = client.get("/finance/dunning")

    days = (crm.credit.today() - overdue["due_on"]).days
    assert before.status_code == 200 and overdue["invoice_no"] in before.text
    assert _yuan(overdue["open_fen"]) in before.text and f"逾期 {days} 天" in before.text
    assert "应达催款级别：三级（最后通知）；已发送至：未催款" in before.text and "尚未发送催款提醒" in before.text
    assert run.status_code == 200 and "催款提醒已运行" in run.text
    assert "已发送至：三级（最后通知）" in after.text and "三级最后通知（经销商）" in after.text
    assert "尚未发送催款提醒" not in after.text


def test_a_region_filter_without_overdue_dealers_says_so(browser):
    page = browser("finance").get("/finance/dunning?region=华东")

    assert page.status_code == 200 and "没有逾期应收" in page.text


# -- 授信变更 ---------------------------------------------------------------------------------------

def _dealer_with_credit(crm):
    return crm.credit.accounts(SYSTEM, limit=1)[0]


def test_finance_requests_a_credit_change_that_another_user_approves_and_it_applies(browser, crm):
    account = _dealer_with_credit(crm)
    finance = browser("finance")
    form = finance.get(f"/finance/credit-changes/new?dealer_id={account['dealer_id']}")

    requested = finance.post("/finance/credit-changes", data={
        "_csrf_token": csrf_token(form.text), "dealer_id": str(account["dealer_id"]), "limit": "3,500,000.50",
        "term_days": "45", "reason": "年度复核，提升额度"}, follow_redirects=False)
    location = requested.headers["location"]
    own = finance.get(location)
    self_approval = finance.post(f"{location}/decide", data={"_csrf_token": csrf_token(own.text), "decision": "approve"})
    admin = browser("admin")
    detail = admin.get(location)
    approved = admin.post(f"{location}/decide", data={"_csrf_token": csrf_token(detail.text), "decision": "approve",
                                                      "note": "同意"}, follow_redirects=False)
    twice = admin.post(f"{location}/decide", data={"_csrf_token": csrf_token(detail.text), "decision": "reject",
                                                   "reason": "晚了一步"})

    assert requested.status_code == 303 and re.fullmatch(r"/finance/credit-changes/\d+", location)
    assert "¥3,500,000.50" in own.text and "45天" in own.text and "待审批" in own.text
    assert self_approval.status_code == 409 and "申请人不能审批自己的信用调整申请" in self_approval.text
    assert approved.status_code == 303
    assert twice.status_code == 409 and "已被他人修改" in twice.text and "已批准" in twice.text
    terms = crm.credit.page(SYSTEM, account["dealer_id"])["account"]
    assert (terms["limit_fen"], terms["term_days"]) == (350_000_050, 45)
    assert f'href="{location}"' in admin.get("/finance/credit-changes?status=approved").text


def test_a_bad_limit_or_a_missing_reason_is_shown_beside_the_field_and_nothing_is_requested(browser, crm):
    account = _dealer_with_credit(crm)
    client = browser("finance")
    form = client.get("/finance/credit-changes/new")
    base = {"_csrf_token": csrf_token(form.text), "dealer_id": str(account["dealer_id"])}
    before = len(crm.credit.change_requests(SYSTEM, limit=500))

    bad_limit = client.post("/finance/credit-changes", data={**base, "limit": "三百万", "reason": "调整"})
    no_reason = client.post("/finance/credit-changes", data={**base, "term_days": "60", "reason": " "})
    nothing = client.post("/finance/credit-changes", data={**base, "reason": "什么也不改"})

    assert bad_limit.status_code == no_reason.status_code == nothing.status_code == 422
    assert "请输入金额（元）" in bad_limit.text and 'value="三百万"' in bad_limit.text
    assert "须说明调整原因" in no_reason.text and 'value="60"' in no_reason.text
    assert "至少修改一项信用条件" in nothing.text
    assert len(crm.credit.change_requests(SYSTEM, limit=500)) == before


# -- who may ---------------------------------------------------------------------------------------

def test_dealers_may_not_open_these_pages_and_sales_see_only_their_regions_invoices(browser, crm):
    overdue = _overdue_invoice(crm)  # a 西南 dealer's
    dealer = browser("dealer01")
    sales = browser("sales_huazhong")

    for path in ("/finance/invoices", f"/finance/invoices/{overdue['id']}", "/finance/invoices/new",
                 "/finance/dunning", "/finance/credit-changes", "/finance/credit-changes/1"):
        assert dealer.get(path).status_code == 403, path
    assert sales.get(f"/finance/invoices/{overdue['id']}").status_code == 404
    assert overdue["invoice_no"] not in sales.get("/finance/dunning").text
    assert sales.get("/finance/invoices/new").status_code == 403


def test_the_new_finance_and_dispatch_routes_never_answer_500(browser, app):
    paths = sorted({r.path for r in app.routes
                    if r.path.startswith(("/finance/invoices", "/finance/dunning", "/finance/credit-changes",
                                          "/dispatch/receipts", "/dispatch/discrepancies"))})
    failures = []
    for user, prefix in (("finance", "/finance"), ("dispatch", "/dispatch")):
        client = browser(user)
        token = csrf_token(client.get("/account/password").text)
        for path in (p for p in paths if p.startswith(prefix)):
            for value in ("x", "999999", "9223372036854775808"):
                url = path.replace("{invoice_id:int}", value).replace("{request_id:int}", value).replace(
                    "{alert_id:int}", value)
                for params in ({}, {"format": "x", "status": "x", "state": "x", "after": "x", "region": "x" * 50,
                                    "open_only": "x", "contract_no": "x" * 60, "dealer_id": "0", "kind": "x"}):
                    r = client.get(url, params=params)
                    if r.status_code >= 500:
                        failures.append(("GET", url, params, r.status_code))
                for data in ({}, {"decision": "approve", "amount": "1e9", "dealer_id": "x", "form_token": "x" * 64,
                                  "issued_on": "2026-02-30", "reason": "x" * 600, "vins": "x", "limit": "-1",
                                  "term_days": "999", "threshold": "0", "contract_no": "x" * 60}):
                    r = client.post(url, data={"_csrf_token": token, **data})
                    if r.status_code >= 500:
                        failures.append(("POST", url, data, r.status_code))

    assert len(paths) >= 13
    assert failures == []


# -- 收货回执与到货差异 ----------------------------------------------------------------------------

SHIPMENT = 1  # dealer09's delivery in transit (demo), 东北
VINS = ("LHZ5GYYB2TA000020", "LHZ5GYYB4TA000021", "LHZ5GYYB6TA000022")


def _receipt_with_a_damaged_vehicle(browser):
    dealer = browser("dealer09")
    html = dealer.get(f"/stock/receipts/{SHIPMENT}").text
    r = dealer.post(f"/stock/receipts/{SHIPMENT}", follow_redirects=False, data={
        "_csrf_token": csrf_token(html), "receiver_name": "王收货", f"outcome:{VINS[1]}": "damaged",
        f"note:{VINS[1]}": "左侧护栏刮伤", **{f"config_ok:{v}": "1" for v in VINS}})
    assert r.status_code == 303, r.text[:300]


def test_dispatch_sees_the_receipt_and_acknowledges_then_resolves_its_discrepancy_alarm(browser):
    _receipt_with_a_damaged_vehicle(browser)
    dispatch = browser("dispatch")

    receipts = dispatch.get("/dispatch/receipts")
    alarms = dispatch.get("/dispatch/discrepancies")
    alert_id = re.search(r'formaction="/dispatch/discrepancies/(\d+)/acknowledge"', alarms.text).group(1)
    token = csrf_token(alarms.text)
    acknowledged = dispatch.post(f"/dispatch/discrepancies/{alert_id}/acknowledge", data={"_csrf_token": token},
                                 follow_redirects=False)
    twice = dispatch.post(f"/dispatch/discrepancies/{alert_id}/acknowledge", data={"_csrf_token": token})
    resolved = dispatch.post(f"/dispatch/discrepancies/{alert_id}/resolve", data={"_csrf_token": token},
                             follow_redirects=False)
    live = dispatch.get("/dispatch/discrepancies")
    done = dispatch.get("/dispatch/discrepancies?state=resolved")

    assert receipts.status_code == 200 and "有差异" in receipts.text and "左侧护栏刮伤" in receipts.text
    assert alarms.status_code == 200 and "到货差异" in alarms.text and "左侧护栏刮伤" in alarms.text
    assert acknowledged.status_code == resolved.status_code == 303
    assert twice.status_code == 409 and "已被他人修改" in twice.text and "已知悉" in twice.text
    assert "没有未解除的到货差异" in live.text
    assert "dispatch 已解除" in done.text and "dispatch 已知悉" in done.text


def test_the_receipts_export_opens_as_xlsx_with_typed_cells(browser):
    _receipt_with_a_damaged_vehicle(browser)

    xlsx = browser("dispatch").get("/dispatch/receipts/export?format=xlsx")

    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    row = [c.value for c in sheet[2]]
    assert xlsx.status_code == 200 and sheet.freeze_panes == "A2" and sheet.max_row == 2
    assert row[5:8] == [2, 1, 0] and "左侧护栏刮伤" in row[8] and row[9] == "王收货"


def test_sales_of_another_region_neither_see_nor_act_on_the_alarm_and_dealers_are_refused(browser):
    _receipt_with_a_damaged_vehicle(browser)
    alarms = browser("dispatch").get("/dispatch/discrepancies")
    alert_id = re.search(r'formaction="/dispatch/discrepancies/(\d+)/resolve"', alarms.text).group(1)
    sales = browser("sales_huazhong")
    dealer = browser("dealer09")

    listed = sales.get("/dispatch/discrepancies")
    acted = sales.post(f"/dispatch/discrepancies/{alert_id}/resolve", data={"_csrf_token": csrf_token(listed.text)})
    bad_state = sales.get("/dispatch/discrepancies?state=lost")

    assert listed.status_code == 200 and "左侧护栏刮伤" not in listed.text
    assert acted.status_code == 404
    assert bad_state.status_code == 422 and "未知的处理状态" in bad_state.text
    assert sales.get("/dispatch/receipts").status_code == 403
    for path in ("/dispatch/receipts", "/dispatch/discrepancies", "/dispatch/receipts/export"):
        assert dealer.get(path).status_code == 403, path


# -- 产品线筛选 --------------------------------------------------------------------------------------

REPORT_DATA = re.compile(r'<script type="application/json" id="report-data"[^>]*>(.*?)</script>', re.DOTALL)


def test_the_order_list_and_the_orders_dashboard_filter_by_product_line(browser, crm):
    everything = crm.orders.list_orders(SYSTEM, {}, None, 1000)
    tankers = crm.orders.list_orders(SYSTEM, {"product_line": "tanker"}, None, 1000)
    others = [r for r in everything if r.id not in {t.id for t in tankers}]
    client = browser("admin")
    admin = crm.identity.login("admin", DEMO_PASSWORD).principal
    period = Period(dt.date(2026, 1, 1), dt.date(2026, 12, 7))

    listed = client.get("/orders?product_line=tanker")
    board = client.get("/analytics/orders?from=2026-01-01&to=2026-12-07&product_line=tanker")
    unknown = client.get("/orders?product_line=rocket")
    unknown_board = client.get("/analytics/orders?product_line=rocket")

    assert tankers and others
    assert all(f">{t.order_no}<" in listed.text for t in tankers[:50])
    assert not any(f">{o.order_no}<" in listed.text for o in others)
    embedded = json.loads(html.unescape(REPORT_DATA.search(board.text).group(1)))
    expected = crm.analytics.orders_report(admin, period, product_line="tanker")
    assert embedded == json.loads(msgspec.json.encode(expected))
    assert expected != crm.analytics.orders_report(admin, period)
    assert unknown.status_code == 200 and "未知的产品线" in unknown.text
    assert unknown_board.status_code == 422 and "未知的产品线" in unknown_board.text


# -- 一次提交只办一次（表单令牌） -----------------------------------------------------------------------

def test_a_claim_decision_posted_twice_with_its_form_decides_once_and_answers_the_same(browser, crm):
    claim = next(c for c in crm.aftersales.list_claims(SYSTEM, state="in_review", limit=10) if not c["risk_flagged"])
    client = browser("aftersales")
    page = client.get(f"/aftersales/claims/{claim['id']}")
    form = {"_csrf_token": csrf_token(page.text), "decision": "approve",
            "seen": re.search(r'name="seen" value="([^"]+)"', page.text).group(1),
            "form_token": TOKEN.search(page.text).group(1)}

    first = client.post(f"/aftersales/claims/{claim['id']}/decide", data=form, follow_redirects=False)
    second = client.post(f"/aftersales/claims/{claim['id']}/decide", data=form, follow_redirects=False)
    other_form = client.post(f"/aftersales/claims/{claim['id']}/decide",
                             data={**form, "form_token": "f" * 32})
    reused = client.post(f"/aftersales/claims/{claim['id']}/decide",
                         data={**form, "decision": "reject", "reason": "改主意了"})

    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"] == f"/aftersales/claims/{claim['id']}?decided=1"
    assert other_form.status_code == 409 and "已被他人修改" in other_form.text
    assert reused.status_code == 422 and "该表单已提交过" in reused.text
    assert crm.aftersales.claim(SYSTEM, claim["id"])["state"] == "in_review"  # finance reviews next, once
    assert "当前等待：财务审核" in client.get(f"/aftersales/claims/{claim['id']}").text


def test_a_device_key_form_posted_twice_issues_one_key_and_never_shows_it_again(browser, crm):
    admin = browser("admin")
    page = admin.get("/admin/devices")
    form = {"_csrf_token": csrf_token(page.text), "form_token": TOKEN.search(page.text).group(1),
            "name": "三号门岗", "location": "北门"}

    first = admin.post("/admin/devices", data=form)
    second = admin.post("/admin/devices", data=form)

    (row,) = [d for d in crm.identity.list_devices(SYSTEM) if d["name"] == "三号门岗"]
    key = re.search(r'id="issued-key">([^<]+)<', first.text).group(1)
    assert first.status_code == second.status_code == 200
    assert crm.identity.authenticate_device(key).device_id == row["id"]
    assert f"该表单已签发过设备凭证（编号 {row['id']}），未重复签发" in second.text
    assert 'id="issued-key"' not in second.text and key not in second.text


# -- 自提回执、发票按经销商筛选、催款导出 ---------------------------------------------------------------

def _pickup_receipt_with_a_damaged_vehicle(crm) -> str:
    """A pass handed to a dealer's own driver, who drives out; the dealer receipts it with one
    damaged vehicle. Returns the pass number."""
    import sqlalchemy as sa

    from dealercrm.application import shipping

    with crm.engine.connect() as conn:
        pass_id, pass_no, vins, username = conn.execute(sa.text(
            "select p.id, p.pass_no, p.vins, min(u.username) from gate_passes p join users u on u.dealer_id = p.dealer_id"
            " where p.status = 'handed_over' and u.role = 'dealer' group by p.id, p.pass_no, p.vins order by p.id")).first()
        guard = conn.execute(sa.text("select min(username) from users where role = 'guard'")).scalar_one()
    vins = json.loads(vins) if isinstance(vins, str) else vins
    crm.gate.confirm_exit(crm.identity.login(guard, DEMO_PASSWORD).principal, pass_id, None)
    crm.gate.submit_pickup_receipt(crm.identity.login(username, DEMO_PASSWORD).principal, pass_id,
                                   shipping.SubmitReceipt(tuple(
                                       shipping.ReceiptLineIn(vin, "damaged" if i == 0 else "received", True,
                                                              "后挡泥板变形" if i == 0 else None)
                                       for i, vin in enumerate(vins)), "李提车"))
    return pass_no


def test_dispatch_lists_and_exports_the_pickup_receipts_beside_the_shipment_receipts(browser, crm):
    pass_no = _pickup_receipt_with_a_damaged_vehicle(crm)
    dispatch = browser("dispatch")

    pickups = dispatch.get("/dispatch/receipts?kind=pickup")
    shipments = dispatch.get("/dispatch/receipts")
    unknown = dispatch.get("/dispatch/receipts?kind=rocket")
    xlsx = dispatch.get("/dispatch/receipts/export?format=xlsx&kind=pickup")

    assert pickups.status_code == 200 and pass_no in pickups.text and "后挡泥板变形" in pickups.text
    assert "李提车" in pickups.text and pass_no not in shipments.text
    assert unknown.status_code == 422 and "未知的回执类型" in unknown.text
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    row = [c.value for c in sheet[2]]
    assert xlsx.status_code == 200 and sheet.max_row == 2 and sheet.cell(1, 2).value == "出门证号"
    assert row[1] == pass_no and row[8:10] == [1, 0] and row[7] >= 1 and "后挡泥板变形" in row[10]
    assert isinstance(row[12], dt.datetime)


def test_invoices_filter_by_dealer_and_dunning_exports_the_overdue_invoices_on_the_page_and_the_api(browser, crm):
    overdue = _overdue_invoice(crm)
    mine = crm.credit.invoices(SYSTEM, dealer_id=overdue["dealer_id"], limit=500)
    others = [i for i in crm.credit.invoices(SYSTEM, limit=500) if i["dealer_id"] != overdue["dealer_id"]]
    finance = browser("finance")

    listed = finance.get(f"/finance/invoices?dealer_id={overdue['dealer_id']}")
    exported = finance.get(f"/finance/invoices/export?format=xlsx&dealer_id={overdue['dealer_id']}")
    foreign = browser("sales_huazhong").get(f"/finance/invoices?dealer_id={overdue['dealer_id']}")
    page = finance.get("/finance/dunning")
    xlsx = finance.get("/finance/dunning/export?format=xlsx")
    token = finance.post("/api/v1/auth/login", json={"username": "finance", "password": DEMO_PASSWORD}).json()
    csv = finance.get("/api/v1/credit/dunning/export?region=华东",
                      headers={"Authorization": f"Bearer {token['access_token']}"})

    assert others and all(i["invoice_no"] in listed.text for i in mine)
    assert not any(f">{i['invoice_no']}<" in listed.text for i in others)
    assert openpyxl.load_workbook(io.BytesIO(exported.content)).active.max_row == len(mine) + 1
    assert foreign.status_code == 422 and "不在您的管辖范围内" in foreign.text
    assert 'href="/finance/dunning/export?format=xlsx"' in page.text
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    row = [c.value for c in sheet[2]]
    assert xlsx.status_code == 200 and sheet.max_row == 2 and sheet.freeze_panes == "A2"
    assert row[4] == overdue["invoice_no"] and row[5] == overdue["open_fen"] / 100
    assert row[7] == (crm.credit.today() - overdue["due_on"]).days and row[8] == "三级（最后通知）"
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.content.decode("utf-8-sig").splitlines() == ["经销商编号,经销商,区域,合同编号,发票号,逾期未收,到期日,逾期天数,应达催款级别,已发送级别,已生成提醒数"]


# -- 产品线筛选（库存、信用、门卫）与质量、营销、经销商库存看板 ------------------------------------------

LINES = ("tanker", "dump_truck", "semi_trailer")


def _embedded(page):
    return json.loads(html.unescape(REPORT_DATA.search(page.text).group(1)))


def test_the_stock_credit_and_gate_dashboards_filter_by_product_line_and_the_lines_add_up(browser, crm):
    _pickup_receipt_with_a_damaged_vehicle(crm)  # a pass exits the gate; its vehicles and a shipment's enter stock
    _receipt_with_a_damaged_vehicle(browser)
    client = browser("admin")
    admin = crm.identity.login("admin", DEMO_PASSWORD).principal
    period = Period(dt.date(2026, 1, 1), dt.date(2026, 12, 7))
    a = crm.analytics

    pages = {board: client.get(f"/analytics/{board}?from=2026-01-01&to=2026-12-07&product_line=tanker")
             for board in ("stock", "credit", "gate")}
    unknown = client.get("/analytics/stock?product_line=rocket")

    assert _embedded(pages["stock"]) == json.loads(msgspec.json.encode(a.stock_report(admin, product_line="tanker")))
    assert _embedded(pages["credit"]) == json.loads(msgspec.json.encode(a.credit_report(admin, product_line="tanker")))
    assert _embedded(pages["gate"]) == json.loads(msgspec.json.encode(
        a.gate_throughput(admin, period, product_line="tanker")))
    assert all('<option value="tanker" selected>' in p.text for p in pages.values())
    assert unknown.status_code == 422 and "未知的产品线" in unknown.text
    stock = a.stock_report(admin)["totals"]
    per_line = [a.stock_report(admin, product_line=line)["totals"] for line in LINES]
    assert stock["units"] > 0 and all(sum(t[k] for t in per_line) == stock[k] for k in stock)
    gate = a.gate_throughput(admin, period)["totals"]
    assert gate["vehicles"] > 0 and sum(a.gate_throughput(admin, period, product_line=line)["totals"]["vehicles"]
                                        for line in LINES) == gate["vehicles"]
    import sqlalchemy as sa

    with crm.engine.connect() as conn:  # the demo's credit contracts linked to an order, by the order's line
        expected = dict(conn.execute(sa.text(
            "select o.product_line, sum(k.amount_fen - k.invoiced_fen) from credit_commitments k "
            "join orders o on o.contract_no = k.contract_no where k.state in ('reserved', 'invoiced_part') "
            "group by o.product_line")).all())
    lines = {line: a.credit_report(admin, product_line=line) for line in LINES}
    assert any(expected.values())
    assert {line: c.totals.exposure_fen for line, c in lines.items()} == {
        line: int(expected.get(line) or 0) for line in LINES}
    whole = {r.dealer_id: r for r in a.credit_report(admin).exposure}
    assert all(r.available_fen == whole[r.dealer_id].available_fen for c in lines.values()
               for r in c.exposure)
    table = pages["credit"].text  # the table's rows and the dealer filter, as the page writes them
    assert all(f"<td>{r.dealer_code}</td>" in table and f'<td class="num">{money(r.exposure_fen)}</td>' in table
               for r in lines["tanker"].exposure)
    assert all(f'<option value="{d.id}">{d.code} {d.legal_name}</option>' in table for d in a.dealer_choices(admin))
    east = client.get("/analytics/credit?region=华东").text  # a chosen region narrows the dealer filter too
    in_east, elsewhere = a.dealer_choices(admin, region="华东"), a.dealer_choices(admin, region="华中")
    assert in_east and elsewhere and all(f'<option value="{d.id}">' in east for d in in_east)
    assert not any(f'<option value="{d.id}">' in east for d in elsewhere)


def test_the_quality_campaign_and_dealer_stock_dashboards_draw_the_report_apis_data(browser, crm):
    import sqlalchemy as sa

    _receipt_with_a_damaged_vehicle(browser)
    client = browser("admin")
    admin = crm.identity.login("admin", DEMO_PASSWORD).principal
    period = Period(dt.date(2026, 1, 1), dt.date(2026, 12, 7))
    a = crm.analytics

    quality = client.get("/analytics/quality?from=2026-01-01&to=2026-12-07")
    campaigns = client.get("/analytics/campaigns?from=2026-01-01&to=2026-12-07")
    dealer_stock = client.get("/analytics/dealer-stock")
    xlsx = client.get("/analytics/dealer-stock/export?format=xlsx")
    quality_xlsx = client.get("/analytics/quality/export?format=xlsx&from=2026-01-01&to=2026-12-07")
    campaigns_csv = client.get("/analytics/campaigns/export?format=csv&from=2026-01-01&to=2026-12-07")
    aftersales = browser("aftersales")

    q = a.quality_report(admin, period)
    assert _embedded(quality) == json.loads(msgspec.json.encode(q))
    assert _embedded(campaigns) == json.loads(msgspec.json.encode(a.campaign_report(admin, period)))
    report = a.dealer_stock_report(admin)
    assert _embedded(dealer_stock) == json.loads(msgspec.json.encode(report))
    assert all(f'id="{c}"' in quality.text for c in ("quality-by-line", "quality-by-fault", "quality-by-part"))
    with crm.engine.connect() as conn:
        repairs, leads = conn.execute(sa.text(
            "select (select count(*) from service_repair_records where finished_at >= '2025-12-31 16:00' "
            "and finished_at < '2026-12-07 16:00'), (select count(*) from campaign_leads)")).one()
    assert q.totals.repairs == repairs > 0 and sum(r.repairs for r in q.by_fault) == repairs
    assert sum(c.leads for c in a.campaign_report(admin, Period(dt.date(2020, 1, 1), dt.date(2021, 12, 31)))
               .campaigns) == 0
    assert sum(c.leads for c in a.campaign_report(admin, Period(dt.date(2025, 1, 1), dt.date(2026, 12, 31)))
               .campaigns) == leads
    assert report["totals"]["units"] == a.stock_report(admin)["totals"]["units"] == len(VINS)
    assert report["totals"]["units"] == sum(report["totals"][line] for line in LINES)
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert xlsx.status_code == 200 and sheet.max_row == len(report["dealers"]) + 1
    quality_sheet = [r for r in openpyxl.load_workbook(io.BytesIO(quality_xlsx.content)).active
                     .iter_rows(min_row=2, values_only=True)]
    assert len(quality_sheet) == len(q.by_line) + len(q.by_fault) + len(q.by_part) + len(q.by_station)
    assert [r[2] for r in quality_sheet if r[0] == "故障类别"] == [r.repairs for r in q.by_fault]
    assert all(r[3] is None and r[4] is None for r in quality_sheet if r[0] in ("配件", "服务站"))
    assert len(campaigns_csv.text.strip().splitlines()) == len(a.campaign_report(admin, period).campaigns) + 1
    assert aftersales.get("/analytics/quality").status_code == 200
    assert aftersales.get("/analytics/campaigns").status_code == 403
    assert 'href="/analytics/quality"' in aftersales.get("/").text


# -- 关怀消息模板 ------------------------------------------------------------------------------------

def test_marketing_creates_a_care_template_and_a_refused_field_is_shown_beside_it(browser, crm):
    client = browser("marketing")
    form = client.get("/care/templates/new")
    token = csrf_token(form.text)
    sms = {"_csrf_token": token, "name": "保养提醒", "channel": "sms", "subject": "", "body": "{name}您好，请按时保养。"}

    with_subject = client.post("/care/templates/new", data={**sms, "subject": "标题", "form_token": uuid.uuid4().hex})
    unknown_var = client.post("/care/templates/new", data={**sms, "body": "{nickname}您好", "form_token": uuid.uuid4().hex})
    created = client.post("/care/templates/new", data={**sms, "form_token": uuid.uuid4().hex}, follow_redirects=False)
    listed = client.get(created.headers["location"])

    assert form.status_code == 200 and "{vin}（车架号）" in form.text
    assert with_subject.status_code == 422 and 'id="subject-error"' in with_subject.text
    assert "短信模板没有标题" in with_subject.text and 'value="保养提醒"' in with_subject.text
    assert unknown_var.status_code == 422 and 'id="body-error"' in unknown_var.text and "{nickname}" in unknown_var.text
    assert created.status_code == 303 and "模板已创建" in listed.text and "保养提醒" in listed.text
    assert [t["name"] for t in crm.care.templates(SYSTEM)] == ["保养提醒"]
    assert browser("dealer01").get("/care/templates").status_code == 403


# -- 营销活动 ----------------------------------------------------------------------------------------

def test_marketing_plans_a_campaign_records_a_lead_and_closes_it_with_its_cost(browser, crm):
    client = browser("marketing")
    form = client.get("/marketing/campaigns/new")
    token = csrf_token(form.text)
    plan = {"_csrf_token": token, "name": "西南自卸车巡展", "target_segment": "矿山运输企业", "budget": "200,000",
            "starts_on": "2026-12-01", "ends_on": "2026-12-31", "product_lines": ["dump_truck"], "regions": ["西南"],
            "activate": "1"}

    reversed_period = client.post("/marketing/campaigns/new", data={**plan, "ends_on": "2026-11-01",
                                                                    "form_token": uuid.uuid4().hex})
    planned = client.post("/marketing/campaigns/new", data={**plan, "form_token": uuid.uuid4().hex},
                          follow_redirects=False)
    location = planned.headers["location"]
    page = client.get(location)
    lead = {"_csrf_token": token, "name": "刘先生", "phone": "13800001234", "interest": "3台自卸车"}
    outside = client.post(f"{location}/leads", data={**lead, "dealer_id": "1"})
    captured = client.post(f"{location}/leads", data={**lead, "dealer_id": "6"}, follow_redirects=False)
    no_cost = client.post(f"{location}/action", data={"_csrf_token": token, "action": "close"})
    closed = client.post(f"{location}/action", data={"_csrf_token": token, "action": "close",
                                                      "actual_cost": "180000.50"}, follow_redirects=False)
    again = client.post(f"{location}/action", data={"_csrf_token": token, "action": "cancel"})
    listed = client.get("/marketing/campaigns?status=closed")

    assert reversed_period.status_code == 422 and "结束日期不能早于开始日期" in reversed_period.text
    assert 'value="西南自卸车巡展"' in reversed_period.text
    assert planned.status_code == 303 and "进行中" in page.text and "¥200,000.00" in page.text
    assert outside.status_code == 422 and "不在活动的目标大区内" in outside.text and 'value="刘先生"' in outside.text
    assert captured.status_code == 303
    assert no_cost.status_code == 422 and 'id="actual_cost-error"' in no_cost.text
    assert closed.status_code == 303
    assert again.status_code == 409 and "已被他人修改" in again.text and "已结束" in again.text
    campaign_id = int(location.rsplit("/", 1)[1])
    report = crm.marketing.campaign_report(crm.identity.login("marketing", DEMO_PASSWORD).principal, campaign_id)
    assert report["totals"]["leads"] == 1 and report["campaign"]["actual_cost_fen"] == 18_000_050
    assert f'href="{location}"' in listed.text
    assert browser("dealer01").get("/marketing/campaigns").status_code == 403
    sales = browser("sales_huazhong")
    sales_token = csrf_token(sales.get(location).text)
    assert sales.post(f"{location}/action", data={"_csrf_token": sales_token, "action": "cancel"}).status_code == 403
