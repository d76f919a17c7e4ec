"""The dealer's management team with its shareholders (seed 000 §2.1 2)), over HTTP on both engines."""

from tests.integration.core.test_api import api, assert_problem, login, register  # noqa: F401 (fixture)


def test_shareholders_with_their_share_and_the_teams_abilities_are_kept_and_checked(api):  # noqa: F811
    client, _ = api
    reg = register(client)
    dealer = login(client, "hongda")
    url = f"/api/v1/dealers/{reg['dealer_id']}/contacts"
    big = client.post(url, headers=dealer, json={"name": "王卫东", "title": "董事长", "phone": "13800138001",
                                                 "kind": "shareholder", "share_permille": 600,
                                                 "abilities": ["销售管理", "融资"]})
    assert big.status_code == 201, big.text
    manager = client.post(url, headers=dealer, json={"name": "刘强", "title": "售后经理", "phone": "13800138002",
                                                     "kind": "management", "abilities": ["车辆维修"]})
    assert manager.status_code == 201, manager.text

    over = client.post(url, headers=dealer, json={"name": "赵六", "title": "股东", "phone": "13800138003",
                                                  "kind": "shareholder", "share_permille": 500})
    assert_problem(over, 422, "contact.shares_over_total", "share_permille")
    no_share = client.post(url, headers=dealer, json={"name": "赵六", "title": "股东", "phone": "13800138003",
                                                      "kind": "shareholder"})
    assert_problem(no_share, 422, "contact.share_invalid", "share_permille")
    share_on_contact = client.post(url, headers=dealer, json={"name": "钱七", "title": "业务员",
                                                              "phone": "13800138004", "share_permille": 10})
    assert_problem(share_on_contact, 422, "contact.share_not_shareholder", "share_permille")
    small = client.post(url, headers=dealer, json={"name": "赵六", "title": "股东", "phone": "13800138003",
                                                   "kind": "shareholder", "share_permille": 400})
    assert small.status_code == 201, small.text

    contacts = client.get(f"/api/v1/dealers/{reg['dealer_id']}", headers=dealer).json()["contacts"]
    team = {c["name"]: (c["kind"], c["share_permille"], c["abilities"]) for c in contacts}
    assert team["王卫东"] == ("shareholder", 600, ["销售管理", "融资"])
    assert team["刘强"] == ("management", None, ["车辆维修"])
    assert team["赵六"] == ("shareholder", 400, [])
    assert team["王建国"] == ("contact", None, [])  # the applicant, a plain contact

    # raising one shareholder's share is checked against the others' (it replaces its own share)
    r = client.put(f"{url}/{big.json()['id']}", headers=dealer,
                   json={"name": "王卫东", "title": "董事长", "phone": "13800138001", "kind": "shareholder",
                         "share_permille": 601, "abilities": ["销售管理"]})
    assert_problem(r, 422, "contact.shares_over_total", "share_permille")
    r = client.put(f"{url}/{big.json()['id']}", headers=dealer,
                   json={"name": "王卫东", "title": "董事长", "phone": "13800138001", "kind": "shareholder",
                         "share_permille": 550, "abilities": ["销售管理"]})
    assert r.status_code == 200, r.text


def test_the_dealer_360_view_shows_team_credit_stock_and_the_figures_of_each_context(api):  # noqa: F811
    client, crm = api
    reg = register(client)
    other = register(client, uscc="91110000600037341L", username="other")
    dealer = login(client, "hongda")
    admin = login(client, "admin")
    url = f"/api/v1/dealers/{reg['dealer_id']}/contacts"
    client.post(url, headers=dealer, json={"name": "王卫东", "title": "董事长", "phone": "13800138001",
                                           "kind": "shareholder", "share_permille": 300})
    client.post(url, headers=dealer, json={"name": "赵六", "title": "股东", "phone": "13800138003",
                                           "kind": "shareholder", "share_permille": 700, "abilities": ["物流"]})
    client.post(url, headers=dealer, json={"name": "刘强", "title": "售后经理", "phone": "13800138002",
                                           "kind": "management", "abilities": ["车辆维修"]})

    from sqlalchemy import insert

    from dealercrm.adapters.db.gate_tables import vehicles
    from dealercrm.domain.values import Vin

    with crm.engine.begin() as conn:
        for n, (state, owner) in enumerate([("in_dealer_stock", reg), ("in_dealer_stock", reg), ("in_transit", reg),
                                            ("in_dealer_stock", other)]):
            conn.execute(insert(vehicles).values(vin=Vin.build("LZZ", "1CLVB", "T", "A", f"{500 + n:06d}").value,
                                                 state=state, dealer_id=owner["dealer_id"], product_line="tanker",
                                                 version=1))

    r = client.get(f"/api/v1/dealers/{reg['dealer_id']}/360", headers=admin)
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["dealer"]["id"] == reg["dealer_id"] and view["dealer"]["status"] == "registered"
    assert [(c["name"], c["share_permille"]) for c in view["team"]["shareholders"]] == [("赵六", 700), ("王卫东", 300)]
    assert [c["abilities"] for c in view["team"]["management"]] == [["车辆维修"]]
    assert [c["name"] for c in view["team"]["contacts"]] == ["王建国"]
    assert view["orders"] == {"submitted": 0, "amount_fen": 0, "open": 0}
    assert view["stock"] == {"in_dealer_stock": 2, "in_transit": 1, "sold": 0}
    assert view["service"] == {"requests": 0, "open": 0, "scored": 0, "average_satisfaction": None}
    assert set(view) >= {"retail", "credit", "value", "forecast", "marketing", "training", "since", "until"}
    # the dealer sees its own view; another dealer's is 404; a bad period is 422
    assert client.get(f"/api/v1/dealers/{reg['dealer_id']}/360", headers=dealer).status_code == 200
    assert client.get(f"/api/v1/dealers/{other['dealer_id']}/360", headers=dealer).status_code == 404
    assert_problem(client.get(f"/api/v1/dealers/{reg['dealer_id']}/360", headers=admin, params={"days": 3}),
                   422, "dealer_360.days_invalid", "days")


def test_a_registration_is_approved_only_once_the_configured_assessment_checklist_is_passed(api):  # noqa: F811
    client, _ = api
    reg = register(client)
    dealer = login(client, "hongda")
    admin = login(client, "admin")
    base = f"/api/v1/dealers/{reg['dealer_id']}"
    rules = client.put("/api/v1/dealers/assessment-rules", headers=admin, json={"items": [
        {"code": "licence", "label": "营业执照与危险品经营资质有效"},
        {"code": "premises", "label": "展厅与维修场地不少于2000平方米"},
        {"code": "bank_reference", "label": "银行资信证明", "required": False}]})
    assert rules.status_code == 200, rules.text
    assert_problem(client.put("/api/v1/dealers/assessment-rules", headers=admin, json={"items": [
        {"code": "a", "label": "甲"}, {"code": "a", "label": "乙"}]}), 422, "assessment.code_duplicate", "items[1].code")
    assert client.put("/api/v1/dealers/assessment-rules", headers=dealer, json={"items": []}).status_code == 403

    assert client.post(f"{base}/submit", headers=dealer).status_code == 200
    client.put(f"{base}/assessment", headers=admin, json={"results": [{"code": "licence", "passed": True}]})
    refused = client.post(f"{base}/approve", headers=admin)
    p = assert_problem(refused, 409, "dealer.assessment_incomplete")
    assert "展厅与维修场地" in p["detail"]
    assert client.get(base, headers=admin).json()["status"] == "under_review"  # the step stays undecided

    assert_problem(client.put(f"{base}/assessment", headers=admin, json={"results": [{"code": "garage", "passed": True}]}),
                   422, "assessment.item_unknown", "results.garage")
    view = client.put(f"{base}/assessment", headers=admin, json={"results": [
        {"code": "premises", "passed": True, "note": "实地考察 2400㎡"}]}).json()
    assert view["missing"] == [] and [i["code"] for i in view["items"] if i.get("passed")] == ["licence", "premises"]
    assert client.get(f"{base}/assessment", headers=admin).json()["items"][1]["note"] == "实地考察 2400㎡"
    approved = client.post(f"{base}/approve", headers=admin)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"


def test_a_growth_plan_is_set_by_staff_and_read_with_its_progress_by_the_dealer(api):  # noqa: F811
    client, crm = api
    reg = register(client)
    other = register(client, uscc="91110000600037341L", username="other")
    dealer, admin = login(client, "hongda"), login(client, "admin")
    url = f"/api/v1/dealers/{reg['dealer_id']}/growth-plans/2026"
    plan = {"vehicles": 40, "amount_fen": 1_200_000_000, "retail_vehicles": 30, "actions": ["开拓西北市场", "增设服务网点"]}

    assert client.put(url, headers=dealer, json=plan).status_code == 403  # the dealer reads, staff set
    r = client.put(url, headers=admin, json=plan)
    assert r.status_code == 200, r.text
    got = client.get(url, headers=dealer).json()
    assert got["actions"] == ["开拓西北市场", "增设服务网点"]
    assert got["progress"]["vehicles"] == {"target": 40, "actual": 0, "pct": 0.0}
    assert got["progress"]["amount_fen"]["target"] == 1_200_000_000
    replaced = client.put(url, headers=admin, json={**plan, "vehicles": 50, "actions": []}).json()
    assert replaced["progress"]["vehicles"]["target"] == 50 and replaced["actions"] == []
    assert client.get(f"/api/v1/dealers/{reg['dealer_id']}/growth-plans/2027", headers=admin).status_code == 404
    assert client.get(f"/api/v1/dealers/{other['dealer_id']}/growth-plans/2026", headers=dealer).status_code == 404
    assert_problem(client.put(f"/api/v1/dealers/{reg['dealer_id']}/growth-plans/1999", headers=admin, json=plan),
                   422, "growth_plan.year_invalid", "year")
