"""The user's calendar: dated items from every registered
:class:`~dealercrm.application.ports.calendar.CalendarSource`, as JSON and as an iCalendar feed
at a per-user secret URL.

The feed URL carries a random token (256 bits); only its SHA-256 is stored, so the database
does not hold working feed URLs. Rotating the token makes the old URL stop working at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

from dealercrm.application.ports.calendar import CalendarSource
from dealercrm.domain.values import as_tuple
from dealercrm.application.ports.engagement import EngagementQueries, EngagementUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.domain.alerts import SHANGHAI
from dealercrm.domain.calendar import CalendarItem, render_ics
from dealercrm.domain.errors import InvalidValue, NotFound, PermissionDenied
from dealercrm.domain.identity import Principal, Role

MAX_RANGE_DAYS = 366
FEED_PAST_DAYS = 31
FEED_FUTURE_DAYS = 366


@attrs.frozen(eq=False)
class CalendarSources:
    """The calendar sources, fixed when the composition root builds them (codes unique)."""

    sources: tuple[CalendarSource, ...] = attrs.field(default=(), converter=as_tuple)

    def __attrs_post_init__(self) -> None:
        seen: set[str] = set()
        for source in self.sources:
            if not getattr(source, "code", None):
                raise ValueError("a calendar source needs a code")
            if source.code in seen:
                raise ValueError(f"calendar source {source.code!r} is already registered")
            seen.add(source.code)

    def __iter__(self) -> Iterator[CalendarSource]:
        return iter(self.sources)


def check_range(start: dt.date, end: dt.date) -> None:
    if end <= start:
        raise InvalidValue("to", "结束日期须晚于开始日期", code="calendar.range_inverted")
    if (end - start).days > MAX_RANGE_DAYS:
        raise InvalidValue("to", f"查询范围不能超过{MAX_RANGE_DAYS}天", code="calendar.range_too_long")


def collect(principal: Principal, start: dt.date, end: dt.date, sources: CalendarSources, *,
            read: Mapping[str, Iterable[CalendarItem]] | None = None) -> list[CalendarItem]:
    """Items in [start, end) from every source, in time order (at most 366 days asked). ``read``: the
    items of some sources (by code) for that range, already read by the caller with another view
    of the same rows (the workbench page's sections); those sources are not asked again."""
    check_range(start, end)
    return _collect(principal, start, end, sources, read or {})


def _collect(principal: Principal, start: dt.date, end: dt.date, sources: CalendarSources,
             read: Mapping[str, Iterable[CalendarItem]] | None = None) -> list[CalendarItem]:
    items: dict[str, CalendarItem] = {}
    for source in sources:
        known = read.get(source.code) if read else None
        for item in source.items(principal, start, end) if known is None else known:
            items.setdefault(item.uid, item)
    return sorted(items.values(), key=CalendarItem.sort_key)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def rotate_feed_token(uow: EngagementUnitOfWork, clock: Clock) -> str:
    """A new secret feed token for the caller (shown once); the previous one stops working."""
    actor = uow.actor
    if actor.user_id is None or actor.is_device:
        raise PermissionDenied("设备凭证没有日历", code="auth.forbidden")
    token = "cal_" + secrets.token_urlsafe(32)
    with uow:
        uow.engagement.set_feed_token(actor.user_id, hash_token(token), clock())
        uow.commit()
    return token


def principal_for_feed(token: str, queries: EngagementQueries) -> Principal:
    """The (active) user a feed token belongs to; anything else is 404 — a feed URL that does
    not work must not say whether it ever did."""
    if not token.startswith("cal_") or not 20 <= len(token) <= 100:
        raise NotFound("日历订阅地址无效", code="calendar.feed_not_found")
    row = queries.user_by_feed_token(hash_token(token))
    if row is None:
        raise NotFound("日历订阅地址无效", code="calendar.feed_not_found")
    return Principal(user_id=row["id"], username=row["username"], role=Role(row["role"]),
                     dealer_id=row["dealer_id"], station_id=row["station_id"], regions=tuple(row["regions"] or ()))


def feed(token: str, queries: EngagementQueries, sources: CalendarSources, now: dt.datetime) -> str:
    """The iCalendar text of the token owner's calendar, a month back to a year ahead."""
    principal = principal_for_feed(token, queries)
    today = now.astimezone(SHANGHAI).date()
    items = _collect(principal, today - dt.timedelta(days=FEED_PAST_DAYS), today + dt.timedelta(days=FEED_FUTURE_DAYS),
                    sources)
    return render_ics(items, name=f"dealercrm 日程（{principal.username}）", now=now)


# ---------------------------------------------------------------------------------------------
# The engagement context's own items (its sources are the workbench's ``AlertsSource`` and
# ``AnnouncementsSource``, which read the calendar's rows with their sections')


def beijing_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), SHANGHAI)


def alert_item(row: Mapping[str, Any]) -> CalendarItem:
    """A live alert on its due date (birthdays to phone for, delivery dates, …)."""
    return CalendarItem(uid=f"alert-{row['id']}@dealercrm", source="alerts", title=row["title"], start=row["due_on"],
                        description=row["body"] or "", subject_type=row["subject_type"],
                        subject_id=row["subject_id"])


def announcement_item(row: Mapping[str, Any]) -> CalendarItem:
    """An announcement addressed to the user, on the day it is published (Beijing time)."""
    return CalendarItem(uid=f"announcement-{row['id']}@dealercrm", source="announcements", title=f"公告：{row['title']}",
                        start=row["publish_from"].astimezone(SHANGHAI).date(), description=row["body"],
                        subject_type="announcement", subject_id=str(row["id"]))
