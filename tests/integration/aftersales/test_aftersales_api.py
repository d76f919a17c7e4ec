"""The after-sales API over HTTP on SQLite and PostgreSQL: a warranty repair from the call to
the monthly settlement statement, isolation between two stations (and dealers), and clean 4xx
answers for illegal moves, short stock and bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from litestar.testing import TestClient

import dealercrm
from dealercrm.adapters.security import JwtTokenService
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal, Role
from tests.apps import app_for

from .conftest import Kit, station_in

SECRET = "aftersales-test-secret-long-enough-for-hs256-0123456789"
A = "/api/v1/aftersales"


class Api:
    def __init__(self, client: TestClient, kit: Kit) -> None:
        self.client, self.kit = client, kit
        self.tokens: dict[str, dict[str, str]] = {}

    def login_as(self, name: str, p: Principal) -> None:
        token, _ = self.kit.crm.tokens.issue(p)
        self.tokens[name] = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, who: str, **params):
        return self.client.get(A + path, headers=self.tokens[who], params=params)

    def post(self, path: str, who: str, json=None):
        return self.client.post(A + path, headers=self.tokens[who], json=json if json is not None else {})

    def put(self, path: str, who: str, json):
        return self.client.put(A + path, headers=self.tokens[who], json=json)


def _station_body(n: int, **kw) -> dict:
    cmd = station_in(n, **kw)
    return {"name": cmd.name, "uscc": cmd.uscc, "region": cmd.region, "province": cmd.province, "city": cmd.city,
            "address": cmd.address, "contact_name": cmd.contact_name, "contact_phone": cmd.contact_phone,
            "product_lines": list(cmd.product_lines), "labour_rate_fen": cmd.labour_rate_fen,
            "qualification": "class_1", "capacity": cmd.capacity}


@pytest.fixture
def api(db_url, clock):
    settings = load_settings({}, database_url=db_url, jwt_secret=SECRET, log_json=True, log_level="WARNING",
                             principal_cache_seconds=0)
    tokens = JwtTokenService(SECRET, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                             ttl=dt.timedelta(hours=1), clock=lambda: dt.datetime.now(dt.UTC))
    crm = dealercrm.bootstrap(settings, clock=clock, token_service=tokens)
    kit = Kit(crm, clock)
    client = TestClient(app_for(crm, settings))
    with client:
        a = Api(client, kit)
        a.login_as("staff", kit.staff)
        a.login_as("finance", kit.finance)
        a.dealer_a, a.dealer_b = kit.dealer("华中"), kit.dealer("华东")
        a.login_as("dealer_a", kit.user("dealer_a", Role.DEALER, dealer_id=a.dealer_a))
        a.login_as("dealer_b", kit.user("dealer_b", Role.DEALER, dealer_id=a.dealer_b))
        r = a.post("/stations", "staff", _station_body(1, city="郑州市"))
        assert r.status_code == 201, r.text
        a.st1 = r.json()["id"]
        a.st2 = a.post("/stations", "staff", _station_body(2, region="华东", province="山东省", city="济南市")).json()["id"]
        a.login_as("st1", kit.station_user(a.st1))
        a.login_as("st2", kit.station_user(a.st2))
        assert a.put("/warranty-policies", "staff", {"product_line": "tanker", "months": 24, "km": 200000}).status_code == 200
        for part in ({"part_no": "FV-2301", "name": "罐体紧急切断阀", "standard_cost_fen": 45000, "retail_price_fen": 68000},
                     {"part_no": "SL-0105", "name": "人孔盖密封圈", "standard_cost_fen": 1250, "retail_price_fen": 2000}):
            assert a.put("/parts", "staff", part).status_code == 200
        a.vin = kit.vehicle(11, a.dealer_a)
        r = a.post("/warranties", "staff", {"vin": a.vin, "customer_name": "赵师傅", "customer_phone": "13700001111",
                                            "sold_on": "2025-06-01"})
        assert r.status_code == 201, r.text
        yield a
    crm.close()


def _new_request(api: Api, who: str = "staff") -> dict:
    r = api.post("/requests", who, {"vin": api.vin, "customer_name": "赵师傅", "customer_phone": "13700001111",
                                    "fault_category": "tank_body", "description": "紧急切断阀关闭不严，卸油口滴漏",
                                    "province": "河南省", "city": "郑州市", "location": "中牟县物流园"})
    assert r.status_code == 201, r.text
    return r.json()


def _repair_body(api: Api, parts: list[dict], hours: str = "2.5") -> dict:
    now = api.kit.clock()
    return {"problem": "阀芯磨损", "solution": "更换切断阀及密封圈，试压无渗漏", "place": "中牟县物流园",
            "started_at": (now - dt.timedelta(hours=3)).isoformat(), "finished_at": (now - dt.timedelta(hours=1)).isoformat(),
            "labour_hours": hours, "parts": parts}


def _accepted_request(api: Api) -> int:
    rid = _new_request(api)["id"]
    assert api.post(f"/requests/{rid}/assign", "staff", {}).json()["station_id"] == api.st1
    assert api.post(f"/requests/{rid}/accept", "st1").json()["state"] == "accepted"
    return rid


def test_warranty_repair_over_http_from_call_to_settlement_statement(api):
    assert api.post("/stock/movements", "st1", {"station_id": api.st1, "part_no": "FV-2301", "kind": "receipt",
                                                 "quantity": 3}).json()["balance"] == 3

    created = _new_request(api)
    assert created["warranty"]["in_warranty"] is True
    assert created["context"]["vehicle"]["dealer_id"] == api.dealer_a
    assert created["context"]["vehicle"]["order_no"] == "SO-2025-000011"
    assert created["context"]["warranty"]["ends_on"] == "2027-05-31"
    rid = created["id"]
    assert api.get(f"/requests/{rid}/suggestions", "staff").json()["items"][0]["station_id"] == api.st1
    assert api.get(f"/requests/{rid}/suggestions", "staff", lat=34.75, lng=113.62).json()["items"][0]["station_id"] == api.st1
    half = api.get(f"/requests/{rid}/suggestions", "staff", lat=34.75)  # a point needs both coordinates
    assert half.status_code == 422 and "longitude" in half.text
    assert api.post(f"/requests/{rid}/assign", "staff", {}).json()["station_id"] == api.st1
    api.post(f"/requests/{rid}/accept", "st1")
    r = api.post(f"/requests/{rid}/repair-record", "st1", _repair_body(api, [
        {"part_no": "FV-2301", "quantity": 1, "use": "warranty"}]))
    assert r.status_code == 201, r.text
    record = r.json()
    assert record["labour_hours"] == "2.5" and record["parts"][0]["use_label"] == "三包配件"
    r = api.post(f"/records/{record['id']}/confirm", "st1", {"customer_name": "赵师傅", "satisfaction": 5})
    assert r.json()["confirmed_by"] == "赵师傅"
    claim = api.post(f"/records/{record['id']}/claims", "st1").json()
    assert (claim["labour_fen"], claim["parts_fen"], claim["total_fen"]) == (20000, 45000, 65000)
    assert api.post(f"/claims/{claim['id']}/approve", "finance").status_code == 403  # not yet finance's step
    assert api.post(f"/claims/{claim['id']}/approve", "staff").json()["state"] == "in_review"
    assert api.post(f"/claims/{claim['id']}/approve", "finance").json()["state"] == "approved"

    statement = api.get("/settlements", "finance", month="2026-03").json()
    assert statement["total_fen"] == 65000
    assert [(x["station_id"], x["claims"], x["labour_hours"]) for x in statement["stations"]] == [(api.st1, 1, "2.5")]
    assert api.get(f"/requests/{rid}", "staff").json()["request"]["state"] == "closed"
    stock = api.get("/stock", "staff").json()
    assert stock["by_part"] == [{"part_no": "FV-2301", "part_name": "罐体紧急切断阀", "stations": 1, "quantity": 2,
                                 "value_fen": 90000}]
    report = api.get("/reports/repairs", "staff", date_from="2026-03-01", date_to="2026-03-31").json()
    assert [(x["key"], x["label"], x["repairs"], x["settled_fen"]) for x in report["rows"]] == [
        ("tank_body", "罐体", 1, 65000)]
    quality = api.get(f"/stations/{api.st1}", "staff").json()["quality"]
    assert (quality["dispatched"], quality["repairs"], quality["approved_settlement_fen"]) == (1, 1, 65000)


def test_major_repair_goes_into_the_case_library(api):
    rid = _accepted_request(api)
    record = api.post(f"/requests/{rid}/repair-record", "st1", _repair_body(api, [])).json()

    r = api.post(f"/records/{record['id']}/major", "staff", {"agreement": "更换罐体，厂家承担80%",
                                                             "compensation_fen": 1_500_000, "summary": "焊缝缺陷"})

    assert r.status_code == 200 and r.json()["is_major"] is True
    cases = api.get("/major-repairs", "staff").json()["items"]
    assert [(c["number"], c["major_compensation_fen"]) for c in cases] == [(record["number"], 1_500_000)]
    assert api.get("/major-repairs", "st2").json()["items"] == []


def test_stations_see_only_their_own_work_and_dealers_only_their_vehicles(api):
    rid = _accepted_request(api)
    api.post("/stock/movements", "st1", {"station_id": api.st1, "part_no": "SL-0105", "kind": "receipt", "quantity": 4})
    record = api.post(f"/requests/{rid}/repair-record", "st1", _repair_body(api, [])).json()

    for path in (f"/requests/{rid}", f"/records/{record['id']}", f"/stations/{api.st1}",
                 f"/stations/{api.st1}/stock-movements"):
        r = api.get(path, "st2")
        assert r.status_code == 404, path
    assert api.post(f"/requests/{rid}/accept", "st2").status_code == 404
    assert api.post(f"/records/{record['id']}/confirm", "st2",
                    {"customer_name": "赵", "satisfaction": 3}).status_code == 404
    assert api.post("/stock/movements", "st2", {"station_id": api.st1, "part_no": "SL-0105", "kind": "issue_sale",
                                                 "quantity": 1}).status_code == 404
    assert api.get("/requests", "st2").json()["items"] == []
    assert api.get("/stock", "st2").json()["rows"] == []
    assert [s["id"] for s in api.get("/stations", "st2").json()["items"]] == [api.st2]
    assert [x["id"] for x in api.get("/requests", "st1").json()["items"]] == [rid]
    assert [x["id"] for x in api.get("/requests", "dealer_a").json()["items"]] == [rid]
    assert api.get(f"/requests/{rid}", "dealer_a").json()["record"] is None
    assert api.get("/requests", "dealer_b").json()["items"] == []
    assert api.get(f"/requests/{rid}", "dealer_b").status_code == 404
    assert api.get("/stock", "dealer_a").status_code == 403


def test_illegal_moves_short_stock_and_bad_input_are_clean_4xx(api):
    rid = _accepted_request(api)

    again = api.post(f"/requests/{rid}/accept", "st1")
    short = api.post(f"/requests/{rid}/repair-record", "st1", _repair_body(api, [
        {"part_no": "FV-2301", "quantity": 2, "use": "warranty"}]))
    unknown_field = api.post(f"/requests/{rid}/repair-record", "st1", {**_repair_body(api, []), "labour_fen": 1})
    bad_hours = api.post(f"/requests/{rid}/repair-record", "st1", _repair_body(api, [], hours="2.555"))
    overdraw = api.post("/stock/movements", "staff", {"station_id": api.st1, "part_no": "SL-0105",
                                                      "kind": "issue_repair", "quantity": 1})

    assert again.status_code == 409 and again.json()["current_state"] == "accepted"
    assert short.status_code == 409
    assert (short.json()["code"], short.json()["part_no"], short.json()["balance"]) == (
        "aftersales.stock_insufficient", "FV-2301", 0)
    assert api.get(f"/requests/{rid}", "staff").json()["request"]["state"] == "accepted"
    assert unknown_field.status_code == 422 and unknown_field.json()["field"] == "labour_fen"
    assert bad_hours.status_code == 422 and bad_hours.json()["field"].endswith("labour_hours")
    assert overdraw.status_code == 409 and "SL-0105" in overdraw.json()["detail"]
    assert api.post(f"/requests/{rid}/assign", "st1", {}).status_code == 403
    assert api.get("/settlements", "staff", month="2026-13").status_code == 422


def test_a_station_that_records_a_request_itself_takes_it_at_once(api):
    created = _new_request(api, who="st2")

    detail = api.get(f"/requests/{created['id']}", "st2").json()

    assert created["state"] == "accepted"
    assert (detail["request"]["station_id"], detail["request"]["assignment_mode"]) == (api.st2, "station")
    assert [h["action"] for h in detail["history"]] == ["create", "assign", "accept"]
    assert api.get(f"/requests/{created['id']}", "st1").status_code == 404


def test_repair_times_without_a_timezone_are_refused(api):
    rid = _accepted_request(api)
    body = _repair_body(api, [])
    body["started_at"] = "2026-03-10T08:00:00"

    r = api.post(f"/requests/{rid}/repair-record", "st1", body)

    assert r.status_code == 422 and r.json()["field"] == "started_at"
