"""What every table module shares, and imports nothing of ours beyond it: the ``MetaData`` all
tables live on, the one mapper registry, the id column type, and the append-only-log hook.

Table modules import this; mapping starts in ``adapters.db.mapping`` (called by bootstrap).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import BigInteger, Integer, Table, insert
from sqlalchemy.orm import Session, registry

from dealercrm.adapters.db.metadata import metadata

__all__ = ["AppendOnlyLog", "IdType", "mapper_registry", "metadata"]

mapper_registry = registry(metadata=metadata)

# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger elsewhere.
IdType = BigInteger().with_variant(Integer(), "sqlite")


class AppendOnlyLog:
    """An aggregate's append-only log (an order's timeline, a workflow's history): the entries it
    collected in ``attribute`` — a plain list, not a mapped relationship, never loaded with it —
    go to ``table`` in one INSERT and are dropped. ``after_flush`` is the Session hook: it sees
    every aggregate of the flush that is new or changed (adding an entry must change it);
    ``drain`` does the same for aggregates inserted without a flush (``adapters.db.new_rows``)."""

    def __init__(self, kind: type, attribute: str, table: Table, row: Callable[[int, Any], dict[str, Any]]) -> None:
        self.kind = kind
        self.attribute = attribute
        self.row = row
        self.statement = insert(table)  # built once, not per flush

    def drain(self, session: Session, objects: Iterable[Any]) -> None:
        rows = []
        for obj in objects:
            if isinstance(obj, self.kind):
                pending = getattr(obj, self.attribute)
                if pending:
                    rows += [self.row(obj.id, entry) for entry in pending]
                    pending.clear()
        if rows:
            session.connection().execute(self.statement, rows)

    def after_flush(self, session: Session, _flush_context: Any) -> None:
        self.drain(session, (*session.new, *session.dirty))
