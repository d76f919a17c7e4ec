"""Catalog and orders over HTTP (Litestar test client) on SQLite and PostgreSQL."""

import datetime as dt

import pytest
from litestar.testing import TestClient

import dealercrm
from dealercrm.application import channel as ch
from dealercrm.application.catalog import CreateTemplate
from dealercrm.application.identity import CreateUser
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal
from dealercrm.domain.values import Uscc, beijing_date
from dealercrm.entrypoints.demo_orders import DUMP_TRUCK, FUEL_TANKER, _flatbed
from tests.apps import app_for

SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
PASSWORD = "Passw0rd123"
SYSTEM = Principal.system()
STD_FUEL = ["AXLE-FUWA13", "TYRE-12R225", "RIM-STEEL", "SUSP-MECH", "ABS-4S2M", "TANK-5182", "COMP-4",
            "PUMP-GRAVITY", "LEG-STD"]
DELIVERY = (dt.date.today() + dt.timedelta(days=60)).isoformat()


def _dealer(crm, n, region, lines, username):
    body = f"91410100MA{n:07d}"
    reg = crm.channel.register_dealer(ch.RegisterDealer(
        legal_name=f"测试{n}专用车销售有限公司", uscc=body + Uscc.check_char(body), region=region,
        address=ch.AddressIn("河南省", "郑州市", f"经开区{n}号"),
        contact=ch.ContactIn(name="王建国", title="总经理", phone="13800138000"),
        applicant_username=username, applicant_password=PASSWORD))
    crm.channel.submit(SYSTEM, reg.dealer_id)
    crm.channel.approve(SYSTEM, reg.dealer_id)
    year = dt.date.today().year
    crm.channel.add_agreement(SYSTEM, ch.AddAgreement(reg.dealer_id, tuple(lines), ("河南省",), "credit",
                                                      dt.date(year - 1, 1, 1), dt.date(year + 2, 12, 31)))
    return reg.dealer_id


@pytest.fixture
def api(db_url):
    s = load_settings({}, database_url=db_url, jwt_secret=SECRET, log_level="WARNING", principal_cache_seconds=0,
                      login_rate_per_minute=1000)
    crm = dealercrm.bootstrap(s)
    client = TestClient(app_for(crm, s))
    with client:
        for name, role, regions in (("admin", "admin", ()), ("rm_huazhong", "region_manager", ("华中",)),
                                    ("sales_huadong", "sales", ("华东",)), ("technical", "technical", ()),
                                    ("sales_huazhong", "sales", ("华中",))):
            crm.identity.create_user(SYSTEM, CreateUser(name, name, role, PASSWORD, regions=regions))
        ids = {
            "hongda": _dealer(crm, 1, "华中", ["tanker", "dump_truck"], "hongda"),
            "shuntong": _dealer(crm, 2, "华东", ["tanker", "semi_trailer"], "shuntong"),
        }
        tpl = {
            "fuel": crm.orders.create_template(SYSTEM, CreateTemplate("HTL9400GYY", "tanker", FUEL_TANKER, True)).id,
            "dump": crm.orders.create_template(SYSTEM, CreateTemplate("HTL3250ZLJ", "dump_truck", DUMP_TRUCK, True)).id,
            "flat": crm.orders.create_template(SYSTEM, CreateTemplate("HTL9400TPB", "semi_trailer", _flatbed(98_000),
                                                                      True)).id,
        }
        yield client, crm, ids, tpl


def login(client, username):
    r = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def draft_body(template_id, options=None, **over):
    b = {"template_id": template_id, "options": list(options or STD_FUEL), "quantity": 2,
         "requested_delivery_date": DELIVERY, "delivery_method": "shipping",
         "delivery_address": {"province": "河南省", "city": "郑州市", "detail": "经开区第八大街88号",
                              "consignee": "李国庆", "consignee_phone": "13903716688"},
         "end_customer": {"name": "中石化河南石油分公司", "industry": "成品油运输"},
         "supplied_parts": [{"kind": "part", "description": "客户自带北斗终端", "quantity": 2}],
         "remarks": "请提前三天通知发运"}
    b.update(over)
    return b


def create(client, headers, body, **params):
    r = client.post("/api/v1/orders/", json=body, headers=headers, params=params)
    assert r.status_code == 201, r.text
    return r.json()


def assert_problem(r, status, code=None, field=None):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    p = r.json()
    if code:
        assert p["code"] == code
    if field:
        assert p["field"] == field
    return p


# --- the dealer's path -------------------------------------------------------------------------


def test_a_dealer_estimates_creates_submits_and_reads_the_timeline(api):
    client, _, _, tpl = api
    dealer = login(client, "hongda")

    est = client.post("/api/v1/orders/estimate", headers=dealer,
                      json={"template_id": tpl["fuel"], "options": STD_FUEL + ["VAPOR"], "quantity": 2}).json()
    ref = create(client, dealer, draft_body(tpl["fuel"], STD_FUEL + ["VAPOR"]))
    detail = client.get(f"/api/v1/orders/{ref['id']}", headers=dealer).json()
    submitted = client.post(f"/api/v1/orders/{ref['id']}/submit", headers=dealer)
    again = client.post(f"/api/v1/orders/{ref['id']}/submit", headers=dealer)
    timeline = client.get(f"/api/v1/orders/{ref['id']}/timeline", headers=dealer).json()["items"]

    assert est["list_unit_fen"] == 238_000_00 + 5_600_00 and est["total_fen"] == est["net_unit_fen"] * 2
    assert est["rounding"] == "unit_discount_half_even_to_fen" and est["rounding_note"]
    assert ref["order_no"].startswith(f"SO-{beijing_date(dt.datetime.now(dt.UTC)).year}-") and ref["state"] == "draft"
    assert detail["total_fen"] == est["total_fen"] and detail["state_label"] == "订单填报"
    assert detail["delivery_address"]["consignee_phone"] == "13903716688"
    assert detail["supplied_parts"][0]["kind_label"] == "客户自带配件"
    assert [li["code"] for li in detail["estimate"]["lines"]][:2] == ["HTL9400GYY", "AXLE-FUWA13"]
    assert submitted.json()["state"] == "submitted"
    p = assert_problem(again, 409, "state.illegal_transition")
    assert p["current_state"] == "submitted"
    assert [(e["kind"], e["to_state"]) for e in timeline] == [("created", "draft"), ("price_estimated", None),
                                                             ("submit", "submitted")]
    assert timeline[-1]["actor_name"] == "hongda" and timeline[-1]["to_state_label"] == "已提交待评审"


def test_create_and_submit_in_one_call(api):
    client, _, _, tpl = api

    ref = create(client, login(client, "hongda"), draft_body(tpl["fuel"]), submit="true")

    assert ref["state"] == "submitted"


@pytest.mark.parametrize("field", ["unit_price_fen", "price", "total_fen", "discount_bp"])
def test_a_dealer_sending_a_price_gets_422_naming_it_and_nothing_is_written(api, field):
    client, crm, _, tpl = api
    dealer = login(client, "hongda")

    r = client.post("/api/v1/orders/", headers=dealer, json={**draft_body(tpl["fuel"]), field: 1})

    assert_problem(r, 422, "order.price_not_allowed", field)
    assert crm.orders.list_orders(SYSTEM) == []


def test_a_price_hidden_in_a_nested_object_is_refused_too(api):
    client, _, _, tpl = api
    body = draft_body(tpl["fuel"])
    body["end_customer"]["agreed_price"] = 100

    assert_problem(client.post("/api/v1/orders/", headers=login(client, "hongda"), json=body), 422,
                   "order.price_not_allowed", "end_customer.agreed_price")


def test_conflicting_options_get_422_naming_the_option_in_chinese(api):
    client, _, _, tpl = api
    options = STD_FUEL.copy()
    options[3] = "SUSP-AIR"  # needs EBS

    r = client.post("/api/v1/orders/", headers=login(client, "hongda"), json=draft_body(tpl["fuel"], options))

    p = assert_problem(r, 422, "order.option_requires", "options[3]")
    assert p["detail"] == "选择「空气悬挂」须同时选择「WABCO EBS 电子制动系统」"


@pytest.mark.parametrize(("change", "field", "code"), [
    (lambda o: o + ["NOPE"], "options[9]", "order.option_unknown"),
    (lambda o: o + ["AXLE-BPW13"], "options[9]", "order.option_group_single"),
    (lambda o: [x for x in o if x != "RIM-STEEL"], "options", "order.option_group_required"),
    (lambda o: [x for x in o if x not in ("COMP-4", "TANK-5182")] + ["COMP-6", "TANK-5083-6"], "options[8]",
     "order.option_excludes"),
])
def test_invalid_configurations_are_refused(api, change, field, code):
    client, _, _, tpl = api

    r = client.post("/api/v1/orders/estimate", headers=login(client, "hongda"),
                    json={"template_id": tpl["fuel"], "options": change(STD_FUEL)})

    assert_problem(r, 422, code, field)


def test_bad_drafts_name_the_field(api):
    client, _, _, tpl = api
    dealer = login(client, "hongda")

    assert_problem(client.post("/api/v1/orders/", headers=dealer, json=draft_body(
        tpl["fuel"], requested_delivery_date="2020-01-01")), 422, "order.delivery_date_past", "requested_delivery_date")
    assert_problem(client.post("/api/v1/orders/", headers=dealer, json=draft_body(
        tpl["fuel"], delivery_address=None)), 422, "order.address_required", "delivery_address")
    assert_problem(client.post("/api/v1/orders/", headers=dealer, json=draft_body(
        tpl["fuel"], end_customer={"name": "某客户", "phone": "12345"})), 422, "phone.malformed", "end_customer.phone")
    assert_problem(client.post("/api/v1/orders/", headers=dealer, json=draft_body(tpl["fuel"], status="approved")),
                   422, "request.unknown_field", "status")


def test_a_dealer_cannot_order_a_product_line_outside_its_agreements(api):
    client, _, _, tpl = api

    r = client.post("/api/v1/orders/", headers=login(client, "hongda"), json=draft_body(
        tpl["flat"], ["AXLE-FUWA13", "TYRE-12R225", "SUSP-MECH", "ABS-4S2M", "DECK-PLAIN", "LEG-STD"]))

    assert_problem(r, 409, "order.product_line_not_contracted")


def test_withdraw_edit_with_optimistic_lock_and_resubmit(api):
    client, _, _, tpl = api
    dealer = login(client, "hongda")
    ref = create(client, dealer, draft_body(tpl["fuel"]))
    client.post(f"/api/v1/orders/{ref['id']}/submit", headers=dealer)

    withdrawn = client.post(f"/api/v1/orders/{ref['id']}/withdraw", headers=dealer).json()
    stale = client.put(f"/api/v1/orders/{ref['id']}", headers=dealer, json={**draft_body(tpl["fuel"]), "version": 1})
    updated = client.put(f"/api/v1/orders/{ref['id']}", headers=dealer,
                         json={**draft_body(tpl["fuel"], quantity=5), "version": withdrawn["version"]})
    resubmitted = client.post(f"/api/v1/orders/{ref['id']}/submit", headers=dealer, json={"version": updated.json()["version"]})

    assert withdrawn["state"] == "draft"
    assert_problem(stale, 409, "order.stale_version")
    assert updated.status_code == 200, updated.text
    assert resubmitted.json()["state"] == "submitted"
    detail = client.get(f"/api/v1/orders/{ref['id']}", headers=dealer).json()
    assert detail["quantity"] == 5 and detail["submission_count"] == 2


# --- manual price review (核价) -----------------------------------------------------------------


def test_a_special_configuration_goes_through_a_quote_the_dealer_accepts(api):
    client, _, _, tpl = api
    dealer, manager = login(client, "hongda"), login(client, "rm_huazhong")
    ref = create(client, dealer, draft_body(tpl["fuel"], STD_FUEL + ["CUSTOM-LIVERY"]))
    oid = ref["id"]
    until = (dt.date.today() + dt.timedelta(days=10)).isoformat()

    assert_problem(client.post(f"/api/v1/orders/{oid}/submit", headers=dealer), 409, "order.quote_required")
    assert client.post(f"/api/v1/orders/{oid}/quote-request", headers=dealer, json={"note": "专属涂装"}).json()[
        "state"] == "awaiting_quote"
    assert_problem(client.post(f"/api/v1/orders/{oid}/quote", headers=dealer,
                               json={"unit_price_fen": 1, "valid_until": until}), 403)
    quoted = client.post(f"/api/v1/orders/{oid}/quote", headers=manager,
                         json={"unit_price_fen": 251_800_00, "valid_until": until, "note": "批量价"})
    accepted = client.post(f"/api/v1/orders/{oid}/quote/accept", headers=dealer)
    submitted = client.post(f"/api/v1/orders/{oid}/submit", headers=dealer)

    assert quoted.json()["state"] == "quoted" and accepted.json()["state"] == "draft"
    assert submitted.json()["state"] == "submitted"
    detail = client.get(f"/api/v1/orders/{oid}", headers=dealer).json()
    assert (detail["unit_price_fen"], detail["total_fen"], detail["price_source"]) == (251_800_00, 503_600_00, "quote")
    assert detail["quotes"][0]["status"] == "accepted" and detail["quotes"][0]["quoted_by"] == "rm_huazhong"
    kinds = [e["kind"] for e in client.get(f"/api/v1/orders/{oid}/timeline", headers=dealer).json()["items"]]
    assert kinds == ["created", "price_estimated", "request_quote", "issue_quote", "accept_quote", "submit"]


def test_a_declined_quote_returns_to_the_draft(api):
    client, _, _, tpl = api
    dealer, admin = login(client, "hongda"), login(client, "admin")
    oid = create(client, dealer, draft_body(tpl["fuel"], STD_FUEL + ["CUSTOM-LIVERY"]))["id"]
    client.post(f"/api/v1/orders/{oid}/quote-request", headers=dealer)
    client.post(f"/api/v1/orders/{oid}/quote", headers=admin,
                json={"unit_price_fen": 260_000_00, "valid_until": DELIVERY})

    r = client.post(f"/api/v1/orders/{oid}/quote/decline", headers=dealer, json={"reason": "价格偏高"})

    assert r.json()["state"] == "draft"
    assert_problem(client.post(f"/api/v1/orders/{oid}/quote/accept", headers=dealer), 409, "state.illegal_transition")


# --- isolation and scope ------------------------------------------------------------------------


def test_a_dealer_sees_none_of_another_dealers_orders(api):
    client, _, ids, tpl = api
    hongda, shuntong = login(client, "hongda"), login(client, "shuntong")
    theirs = create(client, hongda, draft_body(tpl["fuel"]))["id"]
    create(client, shuntong, draft_body(tpl["fuel"]))

    listed = client.get("/api/v1/orders/", headers=shuntong).json()["items"]
    assert {o["dealer_id"] for o in listed} == {ids["shuntong"]}
    assert client.get("/api/v1/orders/", headers=shuntong, params={"dealer_id": ids["hongda"]}).json()["items"] == []
    for method, path in (("get", ""), ("get", "/timeline"), ("post", "/submit"), ("post", "/withdraw"),
                         ("post", "/quote-request"), ("post", "/cancel")):
        assert_problem(getattr(client, method)(f"/api/v1/orders/{theirs}{path}", headers=shuntong), 404,
                       "order.not_found")
    assert_problem(client.put(f"/api/v1/orders/{theirs}", headers=shuntong, json=draft_body(tpl["fuel"])), 404)
    assert_problem(client.post("/api/v1/orders/", headers=shuntong,
                               json=draft_body(tpl["fuel"], dealer_id=ids["hongda"])), 404, "dealer.not_found")


def test_regional_staff_see_and_order_only_in_their_regions(api):
    client, _, ids, tpl = api
    create(client, login(client, "hongda"), draft_body(tpl["fuel"]))
    create(client, login(client, "shuntong"), draft_body(tpl["fuel"]))
    east, central = login(client, "sales_huadong"), login(client, "sales_huazhong")

    assert {o["region"] for o in client.get("/api/v1/orders/", headers=east).json()["items"]} == {"华东"}
    on_behalf = create(client, central, draft_body(tpl["fuel"], dealer_id=ids["hongda"]))
    assert_problem(client.post("/api/v1/orders/", headers=east, json=draft_body(tpl["fuel"], dealer_id=ids["hongda"])),
                   404)
    assert_problem(client.post("/api/v1/orders/", headers=central, json=draft_body(tpl["fuel"])), 422,
                   "order.dealer_required", "dealer_id")
    timeline = client.get(f"/api/v1/orders/{on_behalf['id']}/timeline", headers=login(client, "hongda")).json()["items"]
    assert timeline[0]["actor_name"] == "sales_huazhong"


def test_reviewers_and_stations_cannot_write_orders(api):
    client, _, _, tpl = api

    assert_problem(client.post("/api/v1/orders/", headers=login(client, "technical"), json=draft_body(tpl["fuel"])),
                   403)


# --- list filters and keyset pagination ---------------------------------------------------------


def test_the_order_list_filters_and_pages_with_a_cursor(api):
    client, _, ids, tpl = api
    dealer = login(client, "hongda")
    made = [create(client, dealer, draft_body(tpl["fuel"], end_customer={"name": f"客户{i}"})) for i in range(4)]
    create(client, dealer, draft_body(tpl["dump"], ["CH-HOWO", "BOX-Q345", "LIFT-FRONT", "COVER-TARP"]),
           submit="true")
    admin = login(client, "admin")

    pages, cursor = [], None
    while True:
        r = client.get("/api/v1/orders/", headers=admin, params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        body = r.json()
        pages.append([o["id"] for o in body["items"]])
        cursor = body["next_cursor"]
        if not cursor:
            break

    def ids_for(**params):
        return [o["id"] for o in client.get("/api/v1/orders/", headers=admin, params=params).json()["items"]]

    today = beijing_date(dt.datetime.now(dt.UTC)).isoformat()  # the filter's days are Beijing days
    all_ids = [i for page in pages for i in page]
    assert len(pages) == 3 and all_ids == sorted(all_ids, reverse=True) and len(all_ids) == 5
    assert len(ids_for(state="submitted")) == 1 and len(ids_for(state="draft,submitted")) == 5
    assert len(ids_for(product_line="dump_truck")) == 1 and len(ids_for(template_id=tpl["fuel"])) == 4
    assert ids_for(q="客户2") == [made[2]["id"]] and ids_for(q=made[0]["order_no"]) == [made[0]["id"]]
    assert len(ids_for(region="华中", dealer_id=ids["hongda"], created_from=today, created_to=today)) == 5
    assert ids_for(region="华东") == [] and ids_for(delivery_to="2020-01-01") == []
    assert len(ids_for(delivery_from=DELIVERY, delivery_to=DELIVERY)) == 5
    assert_problem(client.get("/api/v1/orders/", headers=admin, params={"state": "shipped"}), 422,
                   "order.state_unknown", "state")
    assert_problem(client.get("/api/v1/orders/", headers=admin, params={"cursor": "garbage"}), 422, "cursor.invalid")


# --- catalog management and versions -------------------------------------------------------------


def test_templates_are_versioned_and_orders_keep_the_version_they_were_priced_on(api):
    client, _, _, tpl = api
    dealer, technical = login(client, "hongda"), login(client, "technical")
    oid = create(client, dealer, draft_body(tpl["fuel"]))["id"]
    draft = client.get(f"/api/v1/catalog/templates/{tpl['fuel']}", headers=technical).json()["draft"]
    draft["base_price_fen"] += 3_000_00

    revised = client.put(f"/api/v1/catalog/templates/{tpl['fuel']}/draft", headers=technical, json={"content": draft})
    published = client.post(f"/api/v1/catalog/templates/{tpl['fuel']}/publish", headers=technical)
    again = client.post(f"/api/v1/catalog/templates/{tpl['fuel']}/publish", headers=technical)

    assert revised.status_code == 200 and published.json()["latest_version"] == 2
    assert_problem(again, 409, "catalog.nothing_to_publish")
    order = client.get(f"/api/v1/orders/{oid}", headers=dealer).json()
    v1 = client.get(f"/api/v1/catalog/templates/{tpl['fuel']}/versions/1", headers=dealer).json()
    assert order["template_version"] == 1 and v1["content"]["base_price_fen"] == 238_000_00
    assert client.post(f"/api/v1/orders/{oid}/submit", headers=dealer).json()["state"] == "submitted"
    new = create(client, dealer, draft_body(tpl["fuel"]))
    assert client.get(f"/api/v1/orders/{new['id']}", headers=dealer).json()["template_version"] == 2
    assert_problem(client.post("/api/v1/orders/", headers=dealer, json=draft_body(tpl["fuel"], template_version=1)),
                   409, "catalog.version_outdated")


def test_dealers_see_only_published_templates_on_sale(api):
    client, _, _, tpl = api
    dealer, technical = login(client, "hongda"), login(client, "technical")
    body = {"model_code": "HTL9402GYY", "product_line": "tanker",
            "content": {"name": "30立方米碳钢运油车", "base_price_fen": 180_000_00,
                        "spec_fields": [{"key": "tank_volume", "label": "容积", "value": "30", "unit": "m³",
                                         "kind": "number"}],
                        "option_groups": [{"code": "axle", "name": "车轴", "mode": "single", "required": True,
                                           "options": [{"code": "AX", "name": "富华 13T"}]}]}}
    created = client.post("/api/v1/catalog/templates", headers=technical, json=body).json()

    dealer_view = {t["model_code"] for t in client.get("/api/v1/catalog/templates", headers=dealer).json()["items"]}
    assert "HTL9402GYY" not in dealer_view and "HTL9400GYY" in dealer_view
    assert_problem(client.get(f"/api/v1/catalog/templates/{created['id']}", headers=dealer), 404)
    client.post(f"/api/v1/catalog/templates/{created['id']}/publish", headers=technical)
    detail = client.get(f"/api/v1/catalog/templates/{created['id']}", headers=dealer).json()
    assert detail["published"]["content"]["spec_fields"][0]["unit"] == "m³" and detail["draft"] is None

    client.post(f"/api/v1/catalog/templates/{tpl['fuel']}/retire", headers=technical)
    assert_problem(client.get(f"/api/v1/catalog/templates/{tpl['fuel']}", headers=dealer), 404)
    assert_problem(client.post("/api/v1/orders/", headers=dealer, json=draft_body(tpl["fuel"])), 409,
                   "catalog.template_retired")
    assert_problem(client.post("/api/v1/catalog/templates", headers=dealer, json=body), 403)
    bad = {**body, "model_code": "HTL9403GYY"}
    bad["content"]["option_groups"][0]["options"][0]["requires"] = ["GHOST"]
    assert_problem(client.post("/api/v1/catalog/templates", headers=technical, json=bad), 422,
                   "catalog.rule_unknown_option", "content.option_groups[0].options[0].requires")


def test_tiers_set_by_the_region_manager_discount_the_estimate(api):
    client, _, ids, tpl = api
    manager, dealer = login(client, "rm_huazhong"), login(client, "hongda")

    r = client.put("/api/v1/catalog/price-tiers", headers=manager,
                   json={"dealer_id": ids["hongda"], "product_line": "tanker", "tier_code": "A", "discount_bp": 500})
    est = client.post("/api/v1/orders/estimate", headers=dealer,
                      json={"template_id": tpl["fuel"], "options": STD_FUEL}).json()

    assert r.status_code == 200 and r.json()["items"][0]["tier_code"] == "A"
    assert (est["tier_code"], est["discount_unit_fen"], est["net_unit_fen"]) == ("A", -11_900_00, 226_100_00)
    assert est["lines"][-1]["label"].startswith("经销商优惠（A级")
    assert [t["dealer_id"] for t in client.get("/api/v1/catalog/price-tiers", headers=dealer).json()["items"]] == [ids["hongda"]]
    assert_problem(client.put("/api/v1/catalog/price-tiers", headers=manager, json={
        "dealer_id": ids["shuntong"], "product_line": "tanker", "tier_code": "A", "discount_bp": 500}), 404)
    assert_problem(client.put("/api/v1/catalog/price-tiers", headers=dealer, json={
        "dealer_id": ids["hongda"], "product_line": "tanker", "tier_code": "A", "discount_bp": 2500}), 403)
