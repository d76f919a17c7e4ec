"""In-memory twins of the vehicles & gate repositories (``uow.vehicles``,
``uow.pickup_authorizations``, ``uow.gate_passes``, ``uow.gate_exits``, ``uow.client_events``,
``uow.shipments``, ``uow.receipts`` and ``uow.staff_directory`` on ``MemoryUnitOfWork``).

Same semantics as the SQL repositories for one process: the rows live in the memory unit of
work's working copy (nothing visible before ``commit()``, a rollback discards everything), a
changed row gets ``version + 1`` on flush, a second exit of one pass or a second answer to one
client event id is a ``Conflict`` (the unique keys of the real tables). No locks: the memory unit
of work is not meant for concurrent writers.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Sequence
from typing import Any

import attrs

from dealercrm.adapters.memory_tables import MemoryTable, MemoryWorkspace
from dealercrm.domain.errors import Conflict
from dealercrm.domain.gate import (
    AuthorizationStatus,
    GateExit,
    GatePass,
    GatePassStatus,
    PickupAuthorization,
)
from dealercrm.domain.shipping import DeliveryReceipt, PickupReceipt, Shipment, ShipmentStatus
from dealercrm.domain.values import Vin
from dealercrm.domain.vehicles import Vehicle

_LIVE = (GatePassStatus.PENDING_APPROVAL, GatePassStatus.APPROVED, GatePassStatus.HANDED_OVER)


@attrs.define
class GateMemoryState:
    vehicles: MemoryTable[Vehicle] = attrs.field(factory=lambda: MemoryTable(children=("history",)))
    authorizations: MemoryTable[PickupAuthorization] = attrs.field(factory=MemoryTable)
    passes: MemoryTable[GatePass] = attrs.field(factory=MemoryTable)
    exits: MemoryTable[GateExit] = attrs.field(factory=lambda: MemoryTable(versioned=False))
    client_events: dict[tuple[str, str], dict[str, Any]] = attrs.field(factory=dict)
    shipments: MemoryTable[Shipment] = attrs.field(factory=MemoryTable)
    receipts: MemoryTable[DeliveryReceipt] = attrs.field(factory=lambda: MemoryTable(versioned=False))
    pickup_receipts: MemoryTable[PickupReceipt] = attrs.field(factory=lambda: MemoryTable(versioned=False))


def gate_state(uow: MemoryWorkspace) -> GateMemoryState:
    working = uow.working
    if not hasattr(working, "gate"):
        working.gate = GateMemoryState()
    return working.gate  # type: ignore[no-any-return]


class _GateRepo:
    def __init__(self, uow: MemoryWorkspace) -> None:
        self.uow = uow

    @property
    def s(self) -> GateMemoryState:
        return gate_state(self.uow)

    def _next_id(self) -> int:
        return next(self.uow.working.ids)  # type: ignore[no-any-return]


class MemoryVehicleRepository(_GateRepo):
    def add(self, vehicle: Vehicle) -> None:
        self.s.vehicles.add(vehicle, self._next_id)

    def get(self, vin: str) -> Vehicle | None:
        wanted = Vin(vin)
        return next((v for v in self.s.vehicles if v.vin == wanted), None)

    def many(self, vins: Sequence[str]) -> list[Vehicle]:
        wanted = {Vin(v) for v in vins}
        return sorted((v for v in self.s.vehicles if v.vin in wanted), key=lambda v: v.vin.value)

    def flush(self) -> None:
        for vehicle in self.s.vehicles:
            for event in vehicle.history:
                if event.id is None:
                    event.id = self._next_id()
        self.s.vehicles.flush()


class MemoryPickupAuthorizationRepository(_GateRepo):
    def add(self, authorization: PickupAuthorization) -> None:
        self.s.authorizations.add(authorization, self._next_id)

    def get(self, authorization_id: int) -> PickupAuthorization | None:
        return self.s.authorizations.get(authorization_id)

    def active_for_id(self, id_digest: str) -> list[PickupAuthorization]:
        return self.s.authorizations.where(
            lambda a: a.id_digest == id_digest and a.status is AuthorizationStatus.ACTIVE)[:20]


class MemoryGatePassRepository(_GateRepo):
    def add(self, gate_pass: GatePass) -> None:
        self.s.passes.add(gate_pass, self._next_id)

    def get(self, gate_pass_id: int) -> GatePass | None:
        return self.s.passes.get(gate_pass_id)

    def by_pass_no(self, pass_no: str) -> GatePass | None:
        return next((p for p in self.s.passes if p.pass_no == pass_no), None)

    def live_for_authorization(self, authorization_id: int) -> list[GatePass]:
        return self.s.passes.where(lambda p: p.authorization_id == authorization_id and p.status in _LIVE)

    def for_id(self, id_digest: str, since: dt.datetime) -> list[GatePass]:
        found = self.s.passes.where(lambda p: p.id_digest == id_digest and (p.status in _LIVE or p.created_at >= since))
        return list(reversed(found))[:20]


class MemoryGateExitRepository(_GateRepo):
    def add(self, gate_exit: GateExit) -> None:
        if self.for_pass(gate_exit.gate_pass_id) is not None:
            raise Conflict("数据与现有记录冲突（可能已被他人修改或重复提交）", code="db.integrity_conflict")
        self.s.exits.add(gate_exit, self._next_id)

    def for_pass(self, gate_pass_id: int) -> GateExit | None:
        return next((e for e in self.s.exits if e.gate_pass_id == gate_pass_id), None)


class MemoryClientEventLog(_GateRepo):
    def get(self, client: str, event_id: str) -> dict[str, Any] | None:
        found = self.s.client_events.get((client, event_id))
        return {k: copy.deepcopy(found[k]) for k in ("kind", "fingerprint", "outcome", "answer")} if found else None

    def add(self, client: str, event_id: str, kind: str, fingerprint: str, outcome: str,
            answer: dict[str, Any], at: dt.datetime) -> None:
        if (client, event_id) in self.s.client_events:
            raise Conflict("数据与现有记录冲突（可能已被他人修改或重复提交）", code="db.integrity_conflict")
        self.uow.flush()
        self.s.client_events[(client, event_id)] = {"kind": kind, "fingerprint": fingerprint, "outcome": outcome,
                                                     "answer": copy.deepcopy(answer), "created_at": at}

    def purge_before(self, before: dt.datetime, limit: int) -> int:
        old = [key for key, row in self.s.client_events.items() if row["created_at"] < before][:limit]
        for key in old:
            del self.s.client_events[key]
        return len(old)


class MemoryShipmentRepository(_GateRepo):
    def add(self, shipment: Shipment) -> None:
        self.s.shipments.add(shipment, self._next_id)

    def get(self, shipment_id: int) -> Shipment | None:
        return self.s.shipments.get(shipment_id)

    def planned_with_any(self, vins: Sequence[str]) -> list[Shipment]:
        wanted = set(vins)
        return self.s.shipments.where(lambda s: s.status is ShipmentStatus.PLANNED and bool(wanted & set(s.vins)))

    def overdue_for_receipt(self, expected_before: dt.datetime) -> list[Shipment]:
        return self.s.shipments.where(lambda s: s.status is ShipmentStatus.DEPARTED
                                      and s.expected_arrival <= expected_before
                                      and s.receipt_reminded_at is None)[:500]


class MemoryDeliveryReceiptRepository(_GateRepo):
    def add(self, receipt: DeliveryReceipt) -> None:
        self.s.receipts.add(receipt, self._next_id)

    def for_shipment(self, shipment_id: int) -> DeliveryReceipt | None:
        return next((r for r in self.s.receipts if r.shipment_id == shipment_id), None)

    def add_pickup(self, receipt: PickupReceipt) -> None:
        self.s.pickup_receipts.add(receipt, self._next_id)

    def for_gate_pass(self, gate_pass_id: int) -> PickupReceipt | None:
        return next((r for r in self.s.pickup_receipts if r.gate_pass_id == gate_pass_id), None)


class MemoryStaffDirectory(_GateRepo):
    def active_staff(self, roles: Sequence[Any]) -> list[tuple[int, str, str, str, list[str]]]:
        wanted = {getattr(r, "value", r) for r in roles}
        return [(u.id, u.display_name, u.email, u.role.value, list(u.regions or []))
                for u in sorted(self.uow.working.users.values(), key=lambda u: u.id or 0)
                if u.role.value in wanted and u.is_active and u.email is not None]


def flush_gate(uow: MemoryWorkspace) -> None:
    """Version the changed rows and give new history entries their ids (the unit of work's flush)."""
    MemoryVehicleRepository(uow).flush()
    s = gate_state(uow)
    for table in (s.authorizations, s.passes, s.exits, s.shipments, s.receipts, s.pickup_receipts):
        table.flush()
