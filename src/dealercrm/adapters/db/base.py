"""What every table module shares, and imports nothing of ours beyond it: the ``MetaData`` all
tables live on, the one mapper registry, the id column type, and the append-only-log hook.

Table modules import this; mapping starts in ``adapters.db.mapping`` (called by bootstrap).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import BigInteger, Integer, Table, insert
from sqlalchemy.orm import Session, registry

from dealercrm.adapters.db.metadata import metadata

__all__ = ["IdType", "append_only_log", "mapper_registry", "metadata"]

mapper_registry = registry(metadata=metadata)

# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger elsewhere.
IdType = BigInteger().with_variant(Integer(), "sqlite")


def append_only_log(kind: type, attribute: str, table: Table,
                    row: Callable[[int, Any], dict[str, Any]]) -> Callable[[Session, Any], None]:
    """An ``after_flush`` hook for an aggregate's append-only log (an order's timeline, a
    workflow's history): the entries it collected in ``attribute`` — a plain list, not a mapped
    relationship, never loaded with it — go to ``table`` in one INSERT and are dropped. It sees
    every aggregate of the flush that is new or changed; adding an entry must change it."""

    statement = insert(table)  # built once, not per flush

    def store(session: Session, _flush_context: Any) -> None:
        rows = []
        for obj in (*session.new, *session.dirty):
            if isinstance(obj, kind):
                pending = getattr(obj, attribute)
                if pending:
                    rows += [row(obj.id, entry) for entry in pending]
                    pending.clear()
        if rows:
            session.connection().execute(statement, rows)

    return store
