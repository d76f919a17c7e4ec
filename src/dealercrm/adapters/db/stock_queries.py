"""Read side of dealer and factory stock: Core queries scoped in SQL by the caller's dealer scope,
keyset-paginated by vehicle id, returning plain dicts.

A page is one statement: an indexed keyset query over ``vehicles`` (joined to its dealer for the
region) whose seed invoice words (未开票 / 已开票未收款 / 已开票已收款), live retail sale and
ageing thresholds are correlated lookups for the page's rows only, so the cost of a page does not
grow with the size of the stock. Statements are built once per shape of filters.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import String, and_, bindparam, case, select, type_coerce
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import Select

from dealercrm.adapters.db.credit_queries import vehicle_invoice_status_expr
from dealercrm.adapters.db.gate_tables import vehicle_events, vehicles
from dealercrm.adapters.db.orm import dealers
from dealercrm.adapters.db.stock_tables import (
    dealer_stock_limits,
    retail_sale_payments,
    retail_sales,
    stock_ageing_policy,
)
from dealercrm.application.access import DealerScope
from dealercrm.application.dealer_stock import STAT_ACTIONS
from dealercrm.domain.credit import VehicleInvoiceStatus
from dealercrm.domain.dealer_stock import AgeingPolicy, SaleStatus, days_in_stock
from dealercrm.domain.vehicles import VehicleState

FACTORY_STATES = (VehicleState.IN_FACTORY_STOCK, VehicleState.PICKUP_AUTHORIZED)
DEALER_STATES = (VehicleState.IN_DEALER_STOCK,)
LIVE_SALES = (SaleStatus.UNCONFIRMED.value, SaleStatus.CONFIRMED.value)

_V = vehicles.c
STOCK_COLUMNS = (
    _V.id, type_coerce(_V.vin, String).label("vin"), _V.state, _V.dealer_id, dealers.c.code.label("dealer_code"),
    dealers.c.legal_name.label("dealer_name"), dealers.c.region, _V.product_line, _V.model_code, _V.order_no,
    _V.contract_no, _V.erp_tracking_no, _V.agreed_delivery_date, _V.stocked_at, _V.released_at, _V.received_at,
    _V.state_changed_at,
)


def _lookups() -> tuple[Any, ...]:
    """The page's decorations as correlated lookups in the same statement (one round trip per
    page, each an index probe for one of the page's rows): the seed's invoice words by the
    credit context's own rule (:func:`vehicle_invoice_status_expr`), the live retail sale of a
    sold vehicle, and the ageing thresholds (uncorrelated, evaluated once)."""
    invoice = vehicle_invoice_status_expr(_V.vin, _V.contract_no).label("invoice_status")
    def live_sale(column: Any, name: str) -> Any:
        latest = (select(column).where(retail_sales.c.vin == _V.vin, retail_sales.c.status.in_(LIVE_SALES))
                  .order_by(retail_sales.c.id.desc()).limit(1).scalar_subquery())
        return case((_V.state == VehicleState.SOLD.value, latest)).label(name)

    sale_id, sale_status = live_sale(retail_sales.c.id, "sale_id"), live_sale(retail_sales.c.status, "sale_status")
    policy = stock_ageing_policy.c
    yellow = select(policy.yellow_from_days).where(policy.id == 1).scalar_subquery().label("policy_yellow")
    red = select(policy.red_from_days).where(policy.id == 1).scalar_subquery().label("policy_red")
    return invoice, sale_id, sale_status, yellow, red


_FILTER_COLUMNS = {"dealer_id": _V.dealer_id, "region": dealers.c.region, "product_line": _V.product_line,
                   "model_code": _V.model_code, "contract_no": _V.contract_no}


@functools.lru_cache(maxsize=256)
def _page_statement(shape: tuple[Any, ...]) -> Select[Any]:
    """The page statement for one combination of present filters, with bound parameters, built
    once per shape (statement construction costs as much as running the query)."""
    scoped_dealer, scoped_regions, n_states, filters, after, limit = shape
    q = (select(*STOCK_COLUMNS, *_lookups())
         .select_from(vehicles.outerjoin(dealers, dealers.c.id == _V.dealer_id))
         .order_by(_V.id))
    if scoped_dealer:
        q = q.where(_V.dealer_id == bindparam("scope_dealer_id"))
    if scoped_regions:
        q = q.where(dealers.c.region.in_(bindparam("scope_regions", expanding=True)))
    if n_states == 1:
        q = q.where(_V.state == bindparam("state"))
    elif n_states > 1:
        q = q.where(_V.state.in_(bindparam("states", expanding=True)))
    for name in filters:
        q = q.where(_FILTER_COLUMNS[name] == bindparam(f"f_{name}"))
    if after:
        q = q.where(_V.id > bindparam("after_id"))
    if limit:
        q = q.limit(bindparam("page_limit"))
    return q


def stock_query(scope: DealerScope, *, where: str | None = None, states: Sequence[str] | None = None,
                after_id: int | None = None, limit: int | None = 50, **filters: Any) -> tuple[Select[Any], dict[str, Any]]:
    """The page query and its parameters. ``where``: ``factory`` (已入库待提 and 已授权待提) or
    ``dealer`` (in a dealer's stock); ``states`` narrows further; ``filters`` are
    ``dealer_id``, ``region``, ``product_line``, ``model_code``, ``contract_no``."""
    params: dict[str, Any] = {}
    if scope.dealer_id is not None:
        params["scope_dealer_id"] = scope.dealer_id
    if scope.regions is not None:
        params["scope_regions"] = sorted(scope.regions)
    wanted: set[str] | None = None
    if where == "factory":
        wanted = {s.value for s in FACTORY_STATES}
    elif where == "dealer":
        wanted = {s.value for s in DEALER_STATES}
    if states:
        wanted = set(states) if wanted is None else wanted & set(states)
    ordered = sorted(wanted) if wanted is not None else []
    if wanted is not None and not ordered:
        ordered = ["-"]  # an empty intersection matches nothing
    if len(ordered) == 1:
        params["state"] = ordered[0]
    elif ordered:
        params["states"] = ordered
    present = tuple(sorted(name for name, value in filters.items() if value is not None))
    unknown = set(present) - set(_FILTER_COLUMNS)
    if unknown:
        raise TypeError(f"unknown stock filter: {sorted(unknown)[0]}")
    for name in present:
        params[f"f_{name}"] = filters[name]
    if after_id is not None:
        params["after_id"] = after_id
    if limit is not None:
        params["page_limit"] = limit
    shape = (scope.dealer_id is not None, scope.regions is not None, len(ordered), present, after_id is not None,
             limit is not None)
    return _page_statement(shape), params


def _dicts(result: Any) -> list[dict[str, Any]]:
    keys = list(result.keys())
    return [dict(zip(keys, row)) for row in result]


def _policy(conn: Connection) -> AgeingPolicy:
    row = conn.execute(select(stock_ageing_policy.c.yellow_from_days, stock_ageing_policy.c.red_from_days)
                       .where(stock_ageing_policy.c.id == 1)).first()
    return AgeingPolicy(row[0], row[1]) if row else AgeingPolicy()


class SqlStockQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ageing_policy(self) -> AgeingPolicy:
        with self.engine.connect() as conn:
            return _policy(conn)

    def dealer_region(self, dealer_id: int) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(dealers.c.region).where(dealers.c.id == dealer_id)).scalar()

    # -- stock lists -------------------------------------------------------------------------

    def list_stock(self, scope: DealerScope, now: dt.datetime, **filters: Any) -> list[dict[str, Any]]:
        if scope.nothing:
            return []
        statement, params = stock_query(scope, **filters)
        with self.engine.connect() as conn:  # one statement: the page with its lookups
            rows = _dicts(conn.execute(statement, params))
        return self._decorate(rows, now)

    def iter_stock(self, scope: DealerScope, now: dt.datetime, *, max_rows: int, **filters: Any
                   ) -> Iterator[dict[str, Any]]:
        """Every matching row (for exports), page by page in id order, at most ``max_rows``."""
        if scope.nothing:
            return
        after, sent = None, 0
        while sent < max_rows:
            statement, params = stock_query(scope, **filters, after_id=after, limit=min(1000, max_rows - sent))
            with self.engine.connect() as conn:
                rows = _dicts(conn.execute(statement, params))
            if not rows:
                return
            yield from self._decorate(rows, now)
            sent += len(rows)
            after = rows[-1]["id"]

    @staticmethod
    def _decorate(rows: list[dict[str, Any]], now: dt.datetime) -> list[dict[str, Any]]:
        """Turns the page's lookups into the status words, the live sale and the ageing band.
        The rows come from a scoped query, so their VINs and contracts are the caller's to see."""
        default_policy = AgeingPolicy()
        for r in rows:
            yellow, red = r.pop("policy_yellow"), r.pop("policy_red")
            policy = AgeingPolicy(yellow, red) if yellow is not None else default_policy
            state = VehicleState(r["state"])
            r["state"] = state.value
            r["state_label"] = state.label
            status = VehicleInvoiceStatus(r["invoice_status"])
            r["invoice_status"], r["invoice_status_label"] = status.value, status.label
            sale_status = r["sale_status"]
            if sale_status is not None:
                sale_status = SaleStatus(getattr(sale_status, "value", sale_status))
                r["sale_status"], r["sale_status_label"] = sale_status.value, sale_status.label
            else:
                r["sale_id"] = r["sale_status_label"] = None
            if state is VehicleState.IN_DEALER_STOCK:
                since = r["received_at"] or r["state_changed_at"]
                days = days_in_stock(since, now)
                band = policy.band_of(days)
                r["stock_in_at"], r["days_in_stock"] = since, days
                r["ageing_band"], r["ageing_label"], r["ageing_colour"] = band.value, band.label, band.colour
            else:
                r["stock_in_at"] = r["stocked_at"]
                r["days_in_stock"] = days_in_stock(r["stocked_at"], now) if r["stocked_at"] else None
                r["ageing_band"] = r["ageing_label"] = r["ageing_colour"] = None
        return rows

    # -- summary per dealer and template -----------------------------------------------------

    def summary(self, scope: DealerScope, now: dt.datetime, *, dealer_id: int | None = None,
                region: str | None = None) -> list[dict[str, Any]]:
        """Units in dealer stock per (dealer, template) with min/max and the count per ageing band."""
        if scope.nothing:
            return []
        policy = self.ageing_policy()
        q = (select(_V.dealer_id, dealers.c.code, dealers.c.legal_name, dealers.c.region, _V.model_code,
                    _V.received_at, _V.state_changed_at)
             .select_from(vehicles.join(dealers, dealers.c.id == _V.dealer_id))
             .where(_V.state == VehicleState.IN_DEALER_STOCK))
        lq = (select(dealer_stock_limits.c.dealer_id, dealers.c.code, dealers.c.legal_name, dealers.c.region,
                     dealer_stock_limits.c.model_code, dealer_stock_limits.c.min_units, dealer_stock_limits.c.max_units)
              .select_from(dealer_stock_limits.join(dealers, dealers.c.id == dealer_stock_limits.c.dealer_id)))
        for query_name in ("q", "lq"):
            query = q if query_name == "q" else lq
            table_dealer = _V.dealer_id if query_name == "q" else dealer_stock_limits.c.dealer_id
            if scope.dealer_id is not None:
                query = query.where(table_dealer == scope.dealer_id)
            if scope.regions is not None:
                query = query.where(dealers.c.region.in_(scope.regions))
            if dealer_id is not None:
                query = query.where(table_dealer == dealer_id)
            if region is not None:
                query = query.where(dealers.c.region == region)
            if query_name == "q":
                q = query
            else:
                lq = query
        out: dict[tuple[int, str | None], dict[str, Any]] = {}

        def entry(d_id: int, code: str, name: str, reg: str, model: str | None) -> dict[str, Any]:
            return out.setdefault((d_id, model), {
                "dealer_id": d_id, "dealer_code": code, "dealer_name": name, "region": reg, "model_code": model,
                "units": 0, "min_units": None, "max_units": None, "level": "ok",
                "green": 0, "yellow": 0, "red": 0})

        with self.engine.connect() as conn:
            for r in conn.execute(q):
                e = entry(r.dealer_id, r.code, r.legal_name, r.region, r.model_code)
                e["units"] += 1
                e[policy.band_of(days_in_stock(r.received_at or r.state_changed_at, now)).value] += 1
            for r in conn.execute(lq):
                e = entry(r.dealer_id, r.code, r.legal_name, r.region, r.model_code)
                e["min_units"], e["max_units"] = r.min_units, r.max_units
        for e in out.values():
            if e["min_units"] is not None and e["units"] < e["min_units"]:
                e["level"] = "below_min"
            elif e["max_units"] is not None and e["units"] > e["max_units"]:
                e["level"] = "above_max"
        return sorted(out.values(), key=lambda e: (e["dealer_id"], e["model_code"] or ""))

    # -- statistics --------------------------------------------------------------------------

    def movements(self, scope: DealerScope, since: dt.datetime, until: dt.datetime, *,
                  dealer_id: int | None = None, region: str | None = None, product_line: str | None = None,
                  model_code: str | None = None) -> Iterator[tuple[dt.datetime, str, str]]:
        """(moment, action, to_state) of the vehicle moves the statistics count, in the window."""
        if scope.nothing:
            return
        actions = sorted({action for action, _ in STAT_ACTIONS})
        q = (select(vehicle_events.c.at, vehicle_events.c.action, vehicle_events.c.to_state)
             .select_from(vehicle_events.join(vehicles, _V.id == vehicle_events.c.vehicle_id)
                          .outerjoin(dealers, dealers.c.id == _V.dealer_id))
             .where(and_(vehicle_events.c.at >= since, vehicle_events.c.at < until),
                    vehicle_events.c.action.in_(actions)))
        if scope.dealer_id is not None:
            q = q.where(_V.dealer_id == scope.dealer_id)
        if scope.regions is not None:
            q = q.where(dealers.c.region.in_(scope.regions))
        for column, value in ((_V.dealer_id, dealer_id), (dealers.c.region, region),
                              (_V.product_line, product_line), (_V.model_code, model_code)):
            if value is not None:
                q = q.where(column == value)
        with self.engine.connect() as conn:
            for r in conn.execute(q.execution_options(yield_per=5000)):
                yield r.at, r.action, getattr(r.to_state, "value", r.to_state)

    # -- retail sales ------------------------------------------------------------------------

    def _sales_query(self) -> Select[Any]:
        cols = [c for c in retail_sales.c if c.name != "customer_id_digest"]
        return (select(*cols, dealers.c.code.label("dealer_code"), dealers.c.legal_name.label("dealer_name"),
                       dealers.c.region)
                .select_from(retail_sales.join(dealers, dealers.c.id == retail_sales.c.dealer_id)))

    def _scoped_sales(self, scope: DealerScope) -> Select[Any]:
        q = self._sales_query()
        if scope.dealer_id is not None:
            q = q.where(retail_sales.c.dealer_id == scope.dealer_id)
        if scope.regions is not None:
            q = q.where(dealers.c.region.in_(scope.regions))
        return q

    def list_sales(self, scope: DealerScope, *, status: str | None = None, dealer_id: int | None = None,
                   vin: str | None = None, before_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        if scope.nothing:
            return []
        q = self._scoped_sales(scope).order_by(retail_sales.c.id.desc()).limit(limit)
        for column, value in ((retail_sales.c.status, status), (retail_sales.c.dealer_id, dealer_id),
                              (retail_sales.c.vin, vin)):
            if value is not None:
                q = q.where(column == value)
        if before_id is not None:
            q = q.where(retail_sales.c.id < before_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def sale_detail(self, scope: DealerScope, sale_id: int) -> dict[str, Any] | None:
        if scope.nothing:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(self._scoped_sales(scope).where(retail_sales.c.id == sale_id)).first()
            if row is None:
                return None
            out = dict(row._mapping)
            out["payments"] = [dict(p._mapping) for p in conn.execute(
                select(retail_sale_payments).where(retail_sale_payments.c.sale_id == sale_id)
                .order_by(retail_sale_payments.c.seq))]
        return out
