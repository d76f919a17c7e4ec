"""Isolation matrix for the marketing routes: dealer A's token on every route that takes an id,
with dealer B's ids, answers 404 (or 403 where the route is for staff only) and changes nothing;
A's lists hold none of B's rows."""

from __future__ import annotations

import re

from .conftest import at_beijing

DAY = __import__("datetime").date(2026, 3, 10)


def test_dealer_a_reaches_nothing_of_dealer_b(world):
    w = world
    a = w.dealer(username="hongda")
    b = w.dealer(username="shuntong", name="临沂顺通汽车贸易有限公司", region="华东")
    w.agreement(b)
    w.user("marketing", username="mkt")
    w.user("technical", username="tech")
    tpl = w.templates()
    training = w.post("mkt", "/api/v1/trainings/", {
        "title": "仅限顺通", "topic": "产品", "audience": "dealers", "starts_at": at_beijing(DAY, 9),
        "ends_at": at_beijing(DAY, 10), "online": True, "invitees": [{"kind": "dealer", "id": b}]}).json()["id"]
    staff_article = w.post("tech", "/api/v1/knowledge/articles", {
        "title": "内部资料", "topic": "内部", "kind": "faq", "body": "仅限员工", "publish": True}).json()["id"]
    account = w.post("shuntong", "/api/v1/key-accounts/", {"name": "顺通大客户", "industry": "物流",
                                                            "region": "华东"}).json()["id"]
    campaign = w.post("mkt", "/api/v1/campaigns/", {
        "name": "华东推介", "target_segment": "物流", "budget_fen": 100, "starts_on": "2026-03-01",
        "ends_on": "2026-03-31", "regions": ["华东"], "activate": True}).json()["id"]
    lead = w.post("shuntong", f"/api/v1/campaigns/{campaign}/leads", {"name": "客户", "phone": "13700000001"}).json()["id"]
    order = w.order("shuntong", tpl["tanker"])
    w.post("shuntong", "/api/v1/forecasts/", {"month": "2026-04", "lines": [{"product_line": "tanker", "quantity": 3}]})
    for_b = w.post("tech", "/api/v1/knowledge/articles", {
        "title": "顺通必读", "topic": "产品", "kind": "faq", "body": "仅限顺通", "audience": ["dealers"],
        "publish": True}).json()["id"]
    assignment = w.post("tech", "/api/v1/knowledge/assignments", {
        "article_id": for_b, "readership": "dealers", "target_ids": [b], "due_on": "2026-03-31"}).json()["id"]
    ids = {"training_id": training, "participant_id": 1, "article_id": staff_article, "account_id": account,
           "campaign_id": campaign, "lead_id": lead, "assignment_id": assignment,
           "year": 2026}  # the year's marketing plan: staff only
    bodies = {"response": {"confirm": True}, "convert": {"order_id": order["id"]}, "lost": {"reason": "x"},
              "bids": {"title": "x", "bid_on": "2026-03-01", "outcome": "won", "amount_fen": 1},
              "feedback": {"feedback_score": 5}, "leads": {"name": "冒名客户", "phone": "13700000009"},
              "participants": {"participants": [{"invitation_id": 1, "name": "x"}]}, "cancel": {"reason": "x"},
              "invitations": {"invitees": [{"kind": "dealer", "id": a}]}, "close": {}, "budget": {"budget_fen": 1}}

    checked = []
    for route in w.client.app.routes:
        if not route.path.startswith(("/api/v1/trainings", "/api/v1/knowledge", "/api/v1/key-accounts",
                                      "/api/v1/campaigns", "/api/v1/leads")) or "{" not in route.path:
            continue
        path = re.sub(r"\{([a-z_]+):int\}", lambda m: str(ids[m.group(1)]), route.path)
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                body = next((v for k, v in bodies.items() if path.endswith(k)), {})
                r = w.client.request(method, path, headers=w.h("hongda"), json=body if method != "GET" else None)
                assert r.status_code in (403, 404), (method, path, r.status_code, r.text)
                checked.append((method, path))

    lists = [w.get("hongda", p).json()["items"] for p in (
        "/api/v1/trainings/", "/api/v1/knowledge/articles", "/api/v1/key-accounts/", "/api/v1/campaigns/",
        "/api/v1/leads/", "/api/v1/forecasts/")]
    report = w.get("hongda", "/api/v1/forecasts/report", params={"month": "2026-04"}).json()
    assert len(checked) > 25
    assert [r["id"] for r in lists.pop(1)] == [for_b]  # an article for dealers is for every dealer
    assert lists == [[], [], [], [], []]
    assert report["dealers"] == []
    assert w.get("hongda", "/api/v1/knowledge/assignments").json()["items"] == []  # B's required reading
    assert w.get("shuntong", f"/api/v1/leads/{lead}").json()["status"] == "new"
    assert w.get("shuntong", f"/api/v1/trainings/{training}").json()["invitations"][0]["response"] == "pending"
    assert a != b
