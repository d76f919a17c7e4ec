"""Sales forecasts over HTTP on SQLite and PostgreSQL: submit and revise before the deadline,
locked after, forecast vs the orders submitted in the month, accuracy per dealer and region,
and isolation between dealers."""

from __future__ import annotations

import datetime as dt

BEIJING = dt.timezone(dt.timedelta(hours=8))


def beijing(y, m, d, h=10):
    return dt.datetime(y, m, d, h, tzinfo=BEIJING).astimezone(dt.UTC)


def setup(w):
    a = w.dealer(username="hongda")
    b = w.dealer(username="shuntong", name="临沂顺通汽车贸易有限公司", region="华东")
    w.agreement(a)
    w.agreement(b)
    w.user("sales", username="sales_hd", regions=("华东",))
    w.user("marketing", username="mkt")
    return a, b, w.templates()


def test_a_dealer_submits_and_revises_until_the_deadline_then_it_is_locked(world):
    a, b, tpl = setup(world)

    first = world.post("hongda", "/api/v1/forecasts/", {"month": "2026-04", "lines": [
        {"product_line": "tanker", "quantity": 5}, {"product_line": "dump_truck", "quantity": 2,
                                                     "template_id": tpl["dump_truck"]}]})
    revised = world.post("hongda", "/api/v1/forecasts/", {"month": "2026-04", "lines": [
        {"product_line": "tanker", "quantity": 4}, {"product_line": "dump_truck", "quantity": 2}]})
    current_month = world.post("hongda", "/api/v1/forecasts/", {"month": "2026-03", "lines": [
        {"product_line": "tanker", "quantity": 1}]})
    wrong_template = world.post("hongda", "/api/v1/forecasts/", {"month": "2026-05", "lines": [
        {"product_line": "tanker", "quantity": 1, "template_id": tpl["dump_truck"]}]})
    world.clock.now = beijing(2026, 3, 25, 23)
    last_minute = world.post("hongda", "/api/v1/forecasts/", {"month": "2026-04", "lines": [
        {"product_line": "tanker", "quantity": 4}, {"product_line": "dump_truck", "quantity": 2}]})
    world.clock.now = beijing(2026, 3, 26, 0)
    late = world.post("hongda", "/api/v1/forecasts/", {"month": "2026-04", "lines": [
        {"product_line": "tanker", "quantity": 9}]})
    listed = world.get("hongda", "/api/v1/forecasts/", params={"month": "2026-04"}).json()["items"]

    assert first.status_code == 200, first.text
    assert (first.json()["total"], revised.json()["revisions"], revised.json()["total"]) == (7, 2, 6)
    assert first.json()["deadline"] == "2026-03-25T16:00:00Z"
    assert current_month.status_code == 422 and current_month.json()["code"] == "forecast.month_not_future"
    assert wrong_template.status_code == 422 and wrong_template.json()["code"] == "forecast.template_line_mismatch"
    assert last_minute.status_code == 200
    assert late.status_code == 409 and late.json()["code"] == "forecast.locked"
    assert [(x["total"], x["revisions"], x["locked"]) for x in listed] == [(6, 3, True)]


def test_sales_staff_submit_for_dealers_of_their_regions_only(world):
    a, b, _ = setup(world)

    foreign = world.post("sales_hd", "/api/v1/forecasts/", {"month": "2026-04", "dealer_id": a, "lines": [
        {"product_line": "tanker", "quantity": 1}]})
    own = world.post("sales_hd", "/api/v1/forecasts/", {"month": "2026-04", "dealer_id": b, "lines": [
        {"product_line": "semi_trailer", "quantity": 3}]})
    dealer_for_other = world.post("hongda", "/api/v1/forecasts/", {"month": "2026-04", "dealer_id": b, "lines": [
        {"product_line": "tanker", "quantity": 1}]})

    assert foreign.status_code == 404
    assert own.status_code == 200 and own.json()["dealer_id"] == b
    assert dealer_for_other.status_code == 404
    assert world.get("hongda", "/api/v1/forecasts/").json()["items"] == []
    assert [x["dealer_id"] for x in world.get("shuntong", "/api/v1/forecasts/").json()["items"]] == [b]


def test_the_report_compares_forecasts_with_orders_submitted_in_the_month(world):
    a, b, tpl = setup(world)
    world.post("hongda", "/api/v1/forecasts/", {"month": "2026-04", "lines": [
        {"product_line": "tanker", "quantity": 4}, {"product_line": "dump_truck", "quantity": 2}]})
    world.order("hongda", tpl["tanker"], quantity=9)  # March: not April's
    world.clock.now = beijing(2026, 4, 8)
    world.order("hongda", tpl["tanker"], quantity=2)
    world.order("hongda", tpl["tanker"], quantity=2)
    world.order("hongda", tpl["dump_truck"], quantity=5, submit=False)  # a draft is not an order yet
    world.order("shuntong", tpl["semi_trailer"], quantity=1)
    world.clock.now = beijing(2026, 5, 1, 9)
    world.order("hongda", tpl["tanker"], quantity=3)  # May

    report = world.get("mkt", "/api/v1/forecasts/report", params={"month": "2026-04"}).json()
    own = world.get("shuntong", "/api/v1/forecasts/report", params={"month": "2026-04"}).json()
    by_region = world.get("mkt", "/api/v1/forecasts/report", params={"month": "2026-04", "region": "华东"}).json()

    dealers = {d["dealer_id"]: d for d in report["dealers"]}
    hd = dealers[a]
    assert [(x["product_line"], x["forecast"], x["actual"], x["accuracy_pct"]) for x in hd["lines"]] == [
        ("dump_truck", 2, 0, 0.0), ("tanker", 4, 4, 100.0)]
    assert (hd["forecast_total"], hd["actual_total"], hd["accuracy_pct"]) == (6, 4, 66.7)
    assert (dealers[b]["submitted"], dealers[b]["actual_total"], dealers[b]["accuracy_pct"]) == (False, 1, None)
    assert report["regions"] == [{"region": "华中", "dealers": 1, "forecast_total": 6, "actual_total": 4,
                                  "accuracy_pct": 66.7, "retail_total": 0, "retail_accuracy_pct": 0.0}]
    assert report["overall"]["missing_forecasts"] == 1
    assert [d["dealer_id"] for d in own["dealers"]] == [b]
    assert [d["dealer_id"] for d in by_region["dealers"]] == [b]


def test_bad_forecast_input_is_422(world):
    setup(world)

    negative = world.post("hongda", "/api/v1/forecasts/", {"month": "2026-04", "lines": [
        {"product_line": "tanker", "quantity": -1}]})
    twice = world.post("hongda", "/api/v1/forecasts/", {"month": "2026-04", "lines": [
        {"product_line": "tanker", "quantity": 1}, {"product_line": "tanker", "quantity": 2}]})
    bad_month = world.post("hongda", "/api/v1/forecasts/", {"month": "2026-13", "lines": [
        {"product_line": "tanker", "quantity": 1}]})
    far = world.post("hongda", "/api/v1/forecasts/", {"month": "2026-12", "lines": [
        {"product_line": "tanker", "quantity": 1}]})

    assert negative.status_code == 422 and negative.json()["field"] == "lines[0].quantity"
    assert twice.status_code == 422 and twice.json()["code"] == "forecast.duplicate_line"
    assert bad_month.status_code == 422 and bad_month.json()["code"] == "forecast.month_invalid"
    assert far.status_code == 422 and far.json()["code"] == "forecast.month_too_far"
    assert world.get("hongda", "/api/v1/forecasts/").json()["items"] == []


def test_the_report_compares_forecasts_with_retail_sales_of_the_month_too(world):
    from dealercrm.domain.values import Vin

    a, _, _ = setup(world)
    vins = [Vin.build("LZZ", "1CLVB", "T", "A", f"{n:06d}").value for n in (71, 72, 73, 74)]
    csv = "vin,model_code,stocked_in_on\n" + "".join(f"{v},HTL9400GYY,2026-02-10\n" for v in vins)
    imported = world.client.post("/api/v1/stock/imports", params={"dealer_id": a}, content=csv.encode(),
                                 headers={**world.h(world.user("admin")), "content-type": "text/csv"})
    assert imported.status_code == 201, imported.text
    world.post("hongda", "/api/v1/forecasts/", {"month": "2026-04", "lines": [{"product_line": "tanker", "quantity": 4}]})

    def sell(vin, day):
        r = world.post("hongda", "/api/v1/retail-sales/", {
            "vin": vin, "customer": {"kind": "person", "name": "张三", "phone": "13900139000",
                         "id_number": "110105199003071239"},
            "price_fen": 30_000_000, "customer_receipt_no": f"R-{vin[-4:]}", "sold_at": beijing(*day).isoformat()})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    world.clock.now = beijing(2026, 4, 20)
    sell(vins[0], (2026, 3, 30))  # March: not April's
    sell(vins[1], (2026, 4, 2))
    sell(vins[2], (2026, 4, 15))
    returned = sell(vins[3], (2026, 4, 16))
    assert world.post("hongda", f"/api/v1/retail-sales/{returned}/return", {"reason": "客户退车"}).status_code == 200

    report = world.get("mkt", "/api/v1/forecasts/report", params={"month": "2026-04"}).json()
    hd = next(d for d in report["dealers"] if d["dealer_id"] == a)
    assert [(x["product_line"], x["forecast"], x["actual"], x["retail"], x["retail_accuracy_pct"])
            for x in hd["lines"]] == [("tanker", 4, 0, 2, 50.0)]
    assert (hd["retail_total"], hd["retail_accuracy_pct"], hd["accuracy_pct"]) == (2, 50.0, 0.0)
    assert (report["overall"]["retail_total"], report["regions"][0]["retail_accuracy_pct"]) == (2, 50.0)
