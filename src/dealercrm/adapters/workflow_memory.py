"""In-memory twins of the workflow repositories (for unit tests and embedding teams' tests).

They live on :class:`dealercrm.adapters.memory.MemoryUnitOfWork` as ``uow.workflows`` and
``uow.delegations`` with the same semantics as the SQL ones: nothing is visible before
``commit()``; a used link nonce is unique (a second use is a ``Conflict``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from dealercrm.adapters.memory_tables import MemoryWorkspace
from dealercrm.domain.errors import Conflict
from dealercrm.domain.identity import Role, User
from dealercrm.domain.workflow import (
    REGION_STAFF,
    Assignee,
    AssigneeKind,
    StandingDelegation,
    Workflow,
    WorkflowStatus,
)


class MemoryWorkflowRepository:
    def __init__(self, uow: MemoryWorkspace) -> None:
        self.uow = uow

    def _all(self) -> list[Workflow]:
        return [*self.uow.working.workflows.values(),
                *(o for t, o in self.uow.pending if t == "workflows")]

    def add(self, workflow: Workflow) -> None:
        self.uow.pending.append(("workflows", workflow))

    def get(self, workflow_id: int) -> Workflow | None:
        return self.uow.working.workflows.get(workflow_id)

    def by_step(self, step_id: int) -> Workflow | None:
        return next((w for w in self._all() if any(s.id == step_id for s in w.steps)), None)

    def running_for(self, subject_type: str, subject_id: int) -> Workflow | None:
        return next((w for w in self._all() if w.subject_type == subject_type and w.subject_id == subject_id
                     and w.status is WorkflowStatus.RUNNING), None)

    def next_number(self, year: int) -> str:
        seq = self.uow.working.sequences
        name = f"WF-{year}"
        seq[name] = seq.get(name, 0) + 1
        return f"{name}-{seq[name]:06d}"

    def candidate_users(self, assignees: Sequence[Assignee]) -> list[User]:
        def reached(u: User, a: Assignee) -> bool:
            if a.kind is AssigneeKind.ROLE:
                return u.role is Role(a.value)
            if a.kind is AssigneeKind.DEPARTMENT:
                return u.department == a.value
            if a.kind is AssigneeKind.REGION:
                return u.role in REGION_STAFF
            return u.id == int(a.value)

        return sorted((u for u in self.uow.working.users.values()
                       if u.is_active and any(reached(u, a) for a in assignees)), key=lambda u: u.id or 0)

    def link_used(self, nonce: str) -> bool:
        return nonce in self.uow.working.link_nonces

    def record_link_use(self, nonce: str, step_id: int, user_id: int, at: dt.datetime) -> None:
        if nonce in self.uow.working.link_nonces:
            raise Conflict("该审批链接已使用过", code="db.integrity_conflict")
        self.uow.working.link_nonces[nonce] = {"step_id": step_id, "user_id": user_id, "used_at": at}


class MemoryStandingDelegationRepository:
    def __init__(self, uow: MemoryWorkspace) -> None:
        self.uow = uow

    def _all(self) -> list[StandingDelegation]:
        return [*self.uow.working.delegations.values(),
                *(o for t, o in self.uow.pending if t == "delegations")]

    def add(self, delegation: StandingDelegation) -> None:
        self.uow.pending.append(("delegations", delegation))

    def get(self, delegation_id: int) -> StandingDelegation | None:
        return self.uow.working.delegations.get(delegation_id)

    def of_user(self, from_user_id: int) -> list[StandingDelegation]:
        return [d for d in self._all() if d.from_user_id == from_user_id]

    def active_to(self, to_user_id: int, day: dt.date) -> list[StandingDelegation]:
        return [d for d in self._all() if d.to_user_id == to_user_id and d.active_on(day)]

    def active_from(self, from_user_ids: list[int], day: dt.date) -> list[StandingDelegation]:
        wanted = set(from_user_ids)
        return [d for d in self._all() if d.from_user_id in wanted and d.active_on(day)]


def children(obj: Any) -> list[Any]:
    """Entities inside a workflow that need ids on flush."""
    if isinstance(obj, Workflow):
        return [*obj.steps, *obj.history]
    return []
