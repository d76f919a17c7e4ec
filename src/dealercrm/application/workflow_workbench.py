"""The approval workflow on the workbench and the calendar: a user's open steps are the
workbench's ``approvals`` category, and the due dates of those steps are calendar items.

Both read through the workflow's task query, so they show exactly the steps the user may act on
(addressed, handed over or covered through a standing delegation) and nothing outside their
dealer or region scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol

from dealercrm.application.calendar import beijing_midnight
from dealercrm.application.ports.workbench import WorkbenchItem, WorkbenchSection
from dealercrm.domain.calendar import CalendarItem
from dealercrm.domain.identity import Principal
from dealercrm.domain.values import SHANGHAI

CALENDAR_SCAN_LIMIT = 500


class TaskQueries(Protocol):
    def pending_tasks_for(self, principal: Principal, *, now: dt.datetime, limit: int = 50,
                          after_step_id: int | None = None,
                          due_between: tuple[dt.datetime, dt.datetime] | None = None) -> list[dict[str, Any]]:
        """The open steps the principal may act on, oldest first; ``due_between``: due in [from, until)."""

    def pending_tasks_page(self, principal: Principal, *, now: dt.datetime,
                           limit: int) -> tuple[int, list[dict[str, Any]]]:
        """(how many open steps the principal may act on, the first ``limit`` of them) in one read."""

    def pending_tasks_page_and_due(
        self, principal: Principal, *, now: dt.datetime, limit: int,
        due_between: tuple[dt.datetime, dt.datetime], due_limit: int,
    ) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
        """``pending_tasks_page`` and the first ``due_limit`` of the same steps due in [from, until)
        (as ``pending_tasks_for`` with ``due_between`` gives them), from one read of the delegations
        and one statement: (count, first ``limit``, due in the window)."""

    def count_pending_tasks_for(self, principal: Principal, *, now: dt.datetime) -> int: ...


def _summary(row: dict[str, Any]) -> str:
    parts = [row["step_name"]]
    if row.get("on_behalf_of"):
        parts.append(f"代{row['on_behalf_of']}审批")
    elif row.get("via") == "delegated":
        parts.append("转签给我")
    if row.get("submitted_by_name"):
        parts.append(f"提交人：{row['submitted_by_name']}")
    return " · ".join(parts)


def _window(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return beijing_midnight(start), beijing_midnight(end)


class PendingApprovalsSource:
    """Workbench category ``approvals``: the open workflow steps the user may decide; and, as the
    calendar source ``workflow.deadline``, the due dates of those steps (all-day, Beijing date).
    The workbench page gets both from one read (:meth:`collect_dated`)."""

    category = "approvals"
    code = "workflow.deadline"

    def __init__(self, queries: TaskQueries, clock: Callable[[], dt.datetime]) -> None:
        self.queries = queries
        self.clock = clock

    def collect(self, principal: Principal, now: dt.datetime, limit: int) -> WorkbenchSection:
        count, rows = self.queries.pending_tasks_page(principal, now=now, limit=limit)
        return self._section(count, rows)

    def items(self, principal: Principal, start: dt.date, end: dt.date) -> list[CalendarItem]:
        rows = self.queries.pending_tasks_for(principal, now=self.clock(), limit=CALENDAR_SCAN_LIMIT,
                                              due_between=_window(start, end))
        return self._dated(rows, start, end)

    def collect_dated(self, principal: Principal, now: dt.datetime, limit: int, start: dt.date,
                      end: dt.date) -> tuple[WorkbenchSection, list[CalendarItem]]:
        count, rows, due = self.queries.pending_tasks_page_and_due(
            principal, now=now, limit=limit, due_between=_window(start, end), due_limit=CALENDAR_SCAN_LIMIT)
        return self._section(count, rows), self._dated(due, start, end)

    @staticmethod
    def _section(count: int, rows: list[dict[str, Any]]) -> WorkbenchSection:
        items = tuple(
            WorkbenchItem(
                id=f"step-{r['step_id']}", title=r["title"] or r["subject_no"], summary=_summary(r),
                at=r["opened_at"], due=r["due_at"], state="overdue" if r["overdue"] else "open",
                severity="warning" if r["overdue"] else None, subject_type=r["subject_type"],
                subject_id=str(r["subject_id"]),
                extra={"step_id": r["step_id"], "workflow_id": r["workflow_id"], "workflow_no": r["workflow_no"],
                       "subject_no": r["subject_no"], "via": r["via"], "on_behalf_of": r["on_behalf_of"]},
            )
            for r in rows
        )
        return WorkbenchSection(count=count, items=items)

    def _dated(self, rows: list[dict[str, Any]], start: dt.date, end: dt.date) -> list[CalendarItem]:
        out = []
        for r in rows:
            day = r["due_at"].astimezone(SHANGHAI).date()
            if start <= day < end:
                out.append(CalendarItem(
                    uid=f"workflow-step-{r['step_id']}@dealercrm", source=self.code,
                    title=f"审批截止：{r['title'] or r['subject_no']}", start=day,
                    description=_summary(r), subject_type=r["subject_type"], subject_id=str(r["subject_id"]),
                ))
        return out
