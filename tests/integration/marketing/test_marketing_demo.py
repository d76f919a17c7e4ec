"""The demo seeds trainings (the online one's meeting made at the local video simulator over
HTTP), articles, forecasts, key accounts and a campaign a dealer login can see."""

from __future__ import annotations

from litestar.testing import TestClient

import dealercrm
from dealercrm.adapters.video.http import HttpVideoConferencing
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.demo import DEMO_PASSWORD, load_demo
from dealercrm.entrypoints.http.app import create_app


def test_the_demo_has_marketing_data_for_staff_and_dealers(sqlite_url):
    settings = load_settings({}, database_url=sqlite_url, log_level="WARNING", jwt_secret="d" * 48)
    crm = dealercrm.bootstrap(settings)
    load_demo(crm, dealers=12)

    with TestClient(create_app(settings, container=crm)) as c:
        def login(user):
            r = c.post("/api/v1/auth/login", json={"username": user, "password": DEMO_PASSWORD})
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        mkt = login("marketing")
        trainings = c.get("/api/v1/trainings/", headers=mkt).json()["items"]
        online = c.get(f"/api/v1/trainings/{trainings[-1]['id']}", headers=mkt).json()
        articles = c.get("/api/v1/knowledge/articles", params={"q": "呼吸阀"}, headers=mkt).json()["items"]
        campaign = c.get("/api/v1/campaigns/", headers=mkt).json()["items"][0]
        report = c.get(f"/api/v1/campaigns/{campaign['id']}/report", headers=mkt).json()
        invited = next(i["invitee_id"] for i in online["invitations"] if i["response"] == "confirmed")
        dealer_user = next(u["username"] for u in crm.identity.list_users(Principal.system(), limit=1000)
                           if u["dealer_id"] == invited)
        dealer = login(dealer_user)
        mine = c.get("/api/v1/trainings/", headers=dealer).json()["items"]
        dealer_articles = c.get("/api/v1/knowledge/articles", headers=dealer).json()["items"]
        required = c.get("/api/v1/knowledge/assignments", headers=dealer).json()["items"]
        progress = c.get("/api/v1/knowledge/assignments", headers=login("tech_lead")).json()["items"]
        phrase = c.get("/api/v1/knowledge/articles", params={"q": "液压举升"}, headers=dealer).json()["items"]

    assert isinstance(crm.marketing.video, HttpVideoConferencing)
    assert len(trainings) == 5  # three upcoming, two held (for 培训效果分析)
    assert online["meeting"]["status"] == "created"
    assert online["meeting"]["join_url"].startswith("https://meeting.example.test/j/")
    assert online["vr_url"].startswith("https://")
    # the knowledge article ranks first; the community's accepted answer on the same fault, turned
    # into a draft article by the demo, is found too (marketing sees drafts)
    assert [a["title"] for a in articles] == ["罐体呼吸阀漏气怎么处理？", "罐车呼吸阀漏油，换了密封圈还是漏"]
    assert report["totals"]["leads"] == 8 and report["totals"]["converted"] <= 1
    assert online["id"] in [t["id"] for t in mine]
    assert "三包索赔审核要点（内部）" not in [a["title"] for a in dealer_articles]
    assert len(dealer_articles) == 4
    assert [r["title"] for r in required] == ["半挂车日常保养用户指南"]
    assert [(r["read"], r["addressed"] >= r["read"]) for r in progress] == [(4, True)]
    assert [a["title"] for a in phrase] == ["自卸车举升缓慢的原因与解决方法"]
