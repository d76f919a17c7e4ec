"""``SqlErpSyncTarget``: the ERP feed applied to our database (``application.erp_sync``).

One unit of work per page: it opens on the first event of a page and commits in
``set_cursor`` with the new cursor, so a page is applied completely or not at all and a crash
replays it (the seen-event table makes the replay harmless). Reading the cursor before a fetch
uses its own short unit of work: no lock is held while the ERP is being asked.

* status updates → ``erp_order_progress`` (the applier's memory of the last applied update)
  and the order's ``production_progressed`` (released → in_production, then progress entries);
  ``inspected`` is the order's finished-vehicle inspection step (``Order.inspected``), before stock-in;
* stock-in → ``application.vehicles.stock_in_vehicle`` (the vehicle with its VIN in factory
  stock, once per VIN) and, when the order has as many vehicles as units, ``stocked_in``;
* change records → ``erp_change_records`` and a read-only entry in the order's timeline;
* payments → ``application.credit.book_erp_payment`` (once per ERP payment id);
* an order released while the ERP answer was lost (timeout after commit) is linked by its
  contract number the first time an event names both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, insert, select, update

from dealercrm.adapters.db.gate_tables import vehicles
from dealercrm.adapters.db.orders_tables import _event_row, order_events, orders
from dealercrm.adapters.db.orderflow_tables import (
    erp_change_records,
    erp_order_progress,
    erp_rejected_events,
    erp_seen_events,
    erp_sync_cursors,
)
from dealercrm.application.contracts import order_no_of_release, release_key
from dealercrm.application.credit import book_erp_payment
from dealercrm.application.erp_sync import ErpProgress, RejectedErpEvent
from dealercrm.application.ports.erp import (
    ErpChangeRecorded,
    ErpOrderStatus,
    ErpPaymentReceived,
    ErpStatusChanged,
    ErpVehicleStockedIn,
)
from dealercrm.application.vehicles import stock_in_vehicle
from dealercrm.domain.contracts import ContractStatus
from dealercrm.domain.errors import BusinessRuleViolation, InvariantBroken
from dealercrm.domain.identity import Principal
from dealercrm.domain.orders import PRODUCTION_INSPECTED, Order, OrderEvent, OrderState

if TYPE_CHECKING:
    from dealercrm.adapters.db.uow import SqlAlchemyUnitOfWork

PRODUCING = (OrderState.RELEASED, OrderState.IN_PRODUCTION)


class SqlErpSyncTarget:
    def __init__(self, uow_factory: Callable[[Principal], SqlAlchemyUnitOfWork], clock: Callable[[], dt.datetime], *,
                 name: str = "erp") -> None:
        self.uow_factory = uow_factory
        self.clock = clock
        self.name = name
        self._uow: SqlAlchemyUnitOfWork | None = None
        self._reset()

    def _reset(self) -> None:
        self._orders: dict[str, Order] = {}  # aggregates loaded in this page, by tracking number
        self._light: dict[str, list[Any]] = {}  # [order_id, state] of orders not loaded, by tracking number
        self._seen: dict[str, int] = {}  # event ids of this page, written at the page's end
        self._progress: dict[str, tuple[ErpStatusChanged, int, bool]] = {}  # tracking → (last, order id, row exists)
        self._producing: dict[int, tuple[str, int, dt.datetime]] = {}  # order id → production status, %, at
        self._entries: list[tuple[int, OrderEvent]] = []  # timeline entries of orders not loaded
        self._progress_rows: set[str] = set()  # tracking numbers whose progress row exists

    # -- the page's unit of work ------------------------------------------------------------

    def _open(self) -> Any:
        if self._uow is None:
            uow = self.uow_factory(Principal.system())
            uow.__enter__()
            self._uow = uow
            self._reset()
        return self._uow

    def _conn(self) -> Any:
        return self._open().session.connection()

    def close(self) -> None:
        """Roll back an unfinished page (an error aborted it); safe to call any time."""
        if self._uow is not None:
            uow, self._uow = self._uow, None
            self._reset()
            uow.__exit__(None, None, None)

    def __enter__(self) -> SqlErpSyncTarget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- ErpSyncTarget ----------------------------------------------------------------------

    def get_cursor(self) -> str | None:
        q = select(erp_sync_cursors.c.cursor).where(erp_sync_cursors.c.name == self.name)
        if self._uow is not None:
            return self._conn().execute(q).scalar()
        with self.uow_factory(Principal.system()) as uow:
            return uow.session.connection().execute(q).scalar()

    def set_cursor(self, cursor: str) -> None:
        conn = self._conn()
        now = self.clock()
        self._write_pending(conn, now)
        done = conn.execute(update(erp_sync_cursors).where(erp_sync_cursors.c.name == self.name)
                            .values(cursor=cursor, updated_at=now)).rowcount
        if not done:
            conn.execute(insert(erp_sync_cursors).values(name=self.name, cursor=cursor, updated_at=now))
        uow = self._uow
        uow.commit()
        self.close()

    def has_seen(self, event_id: str) -> bool:
        if event_id in self._seen:
            return True
        return self._conn().execute(_SEEN, {"event_id": event_id}).first() is not None

    def mark_seen(self, event_id: str, seq: int) -> None:
        self._seen[event_id] = seq

    def _order(self, tracking_no: str) -> Order | None:
        """The aggregate, for a state change; pending progress of the order is written first."""
        order = self._orders.get(tracking_no)
        if order is None:
            light = self._light.pop(tracking_no, None)
            if light is not None:  # its pending progress first, so the aggregate loads it and the timeline stays in order
                conn, order_id = self._conn(), light[0]
                if order_id in self._producing:
                    self._write_progress(conn, {order_id: self._producing.pop(order_id)})
                mine = [e for oid, e in self._entries if oid == order_id]
                if mine:
                    conn.execute(insert(order_events), [_event_row(order_id, e) for e in mine])
                    self._entries = [(oid, e) for oid, e in self._entries if oid != order_id]
            order = self._open().orders.by_tracking_no(tracking_no)
            if order is not None:
                self._orders[tracking_no] = order
        return order

    def knows_order(self, tracking_no: str, contract_no: str | None) -> bool:
        if tracking_no in self._orders or tracking_no in self._light:
            return True
        row = self._conn().execute(_BY_TRACKING, {"tracking_no": tracking_no}).first()
        if row is not None:
            self._light[tracking_no] = [row.id, OrderState(str(row.state))]
            return True
        if contract_no is None:
            return False
        uow = self._open()
        order = self._unreleased_order(contract_no, tracking_no)
        if order is None:
            return False
        now = self.clock()
        order.erp_released(tracking_no, now)
        order.record("erp_linked", f"ERP 已受理但未回执，按合同号 {contract_no} 关联内部流转单号 {tracking_no}", now,
                     data={"tracking_no": tracking_no, "contract_no": contract_no})
        contract = uow.contracts.by_no(contract_no)
        if contract is not None:
            contract.mark_released(tracking_no, now)
        uow.flush()
        self._orders[tracking_no] = order
        return True

    def _unreleased_order(self, contract_no: str, tracking_no: str) -> Order | None:
        """The order awaiting release whose current contract (or, for 大委改, order number) this is.
        An ERP order of a contract voided by 退单 is never linked: it is refused with its reason."""
        uow = self._open()
        contract = uow.contracts.by_no(contract_no)
        if contract is not None and contract.status is ContractStatus.VOIDED:
            raise BusinessRuleViolation(
                f"ERP订单 {tracking_no} 对应的合同 {contract_no} 已作废（退单），未关联到订单；请在ERP撤销该订单",
                code="erp.contract_voided", tracking_no=tracking_no, contract_no=contract_no)
        order_id = contract.order_id if contract is not None else None
        if order_id is None:
            order_id = uow.session.connection().execute(
                select(Order.id).where(Order.order_no == order_no_of_release(contract_no))  # type: ignore[attr-defined]
            ).scalar()
        order = uow.orders.get(order_id) if order_id is not None else None
        if order is None or order.erp_tracking_no is not None or order.state is not OrderState.AWAITING_RELEASE:
            return None
        if release_key(order)[0] != contract_no:
            return None  # the order has moved on to another contract
        return order

    def last_status(self, tracking_no: str) -> ErpProgress | None:
        pending = self._progress.get(tracking_no)
        if pending is not None:
            return ErpProgress.of(pending[0])
        row = self._conn().execute(_PROGRESS, {"tracking_no": tracking_no}).first()
        if row is None:
            return None
        self._progress_rows.add(tracking_no)
        return ErpProgress(row.status, row.percent, row.order_seq)

    def on_status(self, event: ErpStatusChanged) -> None:
        t = event.tracking_no
        light = self._light.get(t)
        inspected = event.status is ErpOrderStatus.INSPECTED
        if light is not None and light[1] is OrderState.IN_PRODUCTION:
            # the common case, thousands of times: no aggregate, written in bulk at the page's end
            order_id = light[0]
            if inspected:  # the finished-vehicle inspection is a step of its own (Order.inspected)
                self._producing[order_id] = (PRODUCTION_INSPECTED, 100, event.occurred_at)
                self._entries.append((order_id, OrderEvent(
                    kind="inspected", at=event.occurred_at, summary="成品检验完成，待入库",
                    data={"status": PRODUCTION_INSPECTED})))
            else:
                self._producing[order_id] = (event.status.label, event.percent, event.occurred_at)
                self._entries.append((order_id, OrderEvent(
                    kind="production_progressed", at=event.occurred_at,
                    summary=f"生产进度：{event.status.label} {event.percent}%",
                    data={"status": event.status.label, "percent": event.percent})))
        else:
            order = self._order(t)
            if order is None or order.id is None:
                raise InvariantBroken(f"ERP order {t} is not loaded: the sync asks knows_order first")
            order_id = order.id
            if order.state in PRODUCING and inspected:
                order.inspected(event.occurred_at)
            elif order.state in PRODUCING:
                order.production_progressed(event.status.label, event.percent, event.occurred_at)
        exists = t in self._progress_rows or (t in self._progress and self._progress[t][2])
        self._progress[t] = (event, order_id, exists)

    # -- the page's end ---------------------------------------------------------------------

    def _write_progress(self, conn: Any, producing: dict[int, tuple[str, int, dt.datetime]]) -> None:
        if producing:
            conn.execute(_SET_PROGRESS, [{"order_id": k, "status": v[0], "percent": v[1], "at": v[2]}
                                         for k, v in producing.items()])

    def _write_pending(self, conn: Any, now: dt.datetime) -> None:
        self._write_progress(conn, self._producing)
        self._producing = {}
        if self._entries:
            conn.execute(insert(order_events), [_event_row(order_id, e) for order_id, e in self._entries])
            self._entries = []
        old, new = [], []
        for t, (e, order_id, exists) in self._progress.items():
            row = {"status": e.status.value, "percent": e.percent, "order_seq": e.order_seq,
                   "occurred_at": e.occurred_at}
            if exists:
                old.append({"t": t, **{f"b_{k}": v for k, v in row.items()}})
            else:
                new.append({"tracking_no": t, "order_id": order_id, **row})
        if old:
            conn.execute(_UPDATE_PROGRESS, old)
        if new:
            conn.execute(insert(erp_order_progress), new)
        self._progress = {}
        if self._seen:
            conn.execute(insert(erp_seen_events), [{"event_id": k, "seq": v, "seen_at": now}
                                                   for k, v in self._seen.items()])
            self._seen = {}

    def on_change(self, event: ErpChangeRecorded) -> None:
        order = self._order(event.tracking_no)
        if order is None or order.id is None:
            raise InvariantBroken(f"ERP order {event.tracking_no} is not loaded: the sync asks knows_order first")
        conn = self._conn()
        known = conn.execute(select(erp_change_records.c.change_id)
                             .where(erp_change_records.c.change_id == event.change_id)).first()
        if known is not None:
            return
        conn.execute(insert(erp_change_records).values(
            change_id=event.change_id, order_id=order.id, tracking_no=event.tracking_no, change_no=event.change_no,
            description=event.description, occurred_at=event.occurred_at))
        order.record("erp_change", f"ERP变更记录{' ' + event.change_no if event.change_no else ''}：{event.description}",
                     event.occurred_at, data={"change_id": event.change_id, "change_no": event.change_no,
                                              "description": event.description, "read_only": True})

    def on_stock_in(self, event: ErpVehicleStockedIn) -> None:
        order = self._order(event.tracking_no)
        if order is None or order.id is None:
            raise InvariantBroken(f"ERP order {event.tracking_no} is not loaded: the sync asks knows_order first")
        uow = self._open()
        result = stock_in_vehicle(
            uow, vin=event.vin.value, stocked_at=event.stocked_at, dealer_id=order.dealer_id, order_no=order.order_no,
            contract_no=order.contract_no or order.order_no, erp_tracking_no=event.tracking_no,
            erp_line_no=event.line_no, product_line=order.product_line.value, model_code=order.model_code,
            configuration=",".join(order.options), agreed_delivery_date=order.agreed_delivery_date, actor="erp")
        if not result.created:
            return
        stocked = uow.session.connection().execute(
            select(func.count()).select_from(vehicles).where(vehicles.c.erp_tracking_no == event.tracking_no)
        ).scalar_one()
        order.record("vehicle_stocked_in", f"车辆入库：VIN {event.vin.value}（{stocked}/{order.quantity}）",
                     event.stocked_at, data={"vin": event.vin.value, "line_no": event.line_no, "stocked": stocked,
                                             "quantity": order.quantity})
        if stocked >= order.quantity and order.state in PRODUCING:
            order.stocked_in(event.stocked_at)

    def on_payment(self, event: ErpPaymentReceived) -> None:
        uow = self._open()
        book_erp_payment(uow, event.erp_payment_id, event.dealer_code, event.contract_no, event.amount.fen,
                         event.received_at, now=self.clock())

    def on_rejected(self, rejected: RejectedErpEvent) -> None:
        self._conn().execute(insert(erp_rejected_events).values(
            event_id=rejected.event_id, seq=rejected.seq, type=rejected.type, tracking_no=rejected.tracking_no,
            code=rejected.code, reason=rejected.reason[:500], at=self.clock()))


_SEEN = select(erp_seen_events.c.seq).where(erp_seen_events.c.event_id == bindparam("event_id"))
_BY_TRACKING = select(orders.c.id, orders.c.state).where(orders.c.erp_tracking_no == bindparam("tracking_no"))
_PROGRESS = (select(erp_order_progress.c.status, erp_order_progress.c.percent, erp_order_progress.c.order_seq)
             .where(erp_order_progress.c.tracking_no == bindparam("tracking_no")))
_SET_PROGRESS = (update(orders).where(orders.c.id == bindparam("order_id"))
                 .values(production_status=bindparam("status"), production_percent=bindparam("percent"),
                         updated_at=bindparam("at"), version=orders.c.version + 1))
_UPDATE_PROGRESS = (update(erp_order_progress).where(erp_order_progress.c.tracking_no == bindparam("t"))
                    .values(status=bindparam("b_status"), percent=bindparam("b_percent"),
                            order_seq=bindparam("b_order_seq"), occurred_at=bindparam("b_occurred_at")))
