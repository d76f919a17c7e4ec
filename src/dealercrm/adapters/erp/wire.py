"""The ERP API's JSON shapes (docs/erp-api.md) ↔ the port's types.

Shared by the HTTP gateway and the in-memory twin so both decode exactly the same way.
Decoding a whole answer raises :class:`WireError`; decoding one event of a feed never does —
an event we cannot read becomes :class:`ErpUnreadableEvent` so one bad event does not block
the feed.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from dealercrm.application.ports.erp import (
    ErpChangeAck,
    ErpChangeRecorded,
    ErpChangeRequest,
    ErpEvent,
    ErpEventPage,
    ErpOrderAck,
    ErpOrderState,
    ErpPaymentReceived,
    ErpSalesOrder,
    ErpStatusChanged,
    ErpUnreadableEvent,
    ErpVehicleStockedIn,
)
from dealercrm.domain.errors import DomainError
from dealercrm.domain.values import Money, Vin


class WireError(ValueError):
    """An ERP answer does not have the documented shape."""


# ---------------------------------------------------------------------------------------------
# Requests


def encode_sales_order(order: ErpSalesOrder) -> dict[str, Any]:
    return {
        "contract_no": order.contract_no,
        "order_no": order.order_no,
        "dealer_code": order.dealer_code,
        "end_customer": order.end_customer,
        "agreed_delivery_date": order.agreed_delivery_date.isoformat() if order.agreed_delivery_date else None,
        "remarks": order.remarks,
        "total_amount_fen": order.total.fen,
        "lines": [
            {
                "line_no": line.line_no,
                "product_line": line.product_line.value,
                "template_code": line.template_code,
                "description": line.description,
                "quantity": line.quantity,
                "unit_price_fen": line.unit_price.fen,
                "options": list(line.options),
            }
            for line in order.lines
        ],
    }


def encode_change(change: ErpChangeRequest) -> dict[str, Any]:
    return {"change_no": change.change_no, "description": change.description}


# ---------------------------------------------------------------------------------------------
# Answers


def _get(obj: Any, key: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(obj, dict):
        raise WireError(f"expected an object around {key!r}")
    if key not in obj:
        raise WireError(f"missing field {key!r}")
    value = obj[key]
    if isinstance(value, bool) and kind is int:
        raise WireError(f"field {key!r} must be {kind}")
    if not isinstance(value, kind):
        raise WireError(f"field {key!r} must be {kind}")
    return value


def _opt(obj: dict[str, Any], key: str, kind: type) -> Any:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise WireError(f"field {key!r} must be {kind} or null")
    return value


def parse_time(value: Any, key: str = "time") -> datetime:
    if not isinstance(value, str):
        raise WireError(f"field {key!r} must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise WireError(f"field {key!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise WireError(f"field {key!r} has no UTC offset")
    return parsed


def parse_date(value: Any, key: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise WireError(f"field {key!r} is not an ISO date") from None


def _domain(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Build a port value, turning its validation errors into WireError."""
    try:
        return fn(*args, **kwargs)
    except (DomainError, ValueError, TypeError) as exc:
        raise WireError(getattr(exc, "message", None) or str(exc)) from None


def decode_order_ack(body: Any, replayed: bool) -> ErpOrderAck:
    return _domain(ErpOrderAck, _get(body, "tracking_no", str), _get(body, "status", str), replayed)


def decode_order_state(body: Any) -> ErpOrderState:
    vins = _get(body, "vins", list)
    return _domain(
        ErpOrderState,
        tracking_no=_get(body, "tracking_no", str),
        contract_no=_get(body, "contract_no", str),
        dealer_code=_get(body, "dealer_code", str),
        status=_get(body, "status", str),
        percent=_get(body, "percent", int),
        quantity=_get(body, "quantity", int),
        vins=tuple(_domain(Vin, v) for v in vins),
        updated_at=parse_time(_get(body, "updated_at", str), "updated_at"),
    )


def decode_change_ack(body: Any, replayed: bool) -> ErpChangeAck:
    return ErpChangeAck(
        tracking_no=_get(body, "tracking_no", str),
        change_id=_get(body, "change_id", str),
        change_no=_get(body, "change_no", str),
        replayed=replayed,
    )


def decode_event_page(body: Any) -> ErpEventPage:
    events = _get(body, "events", list)
    next_cursor = _opt(body, "next_cursor", str)
    has_more = _get(body, "has_more", bool)
    return ErpEventPage(tuple(decode_event(e) for e in events), next_cursor, has_more)


def decode_event(raw: Any) -> ErpEvent:
    """One feed event. Without ``event_id`` and ``seq`` an event cannot even be recorded as
    rejected, so that (only) makes the whole page unreadable."""
    event_id = _get(raw, "event_id", str)
    seq = _get(raw, "seq", int)
    kind = raw.get("type")
    try:
        decoder = _EVENT_DECODERS[kind]
    except (KeyError, TypeError):
        return ErpUnreadableEvent(event_id=event_id, seq=seq, type=str(kind), reason="unknown event type",
                                  raw=_compact(raw))
    try:
        data = _get(raw, "data", dict)
        common = {
            "event_id": event_id,
            "seq": seq,
            "tracking_no": _opt(raw, "tracking_no", str),
            "contract_no": _opt(raw, "contract_no", str),
            "occurred_at": parse_time(raw.get("occurred_at"), "occurred_at"),
        }
        return decoder(raw, data, common)
    except WireError as exc:
        return ErpUnreadableEvent(event_id=event_id, seq=seq, type=str(kind), reason=str(exc), raw=_compact(raw))


def _order_common(raw: dict[str, Any], common: dict[str, Any]) -> dict[str, Any]:
    if common["tracking_no"] is None:
        raise WireError("missing field 'tracking_no'")
    return {**common, "order_seq": _get(raw, "order_seq", int)}


def _status(raw: dict[str, Any], data: dict[str, Any], common: dict[str, Any]) -> ErpEvent:
    return _domain(ErpStatusChanged, **_order_common(raw, common),
                   status=_get(data, "status", str), percent=_get(data, "percent", int))


def _change(raw: dict[str, Any], data: dict[str, Any], common: dict[str, Any]) -> ErpEvent:
    return _domain(ErpChangeRecorded, **_order_common(raw, common),
                   change_id=_get(data, "change_id", str), change_no=_opt(data, "change_no", str),
                   description=_get(data, "description", str))


def _stock_in(raw: dict[str, Any], data: dict[str, Any], common: dict[str, Any]) -> ErpEvent:
    return _domain(ErpVehicleStockedIn, **_order_common(raw, common),
                   vin=_domain(Vin, _get(data, "vin", str)), line_no=_opt(data, "line_no", int),
                   stocked_at=parse_time(data.get("stocked_at"), "stocked_at"))


def _payment(raw: dict[str, Any], data: dict[str, Any], common: dict[str, Any]) -> ErpEvent:
    return _domain(ErpPaymentReceived, **common,
                   erp_payment_id=_get(data, "erp_payment_id", str),
                   dealer_code=_get(data, "dealer_code", str),
                   amount=_domain(Money, _get(data, "amount_fen", int)),
                   received_at=parse_time(data.get("received_at"), "received_at"))


_EVENT_DECODERS = {
    "status_changed": _status,
    "change_recorded": _change,
    "vehicle_stocked_in": _stock_in,
    "payment_received": _payment,
}


def _compact(raw: Any) -> str:
    try:
        return json.dumps(raw, ensure_ascii=False, separators=(",", ":"))[:2000]
    except (TypeError, ValueError):
        return repr(raw)[:2000]
