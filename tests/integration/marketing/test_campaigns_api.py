"""Campaigns and leads over HTTP on SQLite and PostgreSQL: plan with a budget, capture leads,
follow them up (each follow-up logged with its channel, note and next contact day), convert them
into orders, the campaign report (leads, conversions, revenue, cost per lead, ROI), and isolation
between dealers."""

from __future__ import annotations

import datetime as dt

from tests.fakes import BEIJING

CALL = {"channel": "phone", "note": "电话沟通，客户要求报价"}


def setup(w):
    a = w.dealer(username="hongda")
    b = w.dealer(username="shuntong", name="临沂顺通汽车贸易有限公司", region="华东")
    w.agreement(a)
    w.agreement(b)
    w.user("marketing", username="mkt")
    w.user("sales", username="sales_hz", regions=("华中",))
    return a, b, w.templates()


def plan(w, **over):
    r = w.post("mkt", "/api/v1/campaigns/", {
        "name": "2026春季罐式车推介会", "target_segment": "河南、山东成品油运输企业", "budget_fen": 1_000_000,
        "starts_on": "2026-03-01", "ends_on": "2026-03-31", "product_lines": ["tanker"], "regions": ["华中", "华东"],
        "channel": "客户推介会", "activate": True, **over})
    assert r.status_code == 201, r.text
    return r.json()


def lead(w, user, campaign, name, phone, **over):
    return w.post(user, f"/api/v1/campaigns/{campaign}/leads", {"name": name, "phone": phone,
                                                                "interest": "40方运油车", **over})


def test_leads_conversions_revenue_and_cost_per_lead(world):
    a, b, tpl = setup(world)
    c = plan(world)
    l1 = lead(world, "mkt", c["id"], "中石化河南", "13700000001", dealer_id=a).json()["id"]
    l2 = lead(world, "mkt", c["id"], "郑州运通物流", "13700000002", dealer_id=a).json()["id"]
    l3 = lead(world, "shuntong", c["id"], "临沂华运", "13700000003").json()["id"]
    order_a = world.order("hongda", tpl["tanker"], quantity=2)
    order_b = world.order("shuntong", tpl["tanker"], quantity=1)
    draft_a = world.order("hongda", tpl["tanker"], quantity=1, submit=False)

    foreign_order = world.post("mkt", f"/api/v1/leads/{l1}/convert", {"order_id": order_b["id"]})
    draft = world.post("mkt", f"/api/v1/leads/{l1}/convert", {"order_id": draft_a["id"]})
    contacted = world.post("hongda", f"/api/v1/leads/{l1}/contacted", CALL)
    converted = world.post("hongda", f"/api/v1/leads/{l1}/convert", {"order_id": order_a["id"]})
    again = world.post("hongda", f"/api/v1/leads/{l1}/convert", {"order_id": order_a["id"]})
    lost = world.post("hongda", f"/api/v1/leads/{l2}/lost", {"reason": "选择了竞品"})
    report = world.get("mkt", f"/api/v1/campaigns/{c['id']}/report").json()
    total_a = world.get("hongda", f"/api/v1/orders/{order_a['id']}").json()["total_fen"]

    assert foreign_order.status_code == 422 and foreign_order.json()["code"] == "order.not_found"
    assert draft.status_code == 409 and draft.json()["code"] == "lead.order_not_submitted"
    assert contacted.json()["status"] == "contacted" and converted.json()["status"] == "converted"
    assert again.status_code == 409 and again.json()["current_state"] == "converted"
    assert lost.json()["status"] == "lost"
    t = report["totals"]
    assert (t["leads"], t["new"], t["converted"], t["lost"], t["conversion_rate_pct"]) == (3, 1, 1, 1, 33.3)
    assert t["revenue_fen"] == total_a > 0
    assert (t["cost_fen"], t["cost_per_lead_fen"], t["cost_per_conversion_fen"]) == (1_000_000, 333_333, 1_000_000)
    assert t["roi_pct"] == round(100 * (total_a - 1_000_000) / 1_000_000, 1)
    assert [(r["dealer_id"], r["leads"], r["revenue_fen"]) for r in report["per_dealer"]] == [(a, 2, total_a),
                                                                                              (b, 1, 0)]
    assert l3


def test_dealers_see_only_their_own_leads_and_no_budget(world):
    a, b, _ = setup(world)
    c = plan(world)
    mine = lead(world, "hongda", c["id"], "中石化河南", "13700000001").json()["id"]
    theirs = lead(world, "shuntong", c["id"], "临沂华运", "13700000003").json()["id"]
    other = plan(world, name="西北展会", regions=["西北"])

    for_other_dealer = lead(world, "hongda", c["id"], "某公司", "13700000009", dealer_id=b)
    sales_foreign = lead(world, "sales_hz", c["id"], "某公司", "13700000010", dealer_id=b)

    assert [x["id"] for x in world.get("hongda", "/api/v1/leads/").json()["items"]] == [mine]
    assert world.get("hongda", f"/api/v1/leads/{theirs}").status_code == 404
    assert world.post("hongda", f"/api/v1/leads/{theirs}/contacted", CALL).status_code == 404
    assert world.get("hongda", f"/api/v1/leads/{theirs}/follow-ups").status_code == 404
    assert for_other_dealer.status_code == 404 and sales_foreign.status_code == 404
    campaigns = world.get("hongda", "/api/v1/campaigns/").json()["items"]
    assert [(x["id"], x["budget_fen"]) for x in campaigns] == [(c["id"], None)]
    assert world.get("hongda", f"/api/v1/campaigns/{other['id']}").status_code == 404
    assert world.get("hongda", f"/api/v1/campaigns/{c['id']}/report").status_code == 403
    regional = world.get("sales_hz", f"/api/v1/campaigns/{c['id']}/report").json()
    assert [r["dealer_id"] for r in regional["per_dealer"]] == [a]
    assert regional["totals"]["leads"] == 1 and regional["totals"]["cost_per_lead_fen"] is None


def test_campaign_life_cycle_and_bad_input(world):
    a, _, _ = setup(world)
    planned = plan(world, activate=False)

    early = lead(world, "mkt", planned["id"], "某公司", "13700000001", dealer_id=a)
    started = world.post("mkt", f"/api/v1/campaigns/{planned['id']}/activate")
    ok = lead(world, "mkt", planned["id"], "某公司", "13700000001", dealer_id=a)
    duplicate = lead(world, "mkt", planned["id"], "某公司2", "137 0000 0001", dealer_id=a)
    bad_phone = lead(world, "mkt", planned["id"], "某公司3", "12345", dealer_id=a)
    closed = world.post("mkt", f"/api/v1/campaigns/{planned['id']}/close", {"actual_cost_fen": 800_000})
    late = lead(world, "mkt", planned["id"], "某公司4", "13700000004", dealer_id=a)
    inverted = world.post("mkt", "/api/v1/campaigns/", {"name": "x", "target_segment": "y", "budget_fen": 1,
                                                         "starts_on": "2026-03-10", "ends_on": "2026-03-01"})
    negative = world.post("mkt", "/api/v1/campaigns/", {"name": "x", "target_segment": "y", "budget_fen": -1,
                                                         "starts_on": "2026-03-01", "ends_on": "2026-03-10"})
    report = world.get("mkt", f"/api/v1/campaigns/{planned['id']}/report").json()

    assert early.status_code == 409 and early.json()["code"] == "campaign.not_accepting_leads"
    assert started.json()["status"] == "active" and ok.status_code == 201
    assert duplicate.status_code == 409
    assert bad_phone.status_code == 422 and bad_phone.json()["code"] == "phone.malformed"
    assert closed.json()["status"] == "closed"
    assert late.status_code == 409
    assert inverted.status_code == 422 and inverted.json()["code"] == "campaign.period_inverted"
    assert negative.status_code == 422
    assert (report["totals"]["cost_fen"], report["totals"]["cost_per_lead_fen"]) == (800_000, 800_000)


def test_dealers_see_and_join_campaigns_for_their_region_only(world):
    a, b, _ = setup(world)
    central = plan(world, name="华中推介", regions=["华中"])
    everywhere = plan(world, name="全国线上推广", regions=[])

    seen_by_b = [x["id"] for x in world.get("shuntong", "/api/v1/campaigns/").json()["items"]]
    join_foreign = lead(world, "shuntong", central["id"], "客户", "13700000001")
    join_open = lead(world, "shuntong", everywhere["id"], "客户", "13700000001")
    staff_for_outsider = lead(world, "mkt", central["id"], "客户", "13700000002", dealer_id=b)

    assert seen_by_b == [everywhere["id"]]
    assert world.get("shuntong", f"/api/v1/campaigns/{central['id']}").status_code == 404
    assert join_foreign.status_code == 404
    assert join_open.status_code == 201
    assert staff_for_outsider.status_code == 422 and staff_for_outsider.json()["code"] == "lead.dealer_outside_campaign"


def test_a_target_list_is_selected_by_criteria_and_invited_through_the_outbox_once(world):
    from sqlalchemy import update

    from dealercrm.adapters.db.orm import dealer_contacts

    a, b, _ = setup(world)
    c = world.dealer(username="huanan", name="广州华南专用车有限公司", region="华南")  # outside the regions
    world.agreement(c)
    d = world.dealer(username="zixie", name="洛阳自卸车销售有限公司")  # 华中, but no tanker agreement
    world.agreement(d, lines=("dump_truck",))
    with world.crm.engine.begin() as conn:
        conn.execute(update(dealer_contacts).where(dealer_contacts.c.dealer_id == a).values(email="wang@hongda.example"))
    campaign = plan(world)["id"]

    targets = world.get("mkt", f"/api/v1/campaigns/{campaign}/targets")
    assert targets.status_code == 200, targets.text
    assert [(t["dealer_id"], t["email"]) for t in targets.json()["items"]] == [(a, "wang@hongda.example"), (b, None)]
    assert world.get("mkt", f"/api/v1/campaigns/{campaign}/targets", params={"value_class": "A"}).json()["items"] == []
    assert world.get("sales_hz", f"/api/v1/campaigns/{campaign}/targets").status_code == 403

    sent = world.post("mkt", f"/api/v1/campaigns/{campaign}/invitations", {})
    again = world.post("mkt", f"/api/v1/campaigns/{campaign}/invitations", {})
    assert sent.json() == {"targets": 2, "invited": 1, "without_email": 1} == again.json()
    mails = [m for m in world.outbox() if m["template_code"] == "campaign.invitation"]
    assert [m["recipient"] for m in mails] == ["wang@hongda.example"]  # once, however often invited
    bad = world.post("mkt", f"/api/v1/campaigns/{campaign}/invitations", {"value_classes": ["E"]})
    assert bad.status_code == 422


def test_campaigns_are_planned_within_the_years_marketing_budget_and_the_plan_shows_roi(world):
    setup(world)
    assert world.put("mkt", "/api/v1/campaigns/plans/2026", {"budget_fen": 1_500_000, "note": "2026年度预算"}
                     ).status_code == 200
    first = plan(world)  # ¥10,000 of ¥15,000
    over = world.post("mkt", "/api/v1/campaigns/", {
        "name": "夏季展会", "target_segment": "危化品运输企业", "budget_fen": 600_000, "starts_on": "2026-06-01",
        "ends_on": "2026-06-30", "product_lines": ["tanker"], "regions": ["华中"]})
    assert over.status_code == 409 and over.json()["code"] == "campaign.over_year_budget", over.text
    assert over.json()["remaining_fen"] == 500_000
    lower = world.put("mkt", "/api/v1/campaigns/plans/2026", {"budget_fen": 900_000})
    assert lower.status_code == 409 and lower.json()["code"] == "marketing_plan.below_planned"

    report = world.get("mkt", "/api/v1/campaigns/plans/2026").json()
    assert (report["budget_fen"], report["planned_fen"], report["remaining_fen"]) == (1_500_000, 1_000_000, 500_000)
    assert [c["id"] for c in report["campaigns"]] == [first["id"]]
    assert report["totals"]["cost_fen"] == 1_000_000 and report["totals"]["roi_pct"] == -100.0
    assert world.get("sales_hz", "/api/v1/campaigns/plans/2026").status_code == 403


def test_each_follow_up_is_logged_and_the_next_contact_day_is_a_beijing_day(world_factory):
    w = world_factory(dt.datetime(2026, 3, 9, 17, 0, tzinfo=dt.UTC))  # already 10 March in Beijing
    a, _, tpl = setup(w)
    c = plan(w)
    first = lead(w, "mkt", c["id"], "中石化河南", "13700000001", dealer_id=a).json()["id"]
    second = lead(w, "mkt", c["id"], "郑州运通物流", "13700000002", dealer_id=a).json()["id"]
    order = w.order("hongda", tpl["tanker"])
    url = f"/api/v1/leads/{first}"

    no_body = w.post("hongda", f"{url}/contacted")
    no_note = w.post("hongda", f"{url}/contacted", {"channel": "phone", "note": "  "})
    bad_channel = w.post("hongda", f"{url}/contacted", {**CALL, "channel": "pigeon"})
    too_long = w.post("hongda", f"{url}/contacted", {**CALL, "note": "长" * 1001})
    utc_today = w.post("hongda", f"{url}/contacted", {**CALL, "next_contact_on": "2026-03-09"})
    called = w.post("hongda", f"{url}/contacted", {**CALL, "next_contact_on": "2026-03-10"})
    due_now = w.get("hongda", "/api/v1/leads/?due=true").json()["items"]
    w.clock.advance(hours=1)
    visited = w.post("mkt", f"{url}/contacted", {"channel": "visit", "note": "上门拜访", "next_contact_on": "2026-03-12"})
    later = w.post("hongda", f"/api/v1/leads/{second}/contacted", {**CALL, "next_contact_on": "2026-03-11"})
    due_after_visit = w.get("hongda", "/api/v1/leads/?due=true").json()["items"]
    w.clock.advance(days=2)  # 12 March in Beijing
    due_later = w.get("hongda", "/api/v1/leads/?due=true").json()["items"]
    bench = {c["code"]: c for c in w.get("hongda", "/api/v1/workbench/").json()["categories"]}
    closing_date = w.post("hongda", f"{url}/convert", {"order_id": order["id"], "next_contact_on": "2026-03-20"})
    converted = w.post("hongda", f"{url}/convert", {"order_id": order["id"], "channel": "wechat", "note": "微信确认下单"})
    log = w.get("hongda", f"{url}/follow-ups").json()["items"]
    detail = w.get("hongda", url).json()

    assert no_body.status_code == 422 and no_body.json()["field"] == "channel"
    assert no_note.status_code == 422 and no_note.json()["field"] == "note"
    assert bad_channel.status_code == 422 and bad_channel.json()["field"] == "channel"
    assert too_long.status_code == 422 and too_long.json()["field"] == "note"
    assert utc_today.status_code == 422 and utc_today.json()["code"] == "lead.next_contact_past"
    assert utc_today.json()["field"] == "next_contact_on"
    assert called.json()["status"] == visited.json()["status"] == later.json()["status"] == "contacted"
    assert [(x["id"], x["due"]) for x in due_now] == [(first, True)]  # 10 March in Beijing, the 9th in UTC
    assert due_after_visit == []  # first's next contact moved to 12 March, second's is 11 March
    assert [x["id"] for x in due_later] == [second, first]
    assert (due_later[1]["due"], due_later[1]["next_contact_on"], due_later[1]["last_follow_up_channel"]) == (
        True, "2026-03-12", "visit")
    tasks = bench["tasks"]["items"]
    assert bench["tasks"]["count"] == 2 and [t["subject_id"] for t in tasks] == [str(second), str(first)]
    assert closing_date.status_code == 422 and closing_date.json()["field"] == "next_contact_on"
    assert converted.json()["status"] == "converted"
    assert [(f["outcome"], f["channel"], f["by_name"]) for f in log] == [
        ("converted", "wechat", "hongda"), ("contacted", "visit", "mkt"), ("contacted", "phone", "hongda")]
    assert log[2]["next_contact_on"] == "2026-03-10" and log[1]["note"] == "上门拜访"
    assert dt.datetime.fromisoformat(log[2]["at"]).astimezone(BEIJING).date() == dt.date(2026, 3, 10)
    assert (detail["next_contact_on"], detail["due"], detail["last_follow_up_note"]) == (None, False, "微信确认下单")
