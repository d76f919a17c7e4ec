"""Parts supply over HTTP on SQLite and PostgreSQL (issue 18 §5, seed §4.3.2–3, §6.3): a station's
parts order submitted, confirmed and shipped by after-sales, received once into its stock; a
transfer out of one station's stock on shipping and into the other's on receipt; a paid repair
billed to the customer and the service-income report; another station's ids are 404."""

from __future__ import annotations

from .test_aftersales_api import Api, _repair_body, api  # noqa: F401  (parts FV-2301 45 000 / SL-0105 1 250 fen)

P = "/api/v1/parts-supply"


def post(a: Api, path: str, who: str, json: dict | None = None):
    return a.client.post(P + path, headers=a.tokens[who], json=json if json is not None else {})


def get(a: Api, path: str, who: str, **params):
    return a.client.get(P + path, headers=a.tokens[who], params=params)


def balance(a: Api, station: int, part_no: str, who: str = "staff") -> int:
    rows = a.get(f"/stations/{station}/stock-movements", who, part_no=part_no).json()["items"]
    return rows[0]["balance_after"] if rows else 0


def test_an_order_is_confirmed_shipped_and_received_into_the_station_stock_once(api):  # noqa: F811
    r = post(api, "/orders", "st1", {"station_id": api.st1, "lines": [
        {"part_no": "FV-2301", "quantity": 4}, {"part_no": "SL-0105", "quantity": 10}], "note": "月度补货"})
    assert r.status_code == 201, r.text
    order = r.json()
    early = post(api, f"/orders/{order['id']}/receive", "st1")
    by_station = post(api, f"/orders/{order['id']}/confirm", "st1")
    assert post(api, f"/orders/{order['id']}/confirm", "staff").json()["state"] == "confirmed"
    assert post(api, f"/orders/{order['id']}/ship", "staff", {"waybill": "SF1234567"}).json()["state"] == "shipped"
    queue = get(api, "/orders", "staff", state="shipped").json()

    received = post(api, f"/orders/{order['id']}/receive", "st1")
    again = post(api, f"/orders/{order['id']}/receive", "st1")

    assert early.status_code == 409 and by_station.status_code == 403
    assert [x["number"] for x in queue["items"]] == [order["number"]] and queue["next_cursor"] is None
    assert received.status_code == 200, received.text
    assert received.json()["balances"] == {"FV-2301": 4, "SL-0105": 10}
    assert again.status_code == 409 and again.json()["current_state"] == "received"
    assert (balance(api, api.st1, "FV-2301"), balance(api, api.st1, "SL-0105")) == (4, 10)
    shown = get(api, f"/orders/{order['id']}", "st1").json()
    assert shown["total_fen"] == 4 * 45_000 + 10 * 1_250 and shown["state"] == "received"
    assert get(api, f"/orders/{order['id']}", "st2").status_code == 404
    assert get(api, "/orders", "st2").json()["items"] == []
    assert post(api, "/orders", "st2", {"station_id": api.st1, "lines": [
        {"part_no": "FV-2301", "quantity": 1}]}).status_code == 404


def test_a_transfer_leaves_the_sender_on_shipping_and_enters_the_receiver_once(api):  # noqa: F811
    assert api.post("/stock/movements", "st1", {"station_id": api.st1, "part_no": "SL-0105", "kind": "receipt",
                                                "quantity": 10}).status_code in (200, 201)
    too_many = post(api, "/transfers", "st1", {"from_station_id": api.st1, "to_station_id": api.st2,
                                               "lines": [{"part_no": "SL-0105", "quantity": 11}]})

    r = post(api, "/transfers", "st1", {"from_station_id": api.st1, "to_station_id": api.st2,
                                        "lines": [{"part_no": "SL-0105", "quantity": 6}]})
    assert r.status_code == 201, r.text
    transfer = r.json()
    in_transit = (balance(api, api.st1, "SL-0105"), balance(api, api.st2, "SL-0105"))
    by_sender = post(api, f"/transfers/{transfer['id']}/receive", "st1")
    received = post(api, f"/transfers/{transfer['id']}/receive", "st2")
    again = post(api, f"/transfers/{transfer['id']}/receive", "st2")

    assert too_many.status_code == 409 and balance(api, api.st1, "SL-0105") == 4
    assert in_transit == (4, 0)
    assert by_sender.status_code == 409
    assert received.status_code == 200 and received.json()["balances"] == {"SL-0105": 6}
    assert again.status_code == 409
    assert (balance(api, api.st1, "SL-0105"), balance(api, api.st2, "SL-0105")) == (4, 6)
    assert [x["state"] for x in get(api, "/transfers", "st2").json()["items"]] == ["received"]
    assert get(api, f"/transfers/{transfer['id']}", "st1").json()["to_station_id"] == api.st2


def test_suggestions_come_from_min_max_and_the_last_90_days_usage(api):  # noqa: F811
    api.post("/stock/movements", "st1", {"station_id": api.st1, "part_no": "SL-0105", "kind": "receipt",
                                         "quantity": 40})
    api.post("/stock/movements", "st1", {"station_id": api.st1, "part_no": "SL-0105", "kind": "issue_sale",
                                         "quantity": 36})
    levels = api.client.put(f"{P}/stations/{api.st1}/levels/FV-2301", headers=api.tokens["st1"],
                            json={"min_qty": 2, "max_qty": 6})
    bad = api.client.put(f"{P}/stations/{api.st1}/levels/FV-2301", headers=api.tokens["st1"],
                         json={"min_qty": 7, "max_qty": 6})

    out = get(api, f"/stations/{api.st1}/suggestions", "st1").json()["items"]

    assert levels.status_code == 200 and bad.status_code == 422 and "max_qty" in bad.text
    # FV-2301: 0 on hand ≤ min 2 → up to max 6; SL-0105: 36 used → 12 for 30 days, 4 on hand → 8
    assert [(x["part_no"], x["quantity"], x["reason"]) for x in out] == [
        ("FV-2301", 6, "below_min"), ("SL-0105", 8, "usage_cover")]
    assert get(api, f"/stations/{api.st1}/suggestions", "st2").status_code == 404


def test_a_paid_repair_is_billed_paid_and_counted_in_the_income_report(api):  # noqa: F811
    vin = api.kit.vehicle(12, api.dealer_a)  # no warranty record: out of warranty
    rid = api.post("/requests", "staff", {"vin": vin, "customer_name": "钱师傅", "customer_phone": "13700002222",
                                          "fault_category": "tank_body", "description": "人孔盖渗漏",
                                          "province": "河南省", "city": "郑州市", "location": "中牟县"}).json()["id"]
    api.post(f"/requests/{rid}/assign", "staff", {"station_id": api.st1})
    api.post(f"/requests/{rid}/accept", "st1")
    api.post("/stock/movements", "st1", {"station_id": api.st1, "part_no": "SL-0105", "kind": "receipt",
                                         "quantity": 5})
    r = api.post(f"/requests/{rid}/repair-record", "st1",
                 _repair_body(api, [{"part_no": "SL-0105", "quantity": 3, "use": "sale"}], hours="1.5"))
    assert r.status_code == 201, r.text
    record = r.json()
    rate = api.get(f"/stations/{api.st1}", "staff").json()["labour_rate_fen"]

    issued = post(api, "/bills", "st1", {"record_id": record["id"], "customer_name": "钱师傅"})
    twice = post(api, "/bills", "st1", {"record_id": record["id"]})
    billed_again = api.post(f"/records/{record['id']}/bill", "st1")  # "bill this repair" on the record
    foreign_record = api.post(f"/records/{record['id']}/bill", "st2")
    foreign = post(api, f"/bills/{issued.json()['id']}/pay", "st2")
    paid = post(api, f"/bills/{issued.json()['id']}/pay", "st1", {"note": "微信支付"})
    income = get(api, "/income", "finance", month="2026-03").json()["items"]
    csv = api.client.get(f"{P}/income/export", headers=api.tokens["finance"], params={"month": "2026-03"})

    assert issued.status_code == 201, issued.text
    bill = get(api, f"/bills/{issued.json()['id']}", "st1").json()
    assert (bill["labour_fen"], bill["parts_fen"], bill["total_fen"]) == (150 * rate // 100, 6_000,
                                                                          150 * rate // 100 + 6_000)
    assert twice.status_code == 409 and foreign.status_code == 404 and paid.status_code == 200
    assert billed_again.status_code == 409 and billed_again.json()["code"] == "parts_supply.bill_exists"
    assert foreign_record.status_code == 404
    assert bill["state"] == "paid"
    assert [(x["station_id"], x["bills"], x["paid_fen"], x["claim_fen"]) for x in income] == [
        (api.st1, 1, bill["total_fen"], 0)]
    assert csv.status_code == 200 and "服务收入合计" in csv.text
    assert get(api, "/income", "st2", month="2026-03").json()["items"] == []
    assert get(api, "/bills", "st2").json()["items"] == []
    assert get(api, "/income", "finance", month="2026-13").status_code == 422

    in_warranty = _warranty_record(api)  # billing a repair in warranty makes the settlement claim
    unconfirmed = api.post(f"/records/{in_warranty}/bill", "st1")
    api.post(f"/records/{in_warranty}/confirm", "st1", {"customer_name": "赵师傅", "satisfaction": 5})
    claimed = api.post(f"/records/{in_warranty}/bill", "st1")
    assert unconfirmed.status_code == 409 and unconfirmed.json()["code"] == "aftersales.not_confirmed"
    assert claimed.status_code == 201 and claimed.json()["kind"] == "claim"
    assert api.get(f"/claims/{claimed.json()['id']}", "st1").json()["record_id"] == in_warranty


def _warranty_record(api: Api) -> int:
    rid = api.post("/requests", "staff", {"vin": api.vin, "customer_name": "赵师傅", "customer_phone": "13700001111",
                                          "fault_category": "tank_body", "description": "人孔盖渗漏",
                                          "province": "河南省", "city": "郑州市", "location": "中牟县"}).json()["id"]
    api.post(f"/requests/{rid}/assign", "staff", {"station_id": api.st1})
    api.post(f"/requests/{rid}/accept", "st1")
    return api.post(f"/requests/{rid}/repair-record", "st1", _repair_body(api, [], hours="1")).json()["id"]

