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
    """The approval workflow (审批流程): the caller's tasks, decisions, delegation (转签/委托), withdrawal,
    signed e-mail links and the report. Reads are scoped by the caller; a workflow it may not see is 404."""
    _uow: UnitOfWorkFactory
    _clock: Clock
    _queries: WorkflowQueries | None
    _mail: ApprovalMail | None

    def now(self) -> dt.datetime:
        """The service's clock (an aware datetime); pages use it for due dates and ages."""
        return self._clock()

    @property
    def queries(self) -> WorkflowQueries:
        """The workflow read port; ``ReadModelUnavailable`` when the container was built without one
        (in-memory units of work without ``workflow_queries``)."""
        if self._queries is None:
            raise ReadModelUnavailable("审批流程")
        return self._queries

    def pending_tasks(self, actor: Principal, *, limit: int = 50, after_step_id: int | None = None) -> list[dict[str, Any]]:
        """The open steps the caller may act on now (待办: addressed, by role, or delegated),
        keyset-paged by step id; any principal. Returns task rows."""
        return self.queries.pending_tasks_for(actor, now=self.now(), limit=limit, after_step_id=after_step_id)

    def count_pending_tasks(self, actor: Principal) -> int:
        """How many open steps the caller may act on now; any principal."""
        return self.queries.count_pending_tasks_for(actor, now=self.now())

    def detail(self, actor: Principal, workflow_id: int) -> dict[str, Any]:
        """One workflow with its stages, steps and history; whoever may see its subject's dealer.
        ``NotFound`` when missing or not visible."""
        row = self.queries.workflow_detail(workflow_id)
        if row is None or not workflow.workflow_visible(actor, row["dealer_id"], row["region"]):
            raise not_found("workflow", "审批流程")
        return row

    def of_subject(self, actor: Principal, subject_type: str, subject_id: int) -> list[dict[str, Any]]:
        """The workflows of one document (``subject_type``, ``subject_id``) as the caller
        may see them (an empty list otherwise)."""
        return self.queries.workflows_of_subject(actor, subject_type, subject_id)

    def decide(self, actor: Principal, step_id: int, decision: str, *, reason: str | None = None,
               comment: str | None = None) -> workflow.StepDecided:
        """Approve or reject one step (审批) as the caller; a rejection needs a reason. Only whoever the step is
        addressed or delegated to. Returns ``StepDecided``; ``InvalidValue``, ``PermissionDenied``
        (not your step), ``NotFound``, ``IllegalTransition`` (step or workflow closed)."""
        return workflow.decide_step(self._uow(actor), step_id=step_id, decision=decision, by=actor,
                                    now=self.now(), reason=reason, comment=comment)

    def delegate(self, actor: Principal, step_id: int, to_user_id: int, until: dt.date | None = None,
                 reason: str | None = None) -> workflow.StepDecided:
        """Hand an open step to a named user (转签), optionally until a date, with an optional reason kept in the
        history; the caller must be able to act on the step and the delegate must see the document. Returns
        ``StepDecided``; ``InvalidValue``, ``PermissionDenied``, ``NotFound``, ``IllegalTransition``."""
        return workflow.delegate_step(self._uow(actor), step_id=step_id, to_user_id=to_user_id, by=actor,
                                      now=self.now(), until=until, reason=reason)

    def step_delegates(self, actor: Principal, workflow_id: int) -> list[dict[str, Any]]:
        """Whom the caller may hand a step of that workflow to (转签): their delegation candidates who may
        see its document (``workflow.may_take_step``). ``NotFound`` when the workflow is not visible."""
        detail = self.detail(actor, workflow_id)
        return workflow.step_delegates(self.delegation_candidates(actor), detail["dealer_id"], detail["region"])

    def withdraw(self, actor: Principal, workflow_id: int, reason: str | None = None) -> str:
        """The submitter takes a running workflow back (撤回); its owner learns ``withdrawn``. Returns the
        workflow's status; ``PermissionDenied`` (not the submitter), ``NotFound``, ``IllegalTransition``."""
        return workflow.withdraw(self._uow(actor), workflow_id=workflow_id, by=actor, now=self.now(), reason=reason)

    def set_delegation(self, actor: Principal, to_user_id: int, starts_on: dt.date, ends_on: dt.date | None = None,
                       note: str | None = None, from_user_id: int | None = None) -> int:
        """A standing delegation (委托): the caller (or, for an admin, ``from_user_id``) lets a colleague act on
        their steps from ``starts_on``. Returns its id; ``InvalidValue`` (dates, target), ``Conflict``
        (overlap), ``PermissionDenied`` (naming another giver without admin), ``NotFound``."""
        return workflow.set_standing_delegation(self._uow(actor), by=actor, to_user_id=to_user_id,
                                                starts_on=starts_on, ends_on=ends_on, note=note, now=self.now(),
                                                from_user_id=from_user_id)

    def cancel_delegation(self, actor: Principal, delegation_id: int) -> None:
        """Take a standing delegation back (委托收回) from now on; its giver or an admin. ``NotFound``
        (missing or not yours), ``IllegalTransition`` (already cancelled or expired)."""
        workflow.cancel_standing_delegation(self._uow(actor), delegation_id=delegation_id, by=actor, now=self.now())

    def delegations(self, actor: Principal) -> list[dict[str, Any]]:
        """The caller's standing delegations, given and received (none for a principal without a user)."""
        return [] if actor.user_id is None else self.queries.delegations_of(actor.user_id, now=self.now())

    def delegation_candidates(self, actor: Principal) -> list[dict[str, Any]]:
        """Whom the caller may delegate their tasks to (受托人): active factory staff, and a dealer user's
        colleagues at the same dealer; none for a principal without a user."""
        if actor.user_id is None:
            return []
        dealer_id = actor.dealer_id if actor.role is Role.DEALER else None
        return self.queries.delegation_candidates(actor.user_id, dealer_id=dealer_id)

    def report(self, actor: Principal, subject_type: str | None = None) -> dict[str, Any]:
        """The approval report (审批统计) within the caller's scope, optionally for one subject type;
        admin or region manager. ``PermissionDenied`` otherwise."""
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
        """Make a signed e-mail link's decision (邮件审批) as its user, once. Returns ``StepDecided``;
        ``ApprovalLinkInvalid`` / ``ApprovalLinkUsed`` and the errors of ``decide``."""
        claims, principal = self._link(token)
        return workflow.act_on_link(self._uow(principal), claims=claims, now=self.now(), reason=reason,
                                    comment=comment)
