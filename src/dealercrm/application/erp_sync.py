"""Applying the ERP's event feed to our orders, vehicles and payments — exactly once, in the
right order, whatever the ERP sends.

The ERP feed (``ErpGateway.fetch_events``) is at-least-once and only roughly ordered: an event
may come twice (same ``event_id``, new ``seq``), a page may be shuffled, an event may name a
tracking number we never saw. :class:`ErpEventApplier` makes that harmless:

* **Duplicates** — an ``event_id`` already seen is a no-op.
* **Order** — an order's status never goes backwards. Status updates of one order are ranked
  by (stage, percent, the ERP's per-order ``order_seq``); an update that does not rank above
  the last one applied is *stale* and ignored (``stocked`` applied, then ``in_production 80 %``
  arrives late → ignored). Because the applied status is always the highest-ranked one seen,
  any permutation or duplication of a stream ends in the same state. A *newer* update
  (higher ``order_seq``) that ranks lower is an ERP-side regression: it is not applied either,
  but recorded as rejected (``erp.status_regression``) so a person can look.
* **Unknown orders** — events for a tracking number the target does not know are recorded as
  rejected (``erp.unknown_tracking_no``), not raised. So are events we could not read, and
  events the target refuses with a :class:`DomainError` (e.g. a VIN already on another order).

Stock-in, change and payment events are independent facts; each is applied once, in any order.

The target (:class:`ErpSyncTarget`) is where state lives; the applier itself keeps none, so
it can run in any process. A transactional target should commit in ``set_cursor``, which is
called once per page after all its events: a crash mid-page replays the page, and
``has_seen`` makes the replay harmless.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Protocol

import attrs

from dealercrm.application.ports.erp import (
    ErpChangeRecorded,
    ErpEvent,
    ErpEventPage,
    ErpGateway,
    ErpOrderStatus,
    ErpPaymentReceived,
    ErpStatusChanged,
    ErpUnreadableEvent,
    ErpVehicleStockedIn,
)
from dealercrm.domain.errors import Conflict, DomainError, NotFound
from dealercrm.domain.values import Money, Vin

# ---------------------------------------------------------------------------------------------
# Values


class SyncOutcome(enum.StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # event_id seen before
    STALE = "stale"  # an older status update that arrived late
    REJECTED = "rejected"  # recorded with a reason, not applied


@attrs.frozen
class ErpProgress:
    """The last status update applied to an order, as the target remembers it."""

    status: ErpOrderStatus = attrs.field(converter=ErpOrderStatus)
    percent: int
    order_seq: int

    @property
    def progress_key(self) -> tuple[int, int, int]:
        return (self.status.rank, self.percent, self.order_seq)

    @classmethod
    def of(cls, event: ErpStatusChanged) -> ErpProgress:
        return cls(event.status, event.percent, event.order_seq)


@attrs.frozen
class RejectedErpEvent:
    """An ERP event we did not apply, and why (stable ``code``, Chinese ``reason``)."""

    event_id: str
    seq: int
    type: str
    tracking_no: str | None
    code: str
    reason: str


@attrs.frozen
class ErpSyncReport:
    applied: int = 0
    duplicates: int = 0
    stale: int = 0
    rejected: int = 0
    pages: int = 0
    cursor: str | None = None

    @property
    def events(self) -> int:
        return self.applied + self.duplicates + self.stale + self.rejected

    def __add__(self, other: ErpSyncReport) -> ErpSyncReport:
        return ErpSyncReport(
            applied=self.applied + other.applied,
            duplicates=self.duplicates + other.duplicates,
            stale=self.stale + other.stale,
            rejected=self.rejected + other.rejected,
            pages=self.pages + other.pages,
            cursor=other.cursor if other.cursor is not None else self.cursor,
        )


# ---------------------------------------------------------------------------------------------
# The target port


class ErpSyncTarget(Protocol):
    """Where synced ERP facts land (orders, vehicles, payments) plus the sync's own memory
    (cursor, seen event ids, rejected events).

    ``on_*`` methods may raise a :class:`DomainError` to refuse one event; the applier records
    it as rejected and goes on. Any other exception aborts the page (nothing is acknowledged,
    the page is fetched again next time).
    """

    def get_cursor(self) -> str | None: ...

    def set_cursor(self, cursor: str) -> None:
        """Called once per page after all its events; a transactional target commits here."""
        ...

    def has_seen(self, event_id: str) -> bool: ...

    def mark_seen(self, event_id: str, seq: int) -> None: ...

    def knows_order(self, tracking_no: str, contract_no: str | None) -> bool:
        """Is this one of our released orders? A target may link an order released without
        an answer (the ERP timed out after committing) by its contract number here."""
        ...

    def last_status(self, tracking_no: str) -> ErpProgress | None: ...

    def on_status(self, event: ErpStatusChanged) -> None:
        """Set the order's production status/percent (already known to be newer)."""
        ...

    def on_change(self, event: ErpChangeRecorded) -> None:
        """Attach a read-only ERP change record to the order's history."""
        ...

    def on_stock_in(self, event: ErpVehicleStockedIn) -> None:
        """Create the vehicle with its VIN in factory stock (已入库待提); once per VIN."""
        ...

    def on_payment(self, event: ErpPaymentReceived) -> None:
        """Book a payment; once per ``erp_payment_id``."""
        ...

    def on_rejected(self, rejected: RejectedErpEvent) -> None: ...


# ---------------------------------------------------------------------------------------------
# The applier


class ErpEventApplier:
    """Applies ERP events to an :class:`ErpSyncTarget` idempotently (see module docstring)."""

    def __init__(self, target: ErpSyncTarget) -> None:
        self._target = target

    def apply_page(self, page: ErpEventPage) -> ErpSyncReport:
        counts = dict.fromkeys(SyncOutcome, 0)
        for event in page.events:
            counts[self.apply(event)] += 1
        if page.next_cursor is not None:
            self._target.set_cursor(page.next_cursor)
        return ErpSyncReport(
            applied=counts[SyncOutcome.APPLIED],
            duplicates=counts[SyncOutcome.DUPLICATE],
            stale=counts[SyncOutcome.STALE],
            rejected=counts[SyncOutcome.REJECTED],
            pages=1,
            cursor=page.next_cursor,
        )

    def apply(self, event: ErpEvent) -> SyncOutcome:
        target = self._target
        if target.has_seen(event.event_id):
            return SyncOutcome.DUPLICATE
        try:
            outcome = self._dispatch(event)
        except DomainError as exc:
            outcome = self._reject(event, exc.code, exc.message)
        target.mark_seen(event.event_id, event.seq)
        return outcome

    def _dispatch(self, event: ErpEvent) -> SyncOutcome:
        target = self._target
        if isinstance(event, ErpUnreadableEvent):
            return self._reject(event, "erp.event_unreadable", f"无法解析的ERP事件（{event.type}）：{event.reason}")
        if isinstance(event, ErpPaymentReceived):
            target.on_payment(event)
            return SyncOutcome.APPLIED
        if not target.knows_order(event.tracking_no, event.contract_no):
            return self._reject(event, "erp.unknown_tracking_no", f"未知的内部流转单号：{event.tracking_no}")
        if isinstance(event, ErpStatusChanged):
            return self._status(event)
        if isinstance(event, ErpVehicleStockedIn):
            target.on_stock_in(event)
        else:
            target.on_change(event)
        return SyncOutcome.APPLIED

    def _status(self, event: ErpStatusChanged) -> SyncOutcome:
        last = self._target.last_status(event.tracking_no)
        if last is not None and event.progress_key <= last.progress_key:
            if event.order_seq > last.order_seq:
                return self._reject(
                    event, "erp.status_regression",
                    f"ERP 状态倒退（{last.status.label} {last.percent}% → {event.status.label} {event.percent}%），未应用")
            return SyncOutcome.STALE
        self._target.on_status(event)
        return SyncOutcome.APPLIED

    def _reject(self, event: ErpEvent, code: str, reason: str) -> SyncOutcome:
        self._target.on_rejected(RejectedErpEvent(
            event_id=event.event_id,
            seq=event.seq,
            type=_event_type(event),
            tracking_no=getattr(event, "tracking_no", None),
            code=code,
            reason=reason,
        ))
        return SyncOutcome.REJECTED


_EVENT_TYPES = {
    ErpStatusChanged: "status_changed",
    ErpChangeRecorded: "change_recorded",
    ErpVehicleStockedIn: "vehicle_stocked_in",
    ErpPaymentReceived: "payment_received",
}


def _event_type(event: ErpEvent) -> str:
    if isinstance(event, ErpUnreadableEvent):
        return event.type
    return _EVENT_TYPES[type(event)]


def sync_erp_events(gateway: ErpGateway, target: ErpSyncTarget, *, page_size: int = 500,
                    max_pages: int = 100) -> ErpSyncReport:
    """The sync job: pull pages after the stored cursor and apply them until the feed is
    drained or ``max_pages`` were read. ``ErpUnavailable`` propagates; pages applied before it
    stay applied, so the next run continues where this one stopped."""
    report = ErpSyncReport(cursor=target.get_cursor())
    applier = ErpEventApplier(target)
    for _ in range(max_pages):
        cursor = target.get_cursor()
        page = gateway.fetch_events(cursor, page_size)
        report += applier.apply_page(page)
        if not page.has_more or page.next_cursor is None or page.next_cursor == cursor:
            break
    return report


# ---------------------------------------------------------------------------------------------
# In-memory target (tests, demo)


@attrs.define
class SyncedOrder:
    contract_no: str
    tracking_no: str | None = None
    dealer_code: str | None = None
    progress: ErpProgress | None = None
    status_at: datetime | None = None
    changes: dict[str, ErpChangeRecorded] = attrs.field(factory=dict)

    @property
    def status(self) -> ErpOrderStatus | None:
        return self.progress.status if self.progress else None

    @property
    def percent(self) -> int | None:
        return self.progress.percent if self.progress else None


@attrs.frozen
class SyncedVehicle:
    vin: Vin
    tracking_no: str
    line_no: int | None
    stocked_at: datetime
    state: str = "in_factory_stock"  # 已入库待提


@attrs.frozen
class SyncedPayment:
    erp_payment_id: str
    dealer_code: str
    contract_no: str | None
    amount: Money
    received_at: datetime


class InMemoryErpSyncTarget:
    """An :class:`ErpSyncTarget` in dictionaries. Register the orders we released with
    :meth:`add_order` (tracking number optional: unknown until the ERP answered)."""

    def __init__(self) -> None:
        self.cursor: str | None = None
        self.seen: dict[str, int] = {}
        self.orders: dict[str, SyncedOrder] = {}  # by contract_no
        self._by_tracking: dict[str, SyncedOrder] = {}
        self.vehicles: dict[str, SyncedVehicle] = {}  # by VIN
        self.payments: dict[str, SyncedPayment] = {}  # by erp_payment_id
        self.rejected: list[RejectedErpEvent] = []

    def add_order(self, contract_no: str, tracking_no: str | None = None, dealer_code: str | None = None) -> None:
        order = self.orders.setdefault(contract_no, SyncedOrder(contract_no, dealer_code=dealer_code))
        if tracking_no is not None:
            if order.tracking_no not in (None, tracking_no):
                raise Conflict("合同已关联其他内部流转单号", code="erp.tracking_no_conflict",
                               contract_no=contract_no, tracking_no=order.tracking_no)
            order.tracking_no = tracking_no
            self._by_tracking[tracking_no] = order

    def order(self, tracking_no: str) -> SyncedOrder:
        return self._by_tracking[tracking_no]

    # -- ErpSyncTarget ----------------------------------------------------------------------

    def get_cursor(self) -> str | None:
        return self.cursor

    def set_cursor(self, cursor: str) -> None:
        self.cursor = cursor

    def has_seen(self, event_id: str) -> bool:
        return event_id in self.seen

    def mark_seen(self, event_id: str, seq: int) -> None:
        self.seen[event_id] = seq

    def knows_order(self, tracking_no: str, contract_no: str | None) -> bool:
        if tracking_no in self._by_tracking:
            return True
        order = self.orders.get(contract_no) if contract_no is not None else None
        if order is not None and order.tracking_no is None:
            self.add_order(order.contract_no, tracking_no)
            return True
        return False

    def last_status(self, tracking_no: str) -> ErpProgress | None:
        return self._by_tracking[tracking_no].progress

    def on_status(self, event: ErpStatusChanged) -> None:
        order = self._by_tracking[event.tracking_no]
        order.progress = ErpProgress.of(event)
        order.status_at = event.occurred_at

    def on_change(self, event: ErpChangeRecorded) -> None:
        self._by_tracking[event.tracking_no].changes.setdefault(event.change_id, event)

    def on_stock_in(self, event: ErpVehicleStockedIn) -> None:
        existing = self.vehicles.get(event.vin.value)
        if existing is not None:
            if existing.tracking_no != event.tracking_no:
                raise Conflict("该车架号已属于其他订单", code="erp.vin_conflict", vin=event.vin.value,
                               tracking_no=existing.tracking_no)
            return
        self.vehicles[event.vin.value] = SyncedVehicle(event.vin, event.tracking_no, event.line_no, event.stocked_at)

    def on_payment(self, event: ErpPaymentReceived) -> None:
        if event.erp_payment_id in self.payments:
            return
        if event.contract_no is not None and event.contract_no not in self.orders:
            raise NotFound(f"未知的合同号：{event.contract_no}", code="erp.unknown_contract")
        self.payments[event.erp_payment_id] = SyncedPayment(
            event.erp_payment_id, event.dealer_code, event.contract_no, event.amount, event.received_at)

    def on_rejected(self, rejected: RejectedErpEvent) -> None:
        self.rejected.append(rejected)

    # -- for assertions ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, object]:
        """Business state only (not the cursor): equal snapshots = same synced facts."""
        return {
            "orders": {
                c: (o.tracking_no, o.progress, o.status_at, tuple(sorted(o.changes)))
                for c, o in sorted(self.orders.items())
            },
            "vehicles": dict(sorted(self.vehicles.items())),
            "payments": dict(sorted(self.payments.items())),
            "rejected": sorted((r.event_id, r.code) for r in self.rejected),
        }
