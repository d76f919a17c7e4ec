"""SQLAlchemy repositories of the approval workflow. They never commit.

Workflows are loaded ``FOR UPDATE`` on PostgreSQL (SQLite write transactions begin IMMEDIATE):
two approvers of parallel steps are serialised, so the one who approves last sees the stage
complete. The version column turns any remaining race into a ``Conflict``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

import attrs
from sqlalchemy import and_, func, insert, or_, select, text
from sqlalchemy.orm import Session

from dealercrm.adapters.db import new_rows, shared_state
from dealercrm.adapters.db.locks import lock_dealer, lock_dealer_of
from dealercrm.adapters.db.repositories import DocumentNumbers
from dealercrm.adapters.db.workflow_tables import WORKFLOW_HISTORY, workflow_link_nonces, workflow_steps
from dealercrm.domain.identity import Role, User
from dealercrm.domain.workflow import (
    REGION_STAFF,
    Assignee,
    AssigneeKind,
    StandingDelegation,
    Workflow,
    WorkflowStatus,
)


def _locks(session: Session) -> bool | None:
    return (session.get_bind().dialect.name == "postgresql") or None


T = TypeVar("T")


class ReviewStaffCache:
    """Who a step may be addressed to (active users by role, department, id) and who covers for
    whom today, kept per process while the database's ``users`` change counter stays the same
    (``adapters.db.shared_state``): a user deactivated or a delegation set in any worker changes
    the counter in its own transaction, so the next transaction of every worker reads afresh. One
    counter read per transaction replaces the user and delegation queries of every order review.

    It holds detached copies, never the session's entities."""

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._entries: dict[tuple[int, Hashable], tuple[Any, ...]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, key: Hashable, load: Callable[[], Sequence[T]]) -> list[T]:
        version = _users_version(session)
        found = self._entries.get((version, key))
        if found is None:
            found = tuple(attrs.evolve(row) for row in load())  # type: ignore[misc]
            with self._lock:
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
                self._entries[(version, key)] = found
        return list(found)


_STEPS_TOP_KEY = "dealercrm.workflow_steps_top"
_MAX_STEP_ID = select(func.max(workflow_steps.c.id))
_MAX_STEP_ID_READ = _MAX_STEP_ID.scalar_subquery()
_USERS_COUNTER = shared_state.read_column(shared_state.USERS)


def _users_version(session: Session) -> int:
    """The ``users`` counter, read once per transaction (a flush that changes users forgets it)."""
    version = session.info.get(shared_state.USERS_VERSION_KEY)
    if version is None:
        version = session.info[shared_state.USERS_VERSION_KEY] = shared_state.read(session.connection(),
                                                                                    shared_state.USERS)
    return int(version)


class SqlAlchemyWorkflowRepository:
    def __init__(self, session: Session, staff: ReviewStaffCache | None = None) -> None:
        self.session = session
        self.numbers = DocumentNumbers(session)
        self.staff = staff

    def add(self, workflow: Workflow) -> None:
        """A new workflow inserted at once through Core (``adapters.db.new_rows``): its row, its
        steps in one statement, its history and audit rows; in the session afterwards as if
        loaded, with its ids set."""
        steps = list(workflow.steps)
        self._number_steps([s for s in steps if s.id is None])
        new_rows.insert_rows(self.session, [workflow])
        for step in steps:
            setattr(step, "workflow_id", workflow.id)  # a mapped column, not a domain field
        new_rows.insert_rows(self.session, steps)
        new_rows.adopt(self.session, [workflow, *steps], logs=(WORKFLOW_HISTORY,))

    def _number_steps(self, steps: Sequence[Any]) -> None:
        """Give new steps their ids up front, so the flush inserts them all in one executemany
        (SQLAlchemy inserts rows whose ids the database generates one statement per row on
        SQLite, to read each id back). PostgreSQL: the column's sequence; SQLite: after the
        largest id, safe because a write transaction holds the database's write lock from BEGIN
        IMMEDIATE on."""
        if not steps:
            return
        conn = self.session.connection()
        if conn.dialect.name == "postgresql":
            ids = list(conn.execute(text(
                "SELECT nextval(pg_get_serial_sequence('workflow_steps', 'id')) FROM generate_series(1, :n)"),
                {"n": len(steps)}).scalars())
        elif conn.dialect.name == "sqlite":
            top = self.session.info.pop(_STEPS_TOP_KEY, None)  # read with the number (``next_number``)
            if top is None:
                top = conn.execute(_MAX_STEP_ID).scalar()
            top = top or 0
            ids = list(range(top + 1, top + 1 + len(steps)))
        else:
            return
        for step, step_id in zip(steps, sorted(ids), strict=True):
            step.id = step_id

    def get(self, workflow_id: int) -> Workflow | None:
        lock_dealer_of(self.session, "workflows", "id", workflow_id)  # the dealer first (adapters.db.locks)
        return self.session.get(Workflow, workflow_id, with_for_update=_locks(self.session))

    def by_step(self, step_id: int) -> Workflow | None:
        workflow_id = self.session.execute(
            select(workflow_steps.c.workflow_id).where(workflow_steps.c.id == step_id)
        ).scalar()
        return None if workflow_id is None else self.get(workflow_id)

    def running_for(self, subject_type: str, subject_id: int) -> Workflow | None:
        q = select(Workflow).where(
            Workflow.subject_type == subject_type,  # type: ignore[arg-type]
            Workflow.subject_id == subject_id,  # type: ignore[arg-type]
            Workflow.status == WorkflowStatus.RUNNING,  # type: ignore[arg-type]
        )
        if _locks(self.session):
            for dealer_id in self.session.scalars(q.with_only_columns(Workflow.dealer_id)):  # type: ignore[arg-type]
                lock_dealer(self.session, dealer_id)
            q = q.with_for_update()
        return self.session.scalars(q).first()

    def next_number(self, year: int) -> str:
        """The workflow's number. Starting a workflow reads two more things right after it: the
        ``users`` counter (its addressees) and, on SQLite, the largest step id (``add``): both
        come back from the number's own statement, so a start costs one round trip for all three.
        The step-id base is good for the ``add`` that follows in this write transaction (it holds
        SQLite's write lock), and ``add`` consumes it."""
        sqlite = self.session.get_bind().dialect.name == "sqlite"
        reads = (_USERS_COUNTER, _MAX_STEP_ID_READ) if sqlite else (_USERS_COUNTER,)
        number, values = self.numbers.formatted_reading("WF", *reads, year=year)
        self.session.info[shared_state.USERS_VERSION_KEY] = int(values[0] or 0)
        if sqlite:
            self.session.info[_STEPS_TOP_KEY] = int(values[1] or 0)
        return number

    def candidate_users(self, assignees: Sequence[Assignee]) -> list[User]:
        if not assignees:
            return []
        roles = {Role(a.value) for a in assignees if a.kind is AssigneeKind.ROLE}
        if any(a.kind is AssigneeKind.REGION for a in assignees):
            # regions are a JSON list: narrow by role in SQL, by region in the caller
            roles |= set(REGION_STAFF)
        departments = {a.value for a in assignees if a.kind is AssigneeKind.DEPARTMENT}
        user_ids = {int(a.value) for a in assignees if a.kind is AssigneeKind.USER}

        def load() -> list[User]:  # the statement is built on a cache miss only: building costs
            reach = []
            if roles:
                reach.append(User.role.in_(sorted(roles)))  # type: ignore[attr-defined]
            if departments:
                reach.append(User.department.in_(sorted(departments)))  # type: ignore[attr-defined]
            if user_ids:
                reach.append(User.id.in_(sorted(user_ids)))  # type: ignore[attr-defined]
            q = select(User).where(User.is_active.is_(True), or_(*reach))  # type: ignore[attr-defined]
            return list(self.session.scalars(q.order_by(User.id)))  # type: ignore[arg-type]

        if self.staff is None:
            return load()
        key = ("candidates", tuple(sorted(roles)), tuple(sorted(departments)), tuple(sorted(user_ids)))
        return self.staff.get(self.session, key, load)

    def link_used(self, nonce: str) -> bool:
        return self.session.execute(
            select(workflow_link_nonces.c.nonce).where(workflow_link_nonces.c.nonce == nonce)
        ).first() is not None

    def record_link_use(self, nonce: str, step_id: int, user_id: int, at: dt.datetime) -> None:
        self.session.execute(insert(workflow_link_nonces).values(nonce=nonce, step_id=step_id, user_id=user_id,
                                                                 used_at=at))


class SqlAlchemyStandingDelegationRepository:
    def __init__(self, session: Session, staff: ReviewStaffCache | None = None) -> None:
        self.session = session
        self.staff = staff

    def add(self, delegation: StandingDelegation) -> None:
        self.session.add(delegation)

    def get(self, delegation_id: int) -> StandingDelegation | None:
        return self.session.get(StandingDelegation, delegation_id, with_for_update=_locks(self.session))

    def of_user(self, from_user_id: int) -> list[StandingDelegation]:
        q = select(StandingDelegation).where(
            StandingDelegation.from_user_id == from_user_id  # type: ignore[arg-type]
        ).order_by(StandingDelegation.id)  # type: ignore[arg-type]
        return list(self.session.scalars(q))

    def _active(self, day: dt.date):  # type: ignore[no-untyped-def]
        D = StandingDelegation  # noqa: N806
        return and_(D.cancelled_at.is_(None), D.starts_on <= day,  # type: ignore[attr-defined,operator]
                    or_(D.ends_on.is_(None), D.ends_on >= day))  # type: ignore[attr-defined,operator]

    def active_to(self, to_user_id: int, day: dt.date) -> list[StandingDelegation]:
        q = select(StandingDelegation).where(
            StandingDelegation.to_user_id == to_user_id, self._active(day)  # type: ignore[arg-type]
        ).order_by(StandingDelegation.id)  # type: ignore[arg-type]
        return list(self.session.scalars(q))

    def active_from(self, from_user_ids: list[int], day: dt.date) -> list[StandingDelegation]:
        if not from_user_ids:
            return []

        def load() -> list[StandingDelegation]:
            q = select(StandingDelegation).where(
                StandingDelegation.from_user_id.in_(from_user_ids), self._active(day)  # type: ignore[attr-defined]
            ).order_by(StandingDelegation.id)  # type: ignore[arg-type]
            return list(self.session.scalars(q))

        if self.staff is None:
            return load()
        return self.staff.get(self.session, ("covers", tuple(from_user_ids), day), load)
