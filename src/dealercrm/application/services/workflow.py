"""The approval workflow with its dependencies bound: tasks, decisions, delegation, e-mail
links and the report. Reads are scoped in SQL by the caller; a workflow the caller may not see
answers 404, the report is for admins and region managers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from dealercrm.application import identity, workflow
from dealercrm.application.access import not_found, require_role
from dealercrm.application.approval_links import (
    ApprovalLinkInvalid,
    ApprovalMail,
    LinkClaims,
)
from dealercrm.application.ports.persistence import Clock, UnitOfWorkFactory
from dealercrm.application.ports.reads import ReadModelUnavailable
from dealercrm.application.ports.workflow import WorkflowQueries
from dealercrm.domain.errors import AuthenticationFailed
from dealercrm.domain.identity import Principal, Role


@attrs.define
class WorkflowService:
    _uow: UnitOfWorkFactory
    _clock: Clock
    _queries: WorkflowQueries | None
    _mail: ApprovalMail | None

    def now(self) -> dt.datetime:
        return self._clock()

    @property
    def queries(self) -> WorkflowQueries:
        if self._queries is None:
            raise ReadModelUnavailable("审批流程")
        return self._queries

    def pending_tasks(self, actor: Principal, *, limit: int = 50, after_step_id: int | None = None) -> list[dict[str, Any]]:
        return self.queries.pending_tasks_for(actor, now=self.now(), limit=limit, after_step_id=after_step_id)

    def count_pending_tasks(self, actor: Principal) -> int:
        return self.queries.count_pending_tasks_for(actor, now=self.now())

    def detail(self, actor: Principal, workflow_id: int) -> dict[str, Any]:
        row = self.queries.workflow_detail(workflow_id)
        if row is None or not workflow.workflow_visible(actor, row["dealer_id"], row["region"]):
            raise not_found("workflow", "审批流程")
        return row

    def of_subject(self, actor: Principal, subject_type: str, subject_id: int) -> list[dict[str, Any]]:
        return self.queries.workflows_of_subject(actor, subject_type, subject_id)

    def decide(self, actor: Principal, step_id: int, decision: str, *, reason: str | None = None,
               comment: str | None = None) -> workflow.StepDecided:
        return workflow.decide_step(self._uow(actor), step_id=step_id, decision=decision, by=actor,
                                    now=self.now(), reason=reason, comment=comment)

    def delegate(self, actor: Principal, step_id: int, to_user_id: int, until: dt.date | None = None) -> workflow.StepDecided:
        return workflow.delegate_step(self._uow(actor), step_id=step_id, to_user_id=to_user_id, by=actor,
                                      now=self.now(), until=until)

    def withdraw(self, actor: Principal, workflow_id: int, reason: str | None = None) -> str:
        return workflow.withdraw(self._uow(actor), workflow_id=workflow_id, by=actor, now=self.now(), reason=reason)

    def set_delegation(self, actor: Principal, to_user_id: int, starts_on: dt.date, ends_on: dt.date | None = None,
                       note: str | None = None, from_user_id: int | None = None) -> int:
        return workflow.set_standing_delegation(self._uow(actor), by=actor, to_user_id=to_user_id,
                                                starts_on=starts_on, ends_on=ends_on, note=note, now=self.now(),
                                                from_user_id=from_user_id)

    def cancel_delegation(self, actor: Principal, delegation_id: int) -> None:
        workflow.cancel_standing_delegation(self._uow(actor), delegation_id=delegation_id, by=actor, now=self.now())

    def delegations(self, actor: Principal) -> list[dict[str, Any]]:
        return [] if actor.user_id is None else self.queries.delegations_of(actor.user_id, now=self.now())

    def report(self, actor: Principal, subject_type: str | None = None) -> dict[str, Any]:
        require_role(actor, Role.ADMIN, Role.REGION_MANAGER)
        return self.queries.report(actor, now=self.now(), subject_type=subject_type)

    def _link(self, token: str) -> tuple[LinkClaims, Principal]:
        mail = self._mail
        if mail is None or mail.signer is None:
            raise ApprovalLinkInvalid("未启用邮件审批", code="workflow.link_invalid")
        claims = mail.signer.verify(token, self.now())
        try:
            principal = identity.principal_from_claims({"sub": claims.user_id}, self._uow(Principal.system()))
        except AuthenticationFailed:
            raise ApprovalLinkInvalid("该审批链接的账号不存在或已停用", code="workflow.link_invalid") from None
        return claims, principal

    def inspect_link(self, token: str) -> workflow.LinkView:
        """What an e-mail link would do (GET: changes nothing)."""
        claims, principal = self._link(token)
        return workflow.inspect_link(self._uow(principal), claims=claims, now=self.now())

    def act_on_link(self, token: str, reason: str | None = None, comment: str | None = None) -> workflow.StepDecided:
        claims, principal = self._link(token)
        return workflow.act_on_link(self._uow(principal), claims=claims, now=self.now(), reason=reason,
                                    comment=comment)
