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
from dealercrm.domain.media import Media
from dealercrm.domain.service_network import MaintenancePlan, Technician


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


_TABLES = {ServiceStation: "stations", WarrantyPolicy: "policies", WarrantyRecord: "warranties",
           ServiceRequest: "requests", RepairRecord: "records", SettlementClaim: "claims", ServicePart: "parts",
           Technician: "technicians", MaintenancePlan: "plans", Media: "media"}


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
                                 load.get(s.id, 0), s.status)  # type: ignore[arg-type]
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
