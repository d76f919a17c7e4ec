"""Request and response structs of the after-sales API. Money is integer fen (``*_fen``), labour
hours a decimal string ("2.5", at most two decimals); requests forbid unknown fields."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from dealercrm.entrypoints.http.customers_schemas import ContractCheckOut
from dealercrm.entrypoints.http.schemas import Request, Text
from dealercrm.domain.aftersales import (ClaimState, FaultCategory, MovementKind, PartUse, RequestState, StationStatus,
                                          WarrantyState)
from dealercrm.domain.channel import ProductLine
from dealercrm.domain.media import MediaKind, OwnerType
from dealercrm.domain.service_network import TechnicianStatus

Short = Annotated[str, Meta(min_length=1, max_length=60)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Long = Annotated[str, Meta(min_length=1, max_length=2000)]
Fen = Annotated[int, Meta(ge=0, le=10**11, description="amount in fen (1/100 CNY)")]
Hours = Annotated[str, Meta(min_length=1, max_length=10, pattern=r"^\d{1,3}(\.\d{1,2})?$",
                            description="labour hours, e.g. 2.5 (at most two decimals)")]
PartNo = Annotated[str, Meta(min_length=2, max_length=40)]
Qty = Annotated[int, Meta(ge=1, le=10_000)]
VinStr = Annotated[str, Meta(min_length=17, max_length=17)]


# --- requests --------------------------------------------------------------------------------


class StationBody(Request):
    name: Name
    uscc: Annotated[str, Meta(min_length=18, max_length=18)]
    region: Annotated[str, Meta(min_length=2, max_length=8)]
    province: Short
    city: Short
    address: Name
    contact_name: Short
    contact_phone: Annotated[str, Meta(min_length=5, max_length=30)]
    product_lines: Annotated[list[Annotated[str, Meta(max_length=20)]], Meta(min_length=1, max_length=3)]
    labour_rate_fen: Annotated[int, Meta(ge=1, le=10_000_000, description="labour rate, fen per hour")]
    qualification: Annotated[str, Meta(max_length=10)] = "class_2"
    capacity: Annotated[int, Meta(ge=1, le=1000)] = 5
    latitude: Annotated[float, Meta(ge=-90, le=90, description="WGS-84 latitude, degrees")] | None = None
    longitude: Annotated[float, Meta(ge=-180, le=180, description="WGS-84 longitude, degrees")] | None = None


class PolicyBody(Request):
    product_line: ProductLine
    months: Annotated[int, Meta(ge=1, le=240)] | None = None
    km: Annotated[int, Meta(ge=1, le=5_000_000)] | None = None
    model_code: Annotated[str, Meta(max_length=40)] | None = None
    description: Annotated[str, Meta(max_length=500)] | None = None


class WarrantyBody(Request):
    vin: VinStr
    customer_name: Annotated[str, Meta(min_length=1, max_length=100)]
    customer_phone: Annotated[str, Meta(min_length=5, max_length=30)]
    sold_on: dt.date
    product_line: ProductLine | None = None


class ServiceRequestBody(Request):
    vin: VinStr
    customer_name: Annotated[str, Meta(min_length=1, max_length=100)]
    customer_phone: Annotated[str, Meta(min_length=5, max_length=30)]
    fault_category: FaultCategory
    description: Long
    province: Short
    city: Short
    location: Name
    region: Annotated[str, Meta(max_length=8)] | None = None
    odometer_km: Annotated[int, Meta(ge=0, le=10_000_000)] | None = None


class AssignBody(Request):
    station_id: int | None = None  # omitted: the best suggestion (automatic dispatch), or the technician's station
    technician_id: int | None = None  # 派工到人: also dispatch to this technician of the station
    latitude: float | None = None  # where the vehicle stands (both or neither): automatic dispatch to the nearest
    longitude: float | None = None


class TechnicianDispatchBody(Request):
    technician_id: int


class ReasonBody(Request):
    reason: Text


class ResolveBody(Request):
    resolution: Long


class PartLine(Request):
    part_no: PartNo
    quantity: Qty
    use: PartUse


class RepairBody(Request):
    problem: Long
    solution: Long
    place: Name
    started_at: Annotated[dt.datetime, Meta(tz=True)]
    finished_at: Annotated[dt.datetime, Meta(tz=True)]
    labour_hours: Hours
    result: Annotated[str, Meta(max_length=500)] | None = None
    parts: Annotated[list[PartLine], Meta(max_length=50)] = []
    operation_code: Annotated[str, Meta(min_length=1, max_length=20)] | None = None


class ConfirmBody(Request):
    customer_name: Annotated[str, Meta(min_length=1, max_length=100)]
    satisfaction: Annotated[int, Meta(ge=1, le=5)]
    comment: Annotated[str, Meta(max_length=500)] | None = None


class BillRepairBody(Request):
    customer_name: Annotated[str, Meta(max_length=100)] | None = None  # printed on a paid-repair bill


class BillingOut(msgspec.Struct):
    """What billing the repair made: ``claim`` (三包结算申请) or ``bill`` (有偿维修收费单)."""

    kind: str
    id: int
    number: str
    url: str


class MajorBody(Request):
    agreement: Annotated[str, Meta(min_length=1, max_length=4000)]
    compensation_fen: Fen
    summary: Annotated[str, Meta(min_length=1, max_length=8000)]


class DecisionBody(Request):
    reason: Annotated[str, Meta(max_length=500)] | None = None


class OperationBody(Request):
    code: Annotated[str, Meta(min_length=1, max_length=20)]
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    standard_hours: Hours


Weight = Annotated[int, Meta(ge=0, le=100)]


class RiskWeightsBody(Request):
    repeat_part: Weight | None = None
    odometer_backwards: Weight | None = None
    outside_warranty_dates: Weight | None = None
    phone_many_vins: Weight | None = None
    parts_over_fitment: Weight | None = None
    labour_over_standard: Weight | None = None
    photo_reused: Weight | None = None
    station_outlier: Weight | None = None


class RiskConfigBody(Request):
    """The claim risk configuration; what is left out takes its default (weights: per rule)."""

    threshold: Annotated[int, Meta(ge=1, le=100, description="score at or above which a claim gets 风险复核")] = 50
    repeat_part_days: Annotated[int, Meta(ge=1, le=3650)] = 90
    phone_max_vins: Annotated[int, Meta(ge=1, le=1000)] = 3
    labour_tolerance_percent: Annotated[int, Meta(ge=0, le=1000)] = 20
    outlier_z: Annotated[float, Meta(ge=1, le=20, description="robust z-score (MAD) of an outlier station")] = 3.5
    outlier_min_peers: Annotated[int, Meta(ge=3, le=10_000)] = 5
    outlier_window_days: Annotated[int, Meta(ge=7, le=3650)] = 180
    weights: RiskWeightsBody | None = None


class PartBody(Request):
    part_no: PartNo
    name: Name
    standard_cost_fen: Fen
    retail_price_fen: Fen
    unit: Annotated[str, Meta(min_length=1, max_length=10)] = "件"


class MovementBody(Request):
    station_id: int
    part_no: PartNo
    kind: Annotated[str, Meta(max_length=16, description="receipt / issue_warranty / issue_sale / issue_repair / "
                                                          "stocktake (quantity = counted)")]
    quantity: Annotated[int, Meta(ge=0, le=1_000_000)]
    reference: Annotated[str, Meta(max_length=40)] | None = None
    note: Annotated[str, Meta(max_length=500)] | None = None


class TransferBody(Request):
    from_station_id: int
    to_station_id: int
    part_no: PartNo
    quantity: Annotated[int, Meta(ge=1, le=1_000_000)]
    note: Annotated[str, Meta(max_length=500)] | None = None


# --- responses -------------------------------------------------------------------------------


class StationQuality(msgspec.Struct):
    dispatched: int
    refused: int
    refusal_rate_permille: int | None
    avg_response_hours: float | None
    open_requests: int
    repairs: int
    avg_repair_hours: float | None
    confirmed: int
    confirmation_rate_permille: int | None
    avg_satisfaction: float | None
    repeat_repairs_30d: int
    repeat_rate_permille: int | None
    major_repairs: int
    approved_claims: int
    approved_settlement_fen: int


class StationOut(msgspec.Struct):
    id: int
    code: str
    name: str
    uscc: str
    region: str
    province: str
    city: str
    address: str
    contact_name: str
    contact_phone: str
    product_lines: list[ProductLine]
    labour_rate_fen: int
    qualification: str
    qualification_label: str
    capacity: int
    status: StationStatus
    status_label: str
    quality: StationQuality | None = None
    latitude: float | None = None
    longitude: float | None = None


class StationList(msgspec.Struct):
    items: list[StationOut]
    next_cursor: str | None


class PolicyOut(msgspec.Struct):
    id: int
    product_line: ProductLine
    model_code: str | None
    months: int | None
    km: int | None
    description: str | None


class WarrantyCheckOut(msgspec.Struct):
    state: WarrantyState
    state_label: str
    in_warranty: bool
    ends_on: dt.date | None
    km_limit: int | None
    warning: str | None


class WarrantyRecordOut(msgspec.Struct):
    id: int
    vin: str
    product_line: str
    model_code: str | None
    dealer_id: int | None
    customer_name: str
    customer_phone: str
    starts_on: dt.date
    ends_on: dt.date | None
    km_limit: int | None


class WarrantyOut(msgspec.Struct):
    vin: str
    check: WarrantyCheckOut
    record: WarrantyRecordOut | None


class RequestEventOut(msgspec.Struct):
    action: str
    from_state: RequestState | None
    to_state: RequestState
    at: dt.datetime
    actor: str
    station_id: int | None
    note: str | None


class RequestRow(msgspec.Struct):
    id: int
    number: str
    vin: str
    customer_name: str
    customer_phone: str
    fault_category: FaultCategory
    fault_category_label: str
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
    state: RequestState
    state_label: str
    station_id: int | None
    station_name: str | None
    assignment_mode: str | None
    assigned_at: dt.datetime | None
    accepted_at: dt.datetime | None
    created_at: dt.datetime
    created_by: str
    closed_at: dt.datetime | None
    resolution: str | None
    technician_id: int | None = None
    contract_state: str = "none"  # the service contract (维修合同) check when it was opened
    contract_warning: str | None = None
    service_contract_id: int | None = None


class RequestList(msgspec.Struct):
    items: list[RequestRow]
    next_cursor: str | None


class PartUsedOut(msgspec.Struct):
    part_no: str
    part_name: str
    quantity: int
    use: PartUse
    use_label: str
    unit_cost_fen: int
    unit_price_fen: int


class ClaimOut(msgspec.Struct):
    id: int
    number: str
    record_id: int
    station_id: int
    labour_hours: str
    labour_rate_fen: int
    labour_fen: int
    parts_fen: int
    total_fen: int
    state: ClaimState
    state_label: str
    submitted_at: dt.datetime
    submitted_by: str
    decided_at: dt.datetime | None
    settlement_month: str | None
    decision_note: str | None
    station_name: str | None = None
    record_no: str | None = None
    vin: str | None = None
    risk_score: int | None = None
    risk_flagged: bool = False
    risk_reasons: list[RiskReasonOut] = []
    risk_skipped: list[SkippedRuleOut] = []


class RiskReasonOut(msgspec.Struct):
    code: str
    label: str
    text: str
    weight: int
    facts: dict[str, Any]


class SkippedRuleOut(msgspec.Struct):
    code: str
    label: str
    text: str


class OperationOut(msgspec.Struct):
    code: str
    name: str
    standard_hours: str


class RiskConfigOut(msgspec.Struct):
    threshold: int
    repeat_part_days: int
    phone_max_vins: int
    labour_tolerance_percent: int
    outlier_z: float
    outlier_min_peers: int
    outlier_window_days: int
    weights: dict[str, int]
    rules: dict[str, str]  # rule code → its Chinese name


class RiskReasonCount(msgspec.Struct):
    code: str
    label: str
    claims: int


class RiskReportRow(msgspec.Struct):
    station_id: int
    station_code: str
    station_name: str
    region: str
    claims: int
    flagged: int
    flagged_percent: str  # flagged / claims × 100, one decimal
    average_score: str | None  # over the claims that were scored, one decimal
    top_reasons: list[RiskReasonCount]


class RiskReport(msgspec.Struct):
    date_from: dt.date
    date_to: dt.date
    stations: list[RiskReportRow]


class ClaimList(msgspec.Struct):
    items: list[ClaimOut]
    next_cursor: str | None


class MediaOut(msgspec.Struct):
    """A photo or video (or a legacy text reference, ``kind`` = link, no content)."""

    id: int
    owner_type: OwnerType
    owner_id: int
    kind: MediaKind
    kind_label: str
    content_type: str | None
    size_bytes: int
    width: int | None
    height: int | None
    caption: str | None
    legacy_ref: str | None
    uploaded_at: dt.datetime
    uploaded_by: str
    sha256: str | None
    content_url: str | None
    thumbnail_url: str | None
    duration_ms: int | None = None  # a video's running time in milliseconds, when its header gives it


class RecordOut(msgspec.Struct):
    id: int
    number: str
    request_id: int
    station_id: int
    vin: str
    fault_category: FaultCategory
    product_line: str | None
    model_code: str | None
    in_warranty: bool
    problem: str
    solution: str
    place: str
    result: str | None
    started_at: dt.datetime
    finished_at: dt.datetime
    labour_hours: str
    recorded_at: dt.datetime
    recorded_by: str
    confirmed_at: dt.datetime | None
    confirmed_by: str | None
    satisfaction: int | None
    customer_comment: str | None
    is_major: bool
    major_agreement: str | None
    major_compensation_fen: int | None
    major_summary: str | None
    parts: list[PartUsedOut]
    claims: list[ClaimOut]
    media: list[MediaOut] = []
    operation_code: str | None = None


class CustomerContextOut(msgspec.Struct):
    """客户信息提示: purchase, order, warranty and earlier requests of the vehicle / customer."""

    vehicle: dict[str, Any] | None
    warranty: WarrantyRecordOut | None
    warranty_check: WarrantyCheckOut | None
    other_vehicles: list[dict[str, Any]]
    previous_requests: list[dict[str, Any]]


class RequestDetail(msgspec.Struct):
    request: RequestRow
    history: list[RequestEventOut]
    record: RecordOut | None
    context: CustomerContextOut | None


class RequestCreatedOut(msgspec.Struct):
    id: int
    number: str
    state: RequestState
    warranty: WarrantyCheckOut
    context: CustomerContextOut
    contract: ContractCheckOut | None = None


class SuggestionOut(msgspec.Struct):
    station_id: int
    name: str
    score: int
    reasons: list[str]
    open_requests: int
    capacity: int


class StateOut(msgspec.Struct):
    id: int
    state: str
    state_label: str
    station_id: int | None = None


class SettlementStation(msgspec.Struct):
    station_id: int
    code: str
    name: str
    region: str
    claims: int
    labour_hours: str
    labour_fen: int
    parts_fen: int
    total_fen: int
    items: list[ClaimOut]


class SettlementOut(msgspec.Struct):
    month: str
    stations: list[SettlementStation]
    total_fen: int


class PartOut(msgspec.Struct):
    part_no: str
    name: str
    unit: str
    standard_cost_fen: int
    retail_price_fen: int


class StockRow(msgspec.Struct):
    station_id: int
    station_code: str
    station_name: str
    region: str
    part_no: str
    part_name: str
    unit: str
    quantity: int
    standard_cost_fen: int
    value_fen: int


class StockPartTotal(msgspec.Struct):
    part_no: str
    part_name: str
    stations: int
    quantity: int
    value_fen: int


class StockReport(msgspec.Struct):
    rows: list[StockRow]
    by_part: list[StockPartTotal]
    total_value_fen: int


class BalanceOut(msgspec.Struct):
    station_id: int
    part_no: str
    balance: int


class TransferOut(msgspec.Struct):
    from_station_id: int
    from_balance: int
    to_station_id: int
    to_balance: int


class MovementOut(msgspec.Struct):
    id: int
    part_no: str
    kind: MovementKind
    kind_label: str
    delta: int
    balance_after: int
    at: dt.datetime
    actor: str
    reference: str | None
    note: str | None


class MajorRepairOut(msgspec.Struct):
    id: int
    number: str
    vin: str
    station_id: int
    station_name: str
    fault_category: FaultCategory
    product_line: str | None
    model_code: str | None
    problem: str
    solution: str
    finished_at: dt.datetime
    major_agreement: str | None
    major_compensation_fen: int | None
    major_summary: str | None


class ReportRow(msgspec.Struct):
    key: str | None
    label: str | None
    repairs: int
    vehicles: int
    labour_hours: str
    warranty_parts_fen: int
    parts_quantity: int
    major_repairs: int
    in_warranty: int
    settled_fen: int


class RepairReport(msgspec.Struct):
    group_by: str
    date_from: dt.date
    date_to: dt.date
    rows: list[ReportRow]


# --- the service network (issue 18 §3) ---------------------------------------------------------

Skill = Annotated[str, Meta(max_length=20, description="a fault category the technician repairs")]


class TechnicianBody(Request):
    name: Annotated[str, Meta(min_length=1, max_length=60)]
    phone: Annotated[str, Meta(min_length=5, max_length=30)]
    skills: Annotated[list[Skill], Meta(min_length=1, max_length=9)]


class AvailabilityBody(Request):
    status: TechnicianStatus


class TechnicianOut(msgspec.Struct):
    id: int
    station_id: int
    name: str
    phone: str
    skills: list[str]
    skill_labels: list[str]
    status: TechnicianStatus
    status_label: str
    active: bool


class NearbyStationOut(msgspec.Struct):
    id: int
    code: str
    name: str
    region: str
    province: str
    city: str
    address: str
    contact_phone: str
    product_lines: list[ProductLine]
    latitude: float
    longitude: float
    distance_km: float


class PlanBody(Request):
    vin: VinStr
    title: Annotated[str, Meta(min_length=1, max_length=100)]
    start_on: dt.date
    interval_days: Annotated[int, Meta(ge=1, le=3650)] | None = None
    interval_km: Annotated[int, Meta(ge=100, le=1_000_000)] | None = None
    start_km: Annotated[int, Meta(ge=0, le=10_000_000)] | None = None
    station_id: int | None = None
    remind_days_ahead: Annotated[int, Meta(ge=0, le=90)] = 7


class PlanServiceBody(Request):
    done_on: dt.date
    odometer_km: Annotated[int, Meta(ge=0, le=10_000_000)] | None = None


class PlanOut(msgspec.Struct):
    id: int
    vin: str
    title: str
    interval_days: int | None
    interval_km: int | None
    last_done_on: dt.date
    last_done_km: int | None
    next_due_on: dt.date | None
    next_due_km: int | None
    remind_days_ahead: int
    dealer_id: int | None
    station_id: int | None
    active: bool
    created_at: dt.datetime
    created_by: str
