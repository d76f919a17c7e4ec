"""A parent row and its child collections in ONE statement, on SQLite and PostgreSQL.

Each child collection becomes a scalar subquery that aggregates its rows into a JSON array
(``json_group_array(json_object(...))`` on SQLite, ``json_agg(json_build_object(...))`` on
PostgreSQL); :class:`ChildRows` turns the array back into dicts with the same Python types the
columns would give (dates, enums, value objects, booleans).

Why: on SQLite every statement and every fetched row releases and re-takes the GIL; under
concurrent load that hand-off, not the SQL, is what a detail page with three child tables costs
(benchmarks/dealer_reads.py: 4 statements ≈ 1.3k rps, 1 statement ≈ 2.1k rps at c16). The same
holds for the rows of a list: :func:`rows_as_json` returns a page of rows as one JSON array.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Select, Table, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator


class ChildRows:
    """One child collection of a parent table: ``rows = ChildRows(contacts, contacts.c.dealer_id)``."""

    def __init__(self, table: Table, foreign_key: Column[Any], columns: Sequence[Column[Any]] | None = None,
                 order_by: Column[Any] | None = None) -> None:
        self.table = table
        self.foreign_key = foreign_key
        self.columns = list(columns if columns is not None else table.c)
        self.order_by = order_by if order_by is not None else table.c.id
        self._decoders = _decoders_for(tuple(self.columns))

    def subquery_for(self, parent_key: ColumnElement[Any], dialect_name: str, label: str) -> ColumnElement[Any]:
        if dialect_name == "postgresql":
            pairs: list[Any] = []
            for c in self.columns:
                pairs += [literal_column(f"'{c.name}'"), c]
            agg = func.json_agg(aggregate_order_by(func.json_build_object(*pairs), self.order_by))
            inner = select(func.coalesce(agg, literal_column("'[]'::json"))).where(self.foreign_key == parent_key)
        else:
            # a correlated derived table keeps the rows ordered (SQLite < 3.44 has no ORDER BY inside
            # an aggregate); correlate explicitly, or the parent table joins in unfiltered
            ordered = (select(*self.columns).where(self.foreign_key == parent_key).order_by(self.order_by)
                       .correlate(parent_key.table).subquery())
            pairs = []
            for c in self.columns:
                value = ordered.c[c.name]
                pairs += [literal_column(f"'{c.name}'"), func.json(value) if isinstance(c.type, JSON) else value]
            inner = select(func.json_group_array(func.json_object(*pairs))).select_from(ordered)
        return inner.scalar_subquery().label(label)

    def decode(self, raw: Any, dialect: Any) -> list[dict[str, Any]]:
        items = _decode_json(raw)
        _convert(items, self._decoders, dialect)
        return items


def rows_as_json(stmt: Select[Any], dialect_name: str, label: str = "rows") -> Select[Any]:
    """Wrap a (filtered, ordered, limited) select so its rows come back as ONE JSON array in one
    row — one step of the SQLite cursor instead of one per row. Decode with :func:`decode_rows`."""
    sub = stmt.subquery()
    order = [sub.c[c.name] for c in stmt._order_by_clauses if getattr(c, "name", None) in sub.c]  # noqa: SLF001
    if dialect_name == "postgresql":
        pairs: list[Any] = []
        for c in sub.c:
            pairs += [literal_column(f"'{c.name}'"), c]
        obj = func.json_build_object(*pairs)
        agg = func.json_agg(aggregate_order_by(obj, *order)) if order else func.json_agg(obj)
        return select(func.coalesce(agg, literal_column("'[]'::json")).label(label))
    pairs = []
    for c in sub.c:
        pairs += [literal_column(f"'{c.name}'"), func.json(c) if isinstance(c.type, JSON) else c]
    return select(func.json_group_array(func.json_object(*pairs)).label(label)).select_from(sub)


def decode_rows(raw: Any, columns: Sequence[Any], dialect: Any) -> list[dict[str, Any]]:
    items = _decode_json(raw)
    _convert(items, _decoders_for(tuple(columns)), dialect)
    return items


def _decode_json(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, (str, bytes)):
        return msgspec.json.decode(raw)  # type: ignore[no-any-return]
    return list(raw or [])


def _convert(items: list[dict[str, Any]], decoders: list[tuple[str, Callable[[Any, Any], Any]]], dialect: Any) -> None:
    """In place, and only the columns whose JSON form differs from the Python value (strings and
    numbers come out of JSON as they are)."""
    for item in items:
        for name, conv in decoders:
            value = item.get(name)
            if value is not None:
                item[name] = conv(value, dialect)


@functools.lru_cache(maxsize=128)
def _decoders_for(columns: tuple[Any, ...]) -> list[tuple[str, Callable[[Any, Any], Any]]]:
    return [(c.name, conv) for c in columns if (conv := _decoder(c)) is not None]


def _decoder(column: Column[Any]) -> Callable[[Any, Any], Any] | None:
    t = column.type
    if isinstance(t, TypeDecorator):
        process = t.process_result_value
        base = _plain_decoder(t.impl_instance)
        if base is None:
            return lambda v, dialect: process(v, dialect)
        return lambda v, dialect: process(base(v), dialect)
    plain = _plain_decoder(t)
    return None if plain is None else (lambda v, dialect: plain(v))


def _plain_decoder(t: Any) -> Callable[[Any], Any] | None:
    if isinstance(t, Boolean):
        return bool
    if isinstance(t, DateTime):
        return _datetime
    if isinstance(t, Date):
        return lambda v: dt.date.fromisoformat(str(v)[:10])
    return None


def _datetime(v: Any) -> dt.datetime:
    # SQLite's "2026-12-07 08:00:00.000000", PostgreSQL's "2026-12-07T08:00:00+00:00" and a "Z"
    # suffix: Python 3.11's fromisoformat reads them all
    return dt.datetime.fromisoformat(v if isinstance(v, str) else str(v))
