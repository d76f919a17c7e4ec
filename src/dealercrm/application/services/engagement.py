"""The engagement service (``container.engagement``): alerts and the scheduler that raises them,
announcements, the workbench and the calendar. Each call is one transaction; the role and
audience checks of the reads live here.

The rules, jobs and sources of every context come in fixed tables the composition root builds
(``bootstrap._engagement_tables``); nothing registers after construction. :meth:`with_rules`
answers a copy that also runs extra rules (tests, embedding teams).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from dealercrm.application import alerts as al
from dealercrm.application import announcements as an
from dealercrm.application import calendar as cal
from dealercrm.application import workbench as wb
from dealercrm.application.access import not_found, require_role
from dealercrm.application.ports.engagement import (
    EngagementQueries,
    EngagementUnitOfWork,
    EngagementUnitOfWorkFactory,
)
from dealercrm.application.ports.notify import OutboxStore
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.ports.workbench import WorkbenchItem
from dealercrm.domain.alerts import Audience
from dealercrm.domain.calendar import CalendarItem
from dealercrm.domain.identity import Principal, Role


@attrs.define
class EngagementService:
    """Engagement (互动): alerts (提醒) and the scheduler that raises them, announcements (公告), the
    workbench (工作台) and the calendar (日程). Each call is one transaction; reads are scoped by audience."""
    uow: EngagementUnitOfWorkFactory
    clock: Clock
    queries: EngagementQueries
    outbox_store: OutboxStore
    rules: al.RuleRegistry
    workbench_sources: wb.WorkbenchSources
    calendar_sources: cal.CalendarSources
    portal_url: str

    def with_rules(self, *rules: al.AlertRule) -> EngagementService:
        """This service with ``rules`` run after the built-in ones (codes must be new)."""
        return attrs.evolve(self, rules=self.rules.extended(rules=rules))

    def now(self) -> dt.datetime:
        """The service's clock (an aware datetime)."""
        return self.clock()

    def _uow(self, actor: Principal) -> EngagementUnitOfWork:
        return self.uow(actor)

    # -- scheduler ---------------------------------------------------------------------------

    def scheduler(self, log: al.EventLog | None = None) -> al.Scheduler:
        """A ``Scheduler`` over this service's alert rules (for a long-running loop), logging to ``log``."""
        return al.Scheduler(self._uow, self.rules, portal_url=self.portal_url,
                            **({"log": log} if log else {}))

    def run_scheduler_once(self, now: dt.datetime | None = None) -> al.SchedulerStats:
        """Run every alert rule and job once at ``now`` (default: the clock), as the system. Returns
        ``SchedulerStats``; a rule's failure is counted, not raised."""
        return self.scheduler().run_once(now or self.clock())

    # -- alerts ------------------------------------------------------------------------------

    def alerts(self, actor: Principal, *, states: tuple[str, ...] = ("open", "acknowledged"),
               after_id: int | None = None, limit: int = 50, rule: str | None = None) -> list[dict[str, Any]]:
        """The alerts whose audience admits the caller, by state and rule, keyset-paged by id."""
        return self.queries.alerts_for(actor, states=states, after_id=after_id, limit=limit, rule=rule)

    def alert(self, actor: Principal, alert_id: int) -> dict[str, Any]:
        """One alert, for a caller in its audience; ``NotFound`` otherwise."""
        row = self.queries.alert(alert_id)
        if row is None or not Audience.from_entries(row["audience"], row["region"]).admits(actor):
            raise not_found("alert", "提醒")
        return row

    def acknowledge_alert(self, actor: Principal, alert_id: int) -> str:
        """Acknowledge an alert (已知悉); anyone in its audience (devices: ``PermissionDenied``). Returns the
        new state; ``NotFound`` (not in the audience), ``IllegalTransition`` (twice)."""
        return al.acknowledge_alert(alert_id, self._uow(actor), self.clock)

    def resolve_alert(self, actor: Principal, alert_id: int) -> str:
        """Resolve an alert (解除): open or acknowledged → resolved; anyone in its audience. Returns the new
        state; ``PermissionDenied`` (devices), ``NotFound``, ``IllegalTransition``."""
        return al.resolve_alert_by(alert_id, self._uow(actor), self.clock)

    # -- announcements -------------------------------------------------------------------------

    def publish_announcement(self, actor: Principal, cmd: an.PublishAnnouncement) -> int:
        """Publish an announcement (发布公告) to an audience (roles, regions, dealers); marketing or admin.
        Returns its id; ``InvalidValue``, ``PermissionDenied``."""
        return an.publish_announcement(cmd, self._uow(actor), self.clock)

    def edit_announcement(self, actor: Principal, cmd: an.EditAnnouncement) -> None:
        """Change an announcement's text, window or audience; marketing or admin. ``InvalidValue``
        (unknown dealer …), ``PermissionDenied``, ``NotFound``."""
        an.edit_announcement(cmd, self._uow(actor), self.clock)

    def withdraw_announcement(self, actor: Principal, announcement_id: int) -> str:
        """Withdraw an announcement (撤回); marketing or admin. Returns its state; ``IllegalTransition``,
        ``PermissionDenied``, ``NotFound``."""
        return an.withdraw_announcement(announcement_id, self._uow(actor), self.clock)

    def mark_announcement_read(self, actor: Principal, announcement_id: int) -> dt.datetime:
        """Record that the caller read an announcement (idempotent: the first time is kept); returns that
        time. ``PermissionDenied`` (devices), ``NotFound`` (not in its audience or not live)."""
        return an.mark_announcement_read(announcement_id, self._uow(actor), self.clock)

    def announcements(self, actor: Principal, *, manage: bool = False, unread_only: bool = False,
                      after_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The caller's live announcements (newest first), or with ``manage`` every announcement
        (marketing and administrators only)."""
        if manage:
            require_role(actor, *an.PUBLISHERS)
            return self.queries.all_announcements(after_id=after_id, limit=limit)
        return self.queries.announcements_for(actor, now=self.clock(), limit=limit, after_id=after_id,
                                              unread_first=False, unread_only=unread_only)

    def announcement(self, actor: Principal, announcement_id: int) -> dict[str, Any]:
        """One announcement: publishers see any, others only a live one in their audience (else ``NotFound``)."""
        publisher = actor.role in an.PUBLISHERS
        if not publisher and not self.queries.announcement_visible(actor, announcement_id, self.clock()):
            raise not_found("announcement", "公告")
        row = self.queries.announcement(announcement_id, actor.user_id)
        if row is None:
            raise not_found("announcement", "公告")
        return row

    def receipts(self, actor: Principal, announcement_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Who read an announcement and who has not yet (read, unread); marketing or admin.
        ``PermissionDenied``, ``NotFound``."""
        require_role(actor, *an.PUBLISHERS)
        if self.queries.announcement(announcement_id) is None:
            raise not_found("announcement", "公告")
        return self.queries.receipts(announcement_id)

    # -- workbench -----------------------------------------------------------------------------

    def workbench(self, actor: Principal, *, limit: int = 5) -> list[wb.WorkbenchCategory]:
        """The caller's workbench (工作台): each category of what waits for them, at most ``limit`` items
        each, in the fixed order; any principal."""
        return wb.build_workbench(actor, self.clock(), self.workbench_sources, limit=limit)

    def workbench_with_calendar(self, actor: Principal, start: dt.date, end: dt.date, *,
                                limit: int = 5) -> wb.WorkbenchWithCalendar:
        """The workbench and the calendar items in [start, end) for one page, each source read once:
        the same categories and items as :meth:`workbench` and :meth:`calendar`; ``InvalidValue`` for
        a reversed or too long range."""
        return wb.build_workbench_with_calendar(actor, self.clock(), self.workbench_sources,
                                                self.calendar_sources, start, end, limit=limit)

    def failed_notifications(self, actor: Principal, *, limit: int = 50) -> list[WorkbenchItem]:
        """Notifications the outbox gave up on, as workbench items; staff roles only (``PermissionDenied``)."""
        require_role(actor, *(r for r in Role if r.is_staff))
        source = wb.FailedNotificationsSource(self.queries, self.outbox_store)
        return list(source.collect(actor, self.clock(), limit).items)

    def requeue_notification(self, actor: Principal, notification_id: str) -> str:
        """Retry a failed notification with a fresh set of attempts; admin only. Returns its status;
        ``PermissionDenied``, ``NotFound``, ``IllegalTransition`` (not failed)."""
        return wb.requeue_notification(notification_id, actor, self.outbox_store, self.clock())

    # -- calendar ------------------------------------------------------------------------------

    def calendar(self, actor: Principal, start: dt.date, end: dt.date) -> list[CalendarItem]:
        """The caller's calendar items in [start, end), in time order, from every source; ``InvalidValue``
        when the range is reversed or longer than 366 days."""
        return cal.collect(actor, start, end, self.calendar_sources)

    def rotate_feed_token(self, actor: Principal) -> str:
        """A new secret iCalendar feed token for the caller (shown once); the previous one stops working.
        ``PermissionDenied`` for devices."""
        return cal.rotate_feed_token(self._uow(actor), self.clock)

    def feed(self, token: str) -> str:
        """The iCalendar text of a feed token's owner, a month back to a year ahead; no principal (the token
        is the credential). ``NotFound`` for an unknown token."""
        return cal.feed(token, self.queries, self.calendar_sources, self.clock())
