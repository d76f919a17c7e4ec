"""Use cases of customer-supplied chassis and parts (客户自带主机/配件, issue 4 §9): receive
(with serial number and photo), issue to production, return to store, return to the customer,
and the per-order ledger with its balances.

Who may do what:

* the factory's warehouse and production write: ``production`` (生产), ``procurement``
  (采购/供应部, which runs the incoming-goods store) and ``admin``;
* staff read the ledgers of the dealers in their scope; a dealer reads its own orders' ledgers;
  any other order is 404.

Rules beyond the ledger's own:

* goods are received from submission on (the customer may deliver a chassis while the order is
  reviewed) until production ends — not for drafts, cancelled or completed orders;
* goods go to production only once the order is released to ERP (released, in production);
* returning to store and to the customer is always possible (the goods exist);
* a chassis is received with its frame/engine number and a photo; parts may carry a photo.

Photos are uploaded first (``upload_photo``: bytes checked by their signature — JPEG, PNG or
WebP — and bounded in size), stored in a content-addressed :class:`PhotoStore` under their
SHA-256 and recorded against the order; a movement then names the photo by that SHA-256. A
retried upload is harmless (same bytes, same key, one row).

Every movement is one transaction: the ledger row is locked (PostgreSQL) and versioned, the
movement and a timeline entry on the order are written together; a refused movement (more
than is there → 409 with the item's balance) writes nothing.
"""

from __future__ import annotations

from typing import Any

import attrs

from dealercrm.application.access import dealer_scope, not_found, require_role
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.ports.supplied_parts import (
    PhotoStore,
    SuppliedPartsQueries,
    SuppliedPartsUnitOfWork,
)
from dealercrm.domain.errors import Conflict, IllegalTransition, InvalidValue, InvariantBroken
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.orders import Order, OrderState
from dealercrm.domain.supplied_parts import (
    MOVEMENT_LABELS,
    ItemBalance,
    ItemKind,
    LedgerEntry,
    Movement,
    PartPhoto,
    SuppliedItem,
    SuppliedPartsLedger,
    declarations_from_order,
    sniff_image_type,
)
from dealercrm.domain.values import stored_id

WRITERS = (Role.ADMIN, Role.PRODUCTION, Role.PROCUREMENT)
MAX_PHOTO_BYTES = 5 * 1024 * 1024
S = OrderState
RECEIVING_STATES = frozenset({S.SUBMITTED, S.IN_REVIEW, S.APPROVED, S.CONTRACT_SIGNING, S.FINANCE_REVIEW,
                              S.FINANCE_REJECTED, S.AWAITING_RELEASE, S.RELEASED, S.IN_PRODUCTION})
ISSUING_STATES = frozenset({S.RELEASED, S.IN_PRODUCTION})


@attrs.frozen
class MovementIn:
    line_no: int
    quantity: int
    serial: str | None = None
    location: str | None = None
    note: str | None = None
    photo_sha256: str | None = None
    ledger_version: int | None = None  # the version the client saw; stale → 409, so a retry never moves twice


@attrs.frozen
class MovementDone:
    order_id: int
    ledger_version: int
    line_no: int
    movement: str
    balance: ItemBalance


@attrs.frozen
class PhotoStored:
    sha256: str
    content_type: str
    size_bytes: int


# ---------------------------------------------------------------------------------------------
# Helpers


def declared_of(order_parts: Any) -> list[Any]:
    """The order's supplied-parts lines (entities or rows) as ledger declarations."""
    def get(p: Any, name: str) -> Any:
        return p[name] if isinstance(p, dict) else getattr(p, name)

    return declarations_from_order([(get(p, "line_no"), str(get(p, "kind")), get(p, "description"),
                                     get(p, "quantity"), get(p, "serial")) for p in order_parts])


def _visible_order(uow: SuppliedPartsUnitOfWork, order_id: int) -> Order:
    order = uow.orders.get(order_id)
    region = uow.orders.region_of(order.dealer_id) if order is not None else None
    if order is None or region is None or not dealer_scope(uow.actor).admits(order.dealer_id, region):
        raise not_found("order", "订单")
    return order


def _ledger_for(uow: SuppliedPartsUnitOfWork, order: Order) -> SuppliedPartsLedger:
    if order.id is None:
        raise InvariantBroken("order has no id: not flushed")
    ledger = uow.supplied_parts.for_order(order.id)
    if ledger is None:
        ledger = SuppliedPartsLedger(order_id=order.id, dealer_id=order.dealer_id)
        uow.supplied_parts.add(ledger)
    ledger.sync_declared(declared_of(order.supplied_parts))
    return ledger


def _text(value: str | None, field: str, label: str, max_len: int) -> str:
    value = (value or "").strip()
    if len(value) > max_len:
        raise InvalidValue(field, f"{label}不能超过{max_len}个字符", code="value.too_long")
    return value


def _photo_key(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise InvalidValue("photo_sha256", "照片编号须为64位十六进制 SHA-256", code="supplied.photo_invalid")
    return value


_ACTION = {
    Movement.RECEIVE: "supplied_receive",
    Movement.ISSUE: "supplied_issue",
    Movement.RETURN_TO_STORE: "supplied_return_to_store",
    Movement.RETURN_TO_CUSTOMER: "supplied_return_to_customer",
}


def _check_state(order: Order, movement: Movement) -> None:
    allowed = {Movement.RECEIVE: RECEIVING_STATES, Movement.ISSUE: ISSUING_STATES}.get(movement)
    if allowed is not None and order.state not in allowed:
        what = "接收客户自带件" if movement is Movement.RECEIVE else "领用客户自带件到生产"
        raise IllegalTransition("order", order.state.value, _ACTION[movement],
                                f"订单当前状态为「{order.state.label}」，不能{what}",
                                code="supplied.order_state")


# ---------------------------------------------------------------------------------------------
# Writes


def record_movement(order_id: int, movement: Movement | str, cmd: MovementIn, uow: SuppliedPartsUnitOfWork,
                    clock: Clock) -> MovementDone:
    """Receive, issue, return to store or return to customer ``cmd.quantity`` of one item."""
    require_role(uow.actor, *WRITERS)
    movement = Movement(movement)
    location = _text(cmd.location, "location", "存放位置", 100)
    note = _text(cmd.note, "note", "备注", 500)
    photo = _photo_key(cmd.photo_sha256)
    if movement in (Movement.ISSUE, Movement.RETURN_TO_STORE) and photo is not None:
        raise InvalidValue("photo_sha256", "领用与退库不登记照片", code="supplied.photo_not_applicable")
    if movement is not Movement.RECEIVE and cmd.serial:
        raise InvalidValue("serial", "编号在入库时登记", code="supplied.serial_not_applicable")
    now = clock()
    actor = uow.actor
    with uow:
        order = _visible_order(uow, order_id)
        _check_state(order, movement)
        ledger = _ledger_for(uow, order)
        if cmd.ledger_version is not None and ledger.id is not None and cmd.ledger_version != ledger.version:
            raise Conflict("台账已被他人更新，请刷新后重试", code="supplied.stale_version",
                           current_version=ledger.version)
        item = ledger.item(cmd.line_no)
        by = actor.user_id
        if movement is Movement.RECEIVE:
            entry = ledger.receive(cmd.line_no, cmd.quantity, now, by, serial=cmd.serial, location=location,
                                   note=note, photo_sha256=photo)
        elif movement is Movement.ISSUE:
            entry = ledger.issue(cmd.line_no, cmd.quantity, now, by, note=note)
        elif movement is Movement.RETURN_TO_STORE:
            entry = ledger.return_to_store(cmd.line_no, cmd.quantity, now, by, location=location, note=note)
        else:
            entry = ledger.return_to_customer(cmd.line_no, cmd.quantity, now, by, note=note, photo_sha256=photo)
        # checked after the ledger's own rules, so the serial and quantities are reported first
        if photo is not None and uow.supplied_parts.photo(stored_id(order.id), photo) is None:
            raise InvalidValue("photo_sha256", "照片未上传或不属于该订单", code="supplied.photo_unknown")
        if movement is Movement.RECEIVE and item.kind is ItemKind.CHASSIS and photo is None:
            raise InvalidValue("photo_sha256", "主机入库须拍照上传", code="supplied.photo_required")
        entry.by_name = actor.username[:60]
        balance = ledger.balance_of(item)
        order.record(_ACTION[movement], _summary(item, entry), now, actor,
                     data={"line_no": item.line_no, "movement": movement.value, "quantity": entry.quantity,
                           "serial": entry.serial, "location": entry.location or None,
                           "photo_sha256": entry.photo_sha256, "in_store": balance.in_store,
                           "in_production": balance.in_production})
        uow.flush()
        result = MovementDone(stored_id(order.id), ledger.version, item.line_no, movement.value, balance)
        uow.commit()
    return result


def _summary(item: SuppliedItem, entry: LedgerEntry) -> str:
    text = f"客户自带{item.kind.label}{MOVEMENT_LABELS[entry.movement]}：{item.description} ×{entry.quantity}"
    if entry.serial and entry.movement is Movement.RECEIVE:
        text += f"（编号 {entry.serial}）"
    if entry.location:
        text += f"，存放于{entry.location}"
    return text[:500]


def upload_photo(order_id: int, data: bytes, declared_type: str | None, uow: SuppliedPartsUnitOfWork, clock: Clock,
                 store: PhotoStore) -> PhotoStored:
    """Store a photo for the order's supplied-parts ledger; returns the key movements name it by.
    The bytes must be a JPEG, PNG or WebP image (checked by signature) of at most
    ``MAX_PHOTO_BYTES``; a declared content type that disagrees is refused."""
    require_role(uow.actor, *WRITERS)
    if not data:
        raise InvalidValue("file", "照片文件为空", code="supplied.photo_empty")
    if len(data) > MAX_PHOTO_BYTES:
        raise InvalidValue("file", f"照片不能超过{MAX_PHOTO_BYTES // (1024 * 1024)}MB", code="supplied.photo_too_large",
                           max_bytes=MAX_PHOTO_BYTES)
    kind = sniff_image_type(data)
    if kind is None:
        raise InvalidValue("file", "仅支持 JPEG、PNG、WebP 格式的照片", code="supplied.photo_type")
    declared = (declared_type or "").split(";")[0].strip().lower()
    if declared and declared not in (kind, "application/octet-stream"):
        raise InvalidValue("file", f"文件内容为 {kind}，与声明的类型 {declared} 不符", code="supplied.photo_type_mismatch")
    now = clock()
    with uow:
        order = _visible_order(uow, order_id)
        sha256 = store.put(data)  # idempotent and content-addressed: an orphan if we roll back, never a wrong photo
        if order.id is None:
            raise InvariantBroken("order has no id: not flushed")
        if uow.supplied_parts.photo(order.id, sha256) is None:
            uow.supplied_parts.add_photo(PartPhoto(order.id, sha256, kind, len(data), now, uow.actor.user_id,
                                                   uow.actor.username[:60]))
        uow.commit()
    return PhotoStored(sha256, kind, len(data))


# ---------------------------------------------------------------------------------------------
# Reads


def _readable(actor: Principal, row: dict[str, Any] | None) -> dict[str, Any]:
    if actor.is_device or actor.role in (Role.STATION, Role.KIOSK):
        raise not_found("order", "订单")
    if row is None or not dealer_scope(actor).admits(row["order"]["dealer_id"], row["order"]["region"]):
        raise not_found("order", "订单")
    return row


def ledger_view(actor: Principal, queries: SuppliedPartsQueries, order_id: int) -> dict[str, Any]:
    """The order's ledger as the caller may see it: items with balances, every movement, the
    totals and whether it balances. Before the first movement: the order's declaration."""
    row = _readable(actor, queries.ledger(order_id))
    order = row["order"]
    stored = row["ledger"]
    ledger = SuppliedPartsLedger(order_id=order_id, dealer_id=order["dealer_id"])
    ledger.items = [SuppliedItem(i["line_no"], ItemKind(str(i["kind"])), i["description"], i["expected_quantity"],
                                 i["serial"], i["order_line_no"], i["unit_index"], i["withdrawn"])
                    for i in row["items"]]
    ledger.entries = [LedgerEntry(m["line_no"], Movement(str(m["movement"])), m["quantity"], m["at"], m["by_user_id"],
                                  m["location"], m["note"], m["serial"], m["photo_sha256"], m["by_name"])
                      for m in row["movements"]]
    ledger.sync_declared(declared_of(row["declared"]))  # as the next movement will see it
    balances = ledger.balances()
    by_line = {i.line_no: i for i in ledger.items}
    totals = {k: sum(getattr(b, k) for b in balances)
              for k in ("expected", "received", "in_store", "in_production", "returned_to_customer")}
    return {
        "order_id": order_id, "order_no": order["order_no"], "order_state": order["state"],
        "dealer_id": order["dealer_id"], "version": stored["version"] if stored else None,
        "updated_at": stored["updated_at"] if stored else None,
        "items": [{**b.as_dict(), "kind_label": b.kind.label, "order_line_no": by_line[b.line_no].order_line_no,
                   "withdrawn": by_line[b.line_no].withdrawn, "balanced": b.balanced} for b in balances],
        "movements": [{"id": m["id"], "line_no": m["line_no"], "movement": str(m["movement"]),
                       "movement_label": Movement(str(m["movement"])).label, "quantity": m["quantity"],
                       "at": m["at"], "by_user_id": m["by_user_id"], "by_name": m["by_name"],
                       "location": m["location"], "note": m["note"], "serial": m["serial"],
                       "photo_sha256": m["photo_sha256"]} for m in row["movements"]],
        "totals": totals,
        "balanced": all(b.balanced for b in balances),
        "all_received": ledger.all_received,
    }


def photo_bytes(actor: Principal, queries: SuppliedPartsQueries, store: PhotoStore, order_id: int,
                sha256: str) -> tuple[str, bytes]:
    """(content type, bytes) of a photo recorded for an order the caller may see; else 404."""
    _readable(actor, queries.ledger(order_id))
    meta = queries.photo(order_id, sha256.strip().lower())
    data = store.get(meta["sha256"]) if meta else None
    if meta is None or data is None:
        raise not_found("supplied_photo", "照片")
    return meta["content_type"], data

