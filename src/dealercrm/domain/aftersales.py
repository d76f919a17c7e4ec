"""After-sales (售后服务, seed 000 §4): contracted service stations, warranty, customer service
requests dispatched to stations, repair records with the parts they consumed, settlement claims
of labour and warranty parts, station parts stock and major repairs.

Money is integer fen; labour is counted in hundredths of an hour (``centihours``) so that
"2.5 工时 × 8 000 fen/h" is exact; the one rounding (labour amount to the fen) is half-even.
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Literal, overload

import attrs

from dealercrm.domain.channel import ProductLine
from dealercrm.domain.claim_risk import RiskAssessment
from dealercrm.domain.errors import BusinessRuleViolation, Conflict, IllegalTransition, InvalidValue, InvariantBroken
from dealercrm.domain.values import SHANGHAI as SHANGHAI  # re-exported
from dealercrm.domain.values import Phone, Uscc, check_coordinates


@overload
def _text(field: str, value: str | None, label: str, max_len: int, *, required: Literal[True] = ...) -> str: ...


@overload
def _text(field: str, value: str | None, label: str, max_len: int, *, required: bool) -> str | None: ...


def _text(field: str, value: str | None, label: str, max_len: int, *, required: bool = True) -> str | None:
    if value is None or not value.strip():
        if required:
            raise InvalidValue(field, f"{label}不能为空", code=f"aftersales.{field}_required")
        return None
    value = value.strip()
    if len(value) > max_len:
        raise InvalidValue(field, f"{label}不能超过{max_len}字", code=f"aftersales.{field}_too_long")
    return value


def _product_line(field: str, value: str) -> str:
    try:
        return ProductLine(value).value
    except ValueError:
        raise InvalidValue(field, "产品线须为 tanker、dump_truck 或 semi_trailer",
                           code="aftersales.product_line_unknown") from None


# ---------------------------------------------------------------------------------------------
# Labour hours and money


def parse_hours(field: str, value: str | int | Decimal) -> int:
    """"2.5" → 250 centihours. At most two decimals, more than 0 and at most 999 hours."""
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidValue(field, "工时须为数字，如 2.5", code="aftersales.hours_invalid") from None
    if not d.is_finite() or d <= 0 or d > 999 or d != d.quantize(Decimal("0.01")):
        raise InvalidValue(field, "工时须大于0、不超过999小时，最多两位小数", code="aftersales.hours_invalid")
    return int(d * 100)


def format_hours(centihours: int) -> str:
    return str((Decimal(centihours) / 100).normalize()) if centihours % 100 else str(centihours // 100)


def labour_amount_fen(centihours: int, rate_fen_per_hour: int) -> int:
    """Labour hours × hourly rate, rounded half-even to the fen (the only rounding)."""
    exact = Decimal(centihours) * Decimal(rate_fen_per_hour) / Decimal(100)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


# ---------------------------------------------------------------------------------------------
# Service stations (§4.1)


class StationStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"

    @property
    def label(self) -> str:
        return {"active": "合作中", "suspended": "已暂停", "terminated": "已解约"}[self.value]


class QualificationLevel(enum.StrEnum):
    """服务站资质等级 (一类 can do major assembly repairs; 三类 only routine service)."""

    CLASS_1 = "class_1"
    CLASS_2 = "class_2"
    CLASS_3 = "class_3"

    @property
    def label(self) -> str:
        return {"class_1": "一类服务站", "class_2": "二类服务站", "class_3": "三类服务站"}[self.value]


@attrs.define(slots=False, eq=False)
class ServiceStation:
    """A contracted service station (签约服务站) and what it can repair."""

    code: str
    name: str
    uscc: str
    region: str
    province: str
    city: str
    address: str
    contact_name: str
    contact_phone: str
    product_lines: list[str]
    labour_rate_fen: int
    qualification: QualificationLevel
    capacity: int = 5  # requests it can work on at once; the load in the suggestion is open / capacity
    status: StationStatus = StationStatus.ACTIVE
    created_at: dt.datetime | None = None
    latitude: float | None = None  # WGS-84 degrees; both or neither (the nearest-station query needs them)
    longitude: float | None = None
    version: int = 1
    id: int | None = None

    def __attrs_post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        self.name = _text("name", self.name, "服务站名称", 200)
        self.uscc = Uscc(self.uscc).value
        # the region is one of the active regions (domain.regions), which the application reads and checks
        self.province = _text("province", self.province, "省份", 60)
        self.city = _text("city", self.city, "城市", 60)
        self.address = _text("address", self.address, "地址", 200)
        self.contact_name = _text("contact_name", self.contact_name, "联系人", 60)
        self.contact_phone = Phone(self.contact_phone).value
        lines = [_product_line("product_lines", p) for p in self.product_lines]
        if not lines:
            raise InvalidValue("product_lines", "服务站至少须具备一个产品线的维修能力",
                               code="aftersales.capability_required")
        self.product_lines = sorted(set(lines))
        if not isinstance(self.labour_rate_fen, int) or not 0 < self.labour_rate_fen <= 10_000_000:
            raise InvalidValue("labour_rate_fen", "工时单价须为正整数（分/小时）", code="aftersales.rate_invalid")
        if not isinstance(self.capacity, int) or not 1 <= self.capacity <= 1000:
            raise InvalidValue("capacity", "接单能力须为1到1000", code="aftersales.capacity_invalid")
        self.qualification = QualificationLevel(self.qualification)
        self.latitude, self.longitude = check_coordinates(self.latitude, self.longitude)

    def can_serve(self, product_line: str) -> bool:
        return self.status is StationStatus.ACTIVE and product_line in self.product_lines

    def update(self, **fields: object) -> None:
        for name, value in fields.items():
            setattr(self, name, value)
        self.validate()

    def suspend(self) -> None:
        if self.status is not StationStatus.ACTIVE:
            raise IllegalTransition("service_station", self.status.value, "suspend")
        self.status = StationStatus.SUSPENDED

    def reactivate(self) -> None:
        if self.status is not StationStatus.SUSPENDED:
            raise IllegalTransition("service_station", self.status.value, "reactivate")
        self.status = StationStatus.ACTIVE

    def terminate(self) -> None:
        if self.status is StationStatus.TERMINATED:
            raise IllegalTransition("service_station", self.status.value, "terminate")
        self.status = StationStatus.TERMINATED


@attrs.frozen
class StationCandidate:
    """One station as the dispatcher sees it when suggesting (region, capability, load)."""

    station_id: int
    name: str
    region: str
    province: str
    city: str
    product_lines: tuple[str, ...]
    capacity: int
    open_requests: int
    status: StationStatus = StationStatus.ACTIVE
    latitude: float | None = None  # WGS-84; the distance ranking needs both
    longitude: float | None = None


@attrs.frozen
class Suggestion:
    station_id: int
    name: str
    score: int
    reasons: tuple[str, ...]
    open_requests: int
    capacity: int


def suggest_stations(candidates: list[StationCandidate], *, product_line: str, region: str | None,
                     province: str | None, city: str | None, exclude: frozenset[int] = frozenset(),
                     limit: int = 5, distances_km: Mapping[int, float] | None = None) -> list[Suggestion]:
    """Rank the stations that can take a request: only active stations able to repair the
    product line and not refusing it before; same city before same province before same region
    before elsewhere; then the lowest load (open requests per capacity); then the station id.
    A station at or over capacity comes after every station with room.

    With ``distances_km`` (station id → road-agnostic distance from where the vehicle stands,
    known when the caller gave the point and the station has coordinates) distance replaces the
    city/province/region tiers: stations with a distance first, nearest first (to 0.1 km, then
    by load), the others after them by the tiers."""
    ranked: list[tuple[tuple[int, int, int, int, int, int], Suggestion]] = []
    for c in candidates:
        if c.status is not StationStatus.ACTIVE or product_line not in c.product_lines or c.station_id in exclude:
            continue
        reasons = [f"具备{ProductLine(product_line).label}维修能力"]
        distance = distances_km.get(c.station_id) if distances_km else None
        if distance is not None:
            proximity, reasons = -1, [*reasons, f"距离{distance:.1f}公里"]
        elif city and c.city == city:
            proximity, reasons = 0, [*reasons, f"同城（{city}）"]
        elif province and c.province == province:
            proximity, reasons = 1, [*reasons, f"同省（{province}）"]
        elif region and c.region == region:
            proximity, reasons = 2, [*reasons, f"同大区（{region}）"]
        else:
            proximity = 3
        full = 1 if c.open_requests >= c.capacity else 0
        reasons.append(f"在办 {c.open_requests}/{c.capacity}")
        load_permille = c.open_requests * 1000 // c.capacity
        score = 1000 - max(proximity, 0) * 200 - full * 500 - load_permille // 10
        near = round(distance * 10) if distance is not None else 0
        ranked.append(((full, proximity, near, load_permille, c.open_requests, c.station_id),
                       Suggestion(c.station_id, c.name, score, tuple(reasons), c.open_requests, c.capacity)))
    ranked.sort(key=lambda x: x[0])
    return [s for _, s in ranked[:limit]]


# ---------------------------------------------------------------------------------------------
# Warranty (§4 2), §4.2.1 2))


def add_months(day: dt.date, months: int) -> dt.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@attrs.define(slots=False, eq=False)
class WarrantyPolicy:
    """三包政策: warranty months and/or kilometres for a product line, optionally narrowed to
    one vehicle template (model code), which then wins over the line's policy."""

    product_line: str
    months: int | None
    km: int | None
    model_code: str | None = None
    description: str | None = None
    version: int = 1
    id: int | None = None

    def __attrs_post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        self.product_line = _product_line("product_line", self.product_line)
        self.model_code = _text("model_code", self.model_code, "车型编码", 40, required=False)
        self.description = _text("description", self.description, "说明", 500, required=False)
        if self.months is None and self.km is None:
            raise InvalidValue("months", "保修期限须至少规定月数或里程之一", code="aftersales.policy_empty")
        if self.months is not None and not 1 <= self.months <= 240:
            raise InvalidValue("months", "保修月数须为1到240", code="aftersales.policy_months_invalid")
        if self.km is not None and not 1 <= self.km <= 5_000_000:
            raise InvalidValue("km", "保修里程须为1到5000000公里", code="aftersales.policy_km_invalid")


class WarrantyState(enum.StrEnum):
    IN_WARRANTY = "in_warranty"
    EXPIRED = "expired"
    NO_RECORD = "no_record"

    @property
    def label(self) -> str:
        return {"in_warranty": "在保修期内", "expired": "已过保修期", "no_record": "无保修记录"}[self.value]


@attrs.frozen
class WarrantyCheck:
    state: WarrantyState
    ends_on: dt.date | None
    km_limit: int | None
    reasons: tuple[str, ...]  # why it is out of warranty (empty when in warranty)

    @property
    def in_warranty(self) -> bool:
        return self.state is WarrantyState.IN_WARRANTY

    @property
    def warning(self) -> str | None:
        if self.in_warranty:
            return None
        return "；".join(self.reasons) or self.state.label


@attrs.define(slots=False, eq=False)
class WarrantyRecord:
    """One VIN's warranty: from its delivery (sale) to the end customer, under a policy."""

    vin: str
    product_line: str
    customer_name: str
    customer_phone: str
    starts_on: dt.date
    ends_on: dt.date | None
    km_limit: int | None
    model_code: str | None = None
    dealer_id: int | None = None
    policy_id: int | None = None
    recorded_at: dt.datetime | None = None
    version: int = 1
    id: int | None = None

    def __attrs_post_init__(self) -> None:
        self.customer_name = _text("customer_name", self.customer_name, "客户姓名", 100)
        self.customer_phone = Phone(self.customer_phone).value

    @classmethod
    def start(cls, *, vin: str, product_line: str, model_code: str | None, dealer_id: int | None,
              customer_name: str, customer_phone: str, sold_on: dt.date, policy: WarrantyPolicy,
              now: dt.datetime) -> WarrantyRecord:
        if sold_on > now.astimezone(SHANGHAI).date():
            raise InvalidValue("sold_on", "交付日期不能晚于今天", code="aftersales.sold_on_future")
        ends_on = add_months(sold_on, policy.months) - dt.timedelta(days=1) if policy.months else None
        return cls(vin=vin, product_line=product_line, customer_name=customer_name, customer_phone=customer_phone,
                   starts_on=sold_on, ends_on=ends_on, km_limit=policy.km, model_code=model_code,
                   dealer_id=dealer_id, policy_id=policy.id, recorded_at=now)

    def check(self, on: dt.date, odometer_km: int | None = None) -> WarrantyCheck:
        reasons = []
        if self.ends_on is not None and on > self.ends_on:
            reasons.append(f"保修期已于{self.ends_on.isoformat()}到期")
        if self.km_limit is not None and odometer_km is not None and odometer_km > self.km_limit:
            reasons.append(f"行驶里程{odometer_km}公里超过保修里程{self.km_limit}公里")
        state = WarrantyState.EXPIRED if reasons else WarrantyState.IN_WARRANTY
        return WarrantyCheck(state, self.ends_on, self.km_limit, tuple(reasons))


NO_WARRANTY = WarrantyCheck(WarrantyState.NO_RECORD, None, None, ("该车辆无保修记录",))


def pick_policy(policies: list[WarrantyPolicy], product_line: str, model_code: str | None) -> WarrantyPolicy | None:
    """The template's own policy if there is one, else the product line's."""
    same_line = [p for p in policies if p.product_line == product_line]
    exact = [p for p in same_line if model_code is not None and p.model_code == model_code]
    general = [p for p in same_line if p.model_code is None]
    chosen = exact or general
    return chosen[0] if chosen else None


# ---------------------------------------------------------------------------------------------
# Customer service requests (§4.2.1)


class FaultCategory(enum.StrEnum):
    ENGINE = "engine"
    CHASSIS = "chassis"
    BRAKE = "brake"
    ELECTRICAL = "electrical"
    HYDRAULIC = "hydraulic"
    TANK_BODY = "tank_body"
    SUPERSTRUCTURE = "superstructure"
    TYRE_AXLE = "tyre_axle"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {"engine": "发动机", "chassis": "底盘", "brake": "制动系统", "electrical": "电气系统",
                "hydraulic": "液压系统", "tank_body": "罐体", "superstructure": "上装/车厢",
                "tyre_axle": "轮胎车桥", "other": "其他"}[self.value]


class RequestState(enum.StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    REPAIRED = "repaired"
    CONFIRMED = "confirmed"
    CLOSED = "closed"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return REQUEST_STATE_LABELS[self]


REQUEST_STATE_LABELS = {
    RequestState.OPEN: "待分派",
    RequestState.ASSIGNED: "已派单待接单",
    RequestState.ACCEPTED: "服务站已接单",
    RequestState.REPAIRED: "维修完成待客户确认",
    RequestState.CONFIRMED: "客户已确认",
    RequestState.CLOSED: "已关闭",
    RequestState.RESOLVED: "热线已解决",
    RequestState.CANCELLED: "已取消",
}

# The one transition table of a service request: (state, action) → next state.
REQUEST_TRANSITIONS: dict[tuple[RequestState, str], RequestState] = {
    (RequestState.OPEN, "assign"): RequestState.ASSIGNED,
    (RequestState.OPEN, "resolve"): RequestState.RESOLVED,
    (RequestState.OPEN, "cancel"): RequestState.CANCELLED,
    (RequestState.ASSIGNED, "accept"): RequestState.ACCEPTED,
    (RequestState.ASSIGNED, "refuse"): RequestState.OPEN,
    (RequestState.ASSIGNED, "cancel"): RequestState.CANCELLED,
    (RequestState.ACCEPTED, "record_repair"): RequestState.REPAIRED,
    (RequestState.REPAIRED, "confirm"): RequestState.CONFIRMED,
    (RequestState.CONFIRMED, "close"): RequestState.CLOSED,
}
OPEN_AT_STATION = (RequestState.ASSIGNED, RequestState.ACCEPTED, RequestState.REPAIRED)


@attrs.define(slots=False, eq=False)
class RequestEvent:
    action: str
    from_state: RequestState | None
    to_state: RequestState
    at: dt.datetime
    actor: str
    station_id: int | None = None
    note: str | None = None
    request_id: int | None = None
    id: int | None = None


@attrs.define(slots=False, eq=False)
class ServiceRequest:
    """A customer's request for service (客户服务请求) on one vehicle."""

    number: str
    vin: str
    customer_name: str
    customer_phone: str
    fault_category: FaultCategory
    description: str
    province: str
    city: str
    location: str
    region: str | None
    product_line: str | None
    model_code: str | None
    dealer_id: int | None
    odometer_km: int | None
    warranty_state: WarrantyState
    warranty_warning: str | None
    created_at: dt.datetime
    created_by: str
    state: RequestState = RequestState.OPEN
    station_id: int | None = None
    assignment_mode: str | None = None  # auto / manual
    assigned_at: dt.datetime | None = None
    accepted_at: dt.datetime | None = None
    refused_station_ids: list[int] = attrs.field(factory=list)
    technician_id: int | None = None  # the station's technician the request is dispatched to
    contract_state: str = "none"  # ``domain.customers.ContractState`` when the request was opened
    contract_warning: str | None = None  # why the service contract does not cover it (a flag, never a refusal)
    service_contract_id: int | None = None
    resolution: str | None = None
    closed_at: dt.datetime | None = None
    history: list[RequestEvent] = attrs.field(factory=list)
    version: int = 1
    id: int | None = None

    def __attrs_post_init__(self) -> None:
        self.customer_name = _text("customer_name", self.customer_name, "客户姓名", 100)
        self.customer_phone = Phone(self.customer_phone).value
        self.description = _text("description", self.description, "问题描述", 2000)
        self.province = _text("province", self.province, "省份", 60)
        self.city = _text("city", self.city, "城市", 60)
        self.location = _text("location", self.location, "服务地点", 200)
        try:
            self.fault_category = FaultCategory(self.fault_category)
        except ValueError:
            raise InvalidValue("fault_category", "故障类别不正确", code="aftersales.fault_category_unknown") from None
        if self.odometer_km is not None and not 0 <= self.odometer_km <= 10_000_000:
            raise InvalidValue("odometer_km", "里程须为0到10000000公里", code="aftersales.odometer_invalid")
        if not self.history:
            self.history.append(RequestEvent("create", None, self.state, self.created_at, self.created_by))

    def _target(self, action: str) -> RequestState:
        target = REQUEST_TRANSITIONS.get((self.state, action))
        if target is None:
            raise IllegalTransition("service_request", self.state.value, action)
        return target

    def _move(self, action: str, at: dt.datetime, actor: str, *, note: str | None = None) -> None:
        target = self._target(action)
        self.history.append(RequestEvent(action, self.state, target, at, actor, self.station_id, note))
        self.state = target

    def assign(self, station_id: int, mode: str, at: dt.datetime, actor: str) -> None:
        self._target("assign")
        if station_id in self.refused_station_ids:
            raise BusinessRuleViolation("该服务站已拒绝此请求，请选择其他服务站", code="aftersales.station_refused_before",
                                        station_id=station_id)
        self.station_id = station_id
        self._move("assign", at, actor, note=f"{'自动' if mode == 'auto' else '人工'}派单")
        self.assignment_mode = mode
        self.assigned_at = at

    def dispatch_to_technician(self, technician_id: int, name: str, at: dt.datetime, actor: str) -> None:
        """派工 to one technician of the holding station (the checks: ``service_network.check_dispatch``)."""
        self.history.append(RequestEvent("dispatch_technician", self.state, self.state, at, actor, self.station_id,
                                         f"派工给技师{name}"))
        self.technician_id = technician_id

    def accept(self, at: dt.datetime, actor: str) -> None:
        self._move("accept", at, actor)
        self.accepted_at = at

    def refuse(self, reason: str, at: dt.datetime, actor: str) -> None:
        reason = _text("reason", reason, "拒单原因", 500)
        self._move("refuse", at, actor, note=reason)
        if self.station_id is None:
            raise InvariantBroken("a refused service request has no station")
        self.refused_station_ids = [*self.refused_station_ids, self.station_id]
        self.station_id = None
        self.technician_id = None
        self.assignment_mode = None
        self.assigned_at = None

    def record_repair(self, at: dt.datetime, actor: str) -> None:
        self._move("record_repair", at, actor)

    def confirm(self, at: dt.datetime, actor: str, note: str | None = None) -> None:
        self._move("confirm", at, actor, note=note)

    def close(self, at: dt.datetime, actor: str) -> None:
        self._move("close", at, actor)
        self.closed_at = at

    def resolve_on_hotline(self, resolution: str, at: dt.datetime, actor: str) -> None:
        resolution = _text("resolution", resolution, "解决办法", 2000)
        self._move("resolve", at, actor, note=resolution)
        self.resolution = resolution
        self.closed_at = at

    def cancel(self, reason: str, at: dt.datetime, actor: str) -> None:
        reason = _text("reason", reason, "取消原因", 500)
        self._move("cancel", at, actor, note=reason)
        self.closed_at = at


# ---------------------------------------------------------------------------------------------
# Parts, repair records, settlement claims (§4.3, §4.4)


class PartUse(enum.StrEnum):
    """How a consumed part is accounted: 三包 (a warranty cost the factory reimburses), 销售
    (sold to the customer: revenue of the station), 正常维修 (a paid repair's part)."""

    WARRANTY = "warranty"
    SALE = "sale"
    REPAIR = "repair"

    @property
    def label(self) -> str:
        return {"warranty": "三包配件", "sale": "销售配件", "repair": "正常维修配件"}[self.value]


_PART_NO = re.compile(r"^[A-Z0-9][A-Z0-9\-./]{1,39}$")


def part_no_of(value: str) -> str:
    v = (value or "").strip().upper()
    if not _PART_NO.match(v):
        raise InvalidValue("part_no", "配件编号须为2到40位字母、数字或 - . /", code="aftersales.part_no_invalid")
    return v


@attrs.define(slots=False, eq=False)
class ServicePart:
    """A spare part of the catalogue with its standard cost (三包结算价) and retail price."""

    part_no: str
    name: str
    standard_cost_fen: int
    retail_price_fen: int
    unit: str = "件"
    version: int = 1
    id: int | None = None

    def __attrs_post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        self.part_no = part_no_of(self.part_no)
        self.name = _text("name", self.name, "配件名称", 200)
        self.unit = _text("unit", self.unit, "单位", 10)
        for f in ("standard_cost_fen", "retail_price_fen"):
            v = getattr(self, f)
            if not isinstance(v, int) or not 0 <= v <= 10**11:
                raise InvalidValue(f, "金额须为非负整数（分）", code="aftersales.amount_invalid")


@attrs.define(slots=False, eq=False)
class RepairPart:
    part_no: str
    part_name: str
    quantity: int
    use: PartUse
    unit_cost_fen: int  # standard cost when recorded (warranty settlement price)
    unit_price_fen: int  # retail price when recorded (what a sale charges)
    record_id: int | None = None
    id: int | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.quantity, int) or not 1 <= self.quantity <= 10_000:
            raise InvalidValue("parts.quantity", "配件数量须为1到10000", code="aftersales.quantity_invalid")
        self.use = PartUse(self.use)


@attrs.define(slots=False, eq=False)
class RepairRecord:
    """What a station did on a request (维修记录), with the customer's confirmation. Its photos and
    videos are ``domain.media.Media`` rows owned by the record (uploaded after it is recorded)."""

    number: str
    request_id: int
    station_id: int
    vin: str
    problem: str
    solution: str
    place: str
    started_at: dt.datetime
    finished_at: dt.datetime
    labour_centihours: int
    result: str | None
    recorded_at: dt.datetime
    recorded_by: str
    fault_category: FaultCategory = FaultCategory.OTHER
    product_line: str | None = None
    model_code: str | None = None
    in_warranty: bool = True
    parts: list[RepairPart] = attrs.field(factory=list)
    confirmed_at: dt.datetime | None = None
    confirmed_by: str | None = None
    satisfaction: int | None = None
    customer_comment: str | None = None
    is_major: bool = False
    major_agreement: str | None = None
    major_compensation_fen: int | None = None
    major_summary: str | None = None
    major_flagged_at: dt.datetime | None = None
    operation_code: str | None = None  # the repair operation (标准工时作业) it was, when the station named one
    version: int = 1
    id: int | None = None

    def __attrs_post_init__(self) -> None:
        self.problem = _text("problem", self.problem, "故障现象", 2000)
        self.solution = _text("solution", self.solution, "解决方案及过程", 2000)
        self.place = _text("place", self.place, "维修地点", 200)
        self.result = _text("result", self.result, "维修效果", 500, required=False)
        if self.started_at.tzinfo is None or self.finished_at.tzinfo is None:
            raise InvalidValue("started_at", "开工、完工时间须带时区", code="aftersales.naive_datetime")
        if self.finished_at < self.started_at:
            raise InvalidValue("finished_at", "完工时间不能早于开工时间", code="aftersales.period_invalid")
        if self.finished_at > self.recorded_at + dt.timedelta(minutes=5):
            raise InvalidValue("finished_at", "完工时间不能晚于当前时间", code="aftersales.period_future")
        if not self.in_warranty and any(p.use is PartUse.WARRANTY for p in self.parts):
            raise BusinessRuleViolation("车辆不在保修期内，不能按三包配件记录", code="aftersales.out_of_warranty",
                                        vin=self.vin)

    @property
    def duration_hours(self) -> float:
        return round((self.finished_at - self.started_at).total_seconds() / 3600, 1)

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None

    def confirm(self, *, customer_name: str, satisfaction: int, comment: str | None, at: dt.datetime) -> None:
        if self.confirmed_at is not None:
            raise IllegalTransition("repair_record", "confirmed", "confirm")
        if not isinstance(satisfaction, int) or not 1 <= satisfaction <= 5:
            raise InvalidValue("satisfaction", "满意度须为1到5", code="aftersales.satisfaction_invalid")
        self.confirmed_by = _text("customer_name", customer_name, "确认人", 100)
        self.customer_comment = _text("comment", comment, "客户意见", 500, required=False)
        self.satisfaction = satisfaction
        self.confirmed_at = at

    def flag_major(self, *, agreement: str, compensation_fen: int, summary: str, at: dt.datetime) -> None:
        """重大维修: the repair agreement, the compensation paid and the summary analysis."""
        self.major_agreement = _text("agreement", agreement, "维修协议", 4000)
        if not isinstance(compensation_fen, int) or not 0 <= compensation_fen <= 10**11:
            raise InvalidValue("compensation_fen", "赔偿金额须为非负整数（分）", code="aftersales.amount_invalid")
        self.major_summary = _text("summary", summary, "总结分析报告", 8000)
        self.major_compensation_fen = compensation_fen
        self.is_major = True
        self.major_flagged_at = at

    def warranty_parts_fen(self) -> int:
        return sum(p.quantity * p.unit_cost_fen for p in self.parts if p.use is PartUse.WARRANTY)

    def sales_fen(self) -> int:
        return sum(p.quantity * p.unit_price_fen for p in self.parts if p.use is not PartUse.WARRANTY)


class ClaimState(enum.StrEnum):
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return {"in_review": "审核中", "approved": "已批准", "rejected": "已驳回", "withdrawn": "已撤回"}[self.value]


@attrs.frozen
class ClaimAmounts:
    labour_centihours: int
    labour_rate_fen: int
    labour_fen: int
    parts_fen: int

    @property
    def total_fen(self) -> int:
        return self.labour_fen + self.parts_fen


def claim_amounts(record: RepairRecord, labour_rate_fen: int) -> ClaimAmounts:
    """What the factory owes the station for a warranty repair: labour hours × the station's
    rate, plus warranty (三包) parts at standard cost. Sold and paid-repair parts are the
    customer's business, not the factory's. An out-of-warranty repair claims nothing."""
    if not record.in_warranty:
        raise BusinessRuleViolation("车辆不在保修期内，不能申请三包结算", code="aftersales.out_of_warranty",
                                    vin=record.vin)
    labour = labour_amount_fen(record.labour_centihours, labour_rate_fen)
    return ClaimAmounts(record.labour_centihours, labour_rate_fen, labour, record.warranty_parts_fen())


@attrs.define(slots=False, eq=False)
class SettlementClaim:
    """A station's claim for one repair record (服务结算申请), reviewed by after-sales and finance."""

    number: str
    record_id: int
    station_id: int
    labour_centihours: int
    labour_rate_fen: int
    labour_fen: int
    parts_fen: int
    total_fen: int
    submitted_at: dt.datetime
    submitted_by: str
    state: ClaimState = ClaimState.IN_REVIEW
    decided_at: dt.datetime | None = None
    settlement_month: str | None = None  # YYYY-MM (Beijing) of the approval
    decision_note: str | None = None
    risk_score: int | None = None  # 0–100 from ``domain.claim_risk.assess`` at submission
    risk_flagged: bool = False  # at or above the threshold then: the review had an extra 风险复核 step
    risk_reasons: list[dict[str, Any]] = attrs.field(factory=list)  # RiskReason.as_dict() of each reason
    risk_skipped: list[dict[str, Any]] = attrs.field(factory=list)  # rules that could not judge, and why
    version: int = 1
    id: int | None = None

    def record_risk(self, assessment: RiskAssessment) -> None:
        """Keep the score and every reason with the claim, so the decision shows them."""
        self.risk_score = assessment.score
        self.risk_flagged = assessment.flagged
        self.risk_reasons = [r.as_dict() for r in assessment.reasons]
        self.risk_skipped = [x.as_dict() for x in assessment.skipped]

    @classmethod
    def submit(cls, number: str, record: RepairRecord, labour_rate_fen: int, at: dt.datetime,
               actor: str) -> SettlementClaim:
        if not record.is_confirmed:
            raise Conflict("维修记录尚未经客户确认，不能申请结算", code="aftersales.not_confirmed")
        a = claim_amounts(record, labour_rate_fen)
        if record.id is None:
            raise InvariantBroken("repair record has no id: not flushed")
        return cls(number, record.id, record.station_id, a.labour_centihours, a.labour_rate_fen, a.labour_fen,
                   a.parts_fen, a.total_fen, at, actor)

    def _decide(self, state: ClaimState, at: dt.datetime, note: str | None) -> None:
        if self.state is not ClaimState.IN_REVIEW:
            raise IllegalTransition("settlement_claim", self.state.value, state.value)
        self.state = state
        self.decided_at = at
        self.decision_note = note

    def approve(self, at: dt.datetime) -> None:
        self._decide(ClaimState.APPROVED, at, None)
        self.settlement_month = at.astimezone(SHANGHAI).strftime("%Y-%m")

    def reject(self, at: dt.datetime, reason: str) -> None:
        self._decide(ClaimState.REJECTED, at, reason)

    def withdraw(self, at: dt.datetime, reason: str | None) -> None:
        self._decide(ClaimState.WITHDRAWN, at, reason)


# ---------------------------------------------------------------------------------------------
# Station parts stock (§4.4)


class MovementKind(enum.StrEnum):
    RECEIPT = "receipt"
    ISSUE_WARRANTY = "issue_warranty"
    ISSUE_SALE = "issue_sale"
    ISSUE_REPAIR = "issue_repair"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    STOCKTAKE = "stocktake"

    @property
    def label(self) -> str:
        return {"receipt": "入库", "issue_warranty": "三包出库", "issue_sale": "销售出库", "issue_repair": "维修出库",
                "transfer_out": "调拨出库", "transfer_in": "调拨入库", "stocktake": "盘点调整"}[self.value]


ISSUE_KIND = {PartUse.WARRANTY: MovementKind.ISSUE_WARRANTY, PartUse.SALE: MovementKind.ISSUE_SALE,
              PartUse.REPAIR: MovementKind.ISSUE_REPAIR}


class InsufficientStock(Conflict):
    code = "aftersales.stock_insufficient"


@attrs.define(slots=False, eq=False)
class StockLine:
    """One part at one station: the balance never goes below zero."""

    station_id: int
    part_no: str
    quantity: int = 0
    updated_at: dt.datetime | None = None
    version: int = 1

    def _check_qty(self, qty: int) -> None:
        if not isinstance(qty, int) or not 1 <= qty <= 1_000_000:
            raise InvalidValue("quantity", "数量须为1到1000000的整数", code="aftersales.quantity_invalid")

    def receive(self, qty: int, at: dt.datetime) -> int:
        self._check_qty(qty)
        self.quantity += qty
        self.updated_at = at
        return qty

    def issue(self, qty: int, at: dt.datetime) -> int:
        self._check_qty(qty)
        if qty > self.quantity:
            raise InsufficientStock(
                f"配件{self.part_no}库存不足：结存{self.quantity}，需出库{qty}",
                part_no=self.part_no, station_id=self.station_id, balance=self.quantity, requested=qty)
        self.quantity -= qty
        self.updated_at = at
        return -qty

    def count(self, actual: int, at: dt.datetime) -> int:
        """Stocktake (盘点): the counted quantity replaces the balance; returns the difference."""
        if not isinstance(actual, int) or not 0 <= actual <= 1_000_000:
            raise InvalidValue("counted", "盘点数量须为0到1000000的整数", code="aftersales.quantity_invalid")
        delta = actual - self.quantity
        self.quantity = actual
        self.updated_at = at
        return delta


@attrs.define(slots=False, eq=False)
class StockMovement:
    station_id: int
    part_no: str
    kind: MovementKind
    delta: int
    balance_after: int
    at: dt.datetime
    actor: str
    reference: str | None = None
    note: str | None = None
    id: int | None = None


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    """"2026-03" → [start, end) of that month in Beijing time, as aware datetimes."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", month or "")
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise InvalidValue("month", "月份格式须为 YYYY-MM", code="aftersales.month_invalid")
    start = dt.date(int(m.group(1)), int(m.group(2)), 1)
    end = add_months(start, 1)
    return (dt.datetime.combine(start, dt.time(), SHANGHAI), dt.datetime.combine(end, dt.time(), SHANGHAI))
