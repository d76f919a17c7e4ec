"""Customer-supplied chassis and parts (客户自带主机/配件): receive, store, issue, return.

Some orders are built on a chassis (主机) or with parts the dealer or its end customer brings.
The factory must always be able to say where each of them is. One ledger per order holds the
declared items and every movement; quantities are derived from movements, never typed, and the
ledger balances by construction:

    received = in store + in production + returned to the customer

Movements that would break it (issuing more than is in store, returning what was never issued)
are refused with the quantities that are actually there.

The items are what the order declares (``Order.supplied_parts``): :meth:`SuppliedPartsLedger.
sync_declared` follows the order's declaration for items nothing has moved yet, and never
touches an item with movements (the goods are physically here; their history stays). A chassis
line ordered with quantity *n* becomes *n* items, one per chassis, each with its own frame
number.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence

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


@attrs.frozen
class Declaration:
    """One ledger item as the order declares it: order line ``order_line_no``, unit
    ``unit_index`` of that line (a chassis line of quantity n declares n units)."""

    order_line_no: int
    unit_index: int
    kind: ItemKind
    description: str
    expected_quantity: int
    serial: str | None = None


def declarations_from_order(parts: Sequence[tuple[int, str, str, int, str | None]]) -> list[Declaration]:
    """``(line_no, kind, description, quantity, serial)`` of the order's lines → declarations.
    A chassis line of quantity n becomes n chassis, numbered in the description; the line's
    serial then identifies none of them and is asked for at receipt."""
    out: list[Declaration] = []
    for line_no, kind, description, quantity, serial in parts:
        k = ItemKind(kind)
        if k is ItemKind.CHASSIS and quantity > 1:
            out += [Declaration(line_no, i, k, f"{description}（第{i + 1}台/共{quantity}台）", 1, None)
                    for i in range(quantity)]
        else:
            out.append(Declaration(line_no, 0, k, description, quantity, _clean(serial)))
    return out


@attrs.define(slots=False, eq=False)
class SuppliedItem:
    line_no: int
    kind: ItemKind
    description: str
    expected_quantity: int
    serial: str | None = None  # chassis: VIN / frame or engine number, known at latest on receipt
    order_line_no: int | None = None  # the order's supplied-parts line it comes from
    unit_index: int = 0
    withdrawn: bool = False  # no longer declared by the order, kept because it has movements
    id: int | None = None


@attrs.define(slots=False, eq=False)
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
    by_name: str = ""
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

    @property
    def balanced(self) -> bool:
        return (self.received == self.in_store + self.in_production + self.returned_to_customer
                and min(self.in_store, self.in_production, self.returned_to_customer) >= 0)

    def as_dict(self) -> dict[str, object]:
        return {"line_no": self.line_no, "kind": self.kind.value, "description": self.description,
                "serial": self.serial, "expected": self.expected, "received": self.received,
                "in_store": self.in_store, "in_production": self.in_production,
                "returned_to_customer": self.returned_to_customer, "outstanding": self.outstanding}


@attrs.define(slots=False, eq=False)
class SuppliedPartsLedger:
    """Aggregate root: the customer-supplied items of one order and their movements."""

    order_id: int
    dealer_id: int
    items: list[SuppliedItem] = attrs.field(factory=list)
    entries: list[LedgerEntry] = attrs.field(factory=list)
    updated_at: dt.datetime | None = None
    id: int | None = None
    version: int = 1

    # -- following the order's declaration -------------------------------------------------------

    def sync_declared(self, declared: Sequence[Declaration]) -> bool:
        """Make the items follow the order's declaration. Items without movements take the
        declared kind, description, quantity and serial (or go when no longer declared). Items
        with movements keep their kind, description and serial (the goods are here; only the
        expected quantity follows): one no longer declared — or whose order line now declares
        something else, which then gets a new line — is marked ``withdrawn``, stays in the
        ledger, takes no more receipts and can still be returned. A line that ever moved is
        never reused. True if anything changed."""
        moved = {e.line_no for e in self.entries}
        wanted = {(d.order_line_no, d.unit_index): d for d in declared}
        changed = False
        for item in list(self.items):
            d = wanted.pop((item.order_line_no, item.unit_index), None) if item.order_line_no is not None else None
            if item.line_no in moved:
                same = d is not None and (d.kind, d.description) == (item.kind, item.description)
                if d is not None and not same:  # the order now declares something else there: a new item
                    wanted[(d.order_line_no, d.unit_index)] = d
                elif same and d is not None and d.expected_quantity != item.expected_quantity:
                    item.expected_quantity = d.expected_quantity
                    changed = True
                if item.withdrawn != (not same):
                    item.withdrawn = not same
                    changed = True
                continue
            if d is None:
                self.items.remove(item)
                changed = True
                continue
            new = (d.kind, d.description, d.expected_quantity, d.serial)
            if (item.kind, item.description, item.expected_quantity, item.serial) != new:
                item.kind, item.description, item.expected_quantity, item.serial = new
                changed = True
        for d in sorted(wanted.values(), key=lambda x: (x.order_line_no, x.unit_index)):
            item = self.declare(d.kind, d.description, d.expected_quantity, d.serial)
            item.order_line_no, item.unit_index = d.order_line_no, d.unit_index
            changed = True
        return changed

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
        line_no = max((i.line_no for i in self.items), default=0) + 1
        line_no = max(line_no, max((e.line_no for e in self.entries), default=0) + 1)
        item = SuppliedItem(line_no, kind, description, expected_quantity, _clean(serial))
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
            if len(serial) > 60:
                raise InvalidValue("serial", "编号不能超过60个字符", code="value.too_long")
            if item.serial and serial != item.serial:
                raise BusinessRuleViolation(
                    f"入库主机编号 {serial} 与登记的 {item.serial} 不一致", code="supplied.serial_mismatch",
                    declared=item.serial, received=serial)
            if self.balance_of(item).received >= 1:
                raise BusinessRuleViolation("该主机已入库", code="supplied.already_received", line_no=item.line_no,
                                            balance=self.balance_of(item).as_dict())
        elif serial is not None and len(serial) > 60:
            raise InvalidValue("serial", "编号不能超过60个字符", code="value.too_long")
        if item.withdrawn:
            raise BusinessRuleViolation("该行已不在订单的自带件中，不能再入库", code="supplied.item_withdrawn",
                                        line_no=item.line_no)
        if isinstance(quantity, int) and not isinstance(quantity, bool) and 0 < quantity:
            outstanding = self.balance_of(item).outstanding
            if quantity > outstanding:
                raise BusinessRuleViolation(
                    f"{item.description}尚待入库 {outstanding}，不能入库 {quantity}", code="supplied.over_receipt",
                    line_no=item.line_no, available=outstanding, requested=quantity,
                    balance=self.balance_of(item).as_dict())
        entry = self._move(item, Movement.RECEIVE, quantity, at, by_user_id, location, note, serial, photo_sha256)
        if item.kind is ItemKind.CHASSIS:
            item.serial = serial
        return entry

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

    def _require(self, item: SuppliedItem, quantity: int, available: int, where: str, code: str) -> None:
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise InvalidValue("quantity", "数量必须大于零", code="supplied.quantity_invalid")
        if quantity > available:
            raise BusinessRuleViolation(
                f"{item.description}{where}数量为 {available}，不足 {quantity}", code=code,
                line_no=item.line_no, available=available, requested=quantity,
                balance=self.balance_of(item).as_dict())

    def _move(self, item: SuppliedItem, movement: Movement, quantity: int, at: dt.datetime,
              by_user_id: int | None, location: str, note: str, serial: str | None,
              photo_sha256: str | None) -> LedgerEntry:
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise InvalidValue("quantity", "数量必须大于零", code="supplied.quantity_invalid")
        if at.tzinfo is None:
            raise InvalidValue("at", "时间必须带时区", code="time.naive")
        entry = LedgerEntry(item.line_no, movement, quantity, at, by_user_id, location.strip(), note.strip(), serial,
                            photo_sha256)
        self.entries.append(entry)
        self.updated_at = at
        return entry


def _clean(serial: str | None) -> str | None:
    if serial is None:
        return None
    serial = serial.strip().upper()
    return serial or None


PHOTO_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def sniff_image_type(data: bytes) -> str | None:
    """The image type the bytes really are (by their signature), whatever the client said."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


@attrs.define(slots=False, eq=False)
class PartPhoto:
    """A photo taken at a movement (the chassis on arrival, the part handed back). The bytes sit
    in a content-addressed file store under their SHA-256; this row ties them to one order, so
    only those who may see the order may fetch them."""

    order_id: int
    sha256: str
    content_type: str
    size_bytes: int
    uploaded_at: dt.datetime
    uploaded_by_id: int | None = None
    uploaded_by_name: str = ""
    id: int | None = None
