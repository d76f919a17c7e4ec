"""The after-sales service (``crm.aftersales``): stations, warranty, service requests, repair
records, settlement claims, station stock and reports, with dependencies bound.

Writes go through ``application.aftersales`` (each call one transaction). Reads come from the
``AftersalesQueries`` port, scoped by the caller: who may read at all is ``READERS`` (plus
dealers for service requests on their own vehicles); a station sees only its own work, a dealer
only requests on its own vehicles, anything else is 404; and a station reading a customer's
history does not learn which other stations served it (``hide_other_stations``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import attrs

from dealercrm.application import aftersales as af
from dealercrm.application.access import not_found, require_role, service_scope
from dealercrm.application.aftersales_reports import MonthlyRepairReportJob
from dealercrm.application.ports.aftersales import REPORT_DIMENSIONS, AftersalesQueries
from dealercrm.application.ports.parts_supply import PartsSupplyUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.domain.aftersales import (
    NO_WARRANTY,
    SHANGHAI,
    Suggestion,
    WarrantyCheck,
    WarrantyRecord,
    month_bounds,
)
from dealercrm.domain.claim_risk import RULE_CODES, RULE_LABELS, RiskConfig
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.service_network import GeoPoint
from dealercrm.domain.values import Vin

# The after-sales unit of work with the parts-supply repository: the one-step transfer books a transfer record.
AftersalesUnitOfWorkFactory = Callable[[Principal], PartsSupplyUnitOfWork]

READERS = (Role.AFTER_SALES, Role.ADMIN, Role.FINANCE, Role.STATION)


class AftersalesService:
    """After-sales with its dependencies bound; owns the read checks and the masking rule."""

    def __init__(self, uow: AftersalesUnitOfWorkFactory, clock: Clock, queries: AftersalesQueries) -> None:
        self._u: AftersalesUnitOfWorkFactory = uow
        self._clock: Clock = clock
        self.queries: AftersalesQueries = queries

    def monthly_report_job(self, portal_url: str) -> MonthlyRepairReportJob:
        """The scheduler's job that e-mails last month's repair report (seed §4.0.6)."""
        return MonthlyRepairReportJob(self.queries, portal_url)

    # stations
    def create_station(self, actor: Principal, cmd: af.StationIn) -> int:
        """Create a contracted service station (服务站) with its profile (region, location, product lines,
        labour rate); after-sales or admin. Returns its id; ``InvalidValue``, ``PermissionDenied``."""
        return af.create_station(cmd, self._u(actor), self._clock)

    def create_station_once(self, actor: Principal, cmd: af.StationIn, *, form_token: str) -> int:
        """``create_station`` once per form token of this user (a double-submitted form creates one
        station; the repeat gets its id). ``InvalidValue`` (also a reused token), ``PermissionDenied``."""
        return af.create_station_once(cmd, lambda: self._u(actor), self._clock, form_token=form_token)

    def update_station(self, actor: Principal, station_id: int, cmd: af.StationIn) -> None:
        """Change a station's profile; after-sales or admin. ``InvalidValue``, ``PermissionDenied``, ``NotFound``."""
        af.update_station(station_id, cmd, self._u(actor))

    def station_status(self, actor: Principal, station_id: int, action: str) -> str:
        """Suspend, reactivate or terminate a station (``action``); after-sales or admin. Returns the new
        status; ``InvalidValue`` (action), ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return af.change_station_status(station_id, action, self._u(actor))

    def list_stations(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        """Service stations, filtered; after-sales, admin, finance or stations (``PermissionDenied`` otherwise)."""
        require_role(actor, *READERS)
        return self.queries.list_stations(service_scope(actor), **filters)

    def station(self, actor: Principal, station_id: int) -> dict[str, Any]:
        """A station with its quality figures; another station's is 404 to a station user."""
        require_role(actor, *READERS)
        scope = service_scope(actor)
        row = self.queries.station(station_id)
        if row is None or (scope.station_id is not None and scope.station_id != station_id):
            raise not_found("service_station", "服务站")
        row["quality"] = self.queries.station_quality(station_id)
        return row

    # warranty
    def put_policy(self, actor: Principal, cmd: af.PolicyIn) -> int:
        """Create or change the warranty policy (保修政策) of a product line or one template; warranties already
        started keep their dates. After-sales or admin; returns the policy id. ``InvalidValue``, ``PermissionDenied``."""
        return af.put_policy(cmd, self._u(actor))

    def policies(self, actor: Principal) -> list[dict[str, Any]]:
        """The warranty policies; after-sales, admin, finance or stations."""
        require_role(actor, *READERS)
        return self.queries.policies()

    def record_warranty(self, actor: Principal, cmd: af.WarrantyIn) -> int:
        """Start a VIN's warranty (保修) from its delivery to the end customer under its policy, one record per
        VIN; after-sales or admin. Returns the record id; ``InvalidValue``, ``Conflict`` (exists),
        ``PermissionDenied``, ``NotFound`` (vehicle)."""
        return af.record_warranty(cmd, self._u(actor), self._clock)

    def _today(self) -> dt.date:
        return self._clock().astimezone(SHANGHAI).date()

    def check_warranty(self, actor: Principal, vin: str, odometer_km: int | None) -> dict[str, Any]:
        """Whether a VIN is in warranty today (and within the km limit), with its record; after-sales,
        admin, finance or stations. ``InvalidValue`` (VIN), ``PermissionDenied``."""
        require_role(actor, *READERS)
        vin = Vin(vin.strip().upper()).value
        record = self.queries.warranty(vin)
        return {"vin": vin, "check": warranty_check(record, self._today(), odometer_km), "record": record}

    # requests
    def create_request(self, actor: Principal, cmd: af.RequestIn) -> af.RequestCreated:
        """Record a customer's service request (服务请求); warranty and service contracts are judged now (a
        warning, never a refusal); a station recording its own takes it at once. After-sales, admin or
        stations; returns ``RequestCreated``. ``InvalidValue``, ``PermissionDenied``, ``NotFound``."""
        return af.create_request(cmd, self._u(actor), self._clock)

    def suggest(self, actor: Principal, request_id: int, at: GeoPoint | None = None) -> list[Suggestion]:
        """The stations suggested for a request (proximity, product line, load; by distance from ``at``, where
        the vehicle stands, when given); after-sales or admin. ``PermissionDenied``, ``NotFound``."""
        return af.suggest_for(request_id, self._u(actor), at)

    def assign(self, actor: Principal, request_id: int, station_id: int | None,
               technician_id: int | None = None, at: GeoPoint | None = None) -> int:
        """Dispatch a request to ``station_id`` (manual) or, with ``None``, to the best suggestion (the nearest
        to ``at`` when given), optionally to a technician; after-sales or admin. Returns the station id;
        ``InvalidValue``, ``IllegalTransition``, ``BusinessRuleViolation`` (no station able to take it),
        ``PermissionDenied``, ``NotFound``."""
        return af.assign_request(request_id, station_id, self._u(actor), self._clock, technician_id=technician_id,
                                 at=at)

    def accept(self, actor: Principal, request_id: int) -> str:
        """The assigned station accepts the request (接单); after-sales, admin or that station. Returns the new
        state; ``IllegalTransition``, ``PermissionDenied``, ``NotFound`` (another station's)."""
        return af.accept_request(request_id, self._u(actor), self._clock)

    def refuse(self, actor: Principal, request_id: int, reason: str) -> str:
        """The assigned station refuses the request with a reason (拒单); after-sales, admin or that station.
        Returns the new state; ``InvalidValue``, ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return af.refuse_request(request_id, reason, self._u(actor), self._clock)

    def resolve(self, actor: Principal, request_id: int, resolution: str) -> str:
        """Resolve a request on the hotline (电话解决) without a station; after-sales or admin. Returns the new
        state; ``InvalidValue``, ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return af.resolve_request(request_id, resolution, self._u(actor), self._clock)

    def cancel(self, actor: Principal, request_id: int, reason: str) -> str:
        """Cancel a request with a reason; after-sales or admin. Returns the new state; ``InvalidValue``,
        ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return af.cancel_request(request_id, reason, self._u(actor), self._clock)

    def close(self, actor: Principal, request_id: int) -> str:
        """Close a finished request (关闭); after-sales or admin. Returns the new state;
        ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return af.close_request(request_id, self._u(actor), self._clock)

    def list_requests(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        """Service requests in the caller's scope (a station its own, a dealer those on its vehicles),
        filtered; after-sales, admin, finance, stations or dealers. ``PermissionDenied``."""
        require_role(actor, *READERS, Role.DEALER)
        return self.queries.list_requests(service_scope(actor), **filters)

    def request(self, actor: Principal, request_id: int, *, with_context: bool = True) -> dict[str, Any]:
        """A request in the caller's scope (else 404). After-sales staff and stations also get the
        customer context (masked for a station); a dealer never does."""
        require_role(actor, *READERS, Role.DEALER)
        scope = service_scope(actor)
        row = self.queries.request_detail(scope, request_id)
        if row is None:
            raise not_found("service_request", "服务请求")
        if with_context and scope.dealer_id is None:
            ctx = self.queries.customer_context(row["vin"], row["customer_phone"], request_id)
            ctx["warranty_check"] = warranty_check(ctx["warranty"], self._today(), row["odometer_km"])
            row["context"] = hide_other_stations(ctx, actor)
        return row

    def customer_context(self, actor: Principal, vin: str, phone: str | None) -> dict[str, Any]:
        """客户信息提示 before or while recording a request (after-sales staff and stations)."""
        require_role(actor, *af.WORKERS)
        vin = Vin(vin.strip().upper()).value
        ctx = self.queries.customer_context(vin, phone)
        ctx["warranty_check"] = warranty_check(ctx["warranty"], self._today(), None)
        return hide_other_stations(ctx, actor)

    # repair records
    def record_repair(self, actor: Principal, request_id: int, cmd: af.RepairIn) -> tuple[int, str]:
        """The station records the repair (维修记录); parts leave its stock by their use in the same transaction
        (short stock refuses the whole record). After-sales, admin or the request's station; returns (id,
        number). ``InvalidValue``, ``InsufficientStock`` (a ``Conflict``), ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return af.record_repair(request_id, cmd, self._u(actor), self._clock)

    def confirm_repair(self, actor: Principal, record_id: int, cmd: af.ConfirmIn) -> str:
        """The end customer's confirmation of a repair (at the station, or on a return call); after-sales,
        admin or the station. Returns the new state; ``InvalidValue``, ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return af.confirm_repair(record_id, cmd, self._u(actor), self._clock)

    def flag_major(self, actor: Principal, record_id: int, agreement: str, compensation_fen: int,
                   summary: str) -> None:
        """Flag a repair as a major case (重大维修) with the agreement, compensation (fen) and summary;
        after-sales or admin. ``InvalidValue``, ``PermissionDenied``, ``NotFound``."""
        af.flag_major(record_id, agreement, compensation_fen, summary, self._u(actor), self._clock)

    def record(self, actor: Principal, record_id: int) -> dict[str, Any]:
        """One repair record in the caller's scope (a station its own); after-sales, admin, finance or
        stations. ``PermissionDenied``, ``NotFound``."""
        require_role(actor, *READERS)
        row = self.queries.record_scoped(service_scope(actor), record_id)
        if row is None:
            raise not_found("repair_record", "维修记录")
        return row

    def major_repair(self, actor: Principal, record_id: int) -> dict[str, Any]:
        """A record flagged as a major repair case, in the caller's scope (else 404)."""
        row = self.record(actor, record_id)
        if not row["is_major"]:
            raise not_found("major_repair", "重大维修案例")
        return row

    def major_repairs(self, actor: Principal) -> list[dict[str, Any]]:
        """The major repair cases in the caller's scope; after-sales, admin, finance or stations."""
        require_role(actor, *READERS)
        return self.queries.major_repairs(service_scope(actor))

    def repair_report(self, actor: Principal, *, group_by: str, date_from: dt.date, date_to: dt.date,
                      **filters: Any) -> list[dict[str, Any]]:
        """Repair counts and costs grouped by a dimension over Beijing days [date_from, date_to], in the
        caller's scope; after-sales, admin, finance or stations. ``InvalidValue`` (dimension, range), ``PermissionDenied``."""
        require_role(actor, *READERS)
        if group_by not in REPORT_DIMENSIONS:
            raise InvalidValue("group_by", f"统计维度须为：{'、'.join(REPORT_DIMENSIONS)}",
                               code="aftersales.dimension_unknown")
        if date_to < date_from:
            raise InvalidValue("date_to", "结束日期不能早于开始日期", code="aftersales.period_invalid")
        start = dt.datetime.combine(date_from, dt.time(), SHANGHAI)
        end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), SHANGHAI)
        return self.queries.repair_report(service_scope(actor), group_by=group_by, start=start, end=end,
                                          **filters)

    # claims and settlement
    def submit_claim(self, actor: Principal, record_id: int) -> tuple[int, str]:
        """Claim a repair's labour and warranty parts for settlement (结算申请); its review starts, with a risk
        review step when the claim is flagged. After-sales, admin or the station; returns (id, number).
        ``Conflict`` (a claim already open or approved), ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return af.submit_claim(record_id, self._u(actor), self._clock)

    def decide_claim(self, actor: Principal, claim_id: int, decision: str, reason: str | None = None) -> str:
        """Decide the caller's step of a claim's review (after-sales first, then finance); a rejection needs a
        reason. After-sales, finance or admin; returns the claim's state. ``InvalidValue``, ``PermissionDenied``,
        ``NotFound``, ``IllegalTransition``."""
        return af.decide_claim(claim_id, decision, reason, self._u(actor), self._clock)

    def decide_claim_once(self, actor: Principal, claim_id: int, decision: str, reason: str | None, *,
                          form_token: str, precondition: Callable[[], None] | None = None) -> str:
        """``decide_claim`` once per form token of this user (a double-submitted decision decides once;
        ``precondition`` runs inside the first attempt). Same access and errors as ``decide_claim``."""
        return af.decide_claim_once(claim_id, decision, reason, lambda: self._u(actor), self._clock,
                                    form_token=form_token, precondition=precondition)

    def list_claims(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        """Settlement claims in the caller's scope, filtered; after-sales, admin, finance or stations."""
        require_role(actor, *READERS)
        return self.queries.list_claims(service_scope(actor), **filters)

    def claim(self, actor: Principal, claim_id: int) -> dict[str, Any]:
        """One settlement claim in the caller's scope; after-sales, admin, finance or stations.
        ``PermissionDenied``, ``NotFound``."""
        require_role(actor, *READERS)
        row = self.queries.claim(service_scope(actor), claim_id)
        if row is None:
            raise not_found("settlement_claim", "结算申请")
        return row

    def settlement(self, actor: Principal, month: str, station_id: int | None = None) -> list[dict[str, Any]]:
        """The month's settlement statement (月度结算单, ``YYYY-MM``) per station in the caller's scope;
        after-sales, admin, finance or stations. ``InvalidValue`` (month), ``PermissionDenied``."""
        require_role(actor, *READERS)
        month_bounds(month)  # validates YYYY-MM
        return self.queries.settlement_statement(service_scope(actor), month, station_id)

    # claim risk (issue 18 §1)
    def put_operation(self, actor: Principal, cmd: af.OperationIn) -> str:
        """Create or change a repair operation (维修工时项目) with its standard hours; after-sales or admin.
        Returns its code; ``InvalidValue``, ``PermissionDenied``."""
        return af.put_operation(cmd, self._u(actor))

    def operations(self, actor: Principal) -> list[dict[str, Any]]:
        """The repair operations with their standard hours; after-sales, admin, finance or stations."""
        require_role(actor, *READERS)
        return self.queries.operations()

    def risk_config(self, actor: Principal) -> RiskConfig:
        """The claim risk configuration (rules, weights, thresholds); after-sales, admin or finance.
        ``PermissionDenied``."""
        return af.risk_config(self._u(actor))

    def put_risk_config(self, actor: Principal, data: dict[str, Any]) -> RiskConfig:
        """Replace the claim risk configuration (omitted values take the default; claims already scored keep
        their score); after-sales or admin. Returns the new ``RiskConfig``; ``InvalidValue``, ``PermissionDenied``."""
        return af.put_risk_config(data, self._u(actor), self._clock)

    def risk_report(self, actor: Principal, *, date_from: dt.date, date_to: dt.date,
                    station_id: int | None = None, top: int = 3) -> list[StationRisk]:
        """Per station, the claims submitted in the Beijing days [date_from, date_to]: how many,
        the flagged share, the average score and the reasons named most often. A station reads
        only its own row; dealers none."""
        require_role(actor, *READERS)
        if date_to < date_from:
            raise InvalidValue("date_to", "结束日期不能早于开始日期", code="aftersales.period_invalid")
        start = dt.datetime.combine(date_from, dt.time(), SHANGHAI)
        end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), SHANGHAI)
        rows = self.queries.risk_report(service_scope(actor), start=start, end=end, station_id=station_id)
        return [station_risk(r, top) for r in rows]

    # parts and stock
    def put_part(self, actor: Principal, cmd: af.PartCatalogIn) -> str:
        """Create or change a part in the parts master (配件主数据: name, unit, cost and price in fen);
        after-sales or admin. Returns the part number; ``InvalidValue``, ``PermissionDenied``."""
        return af.put_part(cmd, self._u(actor))

    def parts(self, actor: Principal) -> list[dict[str, Any]]:
        """The parts master; after-sales, admin, finance or stations."""
        require_role(actor, *READERS)
        return self.queries.parts()

    def book_stock(self, actor: Principal, cmd: af.StockIn) -> int:
        """Book a receipt, an issue by use, or a stocktake at one station; a station books only its own.
        After-sales, admin or stations; returns the new balance. ``InvalidValue``, ``InsufficientStock``
        (a ``Conflict``), ``PermissionDenied``, ``NotFound``."""
        return af.book_stock(cmd, self._u(actor), self._clock)

    def transfer(self, actor: Principal, from_station_id: int, to_station_id: int, part_no: str, quantity: int,
                 note: str | None = None) -> tuple[int, int]:
        """Move parts from one station to another (调拨) in one transaction; after-sales or admin. Returns the
        two new balances; ``InvalidValue``, ``InsufficientStock`` (a ``Conflict``), ``PermissionDenied``, ``NotFound``."""
        return af.transfer_stock(from_station_id, to_station_id, part_no, quantity, note, self._u(actor),
                                 self._clock)

    def stock_report(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        """Parts stock per station in the caller's scope, filtered; after-sales, admin, finance or stations."""
        require_role(actor, *READERS)
        return self.queries.stock_report(service_scope(actor), **filters)

    def movements(self, actor: Principal, station_id: int, **filters: Any) -> list[dict[str, Any]]:
        """One station's stock movements, for a caller who may see the station; ``PermissionDenied``, ``NotFound``."""
        self.station(actor, station_id)
        return self.queries.movements(service_scope(actor), station_id, **filters)


@attrs.frozen
class StationRisk:
    """One station's line of the risk report."""

    station_id: int
    station_code: str
    station_name: str
    region: str
    claims: int
    flagged: int
    flagged_percent: str
    average_score: str | None
    top_reasons: tuple[tuple[str, str, int], ...]  # (code, Chinese name, claims naming it)


def _one_decimal(numerator: int, denominator: int) -> str:
    return str((Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN))


def station_risk(row: dict[str, Any], top: int) -> StationRisk:
    """A report row from the query's counts; ties among reasons go to the rule order."""
    order = {c: i for i, c in enumerate(RULE_CODES)}
    counts = sorted(row["reason_counts"].items(), key=lambda kv: (-kv[1], order.get(kv[0], 99)))[:top]
    return StationRisk(
        row["station_id"], row["station_code"], row["station_name"], row["region"], row["claims"], row["flagged"],
        _one_decimal(row["flagged"] * 100, row["claims"]),
        _one_decimal(row["score_sum"], row["scored"]) if row["scored"] else None,
        tuple((code, RULE_LABELS.get(code, code), n) for code, n in counts))


def warranty_check(row: dict[str, Any] | None, on: dt.date, odometer_km: int | None) -> WarrantyCheck:
    """The warranty state of a stored warranty row on a day (no row: no warranty)."""
    if row is None:
        return NO_WARRANTY
    record = WarrantyRecord(vin=row["vin"], product_line=row["product_line"], customer_name=row["customer_name"],
                            customer_phone=row["customer_phone"], starts_on=row["starts_on"], ends_on=row["ends_on"],
                            km_limit=row["km_limit"])
    return record.check(on, odometer_km)


def hide_other_stations(ctx: dict[str, Any], actor: Principal) -> dict[str, Any]:
    """The PII masking rule of the customer context: a station learns the customer's history,
    not which other stations served it (their ``station_id`` becomes ``None``)."""
    if actor.role is Role.STATION:
        for r in ctx["previous_requests"]:
            if r["station_id"] != actor.station_id:
                r["station_id"] = None
    return ctx


__all__ = ["READERS", "AftersalesService", "StationRisk", "WarrantyCheck", "hide_other_stations", "station_risk",
           "warranty_check"]
