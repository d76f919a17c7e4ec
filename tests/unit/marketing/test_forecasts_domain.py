"""Forecast rules: the deadline in Beijing time, which months may be reported, accuracy."""

from __future__ import annotations

import datetime as dt

import pytest

from dealercrm.domain.errors import Conflict, InvalidValue
from dealercrm.domain.forecasts import (
    LineIn,
    SalesForecast,
    accuracy_pct,
    add_months,
    deadline_for,
    weighted_accuracy_pct,
)

BEIJING = dt.timezone(dt.timedelta(hours=8))


def at(y, m, d, h=0, minute=0):
    return dt.datetime(y, m, d, h, minute, tzinfo=BEIJING)


def test_the_deadline_is_the_end_of_the_deadline_day_of_the_month_before_in_beijing():
    assert deadline_for(dt.date(2026, 4, 1), 25) == at(2026, 3, 26)
    assert deadline_for(dt.date(2027, 1, 1), 25) == at(2026, 12, 26)
    assert deadline_for(dt.date(2026, 3, 1), 31) == at(2026, 3, 1)  # day 31 is capped at the 28th


def test_add_months_crosses_years():
    assert add_months(dt.date(2026, 11, 1), 3) == dt.date(2027, 2, 1)
    assert add_months(dt.date(2026, 1, 1), -1) == dt.date(2025, 12, 1)


def test_submit_only_for_future_months_before_their_deadline():
    lines = [LineIn("tanker", 3)]

    ok = SalesForecast.submit(dealer_id=1, month=dt.date(2026, 4, 1), lines=lines, by_name="d",
                              now=at(2026, 3, 25, 23, 59), deadline_day=25)
    with pytest.raises(Conflict) as locked:
        ok.revise(lines, by_name="d", now=at(2026, 3, 26), deadline_day=25)
    with pytest.raises(InvalidValue):
        SalesForecast.submit(dealer_id=1, month=dt.date(2026, 3, 1), lines=lines, by_name="d",
                             now=at(2026, 3, 2), deadline_day=25)

    assert ok.total == 3
    assert locked.value.code == "forecast.locked"


def test_lines_are_validated():
    with pytest.raises(InvalidValue) as err:
        SalesForecast.submit(dealer_id=1, month=dt.date(2026, 4, 1), lines=[LineIn("bus", 1)], by_name="d",
                             now=at(2026, 3, 2), deadline_day=25)
    assert err.value.field == "lines[0].product_line"


@pytest.mark.parametrize("forecast, actual, expected", [
    (10, 10, 100.0), (10, 8, 80.0), (10, 12, 80.0), (10, 25, 0.0), (0, 0, 100.0), (0, 3, 0.0), (3, 0, 0.0),
])
def test_accuracy(forecast, actual, expected):
    assert accuracy_pct(forecast, actual) == expected


def test_accuracy_over_several_lines_is_weighted_by_volume():
    assert weighted_accuracy_pct([(4, 4), (2, 0)]) == 66.7
    assert weighted_accuracy_pct([(100, 90), (1, 0)]) == 89.1
