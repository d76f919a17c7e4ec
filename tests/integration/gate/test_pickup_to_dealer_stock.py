"""自提 into the dealer's stock and on to the warranty (issue 18 §6, seed 3.7 item 2), on SQLite
and PostgreSQL: a vehicle the dealer's own driver takes out of the gate is on the road (released)
until the dealer's receipt moves it into its stock, with the same discrepancy alarm as a
shipment's receipt; then it can be sold, and the confirmed sale starts its warranty. Another
dealer's pass is 404; a second receipt, or one before the exit, is 409."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from dealercrm.adapters.notify.sql_outbox import notification_outbox as outbox_table
from dealercrm.application import aftersales as af
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import beijing_date

from .test_dealer_stock_over_http import _pay, _sale_body, _stock

AFTERSALES = Principal(None, "shouhou", Role.AFTER_SALES)


def _pass(world, vins: list[str]) -> int:  # type: ignore[no-untyped-def]
    c = world.client
    dealer, dispatch, finance = (world.login(u) for u in ("dealer1", "dispatch", "finance"))
    auth_id = c.post("/api/v1/pickup-authorizations/", headers=dealer, json=world.letter(vins)).json()["id"]
    looked_up = c.post("/api/v1/kiosk/passes/lookup", headers=world.device_headers,
                       json={"event_id": str(uuid.uuid4()), "id_number": world.PERSON_ID})  # the ID card is read
    assert looked_up.status_code == 200, looked_up.text
    made = c.post("/api/v1/gate-passes/", headers=dispatch, json={"authorization_id": auth_id})
    assert made.status_code == 201, made.text
    pass_id = made.json()["id"]
    assert c.post(f"/api/v1/gate-passes/{pass_id}/approve", headers=finance).status_code == 200
    assert c.post(f"/api/v1/gate-passes/{pass_id}/handover", headers=dispatch).status_code == 200
    return pass_id


def test_a_self_picked_up_vehicle_enters_dealer_stock_by_receipt_and_its_sale_starts_the_warranty(world):
    c = world.client
    dealer, other, guard = world.login("dealer1"), world.login("dealer2"), world.login("guard")
    world.crm.aftersales.put_policy(AFTERSALES, af.PolicyIn("tanker", 24, 200_000))
    vins = [world.vin(1), world.vin(2)]
    pass_id = _pass(world, vins)
    body = {"receiver_name": "赵库管", "lines": [{"vin": vins[0], "outcome": "received"},
                                                 {"vin": vins[1], "outcome": "damaged", "note": "右侧护栏变形"}]}

    early = c.post(f"/api/v1/gate-passes/{pass_id}/receipt", headers=dealer, json=body)
    assert c.post(f"/api/v1/gate-passes/{pass_id}/exit", headers=guard).status_code == 200
    on_road = [c.get(f"/api/v1/vehicles/{v}", headers=dealer).json()["state"] for v in vins]
    foreign = c.post(f"/api/v1/gate-passes/{pass_id}/receipt", headers=other, json=body)
    receipt = c.post(f"/api/v1/gate-passes/{pass_id}/receipt", headers=dealer, json=body)
    again = c.post(f"/api/v1/gate-passes/{pass_id}/receipt", headers=dealer, json=body)

    assert (early.status_code, early.json()["code"]) == (409, "pickup.not_exited")
    assert on_road == ["released", "released"]
    assert foreign.status_code == 404
    assert receipt.status_code == 201, receipt.text
    assert (again.status_code, again.json()["code"]) == (409, "receipt.exists")
    assert [v["vin"] for v in _stock(world, dealer, where="dealer")] == vins
    history = c.get(f"/api/v1/vehicles/{vins[0]}", headers=dealer).json()["history"]
    assert [h["action"] for h in history] == ["create", "authorize_pickup", "release", "receive"]
    with world.crm.engine.connect() as conn:
        alarms = conn.execute(select(outbox_table.c.recipient, outbox_table.c.body)
                              .where(outbox_table.c.template_code == "pickup.receipt_discrepancy")).all()
    assert {r[0] for r in alarms} == {"dispatch@factory.example.cn", "central@factory.example.cn"}
    assert "右侧护栏变形" in alarms[0][1]

    sale_id = c.post("/api/v1/retail-sales/", headers=dealer, json=_sale_body(vins[0])).json()["id"]
    paid = _pay(c, dealer, sale_id, "pay-self-0001", amount_fen=38_000_000)

    assert paid.json()["status"] == "confirmed"
    warranty = world.crm.aftersales.check_warranty(AFTERSALES, vins[0], None)["record"]
    assert (warranty["starts_on"], warranty["customer_name"]) == (beijing_date(world.clock()), "李强")


def test_a_vehicle_the_dealer_did_not_receive_is_marked_missing_and_unanswered_vehicles_are_refused(world):
    c, dealer, guard = world.client, world.login("dealer1"), world.login("guard")
    vins = [world.vin(3), world.vin(4)]
    pass_id = _pass(world, vins)
    c.post(f"/api/v1/gate-passes/{pass_id}/exit", headers=guard)

    partial = c.post(f"/api/v1/gate-passes/{pass_id}/receipt", headers=dealer,
                     json={"receiver_name": "赵库管", "lines": [{"vin": vins[0], "outcome": "received"}]})
    done = c.post(f"/api/v1/gate-passes/{pass_id}/receipt", headers=dealer, json={
        "receiver_name": "赵库管", "lines": [{"vin": vins[0], "outcome": "received"},
                                             {"vin": vins[1], "outcome": "missing", "note": "司机未送达"}]})

    assert (partial.status_code, partial.json()["code"], partial.json()["field"]) == (
        422, "receipt.vin_unanswered", "lines")
    assert done.status_code == 201, done.text
    assert c.get(f"/api/v1/vehicles/{vins[1]}", headers=dealer).json()["state"] == "missing"
