"""Hot one-row reads run on a pooled DBAPI connection, past ``Connection.execute`` (issue 20 §4):
the dealer detail, and a page of the dealer list (one row: its rows as one JSON array).

The statement is still built with Core and compiled by the engine's dialect — once per dialect.
What a call skips is SQLAlchemy's per-execution machinery: the ``Connection`` with its autobegin,
``begin`` event and rollback on close, the execution context, the compiled-cache lookup, the
``CursorResult`` and its ``Row``. On the dealer detail that machinery cost more than the query
itself (benchmarks/dealer_reads.py). Values still come back through the types' own result
processors, and parameters through their bind processors, so a caller gets what
``conn.execute(stmt, params).first()._mapping`` would give.

For reads only. On SQLite the pooled connection is in autocommit (engine.py issues BEGIN itself),
so the statement is its own snapshot, as with ``read_bind``; on PostgreSQL it runs in a
transaction that the pool's reset-on-return rolls back. These statements are not seen by engine
events such as ``before_cursor_execute``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Engine, Select
from sqlalchemy.engine import Dialect


class _Compiled:
    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.converters: list[tuple[str, Callable[[Any], Any]]] = []
        for bind, name in compiled.bind_names.items():
            if bind.expanding:  # an IN list is rendered per call: Connection.execute does that
                raise TypeError(f"bind parameter {name!r} is an expanding IN list; run this statement with "
                                "Connection.execute")
            convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if convert is not None:
                self.converters.append((compiled.escaped_bind_names.get(name, name), convert))
        self.compiled = compiled
        self.sql = compiled.string
        self.positional = tuple(compiled.positiontup or ()) if compiled.positional else None
        self.columns = [
            (key, column.type.dialect_impl(dialect).result_processor(dialect, None))
            for key, column in statement.selected_columns.items()
        ]

    def parameters(self, params: Mapping[str, Any]) -> Any:
        values = self.compiled.construct_params(dict(params))  # the statement's own literals included
        for name, convert in self.converters:  # as the column types bind them (enums, value objects…)
            values[name] = convert(values[name])
        if self.positional is not None:
            return tuple(values[name] for name in self.positional)
        return values


class DirectRead:
    """One statement, compiled per dialect on first use: ``first(engine, params)`` is its first
    row as a dict of column key → value, or ``None``."""

    def __init__(self, statement: Callable[[str], Select[Any]]) -> None:
        self._statement = statement  # built per dialect name (some statements differ by dialect)
        self._compiled: dict[tuple[str, str], _Compiled] = {}  # by dialect and driver (paramstyle)

    def first(self, engine: Engine, params: Mapping[str, Any]) -> dict[str, Any] | None:
        dialect = engine.dialect
        compiled = self._compiled.get((dialect.name, dialect.driver))
        if compiled is None:
            compiled = _Compiled(self._statement(dialect.name), dialect)
            self._compiled[(dialect.name, dialect.driver)] = compiled
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(compiled.sql, compiled.parameters(params))
                row = cursor.fetchone()
            finally:
                cursor.close()
        finally:
            connection.close()
        if row is None:
            return None
        return {key: value if convert is None else convert(value)
                for (key, convert), value in zip(compiled.columns, row, strict=True)}
