"""The workbench (seed 000 §1 工作台): what the current user should look at first — pending
approvals, tasks, alerts, failed notifications (staff), announcements — with counts per
category and the first items of each.

Categories are fed by :class:`~dealercrm.application.ports.workbench.WorkbenchSource`s held in a
:class:`WorkbenchSources` table built by the composition root; this module ships the sources for alerts, announcements and
failed notifications. Approvals and tasks are slots other contexts fill.

The workbench page also shows the coming days' calendar (:func:`build_workbench_with_calendar`): a
source that is in the calendar table too (alerts, announcements, approvals, trainings) reads its
section and its calendar items with one statement, so the page reads each table once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, cast

import attrs

from dealercrm.application import calendar as cal
from dealercrm.application.ports.engagement import EngagementQueries
from dealercrm.domain.values import as_tuple
from dealercrm.application.ports.notify import OutboxStore
from dealercrm.application.ports.workbench import (
    DatedWorkbenchSource,
    WorkbenchItem,
    WorkbenchSection,
    WorkbenchSource,
)
from dealercrm.domain.calendar import CalendarItem
from dealercrm.domain.alerts import LIVE_STATES, Severity
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.notifications import mask_recipient

CATEGORIES: tuple[tuple[str, str], ...] = (
    ("approvals", "待审批"),
    ("tasks", "待办任务"),
    ("alerts", "预警提醒"),
    ("failed_notifications", "发送失败的通知"),
    ("announcements", "公告"),
)
STAFF_ONLY = frozenset({"failed_notifications"})


@attrs.frozen(eq=False)
class WorkbenchSources:
    """The workbench sources, fixed when the composition root builds them; several may feed one
    category."""

    sources: tuple[WorkbenchSource, ...] = attrs.field(default=(), converter=as_tuple)

    def __attrs_post_init__(self) -> None:
        for source in self.sources:
            if not getattr(source, "category", None):
                raise ValueError("a workbench source needs a category")

    def __iter__(self) -> Iterator[WorkbenchSource]:
        return iter(self.sources)


@attrs.frozen
class WorkbenchCategory:
    code: str
    label: str
    count: int
    unread: int
    items: tuple[WorkbenchItem, ...]


def _urgency(item: WorkbenchItem) -> tuple[Any, ...]:
    due = item.due
    if isinstance(due, dt.datetime):
        due = due.astimezone(dt.UTC).date()
    rank = Severity(item.severity).rank if item.severity is not None and item.severity in Severity.__members__.values() else 0
    at = item.at.timestamp() if item.at else 0.0
    return (not item.unread, -rank, due or dt.date.max, -at, item.id)


@attrs.frozen
class WorkbenchWithCalendar:
    """The workbench page's read model: the categories and the calendar items of the coming days."""

    categories: list[WorkbenchCategory]
    calendar: list[CalendarItem]


def build_workbench(principal: Principal, now: dt.datetime, sources: WorkbenchSources, *,
                    limit: int = 5) -> list[WorkbenchCategory]:
    """Every category the principal has, in the fixed order, then categories of new codes."""
    sections: dict[str, list[WorkbenchSection]] = {}
    for source in _shown(principal, sources):
        sections.setdefault(source.category, []).append(source.collect(principal, now, limit))
    return _categories(principal, sections, limit)


def build_workbench_with_calendar(principal: Principal, now: dt.datetime, sources: WorkbenchSources,
                                  calendar_sources: cal.CalendarSources, start: dt.date, end: dt.date, *,
                                  limit: int = 5) -> WorkbenchWithCalendar:
    """``build_workbench`` and ``calendar.collect`` for [start, end) together, the same results as
    each alone: a source registered in both tables (a ``DatedWorkbenchSource``) reads once for its
    section and its calendar items; the other calendar sources are asked as usual."""
    cal.check_range(start, end)
    in_calendar = {id(s) for s in calendar_sources}
    sections: dict[str, list[WorkbenchSection]] = {}
    read: dict[str, list[CalendarItem]] = {}
    for source in _shown(principal, sources):
        if id(source) in in_calendar and hasattr(source, "collect_dated"):  # cheaper than isinstance(Protocol)
            dated = cast(DatedWorkbenchSource, source)
            section, read[dated.code] = dated.collect_dated(principal, now, limit, start, end)
        else:
            section = source.collect(principal, now, limit)
        sections.setdefault(source.category, []).append(section)
    return WorkbenchWithCalendar(_categories(principal, sections, limit),
                                 cal.collect(principal, start, end, calendar_sources, read=read))


def _shown(principal: Principal, sources: WorkbenchSources) -> Iterator[WorkbenchSource]:
    return (s for s in sources if not (s.category in STAFF_ONLY and not principal.role.is_staff))


def _categories(principal: Principal, sections: dict[str, list[WorkbenchSection]],
                limit: int) -> list[WorkbenchCategory]:
    labels = dict(CATEGORIES)
    order = [c for c, _ in CATEGORIES if not (c in STAFF_ONLY and not principal.role.is_staff)]
    order += sorted(c for c in sections if c not in labels)
    out = []
    for code in order:
        parts = sections.get(code, [])
        items = sorted((i for p in parts for i in p.items), key=_urgency)[:limit]
        out.append(WorkbenchCategory(code, labels.get(code, code), sum(p.count for p in parts),
                                     sum(p.unread for p in parts), tuple(items)))
    return out


# ---------------------------------------------------------------------------------------------
# Built-in sources


class AlertsSource:
    """Workbench category ``alerts``: live alerts addressed to the user, open before acknowledged,
    most severe first; and, as the calendar source ``alerts``, those with a due date."""

    category = "alerts"
    code = "alerts"
    states = tuple(s.value for s in LIVE_STATES)

    def __init__(self, queries: EngagementQueries) -> None:
        self.queries = queries

    def collect(self, principal: Principal, now: dt.datetime, limit: int) -> WorkbenchSection:
        count, rows = self.queries.alerts_page(principal, states=self.states, limit=limit)
        return self._section(count, rows)

    def items(self, principal: Principal, start: dt.date, end: dt.date) -> list[CalendarItem]:
        return [cal.alert_item(r) for r in self.queries.alerts_due_for(principal, start, end)]

    def collect_dated(self, principal: Principal, now: dt.datetime, limit: int, start: dt.date,
                      end: dt.date) -> tuple[WorkbenchSection, list[CalendarItem]]:
        count, rows, due = self.queries.alerts_page_and_due(principal, states=self.states, limit=limit,
                                                            start=start, end=end)
        return self._section(count, rows), [cal.alert_item(r) for r in due]

    @staticmethod
    def _section(count: int, rows: list[dict[str, Any]]) -> WorkbenchSection:
        return WorkbenchSection(count=count, unread=sum(1 for r in rows if r["state"] == "open"), items=tuple(
            WorkbenchItem(
                id=f"alert-{r['id']}", title=r["title"], summary=r["body"], at=r["raised_at"], due=r["due_on"],
                state=r["state"], severity=r["severity"], subject_type=r["subject_type"],
                subject_id=r["subject_id"], unread=r["state"] == "open",
                extra={"alert_id": r["id"], "rule": r["rule"]},
            ) for r in rows
        ))


class AnnouncementsSource:
    """Workbench category ``announcements``: live announcements addressed to the user, unread first;
    and, as the calendar source ``announcements``, those published in the range (Beijing days)."""

    category = "announcements"
    code = "announcements"

    def __init__(self, queries: EngagementQueries) -> None:
        self.queries = queries

    def collect(self, principal: Principal, now: dt.datetime, limit: int) -> WorkbenchSection:
        count, unread, rows = self.queries.announcements_page(principal, now=now, limit=limit)
        return self._section(count, unread, rows)

    def items(self, principal: Principal, start: dt.date, end: dt.date) -> list[CalendarItem]:
        rows = self.queries.announcements_published_between(principal, cal.beijing_midnight(start),
                                                             cal.beijing_midnight(end))
        return [cal.announcement_item(r) for r in rows]

    def collect_dated(self, principal: Principal, now: dt.datetime, limit: int, start: dt.date,
                      end: dt.date) -> tuple[WorkbenchSection, list[CalendarItem]]:
        count, unread, rows, published = self.queries.announcements_page_and_published(
            principal, now=now, limit=limit, start=cal.beijing_midnight(start), end=cal.beijing_midnight(end))
        return self._section(count, unread, rows), [cal.announcement_item(r) for r in published]

    @staticmethod
    def _section(count: int, unread: int, rows: list[dict[str, Any]]) -> WorkbenchSection:
        return WorkbenchSection(count=count, unread=unread, items=tuple(
            WorkbenchItem(
                id=f"announcement-{r['id']}", title=r["title"], summary=_excerpt(r["body"]),
                at=r["publish_from"], state="read" if r["read_at"] else "unread",
                subject_type="announcement", subject_id=str(r["id"]), unread=r["read_at"] is None,
                extra={"announcement_id": r["id"], "category": r["category"]},
            ) for r in rows
        ))


class FailedNotificationsSource:
    """Administrators see every failed notification; other staff those their own actions queued."""

    category = "failed_notifications"

    def __init__(self, queries: EngagementQueries, store: OutboxStore) -> None:
        self.queries = queries
        self.store = store

    def collect(self, principal: Principal, now: dt.datetime, limit: int) -> WorkbenchSection:
        if not principal.role.is_staff:
            return WorkbenchSection(count=0)
        if principal.role is Role.ADMIN:
            count = self.queries.count_failed_notifications(None)
            rows = [
                {"id": n.id, "channel": n.channel.value, "recipient": n.recipient, "subject": n.subject,
                 "body": n.body, "template_code": n.template_code, "last_error": n.last_error,
                 "last_error_code": n.last_error_code, "created_at": n.created_at, "attempts": n.attempts}
                for n in self.store.list_failed(limit=limit)
            ] if count else []
        elif principal.user_id is None:
            return WorkbenchSection(count=0)
        else:
            count = self.queries.count_failed_notifications(principal.user_id)
            rows = self.queries.failed_notifications_owned_by(principal.user_id, limit=limit) if count else []
        return WorkbenchSection(count=count, items=tuple(failed_item(r) for r in rows))


def failed_item(r: dict[str, Any]) -> WorkbenchItem:
    channel = "短信" if r["channel"] == "sms" else "邮件"
    return WorkbenchItem(
        id=f"notification-{r['id']}", title=f"{channel}发送失败：{mask_recipient(r['recipient'])}",
        summary=r["last_error"] or "", at=r["created_at"], state="failed", severity="warning",
        subject_type="notification", subject_id=r["id"],
        extra={"notification_id": r["id"], "channel": r["channel"], "template_code": r["template_code"],
               "error_code": r["last_error_code"], "attempts": r["attempts"], "subject": r["subject"]},
    )


def _excerpt(text: str, size: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= size else flat[: size - 1] + "…"


def requeue_notification(notification_id: str, actor: Principal, store: OutboxStore, now: dt.datetime) -> str:
    """An administrator retries a failed notification with a fresh set of attempts."""
    from dealercrm.application.access import not_found, require_role
    from dealercrm.domain.errors import IllegalTransition

    require_role(actor, Role.ADMIN)
    if store.requeue(notification_id, now=now):
        return "pending"
    current = store.get(notification_id)
    if current is None:
        raise not_found("notification", "通知")
    raise IllegalTransition("notification", current.status.value, "requeue")
