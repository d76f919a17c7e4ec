"""The user's calendar (seed 000 §1 2 以日历表的形式展示日程, seed 001 §13 行动/日程): dated items
from every context, shown as JSON and as an iCalendar (RFC 5545) feed that calendar apps
subscribe to.

:func:`render_ics` is a pure function: items in, the text of a ``VCALENDAR`` out — CRLF line
ends, lines folded at 75 octets without splitting a UTF-8 character, TEXT values escaped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import attrs

from dealercrm.domain.errors import InvalidValue, InvariantBroken
from dealercrm.domain.values import SHANGHAI

PRODID = "-//dealercrm//专用车经销商管理系统//ZH"


@attrs.frozen
class CalendarItem:
    """One dated thing on a user's calendar.

    ``start`` is a ``date`` for an all-day item (a due date, a birthday) or an aware
    ``datetime``; ``end`` is exclusive and optional (an all-day item lasts one day, a timed one
    is a point in time). ``uid`` is stable across feeds and globally unique
    (``"alert-42@dealercrm"``), so calendar apps update an item instead of duplicating it.
    """

    uid: str
    source: str
    title: str
    start: dt.date | dt.datetime
    end: dt.date | dt.datetime | None = None
    description: str = ""
    subject_type: str | None = None
    subject_id: str | None = None
    url: str | None = None

    def __attrs_post_init__(self) -> None:
        if isinstance(self.start, dt.datetime):
            if self.start.tzinfo is None or (isinstance(self.end, dt.datetime) and self.end.tzinfo is None):
                raise InvalidValue("start", "日程时间须带时区", code="datetime.naive")
            if self.end is not None and not isinstance(self.end, dt.datetime):
                raise InvalidValue("end", "开始与结束须同为日期或同为时间", code="calendar.mixed_kinds")
        elif isinstance(self.end, dt.datetime):
            raise InvalidValue("end", "开始与结束须同为日期或同为时间", code="calendar.mixed_kinds")
        if self.end is not None and self.end <= self.start:
            raise InvalidValue("end", "结束须晚于开始", code="calendar.window_inverted")

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, dt.datetime)

    @property
    def day(self) -> dt.date:
        """The (UTC) date the item starts on, for ordering and range checks."""
        return self.start.astimezone(dt.UTC).date() if isinstance(self.start, dt.datetime) else self.start

    def sort_key(self) -> tuple[dt.datetime, str]:
        if isinstance(self.start, dt.datetime):
            at = self.start.astimezone(dt.UTC)
        else:  # all-day: the start of the day in Beijing
            at = dt.datetime.combine(self.start, dt.time(), SHANGHAI).astimezone(dt.UTC)
        return (at, self.uid)


# ---------------------------------------------------------------------------------------------
# RFC 5545


def escape_text(value: str) -> str:
    """TEXT escaping (RFC 5545 §3.3.11): backslash, semicolon, comma, line breaks."""
    return (
        value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
        .replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """Fold a content line into ≤ 75-octet pieces joined by CRLF + space (RFC 5545 §3.1)."""
    out: list[str] = []
    current = ""
    size = 0
    limit = 75
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            out.append(current)
            current, size = ch, n
            limit = 74  # continuation lines start with one space
        else:
            current += ch
            size += n
    out.append(current)
    return "\r\n ".join(out)


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _timed(moment: dt.date) -> dt.datetime:
    if not isinstance(moment, dt.datetime):  # CalendarItem refuses a date on an item with a time
        raise InvariantBroken("calendar item with a time holds a date")
    return moment


def _date(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def render_ics(items: Iterable[CalendarItem], *, name: str, now: dt.datetime) -> str:
    """A complete ``VCALENDAR`` with one ``VEVENT`` per item. ``now`` stamps DTSTAMP."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
        "X-WR-TIMEZONE:Asia/Shanghai",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
    ]
    stamp = _utc(now)
    for item in items:
        lines += ["BEGIN:VEVENT", f"UID:{escape_text(item.uid)}", f"DTSTAMP:{stamp}"]
        if item.all_day:
            end = item.end or (item.start + dt.timedelta(days=1))
            lines += [f"DTSTART;VALUE=DATE:{_date(item.start)}", f"DTEND;VALUE=DATE:{_date(end)}"]
            lines.append("TRANSP:TRANSPARENT")
        else:
            lines.append(f"DTSTART:{_utc(_timed(item.start))}")
            if item.end is not None:
                lines.append(f"DTEND:{_utc(_timed(item.end))}")
        lines.append(f"SUMMARY:{escape_text(item.title)}")
        if item.description:
            lines.append(f"DESCRIPTION:{escape_text(item.description)}")
        lines.append(f"CATEGORIES:{escape_text(item.source)}")
        if item.url:
            lines.append(f"URL:{item.url}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
