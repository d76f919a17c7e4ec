"""Tables, mapping and repositories of the vehicles & gate context.

``vehicles`` + ``vehicle_events`` (the life cycle by VIN), ``pickup_authorizations`` (介绍信),
``gate_passes`` (出门证), ``gate_exits`` (one row per pass — the unique constraint is what makes
"a vehicle leaves once" hold even if a lock were lost) and ``kiosk_events`` (the answers given
per client event id, for replays by offline gate devices and double clicks at the desk).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    insert,
    or_,
    select,
)
from sqlalchemy.orm import Session, relationship

from dealercrm.adapters.db.base import IdType, mapper_registry, metadata
from dealercrm.adapters.db.orm import users
from dealercrm.adapters.db.types import StrEnumType, UtcDateTime, ValueObjectType
from dealercrm.domain.gate import (
    AuthorizationStatus,
    GateExit,
    GatePass,
    GatePassStatus,
    PickupAuthorization,
)
from dealercrm.domain.shipping import DeliveryReceipt, PickupReceipt, Shipment, ShipmentStatus
from dealercrm.domain.values import Phone, Vin
from dealercrm.domain.vehicles import Vehicle, VehicleEvent, VehicleState

vehicles = Table(
    "vehicles",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("vin", ValueObjectType(Vin, 17), nullable=False, unique=True),
    Column("state", StrEnumType(VehicleState), nullable=False),
    Column("dealer_id", IdType, ForeignKey("dealers.id")),
    Column("order_no", String(40)),
    Column("contract_no", String(40)),
    Column("erp_tracking_no", String(40)),
    Column("erp_line_no", Integer),
    Column("product_line", String(20)),
    Column("model_code", String(40)),
    Column("configuration", String(500)),
    Column("agreed_delivery_date", Date),
    Column("stocked_at", UtcDateTime),
    Column("released_at", UtcDateTime),
    Column("received_at", UtcDateTime),
    Column("pickup_authorization_id", IdType),
    Column("state_changed_at", UtcDateTime),
    Column("version", Integer, nullable=False),
    Index("ix_vehicles_dealer_id_state_id", "dealer_id", "state", "id"),
    Index("ix_vehicles_state_id", "state", "id"),
    Index("ix_vehicles_contract_no", "contract_no"),
    Index("ix_vehicles_erp_tracking_no", "erp_tracking_no"),
)

vehicle_events = Table(
    "vehicle_events",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("vehicle_id", IdType, ForeignKey("vehicles.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("action", String(30), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("from_state", StrEnumType(VehicleState)),
    Column("to_state", StrEnumType(VehicleState), nullable=False),
    Column("actor", String(60), nullable=False),
    Column("reference", String(60)),
    Column("note", String(500)),
    UniqueConstraint("vehicle_id", "seq"),
)

pickup_authorizations = Table(
    "pickup_authorizations",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("number", String(30), nullable=False, unique=True),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), nullable=False),
    Column("contract_no", String(40), nullable=False),
    Column("person_name", String(30), nullable=False),
    Column("id_digest", String(64), nullable=False),
    Column("id_masked", String(18), nullable=False),
    Column("phone", ValueObjectType(Phone, 20), nullable=False),
    Column("vins", JSON, nullable=False),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_to", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(60), nullable=False),
    Column("status", StrEnumType(AuthorizationStatus), nullable=False),
    Column("status_reason", String(500)),
    Column("status_changed_at", UtcDateTime),
    Column("id_checked_at", UtcDateTime),
    Column("id_checked_via", String(20)),
    Column("version", Integer, nullable=False),
    Index("ix_pickup_authorizations_dealer_id_id", "dealer_id", "id"),
    Index("ix_pickup_authorizations_id_digest", "id_digest"),
    Index("ix_pickup_authorizations_status_id", "status", "id"),
)

gate_passes = Table(
    "gate_passes",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("pass_no", String(30), nullable=False, unique=True),
    Column("authorization_id", IdType, ForeignKey("pickup_authorizations.id"), nullable=False),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), nullable=False),
    Column("contract_no", String(40), nullable=False),
    Column("vins", JSON, nullable=False),
    Column("person_name", String(30), nullable=False),
    Column("id_digest", String(64), nullable=False),
    Column("id_masked", String(18), nullable=False),
    Column("id_verified_via", String(10), nullable=False),
    Column("id_verified_at", UtcDateTime, nullable=False),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_to", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(60), nullable=False),
    Column("status", StrEnumType(GatePassStatus), nullable=False),
    Column("approved_at", UtcDateTime),
    Column("approved_by", String(60)),
    Column("rejected_reason", String(500)),
    Column("handed_over_at", UtcDateTime),
    Column("handed_over_by", String(60)),
    Column("exited_at", UtcDateTime),
    Column("exited_by", String(60)),
    Column("voided_at", UtcDateTime),
    Column("void_reason", String(600)),
    Column("qr_payload", Text),
    Column("key_id", String(32)),
    Column("print_count", Integer, nullable=False),
    Column("last_printed_at", UtcDateTime),
    Column("version", Integer, nullable=False),
    Index("ix_gate_passes_dealer_id_id", "dealer_id", "id"),
    Index("ix_gate_passes_authorization_id", "authorization_id"),
    Index("ix_gate_passes_id_digest", "id_digest"),
    Index("ix_gate_passes_status_id", "status", "id"),
    Index("ix_gate_passes_valid_to", "valid_to"),  # the guards' pass book: passes still valid
)

gate_exits = Table(
    "gate_exits",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("gate_pass_id", IdType, ForeignKey("gate_passes.id"), nullable=False, unique=True),
    Column("pass_no", String(30), nullable=False),
    Column("vins", JSON, nullable=False),
    Column("exited_at", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("source", String(10), nullable=False),
    Column("actor", String(60), nullable=False),
    Column("client_event_id", String(64)),
    Column("guard_user_id", IdType, ForeignKey("users.id")),  # the guard signed in by badge, if known
    Column("guard_badge", String(64)),  # the badge digest the device sent (kept when it matched nobody)
)

kiosk_events = Table(
    "kiosk_events",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("client", String(40), nullable=False),  # "device:<id>" or "user:<id>"
    Column("event_id", String(64), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("outcome", String(10), nullable=False),  # ok | error
    Column("answer", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("client", "event_id"),
)


shipments = Table(
    "shipments",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("shipment_no", String(30), nullable=False, unique=True),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), nullable=False),
    Column("contract_no", String(40)),
    Column("carrier", String(100), nullable=False),
    Column("driver_name", String(30), nullable=False),
    Column("driver_id_digest", String(64), nullable=False),
    Column("driver_id_masked", String(18), nullable=False),
    Column("driver_phone", ValueObjectType(Phone, 20), nullable=False),
    Column("truck_plate", String(12), nullable=False),
    Column("vins", JSON, nullable=False),
    Column("planned_departure", UtcDateTime, nullable=False),
    Column("expected_arrival", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(60), nullable=False),
    Column("status", StrEnumType(ShipmentStatus), nullable=False),
    Column("departed_at", UtcDateTime),
    Column("departed_by", String(60)),
    Column("delivered_at", UtcDateTime),
    Column("cancelled_at", UtcDateTime),
    Column("cancel_reason", String(500)),
    Column("receipt_reminded_at", UtcDateTime),
    Column("version", Integer, nullable=False),
    Index("ix_shipments_dealer_id_id", "dealer_id", "id"),
    Index("ix_shipments_status_expected_arrival", "status", "expected_arrival"),
)

def _receipt_table(name: str, document: str, documents: str) -> Table:
    """A receipt (回执, ``domain.shipping.VehicleReceipt``) of the vehicles of one document: the
    same columns around the document's key ``document`` (one receipt per document)."""
    return Table(
        name,
        metadata,
        Column("id", IdType, primary_key=True, autoincrement=True),
        Column("receipt_no", String(30), nullable=False, unique=True),
        Column(document, IdType, ForeignKey(f"{documents}.id"), nullable=False, unique=True),
        Column("dealer_id", IdType, ForeignKey("dealers.id"), nullable=False),
        Column("lines", JSON, nullable=False),
        Column("extra_vins", JSON, nullable=False),
        Column("discrepancies", JSON, nullable=False),
        Column("receiver_name", String(30), nullable=False),
        Column("received_at", UtcDateTime, nullable=False),
        Column("recorded_by", String(60), nullable=False),
        Index(f"ix_{name}_dealer_id_id", "dealer_id", "id"),
    )


delivery_receipts = _receipt_table("delivery_receipts", "shipment_id", "shipments")
pickup_receipts = _receipt_table("pickup_receipts", "gate_pass_id", "gate_passes")


def start_gate_mappers() -> None:
    """Called once from ``mapping.start_mappers``."""
    mapper_registry.map_imperatively(VehicleEvent, vehicle_events,
                                     properties={"vehicle_id": vehicle_events.c.vehicle_id})
    mapper_registry.map_imperatively(
        Vehicle, vehicles,
        properties={
            "history": relationship(VehicleEvent, order_by=vehicle_events.c.seq, cascade="all, delete-orphan",
                                    lazy="selectin"),
        },
        version_id_col=vehicles.c.version,
    )
    mapper_registry.map_imperatively(PickupAuthorization, pickup_authorizations,
                                     version_id_col=pickup_authorizations.c.version)
    mapper_registry.map_imperatively(GatePass, gate_passes, version_id_col=gate_passes.c.version)
    mapper_registry.map_imperatively(GateExit, gate_exits)
    mapper_registry.map_imperatively(Shipment, shipments, version_id_col=shipments.c.version)
    mapper_registry.map_imperatively(DeliveryReceipt, delivery_receipts)
    mapper_registry.map_imperatively(PickupReceipt, pickup_receipts)


# ---------------------------------------------------------------------------------------------
# Repositories (never commit)


def _locks(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


class SqlAlchemyVehicleRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, vehicle: Vehicle) -> None:
        self.session.add(vehicle)

    def get(self, vin: str) -> Vehicle | None:
        q = select(Vehicle).where(vehicles.c.vin == Vin(vin))
        if _locks(self.session):
            q = q.with_for_update(of=vehicles)
        return self.session.scalars(q).first()

    def many(self, vins: Sequence[str]) -> list[Vehicle]:
        if not vins:
            return []
        q = select(Vehicle).where(vehicles.c.vin.in_([Vin(v) for v in vins])).order_by(vehicles.c.vin)
        if _locks(self.session):
            q = q.with_for_update(of=vehicles)
        return list(self.session.scalars(q))


class SqlAlchemyPickupAuthorizationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, authorization: PickupAuthorization) -> None:
        self.session.add(authorization)

    def get(self, authorization_id: int) -> PickupAuthorization | None:
        return self.session.get(PickupAuthorization, authorization_id, with_for_update=_locks(self.session) or None)

    def active_for_id(self, id_digest: str) -> list[PickupAuthorization]:
        q = (select(PickupAuthorization)
             .where(pickup_authorizations.c.id_digest == id_digest,
                    pickup_authorizations.c.status == AuthorizationStatus.ACTIVE)
             .order_by(pickup_authorizations.c.id).limit(20))
        if _locks(self.session):
            q = q.with_for_update()
        return list(self.session.scalars(q))


_LIVE = (GatePassStatus.PENDING_APPROVAL, GatePassStatus.APPROVED, GatePassStatus.HANDED_OVER)


class SqlAlchemyGatePassRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, gate_pass: GatePass) -> None:
        self.session.add(gate_pass)

    def get(self, gate_pass_id: int) -> GatePass | None:
        return self.session.get(GatePass, gate_pass_id, with_for_update=_locks(self.session) or None)

    def by_pass_no(self, pass_no: str) -> GatePass | None:
        q = select(GatePass).where(gate_passes.c.pass_no == pass_no)
        if _locks(self.session):
            q = q.with_for_update()
        return self.session.scalars(q).first()

    def live_for_authorization(self, authorization_id: int) -> list[GatePass]:
        q = (select(GatePass)
             .where(gate_passes.c.authorization_id == authorization_id, gate_passes.c.status.in_(_LIVE))
             .order_by(gate_passes.c.id))
        if _locks(self.session):
            q = q.with_for_update()
        return list(self.session.scalars(q))

    def for_id(self, id_digest: str, since: dt.datetime) -> list[GatePass]:
        q = (select(GatePass)
             .where(gate_passes.c.id_digest == id_digest,
                    or_(gate_passes.c.status.in_(_LIVE), gate_passes.c.created_at >= since))
             .order_by(gate_passes.c.id.desc()).limit(20))
        return list(self.session.scalars(q))


class SqlAlchemyGateExitRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, gate_exit: GateExit) -> None:
        self.session.add(gate_exit)

    def for_pass(self, gate_pass_id: int) -> GateExit | None:
        return self.session.scalars(select(GateExit).where(gate_exits.c.gate_pass_id == gate_pass_id)).first()


class SqlKioskEventLog:
    """The idempotency ledger, in Core on the unit of work's connection (same transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, client: str, event_id: str) -> dict[str, Any] | None:
        row = self.session.connection().execute(
            select(kiosk_events.c.kind, kiosk_events.c.fingerprint, kiosk_events.c.outcome, kiosk_events.c.answer)
            .where(kiosk_events.c.client == client, kiosk_events.c.event_id == event_id)
        ).first()
        return dict(row._mapping) if row else None

    def add(self, client: str, event_id: str, kind: str, fingerprint: str, outcome: str,
            answer: dict[str, Any], at: dt.datetime) -> None:
        self.session.flush()
        self.session.connection().execute(insert(kiosk_events).values(
            client=client, event_id=event_id, kind=kind, fingerprint=fingerprint, outcome=outcome, answer=answer,
            created_at=at))

    def purge_before(self, before: dt.datetime, limit: int) -> int:
        oldest = (select(kiosk_events.c.id).where(kiosk_events.c.created_at < before)
                  .order_by(kiosk_events.c.id).limit(limit))
        ids = list(self.session.connection().execute(oldest).scalars())
        if ids:
            self.session.connection().execute(delete(kiosk_events).where(kiosk_events.c.id.in_(ids)))
        return len(ids)


class SqlAlchemyShipmentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, shipment: Shipment) -> None:
        self.session.add(shipment)

    def get(self, shipment_id: int) -> Shipment | None:
        return self.session.get(Shipment, shipment_id, with_for_update=_locks(self.session) or None)

    def planned_with_any(self, vins: Sequence[str]) -> list[Shipment]:
        # few shipments wait at any time; the VIN lists are JSON, so match them here
        wanted = set(vins)
        planned = self.session.scalars(select(Shipment).where(shipments.c.status == ShipmentStatus.PLANNED)
                                       .order_by(shipments.c.id))
        return [s for s in planned if wanted & set(s.vins)]

    def overdue_for_receipt(self, expected_before: dt.datetime) -> list[Shipment]:
        q = (select(Shipment)
             .where(shipments.c.status == ShipmentStatus.DEPARTED, shipments.c.expected_arrival <= expected_before,
                    shipments.c.receipt_reminded_at.is_(None))
             .order_by(shipments.c.id).limit(500))
        if _locks(self.session):
            q = q.with_for_update(skip_locked=True)
        return list(self.session.scalars(q))


class SqlAlchemyDeliveryReceiptRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, receipt: DeliveryReceipt) -> None:
        self.session.add(receipt)

    def for_shipment(self, shipment_id: int) -> DeliveryReceipt | None:
        return self.session.scalars(select(DeliveryReceipt)
                                    .where(delivery_receipts.c.shipment_id == shipment_id)).first()

    def add_pickup(self, receipt: PickupReceipt) -> None:
        self.session.add(receipt)

    def for_gate_pass(self, gate_pass_id: int) -> PickupReceipt | None:
        return self.session.scalars(select(PickupReceipt)
                                    .where(pickup_receipts.c.gate_pass_id == gate_pass_id)).first()


class SqlStaffDirectory:
    def __init__(self, session: Session) -> None:
        self.session = session

    def active_staff(self, roles: Sequence[Any]) -> list[tuple[int, str, str, str, list[str]]]:
        rows = self.session.connection().execute(
            select(users.c.id, users.c.display_name, users.c.email, users.c.role, users.c.regions)
            .where(users.c.role.in_([getattr(r, "value", r) for r in roles]), users.c.is_active.is_(True),
                   users.c.email.is_not(None))
            .order_by(users.c.id))
        return [(r.id, r.display_name, r.email, getattr(r.role, "value", r.role), list(r.regions or []))
                for r in rows]
