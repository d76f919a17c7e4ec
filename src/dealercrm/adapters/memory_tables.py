"""Rows of an in-memory twin, kept on the memory unit of work's working copy.

A :class:`MemoryTable` does for the twins what the SQL mapping does for the real repositories:
a new entity gets its id when added, and on flush an entity whose stored columns changed since
the last flush gets ``version + 1`` (SQLAlchemy's ``version_id_col``), so a use case's
stale-version check behaves as it does against the database.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any, Generic, Protocol, TypeVar

import attrs

E = TypeVar("E")


class MemoryWorkspace(Protocol):
    """What the in-memory twins use of ``adapters.memory.MemoryUnitOfWork`` (which imports
    them): its working copy of the store, the objects added in this transaction, its clock."""

    working: Any
    pending: list[tuple[str, Any]]
    clock: Callable[[], dt.datetime]

    def flush(self) -> None: ...


class MemoryTable(Generic[E]):
    """Entities by id, and each one's columns as of the last flush.

    ``children`` names the attributes stored in tables of their own (timelines, lines, history):
    changing them alone does not change the row, as with the real mapping."""

    def __init__(self, children: tuple[str, ...] = (), versioned: bool = True, version_attr: str = "version") -> None:
        self.rows: dict[int, E] = {}
        self.flushed: dict[int, tuple[Any, ...]] = {}
        self.children = frozenset(children)
        self.versioned = versioned
        self.version_attr = version_attr

    def __iter__(self) -> Iterator[E]:
        return iter(self.rows.values())

    def get(self, row_id: int) -> E | None:
        return self.rows.get(row_id)

    def add(self, entity: E, next_id: Callable[[], int]) -> None:
        if getattr(entity, "id", None) is None:
            entity.id = next_id()  # type: ignore[attr-defined]
        self.rows[entity.id] = entity  # type: ignore[attr-defined]

    def where(self, test: Callable[[E], bool]) -> list[E]:
        return sorted((e for e in self.rows.values() if test(e)), key=lambda e: e.id)  # type: ignore[attr-defined]

    def flush(self) -> None:
        for row_id, entity in self.rows.items():
            columns = self._columns(entity)
            before = self.flushed.get(row_id)
            if self.versioned and before is not None and before != columns:
                setattr(entity, self.version_attr, getattr(entity, self.version_attr) + 1)
                columns = self._columns(entity)
            self.flushed[row_id] = copy.deepcopy(columns)

    def _columns(self, entity: E) -> tuple[Any, ...]:
        return tuple(getattr(entity, f.name) for f in attrs.fields(type(entity))
                     if f.name not in self.children and f.name not in (self.version_attr, "id"))
