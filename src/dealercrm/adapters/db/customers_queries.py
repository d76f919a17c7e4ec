"""Read side of end customers and service contracts (the customer 360 view): Core queries
returning plain dicts, scoped in SQL by :class:`CustomerVisibility`."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql import Select

from dealercrm.adapters.db.aftersales_tables import (
    service_claims,
    service_repair_records,
    service_requests,
    service_stations,
    service_warranties,
)
from dealercrm.adapters.db.care_tables import care_tasks
from dealercrm.adapters.db.customers_tables import (
    customer_vehicles,
    end_customers,
    service_contracts,
)
from dealercrm.adapters.db.gate_tables import vehicles
from dealercrm.adapters.db.orm import dealers
from dealercrm.adapters.db.party_search import CUSTOMERS
from dealercrm.application.ports.customers import CustomerVisibility
from dealercrm.domain.aftersales import ClaimState, FaultCategory, RequestState
from dealercrm.domain.customers import FAULT_LABELS, ContractStatus, CustomerKind
from dealercrm.domain.vehicles import VehicleState

_CUSTOMER_COLS = (*end_customers.c, dealers.c.legal_name.label("dealer_name"))


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_SEPARATORS = re.compile(r"[\s\-()（）]")


def _phone_digits(keyword: str) -> str | None:
    """The digits of a keyword written as (part of) a phone number — 137 0000 1111, +86 137…,
    0371-6688 — or ``None``."""
    digits = _SEPARATORS.sub("", keyword)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix) and len(digits) > len(prefix) + 6:
            digits = digits[len(prefix):]
    return digits if digits.isdigit() and len(digits) >= 3 else None


def search_keywords(q: str) -> list[str]:
    """The keywords of a customer search: a phone number stays one keyword however it is spaced;
    otherwise each white-space separated word is one, and every one must match."""
    return [q.strip()] if _phone_digits(q) else q.split()


def _keyword_matches(keyword: str, dialect: str) -> Any:
    """One keyword matches a customer when it is in its number, is the VIN of a vehicle it owns, is
    in its phone (digits, separators ignored on both sides), or when each of the keyword's words —
    segmented by jieba (中原物流 → 中原, 物流) — is in the full-text index of its name and place
    (``adapters.db.party_search.CUSTOMERS``), in any order (河南中原石化物流有限公司 is found by 中原物流)."""
    c, cv = end_customers.c, customer_vehicles.c
    found = [c.number.like(f"%{_escape(keyword)}%", escape="\\"),
             exists(select(cv.id).where(cv.customer_id == c.id, cv.vin == keyword.upper()))]
    digits = _phone_digits(keyword)
    if digits is not None:
        found.append(func.replace(func.replace(c.phone, "-", ""), " ", "").like(f"%{digits}%"))
    words = CUSTOMERS.words([keyword])
    if words:
        hits = CUSTOMERS.hits(dialect, CUSTOMERS.expression(dialect, words))
        found.append(c.id.in_(select(hits.c.id)))
    return or_(*found)


class SqlCustomerQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _all(self, q: Select[Any]) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [{str(k): v for k, v in r._mapping.items()} for r in conn.execute(q)]

    def _scoped(self, q: Select[Any], seen: CustomerVisibility) -> Select[Any]:
        c = end_customers.c
        if seen.dealer_id is not None:
            q = q.where(c.dealer_id == seen.dealer_id)
        if seen.station_id is not None:
            cv, r = customer_vehicles.c, service_requests.c
            q = q.where(exists(select(cv.id).join(service_requests, r.vin == cv.vin)
                               .where(cv.customer_id == c.id, r.station_id == seen.station_id)))
        return q

    @staticmethod
    def _customer(row: dict[str, Any]) -> dict[str, Any]:
        row["kind_label"] = CustomerKind(row["kind"]).label
        return row

    def list_customers(self, seen: CustomerVisibility, *, q: str | None = None, after_id: int | None = None,
                       offset: int = 0, limit: int = 50) -> list[dict[str, Any]]:
        """Without ``q``: by id, keyset-paged (``after_id``). With ``q``: every keyword must match
        (:func:`_keyword_matches`), ranked best first — full-text hits by score (name above place),
        then customers found only by number, phone or VIN — ties by id, paged by ``offset``."""
        c = end_customers.c
        source = end_customers.outerjoin(dealers, dealers.c.id == c.dealer_id)
        order: list[Any] = []
        keywords = search_keywords(q) if q else []
        dialect = self.engine.dialect.name
        if keywords:
            words = CUSTOMERS.words(keywords)
            if words:
                hits = CUSTOMERS.hits(dialect, CUSTOMERS.expression(dialect, words))
                source = source.outerjoin(hits, hits.c.id == c.id)
                order.append(func.coalesce(hits.c.score, 0))
        query = select(*_CUSTOMER_COLS).select_from(source).order_by(*order, c.id).limit(limit)
        query = self._scoped(query, seen)
        if keywords:
            query = query.where(and_(*(_keyword_matches(k, dialect) for k in keywords))).offset(offset)
        elif after_id is not None:
            query = query.where(c.id > after_id)
        return [self._customer(r) for r in self._all(query)]

    def customer(self, seen: CustomerVisibility, customer_id: int) -> dict[str, Any] | None:
        c = end_customers.c
        query = (select(*_CUSTOMER_COLS).select_from(end_customers.outerjoin(dealers, dealers.c.id == c.dealer_id))
                 .where(c.id == customer_id))
        rows = self._all(self._scoped(query, seen))
        return self._customer(rows[0]) if rows else None

    def vehicles(self, customer_id: int, today: dt.date) -> list[dict[str, Any]]:
        cv, v, w = customer_vehicles.c, vehicles.c, service_warranties.c
        rows = self._all(
            select(cv.vin, cv.since, v.state, v.product_line, v.model_code, v.order_no, v.contract_no,
                   v.dealer_id, w.starts_on.label("warranty_starts_on"), w.ends_on.label("warranty_ends_on"),
                   w.km_limit.label("warranty_km_limit"), w.id.label("warranty_id"))
            .select_from(customer_vehicles.outerjoin(vehicles, v.vin == cv.vin)
                         .outerjoin(service_warranties, w.vin == cv.vin))
            .where(cv.customer_id == customer_id).order_by(cv.id))
        for r in rows:
            r["vin"] = str(r["vin"])
            state = r["state"]
            r["state"] = str(state) if state is not None else None
            r["state_label"] = VehicleState(str(state)).label if state is not None else None
            r["in_warranty"] = r["warranty_id"] is not None and (r["warranty_ends_on"] is None
                                                                 or today <= r["warranty_ends_on"])
        return rows

    def contracts(self, *, customer_id: int | None = None, vin: str | None = None, status: str | None = None,
                  seen: CustomerVisibility | None = None, after_id: int | None = None,
                  limit: int = 200) -> list[dict[str, Any]]:
        k, c = service_contracts.c, end_customers.c
        q = (select(service_contracts, c.name.label("customer_name"), c.number.label("customer_number"),
                    c.dealer_id)
             .select_from(service_contracts.join(end_customers, c.id == k.customer_id)).order_by(k.id).limit(limit))
        if seen is not None:
            q = self._scoped(q, seen)
        if customer_id is not None:
            q = q.where(k.customer_id == customer_id)
        if vin is not None:
            q = q.where(k.vin == vin)
        if status is not None:
            q = q.where(k.status == status)
        if after_id is not None:
            q = q.where(k.id > after_id)
        return [self._contract(r) for r in self._all(q)]

    @staticmethod
    def _contract(row: dict[str, Any]) -> dict[str, Any]:
        row["status_label"] = ContractStatus(row["status"]).label
        row["coverage_labels"] = [FAULT_LABELS.get(x, x) for x in row["coverage"] or []]
        return row

    def contract(self, seen: CustomerVisibility, contract_id: int) -> dict[str, Any] | None:
        k, c = service_contracts.c, end_customers.c
        q = (select(service_contracts, c.name.label("customer_name"), c.number.label("customer_number"),
                    c.dealer_id)
             .select_from(service_contracts.join(end_customers, c.id == k.customer_id)).where(k.id == contract_id))
        rows = self._all(self._scoped(q, seen))
        return self._contract(rows[0]) if rows else None

    def _vins(self, customer_id: int) -> Select[Any]:
        return select(customer_vehicles.c.vin).where(customer_vehicles.c.customer_id == customer_id)

    def requests(self, customer_id: int, *, station_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        r, s = service_requests.c, service_stations.c
        q = (select(r.id, r.number, r.vin, r.fault_category, r.state, r.created_at, r.station_id,
                    s.name.label("station_name"), r.description, r.warranty_state, r.warranty_warning,
                    r.contract_state, r.contract_warning)
             .select_from(service_requests.outerjoin(service_stations, s.id == r.station_id))
             .where(r.vin.in_(self._vins(customer_id))).order_by(r.id.desc()).limit(limit))
        if station_id is not None:
            q = q.where(r.station_id == station_id)
        rows = self._all(q)
        for row in rows:
            row["state"] = str(row["state"])
            row["state_label"] = RequestState(row["state"]).label
            row["fault_category"] = str(row["fault_category"])
            row["fault_category_label"] = FaultCategory(row["fault_category"]).label
            row["warranty_state"] = str(row["warranty_state"])
        return rows

    def claims(self, customer_id: int, *, station_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        k, rec = service_claims.c, service_repair_records.c
        q = (select(k.id, k.number, k.state, k.total_fen, k.submitted_at, k.decided_at, k.risk_score, k.risk_flagged,
                    k.station_id, rec.number.label("record_number"), rec.vin)
             .select_from(service_claims.join(service_repair_records, rec.id == k.record_id))
             .where(rec.vin.in_(self._vins(customer_id))).order_by(k.id.desc()).limit(limit))
        if station_id is not None:
            q = q.where(k.station_id == station_id)
        rows = self._all(q)
        for row in rows:
            row["state"] = str(row["state"])
            row["state_label"] = ClaimState(row["state"]).label
        return rows

    def care(self, customer_id: int, *, limit: int = 50) -> list[dict[str, Any]]:
        t, c = care_tasks.c, end_customers.c
        phone = select(c.phone).where(c.id == customer_id).scalar_subquery()
        q = (select(t.id, t.kind, t.title, t.status, t.due_on, t.vin, t.result, t.finished_at, t.created_at)
             .where(t.target_kind == "customer", or_(t.phone == phone, t.vin.in_(self._vins(customer_id))))
             .order_by(t.id.desc()).limit(limit))
        return self._all(q)
