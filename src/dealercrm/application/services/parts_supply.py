"""The parts supply service (``crm.parts_supply``, issue 18 §5, seed 000 §4.3.2–3, §4.4, §6.3).

* Paid repairs (有偿维修): a station issues the customer's bill from a repair record outside
  warranty (labour hours × its rate, parts at retail price, integer fen) and records the
  payment; the service-income report per station sets paid-repair income beside the warranty
  claims approved for the month.
* Parts orders (配件订购): a station orders from the central warehouse; after-sales parts staff
  confirm and ship; the station receives, which books the parts into its stock once.
  Replenishment suggestions come from the station's min/max levels and its last 90 days' usage.
* Transfers (调拨): a station (or after-sales staff for it) ships parts to another station — out
  of its stock at once — and the receiving station books them in on receipt, once.

A station sees and acts on its own bills, orders and transfers only (a transfer is its own when
it sends or receives it); anything else is 404. After-sales staff and administrators see all,
finance reads bills and the income report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs

from dealercrm.application import aftersales as af
from dealercrm.application import transfers
from dealercrm.application.access import not_found, require_role
from dealercrm.application.exports import Column, ColumnKind, Download, Exporter, Table
from dealercrm.application.ports.parts_supply import (
    PartsSupplyQueries,
    PartsSupplyUnitOfWork,
)
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.saving import save_new
from dealercrm.application.station_work import (
    catalog_part,
    move_stock,
    record_or_404,
    station_or_404,
)
from dealercrm.domain.aftersales import SHANGHAI, MovementKind, month_bounds
from dealercrm.domain.errors import Conflict, InvariantBroken
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.parts_supply import (
    USAGE_WINDOW_DAYS,
    PartsOrder,
    RepairBill,
    check_levels,
    suggest_replenishment,
)
from dealercrm.domain.values import stored_id

PartsSupplyUnitOfWorkFactory = Callable[[Principal], PartsSupplyUnitOfWork]

STAFF = (Role.AFTER_SALES, Role.ADMIN)  # the factory's after-sales parts staff
WORKERS = (*STAFF, Role.STATION)
BILL_READERS = (*WORKERS, Role.FINANCE)
INCOME_READERS = (*STAFF, Role.FINANCE, Role.STATION)

INCOME_TABLE = Table("服务收入", (
    Column("month", "月份", width=9), Column("station_name", "服务站", width=24),
    Column("bills", "有偿维修单数", ColumnKind.INTEGER), Column("billed_fen", "有偿维修开单金额", ColumnKind.MONEY),
    Column("paid_fen", "有偿维修收款", ColumnKind.MONEY), Column("claims", "三包结算单数", ColumnKind.INTEGER),
    Column("claim_fen", "三包结算收入", ColumnKind.MONEY), Column("income_fen", "服务收入合计", ColumnKind.MONEY),
))


@attrs.frozen
class RepairBilling:
    """What billing a repair made: ``kind`` ``claim`` (三包结算申请, the factory pays) or ``bill``
    (有偿维修收费单, the customer pays), with its id and number."""

    kind: str
    id: int
    number: str


def _own(actor: Principal, station_id: int | None) -> bool:
    return actor.role is not Role.STATION or actor.station_id == station_id


def _scope(actor: Principal) -> int | None:
    return (actor.station_id or -1) if actor.role is Role.STATION else None


def _year(now: dt.datetime) -> int:
    return now.astimezone(SHANGHAI).year


class PartsSupplyService:
    """Paid repairs, parts supply and transfers of the service stations (issue 18 §5): bills for
    repairs outside warranty (有偿维修) and the service-income report, parts orders to the central
    warehouse (配件订购) with min/max levels and replenishment suggestions, and transfers between
    stations (调拨). A station sees and acts on its own records only (others are ``NotFound``);
    confirming and shipping orders is the after-sales staff's."""

    def __init__(self, uow: PartsSupplyUnitOfWorkFactory, clock: Clock, queries: PartsSupplyQueries,
                 exporter: Exporter) -> None:
        self._u: PartsSupplyUnitOfWorkFactory = uow
        self._clock: Clock = clock
        self.queries: PartsSupplyQueries = queries
        self._exporter: Exporter = exporter

    # -- paid-repair bills -----------------------------------------------------------------
    def issue_bill(self, actor: Principal, record_id: int, customer_name: str | None = None) -> tuple[int, str]:
        """Bill the customer for a repair outside warranty; one bill per record (409 naming the
        existing one)."""
        require_role(actor, *WORKERS)
        now = self._clock()
        uow = self._u(actor)
        with uow:
            record = record_or_404(uow, actor, record_id)
            existing = uow.parts_supply.bill_of_record(record_id)
            if existing is not None:
                raise Conflict(f"该维修记录已开具收费单{existing.number}", code="parts_supply.bill_exists",
                               bill_id=existing.id, number=existing.number)
            station = uow.aftersales.station(record.station_id)
            if station is None:
                raise InvariantBroken("repair record of a missing station")
            bill = RepairBill.issue(uow.numbers.formatted("YC", year=_year(now)), record, station.labour_rate_fen,
                                    now, actor.username, customer_name)
            return save_new(uow, uow.parts_supply, bill, "repair bill"), bill.number

    def bill_repair(self, actor: Principal, record_id: int, customer_name: str | None = None) -> RepairBilling:
        """Bill this repair (结算): a repair in warranty becomes the station's settlement claim on the
        factory (``aftersales.submit_claim``: labour and 三包 parts, reviewed by after-sales then
        finance; the customer must have confirmed it); one outside warranty becomes the customer's
        paid-repair bill (``issue_bill``). 409 when the record already has its claim or bill."""
        require_role(actor, *WORKERS)
        uow = self._u(actor)
        with uow:
            in_warranty = record_or_404(uow, actor, record_id).in_warranty
        if in_warranty:
            return RepairBilling("claim", *af.submit_claim(record_id, self._u(actor), self._clock))
        return RepairBilling("bill", *self.issue_bill(actor, record_id, customer_name))

    def bill_of_record(self, actor: Principal, record_id: int) -> dict[str, Any] | None:
        """The paid-repair bill of a repair record, if it has one (the repair page shows it)."""
        require_role(actor, *BILL_READERS)
        uow = self._u(actor)
        with uow:
            record_or_404(uow, actor, record_id)
            bill = uow.parts_supply.bill_of_record(record_id)
            if bill is None:
                return None
            return {"id": bill.id, "number": bill.number, "total_fen": bill.total_fen, "state": bill.state.value,
                    "state_label": bill.state.label}

    def pay_bill(self, actor: Principal, bill_id: int, note: str | None = None) -> None:
        """Record that the customer paid a bill, once (a second payment is ``IllegalTransition``, 409); the bill's
        station or after-sales staff. ``NotFound`` for another station's bill."""
        require_role(actor, *WORKERS)
        uow = self._u(actor)
        with uow:
            bill = uow.parts_supply.bill(bill_id)
            if bill is None or not _own(actor, bill.station_id):
                raise not_found("repair_bill", "维修收费单")
            bill.pay(self._clock(), actor.username, note)
            uow.commit()

    def bills(self, actor: Principal, *, state: str | None = None, station_id: int | None = None,
              after: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Paid-repair bills, newest id after ``after``: a station's own, the staff's filtered by
        station and state."""
        require_role(actor, *BILL_READERS)
        scope = _scope(actor)
        return self.queries.bills(station_id=scope if scope is not None else station_id, state=state, after=after,
                                  limit=limit)

    def bill(self, actor: Principal, bill_id: int) -> dict[str, Any]:
        """One paid-repair bill with its lines; ``NotFound`` for another station's."""
        require_role(actor, *BILL_READERS)
        row = self.queries.bill(bill_id)
        if row is None or not _own(actor, row["station_id"]):
            raise not_found("repair_bill", "维修收费单")
        return row

    def income(self, actor: Principal, month: str) -> list[dict[str, Any]]:
        """Service income per station for a Beijing month (YYYY-MM); a station gets its own row."""
        require_role(actor, *INCOME_READERS)
        start, end = month_bounds(month)
        return self.queries.income(start, end, month, station_id=_scope(actor))

    def this_month(self) -> str:
        """The current Beijing month, YYYY-MM (the income report's default)."""
        return self._clock().astimezone(SHANGHAI).strftime("%Y-%m")

    def export_income(self, actor: Principal, month: str, fmt: str) -> Download:
        """The income report as a CSV or XLSX download (the same rows, the caller's scope)."""
        self._exporter.check_format(fmt)
        rows = self.income(actor, month)
        return self._exporter.download(fmt, f"service-income-{month}", INCOME_TABLE, rows)

    # -- parts orders ----------------------------------------------------------------------
    def submit_order(self, actor: Principal, station_id: int, lines: list[tuple[str, int]],
                     note: str | None = None) -> tuple[int, str]:
        """A station orders parts at the catalogue's standard cost; nothing moves yet."""
        require_role(actor, *WORKERS)
        now = self._clock()
        uow = self._u(actor)
        with uow:
            station = station_or_404(uow, actor, station_id)
            order = PartsOrder.submit(uow.numbers.formatted("PJ", year=_year(now)), stored_id(station.id),
                                      transfers.supply_lines(uow, lines), now, actor.username, note)
            return save_new(uow, uow.parts_supply, order, "parts order"), order.number

    def _order(self, uow: PartsSupplyUnitOfWork, actor: Principal, order_id: int) -> PartsOrder:
        order = uow.parts_supply.order(order_id)
        if order is None or not _own(actor, order.station_id):
            raise not_found("parts_order", "配件订单")
        return order

    def confirm_order(self, actor: Principal, order_id: int) -> str:
        """The parts staff accept a submitted parts order; returns its new state. After-sales staff
        only (``PermissionDenied``); ``Conflict``/``IllegalTransition`` from another state."""
        require_role(actor, *STAFF)
        uow = self._u(actor)
        with uow:
            order = self._order(uow, actor, order_id)
            order.confirm(self._clock())
            uow.commit()
            return order.state.value

    def ship_order(self, actor: Principal, order_id: int, waybill: str | None = None) -> str:
        """The central warehouse ships a confirmed order (with its waybill); returns its new state.
        After-sales staff only; the station's stock moves when it receives the parts."""
        require_role(actor, *STAFF)
        uow = self._u(actor)
        with uow:
            order = self._order(uow, actor, order_id)
            order.ship(self._clock(), waybill)
            uow.commit()
            return order.state.value

    def cancel_order(self, actor: Principal, order_id: int, reason: str | None = None) -> str:
        """The station withdraws, or the parts staff refuse, an order not yet shipped."""
        require_role(actor, *WORKERS)
        uow = self._u(actor)
        with uow:
            order = self._order(uow, actor, order_id)
            order.cancel(self._clock(), reason)
            uow.commit()
            return order.state.value

    def receive_order(self, actor: Principal, order_id: int) -> dict[str, int]:
        """The station takes the shipped parts in: each line is a receipt in its stock, in the
        order's transaction, once (the order row is locked; a second receipt is 409).
        Returns part number → balance after."""
        require_role(actor, *WORKERS)
        now = self._clock()
        uow = self._u(actor)
        with uow:
            order = self._order(uow, actor, order_id)
            balances = {}
            for line in order.receive(now, actor.username):
                balances[line.part_no] = move_stock(uow, order.station_id, line.part_no, MovementKind.RECEIPT,
                                                     line.quantity, now, order.number)
            uow.commit()
        return balances

    def orders(self, actor: Principal, *, state: str | None = None, station_id: int | None = None,
               after: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """A station's own orders; for the parts staff the queue of every station's (by state)."""
        require_role(actor, *WORKERS)
        scope = _scope(actor)
        return self.queries.orders(station_id=scope if scope is not None else station_id, state=state, after=after,
                                   limit=limit)

    def order(self, actor: Principal, order_id: int) -> dict[str, Any]:
        """One parts order with its lines; ``NotFound`` for another station's."""
        require_role(actor, *WORKERS)
        row = self.queries.order(order_id)
        if row is None or not _own(actor, row["station_id"]):
            raise not_found("parts_order", "配件订单")
        return row

    # -- stock levels and replenishment ----------------------------------------------------
    def set_levels(self, actor: Principal, station_id: int, part_no: str, min_qty: int, max_qty: int) -> None:
        """Set a part's min/max stock levels at a station (its own, or any for after-sales staff).
        Raises ``InvalidValue`` when min > max or a level is negative, ``NotFound`` for an unknown part."""
        require_role(actor, *WORKERS)
        low, high = check_levels(min_qty, max_qty)
        uow = self._u(actor)
        with uow:
            station = station_or_404(uow, actor, station_id)
            part = catalog_part(uow, part_no)
            uow.parts_supply.set_levels(stored_id(station.id), part.part_no, low, high)
            uow.commit()

    def suggestions(self, actor: Principal, station_id: int, *, cover_days: int = 30) -> list[dict[str, Any]]:
        """What the station should order now: below its minimum, or short of covering
        ``cover_days`` of its last 90 days' usage (``domain.parts_supply.suggest_replenishment``)."""
        require_role(actor, *WORKERS)
        if actor.role is Role.STATION and actor.station_id != station_id:
            raise not_found("service_station", "服务站")
        since = self._clock() - dt.timedelta(days=USAGE_WINDOW_DAYS)
        levels = self.queries.stock_levels(station_id)
        used = self.queries.usage(station_id, since)
        return [{"part_no": s.part_no, "quantity": s.quantity, "reason": s.reason, "reason_label": s.reason_label,
                 "on_hand": s.on_hand, "on_order": s.on_order, "min_qty": s.min_qty, "max_qty": s.max_qty,
                 "used_90d": s.used_90d, "usage_cover": s.usage_cover}
                for s in suggest_replenishment(levels, used, cover_days=cover_days)]

    # -- transfers between stations --------------------------------------------------------
    def ship_transfer(self, actor: Principal, from_station_id: int, to_station_id: int,
                      lines: list[tuple[str, int]], note: str | None = None) -> tuple[int, str]:
        """The parts leave the sending station's stock now (short stock refuses the whole
        transfer); they enter the receiver's stock when it receives them (``application.transfers``)."""
        require_role(actor, *WORKERS)
        uow = self._u(actor)
        with uow:
            transfer, _ = transfers.ship(uow, actor, from_station_id, to_station_id, lines, self._clock(), note)
            out = (stored_id(transfer.id), transfer.number)
            uow.commit()
        return out

    def receive_transfer(self, actor: Principal, transfer_id: int) -> dict[str, int]:
        """The receiving station books the parts in, once. Returns part number → balance after."""
        require_role(actor, *WORKERS)
        uow = self._u(actor)
        with uow:
            transfer = uow.parts_supply.transfer(transfer_id)
            if transfer is None or not (_own(actor, transfer.to_station_id) or _own(actor, transfer.from_station_id)):
                raise not_found("stock_transfer", "调拨单")
            if not _own(actor, transfer.to_station_id):
                raise Conflict("只有调入服务站可以确认收货", code="parts_supply.not_receiver",
                               to_station_id=transfer.to_station_id)
            balances = transfers.receive(uow, actor, transfer, self._clock())
            uow.commit()
        return balances

    def transfers(self, actor: Principal, *, station_id: int | None = None, after: int | None = None,
                  limit: int = 50) -> list[dict[str, Any]]:
        """Transfers a station sends or receives (the staff: any station's, or all)."""
        require_role(actor, *WORKERS)
        scope = _scope(actor)
        return self.queries.transfers(station_id=scope if scope is not None else station_id, after=after, limit=limit)

    def transfer(self, actor: Principal, transfer_id: int) -> dict[str, Any]:
        """One transfer with its lines, for its sending or receiving station (or after-sales staff)."""
        require_role(actor, *WORKERS)
        row = self.queries.transfer(transfer_id)
        if row is None or not (_own(actor, row["from_station_id"]) or _own(actor, row["to_station_id"])):
            raise not_found("stock_transfer", "调拨单")
        return row
