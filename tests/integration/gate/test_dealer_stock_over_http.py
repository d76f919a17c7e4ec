"""Dealer stock over HTTP, on SQLite and PostgreSQL: shipment → receipt with a discrepancy →
alarm → dealer stock updated → retail sale out (unconfirmed until paid in full) → payments →
confirmed; returns and exchanges back into stock; illegal moves answer 409 with the current
state; a dealer sees none of another dealer's stock, sales or receipts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from dealercrm.adapters.notify.sql_outbox import notification_outbox as outbox_table
from dealercrm.domain.values import Uscc

PERSON = "110105199003071239"
COMPANY_USCC = "91410100MA44L0TQ0" + Uscc.check_char("91410100MA44L0TQ0")


def _ship_and_receive(world, vins: list[str], lines: list[dict[str, object]] | None = None) -> int:  # type: ignore[no-untyped-def]
    c, dispatch, dealer = world.client, world.login("dispatch"), world.login("dealer1")
    now = world.clock()
    made = c.post("/api/v1/shipments/", headers=dispatch, json={
        "vins": vins, "carrier": "郑州顺达物流有限公司", "driver_name": "刘师傅", "driver_id_number": world.OTHER_ID,
        "driver_phone": "13700001111", "truck_plate": "豫A12345挂", "planned_departure": now.isoformat(),
        "expected_arrival": (now + dt.timedelta(days=2)).isoformat()})
    assert made.status_code == 201, made.text
    sid = made.json()["id"]
    assert c.post(f"/api/v1/shipments/{sid}/depart", headers=dispatch).status_code == 200
    receipt = c.post(f"/api/v1/shipments/{sid}/receipt", headers=dealer, json={
        "receiver_name": "赵库管", "lines": lines or [{"vin": v, "outcome": "received"} for v in vins]})
    assert receipt.status_code == 201, receipt.text
    return sid


def _sale_body(vin: str, **over: object) -> dict[str, object]:
    body: dict[str, object] = {
        "vin": vin, "price_fen": 38_000_000, "customer_receipt_no": "FP-2026-0001",
        "customer": {"kind": "person", "name": "李强", "phone": "13911112222", "id_number": PERSON}}
    body.update(over)
    return body


def _stock(world, headers, **params) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    r = world.client.get("/api/v1/stock/vehicles", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]



def _pay(c, headers, sale_id: int, key: str, **body):  # type: ignore[no-untyped-def]
    return c.post(f"/api/v1/retail-sales/{sale_id}/payments", headers={**headers, "Idempotency-Key": key}, json=body)

def test_shipping_path_ends_in_dealer_stock_and_a_retail_sale_takes_the_vehicle_out(world):
    c = world.client
    dealer, dispatch = world.login("dealer1"), world.login("dispatch")
    vins = [world.vin(1), world.vin(2), world.vin(3)]
    factory = _stock(world, dispatch, where="factory", region="华中")
    assert {v["vin"] for v in factory} >= set(vins) and factory[0]["status_words"][0] == "已入库待提"

    _ship_and_receive(world, vins, [
        {"vin": vins[0], "outcome": "received"},
        {"vin": vins[1], "outcome": "damaged", "note": "左后视镜破损"},
        {"vin": vins[2], "outcome": "received"}])

    with world.crm.engine.connect() as conn:
        alarms = conn.execute(select(outbox_table.c.recipient)
                              .where(outbox_table.c.template_code == "shipment.receipt_discrepancy")).all()
    assert len(alarms) == 2
    in_stock = _stock(world, dealer, where="dealer")
    assert [v["vin"] for v in in_stock] == vins
    first = in_stock[0]
    assert first["state_label"] == "经销商在库（未确认销售）" and first["invoice_status_label"] == "未开票"
    assert first["contract_no"] == "HT-2026-000101" and first["region"] == "华中"
    assert first["ageing_band"] == "green" and first["ageing_colour"] and first["days_in_stock"] == 0
    assert first["stock_in_at"] is not None

    sold = c.post("/api/v1/retail-sales/", headers=dealer, json=_sale_body(vins[0]))

    assert sold.status_code == 201, sold.text
    sale_id = sold.json()["id"]
    assert [v["vin"] for v in _stock(world, dealer, where="dealer")] == vins[1:]
    sold_row = _stock(world, dealer, state="sold")[0]
    assert sold_row["vin"] == vins[0] and sold_row["sale_status_label"] == "未确认销售"
    detail = c.get(f"/api/v1/retail-sales/{sale_id}", headers=dealer).json()
    assert detail["status"] == "unconfirmed" and detail["customer_id_masked"].startswith("1101")
    assert PERSON not in str(detail) and detail["customer_receipt_no"] == "FP-2026-0001"
    history = c.get(f"/api/v1/vehicles/{vins[0]}", headers=dealer).json()["history"]
    assert [h["action"] for h in history] == ["create", "ship", "receive", "sell"]
    assert history[-1]["reference"] == detail["sale_no"]

    part = _pay(c, dealer, sale_id, "pay-part-0001", amount_fen=30_000_000, reference="POS-1")
    assert part.status_code == 200, part.text
    assert (part.json()["status"], part.json()["status_label"], part.json()["open_fen"]) == \
        ("unconfirmed", "未确认销售", 8_000_000)
    retried = _pay(c, dealer, sale_id, "pay-part-0001", amount_fen=30_000_000, reference="POS-1")
    assert retried.json() == part.json()  # a retry (lost answer) gets the first answer and books nothing
    other = _pay(c, dealer, sale_id, "pay-part-0001", amount_fen=1_000)
    assert (other.status_code, other.json()["code"], other.json()["field"]) == \
        (422, "idempotency.key_reused", "Idempotency-Key")
    keyless = c.post(f"/api/v1/retail-sales/{sale_id}/payments", headers=dealer, json={"amount_fen": 1_000})
    assert (keyless.status_code, keyless.json()["code"], keyless.json()["field"]) == \
        (422, "idempotency.key_required", "Idempotency-Key")
    over = _pay(c, dealer, sale_id, "pay-over-0001", amount_fen=8_000_001)
    assert (over.status_code, over.json()["code"]) == (409, "sale.overpayment")
    dup = _pay(c, dealer, sale_id, "pay-dup-00001", amount_fen=1_000, reference="POS-1")
    assert (dup.status_code, dup.json()["code"]) == (409, "sale.payment_duplicate")
    full = _pay(c, dealer, sale_id, "pay-full-0001", amount_fen=8_000_000, reference="POS-2").json()
    assert (full["status"], full["status_label"], full["open_fen"]) == ("confirmed", "已确认销售", 0)
    more = _pay(c, dealer, sale_id, "pay-more-0001", amount_fen=100)
    assert more.status_code == 409 and more.json()["current_state"] == "confirmed"
    again = c.post("/api/v1/retail-sales/", headers=dealer, json=_sale_body(vins[0]))
    assert again.status_code == 409 and again.json()["current_state"] == "sold"
    assert [p["seq"] for p in c.get(f"/api/v1/retail-sales/{sale_id}", headers=dealer).json()["payments"]] == [1, 2]


def test_returns_and_exchanges_put_vehicles_back_into_stock(world):
    c = world.client
    dealer = world.login("dealer1")
    vins = [world.vin(1), world.vin(2)]
    _ship_and_receive(world, vins)
    company = {"kind": "company", "name": "郑州运输有限公司", "phone": "0371-66668888", "uscc": COMPANY_USCC}
    sale_id = c.post("/api/v1/retail-sales/", headers=dealer,
                     json=_sale_body(vins[0], customer=company, price_fen=20_000_000)).json()["id"]
    _pay(c, dealer, sale_id, "pay-swap-0001", amount_fen=5_000_000)

    swapped = c.post(f"/api/v1/retail-sales/{sale_id}/exchange", headers=dealer, json={
        "new_vin": vins[1], "reason": "客户改选另一台", "customer_receipt_no": "FP-2026-0002"})

    assert swapped.status_code == 201, swapped.text
    new = c.get(f"/api/v1/retail-sales/{swapped.json()['id']}", headers=dealer).json()
    assert (new["vin"], new["paid_fen"], new["replaces_sale_id"], new["customer_uscc"]) == \
        (vins[1], 5_000_000, sale_id, COMPANY_USCC)
    assert c.get(f"/api/v1/retail-sales/{sale_id}", headers=dealer).json()["status_label"] == "已换车"
    assert [v["vin"] for v in _stock(world, dealer, where="dealer")] == [vins[0]]

    back = c.post(f"/api/v1/retail-sales/{new['id']}/return", headers=dealer, json={"reason": "客户退车"})

    assert back.json()["status"] == "returned" and back.json()["vehicle_state"] == "in_dealer_stock"
    assert [v["vin"] for v in _stock(world, dealer, where="dealer")] == vins
    twice = c.post(f"/api/v1/retail-sales/{new['id']}/return", headers=dealer, json={"reason": "再退"})
    assert twice.status_code == 409 and twice.json()["current_state"] == "returned"
    history = [h["action"] for h in c.get(f"/api/v1/vehicles/{vins[1]}", headers=dealer).json()["history"]]
    assert history[-2:] == ["sell", "take_back_from_customer"]


def test_bad_sales_are_refused_with_the_field_or_the_current_state(world):
    c = world.client
    dealer = world.login("dealer1")
    _ship_and_receive(world, [world.vin(1)])

    def sell(**over):  # type: ignore[no-untyped-def]
        return c.post("/api/v1/retail-sales/", headers=dealer, json=_sale_body(world.vin(1), **over))

    assert sell(customer={"kind": "person", "name": "李强", "phone": "13911112222",
                          "id_number": "110105199003071238"}).json()["field"] == "customer.id_number"
    assert sell(customer={"kind": "person", "name": "李强", "phone": "123"}).json()["field"] == "customer.phone"
    assert sell(customer={"kind": "robot", "name": "x", "phone": "13911112222"}).json()["field"] == "customer.kind"
    assert sell(price_fen=0).status_code == 422
    assert sell(status="confirmed").json()["code"] == "request.unknown_field"
    in_factory = c.post("/api/v1/retail-sales/", headers=dealer, json=_sale_body(world.vin(4)))
    assert in_factory.status_code == 409 and in_factory.json()["current_state"] == "in_factory_stock"
    assert c.get("/api/v1/retail-sales/", headers=dealer).json()["items"] == []


def test_a_dealer_sees_none_of_another_dealers_stock_sales_or_receipts(world):
    c = world.client
    a, b, central = world.login("dealer1"), world.login("dealer2"), world.login("central")
    sid = _ship_and_receive(world, [world.vin(1), world.vin(2)])
    sale_id = c.post("/api/v1/retail-sales/", headers=a, json=_sale_body(world.vin(1))).json()["id"]

    assert _stock(world, b) == [] or {v["dealer_id"] for v in _stock(world, b)} == {world.dealer_b}
    assert all(v["dealer_id"] == world.dealer_b for v in _stock(world, b, where="factory"))
    assert c.get("/api/v1/stock/vehicles", headers=b, params={"dealer_id": world.dealer_a}).status_code == 404
    assert c.get("/api/v1/stock/vehicles/export", headers=b,
                 params={"dealer_id": world.dealer_a}).status_code == 404
    exported = c.get("/api/v1/stock/vehicles/export", headers=b, params={"format": "csv"}).content.decode("utf-8-sig")
    assert world.vin(1) not in exported and world.vin(11) in exported
    assert c.get(f"/api/v1/retail-sales/{sale_id}", headers=b).status_code == 404
    assert c.get("/api/v1/retail-sales/", headers=b).json()["items"] == []
    assert c.get("/api/v1/retail-sales/", headers=b, params={"dealer_id": world.dealer_a}).status_code == 404
    assert _pay(c, b, sale_id, "pay-foreign-01", amount_fen=1).status_code == 404
    assert c.post(f"/api/v1/retail-sales/{sale_id}/return", headers=b, json={"reason": "x"}).status_code == 404
    stolen = c.post("/api/v1/retail-sales/", headers=b, json=_sale_body(world.vin(2)))
    assert stolen.status_code == 404
    assert c.get(f"/api/v1/shipments/{sid}", headers=b).status_code == 404
    assert c.get(f"/api/v1/shipments/{sid}/receipt/print", headers=b).status_code == 404
    assert c.get("/api/v1/stock/summary", headers=b).json()["items"] == [] or \
        {r["dealer_id"] for r in c.get("/api/v1/stock/summary", headers=b).json()["items"]} == {world.dealer_b}
    stats = c.get("/api/v1/stock/statistics", headers=b, params={
        "period": "day", "date_from": (world.clock() - dt.timedelta(days=1)).date().isoformat(),
        "date_to": (world.clock() + dt.timedelta(days=1)).date().isoformat()}).json()
    assert stats["totals"]["received"] == 0 and stats["totals"]["sold"] == 0 and stats["totals"]["stocked"] == 2
    # regional sales staff of 华中 see dealer 1, not dealer 2
    assert {v["dealer_id"] for v in _stock(world, central)} == {world.dealer_a}
    assert c.get(f"/api/v1/retail-sales/{sale_id}", headers=central).status_code == 200
