"""Sales forecasts (seed 000 §2.2 销售预测): every month each dealer reports next month's
expected sales per product line (optionally per vehicle template) as input to the factory's
production plan; at month end the forecast is compared with what the dealer actually ordered.

A forecast may be revised until its deadline — day ``deadline_day`` (default 25) of the month
before, end of that day in Beijing — and is locked after. Accuracy of a forecast F against an
actual A is ``100 − |A − F| / F × 100`` (floored at 0); F = 0 scores 100 when A = 0, else 0. Over
several lines, dealers or a region the errors are summed before dividing (weighted by volume).
"""

from __future__ import annotations

import datetime as dt

import attrs

from dealercrm.domain.errors import Conflict, InvalidValue
from dealercrm.domain.values import SHANGHAI

PRODUCT_LINES = ("tanker", "dump_truck", "semi_trailer")
MAX_QUANTITY = 10_000
MAX_MONTHS_AHEAD = 3


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, n: int) -> dt.date:
    y, m = divmod(month.year * 12 + month.month - 1 + n, 12)
    return dt.date(y, m + 1, 1)


def parse_month(text: str) -> dt.date:
    try:
        y, m = text.split("-")
        return dt.date(int(y), int(m), 1)
    except ValueError:
        raise InvalidValue("month", "月份格式须为 YYYY-MM", code="forecast.month_invalid") from None


def deadline_for(month: dt.date, deadline_day: int) -> dt.datetime:
    """The first instant the forecast for ``month`` is locked (Beijing midnight after the day)."""
    prev = add_months(month, -1)
    day = dt.date(prev.year, prev.month, min(deadline_day, 28))
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), SHANGHAI).astimezone(dt.UTC)


def month_window(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a calendar month in Beijing time."""
    return (dt.datetime.combine(month, dt.time(), SHANGHAI),
            dt.datetime.combine(add_months(month, 1), dt.time(), SHANGHAI))


@attrs.define(slots=False, eq=False)
class ForecastLine:
    product_line: str
    quantity: int
    template_id: int | None = None
    forecast_id: int | None = None
    id: int | None = None


@attrs.frozen
class LineIn:
    product_line: str
    quantity: int
    template_id: int | None = None


def _lines(lines: list[LineIn] | tuple[LineIn, ...]) -> list[ForecastLine]:
    if not lines:
        raise InvalidValue("lines", "请至少填写一行预测", code="forecast.lines_required")
    if len(lines) > 100:
        raise InvalidValue("lines", "预测最多100行", code="forecast.too_many_lines")
    seen: set[tuple[str, int | None]] = set()
    out = []
    for n, line in enumerate(lines):
        if line.product_line not in PRODUCT_LINES:
            raise InvalidValue(f"lines[{n}].product_line", "产品线须为 tanker、dump_truck 或 semi_trailer",
                               code="product_line.unknown")
        if not 0 <= line.quantity <= MAX_QUANTITY:
            raise InvalidValue(f"lines[{n}].quantity", f"数量须为0到{MAX_QUANTITY}", code="forecast.quantity_invalid")
        key = (line.product_line, line.template_id)
        if key in seen:
            raise InvalidValue(f"lines[{n}]", "同一产品线/车型只能填一行", code="forecast.duplicate_line")
        seen.add(key)
        out.append(ForecastLine(line.product_line, line.quantity, line.template_id))
    return out


@attrs.define(slots=False, eq=False)
class SalesForecast:
    dealer_id: int
    month: dt.date
    submitted_at: dt.datetime
    submitted_by_name: str
    lines: list[ForecastLine] = attrs.field(factory=list)
    revisions: int = 1
    updated_at: dt.datetime | None = None
    version: int = 1
    id: int | None = None

    @classmethod
    def submit(cls, *, dealer_id: int, month: dt.date, lines: list[LineIn], by_name: str, now: dt.datetime,
               deadline_day: int) -> SalesForecast:
        check_open(month, now, deadline_day)
        return cls(dealer_id=dealer_id, month=month, submitted_at=now, submitted_by_name=by_name,
                   lines=_lines(lines))

    def revise(self, lines: list[LineIn], *, by_name: str, now: dt.datetime, deadline_day: int) -> None:
        check_open(self.month, now, deadline_day)
        new = _lines(lines)
        self.lines[:] = new
        self.revisions += 1
        self.submitted_by_name, self.updated_at = by_name, now

    @property
    def total(self) -> int:
        return sum(line.quantity for line in self.lines)


def check_open(month: dt.date, now: dt.datetime, deadline_day: int) -> None:
    if month.day != 1:
        raise InvalidValue("month", "月份须为当月1日", code="forecast.month_invalid")
    current = month_start(now.astimezone(SHANGHAI).date())
    if month <= current:
        raise InvalidValue("month", "只能提报以后月份的销售预测", code="forecast.month_not_future")
    if month > add_months(current, MAX_MONTHS_AHEAD):
        raise InvalidValue("month", f"最多提前{MAX_MONTHS_AHEAD}个月提报", code="forecast.month_too_far")
    deadline = deadline_for(month, deadline_day)
    if now >= deadline:
        raise Conflict(f"{month:%Y年%m月}的销售预测已于{deadline:%Y-%m-%d %H:%M}截止，不能再提报或修改",
                       code="forecast.locked", deadline=deadline.isoformat())


def accuracy_pct(forecast: int, actual: int) -> float:
    return weighted_accuracy_pct([(forecast, actual)])


def weighted_accuracy_pct(pairs: list[tuple[int, int]]) -> float:
    total_f = sum(f for f, _ in pairs)
    total_err = sum(abs(a - f) for f, a in pairs)
    if total_f == 0:
        return 100.0 if total_err == 0 else 0.0
    return round(max(0.0, 100.0 - 100.0 * total_err / total_f), 1)
