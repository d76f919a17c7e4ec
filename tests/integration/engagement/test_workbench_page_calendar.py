"""The workbench page reads each source once for its section and its two-week calendar
(``EngagementService.workbench_with_calendar``): the categories and calendar items are the ones
``workbench`` and ``calendar`` give alone; an alert, an announcement, a training invitation and an
approval deadline show both in their section and on their Beijing day, and the page renders them —
with the clock just after midnight in Beijing, while it is still the day before in UTC."""

from __future__ import annotations

import datetime as dt
import re

from litestar.testing import TestClient

from dealercrm.application.alerts import raise_alert
from dealercrm.application.announcements import PublishAnnouncement
from dealercrm.application.training import CreateTraining, InviteeIn
from dealercrm.domain.alerts import Audience, Condition, Severity
from dealercrm.domain.identity import Role
from tests.apps import app_for

from .conftest import PASSWORD, SYSTEM

# 00:30 on Monday 2 March in Beijing, still Sunday 1 March in UTC
START = dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 2)
UNTIL = TODAY + dt.timedelta(days=14)
CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')


def region_manager_alert(w, key, title, due, severity=Severity.WARNING):
    with w.crm.uow(SYSTEM) as uow:
        alert_id = raise_alert(uow, "test.page", Condition(
            key=key, audience=Audience(roles=(Role.REGION_MANAGER,)), title=title, body=f"{title}：请跟进",
            severity=severity, due_on=due), now=w.clock())
        uow.commit()
    return alert_id


def training(w, organizer, invitee, title, starts_at):
    return w.crm.marketing.create_training(organizer, CreateTraining(
        title=title, topic="罐车保养", audience="sales", starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=2), online=False, location="郑州",
        invitees=(InviteeIn("user", invitee.user_id),))).id


def test_the_workbench_page_shows_each_item_in_its_section_and_on_its_beijing_day(world_factory):
    w = world_factory(start=START, session_secret="s" * 48)
    rm = w.user("region_manager", regions=("华中",), username="rm_page")
    marketing = w.user("marketing", username="mkt_page")
    pending, _ = w.dealer(name="洛阳恒通专用车有限公司", approve=False, username="hengtong")
    w.crm.channel.submit(SYSTEM, pending)  # the registration review: an approval with a deadline
    w.clock.advance(minutes=-31)  # 23:59 on 1 March in Beijing
    yesterday = w.crm.engagement.publish_announcement(marketing, PublishAnnouncement("三月政策", "昨晚发布"))
    w.clock.advance(minutes=31)
    today = w.crm.engagement.publish_announcement(marketing, PublishAnnouncement("春季订货会", "今日发布"))
    later = w.crm.engagement.publish_announcement(marketing, PublishAnnouncement(
        "清明放假", "排期发布", publish_from=dt.datetime(2026, 3, 10, 1, 0, tzinfo=dt.UTC)))
    soon = training(w, marketing, rm, "三月培训", dt.datetime(2026, 3, 5, 2, 0, tzinfo=dt.UTC))
    training(w, marketing, rm, "四月培训", dt.datetime(2026, 4, 1, 2, 0, tzinfo=dt.UTC))
    declined = training(w, marketing, rm, "谢绝的培训", dt.datetime(2026, 3, 4, 2, 0, tzinfo=dt.UTC))
    w.crm.marketing.respond(rm, declined, False, "时间冲突")
    due_today = region_manager_alert(w, "a-today", "今日到期预警", TODAY)
    due_last = region_manager_alert(w, "a-last", "两周末日预警", UNTIL - dt.timedelta(days=1), Severity.INFO)
    region_manager_alert(w, "a-utc", "UTC今日预警", dt.date(2026, 3, 1), Severity.CRITICAL)
    region_manager_alert(w, "a-after", "两周后预警", UNTIL, Severity.CRITICAL)

    view = w.crm.engagement.workbench_with_calendar(rm, TODAY, UNTIL, limit=2)

    assert view.categories == w.crm.engagement.workbench(rm, limit=2)
    assert view.calendar == w.crm.engagement.calendar(rm, TODAY, UNTIL)
    organizer = w.crm.engagement.workbench_with_calendar(marketing, TODAY, UNTIL, limit=2)
    assert organizer.categories == w.crm.engagement.workbench(marketing, limit=2)
    assert organizer.calendar == w.crm.engagement.calendar(marketing, TODAY, UNTIL)
    assert f"training-{declined}@dealercrm" in [i.uid for i in organizer.calendar]
    sections = {c.code: c for c in view.categories}
    assert (sections["alerts"].count, sections["announcements"].count, sections["approvals"].count,
            sections["tasks"].count) == (4, 2, 1, 2)
    assert [i.title for i in sections["tasks"].items] == ["请确认是否参加培训：三月培训", "请确认是否参加培训：四月培训"]
    # the section shows the two most severe alerts; the calendar every alert due in the fortnight
    assert [i.title for i in sections["alerts"].items] == ["UTC今日预警", "两周后预警"]
    assert {i.extra["announcement_id"] for i in sections["announcements"].items} == {yesterday, today}
    [step] = sections["approvals"].items
    deadline = step.due.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    assert TODAY <= deadline < UNTIL
    assert [(i.uid, i.start) for i in view.calendar] == [
        (f"alert-{due_today}@dealercrm", TODAY),
        (f"announcement-{today}@dealercrm", TODAY),
        (f"workflow-step-{step.extra['step_id']}@dealercrm", deadline),
        (f"training-{soon}@dealercrm", dt.datetime(2026, 3, 5, 2, 0, tzinfo=dt.UTC)),
        (f"announcement-{later}@dealercrm", dt.date(2026, 3, 10)),
        (f"alert-{due_last}@dealercrm", UNTIL - dt.timedelta(days=1)),
    ]

    with TestClient(app_for(w.crm, w.settings)) as client:
        form = client.get("/login").text
        token = CSRF_INPUT.search(form).group(1)
        client.post("/login", data={"username": rm.username, "password": PASSWORD, "_csrf_token": token})
        html = client.get("/").text
    calendar = html[html.index('id="wb-calendar"'):]
    alerts = html[html.index('id="wb-alerts"'):html.index('id="wb-announcements"')]
    assert "UTC今日预警" in alerts and "两周后预警" in alerts
    for title in ("今日到期预警", "公告：春季订货会", "审批截止：", "培训：三月培训", "公告：清明放假", "两周末日预警"):
        assert title in calendar, title
    for title in ("UTC今日预警", "两周后预警", "三月政策", "四月培训", "谢绝的培训"):
        assert title not in calendar, title
    assert calendar.index("今日到期预警") < calendar.index("公告：清明放假") < calendar.index("两周末日预警")
