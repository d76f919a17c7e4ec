"""Customer-supplied chassis and parts over HTTP on SQLite and PostgreSQL: receive with serial
and photo, issue, return, the balancing ledger, refusals that change nothing, and who sees what."""

import datetime as dt

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select

import dealercrm
from dealercrm.adapters.db.orders_tables import order_events
from dealercrm.adapters.db.supplied_parts_tables import supplied_part_movements
from dealercrm.application.identity import CreateUser
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal
from tests.apps import app_for
from tests.integration.orders.test_orders_api import PASSWORD, SECRET, STD_FUEL, _dealer, assert_problem, login

SYSTEM = Principal.system()
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 300
BASE = "/api/v1/orders/{}/supplied-parts"


@pytest.fixture
def api(db_url, tmp_path):
    s = load_settings({}, database_url=db_url, jwt_secret=SECRET, log_level="WARNING", principal_cache_seconds=0,
                      login_rate_per_minute=1000, photo_dir=str(tmp_path / "photos"))
    crm = dealercrm.bootstrap(s)
    client = TestClient(app_for(crm, s))
    with client:
        for name, role, regions in (("admin", "admin", ()), ("prod", "production", ()),
                                    ("store", "procurement", ()), ("sales_huadong", "sales", ("华东",)),
                                    ("finance", "finance", ())):
            crm.identity.create_user(SYSTEM, CreateUser(name, name, role, PASSWORD, regions=regions))
        hongda = _dealer(crm, 1, "华中", ["tanker"], "hongda")
        _dealer(crm, 2, "华东", ["tanker"], "shuntong")
        from dealercrm.application.catalog import CreateTemplate
        from dealercrm.entrypoints.demo_orders import FUEL_TANKER

        tpl = crm.orders.create_template(SYSTEM, CreateTemplate("HTL9400GYY", "tanker", FUEL_TANKER, True)).id
        dealer = login(client, "hongda")
        body = {"template_id": tpl, "options": STD_FUEL, "quantity": 1,
                "requested_delivery_date": (dt.date.today() + dt.timedelta(days=60)).isoformat(),
                "delivery_method": "self_pickup",
                "supplied_parts": [{"kind": "chassis", "description": "东风天龙 6×4 底盘"},
                                   {"kind": "part", "description": "米其林 11R22.5 轮胎", "quantity": 12}]}
        r = client.post("/api/v1/orders/", json=body, headers=dealer, params={"submit": "true"})
        assert r.status_code == 201, r.text
        order_id = r.json()["id"]
        yield client, crm, order_id, hongda


def advance(crm, order_id, *steps):
    with crm.uow(SYSTEM) as uow:
        order = uow.orders.get(order_id)
        now = dt.datetime.now(dt.UTC)
        for step in steps:
            if step == "approve":
                order.review_passed(now)
            elif step == "release":
                order.contract_issued(f"HT-{order_id}", now)
                order.contract_accepted(now)
                order.finance_approved(now)
                order.erp_released(f"JH{order_id:06d}", now)
        uow.commit()


def upload(client, headers, order_id, data=JPEG, content_type="image/jpeg"):
    return client.post(BASE.format(order_id) + "/photos", headers=headers,
                       files={"file": ("photo.jpg", data, content_type)})


def movements(crm):
    with crm.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(supplied_part_movements)).scalar_one()


def test_the_store_receives_production_issues_and_returns_and_the_ledger_balances(api):
    client, crm, order_id, _ = api
    store, prod, dealer = login(client, "store"), login(client, "prod"), login(client, "hongda")
    advance(crm, order_id, "approve")

    before = client.get(BASE.format(order_id), headers=dealer).json()
    photo = upload(client, store, order_id)
    chassis = client.post(BASE.format(order_id) + "/1/receive", headers=store,
                          json={"serial": "lzzab12345x000001", "location": "2号库", "photo_sha256": photo.json()["sha256"]})
    tyres = client.post(BASE.format(order_id) + "/2/receive", headers=store, json={"quantity": 12, "location": "A-3"})
    too_early = client.post(BASE.format(order_id) + "/2/issue", headers=prod, json={"quantity": 8})
    advance(crm, order_id, "release")
    issued = client.post(BASE.format(order_id) + "/2/issue", headers=prod, json={"quantity": 8})
    back = client.post(BASE.format(order_id) + "/2/return-to-store", headers=prod, json={"quantity": 2})
    handed = client.post(BASE.format(order_id) + "/2/return-to-customer", headers=store, json={"quantity": 1})
    ledger = client.get(BASE.format(order_id), headers=dealer).json()
    timeline = client.get(f"/api/v1/orders/{order_id}/timeline", headers=dealer).json()["items"]
    image = client.get(BASE.format(order_id) + f"/photos/{photo.json()['sha256']}", headers=dealer)

    assert before["version"] is None and [i["expected"] for i in before["items"]] == [1, 12]
    assert photo.status_code == 201 and photo.json()["content_type"] == "image/jpeg"
    assert chassis.status_code == 200, chassis.text
    assert chassis.json()["balance"]["serial"] == "LZZAB12345X000001"
    assert tyres.json()["balance"]["in_store"] == 12
    assert_problem(too_early, 409, "supplied.order_state")
    assert issued.json()["balance"]["in_production"] == 8
    assert back.json()["balance"] == {**back.json()["balance"], "in_store": 6, "in_production": 6}
    assert handed.status_code == 200
    assert ledger["balanced"] and ledger["all_received"]
    assert ledger["totals"] == {"expected": 13, "received": 13, "in_store": 6, "in_production": 6,
                                "returned_to_customer": 1}
    assert [m["movement"] for m in ledger["movements"]] == ["receive", "receive", "issue", "return_to_store",
                                                           "return_to_customer"]
    assert ledger["movements"][0]["by_name"] == "store" and ledger["movements"][0]["location"] == "2号库"
    kinds = [e["kind"] for e in timeline if e["kind"].startswith("supplied_")]
    assert kinds == ["supplied_receive", "supplied_receive", "supplied_issue", "supplied_return_to_store",
                     "supplied_return_to_customer"]
    assert image.status_code == 200 and image.content == JPEG and image.headers["content-type"] == "image/jpeg"


def test_over_issue_and_over_return_are_409_with_the_balance_and_change_nothing(api):
    client, crm, order_id, _ = api
    store, prod = login(client, "store"), login(client, "prod")
    advance(crm, order_id, "approve", "release")
    client.post(BASE.format(order_id) + "/2/receive", headers=store, json={"quantity": 4})
    version = client.get(BASE.format(order_id), headers=store).json()["version"]
    count = movements(crm)

    over_issue = client.post(BASE.format(order_id) + "/2/issue", headers=prod, json={"quantity": 5})
    over_return = client.post(BASE.format(order_id) + "/2/return-to-store", headers=prod, json={"quantity": 1})
    over_receipt = client.post(BASE.format(order_id) + "/2/receive", headers=store, json={"quantity": 9})
    after = client.get(BASE.format(order_id), headers=store).json()

    p = assert_problem(over_issue, 409, "supplied.not_in_store")
    assert (p["available"], p["requested"]) == (4, 5)
    assert p["balance"]["in_store"] == 4 and p["balance"]["received"] == 4
    p = assert_problem(over_return, 409, "supplied.not_in_production")
    assert p["balance"]["in_production"] == 0
    assert_problem(over_receipt, 409, "supplied.over_receipt")
    assert movements(crm) == count and after["version"] == version and after["balanced"]


def test_a_stale_ledger_version_is_refused_so_a_retried_post_moves_once(api):
    client, crm, order_id, _ = api
    store = login(client, "store")
    advance(crm, order_id, "approve")
    client.post(BASE.format(order_id) + "/2/receive", headers=store, json={"quantity": 2})
    version = client.get(BASE.format(order_id), headers=store).json()["version"]

    first = client.post(BASE.format(order_id) + "/2/receive", headers=store,
                        json={"quantity": 3, "ledger_version": version})
    retry = client.post(BASE.format(order_id) + "/2/receive", headers=store,
                        json={"quantity": 3, "ledger_version": version})

    assert first.status_code == 200 and first.json()["ledger_version"] > version
    p = assert_problem(retry, 409, "supplied.stale_version")
    assert p["current_version"] == first.json()["ledger_version"]
    assert client.get(BASE.format(order_id), headers=store).json()["totals"]["received"] == 5


def test_a_chassis_needs_its_serial_and_a_photo_of_this_order(api):
    client, crm, order_id, _ = api
    store = login(client, "store")
    advance(crm, order_id, "approve")
    unknown = "ab" * 32

    no_serial = client.post(BASE.format(order_id) + "/1/receive", headers=store, json={"photo_sha256": unknown})
    no_photo = client.post(BASE.format(order_id) + "/1/receive", headers=store, json={"serial": "LZZ1"})
    foreign_photo = client.post(BASE.format(order_id) + "/1/receive", headers=store,
                                json={"serial": "LZZ1", "photo_sha256": unknown})

    assert_problem(no_serial, 422, "supplied.serial_required", field="serial")
    assert_problem(no_photo, 422, "supplied.photo_required", field="photo_sha256")
    assert_problem(foreign_photo, 422, "supplied.photo_unknown", field="photo_sha256")
    assert movements(crm) == 0


def test_photo_uploads_are_checked_by_content_and_size_and_are_idempotent(api):
    client, crm, order_id, _ = api
    store = login(client, "store")

    not_an_image = upload(client, store, order_id, b"%PDF-1.7 hello", "image/jpeg")
    lying = upload(client, store, order_id, PNG, "image/jpeg")
    empty = upload(client, store, order_id, b"", "image/png")
    huge = upload(client, store, order_id, JPEG + b"\x00" * (5 * 1024 * 1024), "image/jpeg")
    no_file = client.post(BASE.format(order_id) + "/photos", headers=store, json={"data": "abc"})
    first = upload(client, store, order_id, PNG, "image/png")
    again = upload(client, store, order_id, PNG, "image/png")

    assert_problem(not_an_image, 422, "supplied.photo_type", field="file")
    assert_problem(lying, 422, "supplied.photo_type_mismatch")
    assert_problem(empty, 422)
    assert huge.status_code in (413, 422), huge.text
    assert_problem(no_file, 422, "supplied.photo_missing")
    assert first.status_code == 201 and again.json() == first.json()
    with crm.engine.connect() as conn:
        from dealercrm.adapters.db.supplied_parts_tables import supplied_part_photos

        assert conn.execute(select(func.count()).select_from(supplied_part_photos)).scalar_one() == 1


def test_who_may_read_and_write_a_ledger(api):
    client, crm, order_id, _ = api
    advance(crm, order_id, "approve")
    other_dealer, other_sales = login(client, "shuntong"), login(client, "sales_huadong")
    dealer, finance = login(client, "hongda"), login(client, "finance")
    store = login(client, "store")
    sha = upload(client, store, order_id).json()["sha256"]

    assert_problem(client.get(BASE.format(order_id), headers=other_dealer), 404)
    assert_problem(client.get(BASE.format(order_id) + f"/photos/{sha}", headers=other_dealer), 404)
    assert_problem(client.get(BASE.format(order_id), headers=other_sales), 404)
    assert_problem(client.get(BASE.format(999999), headers=store), 404)
    assert_problem(client.post(BASE.format(order_id) + "/2/receive", headers=dealer, json={"quantity": 1}), 403)
    assert_problem(client.post(BASE.format(order_id) + "/2/receive", headers=finance, json={"quantity": 1}), 403)
    assert_problem(upload(client, dealer, order_id), 403)
    assert client.get(BASE.format(order_id), headers=finance).status_code == 200
    assert_problem(client.post(BASE.format(order_id) + "/9/receive", headers=store, json={"quantity": 1}), 404,
                   "supplied.item_not_found")
    assert_problem(client.post(BASE.format(order_id) + "/2/receive", headers=store,
                               json={"quantity": 1, "price": 5}), 422, field="price")
    assert_problem(client.post(BASE.format(order_id) + "/2/receive", headers=store, json={"quantity": 0}), 422)
    assert movements(crm) == 0


def test_a_draft_order_takes_no_goods_and_each_movement_leaves_one_timeline_entry(api):
    client, crm, order_id, _ = api
    store = login(client, "store")
    with crm.uow(SYSTEM) as uow:
        uow.orders.get(order_id).withdraw(dt.datetime.now(dt.UTC), None)
        uow.commit()

    refused = client.post(BASE.format(order_id) + "/2/receive", headers=store, json={"quantity": 1})

    assert_problem(refused, 409, "supplied.order_state")
    with crm.engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(order_events)
                         .where(order_events.c.kind.like("supplied_%"))).scalar_one()
    assert n == 0 and movements(crm) == 0
