"""Read side: Core queries returning plain dicts (no ORM, no aggregates).

Measured in PERFORMANCE.md: Core costs ~2.5× a raw lookup, the ORM ~4×, so lists, details and
reports come from here. Row-level scope is applied in SQL, so nothing foreign is ever loaded.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from sqlalchemy import Select, String, and_, bindparam, cast, exists, func, literal, literal_column, or_, select
from sqlalchemy.engine import Engine

from dealercrm.adapters.db.direct_read import DirectRead
from dealercrm.adapters.db.engine import read_bind
from dealercrm.adapters.db.json_rows import ChildRows, decode_rows, rows_as_json
from dealercrm.adapters.db.orm import (
    audit_log,
    dealer_agreements,
    dealer_contacts,
    dealer_qualifications,
    dealers,
    device_credentials,
    device_reports,
    users,
)
from dealercrm.adapters.db.party_search import DEALERS
from dealercrm.domain.identity import Role

_LIST_COLUMNS = (
    dealers.c.id,
    dealers.c.code,
    dealers.c.legal_name,
    dealers.c.short_name,
    dealers.c.region,
    dealers.c.province,
    dealers.c.city,
    dealers.c.status,
    dealers.c.registered_at,
)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# Statements are built once with bind parameters and reused: building a select and computing its
# cache key costs more than running it (benchmarks/dealer_reads.py).
_DEALER_CHILDREN = {
    "contacts": ChildRows(dealer_contacts, dealer_contacts.c.dealer_id),
    "qualifications": ChildRows(dealer_qualifications, dealer_qualifications.c.dealer_id),
    "agreements": ChildRows(dealer_agreements, dealer_agreements.c.dealer_id),
}


@functools.lru_cache(maxsize=4)
def _dealer_detail_statement(dialect_name: str) -> Select[Any]:
    """The dealer and its contacts, qualifications and agreements in one statement."""
    children = [c.subquery_for(dealers.c.id, dialect_name, label) for label, c in _DEALER_CHILDREN.items()]
    return select(dealers, *children).where(dealers.c.id == bindparam("dealer_id"))


#: the hottest read of all (issue 20 §4): one statement, run past Connection.execute
_DEALER_DETAIL = DirectRead(_dealer_detail_statement)


@functools.lru_cache(maxsize=256)
def _dealer_list_statement(filters: frozenset[str], dialect_name: str) -> Select[Any]:
    """The list query for one combination of filters; values arrive as bind parameters."""
    q = select(*_LIST_COLUMNS).order_by(dealers.c.id).limit(bindparam("limit"))
    if "text" in filters:  # ranked: full-text hits by score (name above place), then code/USCC hits
        source: Any = dealers
        matched: list[Any] = []
        if "fts" in filters:
            hits = DEALERS.hits(dialect_name, bindparam("fts"))
            source = dealers.outerjoin(hits, hits.c.id == dealers.c.id)
            matched.append(hits.c.id.is_not(None))
            score: Any = func.coalesce(hits.c.score, 0)
        else:
            score = literal(0)
        pattern = bindparam("text")
        matched += [dealers.c.code.like(pattern, escape="\\"), cast(dealers.c.uscc, String).like(pattern, escape="\\")]
        q = (select(*_LIST_COLUMNS, score.label("score")).select_from(source).where(or_(*matched))
             .order_by(literal_column("score"), dealers.c.id).limit(bindparam("limit")).offset(bindparam("offset")))
    if "dealer_id" in filters:
        q = q.where(dealers.c.id == bindparam("dealer_id"))
    if "regions" in filters:
        q = q.where(dealers.c.region.in_(bindparam("regions", expanding=True)))
    if "status" in filters:
        q = q.where(dealers.c.status == bindparam("status"))
    if "region" in filters:
        q = q.where(dealers.c.region == bindparam("region"))
    if "after_id" in filters:
        q = q.where(dealers.c.id > bindparam("after_id"))
    if "product_line" in filters:
        q = q.where(
            exists().where(
                and_(
                    dealer_agreements.c.dealer_id == dealers.c.id,
                    dealer_agreements.c.status == "active",
                    cast(dealer_agreements.c.product_lines, String).like(bindparam("product_line"), escape="\\"),
                )
            )
        )
    return rows_as_json(q, dialect_name)


@functools.lru_cache(maxsize=256)
def _dealer_list_read(filters: frozenset[str]) -> DirectRead:
    """The list query for one combination of filters (not the caller's regions: an IN list), run
    past Connection.execute."""
    return DirectRead(functools.partial(_dealer_list_statement, filters))


class SqlDealerQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = read_bind(engine)

    def dealer_overview(self, dealer_id: int, since: dt.datetime, until: dt.datetime) -> dict[str, Any]:
        """The figures of the dealer 360 view, from one connection (see the port)."""
        from sqlalchemy import func

        from dealercrm.adapters.db.aftersales_tables import service_repair_records, service_requests
        from dealercrm.adapters.db.care_tables import dealer_value_evaluations
        from dealercrm.adapters.db.credit_tables import credit_accounts
        from dealercrm.adapters.db.gate_tables import vehicles
        from dealercrm.adapters.db.marketing_tables import (
            campaign_leads,
            sales_forecast_lines,
            sales_forecasts,
            training_invitations,
            training_participants,
            trainings,
        )
        from dealercrm.adapters.db.orders_tables import orders
        from dealercrm.adapters.db.stock_queries import LIVE_SALES
        from dealercrm.adapters.db.stock_tables import retail_sales

        o, v, rs, ca = orders.c, vehicles.c, retail_sales.c, credit_accounts.c
        sr, rec, ev, cl = service_requests.c, service_repair_records.c, dealer_value_evaluations.c, campaign_leads.c
        not_orders = ("draft", "awaiting_quote", "quoted", "cancelled")
        finished = ("completed", "cancelled")
        done_requests = ("confirmed", "closed", "resolved", "cancelled")
        with self.engine.connect() as conn:
            def one(q: Any) -> Any:
                return conn.execute(q).one()

            n_orders, amount = one(select(func.count(), func.coalesce(func.sum(o.total_fen), 0)).where(
                o.dealer_id == dealer_id, o.submitted_at >= since, o.submitted_at < until,
                o.state.not_in(not_orders)))
            open_orders = one(select(func.count()).where(o.dealer_id == dealer_id, o.state.not_in(
                (*not_orders, *finished))))[0]
            stock = {str(getattr(k, "value", k)): int(n) for k, n in conn.execute(
                select(v.state, func.count()).where(v.dealer_id == dealer_id).group_by(v.state))}
            sold, sold_fen = one(select(func.count(), func.coalesce(func.sum(rs.price_fen), 0)).where(
                rs.dealer_id == dealer_id, rs.sold_at >= since, rs.sold_at < until, rs.status.in_(LIVE_SALES)))
            account = conn.execute(select(ca.limit_fen, ca.receivable_fen, ca.uninvoiced_fen, ca.prepayment_fen,
                                          ca.status, ca.credit_grade, ca.warning_active)
                                   .where(ca.dealer_id == dealer_id)).first()
            value = conn.execute(select(ev.id, ev.score, ev.value_class, ev.evaluated_at, ev.suggested_level)
                                 .where(ev.dealer_id == dealer_id).order_by(ev.id.desc()).limit(1)).first()
            forecast = conn.execute(
                select(sales_forecasts.c.month, func.sum(sales_forecast_lines.c.quantity))
                .join(sales_forecast_lines, sales_forecast_lines.c.forecast_id == sales_forecasts.c.id)
                .where(sales_forecasts.c.dealer_id == dealer_id).group_by(sales_forecasts.c.month)
                .order_by(sales_forecasts.c.month.desc()).limit(1)).first()
            requests, open_requests = one(select(func.count(), func.count().filter(sr.state.not_in(done_requests)))
                                          .where(sr.dealer_id == dealer_id, sr.created_at >= since,
                                                 sr.created_at < until))
            scored, score_sum = one(select(func.count(), func.coalesce(func.sum(rec.satisfaction), 0))
                                    .join_from(service_repair_records, service_requests, sr.id == rec.request_id)
                                    .where(sr.dealer_id == dealer_id, rec.satisfaction.is_not(None),
                                           rec.confirmed_at >= since, rec.confirmed_at < until))
            leads, converted = one(select(func.count(), func.count().filter(cl.status == "converted")).where(
                cl.dealer_id == dealer_id, cl.created_at >= since, cl.created_at < until))
            attended = (select(training_participants.c.id)
                        .where(training_participants.c.invitation_id == training_invitations.c.id,
                               training_participants.c.attended.is_(True)).exists())
            invited, went = one(select(func.count(), func.count().filter(attended))
                                .select_from(training_invitations.join(
                                    trainings, trainings.c.id == training_invitations.c.training_id))
                                .where(training_invitations.c.invitee_kind == "dealer",
                                       training_invitations.c.invitee_id == dealer_id,
                                       trainings.c.status == "completed", trainings.c.starts_at >= since,
                                       trainings.c.starts_at < until))
        def fen(x: Any) -> int:
            return int(getattr(x, "fen", x) or 0)

        credit = None
        if account is not None:
            exposure = fen(account.receivable_fen) + fen(account.uninvoiced_fen) - fen(account.prepayment_fen)
            credit = {"limit_fen": fen(account.limit_fen), "exposure_fen": exposure,
                      "available_fen": fen(account.limit_fen) - exposure,
                      "status": str(getattr(account.status, "value", account.status)),
                      "credit_grade": account.credit_grade, "warning_active": bool(account.warning_active)}
        return {
            "orders": {"submitted": int(n_orders), "amount_fen": fen(amount), "open": int(open_orders)},
            "stock": {"in_dealer_stock": stock.get("in_dealer_stock", 0), "in_transit": stock.get("in_transit", 0),
                      "sold": stock.get("sold", 0)},
            "retail": {"sold": int(sold), "amount_fen": fen(sold_fen)},
            "credit": credit,
            "value": None if value is None else {"evaluation_id": value.id, "score": value.score,
                                                 "value_class": value.value_class,
                                                 "suggested_level": value.suggested_level,
                                                 "evaluated_at": value.evaluated_at},
            "forecast": None if forecast is None else {"month": forecast[0], "total": int(forecast[1])},
            "service": {"requests": int(requests), "open": int(open_requests), "scored": int(scored),
                        "average_satisfaction": None if not scored
                        else (int(score_sum) * 200 // int(scored) + 1) // 2 / 100},
            "marketing": {"leads": int(leads), "converted": int(converted)},
            "training": {"invited": int(invited), "attended": int(went)},
        }

    def list_dealers(
        self,
        *,
        dealer_id: int | None,
        regions: tuple[str, ...] | None,
        status: str | None,
        region: str | None,
        product_line: str | None,
        text: str | None,
        after_id: int | None,
        limit: int,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """The list page. ``text``: its Chinese words in the dealer's name or place (the full-text index
        ``party_search.DEALERS``), or a part of its code or USCC; ranked best first and paged by
        ``offset`` (``after_id`` is for the unranked list)."""
        dialect = self.engine.dialect
        params: dict[str, Any] = {"limit": limit}
        if dealer_id is not None:
            params["dealer_id"] = dealer_id
        if regions is not None:
            params["regions"] = list(regions)
        if status:
            params["status"] = status
        if region:
            params["region"] = region
        if text and text.strip():
            params["text"] = f"%{_escape_like(text.strip())}%"
            params["offset"] = offset
            words = DEALERS.words(text.split())
            if words:
                params["fts"] = DEALERS.expression(dialect.name, words)
        elif after_id is not None:
            params["after_id"] = after_id
        if product_line:
            params["product_line"] = f'%"{_escape_like(product_line)}"%'
        filters = frozenset(params)
        if "regions" in filters:  # an IN list of the caller's regions is rendered per call by Connection.execute
            with self.engine.connect() as conn:
                raw = conn.execute(_dealer_list_statement(filters, dialect.name), params).scalar_one()
        else:
            page = _dealer_list_read(filters).first(self.engine, params)
            raw = page["rows"] if page is not None else "[]"  # an aggregate: always one row
        return decode_rows(raw, _LIST_COLUMNS, dialect)

    def dealer_detail(self, dealer_id: int) -> dict[str, Any] | None:
        d = _DEALER_DETAIL.first(self.engine, {"dealer_id": dealer_id})
        if d is None:
            return None
        for label, children in _DEALER_CHILDREN.items():
            d[label] = children.decode(d[label], self.engine.dialect)
        return d

    def dealer_region(self, dealer_id: int) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(dealers.c.region).where(dealers.c.id == dealer_id)).scalar()

    def audit_history(self, entity: str, entity_id: int, limit: int = 200) -> list[dict[str, Any]]:
        q = (
            select(audit_log)
            .where(audit_log.c.root_entity == entity, audit_log.c.root_id == entity_id)
            .order_by(audit_log.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def list_users(self, *, after_id: int | None, limit: int, role: str | None = None, active: bool | None = None,
                   text: str | None = None) -> list[dict[str, Any]]:
        cols = [c for c in users.c if c.name != "password_hash"]
        q = select(*cols).order_by(users.c.id).limit(limit)
        if role is not None:
            q = q.where(users.c.role == Role(role))
        if active is not None:
            q = q.where(users.c.is_active == active)
        if text:
            pattern = f"%{_escape_like(text.strip())}%"
            q = q.where(or_(users.c.username.ilike(pattern, escape="\\"),
                            users.c.display_name.ilike(pattern, escape="\\")))
        if after_id is not None:
            q = q.where(users.c.id > after_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def list_devices(self) -> list[dict[str, Any]]:
        c, r = device_credentials.c, device_reports.c
        q = (select(c.id, c.name, c.location, c.key_prefix, c.created_at, c.revoked_at, c.last_used_at,
                    r.reported_at, r.report)
             .select_from(device_credentials.outerjoin(device_reports, r.device_id == c.id)).order_by(c.id))
        with self.engine.connect() as conn:
            return [{str(k): v for k, v in row._mapping.items()} for row in conn.execute(q)]

    def user_status(self, user_id: int) -> dict[str, Any] | None:
        q = select(users.c.id, users.c.username, users.c.role, users.c.dealer_id, users.c.station_id,
                   users.c.regions, users.c.is_active, users.c.department).where(users.c.id == user_id)
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
            return dict(row._mapping) if row else None

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
