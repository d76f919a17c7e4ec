"""RFC 5545 rendering, checked by the icalendar library and by hand."""

import datetime as dt

import icalendar
import pytest

from dealercrm.domain.calendar import CalendarItem, escape_text, fold, render_ics
from dealercrm.domain.errors import InvalidValue

NOW = dt.datetime(2026, 3, 2, 2, 0, 5, tzinfo=dt.UTC)
BEIJING = dt.timezone(dt.timedelta(hours=8))


def parse(text):
    return icalendar.Calendar.from_ical(text.encode("utf-8"))


def test_all_day_and_timed_items_become_vevents_a_standard_parser_reads_back():
    long_title = "审批截止：SO-2026-000123 郑州宏达专用车销售有限公司 罐式车 3台，含客户自带底盘；请于当日下班前完成"
    items = [
        CalendarItem("alert-1@dealercrm", "alerts", long_title, dt.date(2026, 3, 9), description="第一行\n第二行; 含逗号, 与反斜杠\\"),
        CalendarItem("training-7@dealercrm", "training", "售后培训", dt.datetime(2026, 3, 10, 9, 30, tzinfo=BEIJING),
                     dt.datetime(2026, 3, 10, 11, 0, tzinfo=BEIJING)),
    ]

    text = render_ics(items, name="dealercrm 日程", now=NOW)
    cal = parse(text)

    all_day, timed = list(cal.walk("VEVENT"))
    assert str(all_day["UID"]) == "alert-1@dealercrm" and str(all_day["SUMMARY"]) == long_title
    assert str(all_day["DESCRIPTION"]) == "第一行\n第二行; 含逗号, 与反斜杠\\"
    assert all_day["DTSTART"].dt == dt.date(2026, 3, 9) and all_day["DTEND"].dt == dt.date(2026, 3, 10)
    assert all_day["DTSTART"].params.get("VALUE") == "DATE"
    assert all_day["DTSTAMP"].dt == NOW
    assert timed["DTSTART"].dt == dt.datetime(2026, 3, 10, 1, 30, tzinfo=dt.UTC)
    assert timed["DTEND"].dt == dt.datetime(2026, 3, 10, 3, 0, tzinfo=dt.UTC)
    assert str(cal["X-WR-CALNAME"]) == "dealercrm 日程"


def test_lines_end_in_crlf_and_are_folded_at_75_octets_without_splitting_a_character():
    text = render_ics([CalendarItem("a@x", "s", "中" * 100, dt.date(2026, 1, 1))], name="n", now=NOW)
    raw = text.encode("utf-8")

    lines = raw.split(b"\r\n")
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in lines)
    for line in lines:
        line.decode("utf-8")  # every piece is whole UTF-8
    assert any(line.startswith(b" ") for line in lines)


def test_fold_keeps_short_lines_and_unfolds_to_the_original():
    assert fold("SUMMARY:short") == "SUMMARY:short"
    long = "DESCRIPTION:" + "x" * 200
    assert fold(long).replace("\r\n ", "") == long


def test_text_escaping_follows_rfc_5545():
    assert escape_text("a\\b;c,d\ne\r\nf") == "a\\\\b\\;c\\,d\\ne\\nf"


def test_an_empty_calendar_is_still_a_valid_vcalendar():
    cal = parse(render_ics([], name="空", now=NOW))

    assert cal.name == "VCALENDAR" and list(cal.walk("VEVENT")) == []


def test_items_refuse_naive_times_mixed_kinds_and_inverted_windows():
    with pytest.raises(InvalidValue):
        CalendarItem("a", "s", "t", dt.datetime(2026, 1, 1, 9))
    with pytest.raises(InvalidValue):
        CalendarItem("a", "s", "t", dt.date(2026, 1, 2), dt.datetime(2026, 1, 3, tzinfo=dt.UTC))
    with pytest.raises(InvalidValue):
        CalendarItem("a", "s", "t", dt.date(2026, 1, 2), dt.date(2026, 1, 1))
