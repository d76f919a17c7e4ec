"""Saving a new aggregate: the one place that adds it, flushes for its id and commits.

Every use case that creates something returns the new id; the id exists only after the flush,
so the sequence add → flush → read id → commit is the same everywhere. A flush that leaves the id
unset is a broken adapter, never bad input, hence ``InvariantBroken`` (and nothing committed).
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from dealercrm.application.ports.persistence import Transaction
from dealercrm.domain.errors import InvariantBroken


class Adds(Protocol):
    """A repository that takes a new aggregate (every repository port has ``add``)."""

    def add(self, obj: Any) -> None: ...


class HasId(Protocol):
    id: int | None


E = TypeVar("E", bound=HasId)


def save_new(uow: Transaction, repo: Adds, entity: E, what: str) -> int:
    """Inside an open unit of work: add ``entity`` to ``repo``, flush, commit, return its id.
    ``what`` names the entity in the ``InvariantBroken`` raised when the flush gave it no id."""
    repo.add(entity)
    uow.flush()
    entity_id = entity.id
    if entity_id is None:
        raise InvariantBroken(f"{what} has no id: not flushed")
    uow.commit()
    return entity_id
