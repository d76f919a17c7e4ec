"""The calendar's pluggable slot: contexts with dated things each offer a :class:`CalendarSource`
(the workflow its approval deadlines, orders their agreed delivery dates, training its
sessions), listed in the table the composition root builds.

    class DeliveryDates:
        code = "orders.delivery"
        def items(self, principal, start, end):
            return [CalendarItem(uid=f"order-{r.id}-delivery@dealercrm", source=self.code,
                                 title=f"交付：{r.order_no}", start=r.delivery_date) for r in ...]

    CalendarSources((DeliveryDates(), ...))   # in bootstrap._engagement_tables
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Protocol

from dealercrm.domain.calendar import CalendarItem
from dealercrm.domain.identity import Principal


class CalendarSource(Protocol):
    """Dated items for a user. ``items`` returns those starting in [start, end) (dates in Beijing
    time) that ``principal`` may see; ``code`` names the source (``CalendarItem.source``)."""

    code: str

    def items(self, principal: Principal, start: dt.date, end: dt.date) -> Iterable[CalendarItem]: ...
