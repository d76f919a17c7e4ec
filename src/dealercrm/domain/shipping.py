"""Outbound shipping (外送) and the dealer's receipt (回执) — seed 000 §3.6 (5), §3.7.

A :class:`Shipment` carries factory-stock vehicles of one dealer on a carrier's truck: planned →
departed (the vehicles leave the factory, in transit) → delivered (the dealer's receipt came back)
or cancelled before departure. The dealer's :class:`DeliveryReceipt` states, per vehicle,
received / damaged / missing, whether the configuration matches the contract, notes and photo
references; VINs that arrived but were not on the shipment are listed too. Anything but "all
received as ordered" is a discrepancy, which raises an alarm to sales and dispatch.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Sequence
from typing import Any

import attrs

from dealercrm.domain.errors import IllegalTransition, InvalidValue
from dealercrm.domain.gate import clean_vins
from dealercrm.domain.printing import Cut, Feed, KeyValue, Line, PrintDocument, Separator, Text, Title
from dealercrm.domain.values import SHANGHAI, Phone, Vin, stored_id

_PLATE_RE = re.compile(
    r"^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z][A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂]$")
MAX_PHOTOS = 9


def truck_plate(raw: str) -> str:
    plate = raw.strip().upper().replace(" ", "").replace("·", "")
    if not _PLATE_RE.match(plate):
        raise InvalidValue("truck_plate", "车牌号格式不正确（如 豫A12345 或 豫A1234挂）", code="truck_plate.malformed")
    return plate


class ShipmentStatus(enum.StrEnum):
    PLANNED = "planned"
    DEPARTED = "departed"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {"planned": "待发车", "departed": "运输中", "delivered": "已回执", "cancelled": "已取消"}[self.value]


_SHIP_TRANSITIONS = {
    "depart": ({ShipmentStatus.PLANNED}, ShipmentStatus.DEPARTED),
    "cancel": ({ShipmentStatus.PLANNED}, ShipmentStatus.CANCELLED),
    "deliver": ({ShipmentStatus.DEPARTED}, ShipmentStatus.DELIVERED),
}
_SHIP_ACTIONS = {"depart": "发车", "cancel": "取消", "deliver": "回执"}


@attrs.define(slots=False, eq=False)
class Shipment:
    shipment_no: str
    dealer_id: int
    contract_no: str | None
    carrier: str
    driver_name: str
    driver_id_digest: str
    driver_id_masked: str
    driver_phone: Phone
    truck_plate: str
    vins: list[str]
    planned_departure: dt.datetime
    expected_arrival: dt.datetime
    created_at: dt.datetime
    created_by: str
    status: ShipmentStatus = ShipmentStatus.PLANNED
    departed_at: dt.datetime | None = None
    departed_by: str | None = None
    delivered_at: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None
    cancel_reason: str | None = None
    receipt_reminded_at: dt.datetime | None = None
    version: int = 1
    id: int | None = None

    def __attrs_post_init__(self) -> None:
        for name, limit, label in (("carrier", 100, "承运公司"), ("driver_name", 30, "司机姓名")):
            value = getattr(self, name).strip()
            if not value or len(value) > limit:
                raise InvalidValue(name, f"{label}须为1到{limit}个字", code=f"{name}.invalid")
            setattr(self, name, value)
        self.truck_plate = truck_plate(self.truck_plate)
        self.vins = clean_vins(self.vins)
        for name in ("planned_departure", "expected_arrival"):
            if getattr(self, name).utcoffset() is None:
                raise InvalidValue(name, "时间必须带时区", code="time.naive")
        if self.expected_arrival <= self.planned_departure:
            raise InvalidValue("expected_arrival", "预计到达时间须晚于发车时间", code="shipment.arrival_before_departure")

    def require_action(self, action: str) -> None:
        allowed, _ = _SHIP_TRANSITIONS[action]
        if self.status not in allowed:
            raise IllegalTransition("shipment", self.status.value, action,
                                    f"发运单 {self.shipment_no} 当前状态为“{self.status.label}”，不能{_SHIP_ACTIONS[action]}",
                                    code="shipment.illegal_transition")

    def _move(self, action: str) -> None:
        self.require_action(action)
        self.status = _SHIP_TRANSITIONS[action][1]

    def depart(self, at: dt.datetime, by: str) -> None:
        self._move("depart")
        self.departed_at, self.departed_by = at, by

    def cancel(self, reason: str, at: dt.datetime) -> None:
        if not reason or not reason.strip():
            raise InvalidValue("reason", "取消须填写原因", code="reason.required")
        self._move("cancel")
        self.cancelled_at, self.cancel_reason = at, reason.strip()

    def deliver(self, at: dt.datetime) -> None:
        self._move("deliver")
        self.delivered_at = at

    def receipt_overdue(self, now: dt.datetime, grace: dt.timedelta) -> bool:
        return self.status is ShipmentStatus.DEPARTED and now >= self.expected_arrival + grace


class ReceiptOutcome(enum.StrEnum):
    RECEIVED = "received"
    DAMAGED = "damaged"
    MISSING = "missing"

    @property
    def label(self) -> str:
        return {"received": "已收货", "damaged": "有损伤", "missing": "未收到"}[self.value]


@attrs.frozen
class ReceiptLine:
    vin: str
    outcome: ReceiptOutcome
    configuration_ok: bool = True
    note: str | None = None
    photos: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        if self.note is not None and len(self.note) > 500:
            raise InvalidValue("lines.note", "备注不超过500字", code="receipt.note_too_long")
        if len(self.photos) > MAX_PHOTOS:
            raise InvalidValue("lines.photos", f"每台车最多{MAX_PHOTOS}张照片", code="receipt.too_many_photos")
        if self.outcome is not ReceiptOutcome.RECEIVED and not (self.note or "").strip():
            raise InvalidValue("lines.note", "损伤或未收到须说明情况", code="receipt.note_required")
        if not self.configuration_ok and not (self.note or "").strip():
            raise InvalidValue("lines.note", "配置与合同不符须说明差异", code="receipt.note_required")

    @property
    def discrepancy(self) -> str | None:
        parts = []
        if self.outcome is not ReceiptOutcome.RECEIVED:
            parts.append(self.outcome.label)
        if not self.configuration_ok:
            parts.append("配置与合同不符")
        return f"{self.vin}：{'、'.join(parts)}（{self.note}）" if parts else None

    def as_json(self) -> dict[str, Any]:
        return {"vin": self.vin, "outcome": self.outcome.value, "configuration_ok": self.configuration_ok,
                "note": self.note, "photos": list(self.photos)}


@attrs.define(slots=False, eq=False)
class VehicleReceipt:
    """What every receipt (回执) of vehicles holds, whichever document they left under (a
    shipment, a gate pass): the lines as ``answer_lines`` checked them, the extra VINs, the
    discrepancies, who received the vehicles and when. Each kind adds the key of its document."""

    receipt_no: str
    dealer_id: int
    lines: list[dict[str, Any]]
    extra_vins: list[str]
    discrepancies: list[str]
    receiver_name: str
    received_at: dt.datetime
    recorded_by: str
    id: int | None = None

    @property
    def has_discrepancy(self) -> bool:
        return bool(self.discrepancies)


@attrs.define(slots=False, eq=False)
class DeliveryReceipt(VehicleReceipt):
    """The dealer's receipt (收货回执) of a shipment the factory delivered."""

    shipment_id: int = attrs.field(kw_only=True)

    @classmethod
    def for_shipment(cls, shipment: Shipment, *, receipt_no: str, lines: Sequence[ReceiptLine],
                     extra_vins: Sequence[str], receiver_name: str, received_at: dt.datetime,
                     by: str) -> DeliveryReceipt:
        """Every vehicle of the shipment answered exactly once; extra VINs are discrepancies."""
        shipment.require_action("deliver")
        name, answered, extras, discrepancies = answer_lines(
            shipment.vins, f"发运单 {shipment.shipment_no}", lines, extra_vins, receiver_name)
        return cls(receipt_no=receipt_no, shipment_id=stored_id(shipment.id), dealer_id=shipment.dealer_id,
                   lines=answered, extra_vins=extras, discrepancies=discrepancies,
                   receiver_name=name, received_at=received_at, recorded_by=by)


def answer_lines(expected: Sequence[str], document: str, lines: Sequence[ReceiptLine], extra_vins: Sequence[str],
                 receiver_name: str) -> tuple[str, list[dict[str, Any]], list[str], list[str]]:
    """The rule of every receipt (回执) of the vehicles of ``document`` ("发运单 SH-…", "出门证 CM-…"):
    each expected vehicle answered exactly once, nothing
    answered that was not expected (those go in ``extra_vins``, a discrepancy each), and a
    discrepancy for every vehicle damaged, missing or configured unlike the contract. Returns
    (receiver name, lines as JSON, extra VINs, discrepancies)."""
    name = receiver_name.strip()
    if not name or len(name) > 30:
        raise InvalidValue("receiver_name", "收货人姓名须为1到30个字", code="receiver_name.invalid")
    seen: list[str] = []
    for line in lines:
        vin = Vin(line.vin).value
        if vin not in expected:
            raise InvalidValue("lines", f"车辆 {vin} 不在{document}中，请填入“多收车辆”",
                               code="receipt.vin_not_shipped")
        if vin in seen:
            raise InvalidValue("lines", f"车辆 {vin} 重复", code="receipt.vin_duplicate")
        seen.append(vin)
    missing = [v for v in expected if v not in seen]
    if missing:
        raise InvalidValue("lines", f"请逐台确认：{'、'.join(missing)}", code="receipt.vin_unanswered")
    extras = [Vin(v).value for v in extra_vins]
    if set(extras) & set(expected) or len(set(extras)) != len(extras):
        raise InvalidValue("extra_vins", "多收车辆不能重复或与发运车辆相同", code="receipt.extra_vins_invalid")
    normalized = [attrs.evolve(line, vin=Vin(line.vin).value) for line in lines]
    discrepancies = [d for d in (line.discrepancy for line in normalized) if d]
    discrepancies += [f"{v}：不在{document.split(' ')[0]}中（多收）" for v in extras]
    return name, [line.as_json() for line in normalized], extras, discrepancies


@attrs.define(slots=False, eq=False)
class PickupReceipt(VehicleReceipt):
    """The dealer's receipt (自提回执) of vehicles its own driver collected at the gate: until it,
    they are on the road (released, 已出厂); by it, they enter the dealer's stock. Same rule and
    the same discrepancy alarm as a shipment's receipt."""

    gate_pass_id: int = attrs.field(kw_only=True)

    @classmethod
    def for_gate_pass(cls, gate_pass: Any, *, receipt_no: str, lines: Sequence[ReceiptLine],
                      extra_vins: Sequence[str], receiver_name: str, received_at: dt.datetime,
                      by: str) -> PickupReceipt:
        """Only for a pass whose vehicles left the gate (exited), after their exit."""
        if getattr(gate_pass.status, "value", gate_pass.status) != "exited":
            raise IllegalTransition("gate_pass", getattr(gate_pass.status, "value", str(gate_pass.status)), "receive",
                                    f"出门证 {gate_pass.pass_no} 的车辆尚未出厂，不能回执", code="pickup.not_exited")
        if gate_pass.exited_at is not None and received_at < gate_pass.exited_at:
            raise InvalidValue("received_at", "收货时间不能早于出厂时间", code="receipt.received_before_exit")
        name, answered, extras, discrepancies = answer_lines(
            gate_pass.vins, f"出门证 {gate_pass.pass_no}", lines, extra_vins, receiver_name)
        return cls(receipt_no=receipt_no, gate_pass_id=gate_pass.id, dealer_id=gate_pass.dealer_id,
                   lines=answered, extra_vins=extras, discrepancies=discrepancies, receiver_name=name,
                   received_at=received_at, recorded_by=by)


def layout_delivery_receipt(shipment: Shipment, receipt: DeliveryReceipt, dealer_name: str) -> PrintDocument:
    """The paper receipt (收货回执单) the driver takes back to the factory."""
    lines: list[Line] = [
        Title("收货回执单"),
        Separator("="),
        KeyValue("回执号", receipt.receipt_no, bold=True),
        KeyValue("发运单", shipment.shipment_no),
        KeyValue("经销商", dealer_name),
        KeyValue("承运公司", shipment.carrier),
        KeyValue("司机", f"{shipment.driver_name} {shipment.truck_plate}"),
        Separator("-"),
    ]
    for item in receipt.lines:
        outcome = ReceiptOutcome(item["outcome"])
        flag = "" if item["configuration_ok"] else "（配置不符）"
        lines.append(Text(item["vin"], bold=True))
        lines.append(KeyValue("状态", outcome.label + flag))
        if item.get("note"):
            lines.append(KeyValue("说明", item["note"]))
    for vin in receipt.extra_vins:
        lines.append(KeyValue("多收", vin))
    lines += [
        Separator("-"),
        KeyValue("收货人", receipt.receiver_name),
        KeyValue("收货时间", receipt.received_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")),
        Text("有差异，已通知销售与发车" if receipt.has_discrepancy else "全部车辆已按合同收讫"),
        Feed(1),
        Text("司机签字：__________"),
        Text("收货人签字：__________"),
        Feed(2),
        Cut(),
    ]
    return PrintDocument(tuple(lines))
