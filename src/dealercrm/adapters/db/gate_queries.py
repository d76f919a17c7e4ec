"""Read side of the vehicles & gate context: Core queries, scoped in SQL by the caller's dealer
scope (a dealer's query can only ever touch its own rows), returning plain dicts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql import Select

from dealercrm.adapters.db.gate_tables import (
    delivery_receipts,
    gate_exits,
    gate_passes,
    pickup_authorizations,
    pickup_receipts,
    shipments,
    vehicle_events,
    vehicles,
)
from dealercrm.adapters.db.orm import dealers, users
from dealercrm.application.access import DealerScope
from dealercrm.domain.gate import GatePassStatus

_PASS_COLUMNS = [c for c in gate_passes.c if c.name not in ("id_digest", "qr_payload")]
_AUTH_COLUMNS = [c for c in pickup_authorizations.c if c.name != "id_digest"]


def _scoped(q: Select[Any], table: Table, scope: DealerScope) -> Select[Any]:
    if scope.dealer_id is not None:
        q = q.where(table.c.dealer_id == scope.dealer_id)
    if scope.regions is not None:
        q = q.where(dealers.c.region.in_(scope.regions))
    return q


class SqlGateQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _all(self, q: Select[Any]) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def _one(self, q: Select[Any]) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
            return dict(row._mapping) if row else None

    # -- vehicles ------------------------------------------------------------------------------

    def list_vehicles(self, scope: DealerScope, *, state: str | None = None, dealer_id: int | None = None,
                      contract_no: str | None = None, product_line: str | None = None,
                      erp_tracking_no: str | None = None, region: str | None = None,
                      after_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        if scope.nothing:
            return []
        q = (select(vehicles, dealers.c.code.label("dealer_code"), dealers.c.legal_name.label("dealer_name"),
                    dealers.c.region)
             .select_from(vehicles.outerjoin(dealers, dealers.c.id == vehicles.c.dealer_id))
             .order_by(vehicles.c.id).limit(limit))
        q = _scoped(q, vehicles, scope)
        for column, value in ((vehicles.c.state, state), (vehicles.c.dealer_id, dealer_id),
                              (vehicles.c.contract_no, contract_no), (vehicles.c.product_line, product_line),
                              (vehicles.c.erp_tracking_no, erp_tracking_no), (dealers.c.region, region)):
            if value is not None:
                q = q.where(column == value)
        if after_id is not None:
            q = q.where(vehicles.c.id > after_id)
        return self._all(q)

    def vehicle_detail(self, scope: DealerScope, vin: str) -> dict[str, Any] | None:
        if scope.nothing:
            return None
        q = (select(vehicles, dealers.c.code.label("dealer_code"), dealers.c.legal_name.label("dealer_name"),
                    dealers.c.region)
             .select_from(vehicles.outerjoin(dealers, dealers.c.id == vehicles.c.dealer_id))
             .where(vehicles.c.vin == vin))
        row = self._one(_scoped(q, vehicles, scope))
        if row is None:
            return None
        row["history"] = self._all(select(vehicle_events).where(vehicle_events.c.vehicle_id == row["id"])
                                   .order_by(vehicle_events.c.seq))
        return row

    # -- authorizations ------------------------------------------------------------------------

    def _auth_query(self) -> Select[Any]:
        return (select(*_AUTH_COLUMNS, dealers.c.code.label("dealer_code"), dealers.c.legal_name.label("dealer_name"))
                .select_from(pickup_authorizations.join(dealers, dealers.c.id == pickup_authorizations.c.dealer_id)))

    def list_authorizations(self, scope: DealerScope, *, status: str | None = None, after_id: int | None = None,
                            limit: int = 50) -> list[dict[str, Any]]:
        if scope.nothing:
            return []
        q = _scoped(self._auth_query(), pickup_authorizations, scope).order_by(pickup_authorizations.c.id.desc())
        if status is not None:
            q = q.where(pickup_authorizations.c.status == status)
        if after_id is not None:
            q = q.where(pickup_authorizations.c.id < after_id)
        return self._all(q.limit(limit))

    def authorization_detail(self, scope: DealerScope, authorization_id: int) -> dict[str, Any] | None:
        if scope.nothing:
            return None
        q = _scoped(self._auth_query(), pickup_authorizations, scope).where(
            pickup_authorizations.c.id == authorization_id)
        row = self._one(q)
        if row is not None:
            row["gate_passes"] = self._all(select(gate_passes.c.id, gate_passes.c.pass_no, gate_passes.c.status,
                                                  gate_passes.c.vins)
                                           .where(gate_passes.c.authorization_id == authorization_id)
                                           .order_by(gate_passes.c.id))
        return row

    # -- gate passes ---------------------------------------------------------------------------

    def pass_book(self, valid_after: dt.datetime, limit: int = 20_000) -> list[dict[str, Any]]:
        """Passes a gate may still be shown (valid after ``valid_after``) in a state a device can
        rely on offline: voided, exited or rejected (final), or approved / handed over with the
        QR they carry now. Pending ones are left out: they may be approved any minute."""
        final_or_live = [GatePassStatus.VOIDED, GatePassStatus.EXITED, GatePassStatus.REJECTED,
                         GatePassStatus.APPROVED, GatePassStatus.HANDED_OVER]
        return self._all(select(gate_passes.c.pass_no, gate_passes.c.status, gate_passes.c.qr_payload,
                                gate_passes.c.person_name)
                         .where(gate_passes.c.valid_to > valid_after, gate_passes.c.status.in_(final_or_live))
                         .order_by(gate_passes.c.id).limit(limit))

    def _pass_query(self) -> Select[Any]:
        return (select(*_PASS_COLUMNS, pickup_authorizations.c.number.label("authorization_no"),
                       dealers.c.code.label("dealer_code"), dealers.c.legal_name.label("dealer_name"))
                .select_from(gate_passes
                             .join(pickup_authorizations, pickup_authorizations.c.id == gate_passes.c.authorization_id)
                             .join(dealers, dealers.c.id == gate_passes.c.dealer_id)))

    def list_passes(self, scope: DealerScope, *, status: str | None = None, after_id: int | None = None,
                    limit: int = 50) -> list[dict[str, Any]]:
        if scope.nothing:
            return []
        q = _scoped(self._pass_query(), gate_passes, scope).order_by(gate_passes.c.id.desc())
        if status is not None:
            q = q.where(gate_passes.c.status == status)
        if after_id is not None:
            q = q.where(gate_passes.c.id < after_id)
        return self._all(q.limit(limit))

    def pass_detail(self, scope: DealerScope, gate_pass_id: int) -> dict[str, Any] | None:
        if scope.nothing:
            return None
        row = self._one(_scoped(self._pass_query(), gate_passes, scope).where(gate_passes.c.id == gate_pass_id))
        if row is not None:
            row["exit"] = self._one(
                select(gate_exits, users.c.display_name.label("guard_name"))
                .select_from(gate_exits.outerjoin(users, users.c.id == gate_exits.c.guard_user_id))
                .where(gate_exits.c.gate_pass_id == gate_pass_id))
        return row

    # -- shipments and receipts ----------------------------------------------------------------

    def _shipment_query(self) -> Select[Any]:
        cols = [c for c in shipments.c if c.name != "driver_id_digest"]
        return (select(*cols, dealers.c.code.label("dealer_code"), dealers.c.legal_name.label("dealer_name"),
                       delivery_receipts.c.receipt_no)
                .select_from(shipments.join(dealers, dealers.c.id == shipments.c.dealer_id)
                             .outerjoin(delivery_receipts, delivery_receipts.c.shipment_id == shipments.c.id)))

    def list_shipments(self, scope: DealerScope, *, status: str | None = None, after_id: int | None = None,
                       limit: int = 50) -> list[dict[str, Any]]:
        if scope.nothing:
            return []
        q = _scoped(self._shipment_query(), shipments, scope).order_by(shipments.c.id.desc())
        if status is not None:
            q = q.where(shipments.c.status == status)
        if after_id is not None:
            q = q.where(shipments.c.id < after_id)
        return self._all(q.limit(limit))

    def list_receipts(self, scope: DealerScope, *, after_id: int | None = None,
                      limit: int = 50) -> list[dict[str, Any]]:
        if scope.nothing:
            return []
        r = delivery_receipts.c
        cols = [r.id, r.receipt_no, r.shipment_id, r.dealer_id, r.lines, r.extra_vins, r.discrepancies,
                r.receiver_name, r.received_at, r.recorded_by, shipments.c.shipment_no, shipments.c.contract_no,
                shipments.c.carrier, shipments.c.departed_at, dealers.c.code.label("dealer_code"),
                dealers.c.legal_name.label("dealer_name")]
        q: Select[Any] = select(*cols).select_from(delivery_receipts.join(shipments, shipments.c.id == r.shipment_id)
                                                    .join(dealers, dealers.c.id == r.dealer_id))
        q = _scoped(q, delivery_receipts, scope).order_by(r.id.desc()).limit(limit)
        if after_id is not None:
            q = q.where(r.id < after_id)
        return self._all(q)

    def list_pickup_receipts(self, scope: DealerScope, *, after_id: int | None = None,
                             limit: int = 50) -> list[dict[str, Any]]:
        if scope.nothing:
            return []
        r = pickup_receipts.c
        cols = [r.id, r.receipt_no, r.gate_pass_id, r.dealer_id, r.lines, r.extra_vins, r.discrepancies,
                r.receiver_name, r.received_at, r.recorded_by, gate_passes.c.pass_no, gate_passes.c.contract_no,
                gate_passes.c.person_name, gate_passes.c.exited_at, dealers.c.code.label("dealer_code"),
                dealers.c.legal_name.label("dealer_name")]
        q: Select[Any] = select(*cols).select_from(pickup_receipts.join(gate_passes, gate_passes.c.id == r.gate_pass_id)
                                                    .join(dealers, dealers.c.id == r.dealer_id))
        q = _scoped(q, pickup_receipts, scope).order_by(r.id.desc()).limit(limit)
        if after_id is not None:
            q = q.where(r.id < after_id)
        return self._all(q)

    def shipment_detail(self, scope: DealerScope, shipment_id: int) -> dict[str, Any] | None:
        if scope.nothing:
            return None
        row = self._one(_scoped(self._shipment_query(), shipments, scope).where(shipments.c.id == shipment_id))
        if row is not None:
            row["receipt"] = self._one(select(delivery_receipts)
                                       .where(delivery_receipts.c.shipment_id == shipment_id))
        return row
