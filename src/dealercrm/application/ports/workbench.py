"""The workbench's pluggable slot: every context that has something for a user to look at or do
offers a :class:`WorkbenchSource` (the workflow its pending approvals, orders and after-sales
their tasks, …), listed in the table the composition root builds.

    class PendingApprovals:
        category = "approvals"
        def collect(self, principal, now, limit):
            rows = ...  # scoped to what principal may see
            return WorkbenchSection(count=len_all, items=[WorkbenchItem(...) for r in rows[:limit]])

    WorkbenchSources((PendingApprovals(), ...))   # in bootstrap._engagement_tables

Several sources may feed one category; the workbench adds their counts and merges their
items (most urgent first).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Protocol

import attrs

from dealercrm.domain.calendar import CalendarItem
from dealercrm.domain.identity import Principal


@attrs.frozen
class WorkbenchItem:
    """One line on the workbench. ``id`` is unique within its category (``"alert-12"``)."""

    id: str
    title: str
    summary: str = ""
    at: dt.datetime | None = None  # when it arrived (raised, submitted, published)
    due: dt.date | dt.datetime | None = None  # when it is due, if ever
    state: str | None = None
    severity: str | None = None  # info / warning / critical
    subject_type: str | None = None  # what it links to ("order", "dealer", "alert", …)
    subject_id: str | None = None
    unread: bool = False
    extra: dict[str, Any] = attrs.field(factory=dict, hash=False)


@attrs.frozen
class WorkbenchSection:
    """What one source has for a principal: how many in all, and the first ``limit`` of them."""

    count: int
    items: tuple[WorkbenchItem, ...] = ()
    unread: int = 0


class WorkbenchSource(Protocol):
    """A provider of workbench items for one category.

    ``category`` is one of ``approvals``, ``tasks``, ``alerts``, ``failed_notifications``,
    ``announcements`` — or a new code, shown after those. ``collect`` must return only what
    ``principal`` may see (a dealer user: nothing of another dealer) and at most ``limit`` items.
    """

    category: str

    def collect(self, principal: Principal, now: dt.datetime, limit: int) -> WorkbenchSection: ...


class DatedWorkbenchSource(Protocol):
    """A workbench source that is also a calendar source (registered in both tables) and can
    answer both from the same read, for a page that shows the workbench and the calendar.

    ``collect_dated(principal, now, limit, start, end)`` returns exactly what
    ``collect(principal, now, limit)`` and ``items(principal, start, end)`` would — the
    section and the calendar items in [start, end) — reading each table once.
    """

    category: str
    code: str

    def collect(self, principal: Principal, now: dt.datetime, limit: int) -> WorkbenchSection: ...

    def items(self, principal: Principal, start: dt.date, end: dt.date) -> Iterable[CalendarItem]: ...

    def collect_dated(self, principal: Principal, now: dt.datetime, limit: int, start: dt.date,
                      end: dt.date) -> tuple[WorkbenchSection, list[CalendarItem]]: ...
