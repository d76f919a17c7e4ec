"""Learning (seed 000 §6.6): who read which knowledge article, and required reading (必读)
assigned to dealers or service stations — tables, mapping, the repository and the reads."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    and_,
    case,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from dealercrm.adapters.db.aftersales_tables import service_stations
from dealercrm.adapters.db.base import IdType, mapper_registry, metadata
from dealercrm.adapters.db.marketing_tables import kb_articles
from dealercrm.adapters.db.orm import dealers, users
from dealercrm.adapters.db.types import StrEnumType, UtcDateTime
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.knowledge import Readership
from dealercrm.domain.learning import ArticleRead, ReadingAssignment
from dealercrm.domain.values import beijing_date

kb_reading_assignments = Table(
    "kb_reading_assignments",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("article_id", IdType, ForeignKey("kb_articles.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("readership", StrEnumType(Readership), nullable=False),
    Column("target_ids", JSON, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("note", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by_name", String(60), nullable=False),
    Column("cancelled_at", UtcDateTime),
    Column("version", Integer, nullable=False),
)

kb_reads = Table(
    "kb_reads",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("article_id", IdType, ForeignKey("kb_articles.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", IdType, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("dealer_id", IdType),
    Column("station_id", IdType),
    Column("first_read_at", UtcDateTime, nullable=False),
    Column("last_read_at", UtcDateTime, nullable=False),
    Column("read_count", Integer, nullable=False),
    UniqueConstraint("article_id", "user_id", name="uq_kb_reads_article_user"),
    Index("ix_kb_reads_article_last", "article_id", "last_read_at"),
)

TABLES = {"kb_reading_assignments", "kb_reads"}


def start_learning_mappers() -> None:
    mapper_registry.map_imperatively(ReadingAssignment, kb_reading_assignments,
                                     version_id_col=kb_reading_assignments.c.version)
    mapper_registry.map_imperatively(ArticleRead, kb_reads)


class SqlAlchemyReadingRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, assignment: ReadingAssignment) -> None:
        self.session.add(assignment)

    def get(self, assignment_id: int) -> ReadingAssignment | None:
        pg = self.session.get_bind().dialect.name == "postgresql"
        return self.session.get(ReadingAssignment, assignment_id, with_for_update=pg or None)

    def unknown_targets(self, readership: Readership, ids: tuple[int, ...]) -> list[int]:
        if not ids:
            return []
        table = dealers if readership is Readership.DEALERS else service_stations
        known = set(self.session.execute(select(table.c.id).where(table.c.id.in_(set(ids)))).scalars())
        return sorted(set(ids) - known)

    def read_of(self, article_id: int, user_id: int) -> ArticleRead | None:
        return self.session.execute(select(ArticleRead).where(
            kb_reads.c.article_id == article_id, kb_reads.c.user_id == user_id)).scalar_one_or_none()

    def add_read(self, read: ArticleRead) -> None:
        self.session.add(read)


# --- reads ------------------------------------------------------------------------------------------

_a = kb_reading_assignments


def _addressed_users(assignment: Any) -> Any:
    """The active people an assignment addresses: users of the dealers (or stations) it names."""
    return or_(
        and_(assignment.c.readership == Readership.DEALERS, users.c.role == Role.DEALER,
             users.c.dealer_id.is_not(None)),
        and_(assignment.c.readership == Readership.STATIONS, users.c.role == Role.STATION,
             users.c.station_id.is_not(None)),
    )


def _org_of_user() -> Any:
    return case((users.c.role == Role.DEALER, users.c.dealer_id), else_=users.c.station_id)


def _targeted(row: dict[str, Any], org_id: int | None) -> bool:
    return org_id is not None and (not row["target_ids"] or org_id in row["target_ids"])


class SqlLearningQueries:
    """The learning reads of ``KnowledgeQueries`` (``SqlKnowledgeQueries`` inherits them)."""

    engine: Engine

    def _assignment_rows(self, conn: Any, where: Any = None, limit: int = 500) -> list[dict[str, Any]]:
        q = (select(_a, kb_articles.c.title, kb_articles.c.article_no)
             .join(kb_articles, kb_articles.c.id == _a.c.article_id).order_by(_a.c.due_on, _a.c.id).limit(limit))
        if where is not None:
            q = q.where(where)
        return [dict(r._mapping) for r in conn.execute(q)]

    def _people(self, conn: Any, row: dict[str, Any]) -> list[dict[str, Any]]:
        org = _org_of_user()
        role = Role.DEALER if row["readership"] == Readership.DEALERS else Role.STATION
        org_name = (select(func.coalesce(dealers.c.short_name, dealers.c.legal_name)).where(dealers.c.id == users.c.dealer_id)
                    if role is Role.DEALER else
                    select(service_stations.c.name).where(service_stations.c.id == users.c.station_id))
        q = (select(users.c.id.label("user_id"), users.c.display_name, org.label("org_id"),
                    org_name.scalar_subquery().label("org_name"), kb_reads.c.first_read_at.label("read_at"))
             .outerjoin(kb_reads, and_(kb_reads.c.user_id == users.c.id, kb_reads.c.article_id == row["article_id"]))
             .where(users.c.role == role, users.c.is_active.is_(True), org.is_not(None))
             .order_by(org, users.c.id))
        if row["target_ids"]:
            q = q.where(org.in_(row["target_ids"]))
        return [dict(r._mapping) for r in conn.execute(q)]

    def required_reading(self, p: Principal, now: dt.datetime) -> list[dict[str, Any]]:
        readership = {Role.DEALER: Readership.DEALERS, Role.STATION: Readership.STATIONS}.get(p.role)
        org_id = p.dealer_id if p.role is Role.DEALER else p.station_id
        if readership is None or org_id is None:
            return []
        today = beijing_date(now)
        with self.engine.connect() as conn:
            rows = self._assignment_rows(conn, and_(_a.c.readership == readership, _a.c.cancelled_at.is_(None)))
            read = dict(conn.execute(select(kb_reads.c.article_id, kb_reads.c.first_read_at)
                                     .where(kb_reads.c.user_id == p.user_id)).all())
        out = []
        for row in rows:
            if _targeted(row, org_id):
                read_at = read.get(row["article_id"])
                out.append({**_public(row), "read_at": read_at, "overdue": read_at is None and today > row["due_on"]})
        return out

    def assignments(self, *, active_only: bool = True, limit: int = 200) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = self._assignment_rows(conn, _a.c.cancelled_at.is_(None) if active_only else None, limit)
            out = []
            for row in rows:
                people = self._people(conn, row)
                out.append({**_public(row), "addressed": len(people),
                            "read": sum(1 for person in people if person["read_at"] is not None)})
        return out

    def assignment_progress(self, assignment_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            rows = self._assignment_rows(conn, _a.c.id == assignment_id)
            if not rows:
                return None
            people = self._people(conn, rows[0])
        return {**_public(rows[0]), "addressed": len(people),
                "read": sum(1 for person in people if person["read_at"] is not None), "people": people}

    def readers(self, article_id: int) -> list[dict[str, Any]]:
        org_name = func.coalesce(
            select(func.coalesce(dealers.c.short_name, dealers.c.legal_name))
            .where(dealers.c.id == kb_reads.c.dealer_id).scalar_subquery(),
            select(service_stations.c.name).where(service_stations.c.id == kb_reads.c.station_id).scalar_subquery(),
            literal("厂内"))
        q = (select(kb_reads.c.user_id, users.c.display_name, users.c.role, org_name.label("org_name"),
                    kb_reads.c.first_read_at, kb_reads.c.last_read_at, kb_reads.c.read_count)
             .join(users, users.c.id == kb_reads.c.user_id).where(kb_reads.c.article_id == article_id)
             .order_by(kb_reads.c.last_read_at.desc(), kb_reads.c.id.desc()).limit(1000))
        with self.engine.connect() as conn:
            return [{**r._mapping, "role": r.role.value if hasattr(r.role, "value") else r.role} for r in conn.execute(q)]


def _public(row: dict[str, Any]) -> dict[str, Any]:
    readership = row["readership"]
    return {"id": row["id"], "article_id": row["article_id"], "article_no": row["article_no"], "title": row["title"],
            "readership": getattr(readership, "value", readership), "target_ids": list(row["target_ids"]),
            "due_on": row["due_on"], "note": row["note"], "created_at": row["created_at"],
            "created_by_name": row["created_by_name"], "cancelled": row["cancelled_at"] is not None}
