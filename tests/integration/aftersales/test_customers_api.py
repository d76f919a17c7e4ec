"""End customers and service contracts over HTTP on SQLite and PostgreSQL (issue 18 §4, seed
§4.2.1 1)–2)): a request on a VIN whose contract has expired or does not cover the fault is
recorded with a flag (never refused), the customer 360 view, another dealer's customer is 404,
and bad contracts are 422 naming the field."""

from __future__ import annotations

import pytest

from .test_aftersales_api import Api, api  # noqa: F401  (the fixture: two dealers, two stations, a VIN in warranty)

C = "/api/v1"


def post(a: Api, path: str, who: str, json: dict):
    return a.client.post(C + path, headers=a.tokens[who], json=json)


def get(a: Api, path: str, who: str, **params):
    return a.client.get(C + path, headers=a.tokens[who], params=params)


def _request(a: Api, fault: str = "tank_body") -> dict:
    r = a.post("/requests", "staff", {"vin": a.vin, "customer_name": "赵师傅", "customer_phone": "13700001111",
                                      "fault_category": fault, "description": "卸油口滴漏", "province": "河南省",
                                      "city": "郑州市", "location": "中牟县物流园"})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def owned(api):  # noqa: F811
    """Dealer A's customer owning the VIN."""
    r = post(api, "/customers", "dealer_a", {"name": "赵师傅", "phone": "13700001111", "city": "郑州市"})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert post(api, f"/customers/{cid}/vehicles", "dealer_a", {"vin": api.vin, "since": "2025-06-01"}).status_code == 201
    return api, cid


def _contract(a: Api, cid: int, starts: str, ends: str, coverage: list[str]) -> dict:
    r = post(a, f"/customers/{cid}/contracts", "staff", {
        "vin": a.vin, "starts_on": starts, "ends_on": ends, "coverage": coverage, "terms": "工时费全免，配件九折",
        "price_fen": 1_200_000})
    assert r.status_code == 201, r.text
    return r.json()


def test_a_request_past_its_contract_or_outside_its_cover_is_flagged_and_a_covered_one_is_not(owned):
    api, cid = owned
    expired = _contract(api, cid, "2025-01-01", "2025-12-31", ["tank_body"])

    first = _request(api)
    engine_only = _contract(api, cid, "2026-01-01", "2026-12-31", ["engine"])
    second = _request(api)
    tank = _contract(api, cid, "2026-03-01", "2027-02-28", ["tank_body", "brake"])
    third = _request(api)

    assert (first["contract"]["state"], first["contract"]["warning"]) == (
        "expired", f"维修合同{expired['number']}已于2025-12-31到期")
    assert (second["contract"]["state"], second["contract"]["warning"]) == (
        "not_covered", f"维修合同{engine_only['number']}不含“罐体”故障")
    assert (third["contract"]["state"], third["contract"]["contract_no"], third["contract"]["warning"]) == (
        "covered", tank["number"], None)
    rows = {r["id"]: r for r in api.get("/requests", "staff").json()["items"]}
    assert rows[first["id"]]["contract_warning"] == first["contract"]["warning"]
    assert rows[third["id"]]["contract_state"] == "covered"
    r = get(api, "/service-contracts/check", "staff", vin=api.vin, fault_category="engine")
    assert r.status_code == 200, r.text
    check = r.json()
    assert check["state"] == "covered" and check["contract_no"] == engine_only["number"]


def test_the_customer_360_view_shows_vehicles_warranty_contracts_requests_and_the_overdue_warning(owned):
    api, cid = owned
    _contract(api, cid, "2025-01-01", "2025-12-31", ["tank_body"])
    req = _request(api)

    view = get(api, f"/customers/{cid}", "staff").json()

    assert view["customer"]["name"] == "赵师傅" and view["customer"]["dealer_id"] == api.dealer_a
    vehicle = view["vehicles"][0]
    assert (vehicle["vin"], vehicle["in_warranty"], vehicle["contract_in_force"]) == (api.vin, True, False)
    assert [c["in_force"] for c in view["contracts"]] == [False]
    assert [r["id"] for r in view["requests"]] == [req["id"]]
    assert view["requests"][0]["contract_state"] == "expired"
    assert view["warnings"] == []  # in warranty: no 超期预警 although the contract ended
    found = get(api, "/customers", "dealer_a", q=api.vin).json()
    assert [c["id"] for c in found["items"]] == [cid] and found["next_cursor"] is None

    # the archive is edited once per version read, and found by its Chinese words or phone digits
    version = get(api, f"/customers/{cid}", "dealer_a").json()["customer"]["version"]
    body = {"name": "河南中原石化物流有限公司", "phone": "0371-66881234", "kind": "company", "city": "郑州市",
            "address": "中牟县物流园", "version": version}

    edited = api.client.put(f"{C}/customers/{cid}", headers=api.tokens["dealer_a"], json=body)
    stale = api.client.put(f"{C}/customers/{cid}", headers=api.tokens["dealer_a"], json=body)
    bad = api.client.put(f"{C}/customers/{cid}", headers=api.tokens["dealer_a"], json={**body, "phone": "12", "version": None})
    foreign = api.client.put(f"{C}/customers/{cid}", headers=api.tokens["dealer_b"], json={**body, "version": None})

    assert edited.status_code == 200, edited.text
    assert (edited.json()["name"], edited.json()["kind"], edited.json()["version"]) == (body["name"], "company", version + 1)
    assert stale.status_code == 409 and stale.json()["current_version"] == version + 1
    assert bad.status_code == 422 and "phone" in bad.text
    assert foreign.status_code == 404

    def hits(q: str) -> list[int]:
        return [c["id"] for c in get(api, "/customers", "staff", q=q).json()["items"]]

    assert hits("中原物流") == [cid]  # jieba: 中原 + 物流, not one substring
    assert hits("物流 郑州") == [cid] and hits("物流 上海") == []
    assert hits("0371 6688 1234") == [cid] and hits("037166881234") == [cid]


def test_another_dealers_customer_vehicle_and_contract_are_404_and_a_station_sees_only_customers_it_served(owned):
    api, cid = owned
    contract = _contract(api, cid, "2026-01-01", "2026-12-31", ["tank_body"])
    other = post(api, "/customers", "dealer_b", {"name": "钱经理", "phone": "13800002222", "kind": "company"}).json()

    assert get(api, f"/customers/{cid}", "dealer_b").status_code == 404
    assert get(api, f"/service-contracts/{contract['id']}", "dealer_b").status_code == 404
    assert post(api, f"/customers/{cid}/vehicles", "dealer_b", {"vin": api.vin}).status_code == 404
    assert post(api, f"/customers/{other['id']}/vehicles", "dealer_b", {"vin": api.vin}).status_code == 404
    assert [c["id"] for c in get(api, "/customers", "dealer_b").json()["items"]] == [other["id"]]
    assert get(api, "/service-contracts", "dealer_b").json() == {"items": [], "next_cursor": None}
    assert get(api, f"/customers/{cid}", "st1").status_code == 404
    rid = _request(api)["id"]
    assert api.post(f"/requests/{rid}/assign", "staff", {"station_id": api.st1}).status_code == 200
    assert get(api, f"/customers/{cid}", "st1").status_code == 200
    assert get(api, f"/customers/{cid}", "st2").status_code == 404


def test_bad_contracts_are_422_naming_the_field_and_a_vin_of_another_customer_is_409(owned):
    api, cid = owned
    base = {"vin": api.vin, "starts_on": "2026-01-01", "ends_on": "2026-12-31", "coverage": ["brake"],
            "terms": "条款", "price_fen": 100}
    other = post(api, "/customers", "staff", {"name": "孙师傅", "phone": "13900003333"}).json()

    backwards = post(api, f"/customers/{cid}/contracts", "staff", {**base, "ends_on": "2025-12-31"})
    unknown = post(api, f"/customers/{cid}/contracts", "staff", {**base, "coverage": ["wings"]})
    not_owned = post(api, f"/customers/{other['id']}/contracts", "staff", base)
    taken = post(api, f"/customers/{other['id']}/vehicles", "staff", {"vin": api.vin})
    by_dealer = post(api, f"/customers/{cid}/contracts", "dealer_a", base)

    assert backwards.status_code == 422 and "ends_on" in backwards.text
    assert unknown.status_code == 422 and "coverage" in unknown.text
    assert not_owned.status_code == 422 and "vin" in not_owned.text
    assert taken.status_code == 409 and "已登记在其他客户名下" in taken.text
    assert by_dealer.status_code == 403


def test_a_cancelled_contract_no_longer_covers_and_its_cancellation_is_in_the_audit_trail(owned):
    from sqlalchemy import text

    api, cid = owned
    contract = _contract(api, cid, "2026-01-01", "2026-12-31", ["tank_body"])

    cancelled = post(api, f"/service-contracts/{contract['id']}/cancel", "staff", {"reason": "客户退订"})
    again = post(api, f"/service-contracts/{contract['id']}/cancel", "staff", {"reason": "再次作废"})
    req = _request(api)

    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert again.status_code == 409
    assert req["contract"]["state"] == "none" and req["contract"]["warning"] is None
    with api.kit.crm.engine.connect() as conn:
        actions = conn.execute(text("SELECT action FROM audit_log WHERE entity = 'service_contract' "
                                    "ORDER BY id")).scalars().all()
    assert actions == ["create", "update"]
