"""The engagement facade (``container.engagement``): alerts and their rules, the scheduler,
announcements, the workbench and the calendar, with dependencies bound.

Other contexts plug in here at bootstrap:

    container.engagement.rules.register(rule)                 # an AlertRule
    container.engagement.rules.register_job(job)              # a ScheduledJob
    container.engagement.workbench_sources.register(source)   # a WorkbenchSource
    container.engagement.calendar_sources.register(source)    # a CalendarSource

Kept beside ``bootstrap.py`` (which names it once) because, like it, it names concrete adapters.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import attrs

from dealercrm.application import alerts as al
from dealercrm.application import announcements as an
from dealercrm.application import calendar as cal
from dealercrm.application import workbench as wb
from dealercrm.application.access import not_found, require_role
from dealercrm.application.birthdays import BirthdayCallReminderRule, BirthdayGreetingJob
from dealercrm.domain.alerts import Audience
from dealercrm.domain.calendar import CalendarItem
from dealercrm.domain.identity import Principal, Role

if TYPE_CHECKING:
    from dealercrm.bootstrap import Container


@attrs.define
class EngagementService:
    _c: Any  # the container; resolvable at run time so Litestar can inject the facade
    rules: al.RuleRegistry = attrs.field(factory=al.RuleRegistry)
    workbench_sources: wb.WorkbenchSources = attrs.field(factory=wb.WorkbenchSources)
    calendar_sources: cal.CalendarSources = attrs.field(factory=cal.CalendarSources)
    queries: Any = None
    outbox_store: Any = None

    def __attrs_post_init__(self) -> None:
        settings = self._c.settings
        if self._c.engine is not None:
            from dealercrm.adapters.db.engagement_queries import SqlEngagementQueries
            from dealercrm.adapters.notify.sql_outbox import SqlAlchemyOutboxStore

            self.queries = self.queries or SqlEngagementQueries(self._c.engine)
            self.outbox_store = self.outbox_store or SqlAlchemyOutboxStore(self._c.engine)
        self.rules.register(BirthdayCallReminderRule(settings.birthday_alert_days))
        self.rules.register_job(BirthdayGreetingJob(settings.birthday_greeting_hour))
        if self.queries is not None:
            self.workbench_sources.register(wb.AlertsSource(self.queries))
            self.workbench_sources.register(wb.AnnouncementsSource(self.queries))
            if self.outbox_store is not None:
                self.workbench_sources.register(wb.FailedNotificationsSource(self.queries, self.outbox_store))
            self.calendar_sources.register(cal.AlertCalendarSource(self.queries))
            self.calendar_sources.register(cal.AnnouncementCalendarSource(self.queries))

    def now(self) -> dt.datetime:
        return self._c.clock()

    def _uow(self, actor: Principal) -> Any:
        return self._c.uow(actor)

    # -- scheduler ---------------------------------------------------------------------------

    def scheduler(self, log: al.EventLog | None = None) -> al.Scheduler:
        return al.Scheduler(self._uow, self.rules, portal_url=self._c.settings.portal_url,
                            **({"log": log} if log else {}))

    def run_scheduler_once(self, now: dt.datetime | None = None) -> al.SchedulerStats:
        return self.scheduler().run_once(now or self._c.clock())

    # -- alerts ------------------------------------------------------------------------------

    def alerts(self, actor: Principal, *, states: tuple[str, ...] = ("open", "acknowledged"),
               after_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        return self.queries.alerts_for(actor, states=states, after_id=after_id, limit=limit)

    def alert(self, actor: Principal, alert_id: int) -> dict[str, Any]:
        row = self.queries.alert(alert_id)
        if row is None or not Audience.from_entries(row["audience"], row["region"]).admits(actor):
            raise not_found("alert", "提醒")
        return row

    def acknowledge_alert(self, actor: Principal, alert_id: int) -> str:
        return al.acknowledge_alert(alert_id, self._uow(actor), self._c.clock)

    # -- announcements -------------------------------------------------------------------------

    def publish_announcement(self, actor: Principal, cmd: an.PublishAnnouncement) -> int:
        return an.publish_announcement(cmd, self._uow(actor), self._c.clock)

    def edit_announcement(self, actor: Principal, cmd: an.EditAnnouncement) -> None:
        an.edit_announcement(cmd, self._uow(actor), self._c.clock)

    def withdraw_announcement(self, actor: Principal, announcement_id: int) -> str:
        return an.withdraw_announcement(announcement_id, self._uow(actor), self._c.clock)

    def mark_announcement_read(self, actor: Principal, announcement_id: int) -> dt.datetime:
        return an.mark_announcement_read(announcement_id, self._uow(actor), self._c.clock)

    def announcements(self, actor: Principal, *, manage: bool = False, unread_only: bool = False,
                      after_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The caller's live announcements (newest first), or with ``manage`` every announcement
        (marketing and administrators only)."""
        if manage:
            require_role(actor, *an.PUBLISHERS)
            return self.queries.all_announcements(after_id=after_id, limit=limit)
        return self.queries.announcements_for(actor, now=self._c.clock(), limit=limit, after_id=after_id,
                                              unread_first=False, unread_only=unread_only)

    def announcement(self, actor: Principal, announcement_id: int) -> dict[str, Any]:
        publisher = actor.role in an.PUBLISHERS
        if not publisher and not self.queries.announcement_visible(actor, announcement_id, self._c.clock()):
            raise not_found("announcement", "公告")
        row = self.queries.announcement(announcement_id, actor.user_id)
        if row is None:
            raise not_found("announcement", "公告")
        return row

    def receipts(self, actor: Principal, announcement_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        require_role(actor, *an.PUBLISHERS)
        if self.queries.announcement(announcement_id) is None:
            raise not_found("announcement", "公告")
        return self.queries.receipts(announcement_id)

    # -- workbench -----------------------------------------------------------------------------

    def workbench(self, actor: Principal, *, limit: int = 5) -> list[wb.WorkbenchCategory]:
        return wb.build_workbench(actor, self._c.clock(), self.workbench_sources, limit=limit)

    def failed_notifications(self, actor: Principal, *, limit: int = 50) -> list[Any]:
        require_role(actor, *(r for r in Role if r.is_staff))
        source = wb.FailedNotificationsSource(self.queries, self.outbox_store)
        return list(source.collect(actor, self._c.clock(), limit).items)

    def requeue_notification(self, actor: Principal, notification_id: str) -> str:
        return wb.requeue_notification(notification_id, actor, self.outbox_store, self._c.clock())

    # -- calendar ------------------------------------------------------------------------------

    def calendar(self, actor: Principal, start: dt.date, end: dt.date) -> list[CalendarItem]:
        return cal.collect(actor, start, end, self.calendar_sources)

    def rotate_feed_token(self, actor: Principal) -> str:
        return cal.rotate_feed_token(self._uow(actor), self._c.clock)

    def feed(self, token: str) -> str:
        return cal.feed(token, self.queries, self.calendar_sources, self._c.clock())
