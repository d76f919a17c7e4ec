"""SQLAlchemy repositories, one per aggregate. They never commit."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    String,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.orm import Session

from dealercrm.adapters.db.locks import DEALER_LOCK, locks_rows
from dealercrm.adapters.db.orm import device_reports, document_sequences
from dealercrm.domain.channel import Dealer
from dealercrm.domain.identity import DeviceCredential, User
from dealercrm.domain.values import Uscc

GAPLESS_PREFIXES = frozenset({"FP", "SK"})
"""Document kinds whose numbers must have no gaps: invoices (FP, 发票登记) and payment receipts
(SK, 收款凭证) are accounting records — an auditor reads a missing number as a destroyed
voucher (会计基础工作规范: vouchers are numbered consecutively). Every other kind (orders SO,
contracts HT, workflows WF, dealer codes DL, gate passes GP, shipments SH …) is an internal
reference: a number lost to a rolled-back transaction is harmless, and those kinds must not
queue every writer behind one counter row."""

_SEQUENCE_NAME = re.compile(r"[A-Z]{1,8}(-[0-9]{4})?")


class DocumentNumbers:
    """Human document numbers (``DL-000123``, ``SO-2026-000045``), one series per prefix and year.

    * Gap-tolerant kinds on PostgreSQL take ``nextval`` of a sequence per series
      (``docno_so_2026``), which is not transactional: concurrent writers never wait for each
      other, and a rolled-back transaction leaves a gap. The sequence is created on first use in
      an autocommit connection of its own (``CREATE SEQUENCE IF NOT EXISTS``, starting after the
      series' old counter row if there is one; a creator that loses the race just uses the
      winner's), so no transaction ever fails because two of them opened the series together.
    * Gapless kinds (:data:`GAPLESS_PREFIXES`) and every kind on SQLite (one writer at a time
      anyway) bump the series' ``document_sequences`` row with ``UPDATE … RETURNING`` in the
      caller's transaction; the first row of a series is created with ``INSERT … ON CONFLICT DO
      NOTHING``, so two first writers do not collide. On PostgreSQL the row lock is held until
      COMMIT, which is what makes the numbers gapless and serialises the writers of that series:
      callers take such a number as the last step before committing.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    _BUMP = (
        update(document_sequences)
        .where(document_sequences.c.name == bindparam("sequence_name"))
        .values(next_value=document_sequences.c.next_value + 1)
        .returning(document_sequences.c.next_value)
    )  # built once: every numbered document runs it

    def next(self, name: str) -> int:
        return self.next_reading(name)[0]

    def next_reading(self, name: str, *reads: ColumnElement[Any],
                     params: Mapping[str, Any] | None = None) -> tuple[int, tuple[Any, ...]]:
        """``next``, and the values of ``reads`` (scalar subqueries the caller needs anyway, their
        bound ``params``) from the same statement: one round trip instead of two on the write path."""
        if self.session.get_bind().dialect.name == "postgresql" and name.split("-")[0] not in GAPLESS_PREFIXES:
            return self._from_sequence(name, reads, params or {})
        return self._from_counter(name, reads, params or {})

    def _from_counter(self, name: str, reads: tuple[ColumnElement[Any], ...],
                      params: Mapping[str, Any]) -> tuple[int, tuple[Any, ...]]:
        conn = self.session.connection()
        bump = _bump_reading(self._BUMP, reads)
        row = conn.execute(bump, {**params, "sequence_name": name}).first()
        if row is None:
            conn.execute(_insert_for(conn.dialect.name)(document_sequences)
                         .values(name=name, next_value=1).on_conflict_do_nothing(index_elements=["name"]))
            row = conn.execute(bump, {**params, "sequence_name": name}).one()
        return int(row[0]) - 1, tuple(row[1:])

    def _from_sequence(self, name: str, reads: tuple[ColumnElement[Any], ...],
                       params: Mapping[str, Any]) -> tuple[int, tuple[Any, ...]]:
        if _SEQUENCE_NAME.fullmatch(name) is None:
            raise ValueError(f"not a document series: {name!r}")
        sequence = "docno_" + name.lower().replace("-", "_")
        conn = self.session.connection()
        known = conn.info.setdefault("document_sequences", set())  # per database connection
        if sequence not in known:
            # Never look a missing sequence up on this transaction's connection: PostgreSQL would
            # cache "no such relation" and not see the sequence created a moment later.
            _create_sequence(conn.engine, sequence, name)
            known.add(sequence)
        row = conn.execute(_nextval_reading(reads), {**params, "sequence": sequence}).one()
        return int(row[0]), tuple(row[1:])

    def formatted(self, prefix: str, *, year: int | None = None, width: int = 6) -> str:
        return self.formatted_reading(prefix, year=year, width=width)[0]

    def formatted_reading(self, prefix: str, *reads: ColumnElement[Any], year: int | None = None,
                          width: int = 6, params: Mapping[str, Any] | None = None) -> tuple[str, tuple[Any, ...]]:
        """``formatted`` with ``next_reading``'s extra values."""
        name = f"{prefix}-{year}" if year else prefix
        number, values = self.next_reading(name, *reads, params=params)
        return f"{name}-{number:0{width}d}", values


_NEXTVAL = func.nextval(bindparam("sequence", type_=String))
class _Reads:
    """A set of reads compared by identity (SQLAlchemy columns overload ``==``), so the statements
    below can be memoised per set: callers pass module constants."""

    __slots__ = ("columns",)

    def __init__(self, columns: tuple[ColumnElement[Any], ...]) -> None:
        self.columns = columns

    def __hash__(self) -> int:
        return hash(tuple(map(id, self.columns)))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, _Reads) and len(other.columns) == len(self.columns)
                and all(a is b for a, b in zip(self.columns, other.columns)))


# The number statements with their extra reads, built once per set of reads: building one per
# call cost more than running it. Bounded, should a caller build reads per call.
@functools.lru_cache(maxsize=64)
def _bump_with(bump: Any, reads: _Reads) -> Any:
    return bump.returning(*reads.columns)


@functools.lru_cache(maxsize=64)
def _nextval_with(reads: _Reads) -> Any:
    return select(_NEXTVAL, *reads.columns)


def _bump_reading(bump: Any, reads: tuple[ColumnElement[Any], ...]) -> Any:
    return _bump_with(bump, _Reads(reads)) if reads else bump


def _nextval_reading(reads: tuple[ColumnElement[Any], ...]) -> Any:
    return _nextval_with(_Reads(reads))


def _create_sequence(engine: Engine, sequence: str, name: str) -> None:
    """Create the series' sequence, committed at once, after any number its counter row gave."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        start = conn.execute(select(document_sequences.c.next_value)
                             .where(document_sequences.c.name == name)).scalar() or 1
        try:
            conn.execute(text(f"CREATE SEQUENCE IF NOT EXISTS {sequence} START WITH {int(start)}"))
        except (IntegrityError, ProgrammingError) as exc:
            # Two first writers created it at the same instant and the catalog's unique index
            # refused the second (23505) or it saw the first's (42P07): it exists either way.
            if getattr(exc.orig, "sqlstate", None) not in ("23505", "42P07"):
                raise


def _insert_for(dialect: str):  # type: ignore[no-untyped-def]
    return pg_insert if dialect == "postgresql" else sqlite_insert


class SqlAlchemyDealerRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.numbers = DocumentNumbers(session)

    def add(self, dealer: Dealer) -> None:
        self.session.add(dealer)

    def get(self, dealer_id: int) -> Dealer | None:
        # FOR NO KEY UPDATE, the first lock of a write transaction (adapters.db.locks)
        return self.session.get(Dealer, dealer_id, with_for_update=DEALER_LOCK if locks_rows(self.session) else None)

    def by_uscc(self, uscc: str) -> Dealer | None:
        return self.session.scalars(select(Dealer).where(Dealer.uscc == Uscc(uscc))).first()  # type: ignore[arg-type]

    def next_code(self) -> str:
        return self.numbers.formatted("DL")

    def assessment_rules(self) -> dict[str, Any] | None:
        from dealercrm.adapters.db.orm import dealer_assessment_rules as r

        row = self.session.execute(select(r.c["items"], r.c.created_at, r.c.created_by).order_by(r.c.id.desc())
                                   .limit(1)).first()
        return None if row is None else {"items": list(row[0]), "created_at": row[1], "created_by": row[2]}

    def save_assessment_rules(self, items: list[dict[str, Any]], at: dt.datetime, by: str) -> None:
        from sqlalchemy import insert

        from dealercrm.adapters.db.orm import dealer_assessment_rules

        self.session.execute(insert(dealer_assessment_rules).values(items=items, created_at=at, created_by=by))

    def growth_plan(self, dealer_id: int, year: int) -> dict[str, Any] | None:
        from dealercrm.adapters.db.orm import dealer_growth_plans as g

        row = self.session.execute(select(g).where(g.c.dealer_id == dealer_id, g.c.year == year)).first()
        if row is None:
            return None
        return {"year": row.year, "vehicles": row.vehicles, "amount_fen": int(row.amount_fen),
                "retail_vehicles": row.retail_vehicles, "actions": list(row.actions), "updated_at": row.updated_at,
                "updated_by": row.updated_by}

    def save_growth_plan(self, dealer_id: int, plan: dict[str, Any], at: dt.datetime, by: str) -> None:
        from sqlalchemy import delete, insert

        from dealercrm.adapters.db.orm import dealer_growth_plans as g

        # the dealer's row is locked by the caller: a plain replace is safe
        self.session.execute(delete(g).where(g.c.dealer_id == dealer_id, g.c.year == plan["year"]))
        self.session.execute(insert(g).values(dealer_id=dealer_id, updated_at=at, updated_by=by, **plan))


class SqlAlchemyUserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, user: User) -> None:
        self.session.add(user)

    def get(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def by_username(self, username: str) -> User | None:
        return self.session.scalars(select(User).where(User.username == username)).first()  # type: ignore[arg-type]

    def of_dealer(self, dealer_id: int) -> list[User]:
        return list(self.session.scalars(select(User).where(User.dealer_id == dealer_id)))  # type: ignore[arg-type]

    def by_badge(self, badge_uid: str) -> User | None:
        return self.session.scalars(select(User).where(User.badge_uid == badge_uid)).first()  # type: ignore[arg-type]

    def with_badges(self) -> list[User]:
        return list(self.session.scalars(
            select(User).where(User.badge_uid.is_not(None), User.is_active.is_(True))  # type: ignore[attr-defined]
            .order_by(User.id)))  # type: ignore[arg-type]


class SqlAlchemyDeviceReports:
    """One row per device, overwritten (update, else insert) in the unit of work's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def put(self, device_id: int, reported_at: dt.datetime, report: dict[str, Any]) -> None:
        overwrite = (update(device_reports).where(device_reports.c.device_id == device_id)
                     .values(reported_at=reported_at, report=report))
        if self.session.execute(overwrite).rowcount:  # type: ignore[attr-defined]
            return
        try:
            with self.session.begin_nested():
                self.session.execute(insert(device_reports).values(device_id=device_id, reported_at=reported_at,
                                                                   report=report))
        except IntegrityError:  # a concurrent first report of the same device won the insert
            self.session.execute(overwrite)


class SqlAlchemyDeviceCredentialRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, credential: DeviceCredential) -> None:
        self.session.add(credential)

    def get(self, credential_id: int) -> DeviceCredential | None:
        return self.session.get(DeviceCredential, credential_id)

    def by_prefix(self, key_prefix: str) -> DeviceCredential | None:
        return self.session.scalars(
            select(DeviceCredential).where(DeviceCredential.key_prefix == key_prefix)  # type: ignore[arg-type]
        ).first()

    def touch(self, credential: DeviceCredential, now: dt.datetime) -> None:
        credential.last_used_at = now
