"""Ports of the approval workflow: its repositories on the unit of work and its read side.

``uow.workflows`` and ``uow.delegations`` are the write side (aggregates, locked for change);
:class:`WorkflowQueries` answers lists and reports straight from SQL, scoped by the principal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

from dealercrm.domain.identity import Principal, User
from dealercrm.domain.workflow import Assignee, StandingDelegation, Workflow


class WorkflowRepository(Protocol):
    def add(self, workflow: Workflow) -> None: ...

    def get(self, workflow_id: int) -> Workflow | None:
        """Load for change; on PostgreSQL the workflow's row is locked until the transaction ends,
        so two approvers of parallel steps cannot both miss that the stage passed."""

    def by_step(self, step_id: int) -> Workflow | None:
        """The workflow holding a step, loaded (and locked) like :meth:`get`."""

    def running_for(self, subject_type: str, subject_id: int) -> Workflow | None:
        """The running workflow of a business document, if any (locked like :meth:`get`)."""

    def next_number(self, year: int) -> str:
        """The next human workflow number (``WF-2026-000123``)."""

    def candidate_users(self, assignees: Sequence[Assignee]) -> list[User]:
        """Active users any of ``assignees`` may reach (before scope checks), in one lookup: the
        caller sorts them out per step with :meth:`Assignee.addresses`."""

    def link_used(self, nonce: str) -> bool: ...

    def record_link_use(self, nonce: str, step_id: int, user_id: int, at: dt.datetime) -> None:
        """Remember an e-mail link's nonce so the link works once (unique; a race is a Conflict)."""


class StandingDelegationRepository(Protocol):
    def add(self, delegation: StandingDelegation) -> None: ...

    def get(self, delegation_id: int) -> StandingDelegation | None: ...

    def of_user(self, from_user_id: int) -> list[StandingDelegation]:
        """Every delegation the user gave, cancelled ones included."""

    def active_to(self, to_user_id: int, day: dt.date) -> list[StandingDelegation]:
        """Delegations in force on ``day`` that name ``to_user_id`` as the delegate."""

    def active_from(self, from_user_ids: list[int], day: dt.date) -> list[StandingDelegation]:
        """Delegations in force on ``day`` given by any of ``from_user_ids``."""


class WorkflowQueries(Protocol):
    """Read side: plain dict rows, row-level scope applied in SQL."""

    def pending_tasks_for(self, principal: Principal, *, now: dt.datetime, limit: int = 50,
                          after_step_id: int | None = None,
                          due_between: tuple[dt.datetime, dt.datetime] | None = None) -> list[dict[str, Any]]: ...

    def pending_tasks_page(self, principal: Principal, *, now: dt.datetime,
                           limit: int) -> tuple[int, list[dict[str, Any]]]: ...

    def pending_tasks_page_and_due(
        self, principal: Principal, *, now: dt.datetime, limit: int,
        due_between: tuple[dt.datetime, dt.datetime], due_limit: int,
    ) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]: ...

    def count_pending_tasks_for(self, principal: Principal, *, now: dt.datetime) -> int: ...

    def workflow_detail(self, workflow_id: int) -> dict[str, Any] | None: ...

    def workflows_of_subject(self, principal: Principal, subject_type: str, subject_id: int) -> list[dict[str, Any]]: ...

    def report(self, principal: Principal, *, now: dt.datetime, subject_type: str | None = None) -> dict[str, Any]: ...

    def delegations_of(self, user_id: int, *, now: dt.datetime) -> list[dict[str, Any]]: ...

    def delegation_candidates(self, user_id: int, *, dealer_id: int | None) -> list[dict[str, Any]]:
        """Active users other than ``user_id`` who may cover for them: factory staff, and the users
        of ``dealer_id`` when the giver is a dealer user (``id``, ``username``, ``display_name``,
        ``role``, ``dealer_id``, ``station_id``, ``regions``), ordered by role and name."""
        ...
