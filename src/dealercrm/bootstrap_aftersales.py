"""The after-sales facade (``container.aftersales``): stations, warranty, service requests,
repair records, settlement claims, station stock and reports, with dependencies bound.

Writes go through ``application.aftersales`` (each call one transaction); reads come from
``SqlAftersalesQueries``, scoped by the caller (a station sees only its own work, a dealer only
requests on its own vehicles; anything else is 404). Kept beside ``bootstrap.py`` because, like
it, it names a concrete adapter.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import attrs

from dealercrm.application import aftersales as af
from dealercrm.application.access import not_found, require_role
from dealercrm.domain.aftersales import NO_WARRANTY, SHANGHAI, Suggestion, WarrantyCheck, WarrantyRecord
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import Vin

if TYPE_CHECKING:
    from dealercrm.bootstrap import Container

READERS = (Role.AFTER_SALES, Role.ADMIN, Role.FINANCE, Role.STATION)


@attrs.define
class AftersalesService:
    _c: Any  # the container; resolvable at run time so Litestar can inject the facade
    _queries: Any = attrs.field(default=None, init=False)

    @property
    def queries(self) -> Any:
        if self._queries is None:
            from dealercrm.adapters.db.aftersales_queries import SqlAftersalesQueries

            self._queries = SqlAftersalesQueries(self._c.engine)
        return self._queries

    def _u(self, actor: Principal) -> Any:
        return self._c.uow(actor)

    # stations
    def create_station(self, actor: Principal, cmd: af.StationIn) -> int:
        return af.create_station(cmd, self._u(actor), self._c.clock)

    def update_station(self, actor: Principal, station_id: int, cmd: af.StationIn) -> None:
        af.update_station(station_id, cmd, self._u(actor))

    def station_status(self, actor: Principal, station_id: int, action: str) -> str:
        return af.change_station_status(station_id, action, self._u(actor))

    def list_stations(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        require_role(actor, *READERS)
        return self.queries.list_stations(af.service_scope(actor), **filters)

    def station(self, actor: Principal, station_id: int) -> dict[str, Any]:
        require_role(actor, *READERS)
        scope = af.service_scope(actor)
        row = self.queries.station(station_id)
        if row is None or (scope.station_id is not None and scope.station_id != station_id):
            raise not_found("service_station", "服务站")
        row["quality"] = self.queries.station_quality(station_id)
        return row

    # warranty
    def put_policy(self, actor: Principal, cmd: af.PolicyIn) -> int:
        return af.put_policy(cmd, self._u(actor))

    def policies(self, actor: Principal) -> list[dict[str, Any]]:
        require_role(actor, *READERS)
        return self.queries.policies()

    def record_warranty(self, actor: Principal, cmd: af.WarrantyIn) -> int:
        return af.record_warranty(cmd, self._u(actor), self._c.clock)

    def _today(self) -> dt.date:
        return self._c.clock().astimezone(SHANGHAI).date()

    def check_warranty(self, actor: Principal, vin: str, odometer_km: int | None) -> dict[str, Any]:
        require_role(actor, *READERS)
        vin = Vin(vin.strip().upper()).value
        record = self.queries.warranty(vin)
        return {"vin": vin, "check": _check_row(record, self._today(), odometer_km), "record": record}

    # requests
    def create_request(self, actor: Principal, cmd: af.RequestIn) -> af.RequestCreated:
        return af.create_request(cmd, self._u(actor), self._c.clock)

    def suggest(self, actor: Principal, request_id: int) -> list[Suggestion]:
        return af.suggest_for(request_id, self._u(actor))

    def assign(self, actor: Principal, request_id: int, station_id: int | None) -> int:
        return af.assign_request(request_id, station_id, self._u(actor), self._c.clock)

    def accept(self, actor: Principal, request_id: int) -> str:
        return af.accept_request(request_id, self._u(actor), self._c.clock)

    def refuse(self, actor: Principal, request_id: int, reason: str) -> str:
        return af.refuse_request(request_id, reason, self._u(actor), self._c.clock)

    def resolve(self, actor: Principal, request_id: int, resolution: str) -> str:
        return af.resolve_request(request_id, resolution, self._u(actor), self._c.clock)

    def cancel(self, actor: Principal, request_id: int, reason: str) -> str:
        return af.cancel_request(request_id, reason, self._u(actor), self._c.clock)

    def close(self, actor: Principal, request_id: int) -> str:
        return af.close_request(request_id, self._u(actor), self._c.clock)

    def list_requests(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        require_role(actor, *READERS, Role.DEALER)
        return self.queries.list_requests(af.service_scope(actor), **filters)

    def request(self, actor: Principal, request_id: int, *, with_context: bool = True) -> dict[str, Any]:
        require_role(actor, *READERS, Role.DEALER)
        scope = af.service_scope(actor)
        row = self.queries.request_detail(scope, request_id)
        if row is None:
            raise not_found("service_request", "服务请求")
        if with_context and scope.dealer_id is None:
            ctx = self.queries.customer_context(row["vin"], row["customer_phone"], request_id)
            ctx["warranty_check"] = _check_row(ctx["warranty"], self._today(), row["odometer_km"])
            row["context"] = _masked(ctx, actor)
        return row

    def customer_context(self, actor: Principal, vin: str, phone: str | None) -> dict[str, Any]:
        """客户信息提示 before or while recording a request (after-sales staff and stations)."""
        require_role(actor, *af.WORKERS)
        vin = Vin(vin.strip().upper()).value
        ctx = self.queries.customer_context(vin, phone)
        ctx["warranty_check"] = _check_row(ctx["warranty"], self._today(), None)
        return _masked(ctx, actor)

    # repair records
    def record_repair(self, actor: Principal, request_id: int, cmd: af.RepairIn) -> tuple[int, str]:
        return af.record_repair(request_id, cmd, self._u(actor), self._c.clock)

    def confirm_repair(self, actor: Principal, record_id: int, cmd: af.ConfirmIn) -> str:
        return af.confirm_repair(record_id, cmd, self._u(actor), self._c.clock)

    def flag_major(self, actor: Principal, record_id: int, agreement: str, compensation_fen: int,
                   summary: str) -> None:
        af.flag_major(record_id, agreement, compensation_fen, summary, self._u(actor), self._c.clock)

    def record(self, actor: Principal, record_id: int) -> dict[str, Any]:
        require_role(actor, *READERS)
        row = self.queries.record_scoped(af.service_scope(actor), record_id)
        if row is None:
            raise not_found("repair_record", "维修记录")
        return row

    def major_repairs(self, actor: Principal) -> list[dict[str, Any]]:
        require_role(actor, *READERS)
        return self.queries.major_repairs(af.service_scope(actor))

    def repair_report(self, actor: Principal, *, group_by: str, date_from: dt.date, date_to: dt.date,
                      **filters: Any) -> list[dict[str, Any]]:
        require_role(actor, *READERS)
        from dealercrm.adapters.db.aftersales_queries import REPORT_DIMENSIONS

        if group_by not in REPORT_DIMENSIONS:
            raise InvalidValue("group_by", f"统计维度须为：{'、'.join(REPORT_DIMENSIONS)}",
                               code="aftersales.dimension_unknown")
        if date_to < date_from:
            raise InvalidValue("date_to", "结束日期不能早于开始日期", code="aftersales.period_invalid")
        start = dt.datetime.combine(date_from, dt.time(), SHANGHAI)
        end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), SHANGHAI)
        return self.queries.repair_report(af.service_scope(actor), group_by=group_by, start=start, end=end,
                                          **filters)

    # claims and settlement
    def submit_claim(self, actor: Principal, record_id: int) -> tuple[int, str]:
        return af.submit_claim(record_id, self._u(actor), self._c.clock)

    def decide_claim(self, actor: Principal, claim_id: int, decision: str, reason: str | None = None) -> str:
        return af.decide_claim(claim_id, decision, reason, self._u(actor), self._c.clock)

    def list_claims(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        require_role(actor, *READERS)
        return self.queries.list_claims(af.service_scope(actor), **filters)

    def claim(self, actor: Principal, claim_id: int) -> dict[str, Any]:
        require_role(actor, *READERS)
        row = self.queries.claim(af.service_scope(actor), claim_id)
        if row is None:
            raise not_found("settlement_claim", "结算申请")
        return row

    def settlement(self, actor: Principal, month: str, station_id: int | None = None) -> list[dict[str, Any]]:
        require_role(actor, *READERS)
        from dealercrm.domain.aftersales import month_bounds

        month_bounds(month)  # validates YYYY-MM
        return self.queries.settlement_statement(af.service_scope(actor), month, station_id)

    # parts and stock
    def put_part(self, actor: Principal, cmd: af.PartCatalogIn) -> str:
        return af.put_part(cmd, self._u(actor))

    def parts(self, actor: Principal) -> list[dict[str, Any]]:
        require_role(actor, *READERS)
        return self.queries.parts()

    def book_stock(self, actor: Principal, cmd: af.StockIn) -> int:
        return af.book_stock(cmd, self._u(actor), self._c.clock)

    def transfer(self, actor: Principal, from_station_id: int, to_station_id: int, part_no: str, quantity: int,
                 note: str | None = None) -> tuple[int, int]:
        return af.transfer_stock(from_station_id, to_station_id, part_no, quantity, note, self._u(actor),
                                 self._c.clock)

    def stock_report(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        require_role(actor, *READERS)
        return self.queries.stock_report(af.service_scope(actor), **filters)

    def movements(self, actor: Principal, station_id: int, **filters: Any) -> list[dict[str, Any]]:
        self.station(actor, station_id)
        return self.queries.movements(af.service_scope(actor), station_id, **filters)


def _check_row(row: dict[str, Any] | None, on: dt.date, odometer_km: int | None) -> WarrantyCheck:
    if row is None:
        return NO_WARRANTY
    record = WarrantyRecord(vin=row["vin"], product_line=row["product_line"], customer_name=row["customer_name"],
                            customer_phone=row["customer_phone"], starts_on=row["starts_on"], ends_on=row["ends_on"],
                            km_limit=row["km_limit"])
    return record.check(on, odometer_km)


def _masked(ctx: dict[str, Any], actor: Principal) -> dict[str, Any]:
    """A station learns the customer's history, not which other stations served it."""
    if actor.role is Role.STATION:
        for r in ctx["previous_requests"]:
            if r["station_id"] != actor.station_id:
                r["station_id"] = None
    return ctx


__all__ = ["AftersalesService", "WarrantyCheck"]
