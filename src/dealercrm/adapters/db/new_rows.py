"""New aggregates written through Core instead of an ORM flush (the hot create paths: an order and
its review workflow, benchmarks/order_submit.py).

The domain builds and validates the objects as always; only their INSERTs change. ``insert_rows``
runs one prebuilt ``INSERT`` per mapped class (an ``executemany`` when the ids are known) and sets
the ids the database gave; ``adopt`` then does what a flush does after its INSERTs — the audit
rows, the append-only logs (an order's timeline, a workflow's history), the live workbench notes —
and puts the objects into the session's identity map as persistent, unchanged rows (as if just
loaded). Later changes to them in the same unit of work are flushed as UPDATEs, and a load by id
returns the same object.

Only for classes whose row is its mapped attributes alone: a ``None`` goes into the INSERT as
NULL, so a column with a default or server default must always have a value in the domain
object, and no nullable JSON column may be mapped (Core would store JSON ``null``, the ORM SQL
``NULL``); ``_Plan`` refuses such a class. The other ``after_flush`` listeners — the change counters
(``shared_state``: users, delegations) and the full-text indexes (articles, dealers, end customers)
— watch none of the classes written here; a class they watch must keep going through the flush.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Insert, inspect, insert
from sqlalchemy.orm import Mapper, Session, make_transient_to_detached

from dealercrm.adapters.db import audit, live_changes
from dealercrm.adapters.db.base import AppendOnlyLog
from dealercrm.domain.errors import InvariantBroken


class _Plan:
    """How the objects of one mapped class become the parameters of one prebuilt INSERT."""

    def __init__(self, of: Mapper[Any]) -> None:
        mapper: Any = of  # SQLAlchemy's stubs type local_table and version_id_generator loosely
        cls = mapper.class_
        table = mapper.local_table
        if len(table.primary_key.columns) != 1:
            raise InvariantBroken(f"{cls.__name__}: Core inserts need a single-column primary key")
        self.id_key = mapper.get_property_by_column(table.primary_key.columns[0]).key
        self.version_key = (mapper.get_property_by_column(mapper.version_id_col).key
                            if mapper.version_id_col is not None else None)
        self.version_first = mapper.version_id_generator(None) if mapper.version_id_col is not None else None
        self.columns: list[tuple[str, str]] = []  # (attribute key, column key), the primary key left out
        for prop in mapper.column_attrs:
            for column in prop.columns:
                if column.table is not table or column.primary_key:
                    continue
                if column.nullable and isinstance(column.type, JSON):
                    raise InvariantBroken(f"{cls.__name__}.{prop.key}: a nullable JSON column (see new_rows)")
                self.columns.append((prop.key, column.key))
        self.id_column = table.primary_key.columns[0].key
        self.version_column = mapper.version_id_col.key if mapper.version_id_col is not None else None
        self.statement: Insert = insert(table)

    def params(self, obj: Any) -> dict[str, Any]:
        values = obj.__dict__
        out = {column: values.get(key) for key, column in self.columns}
        if self.version_column is not None:
            out[self.version_column] = self.version_first
        return out


@functools.cache
def _plan_of(mapper: Mapper[Any]) -> _Plan:
    return _Plan(mapper)


def insert_rows(session: Session, objects: Sequence[Any]) -> None:
    """INSERT ``objects`` (all of one mapped class, not in any session yet) on the session's
    connection, in one statement when they all have their ids already; set the ids and versions."""
    if not objects:
        return
    plan = _plan_of(inspect(type(objects[0])))
    conn = session.connection()
    if all(getattr(o, plan.id_key) is not None for o in objects):
        rows = [plan.params(o) | {plan.id_column: getattr(o, plan.id_key)} for o in objects]
        conn.execute(plan.statement, rows if len(rows) > 1 else rows[0])
    else:
        for o in objects:
            key = conn.execute(plan.statement, plan.params(o)).inserted_primary_key
            if key is None:
                raise InvariantBroken(f"{type(o).__name__}: the INSERT returned no id")
            setattr(o, plan.id_key, key[0])
    if plan.version_key is not None:
        for o in objects:
            setattr(o, plan.version_key, plan.version_first)


def adopt(session: Session, objects: Sequence[Any], logs: Sequence[AppendOnlyLog] = ()) -> None:
    """What a flush does after inserting ``objects`` (rows written by ``insert_rows``, in the order a
    flush would list them) — the audit rows, the entries of their append-only ``logs``, the live
    workbench notes — then make them persistent in ``session``: the first of them is the aggregate
    root, and adding it cascades to the others."""
    audit.record_created(session, objects)
    for log in logs:
        log.drain(session, objects)
    live_changes.note_created(session, objects)
    for o in objects:
        make_transient_to_detached(o)
    session.add(objects[0])  # cascades along the root's relationships to the rest
