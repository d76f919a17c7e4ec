"""Use cases of the generic approval workflow, and the hook through which owners learn outcomes.

Other contexts put a document under review by calling :func:`start_workflow` **inside their own
unit of work**, in the same transaction as the business change (an order submitted, a dealer
sent for review). When the workflow finishes — approved, rejected with reasons, withdrawn — the
owning context's outcome handler runs, again in the same transaction as the decisive step: if the
handler fails, the decision is rolled back with it. Which handler owns which subject type is a
:class:`WorkflowHandlers` table that the composition root builds once and every unit of work it
opens carries (``uow.workflow_handlers``); nothing registers itself at import time, so two
containers in one process never see each other's handlers.

Who may act on a step is the aggregate's rule (``domain/workflow.py``); who may *see* a workflow
is checked here first with the dealer scope (a dealer user never learns another dealer's
workflow exists: 404). Standing delegations (工作任务委托) are resolved here: the users who
delegated their tasks to the caller today are passed to the aggregate as ``delegators``.

When a step opens, every addressed user with an e-mail address (and whoever covers for them
today) gets an approval e-mail through the outbox — with signed approve / reject links when the
unit of work carries an :class:`ApprovalMail` with a signer.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from dealercrm.application.access import dealer_scope, not_found, require_role
from dealercrm.application.approval_links import (
    ApprovalLinkInvalid,
    ApprovalLinkUsed,
    ApprovalMail,
    LinkClaims,
    new_nonces,
)
from dealercrm.application.identity import principal_of
from dealercrm.application.ports.persistence import QueuedMessage, UnitOfWork
from dealercrm.domain.errors import Conflict, IllegalTransition, InvalidValue, InvariantBroken, PermissionDenied
from dealercrm.domain.identity import Principal, Role, User
from dealercrm.domain.workflow import (
    SHANGHAI,
    AssigneeKind,
    StageDef,
    StandingDelegation,
    StepDef,
    StepDelegated,
    StepOpened,
    StepStatus,
    Workflow,
    WorkflowDefinition,
    WorkflowFinished,
    WorkflowOutcome,
    WorkflowStatus,
    WorkflowStep,
    WorkflowSubject,
    beijing_date,
    end_of_beijing_day,
)
from dealercrm.domain.values import stored_id

__all__ = [
    "AssigneeKind", "Decision", "OutcomeHandler", "StageDef", "StepDecided", "StepDef", "StepHandler",
    "SubjectHandlers", "WorkflowDefinition", "WorkflowHandlers", "WorkflowOutcome", "WorkflowStatus",
    "WorkflowSubject", "act_on_link", "cancel_standing_delegation", "decide_step", "decide_subject_step",
    "delegate_step", "inspect_link", "portal_url_of", "decide_in", "set_standing_delegation", "settle",
    "start_workflow", "withdraw", "workflow_visible",
]

# The first argument is the unit of work the workflow is decided in; each owner's handler names
# the narrower context Protocol it uses (a callable's parameter is contravariant, so one table
# of several contexts' handlers cannot name a single unit of work type).
OutcomeHandler = Callable[[Any, Workflow, WorkflowOutcome], None]
StepHandler = Callable[[Any, Workflow, WorkflowStep], None]


class Decision(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


@attrs.frozen
class StepDecided:
    workflow_id: int
    step_id: int
    step_status: str
    workflow_status: str


# ---------------------------------------------------------------------------------------------
# Outcome hook: the handler table


@attrs.frozen
class SubjectHandlers:
    """What the owner of ``subject_type`` documents learns: every outcome through
    ``on_outcome(uow, workflow, outcome)``, run in the transaction of the final step, and
    optionally each step decided (approved or rejected) through ``on_step(uow, workflow, step)``,
    in the deciding transaction, before the outcome (e.g. the order's timeline shows every
    review step)."""

    subject_type: str
    on_outcome: OutcomeHandler
    on_step: StepHandler | None = None


def _frozen_table(entries: Mapping[str, SubjectHandlers]) -> Mapping[str, SubjectHandlers]:
    return MappingProxyType(dict(entries))


@attrs.frozen
class WorkflowHandlers:
    """The handler table: subject type → its owner's handlers. An immutable value: the
    composition root builds it once and hands it to the units of work it opens."""

    _by_type: Mapping[str, SubjectHandlers] = attrs.field(factory=dict, converter=_frozen_table)

    @classmethod
    def of(cls, *subjects: SubjectHandlers) -> WorkflowHandlers:
        """A table of ``subjects``; one owner per subject type (a second one is a ``ValueError``)."""
        return cls().including(*subjects)

    def including(self, *subjects: SubjectHandlers) -> WorkflowHandlers:
        """A new table with ``subjects`` added; this one is unchanged."""
        table = dict(self._by_type)
        for subject in subjects:
            if subject.subject_type in table:
                raise ValueError(f"an outcome handler for {subject.subject_type!r} is already in the table")
            table[subject.subject_type] = subject
        return WorkflowHandlers(by_type=table)

    @property
    def subject_types(self) -> frozenset[str]:
        return frozenset(self._by_type)

    def outcome_handler(self, subject_type: str) -> OutcomeHandler:
        subject = self._by_type.get(subject_type)
        if subject is None:
            raise LookupError(f"no outcome handler registered for subject type {subject_type!r}")
        return subject.on_outcome

    def step_handler(self, subject_type: str) -> StepHandler | None:
        subject = self._by_type.get(subject_type)
        return None if subject is None else subject.on_step


NO_HANDLERS = WorkflowHandlers()


def handlers_of(uow: UnitOfWork) -> WorkflowHandlers:
    """The handler table this unit of work carries (none: no document type can be reviewed)."""
    table: WorkflowHandlers | None = getattr(uow, "workflow_handlers", None)
    return table if table is not None else NO_HANDLERS


def portal_url_of(uow: UnitOfWork) -> str:
    """The portal address for messages written in this unit of work (handlers use it too)."""
    mail: ApprovalMail = getattr(uow, "approval_mail", None) or ApprovalMail()
    return mail.portal_url


# ---------------------------------------------------------------------------------------------
# Visibility


def workflow_visible(p: Principal, dealer_id: int | None, region: str | None) -> bool:
    """The dealer scope applied to a workflow: a dealer user sees its own dealer's, regional
    staff their regions' (and those without a region), station users and devices none."""
    scope = dealer_scope(p)
    if scope.nothing:
        return False
    if scope.dealer_id is not None:
        return dealer_id is not None and dealer_id == scope.dealer_id
    if scope.regions is not None and region is not None:
        return region in scope.regions
    return True


def may_take_step(delegate: Principal, dealer_id: int | None, region: str | None) -> bool:
    """Whether a step of a workflow on (``dealer_id``, ``region``) may be handed to ``delegate`` (转签):
    whoever may see the document — factory staff in scope, or a user of the document's own dealer."""
    return workflow_visible(delegate, dealer_id, region)


def step_delegates(candidates: list[dict[str, Any]], dealer_id: int | None,
                   region: str | None) -> list[dict[str, Any]]:
    """The colleagues (rows of ``WorkflowQueries.delegation_candidates``) a step of a workflow on
    (``dealer_id``, ``region``) may be handed to, by :func:`may_take_step`."""
    return [c for c in candidates if may_take_step(
        Principal(user_id=c["id"], username=c["username"], role=Role(str(c["role"])), dealer_id=c.get("dealer_id"),
                  station_id=c.get("station_id"), regions=tuple(c.get("regions") or ())), dealer_id, region)]


def _visible_or_404(p: Principal, wf: Workflow | None) -> Workflow:
    if wf is None or not workflow_visible(p, wf.dealer_id, wf.region):
        raise not_found("workflow", "审批流程")
    return wf


def _delegators_of(uow: UnitOfWork, by: Principal, now: dt.datetime) -> tuple[Principal, ...]:
    """Users whose tasks ``by`` covers today through a standing delegation."""
    if by.user_id is None:
        return ()
    out = []
    for d in uow.delegations.active_to(by.user_id, beijing_date(now)):
        user = uow.users.get(d.from_user_id)
        if user is not None and user.is_active:
            out.append(principal_of(user))
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Starting (inside the caller's unit of work)


def start_workflow(uow: UnitOfWork, *, definition: WorkflowDefinition, subject: WorkflowSubject,
                   submitted_by: Principal, now: dt.datetime, subject_is_new: bool = False) -> int:
    """Put ``subject`` under review; call inside the caller's open unit of work (no commit here).

    Opens the first stage, e-mails its addressees through the outbox, and returns the workflow
    id. A document has at most one running workflow (``workflow.already_running``);
    ``subject_is_new`` (the document was created in this transaction) skips asking — the
    database's one-running-workflow-per-document index still holds."""
    handlers_of(uow).outcome_handler(subject.type)  # an owner-less document type cannot be reviewed
    if not subject_is_new and uow.workflows.running_for(subject.type, subject.id) is not None:
        raise Conflict("该单据已有进行中的审批流程", code="workflow.already_running",
                       subject_type=subject.type, subject_id=subject.id)
    number = uow.workflows.next_number(beijing_date(now).year)
    wf = Workflow.start(definition, subject, number=number, submitted_by=submitted_by, now=now)
    uow.workflows.add(wf)
    _settle(uow, wf, now, submitted_by)
    if wf.id is None:
        raise InvariantBroken("workflow has no id: not flushed")
    return wf.id


# ---------------------------------------------------------------------------------------------
# Deciding


def decide_step(uow: UnitOfWork, *, step_id: int, decision: Decision | str, by: Principal, now: dt.datetime,
                reason: str | None = None, comment: str | None = None) -> StepDecided:
    """Approve or reject one step (reject needs a reason) as ``by``; one transaction."""
    decision = _decision(decision)
    with uow:
        wf = _visible_or_404(by, uow.workflows.by_step(step_id))
        result = _decide_in(uow, wf, step_id, decision, by, now, reason, comment)
        uow.commit()
    return result


def decide_subject_step(uow: UnitOfWork, *, subject_type: str, subject_id: int, decision: Decision | str,
                        by: Principal, now: dt.datetime, reason: str | None = None,
                        comment: str | None = None) -> StepDecided | None:
    """Decide the caller's open step of a document's running workflow, inside the caller's unit
    of work (how ``POST /dealers/{id}/approve`` keeps working). ``None``: no running workflow.

    The step is the one ``by`` is addressed to (directly or by delegation); administrators, who
    may act on any step, decide the only open one. Several candidates → ``workflow.step_ambiguous``.
    """
    decision = _decision(decision)
    wf = uow.workflows.running_for(subject_type, subject_id)
    if wf is None:
        return None
    _visible_or_404(by, wf)
    delegators = _delegators_of(uow, by, now)
    addressed = [s for s in wf.open_steps
                 if s.addressed_to(by, now) or any(s.addressed_to(d, now) for d in delegators)]
    candidates = addressed or (wf.open_steps if by.role is Role.ADMIN else [])
    if not candidates:
        raise PermissionDenied("该审批步骤不由您办理", code="workflow.not_your_step",
                               current_state=wf.status.value)
    if len(candidates) > 1:
        raise Conflict("有多个待审批步骤，请指定要办理的步骤", code="workflow.step_ambiguous",
                       step_ids=[s.id for s in candidates])
    step_id = candidates[0].id
    if step_id is None:
        raise InvariantBroken(f"an open step of workflow {wf.id} has no id")
    return _decide_in(uow, wf, step_id, decision, by, now, reason, comment, delegators)


def _decision(decision: Decision | str) -> Decision:
    try:
        return Decision(decision)
    except ValueError:
        raise InvalidValue("decision", "审批结论须为 approve 或 reject", code="workflow.decision_unknown") from None


def _decide_in(uow: UnitOfWork, wf: Workflow, step_id: int, decision: Decision, by: Principal, now: dt.datetime,
               reason: str | None, comment: str | None,
               delegators: tuple[Principal, ...] | None = None) -> StepDecided:
    if delegators is None:
        delegators = _delegators_of(uow, by, now)
    if decision is Decision.APPROVE:
        step = wf.approve(step_id, by=by, now=now, delegators=delegators, comment=comment)
    else:
        step = wf.reject(step_id, by=by, now=now, reason=reason, delegators=delegators)
    step_handler = handlers_of(uow).step_handler(wf.subject_type)
    if step_handler is not None:
        step_handler(uow, wf, step)
    _settle(uow, wf, now, by)
    if wf.id is None or step.id is None:
        raise InvariantBroken("workflow or step has no id: not flushed")
    return StepDecided(wf.id, step.id, step.status.value, wf.status.value)


def delegate_step(uow: UnitOfWork, *, step_id: int, to_user_id: int, by: Principal, now: dt.datetime,
                  until: dt.date | None = None, reason: str | None = None) -> StepDecided:
    """Hand a step to a named user (转签), optionally until the end of ``until`` (Beijing time),
    after which it returns to its original addressees; ``reason`` stays in the history. The
    delegate must be able to see the document (:func:`may_take_step`)."""
    until_at = end_of_beijing_day(until) if until is not None else None
    with uow:
        wf = _visible_or_404(by, uow.workflows.by_step(step_id))
        target = uow.users.get(to_user_id)
        if target is None or not target.is_active:
            raise InvalidValue("to_user_id", "受托人不存在或已停用", code="workflow.delegate_unknown")
        if not may_take_step(principal_of(target), wf.dealer_id, wf.region):
            raise InvalidValue("to_user_id", "受托人无权查看该单据，不能委托", code="workflow.delegate_out_of_scope")
        step = wf.delegate(step_id, by=by, to_user_id=to_user_id, to_name=target.display_name, now=now,
                           until=until_at, delegators=_delegators_of(uow, by, now), reason=reason)
        _settle(uow, wf, now, by)
        result = StepDecided(stored_id(wf.id), stored_id(step.id), step.status.value, wf.status.value)
        uow.commit()
    return result


def withdraw(uow: UnitOfWork, *, workflow_id: int, by: Principal, now: dt.datetime,
             reason: str | None = None) -> str:
    """The submitter takes a running workflow back; its owner learns ``withdrawn``."""
    with uow:
        wf = _visible_or_404(by, uow.workflows.get(workflow_id))
        wf.withdraw(by=by, now=now, reason=reason)
        _settle(uow, wf, now, by)
        status = wf.status.value
        uow.commit()
    return status


# ---------------------------------------------------------------------------------------------
# E-mail links


@attrs.frozen
class LinkView:
    """What the confirmation page of an e-mail link shows."""

    decision: str
    user_name: str
    workflow_id: int
    workflow_no: str
    document_type: str
    subject_no: str
    title: str
    step_name: str
    submitted_by: str
    due_at: dt.datetime | None
    expires_at: dt.datetime


def _link_target(uow: UnitOfWork, claims: LinkClaims, now: dt.datetime) -> tuple[Workflow, WorkflowStep]:
    by = uow.actor
    if by.user_id != claims.user_id:
        raise ApprovalLinkInvalid("审批链接与当前用户不符", code="workflow.link_invalid")
    if uow.workflows.link_used(claims.nonce):
        raise ApprovalLinkUsed("该审批链接已使用过，不能重复使用", code="workflow.link_used")
    wf = uow.workflows.by_step(claims.step_id)
    if wf is None or not workflow_visible(by, wf.dealer_id, wf.region):
        raise ApprovalLinkInvalid("审批链接无效", code="workflow.link_invalid")
    step = wf.step(claims.step_id)
    if wf.status is not WorkflowStatus.RUNNING:
        raise IllegalTransition("workflow", wf.status.value, claims.decision,
                                f"该审批已结束（{wf.status.label}），链接已失效")
    if step.status is not StepStatus.OPEN:
        raise IllegalTransition("workflow_step", step.status.value, claims.decision,
                                f"该审批步骤已处理（{step.status.label}），链接已失效")
    if not wf.may_act(step, by, now, _delegators_of(uow, by, now)):
        raise PermissionDenied("该审批步骤已不由您办理（可能已转签他人）", code="workflow.not_your_step",
                               current_state=step.status.value)
    return wf, step


def inspect_link(uow: UnitOfWork, *, claims: LinkClaims, now: dt.datetime) -> LinkView:
    """What a link would do, for its confirmation page. Changes nothing (mail scanners GET links).

    ``uow.actor`` must be the link's user. Raises like :func:`act_on_link` would."""
    with uow:
        wf, step = _link_target(uow, claims, now)
        user = uow.users.get(claims.user_id)
        view = LinkView(
            decision=claims.decision, user_name=user.display_name if user else uow.actor.username,
            workflow_id=stored_id(wf.id), workflow_no=wf.number, document_type=wf.definition_name,
            subject_no=wf.subject_no, title=wf.title, step_name=step.name, submitted_by=wf.submitted_by_name,
            due_at=step.due_at, expires_at=claims.expires_at,
        )
    return view


def act_on_link(uow: UnitOfWork, *, claims: LinkClaims, now: dt.datetime, reason: str | None = None,
                comment: str | None = None) -> StepDecided:
    """Make the link's decision as its user, once: the nonce is recorded in the same transaction."""
    decision = _decision(claims.decision)
    with uow:
        wf, _step = _link_target(uow, claims, now)
        uow.workflows.record_link_use(claims.nonce, claims.step_id, claims.user_id, now)
        result = _decide_in(uow, wf, claims.step_id, decision, uow.actor, now, reason, comment)
        uow.commit()
    return result


# ---------------------------------------------------------------------------------------------
# Standing delegation (工作任务委托)


def set_standing_delegation(uow: UnitOfWork, *, by: Principal, to_user_id: int, starts_on: dt.date,
                            now: dt.datetime, ends_on: dt.date | None = None, note: str | None = None,
                            from_user_id: int | None = None) -> int:
    """``from_user`` (the caller; an administrator may name someone else) lets ``to_user`` handle
    all of their approval tasks from ``starts_on`` to ``ends_on`` (inclusive, Beijing dates).

    The delegate must be factory staff, or a colleague at the same dealer. The delegate still
    sees only what their own scope admits. One delegation at a time per user (no overlaps)."""
    giver_id = from_user_id if from_user_id is not None else by.user_id
    if giver_id is None:
        raise InvalidValue("from_user_id", "请指定委托人", code="delegation.from_required")
    if giver_id != by.user_id:
        require_role(by, Role.ADMIN)
    if starts_on < beijing_date(now):
        raise InvalidValue("starts_on", "委托开始日期不能早于今天", code="delegation.starts_in_past")
    with uow:
        giver = uow.users.get(giver_id)
        if giver is None:
            raise not_found("user", "用户")
        target = uow.users.get(to_user_id)
        if target is None or not target.is_active:
            raise InvalidValue("to_user_id", "受托人不存在或已停用", code="workflow.delegate_unknown")
        if not _may_cover_for(giver, target):
            raise InvalidValue("to_user_id", "只能委托给本公司员工或同一经销商的同事", code="delegation.target_not_allowed")
        delegation = StandingDelegation(
            from_user_id=giver_id, to_user_id=to_user_id, starts_on=starts_on, ends_on=ends_on,
            note=(note or "").strip() or None, created_at=now,
        )
        for other in uow.delegations.of_user(giver_id):
            if other.overlaps(delegation) and (other.ends_on is None or other.ends_on >= beijing_date(now)):
                raise Conflict("该期间已有生效的委托，请先取消", code="delegation.overlap", delegation_id=other.id)
        uow.delegations.add(delegation)
        uow.flush()
        if delegation.id is None:
            raise InvariantBroken("delegation has no id: not flushed")
        delegation_id = delegation.id
        uow.commit()
    return delegation_id


def _may_cover_for(giver: User, target: User) -> bool:
    if target.role.is_staff:
        return True
    return giver.role is Role.DEALER and target.role is Role.DEALER and giver.dealer_id == target.dealer_id


def cancel_standing_delegation(uow: UnitOfWork, *, delegation_id: int, by: Principal, now: dt.datetime) -> None:
    """Take a delegation back (委托收回) from now on; only its giver or an administrator."""
    with uow:
        d = uow.delegations.get(delegation_id)
        if d is None or (d.from_user_id != by.user_id and by.role is not Role.ADMIN):
            raise not_found("delegation", "委托")
        d.cancel(now)
        uow.commit()


# ---------------------------------------------------------------------------------------------
# After every move: ids, e-mails for opened / delegated steps, the owner's hook


def _settle(uow: UnitOfWork, wf: Workflow, now: dt.datetime, by: Principal) -> None:
    uow.flush()
    events, wf.events = wf.events, []
    opened = [e.step for e in events if isinstance(e, StepOpened)]
    if opened:  # a stage opens its steps together: one addressee lookup and one outbox write for all
        uow.outbox.enqueue_many([mail for step, users in zip(opened, addressees(uow, wf, opened, now), strict=True)
                                 for mail in _task_mails(uow, wf, step, users, now)])
    for event in events:
        if isinstance(event, StepDelegated):
            target = uow.users.get(event.to_user_id)
            if target is not None:
                uow.outbox.enqueue_many(_task_mails(uow, wf, event.step, [(target, f"由 {by.username} 转签给您")], now))
        elif isinstance(event, WorkflowFinished):
            handler = handlers_of(uow).outcome_handler(wf.subject_type)
            handler(uow, wf, attrs.evolve(event.outcome, workflow_id=wf.id))
            uow.flush()


settle = _settle  # for owners that move a workflow aggregate inside their own unit of work
decide_in = _decide_in  # decide a step of a loaded workflow inside the caller's unit of work


def addressees(uow: UnitOfWork, wf: Workflow, steps: list[WorkflowStep],
               now: dt.datetime) -> list[list[tuple[User, str]]]:
    """Everyone who may act on each of ``steps`` (of one workflow) now, with why (addressed,
    delegated, or covering for someone) — one user lookup and one delegation lookup whatever the
    number of steps."""
    delegated = [s.delegation_active(now) for s in steps]
    pool = uow.workflows.candidate_users([s.assignee for s, d in zip(steps, delegated, strict=True) if not d])
    principals = {u.id: principal_of(u) for u in pool}
    visible = {u.id: workflow_visible(principals[u.id], wf.dealer_id, wf.region) for u in pool}
    direct_of: list[list[User]] = []
    for step, is_delegated in zip(steps, delegated, strict=True):
        if is_delegated:
            delegate = uow.users.get(step.delegate_user_id) if step.delegate_user_id is not None else None
            direct = [delegate] if delegate is not None and delegate.is_active else []
            direct = [u for u in direct if workflow_visible(principal_of(u), wf.dealer_id, wf.region)]
        else:
            assignee = step.assignee  # a value built per access: once per step, not per user
            direct = [u for u in pool if visible[u.id] and assignee.addresses(principals[u.id])]
        direct_of.append(direct)
    everyone = sorted({stored_id(u.id) for direct in direct_of for u in direct})
    covers = uow.delegations.active_from(everyone, beijing_date(now))
    out: list[list[tuple[User, str]]] = []
    for direct, is_delegated in zip(direct_of, delegated, strict=True):
        found: list[tuple[User, str]] = [(u, "转签" if is_delegated else "系统分派") for u in direct]
        seen = {u.id for u in direct}
        by_id = {u.id: u for u in direct}
        for d in covers:
            if d.from_user_id not in by_id:
                continue
            cover = uow.users.get(d.to_user_id)
            if cover is None or not cover.is_active or cover.id in seen:
                continue
            if not workflow_visible(principal_of(cover), wf.dealer_id, wf.region):
                continue
            seen.add(cover.id)
            found.append((cover, f"代 {by_id[d.from_user_id].display_name} 处理（工作任务委托）"))
        out.append(found)
    return out


def _fmt(moment: dt.datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M")


def _task_mails(uow: UnitOfWork, wf: Workflow, step: WorkflowStep, users: list[tuple[User, str]],
                now: dt.datetime) -> list[QueuedMessage]:
    """The task e-mails of ``step`` to ``users`` (those with an address), with signed links."""
    mail: ApprovalMail = getattr(uow, "approval_mail", None) or ApprovalMail()
    if wf.id is None or step.id is None:
        raise InvariantBroken("workflow or step has no id: not flushed")
    messages: list[QueuedMessage] = []
    # what every addressee's mail of this step shares, worked out once
    shared: dict[str, Any] = {
        "step_name": step.name, "document_type": wf.definition_name, "document_no": wf.subject_no,
        "document_title": wf.title, "workflow_no": wf.number, "submitter_name": wf.submitted_by_name,
        "due": _fmt(step.due_at) if step.due_at else "未设定", "task_url": mail.task_url(step.id, wf.id),
    }
    expires = now + mail.link_ttl
    expires_text = _fmt(expires)
    nonces = iter(new_nonces(2 * len(users)) if mail.signer is not None else ())
    for user, origin in users:
        if not user.email or user.id is None:
            continue
        variables: dict[str, Any] = {"approver_name": user.display_name, **shared, "origin": origin}
        template = "workflow.task_assigned_portal"
        if mail.signer is not None:
            approve, _ = mail.signer.issue(step_id=step.id, user_id=user.id, decision="approve", expires_at=expires,
                                           nonce=next(nonces))
            reject, _ = mail.signer.issue(step_id=step.id, user_id=user.id, decision="reject", expires_at=expires,
                                          nonce=next(nonces))
            variables |= {"approve_url": mail.link_url(approve), "reject_url": mail.link_url(reject),
                          "expires_at": expires_text}
            template = "workflow.task_assigned"
        # one task mail per step, addressee and move (a step opened, delegated, delegated back…)
        messages.append(QueuedMessage(template, variables, user.email,
                                      f"workflow.task:{step.id}:{user.id}:{now.isoformat()}"))
    return messages
