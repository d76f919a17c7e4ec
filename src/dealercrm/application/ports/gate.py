"""Persistence ports of the vehicles & gate context.

The SQL unit of work exposes these repositories as ``uow.vehicles``, ``uow.pickup_authorizations``,
``uow.gate_passes``, ``uow.gate_exits``, ``uow.client_events``, ``uow.shipments``, ``uow.receipts`` and
``uow.staff_directory``. Loads "for change" lock the
rows on PostgreSQL (``FOR UPDATE``); on SQLite the write transaction already began IMMEDIATE.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

from dealercrm.application.ports.credit import ReleaseChecks
from dealercrm.application.ports.engagement import AlertRepository
from dealercrm.application.ports.persistence import Clock, DocumentNumbering, Transaction, UnitOfWork
from dealercrm.domain.gate import GateExit, GatePass, PickupAuthorization
from dealercrm.domain.shipping import DeliveryReceipt, PickupReceipt, Shipment
from dealercrm.domain.vehicles import Vehicle


class VehicleRepository(Protocol):
    def add(self, vehicle: Vehicle) -> None: ...

    def get(self, vin: str) -> Vehicle | None:
        """Load for change (locked on PostgreSQL)."""

    def many(self, vins: Sequence[str]) -> list[Vehicle]:
        """Load for change, locked in VIN order (no deadlocks between two lockers)."""


class PickupAuthorizationRepository(Protocol):
    def add(self, authorization: PickupAuthorization) -> None: ...

    def get(self, authorization_id: int) -> PickupAuthorization | None: ...

    def active_for_id(self, id_digest: str) -> list[PickupAuthorization]: ...


class GatePassRepository(Protocol):
    def add(self, gate_pass: GatePass) -> None: ...

    def get(self, gate_pass_id: int) -> GatePass | None: ...

    def by_pass_no(self, pass_no: str) -> GatePass | None: ...

    def live_for_authorization(self, authorization_id: int) -> list[GatePass]: ...

    def for_id(self, id_digest: str, since: dt.datetime) -> list[GatePass]:
        """Passes for this person: every live one, and any that ended after ``since``."""


class GateExitRepository(Protocol):
    def add(self, gate_exit: GateExit) -> None: ...

    def for_pass(self, gate_pass_id: int) -> GateExit | None: ...


class ClientEventLog(Protocol):
    """Answers already given to a client's event id (kiosk/desk idempotency ledger)."""

    def get(self, client: str, event_id: str) -> dict[str, Any] | None:
        """``{"kind", "fingerprint", "outcome", "answer"}`` or None."""

    def add(self, client: str, event_id: str, kind: str, fingerprint: str, outcome: str,
            answer: dict[str, Any], at: dt.datetime) -> None:
        """Insert; a second insert of the same (client, event id) fails with ``Conflict``."""

    def purge_before(self, before: dt.datetime, limit: int) -> int:
        """Delete up to ``limit`` entries recorded before ``before``, oldest first; how many."""


class ShipmentRepository(Protocol):
    def add(self, shipment: Shipment) -> None: ...

    def get(self, shipment_id: int) -> Shipment | None: ...

    def planned_with_any(self, vins: Sequence[str]) -> list[Shipment]:
        """Planned (not yet departed) shipments carrying any of these VINs."""

    def overdue_for_receipt(self, expected_before: dt.datetime) -> list[Shipment]:
        """Departed shipments expected before the moment, not yet reminded, without a receipt."""


class DeliveryReceiptRepository(Protocol):
    def add(self, receipt: DeliveryReceipt) -> None: ...

    def for_shipment(self, shipment_id: int) -> DeliveryReceipt | None: ...

    def add_pickup(self, receipt: PickupReceipt) -> None: ...

    def for_gate_pass(self, gate_pass_id: int) -> PickupReceipt | None: ...


class StaffDirectory(Protocol):
    def active_staff(self, roles: Sequence[Any]) -> list[tuple[int, str, str, str, list[str]]]:
        """Active users of these roles with an e-mail: (id, display name, email, role, regions)."""


class ClientEventsUnitOfWork(Transaction, Protocol):
    """What ``run_client_event`` needs of any context's unit of work: the idempotency ledger."""

    client_events: ClientEventLog


class GateUnitOfWork(UnitOfWork, Protocol):
    vehicles: VehicleRepository
    pickup_authorizations: PickupAuthorizationRepository
    gate_passes: GatePassRepository
    gate_exits: GateExitRepository
    client_events: ClientEventLog
    shipments: ShipmentRepository
    receipts: DeliveryReceiptRepository
    staff_directory: StaffDirectory
    alerts: AlertRepository  # a receipt's discrepancy raises an alert in the same transaction
    numbers: DocumentNumbering  # formatted("GP", year=...) -> "GP-2026-000001"
    credit: ReleaseChecks  # the credit rule at the gate reads through the gate's own transaction
    clock: Clock
