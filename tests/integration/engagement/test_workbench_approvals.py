"""The workflow's open steps on the workbench (category ``approvals``) and their due dates on the
calendar and in the iCalendar feed — only for whoever may decide them."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
from litestar.testing import TestClient

from tests.apps import app_for

from .conftest import SYSTEM
from .test_engagement_api import category, login

START = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def env(world_factory):
    w = world_factory(start=START)
    with TestClient(app_for(w.crm, w.settings)) as client:
        yield w, client


def test_pending_dealer_review_is_on_the_deciders_workbench_and_calendar(env):
    w, client = env
    rm = w.user("region_manager", regions=("华中",), username="rm_huazhong")
    rm_east = w.user("region_manager", regions=("华东",), username="rm_huadong")
    pending, _ = w.dealer(name="洛阳恒通专用车有限公司", approve=False, username="hengtong")
    other, _ = w.dealer(name="临沂顺通汽车贸易有限公司", region="华东", username="shuntong")
    w.crm.channel.submit(SYSTEM, pending)

    bench = client.get("/api/v1/workbench/", headers=login(client, rm.username)).json()
    approvals = category(bench, "approvals")
    assert approvals["count"] == 1
    [item] = approvals["items"]
    assert item["subject_type"] == "dealer" and item["subject_id"] == str(pending)
    assert "洛阳恒通" in item["title"] and item["due"] is not None

    # the region manager of another region and the dealers themselves have nothing to decide
    for username in (rm_east.username, "hengtong", "shuntong"):
        other_bench = client.get("/api/v1/workbench/", headers=login(client, username)).json()
        assert category(other_bench, "approvals")["count"] == 0, username
        assert "洛阳恒通" not in str(other_bench)

    cal = client.get("/api/v1/calendar/?from=2026-03-01&to=2026-04-01", headers=login(client, rm.username)).json()
    [deadline] = [x for x in cal["items"] if x["source"] == "workflow.deadline"]
    assert deadline["title"].startswith("审批截止") and deadline["start"] == "2026-03-05"

    token = client.post("/api/v1/calendar/feed-token", headers=login(client, rm.username)).json()["token"]
    feed = client.get(f"/api/v1/calendar/feed/{token}.ics")
    events = [e for e in icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
              if str(e["UID"]).startswith("workflow-step-")]
    assert len(events) == 1 and events[0]["DTSTART"].dt == dt.date(2026, 3, 5)

    # deciding the step takes it off the workbench and the calendar
    assert client.post(f"/api/v1/dealers/{pending}/approve", headers=login(client, rm.username)).status_code == 200
    bench = client.get("/api/v1/workbench/", headers=login(client, rm.username)).json()
    assert category(bench, "approvals")["count"] == 0
    assert other  # the 华东 dealer stayed out of every answer above
