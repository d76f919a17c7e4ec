"""How the web UI writes money, times and waiting ages for people."""

import datetime as dt

from dealercrm.entrypoints.web.filters import age, beijing, money


def test_money_in_fen_reads_as_yuan_with_thousands_separators():
    assert money(123456789) == "¥1,234,567.89"
    assert money(5) == "¥0.05"
    assert money(-735000) == "-¥7,350.00"
    assert money(None) == "—"


def test_times_are_shown_in_beijing_time_even_across_the_utc_day():
    late_utc = dt.datetime(2026, 12, 31, 17, 30, tzinfo=dt.UTC)

    assert beijing(late_utc) == "2027-01-01 01:30"
    assert beijing(dt.date(2027, 3, 1)) == "2027-03-01"
    assert beijing(None) == "—"


def test_waiting_ages_read_in_minutes_hours_or_days():
    assert age(30) == "1分钟"
    assert age(2 * 3600 + 5) == "2小时"
    assert age(3 * 86400) == "3天"
