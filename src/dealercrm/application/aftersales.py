"""Use cases of after-sales (售后服务, seed 000 §4).

Who may do what:

* after-sales staff (and administrators) keep the station archive, warranty policies and
  records, parts catalogue; record, dispatch, resolve or cancel service requests; transfer
  parts between stations; flag major repairs; review claims (first stage);
* finance reviews claims (second stage) and reads settlements;
* a station user works only on its own station: accepts or refuses requests sent to it,
  records repairs (the parts leave its stock in the same transaction), gets the customer's
  confirmation, claims settlement and books its stock. Anything of another station is 404.

Settlement claims run through the generic approval workflow (after-sales, then finance); the
outcome handler below approves, rejects or withdraws the claim in the workflow's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs

from dealercrm.application import transfers
from dealercrm.application import workflow as wf
from dealercrm.application.access import not_found, require_role
from dealercrm.application.form_once import once_per_form
from dealercrm.application.ports.aftersales import AftersalesUnitOfWork
from dealercrm.application.ports.parts_supply import PartsSupplyUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.saving import save_new
from dealercrm.application.station_work import (
    catalog_part,
    move_stock,
    record_or_404,
    request_or_404,
    station_or_404,
)
from dealercrm.domain.regions import require_known_region
from dealercrm.domain.aftersales import (
    ISSUE_KIND,
    NO_WARRANTY,
    SHANGHAI,
    ClaimState,
    FaultCategory,
    MovementKind,
    PartUse,
    QualificationLevel,
    RepairPart,
    RepairRecord,
    RequestState,
    ServicePart,
    ServiceRequest,
    ServiceStation,
    SettlementClaim,
    Suggestion,
    WarrantyCheck,
    WarrantyPolicy,
    WarrantyRecord,
    pick_policy,
    suggest_stations,
)
from dealercrm.domain.claim_risk import (
    RULE_LABELS,
    ClaimedPart,
    ClaimEvidence,
    RepairOperation,
    RiskAssessment,
    RiskConfig,
    assess,
)
from dealercrm.domain.customers import (
    NO_CONTRACT,
    ContractCheck,
    check_service_contracts,
)
from dealercrm.domain.errors import (
    BusinessRuleViolation,
    Conflict,
    IllegalTransition,
    InvalidValue,
    InvariantBroken,
    NotFound,
)
from dealercrm.domain.identity import Role
from dealercrm.domain.service_network import GeoPoint, check_dispatch, haversine_km
from dealercrm.domain.values import Vin, stored_id
from dealercrm.domain.workflow import Workflow

STAFF = (Role.AFTER_SALES, Role.ADMIN)
READERS = (Role.AFTER_SALES, Role.ADMIN, Role.FINANCE)
WORKERS = (*STAFF, Role.STATION)


def _vin(value: str) -> str:
    return Vin(value.strip().upper()).value


# ---------------------------------------------------------------------------------------------
# Stations (§4.1)


@attrs.frozen
class StationIn:
    name: str
    uscc: str
    region: str
    province: str
    city: str
    address: str
    contact_name: str
    contact_phone: str
    product_lines: tuple[str, ...]
    labour_rate_fen: int
    qualification: str
    capacity: int = 5
    latitude: float | None = None
    longitude: float | None = None


def _qualification(value: str) -> QualificationLevel:
    try:
        return QualificationLevel(value)
    except ValueError:
        raise InvalidValue("qualification", "资质等级须为 class_1、class_2 或 class_3",
                           code="aftersales.qualification_unknown") from None


def create_station(cmd: StationIn, uow: AftersalesUnitOfWork, clock: Clock) -> int:
    require_role(uow.actor, *STAFF)
    with uow:
        station_id = _new_station(uow, cmd, clock())
        uow.commit()
    return station_id


def create_station_once(cmd: StationIn, new_uow: Callable[[], AftersalesUnitOfWork], clock: Clock, *,
                        form_token: str) -> int:
    """``create_station`` once per form token of this user: a double-submitted form creates one
    station and the second post gets its id (the client-event ledger)."""
    answer = once_per_form(new_uow, clock, roles=STAFF, form_token=form_token, kind="station.create",
                           request=(cmd,), work=lambda uow: {"id": _new_station(uow, cmd, clock())})
    return int(answer["id"])


def _new_station(uow: AftersalesUnitOfWork, cmd: StationIn, now: dt.datetime) -> int:
    """Add the station inside the caller's unit of work (flushed, not committed); its id."""
    station = ServiceStation(
        code=uow.numbers.formatted("FWZ", width=4), name=cmd.name, uscc=cmd.uscc, region=cmd.region,
        province=cmd.province, city=cmd.city, address=cmd.address, contact_name=cmd.contact_name,
        contact_phone=cmd.contact_phone, product_lines=list(cmd.product_lines),
        labour_rate_fen=cmd.labour_rate_fen, qualification=_qualification(cmd.qualification),
        capacity=cmd.capacity, created_at=now, latitude=cmd.latitude, longitude=cmd.longitude)
    require_known_region(station.region, uow.regions.active_names())
    uow.aftersales.add(station)
    uow.flush()
    return stored_id(station.id)


def update_station(station_id: int, cmd: StationIn, uow: AftersalesUnitOfWork) -> None:
    require_role(uow.actor, *STAFF)
    with uow:
        station = station_or_404(uow, uow.actor, station_id)
        fields = attrs.asdict(cmd)
        fields["product_lines"] = list(cmd.product_lines)
        fields["qualification"] = _qualification(cmd.qualification)
        station.update(**fields)
        require_known_region(station.region, uow.regions.active_names())
        uow.commit()


def change_station_status(station_id: int, action: str, uow: AftersalesUnitOfWork) -> str:
    require_role(uow.actor, *STAFF)
    with uow:
        station = station_or_404(uow, uow.actor, station_id)
        move = {"suspend": station.suspend, "reactivate": station.reactivate, "terminate": station.terminate}
        if action not in move:
            raise InvalidValue("action", "操作须为 suspend、reactivate 或 terminate", code="aftersales.action_unknown")
        move[action]()
        status = station.status.value
        uow.commit()
    return status


# ---------------------------------------------------------------------------------------------
# Warranty (§4 2), §4.2.1 2))


@attrs.frozen
class PolicyIn:
    product_line: str
    months: int | None
    km: int | None
    model_code: str | None = None
    description: str | None = None


def put_policy(cmd: PolicyIn, uow: AftersalesUnitOfWork) -> int:
    """Create the policy of a product line (or of one template), or change it if it exists.
    Warranty records already started keep the dates they were given."""
    require_role(uow.actor, *STAFF)
    with uow:
        probe = WarrantyPolicy(cmd.product_line, cmd.months, cmd.km, cmd.model_code, cmd.description)
        existing = next((p for p in uow.aftersales.policies()
                         if p.product_line == probe.product_line and p.model_code == probe.model_code), None)
        if existing is None:
            return save_new(uow, uow.aftersales, probe, "warranty policy")
        existing.months, existing.km, existing.description = probe.months, probe.km, probe.description
        existing.validate()
        uow.commit()
    if existing.id is None:
        raise InvariantBroken("warranty policy has no id: not flushed")
    return existing.id


@attrs.frozen
class WarrantyIn:
    vin: str
    customer_name: str
    customer_phone: str
    sold_on: dt.date
    product_line: str | None = None  # when the vehicle record does not carry it


def record_warranty(cmd: WarrantyIn, uow: AftersalesUnitOfWork, clock: Clock) -> int:
    """Start a VIN's warranty from its delivery to the end customer, under the policy of its
    template (or product line). One record per VIN."""
    require_role(uow.actor, *STAFF)
    vin = _vin(cmd.vin)
    now = clock()
    with uow:
        vehicle = uow.aftersales.vehicle(vin)
        if vehicle is None:
            raise not_found("vehicle", "车辆")
        if uow.aftersales.warranty(vin) is not None:
            raise Conflict("该车辆已有保修记录", code="aftersales.warranty_exists", vin=vin)
        product_line = vehicle["product_line"] or cmd.product_line
        if product_line is None:
            raise InvalidValue("product_line", "车辆未记录产品线，请填写产品线", code="aftersales.product_line_required")
        policy = pick_policy(uow.aftersales.policies(), product_line, vehicle["model_code"])
        if policy is None:
            raise Conflict("该产品线尚未设置保修政策", code="aftersales.policy_missing", product_line=product_line)
        record = WarrantyRecord.start(vin=vin, product_line=product_line, model_code=vehicle["model_code"],
                                      dealer_id=vehicle["dealer_id"], customer_name=cmd.customer_name,
                                      customer_phone=cmd.customer_phone, sold_on=cmd.sold_on, policy=policy, now=now)
        return save_new(uow, uow.aftersales, record, "warranty record")


def start_warranty_on_sale(uow: AftersalesUnitOfWork, *, vin: str, customer_name: str, customer_phone: str,
                           sold_on: dt.date, now: dt.datetime) -> int | None:
    """A confirmed retail sale starts the VIN's warranty from the sale date under the policy of
    its template (or product line) — inside the caller's transaction, never committing. Nothing
    happens when the VIN already has a warranty record (recorded by hand, or by an earlier sale
    the customer exchanged), or when no policy applies (after-sales records it by hand later).
    Returns the new record's id."""
    if uow.aftersales.warranty(vin) is not None:
        return None
    vehicle = uow.aftersales.vehicle(vin)
    product_line = vehicle["product_line"] if vehicle else None
    if vehicle is None or product_line is None:
        return None
    policy = pick_policy(uow.aftersales.policies(), product_line, vehicle["model_code"])
    if policy is None:
        return None
    record = WarrantyRecord.start(vin=vin, product_line=product_line, model_code=vehicle["model_code"],
                                  dealer_id=vehicle["dealer_id"], customer_name=customer_name,
                                  customer_phone=customer_phone, sold_on=sold_on, policy=policy, now=now)
    uow.aftersales.add(record)
    uow.flush()
    return record.id


def warranty_check(uow: AftersalesUnitOfWork, vin: str, on: dt.date, odometer_km: int | None = None) -> WarrantyCheck:
    """Inside an open unit of work: is the VIN in warranty on ``on``?"""
    record = uow.aftersales.warranty(vin)
    return NO_WARRANTY if record is None else record.check(on, odometer_km)


def check_warranty(vin: str, odometer_km: int | None, uow: AftersalesUnitOfWork, clock: Clock) -> tuple[str, WarrantyCheck]:
    require_role(uow.actor, *READERS, Role.STATION)
    vin = _vin(vin)
    with uow:
        return vin, warranty_check(uow, vin, clock().astimezone(SHANGHAI).date(), odometer_km)


# ---------------------------------------------------------------------------------------------
# Service requests (§4.2.1)


@attrs.frozen
class RequestIn:
    vin: str
    customer_name: str
    customer_phone: str
    fault_category: str
    description: str
    province: str
    city: str
    location: str
    region: str | None = None
    odometer_km: int | None = None


@attrs.frozen
class RequestCreated:
    request_id: int
    number: str
    warranty: WarrantyCheck
    contract: ContractCheck = NO_CONTRACT  # the service contract (维修合同) check: a flag, never a refusal


def create_request(cmd: RequestIn, uow: AftersalesUnitOfWork, clock: Clock) -> RequestCreated:
    """Record a customer's request. The warranty and the VIN's service contracts are judged now
    (a warning when out of them, never a refusal: seed §4.2.1 2) asks to warn). A station that
    records a request itself (由服务站记录) takes it at once."""
    require_role(uow.actor, *WORKERS)
    vin = _vin(cmd.vin)
    now = clock()
    actor = uow.actor
    with uow:
        vehicle = uow.aftersales.vehicle(vin) or {}
        warranty = uow.aftersales.warranty(vin)
        check = warranty_check(uow, vin, now.astimezone(SHANGHAI).date(), cmd.odometer_km)
        try:
            fault = FaultCategory(cmd.fault_category)
        except ValueError:
            raise InvalidValue("fault_category", "故障类别不正确", code="aftersales.fault_category_unknown") from None
        contract = check_service_contracts(uow.aftersales.service_contracts_of(vin), fault_category=fault.value,
                                           on=now.astimezone(SHANGHAI).date(), odometer_km=cmd.odometer_km)
        station = None
        if actor.role is Role.STATION:
            station = station_or_404(uow, actor, actor.station_id or 0)
        if cmd.region:
            require_known_region(cmd.region, uow.regions.active_names())
        req = ServiceRequest(
            number=uow.numbers.formatted("FW", year=now.astimezone(SHANGHAI).year),
            vin=vin, customer_name=cmd.customer_name, customer_phone=cmd.customer_phone, fault_category=fault,
            description=cmd.description, province=cmd.province, city=cmd.city, location=cmd.location,
            region=cmd.region or (station.region if station else None) or vehicle.get("dealer_region"),
            product_line=vehicle.get("product_line") or (warranty.product_line if warranty else None),
            model_code=vehicle.get("model_code"), dealer_id=vehicle.get("dealer_id"), odometer_km=cmd.odometer_km,
            warranty_state=check.state, warranty_warning=check.warning, created_at=now, created_by=actor.username,
            contract_state=contract.state.value, contract_warning=contract.warning,
            service_contract_id=contract.contract_id,
        )
        if station is not None:
            if station.id is None:
                raise InvariantBroken("service station has no id: not flushed")
            req.assign(station.id, "station", now, actor.username)
            req.accept(now, actor.username)
        uow.aftersales.add(req)
        uow.flush()
        out = RequestCreated(stored_id(req.id), req.number, check, contract)
        uow.commit()
    return out


def suggest_for(request_id: int, uow: AftersalesUnitOfWork, at: GeoPoint | None = None) -> list[Suggestion]:
    """The stations suggested for a request; with ``at`` (where the vehicle stands) ranked by
    distance from it (``domain.aftersales.suggest_stations``)."""
    require_role(uow.actor, *STAFF)
    with uow:
        req = request_or_404(uow, uow.actor, request_id)
        return _suggest(uow, req, at)


def _suggest(uow: AftersalesUnitOfWork, req: ServiceRequest, at: GeoPoint | None = None) -> list[Suggestion]:
    if req.product_line is None:
        return []
    candidates = uow.aftersales.station_candidates(req.product_line)
    distances = None
    if at is not None:
        distances = {c.station_id: haversine_km(at, GeoPoint(c.latitude, c.longitude)) for c in candidates
                     if c.latitude is not None and c.longitude is not None}
    return suggest_stations(candidates, product_line=req.product_line, region=req.region, province=req.province,
                            city=req.city, exclude=frozenset(req.refused_station_ids), distances_km=distances)


def assign_request(request_id: int, station_id: int | None, uow: AftersalesUnitOfWork, clock: Clock, *,
                   technician_id: int | None = None, at: GeoPoint | None = None) -> int:
    """Dispatch to ``station_id`` (manual) or, when ``None``, to the best suggestion (auto; the
    nearest capable station with room when ``at``, where the vehicle stands, is given).
    With ``technician_id`` the request goes to that technician too (派工到人); without a
    station it goes to the technician's station. The technician checks are
    ``domain.service_network.check_dispatch``."""
    require_role(uow.actor, *STAFF)
    now = clock()
    with uow:
        req = request_or_404(uow, uow.actor, request_id)
        tech = None
        if technician_id is not None:
            tech = uow.aftersales.technician(technician_id)
            if tech is None:
                raise InvalidValue("technician_id", "技师不存在", code="aftersales.technician_unknown")
            station_id = tech.station_id if station_id is None else station_id
        if station_id is None:
            if req.state is not RequestState.OPEN:
                raise IllegalTransition("service_request", req.state.value, "assign")
            suggestions = _suggest(uow, req, at)
            if not suggestions:
                raise BusinessRuleViolation("没有可承接该请求的服务站（产品线能力或状态不符），请人工指定",
                                            code="aftersales.no_station_available")
            station_id, mode = suggestions[0].station_id, "auto"
        else:
            mode = "manual"
            station = uow.aftersales.station(station_id)
            if station is None:
                raise InvalidValue("station_id", "服务站不存在", code="aftersales.station_unknown")
            if req.product_line is not None and not station.can_serve(req.product_line):
                raise BusinessRuleViolation("该服务站未合作或不具备此产品线的维修能力",
                                            code="aftersales.station_cannot_serve", station_id=station_id)
        req.assign(station_id, mode, now, uow.actor.username)
        if tech is not None:
            check_dispatch(req, tech)
            req.dispatch_to_technician(stored_id(tech.id), tech.name, now, uow.actor.username)
        uow.commit()
    return station_id


def _station_move(request_id: int, uow: AftersalesUnitOfWork, act: Any) -> str:
    require_role(uow.actor, *WORKERS)
    with uow:
        req = request_or_404(uow, uow.actor, request_id)
        act(req)
        state = req.state.value
        uow.commit()
    return state


def accept_request(request_id: int, uow: AftersalesUnitOfWork, clock: Clock) -> str:
    return _station_move(request_id, uow, lambda r: r.accept(clock(), uow.actor.username))


def refuse_request(request_id: int, reason: str, uow: AftersalesUnitOfWork, clock: Clock) -> str:
    return _station_move(request_id, uow, lambda r: r.refuse(reason, clock(), uow.actor.username))


def resolve_request(request_id: int, resolution: str, uow: AftersalesUnitOfWork, clock: Clock) -> str:
    require_role(uow.actor, *STAFF)
    return _station_move(request_id, uow, lambda r: r.resolve_on_hotline(resolution, clock(), uow.actor.username))


def cancel_request(request_id: int, reason: str, uow: AftersalesUnitOfWork, clock: Clock) -> str:
    require_role(uow.actor, *STAFF)
    return _station_move(request_id, uow, lambda r: r.cancel(reason, clock(), uow.actor.username))


def close_request(request_id: int, uow: AftersalesUnitOfWork, clock: Clock) -> str:
    require_role(uow.actor, *STAFF)
    return _station_move(request_id, uow, lambda r: r.close(clock(), uow.actor.username))


# ---------------------------------------------------------------------------------------------
# Repair records (§4.3) and the stock they consume (§4.4)


@attrs.frozen
class PartIn:
    part_no: str
    quantity: int
    use: str


@attrs.frozen
class RepairIn:
    problem: str
    solution: str
    place: str
    started_at: dt.datetime
    finished_at: dt.datetime
    labour_centihours: int
    result: str | None = None
    parts: tuple[PartIn, ...] = ()
    operation_code: str | None = None  # a repair operation with standard hours (the risk score compares)


def record_repair(request_id: int, cmd: RepairIn, uow: AftersalesUnitOfWork, clock: Clock) -> tuple[int, str]:
    """The station records what it did; the parts leave its stock by their use (三包 / 销售 /
    正常维修) in the same transaction — short stock refuses the whole record."""
    require_role(uow.actor, *WORKERS)
    now = clock()
    with uow:
        req = request_or_404(uow, uow.actor, request_id)
        if req.state is not RequestState.ACCEPTED or req.station_id is None:
            raise IllegalTransition("service_request", req.state.value, "record_repair")
        if req.id is None:
            raise InvariantBroken("service request has no id: not flushed")
        parts = []
        for p in cmd.parts:
            try:
                use = PartUse(p.use)
            except ValueError:
                raise InvalidValue("parts.use", "配件用途须为 warranty、sale 或 repair",
                                   code="aftersales.part_use_unknown") from None
            part = catalog_part(uow, p.part_no)
            parts.append(RepairPart(part.part_no, part.name, p.quantity, use, part.standard_cost_fen,
                                    part.retail_price_fen))
        operation = None
        if cmd.operation_code is not None and cmd.operation_code.strip():
            operation = uow.aftersales.operation(cmd.operation_code)
            if operation is None:
                raise InvalidValue("operation_code", f"维修作业{cmd.operation_code}不存在",
                                   code="aftersales.operation_unknown")
        record = RepairRecord(
            number=uow.numbers.formatted("WX", year=now.astimezone(SHANGHAI).year), request_id=req.id,
            station_id=req.station_id, vin=req.vin, problem=cmd.problem, solution=cmd.solution, place=cmd.place,
            started_at=cmd.started_at, finished_at=cmd.finished_at, labour_centihours=cmd.labour_centihours,
            result=cmd.result, recorded_at=now, recorded_by=uow.actor.username,
            fault_category=req.fault_category, product_line=req.product_line, model_code=req.model_code,
            in_warranty=req.warranty_state.value == "in_warranty", parts=parts,
            operation_code=operation.code if operation else None,
        )
        req.record_repair(now, uow.actor.username)
        for used in parts:
            move_stock(uow, req.station_id, used.part_no, ISSUE_KIND[used.use], used.quantity, now, record.number)
        return save_new(uow, uow.aftersales, record, "repair record"), record.number


@attrs.frozen
class ConfirmIn:
    customer_name: str
    satisfaction: int
    comment: str | None = None


def confirm_repair(record_id: int, cmd: ConfirmIn, uow: AftersalesUnitOfWork, clock: Clock) -> str:
    """The end customer's confirmation (at the station, or by after-sales on a return call)."""
    require_role(uow.actor, *WORKERS)
    now = clock()
    with uow:
        rec = record_or_404(uow, uow.actor, record_id)
        req = uow.aftersales.request(rec.request_id)
        if req is None:
            raise InvariantBroken("repair record without its service request")
        rec.confirm(customer_name=cmd.customer_name, satisfaction=cmd.satisfaction, comment=cmd.comment, at=now)
        req.confirm(now, uow.actor.username, note=f"客户{rec.confirmed_by}确认，满意度{cmd.satisfaction}")
        state = req.state.value
        uow.commit()
    return state


def flag_major(record_id: int, agreement: str, compensation_fen: int, summary: str, uow: AftersalesUnitOfWork, clock: Clock) -> None:
    """重大维修: keep the agreement, compensation and the summary analysis with the record."""
    require_role(uow.actor, *STAFF)
    with uow:
        rec = record_or_404(uow, uow.actor, record_id)
        rec.flag_major(agreement=agreement, compensation_fen=compensation_fen, summary=summary, at=clock())
        uow.commit()


# ---------------------------------------------------------------------------------------------
# Settlement claims through the approval workflow


CLAIM_SUBJECT = "service_claim"
CLAIM_REVIEW = wf.WorkflowDefinition(
    "service_claim_review", "服务结算审核",
    (wf.StageDef("售后审核", (wf.StepDef("aftersales_review", "售后服务部审核", "role", Role.AFTER_SALES.value,
                                         due_in_days=3),)),
     wf.StageDef("财务审核", (wf.StepDef("finance_review", "财务审核", "role", Role.FINANCE.value,
                                         due_in_days=5),))),
)

# A claim scoring at or above the risk threshold is first re-checked against its named reasons.
CLAIM_REVIEW_FLAGGED = wf.WorkflowDefinition(
    "service_claim_review_flagged", "服务结算审核（风险复核）",
    (wf.StageDef("风险复核", (wf.StepDef("risk_review", "索赔风险复核", "role", Role.AFTER_SALES.value,
                                         due_in_days=3),)),
     *CLAIM_REVIEW.stages),
)


def claim_evidence(uow: AftersalesUnitOfWork, rec: RepairRecord, claim_id: int | None, config: RiskConfig,
                   now: dt.datetime) -> ClaimEvidence:
    """Gather what the risk rules look at for a claim of ``rec`` (inside an open unit of work).
    ``fitment`` is the model's parts quantities from the parts catalogue (``None`` when the model
    has none kept: the over-fitment rule then reports itself skipped)."""
    a = uow.aftersales
    if rec.id is None:
        raise InvariantBroken("repair record has no id: not flushed")
    req = a.request(rec.request_id)
    warranty = a.warranty(rec.vin)
    phone = req.customer_phone if req is not None else None
    operation = a.operation(rec.operation_code) if rec.operation_code else None
    return ClaimEvidence(
        vin=rec.vin, station_id=rec.station_id, repaired_on=rec.finished_at.astimezone(SHANGHAI).date(),
        parts=tuple(ClaimedPart(p.part_no, p.part_name, p.quantity) for p in rec.parts if p.use is PartUse.WARRANTY),
        labour_centihours=rec.labour_centihours,
        prior_claim_parts=tuple(a.prior_claim_parts(rec.vin, rec.id)),
        odometer_readings=tuple(a.odometer_readings(rec.vin)),
        warranty_starts_on=warranty.starts_on if warranty else None,
        warranty_ends_on=warranty.ends_on if warranty else None,
        customer_phone=phone, phone_vins=tuple(a.vins_of_phone(phone)) if phone else (),
        fitment=a.fitment(rec.model_code) if rec.model_code else None,
        operation_code=operation.code if operation else None,
        standard_centihours=operation.standard_centihours if operation else None,
        reused_photos=tuple(a.reused_photos(rec.id, claim_id)),
        station_stats=tuple(a.station_stats(now - dt.timedelta(days=config.outlier_window_days))),
    )


def _claim_title(station_name: str, record_no: str, risk: RiskAssessment) -> str:
    title = f"服务结算：{station_name} {record_no}"
    if risk.flagged:
        labels = "、".join(dict.fromkeys(RULE_LABELS[r.code] for r in risk.reasons))
        title += f"｜风险{risk.score}分：{labels}"
    return title if len(title) <= 200 else title[:199] + "…"


def submit_claim(record_id: int, uow: AftersalesUnitOfWork, clock: Clock) -> tuple[int, str]:
    """Claim labour (hours × the station's rate) and warranty parts (standard cost) of a
    confirmed warranty repair; one live claim per record. The claim is scored by
    ``domain.claim_risk.assess`` under the stored configuration; at or above the threshold its
    review starts with a 风险复核 step, and the reasons stay on the claim."""
    require_role(uow.actor, *WORKERS)
    now = clock()
    with uow:
        rec = record_or_404(uow, uow.actor, record_id)
        if uow.aftersales.open_claim_of_record(record_id) is not None:
            raise Conflict("该维修记录已有审核中或已批准的结算申请", code="aftersales.claim_exists")
        station = uow.aftersales.station(rec.station_id)
        if station is None:
            raise InvariantBroken("repair record without its service station")
        claim = SettlementClaim.submit(uow.numbers.formatted("JS", year=now.astimezone(SHANGHAI).year), rec,
                                       station.labour_rate_fen, now, uow.actor.username)
        uow.aftersales.add(claim)
        uow.flush()
        config = uow.aftersales.risk_config()
        risk = assess(claim_evidence(uow, rec, claim.id, config, now), config)
        claim.record_risk(risk)
        wf.start_workflow(uow, definition=CLAIM_REVIEW_FLAGGED if risk.flagged else CLAIM_REVIEW,
                          subject=wf.WorkflowSubject(CLAIM_SUBJECT, stored_id(claim.id), claim.number,
                                                     _claim_title(station.name, rec.number, risk),
                                                     region=station.region), submitted_by=uow.actor, now=now)
        out = (stored_id(claim.id), claim.number)
        uow.commit()
    return out


CLAIM_DECIDERS = (Role.AFTER_SALES, Role.FINANCE, Role.ADMIN)


def decide_claim(claim_id: int, decision: str, reason: str | None, uow: AftersalesUnitOfWork, clock: Clock) -> str:
    """Decide the caller's step of the claim's review (after-sales first, then finance)."""
    require_role(uow.actor, *CLAIM_DECIDERS)
    if decision == "reject" and (not reason or not reason.strip()):
        raise InvalidValue("reason", "驳回须填写原因", code="reason.required")
    with uow:
        state = _decide_claim(uow, claim_id, decision, reason, clock())
        uow.commit()
    return state


def decide_claim_once(claim_id: int, decision: str, reason: str | None,
                      new_uow: Callable[[], AftersalesUnitOfWork], clock: Clock, *, form_token: str,
                      precondition: Callable[[], None] | None = None) -> str:
    """``decide_claim`` once per form token of this user: a double-submitted decision decides
    once and the second post gets the first one's answer — the new state, or the same refusal
    (the client-event ledger). ``precondition`` (the form's view still current) runs only on the
    first post."""
    if decision == "reject" and (not reason or not reason.strip()):
        raise InvalidValue("reason", "驳回须填写原因", code="reason.required")

    def work(uow: Any) -> dict[str, Any]:
        if precondition is not None:
            precondition()
        return {"state": _decide_claim(uow, claim_id, decision, reason, clock())}

    answer = once_per_form(new_uow, clock, roles=CLAIM_DECIDERS, form_token=form_token, kind="claim.decide",
                           request=(claim_id, decision, (reason or "").strip()), work=work)
    return str(answer["state"])


def _decide_claim(uow: AftersalesUnitOfWork, claim_id: int, decision: str, reason: str | None,
                  now: dt.datetime) -> str:
    """Decide inside the caller's unit of work (not committed); the claim's new state."""
    if uow.aftersales.claim(claim_id) is None:
        raise not_found("settlement_claim", "结算申请")
    decided = wf.decide_subject_step(uow, subject_type=CLAIM_SUBJECT, subject_id=claim_id, decision=decision,
                                     by=uow.actor, now=now, reason=reason)
    claim = uow.aftersales.claim(claim_id)
    if claim is None:
        raise InvariantBroken("settlement claim gone inside its own transaction")
    if decided is None:
        raise Conflict(f"当前状态（{claim.state.value}）不允许执行此操作：{decision}",
                       code="state.illegal_transition", current_state=claim.state.value)
    return str(claim.state.value)


def _on_claim_outcome(uow: AftersalesUnitOfWork, workflow: Workflow, outcome: wf.WorkflowOutcome) -> None:
    claim = uow.aftersales.claim(outcome.subject_id)
    if claim is None:
        raise NotFound("结算申请不存在", code="settlement_claim.not_found")
    if outcome.status is wf.WorkflowStatus.APPROVED:
        claim.approve(outcome.at)
        rec = uow.aftersales.record(claim.record_id)
        req = uow.aftersales.request(rec.request_id) if rec else None
        if req is not None and req.state is RequestState.CONFIRMED:
            req.close(outcome.at, outcome.decided_by)
    elif outcome.status is wf.WorkflowStatus.REJECTED:
        claim.reject(outcome.at, outcome.summary or "未说明原因")
    else:
        claim.withdraw(outcome.at, outcome.summary or None)


# The settlement claim's entry in the workflow handler table (the composition root builds the table).
CLAIM_REVIEW_HANDLERS = wf.SubjectHandlers(CLAIM_SUBJECT, _on_claim_outcome)


# ---------------------------------------------------------------------------------------------
# Parts catalogue and station stock (§4.4)


@attrs.frozen
class PartCatalogIn:
    part_no: str
    name: str
    standard_cost_fen: int
    retail_price_fen: int
    unit: str = "件"


def put_part(cmd: PartCatalogIn, uow: AftersalesUnitOfWork) -> str:
    require_role(uow.actor, *STAFF)
    with uow:
        probe = ServicePart(cmd.part_no, cmd.name, cmd.standard_cost_fen, cmd.retail_price_fen, cmd.unit)
        existing = uow.aftersales.part(probe.part_no)
        if existing is None:
            uow.aftersales.add(probe)
        else:
            existing.name, existing.standard_cost_fen, existing.retail_price_fen, existing.unit = (
                probe.name, probe.standard_cost_fen, probe.retail_price_fen, probe.unit)
        uow.commit()
    return probe.part_no


@attrs.frozen
class StockIn:
    station_id: int
    part_no: str
    kind: str  # receipt / issue_warranty / issue_sale / issue_repair / stocktake
    quantity: int
    reference: str | None = None
    note: str | None = None


_BOOKABLE = {MovementKind.RECEIPT, MovementKind.ISSUE_WARRANTY, MovementKind.ISSUE_SALE, MovementKind.ISSUE_REPAIR,
             MovementKind.STOCKTAKE}


def book_stock(cmd: StockIn, uow: AftersalesUnitOfWork, clock: Clock) -> int:
    """Receipt, issue by use, or stocktake (the counted quantity) at one station; returns the
    new balance. A station books only its own stock."""
    require_role(uow.actor, *WORKERS)
    try:
        kind = MovementKind(cmd.kind)
    except ValueError:
        kind = None
    if kind is None or kind not in _BOOKABLE:
        raise InvalidValue("kind", "类型须为 receipt、issue_warranty、issue_sale、issue_repair 或 stocktake",
                           code="aftersales.movement_kind_unknown")
    with uow:
        station = station_or_404(uow, uow.actor, cmd.station_id)
        if station.id is None:
            raise InvariantBroken("service station has no id: not flushed")
        part = catalog_part(uow, cmd.part_no)
        balance = move_stock(uow, station.id, part.part_no, kind, cmd.quantity, clock(), cmd.reference, cmd.note)
        uow.commit()
    return balance


def transfer_stock(from_station_id: int, to_station_id: int, part_no: str, quantity: int, note: str | None,
                   uow: PartsSupplyUnitOfWork, clock: Clock) -> tuple[int, int]:
    """调拨 in one step, for after-sales staff: the two-step transfer of ``application.transfers``
    shipped and received in one transaction (so it has its ``DB`` number and both movements).
    Returns the sender's balance left and the receiver's balance after."""
    require_role(uow.actor, *STAFF)
    now = clock()
    with uow:
        station_or_404(uow, uow.actor, from_station_id)
        if from_station_id != to_station_id and uow.aftersales.station(to_station_id) is not None:
            part = catalog_part(uow, part_no)
            for sid in sorted((from_station_id, to_station_id)):  # a fixed lock order: no deadlock between
                uow.aftersales.lock_stock(sid, part.part_no, now)  # opposite transfers
        transfer, left = transfers.ship(uow, uow.actor, from_station_id, to_station_id, [(part_no, quantity)],
                                        now, note)
        arrived = transfers.receive(uow, uow.actor, transfer, now)
        uow.commit()
    (moved,) = left
    return left[moved], arrived[moved]


# ---------------------------------------------------------------------------------------------
# Claim risk configuration and repair operations (admin)


@attrs.frozen
class OperationIn:
    code: str
    name: str
    standard_centihours: int


def put_operation(cmd: OperationIn, uow: AftersalesUnitOfWork) -> str:
    """Create a repair operation with its standard hours, or change the one with that code."""
    require_role(uow.actor, *STAFF)
    with uow:
        probe = RepairOperation(cmd.code, cmd.name, cmd.standard_centihours)
        existing = uow.aftersales.operation(probe.code)
        if existing is None:
            uow.aftersales.add(probe)
        else:
            existing.name, existing.standard_centihours = probe.name, probe.standard_centihours
            existing.validate()
        uow.commit()
    return probe.code


def risk_config(uow: AftersalesUnitOfWork) -> RiskConfig:
    require_role(uow.actor, *READERS)
    with uow:
        return uow.aftersales.risk_config()


def put_risk_config(data: dict[str, Any], uow: AftersalesUnitOfWork, clock: Clock) -> RiskConfig:
    """Replace the claim risk configuration (what ``data`` leaves out takes the default; weights
    given are merged over the default weights). Claims already scored keep their score."""
    require_role(uow.actor, *STAFF)
    config = RiskConfig.from_dict(data)
    with uow:
        uow.aftersales.save_risk_config(config, clock(), uow.actor.username)
        uow.commit()
    return config


def claim_state_label(state: str) -> str:
    return ClaimState(state).label
