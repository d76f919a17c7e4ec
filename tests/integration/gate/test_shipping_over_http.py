"""Outbound shipping and the dealer's receipt over HTTP, on SQLite and PostgreSQL: shipment →
departure → receipt with a discrepancy → alarm to dispatch and the region's sales → vehicles in
the dealer's stock; overdue receipts remind the dealer once; dealers see only their own."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from dealercrm.adapters.notify.sql_outbox import notification_outbox as outbox_table


def _shipment_body(world, vins: list[str], **over) -> dict[str, object]:  # type: ignore[no-untyped-def]
    now = world.clock()
    body: dict[str, object] = {
        "vins": vins, "carrier": "郑州顺达物流有限公司", "driver_name": "刘师傅", "driver_id_number": world.OTHER_ID,
        "driver_phone": "13700001111", "truck_plate": "豫A12345挂",
        "planned_departure": now.isoformat(), "expected_arrival": (now + dt.timedelta(days=2)).isoformat(),
    }
    body.update(over)
    return body


def _messages(world, template: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with world.crm.engine.connect() as conn:
        rows = conn.execute(select(outbox_table.c.recipient, outbox_table.c.body)
                            .where(outbox_table.c.template_code == template).order_by(outbox_table.c.recipient))
        return [(r.recipient, r.body) for r in rows]


def test_shipping_path_receipt_with_a_discrepancy_alarms_and_fills_dealer_stock(world):
    c = world.client
    dealer, dispatch = world.login("dealer1"), world.login("dispatch")
    vins = [world.vin(1), world.vin(2), world.vin(3)]

    made = c.post("/api/v1/shipments/", headers=dispatch, json=_shipment_body(world, vins))
    assert made.status_code == 201, made.text
    shipment_id = made.json()["id"]
    assert c.post(f"/api/v1/shipments/{shipment_id}/depart", headers=dispatch).json()["status"] == "departed"
    assert world.policy.asked[-1] == (world.dealer_a, "HT-2026-000101", vins)
    assert {c.get(f"/api/v1/vehicles/{v}", headers=dealer).json()["state"] for v in vins} == {"in_transit"}
    in_transit = c.get("/api/v1/vehicles/?state=in_transit&region=华中", headers=dispatch).json()["items"]
    assert [v["vin"] for v in in_transit] == vins and in_transit[0]["state_label"] == "外送在途"
    assert c.get("/api/v1/vehicles/?state=in_transit&region=华东", headers=dispatch).json()["items"] == []
    assert c.get("/api/v1/vehicles/?state=flying", headers=dispatch).json()["field"] == "state"

    receipt = c.post(f"/api/v1/shipments/{shipment_id}/receipt", headers=dealer, json={
        "receiver_name": "赵库管",
        "lines": [
            {"vin": vins[0], "outcome": "received"},
            {"vin": vins[1], "outcome": "damaged", "note": "左后视镜破损", "photos": ["uploads/rc/1.jpg"]},
            {"vin": vins[2], "outcome": "received"},
        ],
    })

    assert receipt.status_code == 201, receipt.text
    detail = c.get(f"/api/v1/shipments/{shipment_id}", headers=dealer).json()
    assert detail["status"] == "delivered" and detail["receipt"]["has_discrepancy"]
    assert detail["receipt"]["discrepancies"] == [f"{vins[1]}：有损伤（左后视镜破损）"]
    assert {c.get(f"/api/v1/vehicles/{v}", headers=dealer).json()["state"] for v in vins} == {"in_dealer_stock"}
    history = c.get(f"/api/v1/vehicles/{vins[1]}", headers=dealer).json()["history"]
    assert [h["action"] for h in history] == ["create", "ship", "receive"] and history[-1]["note"] == "左后视镜破损"
    alarms = _messages(world, "shipment.receipt_discrepancy")
    assert [r for r, _ in alarms] == ["central@factory.example.cn", "dispatch@factory.example.cn"]
    assert "左后视镜破损" in alarms[0][1]
    slip = c.get(f"/api/v1/shipments/{shipment_id}/receipt/print", headers=dealer).json()
    assert slip["layout"]["text"][0] == "收货回执单" and any(vins[1] in t for t in slip["layout"]["text"])
    pdf = c.get(f"/api/v1/shipments/{shipment_id}/receipt/pdf", headers=dispatch)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    assert c.get(f"/api/v1/shipments/{shipment_id}/receipt/pdf", headers=world.login("dealer2")).status_code == 404
    again = c.post(f"/api/v1/shipments/{shipment_id}/receipt", headers=dealer,
                   json={"receiver_name": "赵库管", "lines": [{"vin": v, "outcome": "received"} for v in vins]})
    assert again.status_code == 409 and again.json()["code"] == "receipt.exists"


def test_a_clean_receipt_raises_no_alarm_and_missing_vehicles_are_marked(world):
    c = world.client
    dealer, dispatch = world.login("dealer1"), world.login("dispatch")
    first = c.post("/api/v1/shipments/", headers=dispatch, json=_shipment_body(world, [world.vin(4)])).json()["id"]
    second = c.post("/api/v1/shipments/", headers=dispatch, json=_shipment_body(world, [world.vin(5)])).json()["id"]
    for sid in (first, second):
        c.post(f"/api/v1/shipments/{sid}/depart", headers=dispatch)

    c.post(f"/api/v1/shipments/{first}/receipt", headers=dealer,
           json={"receiver_name": "赵库管", "lines": [{"vin": world.vin(4), "outcome": "received"}]})
    assert _messages(world, "shipment.receipt_discrepancy") == []
    c.post(f"/api/v1/shipments/{second}/receipt", headers=dealer, json={
        "receiver_name": "赵库管", "extra_vins": [world.vin(3)],
        "lines": [{"vin": world.vin(5), "outcome": "missing", "note": "随车未到"}]})

    assert c.get(f"/api/v1/vehicles/{world.vin(5)}", headers=dealer).json()["state"] == "missing"
    assert c.get(f"/api/v1/vehicles/{world.vin(4)}", headers=dealer).json()["state"] == "in_dealer_stock"
    receipt = c.get(f"/api/v1/shipments/{second}", headers=dealer).json()["receipt"]
    assert receipt["discrepancies"] == [f"{world.vin(5)}：未收到（随车未到）", f"{world.vin(3)}：不在发运单中（多收）"]
    assert len(_messages(world, "shipment.receipt_discrepancy")) == 2


def test_overdue_receipts_remind_the_dealer_once(world):
    c = world.client
    dealer, dispatch = world.login("dealer1"), world.login("dispatch")
    sid = c.post("/api/v1/shipments/", headers=dispatch, json=_shipment_body(world, [world.vin(1)])).json()["id"]
    c.post(f"/api/v1/shipments/{sid}/depart", headers=dispatch)
    number = c.get(f"/api/v1/shipments/{sid}", headers=dispatch).json()["shipment_no"]

    early = c.post("/api/v1/shipments/receipt-reminders", headers=dispatch).json()
    world.clock.advance(days=6)
    due = c.post("/api/v1/shipments/receipt-reminders", headers=dispatch, json={"grace_days": 3}).json()
    again = c.post("/api/v1/shipments/receipt-reminders", headers=dispatch).json()

    assert (early["reminded"], due["reminded"], again["reminded"]) == ([], [number], [])
    [(recipient, body)] = _messages(world, "shipment.receipt_reminder")
    assert recipient == "gm1@dealer1.example.cn" and number in body and "豫A12345挂" in body
    assert c.get(f"/api/v1/shipments/{sid}", headers=dealer).json()["receipt_reminded_at"] is not None


def test_shipments_are_checked_and_isolated(world):
    c = world.client
    a, b, dispatch = world.login("dealer1"), world.login("dealer2"), world.login("dispatch")

    def post(body):  # type: ignore[no-untyped-def]
        return c.post("/api/v1/shipments/", headers=dispatch, json=body)

    assert post(_shipment_body(world, [world.vin(1)], truck_plate="ABC123")).json()["field"] == "truck_plate"
    assert post(_shipment_body(world, [world.vin(1)], driver_id_number="110105199003071238")).json()["field"] == \
        "driver_id_number"
    assert post(_shipment_body(world, [world.vin(1), world.vin(11)])).json()["code"] == "shipment.mixed_dealers"
    sid = post(_shipment_body(world, [world.vin(1)])).json()["id"]
    assert post(_shipment_body(world, [world.vin(1)])).json()["code"] == "shipment.vehicle_already_planned"
    letter = c.post("/api/v1/pickup-authorizations/", headers=a, json=world.letter([world.vin(1)]))
    assert (letter.status_code, letter.json()["code"]) == (409, "shipment.vehicle_already_planned")
    c.post("/api/v1/pickup-authorizations/", headers=a, json=world.letter([world.vin(2)]))
    assert post(_shipment_body(world, [world.vin(2)])).json()["code"] == "vehicle.not_in_stock"

    assert c.get(f"/api/v1/shipments/{sid}", headers=b).status_code == 404
    assert c.get("/api/v1/shipments/", headers=b).json()["items"] == []
    c.post(f"/api/v1/shipments/{sid}/depart", headers=dispatch)
    stolen = c.post(f"/api/v1/shipments/{sid}/receipt", headers=b,
                    json={"receiver_name": "x", "lines": [{"vin": world.vin(1), "outcome": "received"}]})
    assert stolen.status_code == 404
    assert c.get(f"/api/v1/shipments/{sid}/receipt/print", headers=b).status_code == 404
    assert c.get(f"/api/v1/vehicles/{world.vin(1)}", headers=a).json()["state"] == "in_transit"
    assert c.post(f"/api/v1/shipments/{sid}/cancel", headers=dispatch,
                  json={"reason": "x"}).json()["current_state"] == "departed"
