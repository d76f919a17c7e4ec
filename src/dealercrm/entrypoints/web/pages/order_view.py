"""The order page as every order route renders it: the order, its timeline, the e-contract and
the change requests, with the actions the user may take there."""

from __future__ import annotations

import uuid
from typing import Any

import attrs
from litestar import Request
from litestar.response import Template

from dealercrm.application.order_changes import CHANGEABLE
from dealercrm.application.order_flow import OrderFlowService
from dealercrm.application.orders import ORDER_WRITERS as WRITER_ROLES
from dealercrm.application.services.orders import OrdersService
from dealercrm.domain.errors import NotFound
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.orders import OrderState, QuoteStatus
from dealercrm.entrypoints.web.layout import ORDER_WRITERS, page

DONE = {"contract": "电子合同已确认，订单已转财务审核。", "change": "变更申请已提交，等待技术评审。"}


def state_label(code: Any) -> str:
    try:
        return OrderState(str(code)).label
    except ValueError:
        return str(code)


def order_flow_context(order_flow: OrderFlowService, actor: Principal, order: dict[str, Any]) -> dict[str, Any]:
    """The contract and the change requests of the order, and which of their actions to offer
    (the rules stay in the service: these only decide which buttons to show)."""
    try:
        contract: dict[str, Any] | None = order_flow.contract(actor, order["id"])
    except NotFound:
        contract = None
    changes = order_flow.changes(actor, order["id"])
    state = OrderState(str(order["state"]))
    open_change = any(c["status"] == "pending" for c in changes)
    return {
        "contract": contract,
        "changes": changes,
        "can_accept": bool(contract and contract["status"] == "awaiting_acceptance"
                           and state is OrderState.CONTRACT_SIGNING and actor.role is Role.DEALER),
        "can_change": state in CHANGEABLE and actor.role in WRITER_ROLES and not open_change,
    }


QUOTE_STATES = (OrderState.AWAITING_QUOTE, OrderState.QUOTED)


def quote_context(actor: Principal, order: dict[str, Any]) -> dict[str, Any]:
    """The link from the order to its special-configuration quote (特殊配置报价, ``/quotes/<id>``), for
    the dealer once the order has asked for one; the newest quote's status shown beside it."""
    quotes = sorted(order.get("quotes") or (), key=lambda q: q["seq"])
    state = OrderState(str(order["state"]))
    if actor.role is not Role.DEALER or not (quotes or state in QUOTE_STATES):
        return {"quote_href": None, "quote_label": None, "quote_waiting": False}
    latest = QuoteStatus(str(getattr(quotes[-1]["status"], "value", quotes[-1]["status"]))) if quotes else None
    return {"quote_href": f"/quotes/{order['id']}", "quote_label": latest.label if latest else "待核价",
            "quote_waiting": state is OrderState.QUOTED}


def order_page(request: Request[Principal, Any, Any], orders: OrdersService, order_flow: OrderFlowService,
               order_id: int, *, notice: str | None = None, status_code: int = 200,
               change_errors: dict[str, str] | None = None, change_values: dict[str, str] | None = None,
               change_token: str | None = None) -> Template:
    order = orders.detail(request.user, order_id)
    timeline = [{**attrs.asdict(e, recurse=False),
                 "from_label": state_label(e.from_state) if e.from_state else None,
                 "to_label": state_label(e.to_state) if e.to_state else None}
                for e in orders.timeline(request.user, order_id)]
    order["state_label"] = state_label(order["state"])
    editable = OrderState(str(order["state"])).editable and request.user.role in ORDER_WRITERS
    done = DONE.get(str(request.query_params.get("done") or "")) if status_code == 200 else None
    return page(request, "order.html", title=f"订单 {order['order_no']}", section="orders",
                crumbs=(("订单", "/orders"), (order["order_no"], None)), order=order, timeline=timeline,
                editable=editable, notice=notice, status_code=status_code, flash=done,
                accept_token=uuid.uuid4().hex, change_token=change_token or uuid.uuid4().hex,
                change_errors=change_errors or {}, change_values=change_values or {},
                **order_flow_context(order_flow, request.user, order), **quote_context(request.user, order))
