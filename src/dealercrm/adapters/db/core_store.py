"""Connection plumbing of the stores kept on SQLAlchemy Core rather than the mapped unit of work
(``SqlCommunityStore``, ``SqlMessageStore``): reads on a plain connection, each write one short
transaction that has committed when the block ends, and a row by id where an id outside the id
type's range reads as missing (never a database error on a hand-typed URL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.engine import Engine, RowMapping
from sqlalchemy.sql import Select

T = TypeVar("T")

_MAX_ID = 2**63  # BIGINT on PostgreSQL


def is_row_id(value: int) -> bool:
    """Could ``value`` be a row id at all (a positive 64-bit integer)?"""
    return 0 < value < _MAX_ID


class CoreStore:
    """Base of a port adapter on SQLAlchemy Core. ``what`` names the store in the error raised
    when it is built without a database (a library without one keeps the store but cannot use it)."""

    what = "this store"

    def __init__(self, engine: Engine | None) -> None:
        self.engine = engine

    def _engine(self) -> Engine:
        if self.engine is None:
            raise RuntimeError(f"{self.what} needs a database")
        return self.engine

    def reading(self) -> Any:
        """``with self.reading() as conn:`` — a connection for queries (rolled back on close)."""
        return self._engine().connect()

    def writing(self) -> Any:
        """``with self.writing() as conn:`` — one transaction, committed when the block ends."""
        return self._engine().begin()

    def by_id(self, row_id: int, query: Select[Any], convert: Callable[[RowMapping], T]) -> T | None:
        """The one row ``query`` selects for ``row_id``, converted; ``None`` when there is none or
        ``row_id`` cannot be an id."""
        if not is_row_id(row_id):
            return None
        with self.reading() as conn:
            row = conn.execute(query).mappings().first()
        return convert(row) if row is not None else None


__all__ = ["CoreStore", "is_row_id"]
