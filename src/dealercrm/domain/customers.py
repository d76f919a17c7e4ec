"""End customers and their service contracts (终端客户服务档案、维修合同, seed 000 §4.2.1 1)–2)).

An :class:`EndCustomer` is the person or company that owns vehicles: the service archive the
hotline opens when the customer calls. It belongs to the dealer that sold to it (``dealer_id``;
``None`` when the factory's after-sales recorded it), which decides who may see it. The vehicles
it owns are :class:`CustomerVehicle` rows, one owner per VIN at a time.

A :class:`ServiceContract` (维修合同) covers one of the customer's vehicles from ``starts_on`` to
``ends_on`` (both inclusive, Beijing dates) for the fault categories it names, optionally up to
an odometer reading. When a service request is opened, :func:`check_service_contracts` says
whether a contract covers it. The seed asks to *warn* about customers past their contract
(对于超期的客户进行预警), so an expired or non-covering contract flags the request with a
Chinese reason; it never refuses it. A vehicle without any contract gets no flag: the warranty
check speaks for it.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Literal, overload

import attrs

from dealercrm.domain.errors import IllegalTransition, InvalidValue
from dealercrm.domain.values import Phone

#: the fault categories a contract may cover (the codes of ``domain.aftersales.FaultCategory``)
FAULT_LABELS = {"engine": "发动机", "chassis": "底盘", "brake": "制动系统", "electrical": "电气系统",
                "hydraulic": "液压系统", "tank_body": "罐体", "superstructure": "上装/车厢",
                "tyre_axle": "轮胎车桥", "other": "其他"}
MAX_CONTRACT_YEARS = 10


@overload
def _text(field: str, value: str | None, label: str, max_len: int, *, required: Literal[True] = ...) -> str: ...


@overload
def _text(field: str, value: str | None, label: str, max_len: int, *, required: bool) -> str | None: ...


def _text(field: str, value: str | None, label: str, max_len: int, *, required: bool = True) -> str | None:
    if value is None or not value.strip():
        if required:
            raise InvalidValue(field, f"{label}不能为空", code=f"customer.{field}_required")
        return None
    value = value.strip()
    if len(value) > max_len:
        raise InvalidValue(field, f"{label}不能超过{max_len}字", code=f"customer.{field}_too_long")
    return value


class CustomerKind(enum.StrEnum):
    PERSON = "person"
    COMPANY = "company"

    @property
    def label(self) -> str:
        return {"person": "个人", "company": "单位"}[self.value]

    @classmethod
    def parse(cls, value: str) -> CustomerKind:
        try:
            return cls(value)
        except ValueError:
            raise InvalidValue("kind", "客户类型须为 person（个人）或 company（单位）",
                               code="customer.kind_unknown") from None


@attrs.define(slots=False, eq=False)
class EndCustomer:
    """终端客户: name, phone, where it is, and the dealer it bought from."""

    number: str
    name: str
    phone: str
    kind: CustomerKind
    created_at: dt.datetime
    created_by: str
    dealer_id: int | None = None
    province: str | None = None
    city: str | None = None
    address: str | None = None
    note: str | None = None
    version: int = 1
    id: int | None = None

    def __attrs_post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        self.name = _text("name", self.name, "客户名称", 100)
        self.phone = Phone(self.phone).value
        self.kind = CustomerKind.parse(self.kind)
        self.province = _text("province", self.province, "省份", 60, required=False)
        self.city = _text("city", self.city, "城市", 60, required=False)
        self.address = _text("address", self.address, "地址", 200, required=False)
        self.note = _text("note", self.note, "备注", 500, required=False)

    def edit(self, *, name: str, phone: str, kind: str, province: str | None = None, city: str | None = None,
             address: str | None = None, note: str | None = None) -> None:
        """Change the archive's details, all or nothing: every field is checked on a copy first
        (``InvalidValue`` naming the field) and the customer changes only when all are good."""
        probe = attrs.evolve(self, name=name, phone=phone, kind=CustomerKind.parse(kind), province=province,
                             city=city, address=address, note=note)
        self.name, self.phone, self.kind = probe.name, probe.phone, probe.kind
        self.province, self.city, self.address, self.note = probe.province, probe.city, probe.address, probe.note


@attrs.define(slots=False, eq=False)
class CustomerVehicle:
    """A vehicle the customer owns since a date (one owner per VIN)."""

    customer_id: int
    vin: str
    since: dt.date
    added_at: dt.datetime
    added_by: str
    id: int | None = None


class ContractStatus(enum.StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {"active": "有效", "cancelled": "已作废"}[self.value]


def coverage_of(values: list[str] | tuple[str, ...]) -> list[str]:
    """The fault categories a contract covers: known codes, at least one, no duplicates, sorted."""
    if not values:
        raise InvalidValue("coverage", "维修合同须至少包含一个故障类别", code="service_contract.coverage_empty")
    unknown = [v for v in values if v not in FAULT_LABELS]
    if unknown:
        raise InvalidValue("coverage", f"未知的故障类别：{'、'.join(map(str, unknown))}",
                           code="service_contract.coverage_unknown")
    return sorted(set(values))


@attrs.define(slots=False, eq=False)
class ServiceContract:
    """维修合同 on one vehicle of one customer: its terms, coverage and validity."""

    number: str
    customer_id: int
    vin: str
    starts_on: dt.date
    ends_on: dt.date
    coverage: list[str]
    terms: str
    price_fen: int
    created_at: dt.datetime
    created_by: str
    km_limit: int | None = None
    status: ContractStatus = ContractStatus.ACTIVE
    cancelled_at: dt.datetime | None = None
    cancel_reason: str | None = None
    version: int = 1
    id: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.ends_on < self.starts_on:
            raise InvalidValue("ends_on", "合同到期日不能早于生效日", code="service_contract.period_invalid")
        if (self.ends_on - self.starts_on).days > 366 * MAX_CONTRACT_YEARS:
            raise InvalidValue("ends_on", f"合同期限不能超过{MAX_CONTRACT_YEARS}年",
                               code="service_contract.period_too_long")
        self.coverage = coverage_of(self.coverage)
        self.terms = _text("terms", self.terms, "合同条款", 4000)
        if isinstance(self.price_fen, bool) or not isinstance(self.price_fen, int) or not 0 <= self.price_fen <= 10**11:
            raise InvalidValue("price_fen", "合同金额须为非负整数（分）", code="service_contract.price_invalid")
        if self.km_limit is not None and (isinstance(self.km_limit, bool) or not 1 <= self.km_limit <= 10_000_000):
            raise InvalidValue("km_limit", "里程上限须为1到10000000公里", code="service_contract.km_invalid")
        self.status = ContractStatus(self.status)

    def valid_on(self, day: dt.date) -> bool:
        return self.status == ContractStatus.ACTIVE and self.starts_on <= day <= self.ends_on

    def cancel(self, reason: str, at: dt.datetime) -> None:
        if self.status != ContractStatus.ACTIVE:
            raise IllegalTransition("service_contract", str(self.status), "cancel",
                                    f"维修合同{self.number}已作废", code="service_contract.not_active")
        self.cancel_reason = _text("reason", reason, "作废原因", 500)
        self.status = ContractStatus.CANCELLED
        self.cancelled_at = at


class ContractState(enum.StrEnum):
    COVERED = "covered"
    NOT_COVERED = "not_covered"  # a contract is in force but not for this fault or this mileage
    EXPIRED = "expired"
    NOT_STARTED = "not_started"
    NONE = "none"

    @property
    def label(self) -> str:
        return {"covered": "维修合同有效", "not_covered": "维修合同不覆盖", "expired": "维修合同已到期",
                "not_started": "维修合同未生效", "none": "无维修合同"}[self.value]


@attrs.frozen
class ContractCheck:
    """The answer for one request: which contract (if any) and, unless covered, why not."""

    state: ContractState
    contract_id: int | None = None
    contract_no: str | None = None
    ends_on: dt.date | None = None
    reasons: tuple[str, ...] = ()

    @property
    def warning(self) -> str | None:
        """The flag a request carries (``None`` when covered or when there is no contract at all)."""
        if self.state in (ContractState.COVERED, ContractState.NONE):
            return None
        return "；".join(self.reasons) or self.state.label


NO_CONTRACT = ContractCheck(ContractState.NONE)


def check_service_contracts(contracts: list[ServiceContract], *, fault_category: str, on: dt.date,
                            odometer_km: int | None = None) -> ContractCheck:
    """Does one of the VIN's contracts cover a request for ``fault_category`` on ``on``?

    Cancelled contracts do not count. A contract in force that covers the fault (and the
    odometer, when it has a limit and the reading is known) → covered. Else, in this order: a
    contract in force that does not cover it (not_covered, naming the fault or the mileage), the
    latest contract that ended (expired), the next one to start (not_started), none.
    """
    active = [c for c in contracts if c.status == ContractStatus.ACTIVE]
    in_force = sorted((c for c in active if c.starts_on <= on <= c.ends_on), key=lambda c: (c.ends_on, c.id or 0))
    refusals: list[tuple[ServiceContract, str]] = []
    for c in reversed(in_force):  # the one that lasts longest first
        if fault_category not in c.coverage:
            refusals.append((c, f"维修合同{c.number}不含“{FAULT_LABELS.get(fault_category, fault_category)}”故障"))
        elif c.km_limit is not None and odometer_km is not None and odometer_km > c.km_limit:
            refusals.append((c, f"行驶里程{odometer_km}公里超过维修合同{c.number}的里程上限{c.km_limit}公里"))
        else:
            return ContractCheck(ContractState.COVERED, c.id, c.number, c.ends_on)
    if refusals:
        first = refusals[0][0]
        return ContractCheck(ContractState.NOT_COVERED, first.id, first.number, first.ends_on,
                             tuple(reason for _, reason in refusals))
    ended = sorted((c for c in active if c.ends_on < on), key=lambda c: (c.ends_on, c.id or 0))
    if ended:
        c = ended[-1]
        return ContractCheck(ContractState.EXPIRED, c.id, c.number, c.ends_on,
                             (f"维修合同{c.number}已于{c.ends_on.isoformat()}到期",))
    later = sorted((c for c in active if c.starts_on > on), key=lambda c: (c.starts_on, c.id or 0))
    if later:
        c = later[0]
        return ContractCheck(ContractState.NOT_STARTED, c.id, c.number, c.ends_on,
                             (f"维修合同{c.number}自{c.starts_on.isoformat()}起生效",))
    return NO_CONTRACT
