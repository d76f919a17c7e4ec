"""Vehicles by VIN: one state at a time, every move recorded (seed 000 §2.4, §3.6, §3.9).

A :class:`Vehicle` is the physical unit the factory builds for a dealer's order. It is in exactly
one :class:`VehicleState`; every move goes through :meth:`Vehicle._move`, which checks the
transition table and appends a :class:`VehicleEvent` to the vehicle's history — the history is
the source of truth for dealer stock later (stock is derived from these events, never typed in).

The order/contract references (order number, contract number, ERP tracking number, product line,
model code, configuration, agreed delivery date) are plain values here: the orders context owns
those documents and fills them in; this context only carries them for queries and checks.

Life cycle::

    planned → in_production → in_factory_stock (已入库待提)
    in_factory_stock → pickup_authorized (介绍信) → released (出厂, guard confirmed the exit)
    pickup_authorized → in_factory_stock (authorization revoked or lapsed)
    in_factory_stock → in_transit (外送发车) → in_dealer_stock (回执确认)
    released (自提: on the road with the dealer's driver) → in_dealer_stock (自提回执) or missing
    in_transit → missing (回执：未收到) → in_dealer_stock (found and received)
    in_dealer_stock → sold (终端销售) → in_dealer_stock (customer return)
    in_dealer_stock → returned (退回工厂) → in_factory_stock (restocked)
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import attrs

from dealercrm.domain.errors import Conflict, IllegalTransition, InvalidValue
from dealercrm.domain.values import Vin


class VehicleState(enum.StrEnum):
    PLANNED = "planned"
    IN_PRODUCTION = "in_production"
    IN_FACTORY_STOCK = "in_factory_stock"
    PICKUP_AUTHORIZED = "pickup_authorized"
    RELEASED = "released"
    IN_TRANSIT = "in_transit"
    MISSING = "missing"
    IN_DEALER_STOCK = "in_dealer_stock"
    SOLD = "sold"
    RETURNED = "returned"

    @property
    def label(self) -> str:
        return VEHICLE_STATE_LABELS[self]

    @property
    def in_factory(self) -> bool:
        return self in (VehicleState.PLANNED, VehicleState.IN_PRODUCTION, VehicleState.IN_FACTORY_STOCK,
                        VehicleState.PICKUP_AUTHORIZED)


VEHICLE_STATE_LABELS = {
    VehicleState.PLANNED: "计划中",
    VehicleState.IN_PRODUCTION: "生产中",
    VehicleState.IN_FACTORY_STOCK: "已入库待提",
    VehicleState.PICKUP_AUTHORIZED: "已授权待提",
    VehicleState.RELEASED: "已出厂",
    VehicleState.IN_TRANSIT: "外送在途",
    VehicleState.MISSING: "回执未收到",
    VehicleState.IN_DEALER_STOCK: "经销商在库（未确认销售）",
    VehicleState.SOLD: "已销售",
    VehicleState.RETURNED: "已退回工厂",
}

S = VehicleState
# action → (states it may start from, state it ends in)
TRANSITIONS: dict[str, tuple[frozenset[VehicleState], VehicleState]] = {
    "start_production": (frozenset({S.PLANNED}), S.IN_PRODUCTION),
    "stock_in": (frozenset({S.PLANNED, S.IN_PRODUCTION}), S.IN_FACTORY_STOCK),
    "authorize_pickup": (frozenset({S.IN_FACTORY_STOCK}), S.PICKUP_AUTHORIZED),
    "withdraw_pickup": (frozenset({S.PICKUP_AUTHORIZED}), S.IN_FACTORY_STOCK),
    "release": (frozenset({S.PICKUP_AUTHORIZED}), S.RELEASED),
    "ship": (frozenset({S.IN_FACTORY_STOCK}), S.IN_TRANSIT),
    "receive": (frozenset({S.RELEASED, S.IN_TRANSIT, S.MISSING}), S.IN_DEALER_STOCK),
    "report_missing": (frozenset({S.IN_TRANSIT, S.RELEASED}), S.MISSING),
    "sell": (frozenset({S.IN_DEALER_STOCK}), S.SOLD),
    "take_back_from_customer": (frozenset({S.SOLD}), S.IN_DEALER_STOCK),
    "return_to_factory": (frozenset({S.IN_DEALER_STOCK, S.RELEASED, S.IN_TRANSIT}), S.RETURNED),
    "restock": (frozenset({S.RETURNED}), S.IN_FACTORY_STOCK),
}

ACTION_LABELS = {
    "create": "建档",
    "start_production": "开始生产",
    "stock_in": "入库",
    "authorize_pickup": "登记自提介绍信",
    "withdraw_pickup": "撤销自提授权",
    "release": "门卫确认出厂",
    "ship": "外送发车",
    "receive": "经销商收货",
    "report_missing": "回执：未收到",
    "sell": "终端销售",
    "initial_stock": "期初库存导入",
    "take_back_from_customer": "终端退车",
    "return_to_factory": "退回工厂",
    "restock": "重新入库",
}


@attrs.define(slots=False, eq=False)
class VehicleEvent:
    """One line of a vehicle's history. Append-only; ``seq`` counts from 1 per vehicle."""

    seq: int
    action: str
    at: dt.datetime
    from_state: VehicleState | None
    to_state: VehicleState
    actor: str
    reference: str | None = None  # the document that caused it: pass number, shipment number …
    note: str | None = None
    id: int | None = None


@attrs.define(slots=False, eq=False)
class Vehicle:
    vin: Vin
    state: VehicleState
    dealer_id: int | None = None
    order_no: str | None = None
    contract_no: str | None = None
    erp_tracking_no: str | None = None
    erp_line_no: int | None = None
    product_line: str | None = None
    model_code: str | None = None
    configuration: str | None = None
    agreed_delivery_date: dt.date | None = None
    stocked_at: dt.datetime | None = None
    released_at: dt.datetime | None = None
    received_at: dt.datetime | None = None
    pickup_authorization_id: int | None = None
    state_changed_at: dt.datetime | None = None
    history: list[VehicleEvent] = attrs.field(factory=list)
    version: int = 1
    id: int | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.vin, Vin):
            raise InvalidValue("vin", "车架号（VIN）格式不正确", code="vin.malformed")
        for name in ("configuration",):
            value = getattr(self, name)
            if value is not None and len(value) > 500:
                raise InvalidValue(name, "配置摘要不超过500字", code="vehicle.configuration_too_long")

    @classmethod
    def register(cls, vin: Vin, state: VehicleState, at: dt.datetime, actor: str, *,
                 reference: str | None = None, **references: Any) -> Vehicle:
        """A new vehicle in ``state`` (planned, in production or already stocked in)."""
        if state not in (S.PLANNED, S.IN_PRODUCTION, S.IN_FACTORY_STOCK):
            raise InvalidValue("state", "新车辆只能以计划、生产中或已入库状态建档", code="vehicle.initial_state")
        vehicle = cls(vin=vin, state=state, state_changed_at=at, **references)
        if state is S.IN_FACTORY_STOCK and vehicle.stocked_at is None:
            vehicle.stocked_at = at
        vehicle.history.append(VehicleEvent(1, "create", at, None, state, actor, reference))
        return vehicle

    # -- the one way to change state ---------------------------------------------------------

    def _move(self, action: str, at: dt.datetime, actor: str, reference: str | None = None,
              note: str | None = None) -> VehicleEvent:
        allowed, target = TRANSITIONS[action]
        if self.state not in allowed:
            raise IllegalTransition(
                "vehicle", self.state.value, action,
                f"车辆 {self.vin} 当前状态为“{self.state.label}”，不能{ACTION_LABELS[action]}",
                code="vehicle.illegal_transition",
            )
        event = VehicleEvent(len(self.history) + 1, action, at, self.state, target, actor, reference, note)
        self.history.append(event)
        self.state = target
        self.state_changed_at = at
        return event

    def start_production(self, at: dt.datetime, actor: str, reference: str | None = None) -> None:
        self._move("start_production", at, actor, reference)

    def stock_in(self, at: dt.datetime, actor: str, reference: str | None = None) -> None:
        self._move("stock_in", at, actor, reference)
        self.stocked_at = at

    def authorize_pickup(self, authorization_id: int, dealer_id: int, at: dt.datetime, actor: str,
                         reference: str) -> None:
        if self.dealer_id != dealer_id:
            # callers hide foreign vehicles as "not found"; this is the domain's own guard
            raise InvalidValue("vins", f"车辆 {self.vin} 不属于该经销商", code="vehicle.not_dealers")
        self._move("authorize_pickup", at, actor, reference)
        self.pickup_authorization_id = authorization_id

    def withdraw_pickup(self, at: dt.datetime, actor: str, reference: str, note: str | None = None) -> None:
        self._move("withdraw_pickup", at, actor, reference, note)
        self.pickup_authorization_id = None

    def release(self, at: dt.datetime, actor: str, pass_no: str) -> None:
        self._move("release", at, actor, pass_no)
        self.released_at = at

    def ship(self, at: dt.datetime, actor: str, shipment_no: str) -> None:
        self._move("ship", at, actor, shipment_no)
        self.released_at = at

    def receive(self, at: dt.datetime, actor: str, reference: str, note: str | None = None) -> None:
        self._move("receive", at, actor, reference, note)
        self.received_at = at

    def report_missing(self, at: dt.datetime, actor: str, reference: str, note: str | None = None) -> None:
        self._move("report_missing", at, actor, reference, note)

    def sell(self, at: dt.datetime, actor: str, reference: str) -> None:
        self._move("sell", at, actor, reference)

    def take_back_from_customer(self, at: dt.datetime, actor: str, reference: str) -> None:
        self._move("take_back_from_customer", at, actor, reference)

    def return_to_factory(self, at: dt.datetime, actor: str, reference: str, note: str | None = None) -> None:
        self._move("return_to_factory", at, actor, reference, note)

    def restock(self, at: dt.datetime, actor: str, reference: str | None = None) -> None:
        self._move("restock", at, actor, reference)
        self.stocked_at = at
        self.pickup_authorization_id = None

    # -- references filled by the orders context ---------------------------------------------

    def link_order(self, **references: Any) -> list[str]:
        """Fill in missing order references; refuses to overwrite a different value.

        Returns the names that changed (empty when everything was already known).
        """
        allowed = {"dealer_id", "order_no", "contract_no", "erp_tracking_no", "erp_line_no", "product_line",
                   "model_code", "configuration", "agreed_delivery_date"}
        changed = []
        for name, value in references.items():
            if name not in allowed:
                raise InvalidValue(name, "该字段不可修改", code="vehicle.field_not_editable")
            if value is None:
                continue
            current = getattr(self, name)
            if current is None:
                setattr(self, name, value)
                changed.append(name)
            elif current != value and name in ("dealer_id", "contract_no", "erp_tracking_no"):
                raise Conflict(f"车辆 {self.vin} 已关联其他{_REF_LABELS[name]}", code="vehicle.reference_conflict",
                               vin=self.vin.value, field=name)
            elif current != value:
                setattr(self, name, value)
                changed.append(name)
        return changed


_REF_LABELS = {"dealer_id": "经销商", "contract_no": "合同", "erp_tracking_no": "内部流转单号"}
