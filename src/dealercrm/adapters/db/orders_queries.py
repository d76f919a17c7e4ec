"""Read side of catalog and orders: Core queries into plain dicts, scoped in SQL.

A dealer user's queries carry ``orders.dealer_id = :own``; regional staff's carry
``dealers.region IN (:regions)``; nothing outside the scope is ever read.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Engine

from dealercrm.adapters.db.orders_tables import (
    catalog_template_versions,
    catalog_templates,
    content_to_json,
    dealer_price_tiers,
    estimate_to_json,
    order_events,
    order_price_quotes,
    order_supplied_parts,
    orders,
)
from dealercrm.adapters.db.orm import dealers
from dealercrm.adapters.db.queries import _escape_like
from dealercrm.application.reads.orders import (
    OrderSummaryRow,
    PriceTierRow,
    QuoteRequestRow,
    TimelineRow,
)
from dealercrm.domain.orders import OrderState, QuoteStatus
from dealercrm.domain.values import Money

o, d = orders.c, dealers.c

_LIST_COLUMNS = (
    o.id, o.order_no, o.dealer_id, d.code.label("dealer_code"), d.legal_name.label("dealer_name"),
    d.region, o.template_id, o.template_version, o.model_code, o.template_name, o.product_line, o.quantity,
    o.unit_price_fen, o.total_fen, o.price_source, o.requires_quote, o.state, o.requested_delivery_date,
    o.delivery_method, o.end_customer_name, o.created_at, o.submitted_at, o.contract_no, o.erp_tracking_no,
)


def _plain(value: Any) -> Any:
    if isinstance(value, Money):
        return value.fen
    return value.value if hasattr(value, "value") and not isinstance(value, (str, int)) else value


def _row(r: Any) -> dict[str, Any]:
    return {k: _plain(v) for k, v in r._mapping.items()}


class SqlOrderQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- orders ------------------------------------------------------------------------------

    def list_orders(self, *, dealer_id: int | None, regions: tuple[str, ...] | None, filters: dict[str, Any],
                    before_id: int | None, limit: int) -> list[OrderSummaryRow]:
        q = (select(*_LIST_COLUMNS).select_from(orders.join(dealers, d.id == o.dealer_id))
             .order_by(o.id.desc()).limit(limit))
        if dealer_id is not None:
            q = q.where(o.dealer_id == dealer_id)
        if regions is not None:
            q = q.where(d.region.in_(regions))
        if before_id is not None:
            q = q.where(o.id < before_id)
        f = filters
        if f.get("states"):
            q = q.where(o.state.in_(f["states"]))
        if f.get("dealer_id") is not None:
            q = q.where(o.dealer_id == f["dealer_id"])
        if f.get("region"):
            q = q.where(d.region == f["region"])
        if f.get("product_line"):
            q = q.where(o.product_line == f["product_line"])
        if f.get("template_id") is not None:
            q = q.where(o.template_id == f["template_id"])
        if f.get("created_from") is not None:
            q = q.where(o.created_at >= f["created_from"])
        if f.get("created_to") is not None:
            q = q.where(o.created_at < f["created_to"])
        if f.get("delivery_from") is not None:
            q = q.where(o.requested_delivery_date >= f["delivery_from"])
        if f.get("delivery_to") is not None:
            q = q.where(o.requested_delivery_date <= f["delivery_to"])
        if f.get("text"):
            pattern = f"%{_escape_like(f['text'].strip())}%"
            q = q.where(or_(o.order_no.like(pattern, escape="\\"), o.end_customer_name.like(pattern, escape="\\")))
        with self.engine.connect() as conn:
            return [OrderSummaryRow(**_row(r)) for r in conn.execute(q)]

    def order_detail(self, order_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(orders, d.code.label("dealer_code"), d.legal_name.label("dealer_name"), d.region)
                .select_from(orders.join(dealers, d.id == o.dealer_id)).where(o.id == order_id)
            ).first()
            if row is None:
                return None
            out = _row(row)
            out["estimate"] = estimate_to_json(row.estimate)
            for key in ("delivery_consignee_phone", "end_customer_phone"):
                out[key] = str(out[key]) if out[key] is not None else None
            out["supplied_parts"] = [_row(r) for r in conn.execute(
                select(order_supplied_parts).where(order_supplied_parts.c.order_id == order_id)
                .order_by(order_supplied_parts.c.line_no))]
            out["quotes"] = [_row(r) for r in conn.execute(
                select(order_price_quotes).where(order_price_quotes.c.order_id == order_id)
                .order_by(order_price_quotes.c.seq))]
        return out

    def order_scope(self, order_id: int) -> tuple[int, str] | None:
        """(dealer_id, region) of an order, for the visibility check before a timeline read."""
        with self.engine.connect() as conn:
            row = conn.execute(select(o.dealer_id, d.region).select_from(orders.join(dealers, d.id == o.dealer_id))
                               .where(o.id == order_id)).first()
        return (row.dealer_id, row.region) if row else None

    # -- quote requests (待核价) ------------------------------------------------------------------

    def _quote_requests_where(self, q: Any, dealer_id: int | None, regions: tuple[str, ...] | None) -> Any:
        pq = order_price_quotes.c
        q = (q.select_from(orders.join(dealers, d.id == o.dealer_id).join(order_price_quotes, pq.order_id == o.id))
             .where(o.state == OrderState.AWAITING_QUOTE, pq.status == QuoteStatus.REQUESTED))
        if dealer_id is not None:
            q = q.where(o.dealer_id == dealer_id)
        if regions is not None:
            q = q.where(d.region.in_(regions))
        return q

    def quote_requests(self, *, dealer_id: int | None, regions: tuple[str, ...] | None,
                       limit: int) -> list[QuoteRequestRow]:
        pq = order_price_quotes.c
        q = self._quote_requests_where(
            select(o.id.label("order_id"), o.order_no, o.version, o.dealer_id, d.code.label("dealer_code"),
                   d.legal_name.label("dealer_name"), d.region, o.model_code, o.template_name, o.options,
                   o.quantity, o.unit_price_fen, o.requested_delivery_date, pq.seq.label("quote_seq"),
                   pq.requested_at, pq.requested_by, pq.request_note),
            dealer_id, regions).order_by(pq.requested_at, o.id).limit(limit)
        with self.engine.connect() as conn:
            return [QuoteRequestRow(**{**_row(r), "options": tuple(r.options or ())}) for r in conn.execute(q)]

    def count_quote_requests(self, *, dealer_id: int | None, regions: tuple[str, ...] | None) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(self._quote_requests_where(select(func.count()), dealer_id, regions)).scalar_one())

    def timeline(self, order_id: int) -> list[TimelineRow]:
        e = order_events.c
        with self.engine.connect() as conn:
            return [TimelineRow(**_row(r)) for r in conn.execute(
                select(e.id, e.at, e.kind, e.from_state, e.to_state, e.actor_id, e.actor_name, e.actor_role,
                       e.summary, e.data).where(e.order_id == order_id).order_by(e.id))]

    # -- catalog -----------------------------------------------------------------------------

    def list_templates(self, *, product_line: str | None, published_only: bool) -> list[dict[str, Any]]:
        t, v = catalog_templates.c, catalog_template_versions.c
        q = (select(t.id, t.model_code, t.product_line, t.status, t.latest_version, t.has_unpublished_changes,
                    t.updated_at, t.draft, v.name, v.base_price_fen, v.special, v.published_at)
             .select_from(catalog_templates.outerjoin(
                 catalog_template_versions, and_(v.template_id == t.id, v.version == t.latest_version)))
             .order_by(t.product_line, t.model_code))
        if published_only:
            q = q.where(t.status == "active", t.latest_version > 0)
        if product_line:
            q = q.where(t.product_line == product_line)
        out = []
        with self.engine.connect() as conn:
            for r in conn.execute(q):
                row = _row(r)
                draft = row.pop("draft")
                if row["name"] is None:  # never published: staff see the draft's name and price
                    row["name"], row["base_price_fen"], row["special"] = draft.name, draft.base_price.fen, draft.special
                if published_only:
                    row.pop("has_unpublished_changes")
                out.append(row)
        return out

    def template_detail(self, template_id: int) -> dict[str, Any] | None:
        t, v = catalog_templates.c, catalog_template_versions.c
        with self.engine.connect() as conn:
            row = conn.execute(select(catalog_templates).where(t.id == template_id)).first()
            if row is None:
                return None
            out = _row(row)
            out["draft"] = content_to_json(row.draft)
            out["versions"] = [_row(r) for r in conn.execute(
                select(v.version, v.name, v.base_price_fen, v.special, v.published_at, v.published_by)
                .where(v.template_id == template_id).order_by(v.version))]
        out["published"] = (self.template_version(template_id, out["latest_version"])
                            if out["latest_version"] else None)
        return out

    def template_version(self, template_id: int, version: int) -> dict[str, Any] | None:
        t, v = catalog_templates.c, catalog_template_versions.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(v.template_id, v.version, v.model_code, v.product_line, v.content, v.published_at,
                       v.published_by, t.status, t.latest_version)
                .select_from(catalog_template_versions.join(catalog_templates, t.id == v.template_id))
                .where(v.template_id == template_id, v.version == version)
            ).first()
        return _row(row) if row else None

    def list_price_tiers(self, *, dealer_id: int | None, regions: tuple[str, ...] | None,
                         filter_dealer_id: int | None = None) -> list[PriceTierRow]:
        p = dealer_price_tiers.c
        q = (select(p.id, p.dealer_id, d.code.label("dealer_code"), d.legal_name.label("dealer_name"), d.region,
                    p.product_line, p.tier_code, p.discount_bp, p.updated_at, p.updated_by)
             .select_from(dealer_price_tiers.join(dealers, d.id == p.dealer_id)).order_by(p.dealer_id, p.product_line))
        if dealer_id is not None:
            q = q.where(p.dealer_id == dealer_id)
        if regions is not None:
            q = q.where(d.region.in_(regions))
        if filter_dealer_id is not None:
            q = q.where(p.dealer_id == filter_dealer_id)
        with self.engine.connect() as conn:
            return [PriceTierRow(**_row(r)) for r in conn.execute(q)]
