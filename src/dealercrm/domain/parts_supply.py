"""Paid repairs and parts supply (issue 18 §5, seed 000 §4.3.2–3, §4.4, §6.3).

* **有偿维修**: a repair outside warranty (and outside any service contract) is billed to the
  customer — labour hours × the station's rate plus the parts sold or used in a normal repair at
  their catalogue retail price, all in integer fen. The bill is issued once per repair record and
  is then unpaid until the station records the payment.
* **配件订购**: a station orders parts from the central warehouse. The factory's after-sales
  parts staff confirm and ship the order; the station receives it, and only then (once) do the
  parts enter its stock.
* **调拨**: station A ships parts to station B — they leave A's stock on shipping and enter B's
  on receipt; nothing is booked twice and no stock goes below zero (``StockLine.issue``).
* **补货建议**: from each part's min/max levels and the last 90 days' usage, how many to order.

Every state change is a method that checks the current state and raises ``IllegalTransition``.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from dealercrm.domain.aftersales import PartUse, RepairRecord, labour_amount_fen
from dealercrm.domain.errors import (
    BusinessRuleViolation,
    IllegalTransition,
    InvalidValue,
)

MAX_LINES = 200
MAX_QUANTITY = 100_000
USAGE_WINDOW_DAYS = 90


def _quantity(field: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_QUANTITY:
        raise InvalidValue(field, f"数量须为1到{MAX_QUANTITY}的整数", code="parts_supply.quantity_invalid")
    return value


def _note(field: str, value: str | None, max_len: int = 500) -> str | None:
    text = (value or "").strip() or None
    if text is not None and len(text) > max_len:
        raise InvalidValue(field, f"说明不能超过{max_len}字", code="parts_supply.note_too_long")
    return text


# ---------------------------------------------------------------------------------------------
# Paid-repair bills (有偿维修结算单)


class BillState(enum.StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"

    @property
    def label(self) -> str:
        return {"unpaid": "未收款", "paid": "已收款"}[self.value]


@attrs.frozen
class BillLine:
    """One line of a bill: ``kind`` is ``labour`` (quantity in centihours) or ``part``."""

    kind: str
    code: str
    description: str
    quantity: int
    unit_price_fen: int
    amount_fen: int

    def as_dict(self) -> dict[str, object]:
        return attrs.asdict(self)


def paid_repair_lines(record: RepairRecord, labour_rate_fen: int) -> list[BillLine]:
    """The lines the customer pays for a repair outside warranty: the labour (centihours × the
    station's rate per hour, half-even to the fen) and every part not accounted as 三包 at the
    retail price recorded with the repair. A repair in warranty is the factory's cost (a claim),
    never the customer's bill."""
    if record.in_warranty:
        raise BusinessRuleViolation("保修期内的维修按三包结算，不向客户收费", code="parts_supply.in_warranty",
                                    vin=record.vin)
    if isinstance(labour_rate_fen, bool) or not isinstance(labour_rate_fen, int) or labour_rate_fen < 0:
        raise InvalidValue("labour_rate_fen", "工时单价须为非负整数（分）", code="parts_supply.rate_invalid")
    lines = [BillLine("labour", record.operation_code or "LABOUR", "维修工时", record.labour_centihours,
                      labour_rate_fen, labour_amount_fen(record.labour_centihours, labour_rate_fen))]
    for p in record.parts:
        if p.use is PartUse.WARRANTY:
            continue
        lines.append(BillLine("part", p.part_no, p.part_name, p.quantity, p.unit_price_fen,
                              p.quantity * p.unit_price_fen))
    return lines


@attrs.define(slots=False, eq=False)
class RepairBill:
    """The customer's bill for one paid repair (one per repair record)."""

    number: str
    record_id: int
    station_id: int
    vin: str
    labour_fen: int
    parts_fen: int
    total_fen: int
    lines: list[dict[str, Any]]
    issued_at: dt.datetime
    issued_by: str
    customer_name: str | None = None
    state: BillState = BillState.UNPAID
    paid_at: dt.datetime | None = None
    paid_by: str | None = None
    payment_note: str | None = None
    version: int = 1
    id: int | None = None

    @classmethod
    def issue(cls, number: str, record: RepairRecord, labour_rate_fen: int, at: dt.datetime, actor: str,
              customer_name: str | None = None) -> RepairBill:
        if record.id is None:
            raise InvalidValue("record_id", "维修记录尚未保存", code="parts_supply.record_unsaved")
        lines = paid_repair_lines(record, labour_rate_fen)
        labour = sum(x.amount_fen for x in lines if x.kind == "labour")
        parts = sum(x.amount_fen for x in lines if x.kind == "part")
        return cls(number, record.id, record.station_id, record.vin, labour, parts, labour + parts,
                   [x.as_dict() for x in lines], at, actor, _note("customer_name", customer_name, 100))

    def pay(self, at: dt.datetime, actor: str, note: str | None = None) -> None:
        if self.state is not BillState.UNPAID:
            raise IllegalTransition("repair_bill", self.state.value, "pay")
        self.state = BillState.PAID
        self.paid_at = at
        self.paid_by = actor
        self.payment_note = _note("note", note)


# ---------------------------------------------------------------------------------------------
# Parts orders to the central warehouse (配件订购)


class OrderState(enum.StrEnum):
    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    RECEIVED = "received"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {"submitted": "已提交", "confirmed": "已确认", "shipped": "已发货", "received": "已收货",
                "cancelled": "已取消"}[self.value]


@attrs.frozen
class SupplyLine:
    """``quantity`` of ``part_no`` at ``unit_price_fen`` (the catalogue's standard cost when ordered)."""

    part_no: str
    part_name: str
    quantity: int
    unit_price_fen: int

    @property
    def amount_fen(self) -> int:
        return self.quantity * self.unit_price_fen

    def as_dict(self) -> dict[str, object]:
        return {"part_no": self.part_no, "part_name": self.part_name, "quantity": self.quantity,
                "unit_price_fen": self.unit_price_fen, "amount_fen": self.amount_fen}


def check_lines(lines: Sequence[SupplyLine]) -> list[SupplyLine]:
    """1 to 200 lines, each part once, each quantity 1 to 100 000."""
    if not lines:
        raise InvalidValue("lines", "至少需要一行配件", code="parts_supply.lines_required")
    if len(lines) > MAX_LINES:
        raise InvalidValue("lines", f"最多{MAX_LINES}行", code="parts_supply.too_many_lines")
    seen: set[str] = set()
    for line in lines:
        if line.part_no in seen:
            raise InvalidValue("lines", f"配件{line.part_no}重复", code="parts_supply.duplicate_part")
        _quantity("lines.quantity", line.quantity)
        seen.add(line.part_no)
    return sorted(lines, key=lambda x: x.part_no)


def lines_of(raw: list[dict[str, Any]]) -> list[SupplyLine]:
    return [SupplyLine(str(x["part_no"]), str(x["part_name"]), int(x["quantity"]),
                       int(x["unit_price_fen"])) for x in raw]


@attrs.define(slots=False, eq=False)
class PartsOrder:
    """A station's order to the central warehouse; its stock moves only on ``receive``."""

    number: str
    station_id: int
    lines: list[dict[str, Any]]
    total_fen: int
    submitted_at: dt.datetime
    submitted_by: str
    note: str | None = None
    state: OrderState = OrderState.SUBMITTED
    confirmed_at: dt.datetime | None = None
    shipped_at: dt.datetime | None = None
    waybill: str | None = None
    received_at: dt.datetime | None = None
    received_by: str | None = None
    cancelled_at: dt.datetime | None = None
    cancel_reason: str | None = None
    version: int = 1
    id: int | None = None

    @classmethod
    def submit(cls, number: str, station_id: int, lines: Sequence[SupplyLine], at: dt.datetime, actor: str,
               note: str | None = None) -> PartsOrder:
        checked = check_lines(lines)
        return cls(number, station_id, [x.as_dict() for x in checked], sum(x.amount_fen for x in checked), at,
                   actor, _note("note", note))

    def _move(self, allowed: tuple[OrderState, ...], target: OrderState) -> None:
        if self.state not in allowed:
            raise IllegalTransition("parts_order", self.state.value, target.value)
        self.state = target

    def confirm(self, at: dt.datetime) -> None:
        self._move((OrderState.SUBMITTED,), OrderState.CONFIRMED)
        self.confirmed_at = at

    def ship(self, at: dt.datetime, waybill: str | None = None) -> None:
        self._move((OrderState.CONFIRMED,), OrderState.SHIPPED)
        self.shipped_at = at
        self.waybill = _note("waybill", waybill, 100)

    def receive(self, at: dt.datetime, actor: str) -> list[SupplyLine]:
        """The lines to book into the station's stock — returned once only: a second receipt is
        an illegal transition, so nothing is booked twice."""
        self._move((OrderState.SHIPPED,), OrderState.RECEIVED)
        self.received_at = at
        self.received_by = actor
        return lines_of(self.lines)

    def cancel(self, at: dt.datetime, reason: str | None) -> None:
        self._move((OrderState.SUBMITTED, OrderState.CONFIRMED), OrderState.CANCELLED)
        self.cancelled_at = at
        self.cancel_reason = _note("reason", reason)


# ---------------------------------------------------------------------------------------------
# Transfers between stations (调拨)


class TransferState(enum.StrEnum):
    SHIPPED = "shipped"
    RECEIVED = "received"

    @property
    def label(self) -> str:
        return {"shipped": "在途", "received": "已调入"}[self.value]


@attrs.define(slots=False, eq=False)
class StockTransfer:
    """Parts sent from one station to another: out of the sender's stock when created (shipped),
    into the receiver's on ``receive``, once."""

    number: str
    from_station_id: int
    to_station_id: int
    lines: list[dict[str, Any]]
    shipped_at: dt.datetime
    shipped_by: str
    note: str | None = None
    state: TransferState = TransferState.SHIPPED
    received_at: dt.datetime | None = None
    received_by: str | None = None
    version: int = 1
    id: int | None = None

    @classmethod
    def ship(cls, number: str, from_station_id: int, to_station_id: int, lines: Sequence[SupplyLine],
             at: dt.datetime, actor: str, note: str | None = None) -> StockTransfer:
        if from_station_id == to_station_id:
            raise InvalidValue("to_station_id", "调入与调出服务站不能相同", code="parts_supply.same_station")
        checked = check_lines(lines)
        return cls(number, from_station_id, to_station_id, [x.as_dict() for x in checked], at, actor,
                   _note("note", note))

    def receive(self, at: dt.datetime, actor: str) -> list[SupplyLine]:
        if self.state is not TransferState.SHIPPED:
            raise IllegalTransition("stock_transfer", self.state.value, "receive")
        self.state = TransferState.RECEIVED
        self.received_at = at
        self.received_by = actor
        return lines_of(self.lines)


# ---------------------------------------------------------------------------------------------
# Replenishment suggestions (补货建议)


@attrs.frozen
class StockLevel:
    """A part at a station: balance, parts already ordered and not yet received, and its levels
    (``min_qty`` the reorder point, ``max_qty`` the level to fill up to; 0/0 when unset)."""

    part_no: str
    on_hand: int
    on_order: int = 0
    min_qty: int = 0
    max_qty: int = 0


def check_levels(min_qty: int, max_qty: int) -> tuple[int, int]:
    for field, v in (("min_qty", min_qty), ("max_qty", max_qty)):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_QUANTITY:
            raise InvalidValue(field, f"库存上下限须为0到{MAX_QUANTITY}的整数", code="parts_supply.level_invalid")
    if max_qty < min_qty:
        raise InvalidValue("max_qty", "库存上限不能小于下限", code="parts_supply.level_order")
    return min_qty, max_qty


@attrs.frozen
class Replenishment:
    part_no: str
    quantity: int
    reason: str  # below_min / usage_cover
    on_hand: int
    on_order: int
    min_qty: int
    max_qty: int
    used_90d: int
    usage_cover: int

    @property
    def reason_label(self) -> str:
        return {"below_min": "低于库存下限", "usage_cover": "不足覆盖近期用量"}[self.reason]


def suggest_replenishment(levels: Sequence[StockLevel], used_90d: Mapping[str, int], *,
                          cover_days: int = 30) -> list[Replenishment]:
    """What to order, per part (sorted by part number):

    * ``usage_cover`` = the last 90 days' usage scaled to ``cover_days``, rounded up
      (90 used, 30 days → 30);
    * the part is short when what it will have (on hand + on order) is at or below ``min_qty``
      (when a minimum is set), or below ``usage_cover``;
    * a short part is filled up to the larger of ``max_qty`` and ``usage_cover``.

    Parts used in the window but with no level row count as on hand 0, levels 0/0."""
    if not 1 <= cover_days <= 365:
        raise InvalidValue("cover_days", "覆盖天数须为1到365", code="parts_supply.cover_days_invalid")
    by_part = {x.part_no: x for x in levels}
    for part_no in used_90d:
        by_part.setdefault(part_no, StockLevel(part_no, 0))
    out: list[Replenishment] = []
    for part_no in sorted(by_part):
        level = by_part[part_no]
        used = max(0, used_90d.get(part_no, 0))
        cover = math.ceil(used * cover_days / USAGE_WINDOW_DAYS)
        expected = level.on_hand + level.on_order
        if level.min_qty > 0 and expected <= level.min_qty:
            reason = "below_min"
        elif expected < cover:
            reason = "usage_cover"
        else:
            continue
        quantity = max(level.max_qty, cover) - expected
        if quantity <= 0:
            continue
        out.append(Replenishment(part_no, quantity, reason, level.on_hand, level.on_order, level.min_qty,
                                 level.max_qty, used, cover))
    return out
