"""Read side: Core queries returning plain dicts (no ORM, no aggregates).

Measured in PERFORMANCE.md: Core costs ~2.5× a raw lookup, the ORM ~4×, so lists, details and
reports come from here. Row-level scope is applied in SQL, so nothing foreign is ever loaded.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, and_, cast, exists, or_, select
from sqlalchemy.engine import Engine

from dealercrm.adapters.db.orm import (
    audit_log,
    dealer_agreements,
    dealer_contacts,
    dealer_qualifications,
    dealers,
    users,
)

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


class SqlDealerQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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
    ) -> list[dict[str, Any]]:
        q = select(*_LIST_COLUMNS).order_by(dealers.c.id).limit(limit)
        if dealer_id is not None:
            q = q.where(dealers.c.id == dealer_id)
        if regions is not None:
            q = q.where(dealers.c.region.in_(regions))
        if status:
            q = q.where(dealers.c.status == status)
        if region:
            q = q.where(dealers.c.region == region)
        if after_id is not None:
            q = q.where(dealers.c.id > after_id)
        if text:
            pattern = f"%{_escape_like(text.strip())}%"
            q = q.where(
                or_(
                    dealers.c.legal_name.like(pattern, escape="\\"),
                    dealers.c.short_name.like(pattern, escape="\\"),
                    dealers.c.code.like(pattern, escape="\\"),
                    cast(dealers.c.uscc, String).like(pattern, escape="\\"),
                    dealers.c.city.like(pattern, escape="\\"),
                )
            )
        if product_line:
            q = q.where(
                exists().where(
                    and_(
                        dealer_agreements.c.dealer_id == dealers.c.id,
                        dealer_agreements.c.status == "active",
                        cast(dealer_agreements.c.product_lines, String).like(f'%"{_escape_like(product_line)}"%', escape="\\"),
                    )
                )
            )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def dealer_detail(self, dealer_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(dealers).where(dealers.c.id == dealer_id)).first()
            if row is None:
                return None
            d = dict(row._mapping)
            d["contacts"] = [
                dict(r._mapping)
                for r in conn.execute(
                    select(dealer_contacts).where(dealer_contacts.c.dealer_id == dealer_id).order_by(dealer_contacts.c.id)
                )
            ]
            d["qualifications"] = [
                dict(r._mapping)
                for r in conn.execute(
                    select(dealer_qualifications)
                    .where(dealer_qualifications.c.dealer_id == dealer_id)
                    .order_by(dealer_qualifications.c.id)
                )
            ]
            d["agreements"] = [
                dict(r._mapping)
                for r in conn.execute(
                    select(dealer_agreements)
                    .where(dealer_agreements.c.dealer_id == dealer_id)
                    .order_by(dealer_agreements.c.id)
                )
            ]
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

    def list_users(self, *, after_id: int | None, limit: int) -> list[dict[str, Any]]:
        cols = [c for c in users.c if c.name != "password_hash"]
        q = select(*cols).order_by(users.c.id).limit(limit)
        if after_id is not None:
            q = q.where(users.c.id > after_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def user_status(self, user_id: int) -> dict[str, Any] | None:
        q = select(users.c.id, users.c.username, users.c.role, users.c.dealer_id, users.c.station_id,
                   users.c.regions, users.c.is_active, users.c.department).where(users.c.id == user_id)
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
            return dict(row._mapping) if row else None

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
