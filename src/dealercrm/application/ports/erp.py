"""The ERP port: what dealercrm needs from the factory ERP, in our own types.

dealercrm releases an approved contract to the ERP as a sales order and gets back the ERP
plan tracking number (内部流转单号). From then on the ERP owns production: it reports status
(scheduled → in production n % → inspected → stocked), change records, stock-in of each
vehicle with its VIN, and payments it booked. We pull those as an ordered event feed.

Two rules make the integration safe against a flaky ERP:

* ``create_sales_order`` and ``forward_change`` carry an idempotency key (the contract number,
  the change request number). Sending the same key again returns the first answer and never
  creates a second ERP order, so a call that timed out *after* the ERP committed is simply
  retried.
* Events carry a unique ``event_id`` and, per order, an ``order_seq``; the sync applies each
  event once and never moves an order's status backwards (see ``application.erp_sync``).

Errors are typed by what the caller should do: :class:`ErpUnavailable` → retry later,
:class:`ErpRejected` → a person must look at it, :class:`ErpUnknownOrder` → our tracking
number is not the ERP's.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any, Protocol

import attrs

from dealercrm.domain.errors import DomainError, InvalidValue
from dealercrm.domain.orders import PRODUCTION_INSPECTED, PRODUCTION_STOCKED
from dealercrm.domain.values import Money, Vin, as_tuple

# ---------------------------------------------------------------------------------------------
# Errors


class ErpError(DomainError):
    """Base of every failure talking to the ERP."""

    code = "erp.error"


class ErpUnavailable(ErpError):
    """Transient: timeout, connection refused or dropped, 5xx, 429, garbled answer. Retry.

    A timeout may come *after* the ERP committed; retrying with the same idempotency key is
    safe and returns the original answer.
    """

    code = "erp.unavailable"


class ErpRejected(ErpError):
    """Permanent: the ERP refused the request (4xx). ``reason`` is the ERP's own message and
    ``erp_code`` its error code; retrying the same request will fail the same way."""

    code = "erp.rejected"

    def __init__(self, message: str, *, erp_code: str = "", status: int | None = None,
                 code: str | None = None, **details: Any) -> None:
        super().__init__(message, code=code, erp_code=erp_code, status=status, **details)
        self.reason = message
        self.erp_code = erp_code
        self.status = status


class ErpUnknownOrder(ErpRejected):
    """The ERP does not know this tracking number."""

    code = "erp.unknown_order"


# ---------------------------------------------------------------------------------------------
# Values


class ErpOrderStatus(enum.StrEnum):
    """Production progress as the ERP reports it, in the only order it may advance."""

    SCHEDULED = "scheduled"
    IN_PRODUCTION = "in_production"
    INSPECTED = "inspected"
    STOCKED = "stocked"

    @property
    def rank(self) -> int:
        return _STATUS_RANK[self]

    @property
    def label(self) -> str:
        return _STATUS_LABEL[self]


_STATUS_RANK = {s: i for i, s in enumerate(ErpOrderStatus)}
_STATUS_LABEL = {
    ErpOrderStatus.SCHEDULED: "已排产",
    ErpOrderStatus.IN_PRODUCTION: "生产中",
    ErpOrderStatus.INSPECTED: PRODUCTION_INSPECTED,
    ErpOrderStatus.STOCKED: PRODUCTION_STOCKED,
}


class ProductLine(enum.StrEnum):
    TANKER = "tanker"  # 罐式车
    DUMP_TRUCK = "dump_truck"  # 自卸车
    SEMI_TRAILER = "semi_trailer"  # 半挂车


def _require_aware(_inst: object, attribute: attrs.Attribute[Any], value: datetime) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidValue(attribute.name, "时间必须带时区", code="time.not_aware")


def _require_text(_inst: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(attribute.name, "不能为空", code="value.required")


def _require_percent(_inst: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise InvalidValue(attribute.name, "进度须为0到100的整数", code="erp.percent_invalid")


# ---------------------------------------------------------------------------------------------
# Commands and answers


@attrs.frozen
class ErpOrderLine:
    """One configured line of a contract as the ERP needs it to plan production."""

    line_no: int
    product_line: ProductLine = attrs.field(converter=ProductLine)
    template_code: str = attrs.field(validator=_require_text)
    quantity: int
    unit_price: Money
    description: str = ""
    options: tuple[str, ...] = attrs.field(default=(), converter=as_tuple)

    def __attrs_post_init__(self) -> None:
        if isinstance(self.line_no, bool) or not isinstance(self.line_no, int) or self.line_no < 1:
            raise InvalidValue("line_no", "行号须为正整数", code="erp.line_no_invalid")
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int) or self.quantity < 1:
            raise InvalidValue("quantity", "数量须为正整数", code="erp.quantity_invalid")
        if self.unit_price.is_negative():
            raise InvalidValue("unit_price", "单价不能为负", code="erp.price_negative")

    @property
    def amount(self) -> Money:
        return self.unit_price * self.quantity


@attrs.frozen
class ErpSalesOrder:
    """An approved contract released to the ERP. ``contract_no`` is also the idempotency key."""

    contract_no: str = attrs.field(validator=_require_text)
    order_no: str = attrs.field(validator=_require_text)
    dealer_code: str = attrs.field(validator=_require_text)
    lines: tuple[ErpOrderLine, ...] = attrs.field(converter=as_tuple)
    end_customer: str | None = None
    agreed_delivery_date: date | None = None
    remarks: str = ""

    def __attrs_post_init__(self) -> None:
        if not self.lines:
            raise InvalidValue("lines", "订单至少需要一行", code="erp.lines_empty")
        numbers = [line.line_no for line in self.lines]
        if len(set(numbers)) != len(numbers):
            raise InvalidValue("lines", "行号不能重复", code="erp.line_no_duplicate")

    @property
    def total(self) -> Money:
        return sum((line.amount for line in self.lines), Money.zero())

    @property
    def quantity(self) -> int:
        return sum(line.quantity for line in self.lines)


@attrs.frozen
class ErpOrderAck:
    """The ERP accepted (or had already accepted) a sales order."""

    tracking_no: str
    status: ErpOrderStatus = attrs.field(converter=ErpOrderStatus)
    replayed: bool = False  # True when the idempotency key had been seen: same order, no new one


@attrs.frozen
class ErpOrderState:
    """The ERP's current view of one sales order."""

    tracking_no: str
    contract_no: str
    dealer_code: str
    status: ErpOrderStatus = attrs.field(converter=ErpOrderStatus)
    percent: int = attrs.field(validator=_require_percent)
    quantity: int
    vins: tuple[Vin, ...] = attrs.field(converter=as_tuple)
    updated_at: datetime = attrs.field(validator=_require_aware)


@attrs.frozen
class ErpChangeRequest:
    """A reviewed change request forwarded to the ERP (after technical design it lives there)."""

    change_no: str = attrs.field(validator=_require_text)
    description: str = attrs.field(validator=_require_text)


@attrs.frozen
class ErpChangeAck:
    tracking_no: str
    change_id: str
    change_no: str
    replayed: bool = False


# ---------------------------------------------------------------------------------------------
# Events (the feed)


@attrs.frozen(kw_only=True)
class ErpStatusChanged:
    event_id: str
    seq: int
    tracking_no: str
    contract_no: str | None
    order_seq: int
    occurred_at: datetime = attrs.field(validator=_require_aware)
    status: ErpOrderStatus = attrs.field(converter=ErpOrderStatus)
    percent: int = attrs.field(validator=_require_percent)

    @property
    def progress_key(self) -> tuple[int, int, int]:
        """Orders updates of one order: later production stage, then percent, then ERP order."""
        return (self.status.rank, self.percent, self.order_seq)


@attrs.frozen(kw_only=True)
class ErpChangeRecorded:
    event_id: str
    seq: int
    tracking_no: str
    contract_no: str | None
    order_seq: int
    occurred_at: datetime = attrs.field(validator=_require_aware)
    change_id: str
    change_no: str | None
    description: str


@attrs.frozen(kw_only=True)
class ErpVehicleStockedIn:
    event_id: str
    seq: int
    tracking_no: str
    contract_no: str | None
    order_seq: int
    occurred_at: datetime = attrs.field(validator=_require_aware)
    vin: Vin
    line_no: int | None
    stocked_at: datetime = attrs.field(validator=_require_aware)


@attrs.frozen(kw_only=True)
class ErpPaymentReceived:
    event_id: str
    seq: int
    tracking_no: str | None
    contract_no: str | None
    occurred_at: datetime = attrs.field(validator=_require_aware)
    erp_payment_id: str
    dealer_code: str
    amount: Money
    received_at: datetime = attrs.field(validator=_require_aware)


@attrs.frozen(kw_only=True)
class ErpUnreadableEvent:
    """An event we could not understand (unknown type, bad VIN, missing field). Kept so the
    sync can record it as rejected instead of failing the whole page."""

    event_id: str
    seq: int
    type: str
    reason: str
    raw: str = ""


ErpEvent = ErpStatusChanged | ErpChangeRecorded | ErpVehicleStockedIn | ErpPaymentReceived | ErpUnreadableEvent
ErpOrderEvent = ErpStatusChanged | ErpChangeRecorded | ErpVehicleStockedIn


@attrs.frozen
class ErpEventPage:
    """Events after a cursor. Apply all of them, then store ``next_cursor``."""

    events: tuple[ErpEvent, ...] = attrs.field(converter=as_tuple)
    next_cursor: str | None
    has_more: bool


# ---------------------------------------------------------------------------------------------
# The port


class ErpGateway(Protocol):
    """The factory ERP as dealercrm uses it.

    Every method raises :class:`ErpUnavailable` for transient failures and
    :class:`ErpRejected` (or :class:`ErpUnknownOrder`) for permanent ones.
    """

    def create_sales_order(self, order: ErpSalesOrder, idempotency_key: str) -> ErpOrderAck:
        """Release an order; the same key always yields the same tracking number."""
        ...

    def get_order(self, tracking_no: str) -> ErpOrderState:
        """The ERP's current state of one order."""
        ...

    def forward_change(self, tracking_no: str, change: ErpChangeRequest,
                       idempotency_key: str) -> ErpChangeAck:
        """Hand a reviewed change request to the ERP; the same key records it once."""
        ...

    def fetch_events(self, after_cursor: str | None, limit: int) -> ErpEventPage:
        """Up to ``limit`` events after ``after_cursor`` (``None`` = from the beginning)."""
        ...
