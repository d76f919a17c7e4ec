"""The generic approval workflow (seed 001 §7: 工作流审批, 工作任务委托, 工作流报表).

A :class:`Workflow` reviews one business document (the *subject*: a dealer application, an order,
a gate pass …). It is built from a :class:`WorkflowDefinition`:

* **stages run in sequence**; the steps of one stage run **in parallel** (the order review is one
  stage with procurement, technical, production and sales side by side);
* a stage passes when all its steps are approved; the last stage passing approves the workflow;
* **any rejection rejects the workflow** (a reason is required) and cancels every other step
  still open or waiting;
* each step is addressed to a role, a department, a region (the sales staff and region managers
  of that region) or a named user, and may carry a due date;
* a step may be **delegated** to a named user, optionally until a moment after which it returns
  to its original addressees; a user's **standing delegation** (all my tasks to a colleague for
  a date range) is resolved by the caller and passed in as ``delegators``;
* the submitter may **withdraw** a running workflow;
* every move is written to the workflow's **history** (who, when, what, why).

Who may act on a step is decided here, in one place: its addressees (or its delegate while the
delegation runs), anyone acting for them through a standing delegation, and administrators.
Row-level visibility (a dealer never sees another dealer's workflow) is the application's job
and is checked before the aggregate is asked.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import attrs

from dealercrm.domain.errors import IllegalTransition, InvalidValue, NotFound, PermissionDenied
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import SHANGHAI as SHANGHAI  # re-exported
from dealercrm.domain.values import as_tuple
from dealercrm.domain.values import beijing_date as beijing_date  # re-exported



class AssigneeKind(enum.StrEnum):
    ROLE = "role"
    DEPARTMENT = "department"
    REGION = "region"  # staff of the region: sales and region managers whose regions include it
    USER = "user"

    @property
    def label(self) -> str:
        return {"role": "角色", "department": "部门", "region": "大区", "user": "指定用户"}[self.value]


class WorkflowStatus(enum.StrEnum):
    RUNNING = "running"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return {"running": "审批中", "approved": "已通过", "rejected": "已驳回", "withdrawn": "已撤回"}[self.value]


class StepStatus(enum.StrEnum):
    WAITING = "waiting"  # its stage has not been reached yet
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {"waiting": "未开始", "open": "待审批", "approved": "已同意", "rejected": "已驳回",
                "cancelled": "已取消"}[self.value]


HISTORY_LABELS = {
    "started": "提交审批",
    "step_opened": "待办生成",
    "approved": "同意",
    "rejected": "驳回",
    "delegated": "转签（委托）",
    "cancelled": "步骤取消",
    "stage_passed": "阶段通过",
    "withdrawn": "撤回",
    "workflow_approved": "审批通过",
    "workflow_rejected": "审批驳回",
}

REGION_STAFF = (Role.SALES, Role.REGION_MANAGER)
_MAX_REASON = 500


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


def _check_reason(reason: str | None, field: str = "reason") -> str:
    if reason is None or _blank(reason):
        raise InvalidValue(field, "驳回须填写原因", code="reason.required")
    if len(reason.strip()) > _MAX_REASON:
        raise InvalidValue(field, f"原因不能超过{_MAX_REASON}字", code="reason.too_long")
    return reason.strip()


# ---------------------------------------------------------------------------------------------
# Addressing


@attrs.frozen
class Assignee:
    """Who a step is addressed to: ``kind`` and its ``value`` (a role code, a department name,
    a region, or a user id as text)."""

    kind: AssigneeKind = attrs.field(converter=AssigneeKind)
    value: str

    def __attrs_post_init__(self) -> None:
        if _blank(self.value):
            raise InvalidValue("assignee_value", "审批人不能为空", code="workflow.assignee_blank")
        if self.kind is AssigneeKind.ROLE:
            try:
                role = Role(self.value)
            except ValueError:
                raise InvalidValue("assignee_value", f"未知角色：{self.value}", code="role.unknown") from None
            if role is Role.KIOSK:
                raise InvalidValue("assignee_value", "自助终端不能审批", code="workflow.assignee_device")
        if self.kind is AssigneeKind.USER and not self.value.isdigit():
            raise InvalidValue("assignee_value", "指定用户须为用户编号", code="workflow.assignee_user_malformed")

    def addresses(self, p: Principal) -> bool:
        """Is ``p`` one of the addressees (ignoring delegation and visibility)?"""
        if p.is_device:
            return False
        if self.kind is AssigneeKind.ROLE:
            return p.role.value == self.value
        if self.kind is AssigneeKind.DEPARTMENT:
            return p.department is not None and p.department == self.value
        if self.kind is AssigneeKind.REGION:
            return p.role in REGION_STAFF and self.value in p.regions
        return p.user_id is not None and str(p.user_id) == self.value

    @property
    def label(self) -> str:
        if self.kind is AssigneeKind.ROLE:
            return f"角色：{Role(self.value).label}"
        if self.kind is AssigneeKind.REGION:
            return f"大区：{self.value}（销售/大区经理）"
        if self.kind is AssigneeKind.DEPARTMENT:
            return f"部门：{self.value}"
        return f"指定用户 #{self.value}"


# ---------------------------------------------------------------------------------------------
# Definitions (value objects; callers build them, often per subject)


@attrs.frozen
class StepDef:
    """One step: a stable ``key`` within the definition, a Chinese ``name``, its addressees and
    an optional number of days it should be decided in."""

    key: str
    name: str
    assignee_kind: AssigneeKind = attrs.field(converter=AssigneeKind)
    assignee_value: str = attrs.field(converter=str)
    due_in_days: int | None = None

    def __attrs_post_init__(self) -> None:
        if _blank(self.key) or _blank(self.name):
            raise InvalidValue("step", "审批步骤须有编码和名称", code="workflow.step_unnamed")
        Assignee(self.assignee_kind, self.assignee_value)
        if self.due_in_days is not None and not 0 < self.due_in_days <= 365:
            raise InvalidValue("due_in_days", "办理期限须为1到365天", code="workflow.due_out_of_range")

    @property
    def assignee(self) -> Assignee:
        return Assignee(self.assignee_kind, self.assignee_value)


@attrs.frozen
class StageDef:
    """Steps that run in parallel; the stage passes when every one of them is approved."""

    name: str
    steps: tuple[StepDef, ...] = attrs.field(converter=as_tuple)

    def __attrs_post_init__(self) -> None:
        if not self.steps:
            raise InvalidValue("stages", f"审批阶段“{self.name}”至少需要一个步骤", code="workflow.stage_empty")


@attrs.frozen
class WorkflowDefinition:
    """A review process: ``code`` (stable, English), ``name`` (Chinese) and stages in sequence."""

    code: str
    name: str
    stages: tuple[StageDef, ...] = attrs.field(converter=as_tuple)

    def __attrs_post_init__(self) -> None:
        if _blank(self.code) or _blank(self.name):
            raise InvalidValue("definition", "审批流程须有编码和名称", code="workflow.definition_unnamed")
        if not self.stages:
            raise InvalidValue("stages", "审批流程至少需要一个阶段", code="workflow.no_stage")
        keys = [s.key for stage in self.stages for s in stage.steps]
        if len(keys) != len(set(keys)):
            raise InvalidValue("stages", "审批步骤编码不能重复", code="workflow.step_key_duplicate")

    @classmethod
    def single_step(cls, code: str, name: str, step: StepDef, stage_name: str | None = None) -> WorkflowDefinition:
        return cls(code, name, (StageDef(stage_name or step.name, (step,)),))


@attrs.frozen
class WorkflowSubject:
    """The business document under review and what the workflow shows of it."""

    type: str
    id: int
    number: str
    title: str
    dealer_id: int | None = None  # the dealer it belongs to: its users may see the workflow
    region: str | None = None  # the sales region it belongs to: scopes regional staff

    def __attrs_post_init__(self) -> None:
        if _blank(self.type) or _blank(self.number) or _blank(self.title):
            raise InvalidValue("subject", "审批单据须有类型、编号和标题", code="workflow.subject_incomplete")


# ---------------------------------------------------------------------------------------------
# Events for the application (not persisted)


@attrs.frozen
class StepOpened:
    step: WorkflowStep


@attrs.frozen
class StepDelegated:
    step: WorkflowStep
    to_user_id: int


@attrs.frozen
class WorkflowOutcome:
    """What the owning aggregate learns when the workflow finishes."""

    workflow_id: int | None
    subject_type: str
    subject_id: int
    status: WorkflowStatus
    reasons: tuple[str, ...]  # the rejection reason(s), or the withdrawal reason if one was given
    decided_by: str  # username of whoever made the final move
    at: dt.datetime
    rejected_step: str | None = None  # name of the step that rejected ("技术评审")

    @property
    def summary(self) -> str:
        """The reasons for people: "技术评审：底盘型号不符"."""
        text = "；".join(self.reasons)
        return f"{self.rejected_step}：{text}" if self.rejected_step and text else text


@attrs.frozen
class WorkflowFinished:
    outcome: WorkflowOutcome


# ---------------------------------------------------------------------------------------------
# The aggregate


@attrs.define(slots=False, eq=False)
class WorkflowStep:
    stage_no: int
    stage_name: str
    key: str
    name: str
    assignee_kind: AssigneeKind
    assignee_value: str
    due_in_days: int | None = None
    status: StepStatus = StepStatus.WAITING
    opened_at: dt.datetime | None = None
    due_at: dt.datetime | None = None
    decided_at: dt.datetime | None = None
    decided_by_id: int | None = None
    decided_by_name: str | None = None
    on_behalf_of_id: int | None = None  # set when decided through a standing delegation
    reason: str | None = None  # why it was rejected
    comment: str | None = None  # an approver's remark
    delegate_user_id: int | None = None
    delegated_until: dt.datetime | None = None
    delegated_by_id: int | None = None
    id: int | None = None

    @property
    def assignee(self) -> Assignee:
        return Assignee(self.assignee_kind, self.assignee_value)

    def delegation_active(self, now: dt.datetime) -> bool:
        return self.delegate_user_id is not None and (self.delegated_until is None or now < self.delegated_until)

    def addressed_to(self, p: Principal, now: dt.datetime) -> bool:
        """While a delegation runs only the delegate holds the step; afterwards it is back with
        its original addressees."""
        if self.delegation_active(now):
            return p.user_id is not None and p.user_id == self.delegate_user_id
        return self.assignee.addresses(p)

    def is_overdue(self, now: dt.datetime) -> bool:
        return self.status is StepStatus.OPEN and self.due_at is not None and now > self.due_at


@attrs.define(slots=False, eq=False)
class WorkflowHistoryEntry:
    at: dt.datetime
    action: str
    actor_id: int | None
    actor_name: str
    step_key: str | None = None
    step_name: str | None = None
    reason: str | None = None
    detail: dict[str, Any] = attrs.field(factory=dict)
    id: int | None = None

    @property
    def label(self) -> str:
        return HISTORY_LABELS.get(self.action, self.action)


@attrs.define(slots=False, eq=False)
class Workflow:
    number: str
    definition_code: str
    definition_name: str
    subject_type: str
    subject_id: int
    subject_no: str
    title: str
    submitted_by_id: int | None
    submitted_by_name: str
    started_at: dt.datetime
    dealer_id: int | None = None
    region: str | None = None
    status: WorkflowStatus = WorkflowStatus.RUNNING
    current_stage: int = 1
    stage_count: int = 1
    finished_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    steps: list[WorkflowStep] = attrs.field(factory=list)
    # lines not stored yet: the SQL adapter appends them to its log on flush and drops them (a loaded
    # workflow starts empty); the in-memory twin keeps them all
    history: list[WorkflowHistoryEntry] = attrs.field(factory=list)
    version: int = 1
    id: int | None = None
    events: list[Any] = attrs.field(factory=list)

    # -- starting ----------------------------------------------------------------------------

    @classmethod
    def start(cls, definition: WorkflowDefinition, subject: WorkflowSubject, *, number: str,
              submitted_by: Principal, now: dt.datetime) -> Workflow:
        wf = cls(
            number=number, definition_code=definition.code, definition_name=definition.name,
            subject_type=subject.type, subject_id=subject.id, subject_no=subject.number, title=subject.title,
            submitted_by_id=submitted_by.user_id, submitted_by_name=submitted_by.username, started_at=now,
            dealer_id=subject.dealer_id, region=subject.region, stage_count=len(definition.stages), updated_at=now,
        )
        for stage_no, stage in enumerate(definition.stages, start=1):
            for s in stage.steps:
                wf.steps.append(WorkflowStep(
                    stage_no=stage_no, stage_name=stage.name, key=s.key, name=s.name,
                    assignee_kind=s.assignee_kind, assignee_value=s.assignee_value, due_in_days=s.due_in_days,
                ))
        wf._record(now, "started", submitted_by, detail={"definition": definition.code, "stages": len(definition.stages)})
        wf._open_stage(1, now)
        return wf

    # -- queries -----------------------------------------------------------------------------

    def step(self, step_id: int) -> WorkflowStep:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise NotFound("审批步骤不存在", code="workflow_step.not_found")

    def stage_steps(self, stage_no: int) -> list[WorkflowStep]:
        return [s for s in self.steps if s.stage_no == stage_no]

    @property
    def open_steps(self) -> list[WorkflowStep]:
        return [s for s in self.steps if s.status is StepStatus.OPEN]

    def acting_as(self, step: WorkflowStep, by: Principal, now: dt.datetime,
                  delegators: tuple[Principal, ...] | list[Principal] = ()) -> Principal | None:
        """Whom ``by`` acts for on ``step``: itself, one of its delegators, or ``None`` (may not act).

        Administrators may always act (recorded as such in the history)."""
        if step.addressed_to(by, now):
            return by
        for d in delegators:
            if d.user_id != by.user_id and step.addressed_to(d, now):
                return d
        if by.role is Role.ADMIN and not by.is_device:
            return by
        return None

    def may_act(self, step: WorkflowStep, by: Principal, now: dt.datetime,
                delegators: tuple[Principal, ...] | list[Principal] = ()) -> bool:
        return (self.status is WorkflowStatus.RUNNING and step.status is StepStatus.OPEN
                and self.acting_as(step, by, now, delegators) is not None)

    # -- moves -------------------------------------------------------------------------------

    def approve(self, step_id: int, *, by: Principal, now: dt.datetime,
                delegators: tuple[Principal, ...] | list[Principal] = (), comment: str | None = None) -> WorkflowStep:
        step, for_whom = self._actable(step_id, by, now, delegators, "approve")
        if comment is not None and len(comment.strip()) > _MAX_REASON:
            raise InvalidValue("comment", f"意见不能超过{_MAX_REASON}字", code="comment.too_long")
        self._decide(step, StepStatus.APPROVED, by, for_whom, now, comment=(comment or "").strip() or None)
        if all(s.status is StepStatus.APPROVED for s in self.stage_steps(self.current_stage)):
            self._record(now, "stage_passed", by, detail={"stage_no": self.current_stage,
                                                          "stage_name": step.stage_name})
            if self.current_stage >= self.stage_count:
                self._finish(WorkflowStatus.APPROVED, by, now, ())
            else:
                self.current_stage += 1
                self._open_stage(self.current_stage, now)
        return step

    def reject(self, step_id: int, *, by: Principal, now: dt.datetime, reason: str | None,
               delegators: tuple[Principal, ...] | list[Principal] = ()) -> WorkflowStep:
        clean = _check_reason(reason)
        step, for_whom = self._actable(step_id, by, now, delegators, "reject")
        self._decide(step, StepStatus.REJECTED, by, for_whom, now, reason=clean)
        self._cancel_remaining(by, now, f"{step.name}已驳回")
        self._finish(WorkflowStatus.REJECTED, by, now, (clean,), rejected_step=step.name)
        return step

    def delegate(self, step_id: int, *, by: Principal, to_user_id: int, to_name: str, now: dt.datetime,
                 until: dt.datetime | None = None,
                 delegators: tuple[Principal, ...] | list[Principal] = (), reason: str | None = None) -> WorkflowStep:
        """Hand the step to a named user, with an optional reason kept in the history; with
        ``until`` it comes back to its addressees then."""
        step, for_whom = self._actable(step_id, by, now, delegators, "delegate")
        note = (reason or "").strip() or None
        if note is not None and len(note) > _MAX_REASON:
            raise InvalidValue("reason", f"原因不能超过{_MAX_REASON}字", code="reason.too_long")
        if to_user_id == by.user_id:
            raise InvalidValue("to_user_id", "不能委托给自己", code="workflow.delegate_self")
        if step.delegation_active(now) and step.delegate_user_id == to_user_id:
            raise InvalidValue("to_user_id", "该步骤已委托给此人", code="workflow.delegate_same")
        if until is not None and until <= now:
            raise InvalidValue("until", "委托截止时间须晚于当前时间", code="workflow.delegation_until_past")
        step.delegate_user_id = to_user_id
        step.delegated_until = until
        step.delegated_by_id = by.user_id
        detail: dict[str, Any] = {"to_user_id": to_user_id, "to_name": to_name,
                                  "until": until.isoformat() if until else None}
        if for_whom is not by:
            detail["on_behalf_of"] = for_whom.username
        self._record(now, "delegated", by, step=step, reason=note, detail=detail)
        self.events.append(StepDelegated(step, to_user_id))
        self._touch(now)
        return step

    def withdraw(self, *, by: Principal, now: dt.datetime, reason: str | None = None) -> None:
        if self.status is not WorkflowStatus.RUNNING:
            raise IllegalTransition("workflow", self.status.value, "withdraw")
        if by.user_id is None or by.user_id != self.submitted_by_id:
            raise PermissionDenied("只有提交人可以撤回审批", code="workflow.not_submitter",
                                   current_state=self.status.value)
        note = (reason or "").strip() or None
        if note is not None and len(note) > _MAX_REASON:
            raise InvalidValue("reason", f"原因不能超过{_MAX_REASON}字", code="reason.too_long")
        self._cancel_remaining(by, now, "提交人撤回")
        self._record(now, "withdrawn", by, reason=note)
        self._finish(WorkflowStatus.WITHDRAWN, by, now, (note,) if note else ())

    # -- internals ---------------------------------------------------------------------------

    def _actable(self, step_id: int, by: Principal, now: dt.datetime,
                 delegators: tuple[Principal, ...] | list[Principal], action: str) -> tuple[WorkflowStep, Principal]:
        step = self.step(step_id)
        if self.status is not WorkflowStatus.RUNNING:
            raise IllegalTransition("workflow", self.status.value, action,
                                    f"审批流程已结束（{self.status.label}），不能再{_ACTION_ZH[action]}")
        if step.status is not StepStatus.OPEN:
            raise IllegalTransition("workflow_step", step.status.value, action,
                                    f"该审批步骤当前为“{step.status.label}”，不能{_ACTION_ZH[action]}")
        for_whom = self.acting_as(step, by, now, delegators)
        if for_whom is None:
            raise PermissionDenied("该审批步骤不由您办理", code="workflow.not_your_step",
                                   current_state=step.status.value, step_id=step.id)
        return step, for_whom

    def _decide(self, step: WorkflowStep, status: StepStatus, by: Principal, for_whom: Principal,
                now: dt.datetime, *, reason: str | None = None, comment: str | None = None) -> None:
        step.status = status
        step.decided_at = now
        step.decided_by_id = by.user_id
        step.decided_by_name = by.username
        step.reason = reason
        step.comment = comment
        detail: dict[str, Any] = {}
        if for_whom is not by:
            step.on_behalf_of_id = for_whom.user_id
            detail["on_behalf_of"] = for_whom.username
        elif not step.addressed_to(by, now):
            detail["as_admin"] = True
        if comment:
            detail["comment"] = comment
        self._record(now, status.value, by, step=step, reason=reason, detail=detail)
        self._touch(now)

    def _open_stage(self, stage_no: int, now: dt.datetime) -> None:
        for s in self.stage_steps(stage_no):
            s.status = StepStatus.OPEN
            s.opened_at = now
            s.due_at = now + dt.timedelta(days=s.due_in_days) if s.due_in_days else None
            self.history.append(WorkflowHistoryEntry(
                at=now, action="step_opened", actor_id=None, actor_name="system", step_key=s.key, step_name=s.name,
                detail={"stage_no": stage_no, "assignee": s.assignee.label,
                        "due_at": s.due_at.isoformat() if s.due_at else None},
            ))
            self.events.append(StepOpened(s))
        self._touch(now)

    def _cancel_remaining(self, by: Principal, now: dt.datetime, why: str) -> None:
        for s in self.steps:
            if s.status in (StepStatus.OPEN, StepStatus.WAITING):
                was = s.status
                s.status = StepStatus.CANCELLED
                s.decided_at = now
                if was is StepStatus.OPEN:
                    self._record(now, "cancelled", by, step=s, detail={"why": why})

    def _finish(self, status: WorkflowStatus, by: Principal, now: dt.datetime, reasons: tuple[str, ...],
                rejected_step: str | None = None) -> None:
        self.status = status
        self.finished_at = now
        self._touch(now)
        outcome = WorkflowOutcome(
            workflow_id=self.id, subject_type=self.subject_type, subject_id=self.subject_id, status=status,
            reasons=reasons, decided_by=by.username, at=now, rejected_step=rejected_step,
        )
        if status is not WorkflowStatus.WITHDRAWN:
            self._record(now, f"workflow_{status.value}", by, reason=outcome.summary or None)
        self.events.append(WorkflowFinished(outcome))

    def _record(self, now: dt.datetime, action: str, by: Principal, *, step: WorkflowStep | None = None,
                reason: str | None = None, detail: dict[str, Any] | None = None) -> None:
        self.history.append(WorkflowHistoryEntry(
            at=now, action=action, actor_id=by.user_id, actor_name=by.username,
            step_key=step.key if step else None, step_name=step.name if step else None,
            reason=reason, detail=dict(detail or {}),
        ))
        self._touch(now)  # a history line is a change of the workflow (the SQL log relies on it)

    def _touch(self, now: dt.datetime) -> None:
        self.updated_at = now


_ACTION_ZH = {"approve": "同意", "reject": "驳回", "delegate": "转签", "withdraw": "撤回"}


# ---------------------------------------------------------------------------------------------
# Standing delegation (工作任务委托)


@attrs.define(slots=False, eq=False)
class StandingDelegation:
    """All of ``from_user``'s approval tasks may also be handled by ``to_user`` from ``starts_on``
    to ``ends_on`` (Beijing dates, inclusive; open-ended when ``None``) unless cancelled."""

    from_user_id: int
    to_user_id: int
    starts_on: dt.date
    created_at: dt.datetime
    ends_on: dt.date | None = None
    note: str | None = None
    cancelled_at: dt.datetime | None = None
    id: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.from_user_id == self.to_user_id:
            raise InvalidValue("to_user_id", "不能委托给自己", code="workflow.delegate_self")
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise InvalidValue("ends_on", "委托结束日期不能早于开始日期", code="delegation.window_inverted")
        if self.note is not None and len(self.note) > _MAX_REASON:
            raise InvalidValue("note", f"备注不能超过{_MAX_REASON}字", code="delegation.note_too_long")

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    def active_on(self, day: dt.date) -> bool:
        return (not self.is_cancelled and self.starts_on <= day
                and (self.ends_on is None or day <= self.ends_on))

    def active_at(self, now: dt.datetime) -> bool:
        return self.active_on(beijing_date(now))

    def overlaps(self, other: StandingDelegation) -> bool:
        if self.is_cancelled or other.is_cancelled:
            return False
        a_end = self.ends_on or dt.date.max
        b_end = other.ends_on or dt.date.max
        return self.starts_on <= b_end and other.starts_on <= a_end

    def cancel(self, now: dt.datetime) -> None:
        """Ends the delegation now (委托收回)."""
        if self.is_cancelled:
            raise IllegalTransition("delegation", "cancelled", "cancel")
        if self.ends_on is not None and self.ends_on < beijing_date(now):
            raise IllegalTransition("delegation", "expired", "cancel")
        self.cancelled_at = now


def end_of_beijing_day(day: dt.date) -> dt.datetime:
    """The first instant after ``day`` in Beijing time, as UTC (for "until <date>" inputs)."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), SHANGHAI).astimezone(dt.UTC)
