"""配件订购与调拨 and 服务收入报表 in the web UI on the demo data (issue 18 §5): the Zhengzhou
station sees its order, transfer, bill and replenishment suggestions and orders from them; the
parts staff confirm and ship from the queue and book the transfer in at Luoyang, once; another
station sees none of it; finance reads and exports the income report."""

from __future__ import annotations

import pytest

from dealercrm.domain.identity import Principal, Role

from .conftest import csrf_token

pytestmark = pytest.mark.slow
ADMIN = Principal(1, "admin", Role.ADMIN)


def test_a_station_orders_from_its_suggestions_and_the_parts_staff_confirm_and_ship(browser, crm):
    zz = browser("station_zz")
    page = zz.get("/parts-supply/")
    assert page.status_code == 200, page.text
    assert "补货建议" in page.text and "FV-2301" in page.text and "已收货" in page.text and "在途" in page.text
    assert "有偿维修收费单" in page.text and "未收款" in page.text

    posted = zz.post("/parts-supply/orders", data={"_csrf_token": csrf_token(page.text), "part_no": "BR-0420",
                                                   "quantity": "3"}, follow_redirects=False)
    bad = zz.post("/parts-supply/orders", data={"_csrf_token": csrf_token(page.text), "part_no": "XX-9999",
                                                "quantity": "3"}, follow_redirects=False)
    staff = browser("aftersales")
    queue = staff.get("/parts-supply/")
    order_id = max(o["id"] for o in crm.parts_supply.orders(ADMIN))
    confirmed = staff.post(f"/parts-supply/orders/{order_id}/confirm",
                           data={"_csrf_token": csrf_token(queue.text)}, follow_redirects=False)
    shipped = staff.post(f"/parts-supply/orders/{order_id}/ship",
                         data={"_csrf_token": csrf_token(queue.text), "text": "SF77"}, follow_redirects=False)
    station_confirm = zz.post(f"/parts-supply/orders/{order_id}/confirm",
                              data={"_csrf_token": csrf_token(page.text)}, follow_redirects=False)

    assert posted.status_code == 303 and bad.status_code == 422 and "XX-9999" in bad.text
    assert queue.status_code == 200 and "配件订单队列" in queue.text
    assert confirmed.status_code == 303 and shipped.status_code == 303
    assert station_confirm.status_code == 404
    assert crm.parts_supply.order(ADMIN, order_id)["state"] == "shipped"

    bill = crm.parts_supply.bills(ADMIN)[0]  # the repair page shows its bill; billing it again is refused
    record_page = zz.get(f"/aftersales/records/{bill['record_id']}")
    again = zz.post(f"/aftersales/records/{bill['record_id']}/bill",
                    data={"_csrf_token": csrf_token(record_page.text)}, follow_redirects=False)
    assert record_page.status_code == 200 and "有偿维修收费" in record_page.text and bill["number"] in record_page.text
    assert again.status_code == 409 and "已开具收费单" in again.text


def test_a_transfer_is_booked_in_once_and_another_station_sees_nothing(browser, crm):
    staff, jn = browser("aftersales"), browser("station_jn")
    page = staff.get("/parts-supply/")
    transfer = crm.parts_supply.transfers(ADMIN)[0]

    received = staff.post(f"/parts-supply/transfers/{transfer['id']}/receive",
                       data={"_csrf_token": csrf_token(page.text)}, follow_redirects=False)
    again = staff.post(f"/parts-supply/transfers/{transfer['id']}/receive",
                    data={"_csrf_token": csrf_token(page.text)}, follow_redirects=False)
    other = jn.get("/parts-supply/")
    foreign = jn.post(f"/parts-supply/transfers/{transfer['id']}/receive",
                      data={"_csrf_token": csrf_token(other.text)}, follow_redirects=False)

    assert received.status_code == 303 and again.status_code == 409
    assert other.status_code == 200 and transfer["number"] not in other.text and "SF1400268831" not in other.text
    assert foreign.status_code == 404


def test_finance_reads_and_exports_the_service_income_report(browser, crm):
    finance = browser("finance")
    month = crm.parts_supply.this_month()

    report = finance.get(f"/parts-supply/income?month={month}")
    export = finance.get(f"/parts-supply/income/export?month={month}&format=csv")
    bad = finance.get("/parts-supply/income?month=2026-13")

    assert report.status_code == 200 and "服务收入合计" in report.text and "郑州" in report.text
    assert export.status_code == 200 and "有偿维修开单金额" in export.text
    assert bad.status_code == 422 and "YYYY-MM" in bad.text

