"""Tables of the parts catalogue's fitment and substitutes (``domain.parts_catalog``), and the
fitment lookup the after-sales repository uses. Imports no other tables module: the after-sales
tables import it (repository and queries: ``parts_catalog_queries``)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table, UniqueConstraint, select
from sqlalchemy.orm import Session

from dealercrm.adapters.db.base import IdType, metadata

template_parts = Table(
    "template_parts",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("model_code", String(40), nullable=False, index=True),
    Column("part_no", String(40), ForeignKey("service_parts.part_no"), nullable=False),
    Column("quantity", Integer, nullable=False),
    UniqueConstraint("model_code", "part_no"),
)

part_substitutes = Table(
    "part_substitutes",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("part_no", String(40), ForeignKey("service_parts.part_no"), nullable=False, index=True),
    Column("substitute_no", String(40), ForeignKey("service_parts.part_no"), nullable=False),
    Column("note", String(200)),
    UniqueConstraint("part_no", "substitute_no"),
)

TABLES = {"template_parts", "part_substitutes"}


def fitment_of(session: Session, model_code: str) -> dict[str, int] | None:
    """part_no → quantity on the model, or ``None`` when the model's fitment was never kept."""
    t = template_parts.c
    rows = session.execute(select(t.part_no, t.quantity).where(t.model_code == model_code)).all()
    return {r.part_no: r.quantity for r in rows} if rows else None
