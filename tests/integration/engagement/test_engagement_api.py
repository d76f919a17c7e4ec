"""Workbench, alerts, announcements, calendar and failed notifications over HTTP, on SQLite and
PostgreSQL — including that a dealer user sees nothing of another dealer."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
from litestar.testing import TestClient

from dealercrm.adapters.notify.sql_outbox import SqlAlchemyOutboxStore
from dealercrm.application.alerts import raise_alert
from dealercrm.domain.alerts import Audience, Condition, Severity
from dealercrm.domain.identity import Role
from tests.apps import app_for

from .conftest import PASSWORD, SYSTEM

START = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing


@pytest.fixture
def env(world_factory):
    w = world_factory(start=START)
    client = TestClient(app_for(w.crm, w.settings))
    with client:
        yield w, client


def login(client, username):
    r = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def dealer_alert(w, dealer_id, key, title, due=None, severity=Severity.WARNING):
    with w.crm.uow(SYSTEM) as uow:
        alert_id = raise_alert(uow, "test.dealer", Condition(
            key=key, audience=Audience(dealer_ids=(dealer_id,)), title=title, body=f"{title}：请尽快处理",
            severity=severity, subject_type="dealer", subject_id=str(dealer_id), due_on=due), now=w.clock())
        uow.commit()
    return alert_id


def two_dealers(w):
    a, _ = w.dealer(name="郑州宏达专用车销售有限公司", username="hongda")
    b, _ = w.dealer(name="临沂顺通汽车贸易有限公司", region="华东", username="shuntong")
    return a, b


def category(workbench, code):
    return next(c for c in workbench["categories"] if c["code"] == code)


def test_a_dealer_user_sees_nothing_of_another_dealer(env):
    w, client = env
    a, b = two_dealers(w)
    mkt = w.user("marketing", username="mkt")
    mine = dealer_alert(w, a, "a-1", "宏达：信用额度预警", due=dt.date(2026, 3, 10))
    theirs = dealer_alert(w, b, "b-1", "顺通：信用额度预警", due=dt.date(2026, 3, 11))
    m = login(client, mkt.username)
    for_b = client.post("/api/v1/announcements/", headers=m, json={
        "title": "顺通专享返利政策", "body": "仅限顺通", "audience": "dealers", "dealer_ids": [b], "category": "policy"}).json()
    for_all = client.post("/api/v1/announcements/", headers=m, json={"title": "春季订货会", "body": "全体"}).json()
    hongda = login(client, "hongda")

    bench = client.get("/api/v1/workbench/", headers=hongda).json()
    listed = client.get("/api/v1/alerts/", headers=hongda).json()["items"]
    anns = client.get("/api/v1/announcements/", headers=hongda).json()["items"]
    cal = client.get("/api/v1/calendar/?from=2026-03-01&to=2026-04-01", headers=hongda).json()["items"]

    assert [c["code"] for c in bench["categories"]] == ["approvals", "tasks", "alerts", "announcements"]
    assert category(bench, "alerts")["count"] == 1
    assert [i["title"] for i in category(bench, "alerts")["items"]] == ["宏达：信用额度预警"]
    assert [i["extra"]["announcement_id"] for i in category(bench, "announcements")["items"]] == [for_all["id"]]
    assert [x["id"] for x in listed] == [mine]
    assert [x["id"] for x in anns] == [for_all["id"]]
    assert [x["uid"] for x in cal if x["source"] == "alerts"] == [f"alert-{mine}@dealercrm"]
    assert "顺通" not in str(bench) + str(listed) + str(anns) + str(cal)
    for r in (client.get(f"/api/v1/alerts/{theirs}", headers=hongda),
              client.post(f"/api/v1/alerts/{theirs}/acknowledge", headers=hongda),
              client.get(f"/api/v1/announcements/{for_b['id']}", headers=hongda),
              client.post(f"/api/v1/announcements/{for_b['id']}/read", headers=hongda)):
        assert r.status_code == 404, r.text
        assert "顺通" not in r.text
    assert client.get(f"/api/v1/alerts/{theirs}", headers=login(client, "shuntong")).status_code == 200


def test_the_workbench_counts_and_orders_a_staff_users_alerts_and_announcements(env):
    w, client = env
    finance = w.user("finance", username="caiwu")
    with w.crm.uow(SYSTEM) as uow:
        for i, sev in enumerate([Severity.INFO, Severity.CRITICAL, Severity.WARNING]):
            raise_alert(uow, "test.credit", Condition(key=f"d-{i}", audience=Audience(roles=(Role.FINANCE,)),
                                                      title=f"预警{i}", severity=sev), now=w.clock())
        uow.commit()
    mkt = login(client, w.user("marketing", username="mkt").username)
    client.post("/api/v1/announcements/", headers=mkt, json={"title": "财务制度调整", "body": "内容",
                                                             "audience": "roles", "roles": ["finance"]})
    read_one = client.post("/api/v1/announcements/", headers=mkt, json={"title": "企业动态", "body": "内容"}).json()
    cw = login(client, finance.username)
    client.post(f"/api/v1/announcements/{read_one['id']}/read", headers=cw)

    bench = client.get("/api/v1/workbench/?limit=2", headers=cw).json()

    alerts = category(bench, "alerts")
    assert alerts["count"] == 3 and [i["title"] for i in alerts["items"]] == ["预警1", "预警2"]  # most severe first
    anns = category(bench, "announcements")
    assert (anns["count"], anns["unread"]) == (2, 1)
    assert [(i["title"], i["unread"]) for i in anns["items"]] == [("财务制度调整", True), ("企业动态", False)]
    assert category(bench, "failed_notifications")["count"] == 0
    assert category(bench, "approvals") == {"code": "approvals", "label": "待审批", "count": 0, "unread": 0,
                                            "items": []}


def test_acknowledging_an_alert_over_http(env):
    w, client = env
    a, _ = two_dealers(w)
    alert_id = dealer_alert(w, a, "a-1", "到货回执缺失")
    hongda = login(client, "hongda")

    r = client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=hongda)
    twice = client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=hongda)

    assert r.json() == {"id": alert_id, "state": "acknowledged", "state_label": "已知悉"}
    assert twice.status_code == 409 and twice.json()["current_state"] == "acknowledged"
    assert [x["id"] for x in client.get("/api/v1/alerts/?state=acknowledged", headers=hongda).json()["items"]] == [
        alert_id]
    assert client.get("/api/v1/alerts/?state=open", headers=hongda).json()["items"] == []
    assert client.get("/api/v1/alerts/?state=bogus", headers=hongda).json()["field"] == "state"


def test_announcements_are_published_edited_withdrawn_and_read_with_receipts(env):
    w, client = env
    a, b = two_dealers(w)
    w.user("finance", username="caiwu")
    mkt = login(client, w.user("marketing", username="mkt").username)
    created = client.post("/api/v1/announcements/", headers=mkt, json={
        "title": "经销商大会通知", "body": "3月20日在郑州召开", "audience": "dealers", "dealer_ids": [a, b]})
    ann = created.json()["id"]
    hongda, shuntong = login(client, "hongda"), login(client, "shuntong")

    edited = client.patch(f"/api/v1/announcements/{ann}", headers=mkt, json={"title": "经销商大会通知（改期）"})
    first = client.post(f"/api/v1/announcements/{ann}/read", headers=hongda).json()
    w.clock.now += dt.timedelta(minutes=30)
    second = client.post(f"/api/v1/announcements/{ann}/read", headers=hongda).json()
    receipts = client.get(f"/api/v1/announcements/{ann}/receipts", headers=mkt).json()
    withdrawn = client.post(f"/api/v1/announcements/{ann}/withdraw", headers=mkt)
    again = client.post(f"/api/v1/announcements/{ann}/withdraw", headers=mkt)

    assert created.status_code == 201
    assert edited.json()["title"] == "经销商大会通知（改期）" and edited.json()["dealer_ids"] == sorted([a, b])
    assert first == second  # idempotent: the first read time is kept
    assert [r["username"] for r in receipts["read"]] == ["hongda"]
    assert [r["username"] for r in receipts["unread"]] == ["shuntong"]
    assert (receipts["read_count"], receipts["unread_count"]) == (1, 1)
    assert withdrawn.json()["status"] == "withdrawn"
    assert again.status_code == 409 and again.json()["current_state"] == "withdrawn"
    assert client.get("/api/v1/announcements/", headers=shuntong).json()["items"] == []
    assert client.get(f"/api/v1/announcements/{ann}", headers=shuntong).status_code == 404
    managed = client.get("/api/v1/announcements/?manage=true", headers=mkt).json()["items"]
    assert [(x["id"], x["status"]) for x in managed] == [(ann, "withdrawn")]


def test_an_announcement_is_visible_only_inside_its_publish_window(env):
    w, client = env
    finance = w.user("finance", username="caiwu")
    mkt = login(client, w.user("marketing", username="mkt").username)
    ann = client.post("/api/v1/announcements/", headers=mkt, json={
        "title": "五一放假安排", "body": "内容", "publish_from": "2026-04-20T00:00:00+08:00",
        "publish_until": "2026-05-06T00:00:00+08:00"}).json()["id"]
    cw = login(client, finance.username)

    before = client.get("/api/v1/announcements/", headers=cw).json()["items"]
    w.clock.now = dt.datetime(2026, 4, 25, tzinfo=dt.UTC)
    during = client.get("/api/v1/announcements/", headers=cw).json()["items"]
    w.clock.now = dt.datetime(2026, 5, 7, tzinfo=dt.UTC)
    after = client.get("/api/v1/announcements/", headers=cw).json()["items"]

    assert (before, [x["id"] for x in during], after) == ([], [ann], [])


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"title": "x", "body": "y", "audience": "roles"}, 422, "roles"),
    ({"title": "x", "body": "y", "audience": "roles", "roles": ["kiosk"]}, 422, "roles"),
    ({"title": "x", "body": "y", "audience": "dealers", "dealer_ids": [999999]}, 422, "dealer_ids"),
    ({"title": "x", "body": "y", "audience": "everyone"}, 422, "audience"),
    ({"title": "x", "body": "y", "publish_from": "2026-04-02T00:00:00+08:00",
      "publish_until": "2026-04-01T00:00:00+08:00"}, 422, "publish_until"),
    ({"title": "x", "body": "y", "publish_from": "2026-04-02T00:00:00"}, 422, "publish_from"),
    ({"title": "x", "body": "y", "status": "withdrawn"}, 422, "status"),
    ({"title": "", "body": "y"}, 422, "title"),
])
def test_bad_announcements_get_422_naming_the_field_and_nothing_is_written(env, body, status, field):
    w, client = env
    mkt = login(client, w.user("marketing", username="mkt").username)

    r = client.post("/api/v1/announcements/", headers=mkt, json=body)

    assert r.status_code == status, r.text
    assert r.json()["field"] == field
    assert client.get("/api/v1/announcements/?manage=true", headers=mkt).json()["items"] == []


def test_only_marketing_and_admin_publish_or_see_receipts(env):
    w, client = env
    two_dealers(w)
    sales = login(client, w.user("sales", username="xiaoshou", regions=("华中",)).username)
    hongda = login(client, "hongda")
    mkt = login(client, w.user("marketing", username="mkt").username)
    ann = client.post("/api/v1/announcements/", headers=mkt, json={"title": "t", "body": "b"}).json()["id"]

    assert client.post("/api/v1/announcements/", headers=hongda, json={"title": "t", "body": "b"}).status_code == 403
    assert client.post("/api/v1/announcements/", headers=sales, json={"title": "t", "body": "b"}).status_code == 403
    assert client.get(f"/api/v1/announcements/{ann}/receipts", headers=sales).status_code == 403
    assert client.get("/api/v1/announcements/?manage=true", headers=sales).status_code == 403
    assert client.post(f"/api/v1/announcements/{ann}/withdraw", headers=hongda).status_code == 403


def test_the_calendar_feed_parses_as_icalendar_and_a_rotated_token_stops_working(env):
    w, client = env
    a, _ = two_dealers(w)
    dealer_alert(w, a, "a-1", "交付日期：SO-2026-000123，罐式车 2台；请安排提车", due=dt.date(2026, 3, 9))
    hongda = login(client, "hongda")
    old = client.post("/api/v1/calendar/feed-token", headers=hongda).json()
    path = old["url"].split("testserver.local", 1)[1]

    r = client.get(path)
    new = client.post("/api/v1/calendar/feed-token", headers=hongda).json()
    stale = client.get(path)
    fresh = client.get(new["url"].split("testserver.local", 1)[1])

    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    raw = r.content
    assert raw.count(b"\r\n") == raw.count(b"\n")  # CRLF everywhere
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    cal = icalendar.Calendar.from_ical(raw)
    assert cal["VERSION"] == "2.0" and cal["PRODID"]
    [event] = [e for e in cal.walk("VEVENT") if str(e["UID"]).startswith("alert-")]
    assert str(event["SUMMARY"]) == "交付日期：SO-2026-000123，罐式车 2台；请安排提车"
    assert event["DTSTART"].dt == dt.date(2026, 3, 9) and event["DTEND"].dt == dt.date(2026, 3, 10)
    assert event["DTSTAMP"].dt == START
    assert stale.status_code == 404 and fresh.status_code == 200
    assert client.get("/api/v1/calendar/feed/cal_guessed-token-0000000000000.ics").status_code == 404
    assert client.get(path.replace(".ics", ".json")).status_code == 404


def test_the_calendar_range_is_checked(env):
    w, client = env
    admin = login(client, w.user("admin", username="root").username)

    inverted = client.get("/api/v1/calendar/?from=2026-03-10&to=2026-03-01", headers=admin)
    too_long = client.get("/api/v1/calendar/?from=2026-01-01&to=2027-06-01", headers=admin)
    missing = client.get("/api/v1/calendar/?from=2026-01-01", headers=admin)

    assert (inverted.status_code, inverted.json()["code"]) == (422, "calendar.range_inverted")
    assert (too_long.status_code, too_long.json()["code"]) == (422, "calendar.range_too_long")
    assert missing.status_code == 400 or missing.status_code == 422


def test_failed_notifications_show_to_admin_and_their_owner_and_admin_requeues_them(env):
    w, client = env
    manager = w.user("region_manager", username="quyu", regions=("华中",))
    w.user("finance", username="caiwu")
    root = w.user("admin", username="root")
    reg_a, _ = w.dealer(approve=False, username="hongda")
    w.crm.channel.submit(SYSTEM, reg_a)
    with w.crm.uow(SYSTEM) as uow:  # the primary contact needs an e-mail to be notified
        uow.dealers.get(reg_a).contacts[0].email = "gm@hongda.example.cn"
        uow.commit()
    w.crm.channel.approve(manager, reg_a)  # queues the approval e-mail, owned by the manager
    store = SqlAlchemyOutboxStore(w.crm.engine)
    [claimed] = store.claim("test-worker", now=w.clock(), lease_until=w.clock() + dt.timedelta(minutes=5), limit=10)
    store.mark_failed(claimed.id, "test-worker", error="550 mailbox unavailable", error_code="notify.rejected")
    rm, cw, admin = login(client, "quyu"), login(client, "caiwu"), login(client, root.username)

    counts = {name: category(client.get("/api/v1/workbench/", headers=h).json(), "failed_notifications")["count"]
              for name, h in (("rm", rm), ("cw", cw), ("admin", admin))}
    mine = client.get("/api/v1/notifications/failed", headers=rm).json()["items"]
    by_owner = client.post(f"/api/v1/notifications/{claimed.id}/requeue", headers=rm)
    requeued = client.post(f"/api/v1/notifications/{claimed.id}/requeue", headers=admin)
    twice = client.post(f"/api/v1/notifications/{claimed.id}/requeue", headers=admin)
    unknown = client.post("/api/v1/notifications/00000000-0000-0000-0000-000000000000/requeue", headers=admin)

    assert counts == {"rm": 1, "cw": 0, "admin": 1}
    assert [i["extra"]["notification_id"] for i in mine] == [claimed.id]
    assert mine[0]["summary"] == "550 mailbox unavailable" and "gm@hongda" not in mine[0]["title"]
    assert by_owner.status_code == 403
    assert requeued.json() == {"id": claimed.id, "status": "pending"}
    assert twice.status_code == 409 and twice.json()["current_state"] == "pending"
    assert unknown.status_code == 404
    assert client.get("/api/v1/notifications/failed", headers=login(client, "hongda")).status_code == 403
