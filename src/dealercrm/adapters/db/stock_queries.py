"""Read side of dealer and factory stock: Core queries scoped in SQL by the caller's dealer scope,
keyset-paginated by vehicle id, returning plain dicts.

A page is one indexed query over ``vehicles`` (joined to its dealer for the region); the seed's
invoice status words (未开票 / 已开票未收款 / 已开票已收款) and the live retail sale are looked up
for the page's VINs only, so the cost of a page does not grow with the size of the stock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import String, and_, select, type_coerce
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import Select

from dealercrm.adapters.db.credit_tables import contract_invoice_status_query, credit_vehicle_invoices
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

def stock_query(scope: DealerScope, *, where: str | None = None, states: Sequence[str] | None = None,
                dealer_id: int | None = None, region: str | None = None, product_line: str | None = None,
                model_code: str | None = None, contract_no: str | None = None,
                after_id: int | None = None, limit: int | None = 50) -> Select[Any]:
    """The page query. ``where``: ``factory`` (已入库待提 and 已授权待提) or ``dealer`` (in a dealer's
    stock); ``states`` narrows further."""
    q = (select(*STOCK_COLUMNS)
         .select_from(vehicles.outerjoin(dealers, dealers.c.id == _V.dealer_id))
         .order_by(_V.id))
    if scope.dealer_id is not None:
        q = q.where(_V.dealer_id == scope.dealer_id)
    if scope.regions is not None:
        q = q.where(dealers.c.region.in_(scope.regions))
    wanted: set[str] | None = None
    if where == "factory":
        wanted = {s.value for s in FACTORY_STATES}
    elif where == "dealer":
        wanted = {s.value for s in DEALER_STATES}
    if states:
        wanted = set(states) if wanted is None else wanted & set(states)
    if wanted is not None:
        ordered = sorted(wanted)
        q = q.where(_V.state == ordered[0]) if len(ordered) == 1 else q.where(_V.state.in_(ordered))
    for column, value in ((_V.dealer_id, dealer_id), (dealers.c.region, region), (_V.product_line, product_line),
                          (_V.model_code, model_code), (_V.contract_no, contract_no)):
        if value is not None:
            q = q.where(column == value)
    if after_id is not None:
        q = q.where(_V.id > after_id)
    if limit is not None:
        q = q.limit(limit)
    return q


def _policy(conn: Connection) -> AgeingPolicy:
    row = conn.execute(select(stock_ageing_policy.c.yellow_from_days, stock_ageing_policy.c.red_from_days)
                       .where(stock_ageing_policy.c.id == 1)).first()
    return AgeingPolicy(row[0], row[1]) if row else AgeingPolicy()


def _invoice_status(conn: Connection, rows: list[dict[str, Any]]) -> dict[str, VehicleInvoiceStatus]:
    """The seed's invoice words for a page, by the credit context's rule: the vehicle's own
    invoice, else the per-contract invoices of a fully invoiced contract, else 未开票."""
    vins = [r["vin"] for r in rows]
    own = {r[0]: VehicleInvoiceStatus(getattr(r[1], "value", r[1])) for r in conn.execute(
        select(credit_vehicle_invoices.c.vin, credit_vehicle_invoices.c.status)
        .where(credit_vehicle_invoices.c.vin.in_(vins)))}
    wanted = sorted({r["contract_no"] for r in rows if r["contract_no"] and r["vin"] not in own})
    if wanted:
        by_contract = {r[0]: VehicleInvoiceStatus.INVOICED_UNPAID if r[1] else VehicleInvoiceStatus.INVOICED_PAID
                       for r in conn.execute(contract_invoice_status_query(wanted))}
        for r in rows:
            if r["vin"] not in own and r["contract_no"] in by_contract:
                own[r["vin"]] = by_contract[r["contract_no"]]
    return own


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
        with self.engine.connect() as conn:  # one connection for the page and its lookups
            rows = [dict(r._mapping) for r in conn.execute(stock_query(scope, **filters))]
            return self._decorate(conn, rows, now, _policy(conn))

    def iter_stock(self, scope: DealerScope, now: dt.datetime, *, max_rows: int, **filters: Any
                   ) -> Iterator[dict[str, Any]]:
        """Every matching row (for exports), page by page in id order, at most ``max_rows``."""
        if scope.nothing:
            return
        after, sent = None, 0
        while sent < max_rows:
            with self.engine.connect() as conn:
                rows = [dict(r._mapping) for r in conn.execute(
                    stock_query(scope, **filters, after_id=after, limit=min(1000, max_rows - sent)))]
                if not rows:
                    return
                page = self._decorate(conn, rows, now, _policy(conn))
            yield from page
            sent += len(rows)
            after = rows[-1]["id"]

    def _decorate(self, conn: Connection, rows: list[dict[str, Any]], now: dt.datetime,
                  policy: AgeingPolicy) -> list[dict[str, Any]]:
        """Adds the status words, the live sale and the ageing band. The rows come from a scoped
        query, so their VINs and contracts are the caller's to see."""
        if not rows:
            return rows
        invoice = _invoice_status(conn, rows)
        sold = [r["vin"] for r in rows if r["state"] == VehicleState.SOLD]
        sales = {}
        if sold:
            sales = {r.vin: (r.id, getattr(r.status, "value", r.status)) for r in conn.execute(
                select(retail_sales.c.vin, retail_sales.c.id, retail_sales.c.status)
                .where(retail_sales.c.vin.in_(sold), retail_sales.c.status.in_(LIVE_SALES)))}
        for r in rows:
            state = VehicleState(r["state"])
            r["state"] = state.value
            r["state_label"] = state.label
            status = invoice.get(r["vin"], VehicleInvoiceStatus.NOT_INVOICED)
            r["invoice_status"] = status.value
            r["invoice_status_label"] = status.label
            sale = sales.get(r["vin"])
            r["sale_id"] = sale[0] if sale else None
            r["sale_status"] = sale[1] if sale else None
            r["sale_status_label"] = SaleStatus(sale[1]).label if sale else None
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
