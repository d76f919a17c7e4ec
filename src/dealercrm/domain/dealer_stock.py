"""Dealer stock (经销商库存) — seed 000 §2.4, §3.7 (4), §3.9.

Dealer stock is never typed in: it is the set of vehicles whose life cycle
(:mod:`dealercrm.domain.vehicles`) puts them ``in_dealer_stock`` at a dealer. They enter on the
dealer's receipt (回执), leave on a retail sale to an end customer (终端销售, with the customer's
receipt or invoice reference), and come back when the customer returns or exchanges the vehicle.
The one exception is a new dealer's opening stock, imported once from a file (期初库存导入) —
every row becomes a vehicle with an ``initial_stock`` event, so it too is history, not a number.

A :class:`RetailSale` stays *unconfirmed* (未确认销售) until the customer's payments recorded
against it reach the sale price; then it is confirmed (已确认销售).

:class:`StockLimit` holds a dealer's minimum and maximum per vehicle template (model code) and
remembers crossing *episodes*, so an alert is raised once per crossing, never twice.
:class:`AgeingPolicy` turns days in stock into a coloured band.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Literal, overload

import attrs

from dealercrm.domain.errors import Conflict, IllegalTransition, InvalidValue
from dealercrm.domain.values import Vin
from dealercrm.domain.vehicles import Vehicle

MAX_PRICE_FEN = 100_000_000_00  # ¥100 million: nothing this factory sells costs more


# ---------------------------------------------------------------------------------------------
# Ageing bands


class AgeingBand(enum.StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"

    @property
    def label(self) -> str:
        return {"green": "正常", "yellow": "库龄预警", "red": "超期库存"}[self.value]

    @property
    def colour(self) -> str:
        return {"green": "#2E7D32", "yellow": "#F9A825", "red": "#C62828"}[self.value]


def _positive_days(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3650:
        raise InvalidValue(attribute.name, "库龄天数须为1–3650的整数", code="ageing.days_invalid")


@attrs.frozen
class AgeingPolicy:
    """Green below ``yellow_from_days``, yellow below ``red_from_days``, red from there on."""

    yellow_from_days: int = attrs.field(default=60, validator=_positive_days)
    red_from_days: int = attrs.field(default=120, validator=_positive_days)

    def __attrs_post_init__(self) -> None:
        if self.red_from_days <= self.yellow_from_days:
            raise InvalidValue("red_from_days", "红色阈值须大于黄色阈值", code="ageing.thresholds_order")

    def band_of(self, days: int) -> AgeingBand:
        if days >= self.red_from_days:
            return AgeingBand.RED
        if days >= self.yellow_from_days:
            return AgeingBand.YELLOW
        return AgeingBand.GREEN

    def bands(self) -> list[dict[str, object]]:
        """The bands with their day ranges, for display."""
        return [
            {"band": "green", "label": AgeingBand.GREEN.label, "colour": AgeingBand.GREEN.colour,
             "from_days": 0, "below_days": self.yellow_from_days},
            {"band": "yellow", "label": AgeingBand.YELLOW.label, "colour": AgeingBand.YELLOW.colour,
             "from_days": self.yellow_from_days, "below_days": self.red_from_days},
            {"band": "red", "label": AgeingBand.RED.label, "colour": AgeingBand.RED.colour,
             "from_days": self.red_from_days, "below_days": None},
        ]


def days_in_stock(since: dt.datetime, now: dt.datetime) -> int:
    """Whole days since the vehicle entered the dealer's stock (never negative)."""
    return max(0, (now - since).days)


# ---------------------------------------------------------------------------------------------
# Min / max per dealer and template


class LevelCrossing(enum.StrEnum):
    BELOW_MIN = "below_min"
    ABOVE_MAX = "above_max"

    @property
    def label(self) -> str:
        return {"below_min": "低于下限", "above_max": "高于上限"}[self.value]


def _units(instance: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100_000:
        raise InvalidValue(attribute.name, "库存上下限须为0–100000的整数", code="stock_limit.invalid")


@attrs.define(slots=False, eq=False)
class StockLimit:
    dealer_id: int
    model_code: str
    min_units: int | None = attrs.field(default=None, validator=_units)
    max_units: int | None = attrs.field(default=None, validator=_units)
    below_min_episode: int = 0
    below_min_active: bool = False
    above_max_episode: int = 0
    above_max_active: bool = False
    updated_at: dt.datetime | None = None
    updated_by: str | None = None
    version: int = 1
    id: int | None = None

    def __attrs_post_init__(self) -> None:
        self._check()

    def _check(self) -> None:
        if self.min_units is None and self.max_units is None:
            raise InvalidValue("min_units", "至少设置库存下限或上限之一", code="stock_limit.empty")
        if self.min_units is not None and self.max_units is not None and self.min_units > self.max_units:
            raise InvalidValue("max_units", "库存上限不能小于下限", code="stock_limit.min_above_max")
        if not self.model_code or len(self.model_code) > 30:
            raise InvalidValue("model_code", "车型代码不能为空且不超过30位", code="stock_limit.model_code")

    def change(self, min_units: int | None, max_units: int | None, at: dt.datetime, by: str) -> None:
        _units(self, attrs.fields(StockLimit).min_units, min_units)
        _units(self, attrs.fields(StockLimit).max_units, max_units)
        old = (self.min_units, self.max_units)
        self.min_units, self.max_units = min_units, max_units
        try:
            self._check()
        except InvalidValue:
            self.min_units, self.max_units = old
            raise
        self.updated_at, self.updated_by = at, by

    def crossing(self, units: int) -> LevelCrossing | None:
        if self.min_units is not None and units < self.min_units:
            return LevelCrossing.BELOW_MIN
        if self.max_units is not None and units > self.max_units:
            return LevelCrossing.ABOVE_MAX
        return None

    def observe(self, units: int) -> tuple[LevelCrossing, int] | None:
        """Note the current level; returns (crossing, episode) while crossed. A new episode
        starts only when the level crosses again after having been back within limits."""
        now = self.crossing(units)
        for kind in LevelCrossing:
            active = f"{kind.value}_active"
            if now is kind and not getattr(self, active):
                setattr(self, active, True)
                episode = f"{kind.value}_episode"
                setattr(self, episode, getattr(self, episode) + 1)
            elif now is not kind and getattr(self, active):
                setattr(self, active, False)
        if now is None:
            return None
        return now, getattr(self, f"{now.value}_episode")


# ---------------------------------------------------------------------------------------------
# Retail sales (终端销售)


class CustomerKind(enum.StrEnum):
    PERSON = "person"
    COMPANY = "company"

    @property
    def label(self) -> str:
        return {"person": "个人", "company": "单位"}[self.value]


class SaleStatus(enum.StrEnum):
    UNCONFIRMED = "unconfirmed"
    CONFIRMED = "confirmed"
    RETURNED = "returned"
    EXCHANGED = "exchanged"

    @property
    def label(self) -> str:
        return {"unconfirmed": "未确认销售", "confirmed": "已确认销售", "returned": "已退车",
                "exchanged": "已换车"}[self.value]


@overload
def _text(field: str, value: str | None, limit: int, *, required: Literal[True] = ...) -> str: ...


@overload
def _text(field: str, value: str | None, limit: int, *, required: bool) -> str | None: ...


def _text(field: str, value: str | None, limit: int, *, required: bool = True) -> str | None:
    cleaned = (value or "").strip()
    if not cleaned:
        if required:
            raise InvalidValue(field, "不能为空", code=f"{field.split('.')[-1]}.required")
        return None
    if len(cleaned) > limit:
        raise InvalidValue(field, f"不超过{limit}字", code=f"{field.split('.')[-1]}.too_long")
    return cleaned


def check_price(fen: int, field: str = "price_fen") -> int:
    if isinstance(fen, bool) or not isinstance(fen, int) or not 0 < fen <= MAX_PRICE_FEN:
        raise InvalidValue(field, "金额须为大于0的整数（分）", code="sale.amount_invalid")
    return fen


@attrs.define(slots=False, eq=False)
class SalePayment:
    """One payment by the end customer against a sale (recorded by the dealer)."""

    seq: int
    amount_fen: int
    paid_at: dt.datetime
    reference: str | None
    recorded_by: str
    recorded_at: dt.datetime
    id: int | None = None


@attrs.define(slots=False, eq=False)
class RetailSale:
    sale_no: str
    dealer_id: int
    vin: str
    customer_kind: CustomerKind
    customer_name: str
    customer_phone: str
    customer_id_masked: str | None
    customer_id_digest: str | None
    customer_uscc: str | None
    price_fen: int
    customer_receipt_no: str
    sold_at: dt.datetime
    recorded_by: str
    recorded_at: dt.datetime
    status: SaleStatus = SaleStatus.UNCONFIRMED
    paid_fen: int = 0
    confirmed_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    end_reason: str | None = None
    replaces_sale_id: int | None = None
    note: str | None = None
    payments: list[SalePayment] = attrs.field(factory=list)
    version: int = 1
    id: int | None = None

    @classmethod
    def record(cls, vehicle: Vehicle, *, sale_no: str, customer_kind: CustomerKind, customer_name: str,
               customer_phone: str, customer_id_masked: str | None, customer_id_digest: str | None,
               customer_uscc: str | None, price_fen: int, customer_receipt_no: str, sold_at: dt.datetime,
               by: str, now: dt.datetime, note: str | None = None, replaces_sale_id: int | None = None) -> RetailSale:
        """Sell ``vehicle`` out of its dealer's stock: the vehicle moves to ``sold`` now."""
        if vehicle.dealer_id is None:
            raise InvalidValue("vin", f"车辆 {vehicle.vin} 不属于任何经销商", code="vehicle.not_dealers")
        if sold_at.utcoffset() is None or sold_at > now + dt.timedelta(minutes=5):
            raise InvalidValue("sold_at", "销售时间须带时区且不晚于当前时间", code="sale.sold_at_invalid")
        if vehicle.received_at is not None and sold_at < vehicle.received_at:
            raise InvalidValue("sold_at", "销售时间不能早于经销商收货时间", code="sale.sold_before_received")
        if (customer_kind is CustomerKind.PERSON) == (customer_id_digest is None):
            raise InvalidValue("customer.id_number", "个人客户须提供身份证号，单位客户须提供统一社会信用代码",
                               code="sale.customer_identity")
        if (customer_kind is CustomerKind.COMPANY) == (customer_uscc is None):
            raise InvalidValue("customer.uscc", "单位客户须提供统一社会信用代码", code="sale.customer_identity")
        sale = cls(
            sale_no=sale_no, dealer_id=vehicle.dealer_id, vin=vehicle.vin.value, customer_kind=customer_kind,
            customer_name=_text("customer.name", customer_name, 100),
            customer_phone=customer_phone, customer_id_masked=customer_id_masked,
            customer_id_digest=customer_id_digest, customer_uscc=customer_uscc, price_fen=check_price(price_fen),
            customer_receipt_no=_text("customer_receipt_no", customer_receipt_no, 60),
            sold_at=sold_at, recorded_by=by, recorded_at=now, note=_text("note", note, 500, required=False),
            replaces_sale_id=replaces_sale_id,
        )
        vehicle.sell(sold_at, by, sale_no)
        return sale

    @property
    def open_fen(self) -> int:
        return self.price_fen - self.paid_fen

    def _require(self, action: str, *allowed: SaleStatus) -> None:
        if self.status not in allowed:
            raise IllegalTransition("retail_sale", self.status.value, action,
                                    f"销售单 {self.sale_no} 当前状态为“{self.status.label}”，不能{_SALE_ACTIONS[action]}",
                                    code="sale.illegal_transition")

    def record_payment(self, amount_fen: int, paid_at: dt.datetime, reference: str | None, by: str,
                       now: dt.datetime) -> SalePayment:
        """Book a customer payment; the sale is confirmed when the payments reach the price."""
        self._require("pay", SaleStatus.UNCONFIRMED)
        check_price(amount_fen, "amount_fen")
        if paid_at.utcoffset() is None or paid_at > now + dt.timedelta(minutes=5):
            raise InvalidValue("paid_at", "收款时间须带时区且不晚于当前时间", code="sale.paid_at_invalid")
        reference = _text("reference", reference, 60, required=False)
        if reference is not None and any(p.reference == reference for p in self.payments):
            raise Conflict(f"收款凭证 {reference} 已登记", code="sale.payment_duplicate", reference=reference)
        if amount_fen > self.open_fen:
            raise Conflict(f"收款金额超过未收金额（尚欠 {self.open_fen} 分）", code="sale.overpayment",
                           open_fen=self.open_fen)
        payment = SalePayment(len(self.payments) + 1, amount_fen, paid_at, reference, by, now)
        self.payments.append(payment)
        self.paid_fen += amount_fen
        if self.paid_fen == self.price_fen:
            self.status = SaleStatus.CONFIRMED
            self.confirmed_at = now
        return payment

    def take_back(self, vehicle: Vehicle, reason: str, at: dt.datetime, by: str) -> None:
        """The customer returns the vehicle: it goes back into the dealer's stock."""
        self._require("return", SaleStatus.UNCONFIRMED, SaleStatus.CONFIRMED)
        self.end_reason = _text("reason", reason, 500)
        vehicle.take_back_from_customer(at, by, self.sale_no)
        self.status = SaleStatus.RETURNED
        self.ended_at = at

    def exchange(self, vehicle: Vehicle, reason: str, at: dt.datetime, by: str) -> None:
        """The customer swaps this vehicle for another (the new sale is recorded by the caller)."""
        self._require("exchange", SaleStatus.UNCONFIRMED, SaleStatus.CONFIRMED)
        self.end_reason = _text("reason", reason, 500)
        vehicle.take_back_from_customer(at, by, self.sale_no)
        self.status = SaleStatus.EXCHANGED
        self.ended_at = at


_SALE_ACTIONS = {"pay": "登记收款", "return": "退车", "exchange": "换车"}


# ---------------------------------------------------------------------------------------------
# Opening stock of a new dealer (期初库存)


@attrs.frozen
class OpeningStockRow:
    """One valid row of an initial-stock file, ready to become a vehicle in dealer stock."""

    row: int
    vin: Vin
    model_code: str
    product_line: str
    received_at: dt.datetime
    contract_no: str | None = None
    erp_tracking_no: str | None = None
    agreed_delivery_date: dt.date | None = None
    configuration: str | None = None

