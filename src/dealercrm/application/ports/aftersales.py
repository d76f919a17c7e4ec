"""Ports of the after-sales context: its repository on the unit of work, and its read side."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from dealercrm.application.ports.persistence import DocumentNumbering, UnitOfWork

from dealercrm.domain.aftersales import (
    RepairRecord,
    ServicePart,
    ServiceRequest,
    ServiceStation,
    SettlementClaim,
    StationCandidate,
    StockLine,
    StockMovement,
    WarrantyPolicy,
    WarrantyRecord,
)


class AftersalesRepository(Protocol):
    def add(self, obj: object) -> None: ...
    def flush(self) -> None: ...
    def station(self, station_id: int) -> ServiceStation | None: ...
    def station_candidates(self, product_line: str) -> list[StationCandidate]: ...
    def policies(self) -> list[WarrantyPolicy]: ...
    def policy(self, policy_id: int) -> WarrantyPolicy | None: ...
    def warranty(self, vin: str) -> WarrantyRecord | None: ...

    def vehicle(self, vin: str) -> dict[str, Any] | None:
        """``dealer_id``, ``product_line``, ``model_code``, ``order_no``, ``contract_no``, ``state``."""

    def request(self, request_id: int) -> ServiceRequest | None: ...
    def record(self, record_id: int) -> RepairRecord | None: ...
    def record_of_request(self, request_id: int) -> RepairRecord | None: ...
    def claim(self, claim_id: int) -> SettlementClaim | None: ...
    def open_claim_of_record(self, record_id: int) -> SettlementClaim | None: ...
    def part(self, part_no: str) -> ServicePart | None: ...

    def lock_stock(self, station_id: int, part_no: str, now: dt.datetime) -> StockLine:
        """The stock row of a part at a station, locked for the transaction (created at 0)."""

    def add_movement(self, movement: StockMovement) -> None: ...


class AftersalesUnitOfWork(UnitOfWork, Protocol):
    """The after-sales use cases' unit of work: ``aftersales`` and document numbers, on the shared
    one (warranty claims run through the approval workflow)."""

    aftersales: AftersalesRepository
    numbers: DocumentNumbering
