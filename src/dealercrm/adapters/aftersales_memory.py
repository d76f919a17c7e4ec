"""In-memory twin of the after-sales repository (``uow.aftersales`` on ``MemoryUnitOfWork``).

Same semantics as ``SqlAlchemyAftersalesRepository`` for one process: state lives in the memory
unit of work's working copy (nothing visible before ``commit()``, a rollback discards it);
``lock_stock`` needs no lock and creates a zero balance on first use, like the SQL adapter.
Vehicles are not kept by the memory unit of work: tests register the few they need with
``put_vehicle``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from dealercrm.adapters.memory_tables import MemoryWorkspace
from dealercrm.domain.aftersales import (
    OPEN_AT_STATION,
    ClaimState,
    PartUse,
    RepairRecord,
    ServicePart,
    ServiceRequest,
    ServiceStation,
    SettlementClaim,
    StationCandidate,
    StationStatus,
    StockLine,
    StockMovement,
    WarrantyPolicy,
    WarrantyRecord,
)
from dealercrm.domain.claim_risk import (
    OdometerReading,
    PriorClaimPart,
    RepairOperation,
    ReusedPhoto,
    RiskConfig,
    StationStat,
)
from dealercrm.domain.customers import ServiceContract
from dealercrm.domain.media import Media, MediaKind, OwnerType
from dealercrm.domain.service_network import MaintenancePlan, Technician
from dealercrm.domain.values import SHANGHAI


@attrs.define
class AftersalesMemoryState:
    stations: dict[int, ServiceStation] = attrs.field(factory=dict)
    policies: dict[int, WarrantyPolicy] = attrs.field(factory=dict)
    warranties: dict[int, WarrantyRecord] = attrs.field(factory=dict)
    requests: dict[int, ServiceRequest] = attrs.field(factory=dict)
    records: dict[int, RepairRecord] = attrs.field(factory=dict)
    claims: dict[int, SettlementClaim] = attrs.field(factory=dict)
    parts: dict[int, ServicePart] = attrs.field(factory=dict)
    stock: dict[tuple[int, str], StockLine] = attrs.field(factory=dict)
    movements: list[StockMovement] = attrs.field(factory=list)
    vehicles: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    technicians: dict[int, Technician] = attrs.field(factory=dict)
    plans: dict[int, MaintenancePlan] = attrs.field(factory=dict)
    media: dict[int, Media] = attrs.field(factory=dict)
    operations: dict[int, RepairOperation] = attrs.field(factory=dict)
    risk_config: RiskConfig | None = None
    contracts: dict[int, ServiceContract] = attrs.field(factory=dict)  # 维修合同 (domain.customers)
    fitment: dict[str, dict[str, int]] = attrs.field(factory=dict)  # model code → part_no → quantity carried


_TABLES = {ServiceStation: "stations", WarrantyPolicy: "policies", WarrantyRecord: "warranties",
           ServiceRequest: "requests", RepairRecord: "records", SettlementClaim: "claims", ServicePart: "parts",
           Technician: "technicians", MaintenancePlan: "plans", Media: "media", RepairOperation: "operations",
           ServiceContract: "contracts"}


class MemoryAftersalesRepository:
    def __init__(self, uow: MemoryWorkspace) -> None:
        self.uow = uow

    @property
    def s(self) -> AftersalesMemoryState:
        working = self.uow.working
        if not hasattr(working, "aftersales"):
            working.aftersales = AftersalesMemoryState()
        return working.aftersales  # type: ignore[no-any-return]

    def add(self, obj: object) -> None:
        if isinstance(obj, StockMovement):
            self.add_movement(obj)
            return
        if getattr(obj, "id", None) is None:
            obj.id = next(self.uow.working.ids)  # type: ignore[attr-defined]
        getattr(self.s, _TABLES[type(obj)])[obj.id] = obj  # type: ignore[attr-defined]

    def flush(self) -> None:
        for table in ("requests", "records"):
            for obj in getattr(self.s, table).values():
                for child in getattr(obj, "history", []) + getattr(obj, "parts", []):
                    if child.id is None:
                        child.id = next(self.uow.working.ids)

    def put_vehicle(self, vin: str, *, dealer_id: int | None = None, product_line: str | None = None,
                    model_code: str | None = None, dealer_region: str | None = None, **more: Any) -> None:
        self.s.vehicles[vin] = dict(dealer_id=dealer_id, product_line=product_line, model_code=model_code,
                                    dealer_region=dealer_region, order_no=more.get("order_no"),
                                    contract_no=more.get("contract_no"), state=more.get("state"))

    # stations
    def station(self, station_id: int) -> ServiceStation | None:
        return self.s.stations.get(station_id)

    def station_candidates(self, product_line: str) -> list[StationCandidate]:
        load: dict[int, int] = {}
        for r in self.s.requests.values():
            if r.station_id is not None and r.state in OPEN_AT_STATION:
                load[r.station_id] = load.get(r.station_id, 0) + 1
        return [StationCandidate(s.id, s.name, s.region, s.province, s.city, tuple(s.product_lines), s.capacity,
                                 load.get(s.id, 0), s.status, s.latitude, s.longitude)  # type: ignore[arg-type]
                for s in sorted(self.s.stations.values(), key=lambda x: x.id or 0)
                if s.status is StationStatus.ACTIVE and product_line in s.product_lines]

    # warranty
    def policies(self) -> list[WarrantyPolicy]:
        return sorted(self.s.policies.values(), key=lambda p: p.id or 0)

    def policy(self, policy_id: int) -> WarrantyPolicy | None:
        return self.s.policies.get(policy_id)

    def warranty(self, vin: str) -> WarrantyRecord | None:
        return next((w for w in self.s.warranties.values() if w.vin == vin), None)

    def vehicle(self, vin: str) -> dict[str, Any] | None:
        v = self.s.vehicles.get(vin)
        return dict(v) if v is not None else None

    # requests, records, claims
    def request(self, request_id: int) -> ServiceRequest | None:
        return self.s.requests.get(request_id)

    def record(self, record_id: int) -> RepairRecord | None:
        return self.s.records.get(record_id)

    def record_of_request(self, request_id: int) -> RepairRecord | None:
        return next((r for r in self.s.records.values() if r.request_id == request_id), None)

    def claim(self, claim_id: int) -> SettlementClaim | None:
        return self.s.claims.get(claim_id)

    def open_claim_of_record(self, record_id: int) -> SettlementClaim | None:
        return next((c for c in self.s.claims.values() if c.record_id == record_id
                     and c.state in (ClaimState.IN_REVIEW, ClaimState.APPROVED)), None)

    # parts and stock
    def part(self, part_no: str) -> ServicePart | None:
        return next((p for p in self.s.parts.values() if p.part_no == part_no), None)

    def lock_stock(self, station_id: int, part_no: str, now: dt.datetime) -> StockLine:
        line = self.s.stock.get((station_id, part_no))
        if line is None:
            line = self.s.stock[(station_id, part_no)] = StockLine(station_id, part_no, 0, now)
        return line

    def add_movement(self, movement: StockMovement) -> None:
        if movement.id is None:
            movement.id = next(self.uow.working.ids)
        self.s.movements.append(movement)

    # technicians, maintenance plans, media
    def technician(self, technician_id: int) -> Technician | None:
        return self.s.technicians.get(technician_id)

    def plan(self, plan_id: int) -> MaintenancePlan | None:
        return self.s.plans.get(plan_id)

    def plans_to_check(self, due_by: dt.date) -> list[tuple[MaintenancePlan, int | None]]:
        odometers: dict[str, int] = {}
        for r in self.s.requests.values():
            if r.odometer_km is not None:
                odometers[r.vin] = max(odometers.get(r.vin, 0), r.odometer_km)
        return [(p, odometers.get(p.vin)) for p in sorted(self.s.plans.values(), key=lambda x: x.id or 0)
                if p.active and ((p.next_due_on is not None and p.next_due_on <= due_by) or p.interval_km is not None)]

    def media_count(self, owner_type: str, owner_id: int) -> int:
        return sum(1 for m in self.s.media.values() if m.owner_type == owner_type and m.owner_id == owner_id)

    def fitment(self, model_code: str) -> dict[str, int] | None:
        return dict(self.s.fitment[model_code]) if model_code in self.s.fitment else None

    def service_contracts_of(self, vin: str) -> list[ServiceContract]:
        return sorted((c for c in self.s.contracts.values() if c.vin == vin), key=lambda c: c.id or 0)

    # claim risk (issue 18 §1)
    def operation(self, code: str) -> RepairOperation | None:
        return next((o for o in self.s.operations.values() if o.code == code.strip().upper()), None)

    def risk_config(self) -> RiskConfig:
        return self.s.risk_config or RiskConfig()

    def save_risk_config(self, config: RiskConfig, at: dt.datetime, by: str) -> None:
        self.s.risk_config = config

    def prior_claim_parts(self, vin: str, exclude_record_id: int) -> list[PriorClaimPart]:
        out = []
        for c in sorted(self.s.claims.values(), key=lambda c: c.id or 0):
            rec = self.s.records.get(c.record_id)
            if rec is None or rec.vin != vin or rec.id == exclude_record_id or c.state not in (
                    ClaimState.IN_REVIEW, ClaimState.APPROVED):
                continue
            out += [PriorClaimPart(c.number, p.part_no, rec.finished_at.astimezone(SHANGHAI).date())
                    for p in rec.parts if p.use is PartUse.WARRANTY]
        return out

    def odometer_readings(self, vin: str) -> list[OdometerReading]:
        return [OdometerReading(r.number, r.created_at.astimezone(SHANGHAI).date(), r.odometer_km)
                for r in sorted(self.s.requests.values(), key=lambda r: r.id or 0)
                if r.vin == vin and r.odometer_km is not None]

    def vins_of_phone(self, phone: str) -> list[str]:
        return sorted({r.vin for r in self.s.requests.values() if r.customer_phone == phone}
                      | {w.vin for w in self.s.warranties.values() if w.customer_phone == phone})

    def reused_photos(self, record_id: int, claim_id: int | None) -> list[ReusedPhoto]:
        mine = {(OwnerType.REPAIR_RECORD, record_id), (OwnerType.CLAIM, claim_id)}
        hashes = {m.sha256 for m in self.s.media.values()
                  if (m.owner_type, m.owner_id) in mine and m.kind is MediaKind.PHOTO and m.sha256}
        out = []
        for m in sorted(self.s.media.values(), key=lambda m: m.id or 0):
            if m.sha256 not in hashes or (m.owner_type, m.owner_id) in mine:
                continue
            if m.owner_type is OwnerType.REPAIR_RECORD and m.owner_id in self.s.records:
                out.append(ReusedPhoto(m.sha256, self.s.records[m.owner_id].number))
            elif m.owner_type is OwnerType.CLAIM and m.owner_id in self.s.claims:
                out.append(ReusedPhoto(m.sha256, self.s.claims[m.owner_id].number))
        return out

    def station_stats(self, since: dt.datetime) -> list[StationStat]:
        records: dict[int, int] = {}
        for r in self.s.records.values():
            if r.finished_at >= since:
                records[r.station_id] = records.get(r.station_id, 0) + 1
        claims: dict[int, tuple[int, int]] = {}
        for c in self.s.claims.values():
            if c.submitted_at >= since and c.state is not ClaimState.WITHDRAWN:
                n, total = claims.get(c.station_id, (0, 0))
                claims[c.station_id] = (n + 1, total + c.total_fen)
        return [StationStat(sid, records.get(sid, 0), *claims.get(sid, (0, 0)))
                for sid in sorted(set(records) | set(claims))]
