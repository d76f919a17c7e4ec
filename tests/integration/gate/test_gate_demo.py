"""The demo leaves a pickup the kiosk demo can print: the simulator's demo card finds an
approved, handed-over pass whose QR verifies and lets the vehicles out."""

from __future__ import annotations

import uuid

from litestar.testing import TestClient

import dealercrm
from dealercrm.adapters.devices.sim import DEMO_CARD
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.demo import load_demo
from dealercrm.entrypoints.http.app import create_app


def test_the_demo_card_prints_a_pass_that_lets_its_vehicles_out(sqlite_url):
    settings = load_settings({}, database_url=sqlite_url, log_level="WARNING", jwt_secret="d" * 48)
    crm = dealercrm.bootstrap(settings)
    logins = load_demo(crm, dealers=9)
    key = next(label.split("X-Device-Key: ")[1] for _, _, label in logins if "X-Device-Key" in label)
    kiosk = {"X-Device-Key": key}

    with TestClient(create_app(settings, container=crm)) as c:
        found = c.post("/api/v1/kiosk/passes/lookup", headers=kiosk,
                       json={"event_id": str(uuid.uuid4()), "id_number": DEMO_CARD.id_number}).json()
        [slip] = [p for p in found["passes"] if p["printable"]]
        exit_ = c.post("/api/v1/kiosk/exits", headers=kiosk,
                       json={"event_id": str(uuid.uuid4()), "qr_payload": slip["qr_payload"]})

    assert slip["person_name"] == DEMO_CARD.name and "出门证" in slip["layout"]["text"]
    assert exit_.status_code == 200, exit_.text
    stock = crm.gate.list_vehicles(Principal.system(), state="in_factory_stock", limit=500)
    assert len(stock) >= 5 and all(v["contract_no"] and v["erp_tracking_no"] for v in stock)
    assert load_demo(crm, dealers=9) == []  # idempotent
