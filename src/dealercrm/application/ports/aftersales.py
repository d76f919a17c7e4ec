"""Ports of the after-sales context: its repository on the unit of work, and its read side."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from dealercrm.application.access import ServiceScope
from dealercrm.application.ports.persistence import DocumentNumbering, UnitOfWork
from dealercrm.application.ports.gate import ClientEventLog
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
from dealercrm.domain.claim_risk import (
    OdometerReading,
    PriorClaimPart,
    RepairOperation,
    ReusedPhoto,
    RiskConfig,
    StationStat,
)
from dealercrm.domain.customers import ServiceContract
from dealercrm.domain.service_network import BoundingBox, MaintenancePlan, Technician

#: What a repair report may be grouped by (``AftersalesQueries.repair_report``).
REPORT_DIMENSIONS = ("fault_category", "vin", "model_code", "product_line", "station", "month")


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

    def technician(self, technician_id: int) -> Technician | None: ...
    def plan(self, plan_id: int) -> MaintenancePlan | None: ...

    def plans_to_check(self, due_by: dt.date) -> list[tuple[MaintenancePlan, int | None]]:
        """Active plans due by date on or before ``due_by`` or counted in km, each with the highest
        odometer reading known for its vehicle (from its service requests), or ``None``."""

    def media_count(self, owner_type: str, owner_id: int) -> int: ...

    def fitment(self, model_code: str) -> dict[str, int] | None:
        """part_no → quantity the model carries, or ``None`` when its fitment was never kept."""

    def service_contracts_of(self, vin: str) -> list[ServiceContract]:
        """Every service contract (维修合同) made on the VIN, cancelled ones included."""

    # -- claim risk (issue 18 §1): the evidence of ``domain.claim_risk`` and its configuration --

    def operation(self, code: str) -> RepairOperation | None: ...

    def risk_config(self) -> RiskConfig:
        """The stored configuration, or the defaults when none was ever saved."""

    def save_risk_config(self, config: RiskConfig, at: dt.datetime, by: str) -> None: ...

    def prior_claim_parts(self, vin: str, exclude_record_id: int) -> list[PriorClaimPart]:
        """Warranty parts on the VIN's live (in review or approved) claims of other records."""

    def odometer_readings(self, vin: str) -> list[OdometerReading]:
        """Every odometer reading on the VIN's service requests, in the order recorded."""

    def vins_of_phone(self, phone: str) -> list[str]:
        """Distinct VINs whose service requests or warranty records carry this phone."""

    def reused_photos(self, record_id: int, claim_id: int | None) -> list[ReusedPhoto]:
        """Photos of the record (or claim) whose content hash is also on another record or claim."""

    def station_stats(self, since: dt.datetime) -> list[StationStat]:
        """Per station: repairs finished and claims submitted (not withdrawn) since, with their total."""


class AftersalesUnitOfWork(UnitOfWork, Protocol):
    """The after-sales use cases' unit of work: ``aftersales`` and document numbers, on the shared
    one (warranty claims run through the approval workflow)."""

    aftersales: AftersalesRepository
    numbers: DocumentNumbering
    client_events: ClientEventLog  # forms posted twice answer the first post


class AftersalesQueries(Protocol):
    """Read side: plain rows, scoped in SQL by the caller's ``ServiceScope`` where a scope is
    taken (a station only ever reads its own work, a dealer only requests on its vehicles)."""

    def list_stations(self, scope: ServiceScope, *, region: str | None = None, product_line: str | None = None,
                      status: str | None = None, after_id: int | None = None,
                      limit: int = 50) -> list[dict[str, Any]]: ...

    def station(self, station_id: int) -> dict[str, Any] | None:
        """Unscoped: the caller decides whether the principal may see it."""

    def station_quality(self, station_id: int) -> dict[str, Any]:
        """服务质量指标 of the station, computed from its records."""

    def policies(self) -> list[dict[str, Any]]: ...

    def warranty(self, vin: str) -> dict[str, Any] | None:
        """The VIN's warranty record (``vin``, ``product_line``, ``customer_name``,
        ``customer_phone``, ``starts_on``, ``ends_on``, ``km_limit``, ...)."""

    def customer_context(self, vin: str, phone: str | None, exclude_request_id: int | None = None
                         ) -> dict[str, Any]:
        """客户信息提示: ``vehicle``, ``warranty``, ``other_vehicles``, ``previous_requests``
        (each with its ``station_id``), unscoped."""

    def list_requests(self, scope: ServiceScope, *, state: list[str] | None = None, station_id: int | None = None,
                      vin: str | None = None, phone: str | None = None, warranty_state: str | None = None,
                      before_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]: ...

    def request_detail(self, scope: ServiceScope, request_id: int) -> dict[str, Any] | None: ...

    def record_scoped(self, scope: ServiceScope, record_id: int) -> dict[str, Any] | None: ...

    def list_claims(self, scope: ServiceScope, *, state: str | None = None, station_id: int | None = None,
                    month: str | None = None, before_id: int | None = None,
                    limit: int = 50) -> list[dict[str, Any]]: ...

    def claim(self, scope: ServiceScope, claim_id: int) -> dict[str, Any] | None: ...

    def settlement_statement(self, scope: ServiceScope, month: str, station_id: int | None = None
                             ) -> list[dict[str, Any]]: ...

    def stock_report(self, scope: ServiceScope, *, station_id: int | None = None, part_no: str | None = None,
                     region: str | None = None, include_zero: bool = False) -> list[dict[str, Any]]: ...

    def movements(self, scope: ServiceScope, station_id: int, part_no: str | None = None,
                  before_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]: ...

    def parts(self) -> list[dict[str, Any]]: ...

    def major_repairs(self, scope: ServiceScope) -> list[dict[str, Any]]: ...

    def repair_report(self, scope: ServiceScope, *, group_by: str, start: dt.datetime, end: dt.datetime,
                      product_line: str | None = None, fault_category: str | None = None,
                      model_code: str | None = None, vin: str | None = None) -> list[dict[str, Any]]:
        """Repairs finished in [start, end) grouped by one of ``REPORT_DIMENSIONS``."""

    # -- the service network (issue 18 §3) -------------------------------------------------------

    def stations_in_box(self, box: BoundingBox, *, product_line: str | None = None) -> list[dict[str, Any]]:
        """Active stations with coordinates inside the box (the prefilter of the nearest-station
        query): ``id``, ``latitude``, ``longitude`` and the station's list columns."""

    def technicians(self, station_id: int, *, include_inactive: bool = False) -> list[dict[str, Any]]: ...

    def technician(self, technician_id: int) -> dict[str, Any] | None:
        """Unscoped: the caller checks the station."""

    def plans(self, *, vin: str | None = None, station_id: int | None = None, dealer_id: int | None = None,
              include_inactive: bool = False) -> list[dict[str, Any]]: ...

    def plan(self, plan_id: int) -> dict[str, Any] | None: ...

    # -- media (issue 18 §2) -------------------------------------------------------------------------

    def media_of(self, owner_type: str, owner_id: int) -> list[dict[str, Any]]: ...

    def part_no_of_id(self, part_id: int) -> str | None:
        """The part number of the parts-master row ``part_id`` (a part picture's owner), or ``None``."""

    # -- claim risk (issue 18 §1) ----------------------------------------------------------------

    def operations(self) -> list[dict[str, Any]]: ...

    def risk_report(self, scope: ServiceScope, *, start: dt.datetime, end: dt.datetime,
                    station_id: int | None = None) -> list[dict[str, Any]]:
        """Per station, claims submitted in [start, end): ``claims``, ``flagged``, ``scored``,
        ``score_sum`` and ``reason_counts`` (reason code → claims with it); scoped in SQL."""

    def media(self, media_id: int) -> dict[str, Any] | None:
        """Unscoped: the caller checks that the principal may see the media's owner."""
