"""经销商门户 · 订单: the order list with filters, the order page with its timeline, and the
configurator (options grouped, constraints checked as the user picks, a live estimate)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import Parameter
from litestar.response import Template

from dealercrm.bootstrap import OrdersService
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal
from dealercrm.domain.orders import OrderState
from dealercrm.domain.values import SHANGHAI
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.layout import ORDER_READERS, page

PAGE_SIZE = 50
STATE_CHOICES = tuple((s.value, s.label) for s in OrderState)


def _day(value: str | None, field: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidValue(field, "日期格式应为 YYYY-MM-DD", code="date.invalid") from None


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), SHANGHAI).astimezone(dt.UTC)


def state_label(code: Any) -> str:
    try:
        return OrderState(str(code)).label
    except ValueError:
        return str(code)


class OrderPages(Controller):
    path = "/orders"

    @get("/", guards=[requires(*ORDER_READERS)], sync_to_thread=True)
    def order_list(
        self, request: Request[Principal, Any, Any], orders: OrdersService,
        order_state: Annotated[str | None, Parameter(query="state", max_length=40)] = None,
        created_from: Annotated[str | None, Parameter(query="from", max_length=10)] = None,
        created_to: Annotated[str | None, Parameter(query="to", max_length=10)] = None,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        before: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None,
    ) -> Template:
        error = None
        rows: list[dict[str, Any]] = []
        filters: dict[str, Any] = {}
        try:
            if order_state:
                if order_state not in OrderState.__members__.values():
                    raise InvalidValue("state", "未知的订单状态", code="order.state_unknown")
                filters["states"] = [order_state]
            start, end = _day(created_from, "from"), _day(created_to, "to")
            if start:
                filters["created_from"] = _day_start(start)
            if end:
                filters["created_to"] = _day_start(end + dt.timedelta(days=1))
            if q and q.strip():
                filters["text"] = q.strip()
            rows = orders.list_orders(request.user, filters, before, PAGE_SIZE + 1)
        except InvalidValue as exc:
            error = {"field": exc.field, "message": exc.message}
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        for r in rows:
            r["state_label"] = state_label(r["state"])
        query = {"state": order_state or "", "from": created_from or "", "to": created_to or "", "q": q or ""}
        return page(request, "orders.html", title="订单", section="orders", crumbs=(("订单", None),),
                    rows=rows, more_before=rows[-1]["id"] if more and rows else None, query=query,
                    states=STATE_CHOICES, error=error, filtered=bool(filters) or before is not None)

    @get("/{order_id:int}", guards=[requires(*ORDER_READERS)], sync_to_thread=True)
    def order_page(self, order_id: int, request: Request[Principal, Any, Any], orders: OrdersService) -> Template:
        order = orders.detail(request.user, order_id)
        timeline = orders.timeline(request.user, order_id)
        for entry in timeline:
            entry["from_label"] = state_label(entry["from_state"]) if entry.get("from_state") else None
            entry["to_label"] = state_label(entry["to_state"]) if entry.get("to_state") else None
        order["state_label"] = state_label(order["state"])
        return page(request, "order.html", title=f"订单 {order['order_no']}", section="orders",
                    crumbs=(("订单", "/orders"), (order["order_no"], None)), order=order, timeline=timeline)
