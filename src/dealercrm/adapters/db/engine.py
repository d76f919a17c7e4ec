"""Engines for the two supported databases.

SQLite (embedded default): WAL journal, foreign keys on, a busy timeout, and we take control of
``BEGIN`` (pysqlite otherwise runs SELECTs outside any transaction): read transactions begin
DEFERRED, write transactions that read-then-write begin IMMEDIATE, so two writers never both
read a stale value — the SQLite half of RELIABILITY.md's concurrency table.

PostgreSQL (production): psycopg 3, READ COMMITTED, aggregates locked with ``FOR UPDATE`` where a
rule spans rows.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

__all__ = ["Engine", "make_engine"]

#: JSON columns hold Chinese text as itself, not as ``\uXXXX`` escapes (a third of the bytes).
_json_serializer = functools.partial(json.dumps, ensure_ascii=False)


def make_engine(url: str, *, sqlite_synchronous: str = "FULL", echo: bool = False, pool_size: int = 10) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        # an in-memory database lives in its connection: every thread shares the one connection
        # (StaticPool), or each new connection would see an empty database
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False},
                               poolclass=StaticPool, json_serializer=_json_serializer, pool_reset_on_return=None)
        _configure_sqlite(engine, sqlite_synchronous)
        return engine
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=pool_size * 2,
            json_serializer=_json_serializer,
            pool_reset_on_return=None,  # _configure_sqlite resets (only what needs it)
        )
        _configure_sqlite(engine, sqlite_synchronous)
        return engine
    return create_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True,
                         json_serializer=_json_serializer)


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ValueError(f"bad sqlite synchronous mode {synchronous!r}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "reset")
    def _on_reset(dbapi_connection: Any, _record: Any, _state: Any) -> None:
        # The pool's reset-on-return: a connection handed back inside a transaction (one of our
        # BEGINs) is rolled back; one in autocommit, as after every read, has nothing to undo, so
        # it skips the dialect's rollback call the default reset makes on each check-in (issue 20 §4).
        if dbapi_connection.in_transaction:
            dbapi_connection.rollback()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode is not None:  # None: statements run in SQLite's own autocommit (see read_bind)
            conn.exec_driver_sql(f"BEGIN {mode}")


def write_bind(engine: Engine) -> Engine:
    """The engine to bind write units of work to (BEGIN IMMEDIATE on SQLite)."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(sqlite_begin="IMMEDIATE")
    return engine


def read_bind(engine: Engine) -> Engine:
    """The engine for reads that need no transaction around them (each statement is its own
    snapshot): no BEGIN/ROLLBACK round trips. On SQLite every extra statement also releases and
    re-takes the GIL, which under concurrent load costs far more than the statement itself."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(sqlite_begin=None)
    return engine.execution_options(isolation_level="AUTOCOMMIT")
