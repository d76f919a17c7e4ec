"""Customer-supplied chassis and parts (客户自带主机/配件): receive, store, issue, return.

Some orders are built on a chassis (主机) or with parts the dealer or its end customer brings.
The factory must always be able to say where each of them is. One ledger per order holds the
declared items and every movement; quantities are derived from movements, never typed, and the
ledger balances by construction:

    received = in store + in production + returned to the customer

Movements that would break it (issuing more than is in store, returning what was never issued)
are refused with the quantities that are actually there.
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs

from dealercrm.domain.errors import BusinessRuleViolation, InvalidValue, NotFound


class ItemKind(enum.StrEnum):
    CHASSIS = "chassis"
    PART = "part"

    @property
    def label(self) -> str:
        return {"chassis": "主机（底盘）", "part": "配件"}[self.value]


class Movement(enum.StrEnum):
    RECEIVE = "receive"  # 收：入库
    ISSUE = "issue"  # 领/发：领用到生产
    RETURN_TO_STORE = "return_to_store"  # 生产退库
    RETURN_TO_CUSTOMER = "return_to_customer"  # 退还客户

    @property
    def label(self) -> str:
        return MOVEMENT_LABELS[self]


MOVEMENT_LABELS = {
    Movement.RECEIVE: "入库",
    Movement.ISSUE: "领用",
    Movement.RETURN_TO_STORE: "退库",
    Movement.RETURN_TO_CUSTOMER: "退还客户",
}


@attrs.define(eq=False)
class SuppliedItem:
    line_no: int
    kind: ItemKind
    description: str
    expected_quantity: int
    serial: str | None = None  # chassis: VIN / frame or engine number, known at latest on receipt
    id: int | None = None


@attrs.define(eq=False)
class LedgerEntry:
    line_no: int
    movement: Movement
    quantity: int
    at: dt.datetime
    by_user_id: int | None
    location: str = ""
    note: str = ""
    serial: str | None = None
    photo_sha256: str | None = None
    id: int | None = None


@attrs.frozen
class ItemBalance:
    line_no: int
    kind: ItemKind
    description: str
    serial: str | None
    expected: int
    received: int
    in_store: int
    in_production: int
    returned_to_customer: int

    @property
    def outstanding(self) -> int:
        """Still expected from the customer."""
        return max(self.expected - self.received, 0)


@attrs.define(eq=False)
class SuppliedPartsLedger:
    """Aggregate root: the customer-supplied items of one order and their movements."""

    order_id: int
    dealer_id: int
    items: list[SuppliedItem] = attrs.field(factory=list)
    entries: list[LedgerEntry] = attrs.field(factory=list)
    id: int | None = None
    version: int = 1

    # -- declaring ---------------------------------------------------------------------------

    def declare(self, kind: ItemKind | str, description: str, expected_quantity: int = 1,
                serial: str | None = None) -> SuppliedItem:
        try:
            kind = ItemKind(kind)
        except ValueError:
            raise InvalidValue("kind", "类型须为主机（chassis）或配件（part）", code="supplied.kind_invalid") from None
        description = description.strip()
        if not description:
            raise InvalidValue("description", "请填写名称与规格", code="supplied.description_missing")
        if expected_quantity <= 0:
            raise InvalidValue("expected_quantity", "数量必须大于零", code="supplied.quantity_invalid")
        if kind is ItemKind.CHASSIS and expected_quantity != 1:
            raise InvalidValue("expected_quantity", "主机按台登记，每行数量为1", code="supplied.chassis_quantity")
        item = SuppliedItem(len(self.items) + 1, kind, description, expected_quantity, _clean(serial))
        self.items.append(item)
        return item

    # -- movements ---------------------------------------------------------------------------

    def receive(self, line_no: int, quantity: int, at: dt.datetime, by_user_id: int | None, *,
                serial: str | None = None, location: str = "", note: str = "",
                photo_sha256: str | None = None) -> LedgerEntry:
        item = self.item(line_no)
        serial = _clean(serial)
        if item.kind is ItemKind.CHASSIS:
            serial = serial or item.serial
            if not serial:
                raise InvalidValue("serial", "主机入库须登记车架号/发动机号", code="supplied.serial_required")
            if item.serial and serial != item.serial:
                raise BusinessRuleViolation(
                    f"入库主机编号 {serial} 与登记的 {item.serial} 不一致", code="supplied.serial_mismatch",
                    declared=item.serial, received=serial)
            item.serial = serial
        return self._move(item, Movement.RECEIVE, quantity, at, by_user_id, location, note, serial, photo_sha256)

    def issue(self, line_no: int, quantity: int, at: dt.datetime, by_user_id: int | None, *,
              note: str = "") -> LedgerEntry:
        item = self.item(line_no)
        self._require(item, quantity, self.balance_of(item).in_store, "在库", "supplied.not_in_store")
        return self._move(item, Movement.ISSUE, quantity, at, by_user_id, "", note, item.serial, None)

    def return_to_store(self, line_no: int, quantity: int, at: dt.datetime, by_user_id: int | None, *,
                        location: str = "", note: str = "") -> LedgerEntry:
        item = self.item(line_no)
        self._require(item, quantity, self.balance_of(item).in_production, "在生产中", "supplied.not_in_production")
        return self._move(item, Movement.RETURN_TO_STORE, quantity, at, by_user_id, location, note, item.serial, None)

    def return_to_customer(self, line_no: int, quantity: int, at: dt.datetime, by_user_id: int | None, *,
                           note: str = "", photo_sha256: str | None = None) -> LedgerEntry:
        item = self.item(line_no)
        self._require(item, quantity, self.balance_of(item).in_store, "在库", "supplied.not_in_store")
        return self._move(item, Movement.RETURN_TO_CUSTOMER, quantity, at, by_user_id, "", note, item.serial,
                          photo_sha256)

    # -- reading -----------------------------------------------------------------------------

    def item(self, line_no: int) -> SuppliedItem:
        for item in self.items:
            if item.line_no == line_no:
                return item
        raise NotFound("自带件行不存在", code="supplied.item_not_found", line_no=line_no)

    def balance_of(self, item: SuppliedItem) -> ItemBalance:
        totals = dict.fromkeys(Movement, 0)
        for entry in self.entries:
            if entry.line_no == item.line_no:
                totals[entry.movement] += entry.quantity
        received = totals[Movement.RECEIVE]
        in_production = totals[Movement.ISSUE] - totals[Movement.RETURN_TO_STORE]
        returned = totals[Movement.RETURN_TO_CUSTOMER]
        return ItemBalance(item.line_no, item.kind, item.description, item.serial, item.expected_quantity,
                           received, received - in_production - returned, in_production, returned)

    def balances(self) -> list[ItemBalance]:
        return [self.balance_of(item) for item in self.items]

    @property
    def all_received(self) -> bool:
        return all(b.outstanding == 0 for b in self.balances())

    # -- internals ---------------------------------------------------------------------------

    @staticmethod
    def _require(item: SuppliedItem, quantity: int, available: int, where: str, code: str) -> None:
        if quantity <= 0:
            raise InvalidValue("quantity", "数量必须大于零", code="supplied.quantity_invalid")
        if quantity > available:
            raise BusinessRuleViolation(
                f"{item.description}{where}数量为 {available}，不足 {quantity}", code=code,
                line_no=item.line_no, available=available, requested=quantity)

    def _move(self, item: SuppliedItem, movement: Movement, quantity: int, at: dt.datetime,
              by_user_id: int | None, location: str, note: str, serial: str | None,
              photo_sha256: str | None) -> LedgerEntry:
        if quantity <= 0:
            raise InvalidValue("quantity", "数量必须大于零", code="supplied.quantity_invalid")
        if at.tzinfo is None:
            raise InvalidValue("at", "时间必须带时区", code="time.naive")
        if movement is Movement.RECEIVE and item.kind is ItemKind.CHASSIS and self.balance_of(item).received >= 1:
            raise BusinessRuleViolation("该主机已入库", code="supplied.already_received", line_no=item.line_no)
        entry = LedgerEntry(item.line_no, movement, quantity, at, by_user_id, location.strip(), note.strip(), serial,
                            photo_sha256)
        self.entries.append(entry)
        return entry


def _clean(serial: str | None) -> str | None:
    if serial is None:
        return None
    serial = serial.strip().upper()
    return serial or None
