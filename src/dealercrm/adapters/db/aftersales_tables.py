"""Tables, mappers and the repository of the after-sales context.

A station's stock of one part is one row (``service_stock``) with a CHECK that the quantity is
never negative; every change to it takes the row ``FOR UPDATE`` first (SQLite write
transactions already began IMMEDIATE) and appends a movement to ``service_stock_movements`` in
the same transaction, so the ledger always sums to the balance.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, relationship

from dealercrm.adapters.db.base import IdType, mapper_registry, metadata
from dealercrm.adapters.db.types import StrEnumType, UtcDateTime
from dealercrm.domain.customers import ServiceContract
from dealercrm.domain.aftersales import (
    OPEN_AT_STATION,
    ClaimState,
    FaultCategory,
    MovementKind,
    PartUse,
    QualificationLevel,
    RepairPart,
    RepairRecord,
    RequestEvent,
    RequestState,
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
    WarrantyState,
)
from dealercrm.domain.claim_risk import (
    OdometerReading,
    PriorClaimPart,
    RepairOperation,
    ReusedPhoto,
    RiskConfig,
    StationStat,
)
from dealercrm.domain.media import Media, MediaKind, OwnerType
from dealercrm.domain.values import SHANGHAI
from dealercrm.domain.service_network import MaintenancePlan, Technician, TechnicianStatus

Fen = BigInteger

service_stations = Table(
    "service_stations",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("code", String(20), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("uscc", String(18), nullable=False, unique=True),
    Column("region", String(8), nullable=False),
    Column("province", String(60), nullable=False),
    Column("city", String(60), nullable=False),
    Column("address", String(200), nullable=False),
    Column("contact_name", String(60), nullable=False),
    Column("contact_phone", String(30), nullable=False),
    Column("product_lines", JSON, nullable=False),
    Column("labour_rate_fen", Fen, nullable=False),
    Column("qualification", StrEnumType(QualificationLevel, 10), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("status", StrEnumType(StationStatus, 12), nullable=False),
    Column("created_at", UtcDateTime),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("version", Integer, nullable=False),
    CheckConstraint("labour_rate_fen > 0", name="rate_positive"),
    Index("ix_service_stations_region_status", "region", "status"),
    Index("ix_service_stations_latitude_longitude", "latitude", "longitude"),
)

service_warranty_policies = Table(
    "service_warranty_policies",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("product_line", String(20), nullable=False),
    Column("model_code", String(40)),
    Column("months", Integer),
    Column("km", Integer),
    Column("description", String(500)),
    Column("version", Integer, nullable=False),
    UniqueConstraint("product_line", "model_code"),
    CheckConstraint("months IS NOT NULL OR km IS NOT NULL", name="has_limit"),
)

service_warranties = Table(
    "service_warranties",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("vin", String(17), nullable=False, unique=True),
    Column("product_line", String(20), nullable=False),
    Column("model_code", String(40)),
    Column("dealer_id", IdType, ForeignKey("dealers.id")),
    Column("policy_id", IdType, ForeignKey("service_warranty_policies.id")),
    Column("customer_name", String(100), nullable=False),
    Column("customer_phone", String(30), nullable=False, index=True),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date),
    Column("km_limit", Integer),
    Column("recorded_at", UtcDateTime),
    Column("version", Integer, nullable=False),
)

service_requests = Table(
    "service_requests",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("number", String(30), nullable=False, unique=True),
    Column("vin", String(17), nullable=False, index=True),
    Column("customer_name", String(100), nullable=False),
    Column("customer_phone", String(30), nullable=False, index=True),
    Column("fault_category", StrEnumType(FaultCategory, 20), nullable=False),
    Column("description", Text, nullable=False),
    Column("province", String(60), nullable=False),
    Column("city", String(60), nullable=False),
    Column("location", String(200), nullable=False),
    Column("region", String(8)),
    Column("product_line", String(20)),
    Column("model_code", String(40)),
    Column("dealer_id", IdType, ForeignKey("dealers.id")),
    Column("odometer_km", Integer),
    Column("warranty_state", StrEnumType(WarrantyState, 12), nullable=False),
    Column("warranty_warning", String(500)),
    Column("state", StrEnumType(RequestState, 12), nullable=False),
    Column("station_id", IdType, ForeignKey("service_stations.id")),
    Column("assignment_mode", String(10)),
    Column("assigned_at", UtcDateTime),
    Column("accepted_at", UtcDateTime),
    Column("refused_station_ids", JSON, nullable=False),
    Column("technician_id", IdType, ForeignKey("service_technicians.id")),
    Column("contract_state", String(12), nullable=False, server_default="none"),
    Column("contract_warning", String(500)),
    Column("service_contract_id", IdType),  # service_contracts.id (adapters/db/customers_tables.py)
    Column("resolution", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(60), nullable=False),
    Column("closed_at", UtcDateTime),
    Column("version", Integer, nullable=False),
    Index("ix_service_requests_station_id_state", "station_id", "state"),
    Index("ix_service_requests_dealer_id_id", "dealer_id", "id"),
)

service_request_events = Table(
    "service_request_events",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("request_id", IdType, ForeignKey("service_requests.id"), nullable=False, index=True),
    Column("action", String(20), nullable=False),
    Column("from_state", StrEnumType(RequestState, 12)),
    Column("to_state", StrEnumType(RequestState, 12), nullable=False),
    Column("station_id", IdType),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(60), nullable=False),
    Column("note", String(2000)),
)

service_parts = Table(
    "service_parts",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("part_no", String(40), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("unit", String(10), nullable=False),
    Column("standard_cost_fen", Fen, nullable=False),
    Column("retail_price_fen", Fen, nullable=False),
    Column("version", Integer, nullable=False),
    CheckConstraint("standard_cost_fen >= 0 AND retail_price_fen >= 0", name="amounts"),
)

service_repair_records = Table(
    "service_repair_records",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("number", String(30), nullable=False, unique=True),
    Column("request_id", IdType, ForeignKey("service_requests.id"), nullable=False, unique=True),
    Column("station_id", IdType, ForeignKey("service_stations.id"), nullable=False),
    Column("vin", String(17), nullable=False, index=True),
    Column("fault_category", StrEnumType(FaultCategory, 20), nullable=False),
    Column("product_line", String(20)),
    Column("model_code", String(40)),
    Column("in_warranty", Boolean, nullable=False),
    Column("problem", Text, nullable=False),
    Column("solution", Text, nullable=False),
    Column("place", String(200), nullable=False),
    Column("result", String(500)),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=False),
    Column("labour_centihours", Integer, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("recorded_by", String(60), nullable=False),
    Column("confirmed_at", UtcDateTime),
    Column("confirmed_by", String(100)),
    Column("satisfaction", Integer),
    Column("customer_comment", String(500)),
    Column("is_major", Boolean, nullable=False),
    Column("major_agreement", Text),
    Column("major_compensation_fen", Fen),
    Column("major_summary", Text),
    Column("major_flagged_at", UtcDateTime),
    Column("operation_code", String(20)),
    Column("version", Integer, nullable=False),
    CheckConstraint("labour_centihours > 0", name="labour_positive"),
    Index("ix_service_repair_records_station_id_finished_at", "station_id", "finished_at"),
    # the satisfaction statistics: the customers' scores of records confirmed in a period, per dealer
    # (through the request), read from the index alone (60,000 records: 120-150 → 36-49 ms a statement)
    Index("ix_service_repair_records_confirmed_at_request_id_satisfaction", "confirmed_at", "request_id",
          "satisfaction"),
)

service_repair_parts = Table(
    "service_repair_parts",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("record_id", IdType, ForeignKey("service_repair_records.id"), nullable=False, index=True),
    Column("part_no", String(40), nullable=False, index=True),
    Column("part_name", String(200), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("use", StrEnumType(PartUse, 10), nullable=False),
    Column("unit_cost_fen", Fen, nullable=False),
    Column("unit_price_fen", Fen, nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
)

service_claims = Table(
    "service_claims",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("number", String(30), nullable=False, unique=True),
    Column("record_id", IdType, ForeignKey("service_repair_records.id"), nullable=False, index=True),
    Column("station_id", IdType, ForeignKey("service_stations.id"), nullable=False),
    Column("labour_centihours", Integer, nullable=False),
    Column("labour_rate_fen", Fen, nullable=False),
    Column("labour_fen", Fen, nullable=False),
    Column("parts_fen", Fen, nullable=False),
    Column("total_fen", Fen, nullable=False),
    Column("state", StrEnumType(ClaimState, 12), nullable=False),
    Column("submitted_at", UtcDateTime, nullable=False),
    Column("submitted_by", String(60), nullable=False),
    Column("decided_at", UtcDateTime),
    Column("settlement_month", String(7)),
    Column("decision_note", String(500)),
    Column("risk_score", Integer),
    Column("risk_flagged", Boolean, nullable=False),
    Column("risk_reasons", JSON, nullable=False),
    Column("risk_skipped", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    CheckConstraint("labour_fen >= 0 AND parts_fen >= 0 AND total_fen = labour_fen + parts_fen", name="amounts"),
    Index("ix_service_claims_station_id_state", "station_id", "state"),
    Index("ix_service_claims_settlement_month_station_id", "settlement_month", "station_id"),
)

service_stock = Table(
    "service_stock",
    metadata,
    Column("station_id", IdType, ForeignKey("service_stations.id"), nullable=False),
    Column("part_no", String(40), ForeignKey("service_parts.part_no"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("updated_at", UtcDateTime),
    Column("version", Integer, nullable=False),
    PrimaryKeyConstraint("station_id", "part_no"),
    CheckConstraint("quantity >= 0", name="not_negative"),
)

service_stock_movements = Table(
    "service_stock_movements",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("station_id", IdType, ForeignKey("service_stations.id"), nullable=False),
    Column("part_no", String(40), nullable=False),
    Column("kind", StrEnumType(MovementKind, 16), nullable=False),
    Column("delta", Integer, nullable=False),
    Column("balance_after", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(60), nullable=False),
    Column("reference", String(40)),
    Column("note", String(500)),
    CheckConstraint("balance_after >= 0", name="balance_not_negative"),
    Index("ix_service_stock_movements_station_id_part_no_id", "station_id", "part_no", "id"),
    # the parts-stock statistics' "issued since" (slow movers): which parts of which station went
    # out after a day, read from the index alone (400,000 moves: 0.76 → 0.17 s)
    Index("ix_service_stock_movements_station_id_part_no_kind_at", "station_id", "part_no", "kind", "at"),
)

service_technicians = Table(
    "service_technicians",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("station_id", IdType, ForeignKey("service_stations.id"), nullable=False),
    Column("name", String(60), nullable=False),
    Column("phone", String(30), nullable=False),
    Column("skills", JSON, nullable=False),
    Column("status", StrEnumType(TechnicianStatus, 12), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime),
    Column("version", Integer, nullable=False),
    Index("ix_service_technicians_station_id_active", "station_id", "active"),
)

service_maintenance_plans = Table(
    "service_maintenance_plans",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("vin", String(17), nullable=False, index=True),
    Column("title", String(100), nullable=False),
    Column("interval_days", Integer),
    Column("interval_km", Integer),
    Column("last_done_on", Date, nullable=False),
    Column("last_done_km", Integer),
    Column("next_due_on", Date),
    Column("next_due_km", Integer),
    Column("remind_days_ahead", Integer, nullable=False),
    Column("dealer_id", IdType, ForeignKey("dealers.id")),
    Column("station_id", IdType, ForeignKey("service_stations.id")),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(60), nullable=False),
    Column("version", Integer, nullable=False),
    CheckConstraint("interval_days IS NOT NULL OR interval_km IS NOT NULL", name="has_interval"),
    Index("ix_service_maintenance_plans_active_next_due_on", "active", "next_due_on"),
)

service_media = Table(
    "service_media",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("owner_type", StrEnumType(OwnerType, 16), nullable=False),
    Column("owner_id", IdType, nullable=False),
    Column("kind", StrEnumType(MediaKind, 8), nullable=False),
    Column("sha256", String(64), index=True),
    Column("content_type", String(40)),
    Column("size_bytes", BigInteger, nullable=False),
    Column("width", Integer),
    Column("height", Integer),
    Column("duration_ms", BigInteger),  # a video's running time (mvhd / WebM Info), when its header gives it
    Column("thumbnail_sha256", String(64)),
    Column("caption", String(200)),
    Column("legacy_ref", String(500)),
    Column("uploaded_at", UtcDateTime, nullable=False),
    Column("uploaded_by", String(60), nullable=False),
    CheckConstraint("kind = 'link' OR sha256 IS NOT NULL", name="has_content"),
    Index("ix_service_media_owner_type_owner_id", "owner_type", "owner_id"),
)

service_repair_operations = Table(
    "service_repair_operations",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("code", String(20), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("standard_centihours", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    CheckConstraint("standard_centihours > 0", name="standard_positive"),
)

# One row (id 1): the claim risk configuration as ``RiskConfig.as_dict()``; no row means the defaults.
service_risk_config = Table(
    "service_risk_config",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("config", JSON, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(60), nullable=False),
)


def start_aftersales_mappers() -> None:
    m = mapper_registry.map_imperatively
    m(ServiceStation, service_stations, version_id_col=service_stations.c.version)
    m(WarrantyPolicy, service_warranty_policies, version_id_col=service_warranty_policies.c.version)
    m(WarrantyRecord, service_warranties, version_id_col=service_warranties.c.version)
    m(RequestEvent, service_request_events)
    m(ServiceRequest, service_requests, version_id_col=service_requests.c.version, properties={
        "history": relationship(RequestEvent, order_by=service_request_events.c.id, cascade="all, delete-orphan",
                                lazy="selectin"),
    })
    m(ServicePart, service_parts, version_id_col=service_parts.c.version)
    m(RepairPart, service_repair_parts)
    m(RepairRecord, service_repair_records, version_id_col=service_repair_records.c.version, properties={
        "parts": relationship(RepairPart, order_by=service_repair_parts.c.id, cascade="all, delete-orphan",
                              lazy="selectin"),
    })
    m(SettlementClaim, service_claims, version_id_col=service_claims.c.version)
    m(StockLine, service_stock, version_id_col=service_stock.c.version)
    m(StockMovement, service_stock_movements)
    m(Technician, service_technicians, version_id_col=service_technicians.c.version)
    m(MaintenancePlan, service_maintenance_plans, version_id_col=service_maintenance_plans.c.version)
    m(Media, service_media)
    m(RepairOperation, service_repair_operations, version_id_col=service_repair_operations.c.version)



def _insert_for(session: Session):  # type: ignore[no-untyped-def]
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


class SqlAlchemyAftersalesRepository:
    """Loads and stores the after-sales aggregates; never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, obj: object) -> None:
        self.session.add(obj)

    def flush(self) -> None:
        self.session.flush()

    # stations
    def station(self, station_id: int) -> ServiceStation | None:
        return self.session.get(ServiceStation, station_id)

    def station_candidates(self, product_line: str) -> list[StationCandidate]:
        s, r = service_stations.c, service_requests.c
        load = (select(r.station_id, func.count().label("n"))
                .where(r.state.in_([st.value for st in OPEN_AT_STATION]), r.station_id.is_not(None))
                .group_by(r.station_id).subquery())
        rows = self.session.execute(
            select(s.id, s.name, s.region, s.province, s.city, s.product_lines, s.capacity, s.status,
                   func.coalesce(load.c.n, 0), s.latitude, s.longitude)
            .outerjoin(load, load.c.station_id == s.id)
            .where(s.status == StationStatus.ACTIVE.value).order_by(s.id)
        )
        return [StationCandidate(x[0], x[1], x[2], x[3], x[4], tuple(x[5] or ()), x[6], int(x[8]),
                                 StationStatus(x[7]), x[9], x[10])
                for x in rows if product_line in (x[5] or ())]

    # warranty
    def policies(self) -> list[WarrantyPolicy]:
        return list(self.session.scalars(select(WarrantyPolicy).order_by(service_warranty_policies.c.id)))

    def policy(self, policy_id: int) -> WarrantyPolicy | None:
        return self.session.get(WarrantyPolicy, policy_id)

    def warranty(self, vin: str) -> WarrantyRecord | None:
        return self.session.scalars(select(WarrantyRecord).where(service_warranties.c.vin == vin)).first()

    def fitment(self, model_code: str) -> dict[str, int] | None:
        from dealercrm.adapters.db.parts_catalog_tables import fitment_of

        return fitment_of(self.session, model_code)

    def service_contracts_of(self, vin: str) -> list[ServiceContract]:
        from dealercrm.adapters.db.customers_tables import contracts_of_vin

        return contracts_of_vin(self.session, vin)

    def vehicle(self, vin: str) -> dict[str, Any] | None:
        from dealercrm.adapters.db.gate_tables import vehicles
        from dealercrm.adapters.db.orm import dealers

        v = vehicles.c
        row = self.session.execute(
            select(v.dealer_id, v.product_line, v.model_code, v.order_no, v.contract_no, v.state,
                   dealers.c.region.label("dealer_region"))
            .outerjoin(dealers, dealers.c.id == v.dealer_id)
            .where(v.vin == vin)
        ).mappings().first()
        return dict(row) if row else None

    # requests, records, claims
    def request(self, request_id: int) -> ServiceRequest | None:
        return self.session.get(ServiceRequest, request_id)

    def record(self, record_id: int) -> RepairRecord | None:
        return self.session.get(RepairRecord, record_id)

    def record_of_request(self, request_id: int) -> RepairRecord | None:
        return self.session.scalars(
            select(RepairRecord).where(service_repair_records.c.request_id == request_id)).first()

    def claim(self, claim_id: int) -> SettlementClaim | None:
        return self.session.get(SettlementClaim, claim_id)

    def open_claim_of_record(self, record_id: int) -> SettlementClaim | None:
        c = service_claims.c
        return self.session.scalars(select(SettlementClaim).where(
            c.record_id == record_id, c.state.in_([ClaimState.IN_REVIEW.value, ClaimState.APPROVED.value]))).first()

    # parts and stock
    def part(self, part_no: str) -> ServicePart | None:
        return self.session.scalars(select(ServicePart).where(service_parts.c.part_no == part_no)).first()

    def lock_stock(self, station_id: int, part_no: str, now: dt.datetime) -> StockLine:
        """The stock row of a part at a station, locked for this transaction (created at 0)."""
        q = (select(StockLine).where(service_stock.c.station_id == station_id, service_stock.c.part_no == part_no)
             .with_for_update().execution_options(populate_existing=True))
        line = self.session.scalars(q).first()
        if line is None:
            self.session.execute(
                _insert_for(self.session)(service_stock)
                .values(station_id=station_id, part_no=part_no, quantity=0, updated_at=now, version=1)
                .on_conflict_do_nothing(index_elements=["station_id", "part_no"])
            )
            line = self.session.scalars(q).one()
        return line

    def add_movement(self, movement: StockMovement) -> None:
        self.session.add(movement)

    # technicians, maintenance plans, media
    def technician(self, technician_id: int) -> Technician | None:
        return self.session.get(Technician, technician_id)

    def plan(self, plan_id: int) -> MaintenancePlan | None:
        return self.session.get(MaintenancePlan, plan_id)

    def plans_to_check(self, due_by: dt.date) -> list[tuple[MaintenancePlan, int | None]]:
        """Active plans due by date on or before ``due_by`` or counted in km, each with the
        highest odometer reading recorded on a service request of its vehicle."""
        p, r = service_maintenance_plans.c, service_requests.c
        plans = list(self.session.scalars(
            select(MaintenancePlan).where(p.active.is_(True), (p.next_due_on <= due_by) | p.interval_km.is_not(None))
            .order_by(p.id)))
        vins = sorted({x.vin for x in plans})
        odometers: dict[str, int] = {}
        for i in range(0, len(vins), 500):
            odometers.update(self.session.execute(
                select(r.vin, func.max(r.odometer_km)).where(r.vin.in_(vins[i:i + 500])).group_by(r.vin)).all())
        return [(x, odometers.get(x.vin)) for x in plans]

    def media_count(self, owner_type: str, owner_id: int) -> int:
        m = service_media.c
        return int(self.session.execute(select(func.count()).select_from(service_media).where(
            m.owner_type == owner_type, m.owner_id == owner_id)).scalar_one())

    # claim risk (issue 18 §1): the evidence the rules look at, and their configuration
    def operation(self, code: str) -> RepairOperation | None:
        return self.session.scalars(select(RepairOperation).where(
            service_repair_operations.c.code == code.strip().upper())).first()

    def risk_config(self) -> RiskConfig:
        row = self.session.execute(select(service_risk_config.c.config).where(service_risk_config.c.id == 1)).first()
        return RiskConfig() if row is None else RiskConfig.from_dict(row[0])

    def save_risk_config(self, config: RiskConfig, at: dt.datetime, by: str) -> None:
        values = {"config": config.as_dict(), "updated_at": at, "updated_by": by}
        self.session.execute(_insert_for(self.session)(service_risk_config).values(id=1, **values)
                             .on_conflict_do_update(index_elements=["id"], set_=values))

    def prior_claim_parts(self, vin: str, exclude_record_id: int) -> list[PriorClaimPart]:
        c, rr, rp = service_claims.c, service_repair_records.c, service_repair_parts.c
        rows = self.session.execute(
            select(c.number, rp.part_no, rr.finished_at)
            .select_from(service_claims.join(service_repair_records, rr.id == c.record_id)
                         .join(service_repair_parts, rp.record_id == rr.id))
            .where(rr.vin == vin, rr.id != exclude_record_id, rp.use == PartUse.WARRANTY.value,
                   c.state.in_([ClaimState.IN_REVIEW.value, ClaimState.APPROVED.value]))
            .order_by(c.id, rp.id)).all()
        return [PriorClaimPart(n, p, f.astimezone(SHANGHAI).date()) for n, p, f in rows]

    def odometer_readings(self, vin: str) -> list[OdometerReading]:
        r = service_requests.c
        rows = self.session.execute(select(r.number, r.created_at, r.odometer_km)
                                    .where(r.vin == vin, r.odometer_km.is_not(None)).order_by(r.id)).all()
        return [OdometerReading(n, at.astimezone(SHANGHAI).date(), km) for n, at, km in rows]

    def vins_of_phone(self, phone: str) -> list[str]:
        r, w = service_requests.c, service_warranties.c
        on_requests = select(r.vin).where(r.customer_phone == phone)
        on_warranties = select(w.vin).where(w.customer_phone == phone)
        return sorted({v for (v,) in self.session.execute(on_requests.union(on_warranties)).all()})

    def reused_photos(self, record_id: int, claim_id: int | None) -> list[ReusedPhoto]:
        m = service_media.c
        mine = [(OwnerType.REPAIR_RECORD.value, record_id)]
        if claim_id is not None:
            mine.append((OwnerType.CLAIM.value, claim_id))
        own = or_(*[and_(m.owner_type == t, m.owner_id == i) for t, i in mine])
        hashes = select(m.sha256).where(own, m.kind == MediaKind.PHOTO.value, m.sha256.is_not(None))
        rr, c = service_repair_records.c, service_claims.c
        rows = self.session.execute(
            select(m.sha256, m.owner_type, func.coalesce(rr.number, c.number))
            .select_from(service_media
                         .outerjoin(service_repair_records, and_(m.owner_type == OwnerType.REPAIR_RECORD.value,
                                                                 rr.id == m.owner_id))
                         .outerjoin(service_claims, and_(m.owner_type == OwnerType.CLAIM.value, c.id == m.owner_id)))
            .where(m.sha256.in_(hashes), ~own,
                   m.owner_type.in_([OwnerType.REPAIR_RECORD.value, OwnerType.CLAIM.value]))
            .order_by(m.id)).all()
        return [ReusedPhoto(h, number or f"{t}#?") for h, t, number in rows]

    def station_stats(self, since: dt.datetime) -> list[StationStat]:
        rr, c = service_repair_records.c, service_claims.c
        records: dict[int, int] = {sid: int(n) for sid, n in self.session.execute(
            select(rr.station_id, func.count()).where(rr.finished_at >= since).group_by(rr.station_id)).all()}
        claims = self.session.execute(
            select(c.station_id, func.count(), func.coalesce(func.sum(c.total_fen), 0))
            .where(c.submitted_at >= since, c.state != ClaimState.WITHDRAWN.value).group_by(c.station_id)).all()
        by_station = {sid: (int(n), int(total)) for sid, n, total in claims}
        return [StationStat(sid, int(records.get(sid, 0)), *by_station.get(sid, (0, 0)))
                for sid in sorted(set(records) | set(by_station))]
