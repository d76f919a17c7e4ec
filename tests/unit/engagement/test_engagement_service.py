"""The engagement service's access checks, on fakes (no database), and its fixed tables: an
alert outside its audience, an announcement not addressed to the caller and another user's
failed notification do not exist for the caller; the rules and sources are the ones it was built
with, and adding a rule answers a new service."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from dealercrm.application.alerts import RuleRegistry
from dealercrm.application.calendar import CalendarSources
from dealercrm.application.ports.workbench import WorkbenchItem, WorkbenchSection
from dealercrm.application.services.engagement import EngagementService
from dealercrm.application.workbench import WorkbenchSources
from dealercrm.domain.calendar import CalendarItem
from dealercrm.domain.errors import NotFound, PermissionDenied
from dealercrm.domain.identity import Principal, Role

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
MARKETING = Principal(user_id=1, username="sc", role=Role.MARKETING)
FINANCE = Principal(user_id=2, username="cw", role=Role.FINANCE)
EAST_SALES = Principal(user_id=3, username="hd", role=Role.SALES, regions=("华东",))
CENTRAL_SALES = Principal(user_id=4, username="hz", role=Role.SALES, regions=("华中",))
DEALER_5 = Principal(user_id=5, username="hd5", role=Role.DEALER, dealer_id=5)
ADMIN = Principal(user_id=6, username="admin", role=Role.ADMIN)


class FakeEngagementQueries:
    """Alert 1 is for finance and central sales; announcement 1 is addressed to dealer 5 only."""

    alerts = {1: {"id": 1, "title": "授信额度即将用尽", "region": "华中",
                  "audience": [("role", "finance"), ("role", "sales")]}}
    announcements = {1: {"id": 1, "title": "春节放假通知"}}

    def alert(self, alert_id):
        return self.alerts.get(alert_id)

    def announcement_visible(self, principal, announcement_id, now):
        return principal.dealer_id == 5 and announcement_id == 1

    def announcement(self, announcement_id, reader_id=None):
        row = self.announcements.get(announcement_id)
        return None if row is None else {**row, "read_at": None}

    def all_announcements(self, *, limit, after_id=None):
        return list(self.announcements.values())[:limit]

    def announcements_for(self, principal, *, now, limit, after_id=None, unread_first=True, unread_only=False):
        return [self.announcements[1]] if principal.dealer_id == 5 else []

    def receipts(self, announcement_id):
        return [{"user_id": 5, "read_at": NOW}], []


class FakeOutbox:
    """Only administrators get to it here; the service must refuse everyone else first."""

    def __init__(self) -> None:
        self.requeued: list[str] = []

    def requeue(self, notification_id, *, now):
        self.requeued.append(notification_id)
        return True


class Fixed:
    def __init__(self, category: str, *ids: str) -> None:
        self.category = category
        self.ids = ids

    def collect(self, principal, now, limit):
        return WorkbenchSection(count=len(self.ids), items=tuple(WorkbenchItem(id=i, title=i) for i in self.ids[:limit]))


class Dated:
    code = "trainings"

    def items(self, principal, start, end):
        return [CalendarItem(uid="training-1@dealercrm", source=self.code, title="培训：罐式车保养",
                             start=dt.datetime(2026, 3, 3, 1, 0, tzinfo=dt.UTC))]


class Rule:
    def __init__(self, code: str) -> None:
        self.code = code

    def evaluate(self, ctx):
        return []


def service(outbox: FakeOutbox | None = None) -> EngagementService:
    return EngagementService(
        uow=lambda actor: None, clock=lambda: NOW, queries=FakeEngagementQueries(), outbox_store=outbox or FakeOutbox(),
        rules=RuleRegistry(rules=(Rule("care.task_due"),)),
        workbench_sources=WorkbenchSources((Fixed("approvals", "order-1"), Fixed("tasks", "training-1"))),
        calendar_sources=CalendarSources((Dated(),)), portal_url="https://crm.example.cn")


def test_an_alert_outside_the_callers_audience_does_not_exist_for_it():
    engagement = service()

    assert engagement.alert(FINANCE, 1)["id"] == 1
    assert engagement.alert(CENTRAL_SALES, 1)["id"] == 1
    for who, alert_id in ((EAST_SALES, 1), (DEALER_5, 1), (FINANCE, 404)):
        with pytest.raises(NotFound):
            engagement.alert(who, alert_id)


def test_every_announcement_is_listed_for_publishers_only():
    engagement = service()

    managed = engagement.announcements(MARKETING, manage=True)
    own = engagement.announcements(DEALER_5)

    assert [a["id"] for a in managed] == [1] and [a["id"] for a in own] == [1]
    with pytest.raises(PermissionDenied):
        engagement.announcements(DEALER_5, manage=True)


def test_an_announcement_not_addressed_to_the_caller_does_not_exist_for_it_but_publishers_see_it():
    engagement = service()

    assert engagement.announcement(DEALER_5, 1)["id"] == 1
    assert engagement.announcement(MARKETING, 1)["id"] == 1
    for who, announcement_id in ((FINANCE, 1), (MARKETING, 404)):
        with pytest.raises(NotFound):
            engagement.announcement(who, announcement_id)


def test_read_receipts_are_for_publishers_of_an_existing_announcement():
    engagement = service()

    read, unread = engagement.receipts(MARKETING, 1)

    assert (read, unread) == ([{"user_id": 5, "read_at": NOW}], [])
    with pytest.raises(PermissionDenied):
        engagement.receipts(FINANCE, 1)
    with pytest.raises(NotFound):
        engagement.receipts(MARKETING, 404)


def test_failed_notifications_are_for_staff_and_only_administrators_requeue_them():
    outbox = FakeOutbox()
    engagement = service(outbox)

    with pytest.raises(PermissionDenied):
        engagement.failed_notifications(DEALER_5)
    with pytest.raises(PermissionDenied):
        engagement.requeue_notification(FINANCE, "n-1")
    state = engagement.requeue_notification(ADMIN, "n-1")

    assert state == "pending" and outbox.requeued == ["n-1"]


def test_the_workbench_and_calendar_come_from_the_tables_the_service_was_built_with():
    engagement = service()

    bench = {c.code: [i.id for i in c.items] for c in engagement.workbench(FINANCE)}
    dated = engagement.calendar(FINANCE, dt.date(2026, 3, 1), dt.date(2026, 4, 1))

    assert bench["approvals"] == ["order-1"] and bench["tasks"] == ["training-1"]
    assert [i.uid for i in dated] == ["training-1@dealercrm"]


def test_the_tables_are_fixed_and_an_extra_rule_answers_a_new_service():
    engagement = service()

    extended = engagement.with_rules(Rule("test.extra"))

    assert [r.code for r in engagement.rules.rules] == ["care.task_due"]
    assert [r.code for r in extended.rules.rules] == ["care.task_due", "test.extra"]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        engagement.rules.rules = ()  # type: ignore[misc]
    with pytest.raises(ValueError):
        engagement.with_rules(Rule("care.task_due"))
    assert not hasattr(engagement.rules, "register") and not hasattr(engagement.workbench_sources, "register")
