"""Tables, imperative mapping and repository of the customer-supplied parts ledger (issue 4 §9).

One ledger row per order (``supplied_parts_ledgers.order_id`` is unique), its items and its
append-only movements. Balances are never stored: they are sums of the movements, so the
ledger balances by construction; ``quantity > 0`` is repeated as a CHECK. Every movement
updates the ledger row (``updated_at``) under its version counter, so two clerks moving the
same ledger at once cannot both pass the "enough in store" check on stale balances.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Session, relationship

from dealercrm.adapters.db.base import IdType, mapper_registry, metadata
from dealercrm.adapters.db.types import StrEnumType, UtcDateTime
from dealercrm.domain.supplied_parts import (
    ItemKind,
    LedgerEntry,
    Movement,
    PartPhoto,
    SuppliedItem,
    SuppliedPartsLedger,
)

supplied_parts_ledgers = Table(
    "supplied_parts_ledgers",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("order_id", IdType, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), nullable=False, index=True),
    Column("updated_at", UtcDateTime),
    Column("version", Integer, nullable=False),
)

supplied_part_items = Table(
    "supplied_part_items",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("ledger_id", IdType, ForeignKey("supplied_parts_ledgers.id", ondelete="CASCADE"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("kind", StrEnumType(ItemKind), nullable=False),
    Column("description", String(240), nullable=False),
    Column("expected_quantity", Integer, nullable=False),
    Column("serial", String(60)),
    Column("order_line_no", Integer),
    Column("unit_index", Integer, nullable=False),
    Column("withdrawn", Boolean, nullable=False),
    UniqueConstraint("ledger_id", "line_no"),
    CheckConstraint("expected_quantity > 0", name="expected_positive"),
)

supplied_part_movements = Table(
    "supplied_part_movements",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("ledger_id", IdType, ForeignKey("supplied_parts_ledgers.id", ondelete="CASCADE"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("movement", StrEnumType(Movement), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("by_user_id", IdType),
    Column("by_name", String(60), nullable=False),
    Column("location", String(100), nullable=False),
    Column("note", String(500), nullable=False),
    Column("serial", String(60)),
    Column("photo_sha256", String(64)),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    Index("ix_supplied_part_movements_ledger_id_id", "ledger_id", "id"),
)

supplied_part_photos = Table(
    "supplied_part_photos",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("order_id", IdType, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content_type", String(40), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("uploaded_at", UtcDateTime, nullable=False),
    Column("uploaded_by_id", IdType),
    Column("uploaded_by_name", String(60), nullable=False),
    UniqueConstraint("order_id", "sha256"),
)


def _locks(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


class SqlAlchemySuppliedPartsRepository:
    """Per-order ledgers and the photos uploaded for an order. Never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def for_order(self, order_id: int) -> SuppliedPartsLedger | None:
        """The order's ledger, locked ``FOR UPDATE`` on PostgreSQL; ``None`` before its first use."""
        q = select(SuppliedPartsLedger).where(supplied_parts_ledgers.c.order_id == order_id)
        if _locks(self.session):
            q = q.with_for_update()
        return self.session.scalars(q).first()

    def add(self, ledger: SuppliedPartsLedger) -> None:
        self.session.add(ledger)

    def add_photo(self, photo: PartPhoto) -> None:
        self.session.add(photo)

    def photo(self, order_id: int, sha256: str) -> PartPhoto | None:
        return self.session.scalars(select(PartPhoto).where(
            supplied_part_photos.c.order_id == order_id, supplied_part_photos.c.sha256 == sha256)).first()


def start_supplied_parts_mappers() -> None:
    """Called once from ``mapping.start_mappers()``."""
    mapper_registry.map_imperatively(
        SuppliedItem, supplied_part_items, properties={"ledger_id": supplied_part_items.c.ledger_id})
    mapper_registry.map_imperatively(
        LedgerEntry, supplied_part_movements, properties={"ledger_id": supplied_part_movements.c.ledger_id})
    mapper_registry.map_imperatively(PartPhoto, supplied_part_photos)
    mapper_registry.map_imperatively(
        SuppliedPartsLedger,
        supplied_parts_ledgers,
        properties={
            "items": relationship(SuppliedItem, order_by=supplied_part_items.c.line_no,
                                  cascade="all, delete-orphan", lazy="selectin"),
            "entries": relationship(LedgerEntry, order_by=supplied_part_movements.c.id,
                                    cascade="all, delete-orphan", lazy="selectin"),
        },
        version_id_col=supplied_parts_ledgers.c.version,
    )

