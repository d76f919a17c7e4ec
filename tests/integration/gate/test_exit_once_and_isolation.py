"""A vehicle leaves once (concurrent and replayed confirmations), stock-in is idempotent per VIN,
device keys reach only the kiosk, and a dealer sees nothing of another dealer — on SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from sqlalchemy import func, select

from dealercrm.adapters.db.gate_tables import gate_exits, kiosk_events, vehicle_events, vehicles
from dealercrm.application.gate import CreateGatePass
from dealercrm.application.vehicles import stock_in_vehicle
from dealercrm.domain.errors import Conflict, DomainError
from dealercrm.domain.gate import AlreadyExited
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.http.security import is_public
from tests.fakes import race


def _handed_over_pass(world, vins: list[str]) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    from dealercrm.application.gate import RegisterAuthorization

    gate, now = world.crm.gate, world.clock()
    auth = gate.register_authorization(world.a, RegisterAuthorization(
        contract_no="HT-2026-000101", vins=tuple(vins), person_name="张伟", id_number=world.PERSON_ID,
        phone="13912345678", valid_from=now, valid_to=now + dt.timedelta(days=2)))
    created = gate.create_pass(world.staff["dispatch"], CreateGatePass(auth.id, id_number=world.PERSON_ID))
    gate.approve_pass(world.staff["finance"], created.id)
    gate.hand_over(world.staff["dispatch"], created.id)
    token = gate.kiosk_find(world.device, world.PERSON_ID, str(uuid.uuid4()))["passes"][0]["qr_payload"]
    return created.id, token


def _count(world, query) -> int:  # type: ignore[no-untyped-def]
    with world.crm.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def _race(n: int, action) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    return [(o.code, o) if isinstance(o, DomainError) else ("ok", o) for o in race(n, action, catch=(DomainError,))]


def test_twenty_concurrent_exit_confirmations_record_exactly_one_exit(world):
    vins = [world.vin(1), world.vin(2)]
    _, token = _handed_over_pass(world, vins)

    results = _race(20, lambda i: world.crm.gate.kiosk_exit(world.device, token, str(uuid.uuid4())))

    outcomes = sorted(code for code, _ in results)
    assert outcomes == ["gate_pass.already_exited"] * 19 + ["ok"]
    assert all(isinstance(err, AlreadyExited) for code, err in results if code != "ok")
    assert _count(world, select(func.count()).select_from(gate_exits)) == 1
    releases = select(func.count()).select_from(vehicle_events).where(vehicle_events.c.action == "release")
    assert _count(world, releases) == 2
    assert _count(world, select(func.count()).select_from(vehicles).where(vehicles.c.state == "released")) == 2


def test_replays_of_one_event_id_get_one_identical_answer_even_when_concurrent(world):
    _, token = _handed_over_pass(world, [world.vin(3)])
    event_id = str(uuid.uuid4())

    results = _race(20, lambda i: world.crm.gate.kiosk_exit(world.device, token, event_id))
    later = world.crm.gate.kiosk_exit(world.device, token, event_id)

    assert {code for code, _ in results} == {"ok"}
    assert all(answer == later for _, answer in results)
    assert _count(world, select(func.count()).select_from(gate_exits)) == 1
    assert _count(world, select(func.count()).select_from(kiosk_events).where(
        kiosk_events.c.event_id == event_id)) == 1


def test_a_refusal_is_replayed_too(world):
    pass_id, token = _handed_over_pass(world, [world.vin(4)])
    world.crm.gate.void_pass(world.staff["dispatch"], pass_id, "车辆需返修")
    event_id = str(uuid.uuid4())

    with pytest.raises(DomainError) as first:
        world.crm.gate.kiosk_exit(world.device, token, event_id)
    with pytest.raises(DomainError) as replay:
        world.crm.gate.kiosk_exit(world.device, token, event_id)

    assert first.value.code == replay.value.code == "gate_pass.voided"
    assert type(first.value) is type(replay.value) and first.value.message == replay.value.message


def test_stock_in_is_idempotent_per_vin_and_refuses_a_conflicting_vin(world):
    new_vin = world.vin(99)
    at = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)

    def stock(**kw):  # type: ignore[no-untyped-def]
        uow = world.crm.uow(Principal.system())
        with uow:
            result = stock_in_vehicle(uow, vin=new_vin, stocked_at=at, dealer_id=world.dealer_a,
                                      erp_tracking_no=kw.pop("tracking", "LZ2026-0099"), contract_no="HT-2026-000101",
                                      **kw)
            uow.commit()
        return result

    first = stock(model_code="HZZ5250GYY")
    second = stock(configuration="5立方罐体")
    with pytest.raises(Conflict) as clash:
        stock(tracking="LZ2026-7777")

    assert (first.created, second.created, first.vehicle_id) == (True, False, second.vehicle_id)
    assert clash.value.code == "vehicle.reference_conflict"
    row = world.crm.gate.vehicle(Principal.system(), new_vin)
    assert (row["state"].value, row["erp_tracking_no"], row["configuration"]) == (
        "in_factory_stock", "LZ2026-0099", "5立方罐体")
    assert [h["action"] for h in row["history"]] == ["create"]
    assert row["stocked_at"] == at


def test_device_keys_reach_only_the_kiosk_and_user_tokens_never_reach_it(world):
    c, device = world.client, world.device_headers
    users = [world.login(u) for u in ("admin", "dispatch", "guard", "finance", "dealer1")]
    checked = 0
    for route in c.app.routes:
        for handler in getattr(route, "route_handlers", []):
            methods = sorted(handler.http_methods - {"OPTIONS", "HEAD"})
            if not methods or is_public(route.path):  # public routes take no credential at all
                continue
            path = (route.path.replace("{vin:str}", world.vin(1)).replace("{pass_no:str}", "GP-2026-000001")
                    .replace(":int}", "}"))
            path = re.sub(r"\{[a-z_]+\}", "1", path)
            for method in methods:
                if route.path.startswith("/api/v1/kiosk"):
                    for headers in users:
                        r = c.request(method, path, headers=headers, json={})
                        assert r.status_code == 403, (method, path, r.status_code)
                elif route.path.startswith("/api/"):
                    r = c.request(method, path, headers=device, json={})
                    assert r.status_code in (401, 403), (method, path, r.status_code)
                else:  # a web page: a device key is no session, so the page sends it to the login
                    r = c.request(method, path, headers=device, json={}, follow_redirects=False)
                    assert r.status_code in (401, 403) or (
                        r.status_code in (302, 303) and r.headers["location"].startswith("/login")), (
                        method, path, r.status_code)
                checked += 1
    assert checked > 30


def test_a_dealer_sees_none_of_another_dealers_vehicles_letters_or_passes(world):
    c = world.client
    a, b, dispatch, east = (world.login(u) for u in ("dealer1", "dealer2", "dispatch", "east"))
    auth_id = c.post("/api/v1/pickup-authorizations/", headers=a, json=world.letter([world.vin(1)])).json()["id"]
    pass_id = c.post("/api/v1/gate-passes/", headers=dispatch,
                     json={"authorization_id": auth_id, "id_number": world.PERSON_ID}).json()["id"]

    listed = c.get("/api/v1/vehicles/?limit=200", headers=b).json()["items"]
    assert {v["vin"] for v in listed} == {world.vin(11), world.vin(12)}
    for path in (f"/api/v1/vehicles/{world.vin(1)}", f"/api/v1/pickup-authorizations/{auth_id}",
                 f"/api/v1/gate-passes/{pass_id}"):
        assert c.get(path, headers=b).status_code == 404, path
    assert c.get("/api/v1/pickup-authorizations/", headers=b).json()["items"] == []
    assert c.get("/api/v1/gate-passes/", headers=b).json()["items"] == []
    assert c.post(f"/api/v1/pickup-authorizations/{auth_id}/revoke", headers=b,
                  json={"reason": "x"}).status_code == 404
    stolen = c.post("/api/v1/pickup-authorizations/", headers=b,
                    json=world.letter([world.vin(2)], contract_no="HT-2026-000202"))
    assert stolen.status_code == 404 and stolen.json()["code"] == "vehicle.not_found"
    assert c.get("/api/v1/vehicles/?dealer_id=%d" % world.dealer_a, headers=b).json()["items"] == []
    # regional staff see their regions only (dealer 2 is in 华东, dealer 1 in 华中)
    assert {v["dealer_id"] for v in c.get("/api/v1/vehicles/?limit=200", headers=east).json()["items"]} == {
        world.dealer_b}
    assert c.get(f"/api/v1/gate-passes/{pass_id}", headers=east).status_code == 404
    # and the owner sees its own
    assert c.get(f"/api/v1/gate-passes/{pass_id}", headers=a).json()["status"] == "pending_approval"
    assert len(c.get("/api/v1/vehicles/?limit=200", headers=a).json()["items"]) == 5


def test_vehicle_lists_page_by_keyset_without_gaps_or_repeats(world):
    c, dealer = world.client, world.login("dealer1")
    seen, cursor = [], None

    while True:
        page = c.get("/api/v1/vehicles/", headers=dealer,
                     params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [v["vin"] for v in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == [world.vin(n) for n in range(1, 6)]
