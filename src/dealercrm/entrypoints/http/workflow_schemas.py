"""Request and response structs of the approval workflow API (requests forbid unknown fields)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from dealercrm.entrypoints.http.schemas import Request
from dealercrm.domain.workflow import AssigneeKind, StepStatus, WorkflowStatus

Reason = Annotated[str, Meta(min_length=1, max_length=500)]
Remark = Annotated[str, Meta(max_length=500)]


class ApproveIn(Request):
    comment: Remark | None = None


class RejectIn(Request):
    reason: Reason


class DelegateIn(Request):
    to_user_id: Annotated[int, Meta(ge=1)]
    until: dt.date | None = None  # inclusive, Beijing time; omitted → until taken back
    reason: Remark | None = None  # 转签原因, kept in the workflow's history


class WithdrawIn(Request):
    reason: Remark | None = None


class DelegationIn(Request):
    to_user_id: Annotated[int, Meta(ge=1)]
    starts_on: dt.date
    ends_on: dt.date | None = None
    note: Remark | None = None
    from_user_id: Annotated[int, Meta(ge=1)] | None = None  # administrators only


class TaskOut(msgspec.Struct):
    step_id: int
    workflow_id: int
    workflow_no: str
    definition_code: str
    document_type: str
    subject_type: str
    subject_id: int
    subject_no: str
    title: str
    stage_no: int
    stage_name: str
    step_name: str
    assignee_kind: AssigneeKind
    assignee_value: str
    assignee_label: str
    opened_at: dt.datetime | None
    due_at: dt.datetime | None
    overdue: bool
    age_seconds: int
    via: str  # addressed | delegated (转签) | standing_delegation (工作任务委托)
    on_behalf_of: str | None
    dealer_id: int | None
    region: str | None
    submitted_by: str


class TaskPage(msgspec.Struct):
    items: list[TaskOut]
    next_cursor: str | None
    total: int


class StepOut(msgspec.Struct):
    id: int
    stage_no: int
    stage_name: str
    key: str
    name: str
    assignee_kind: AssigneeKind
    assignee_value: str
    assignee_label: str
    status: StepStatus
    status_label: str
    opened_at: dt.datetime | None
    due_at: dt.datetime | None
    decided_at: dt.datetime | None
    decided_by: str | None
    on_behalf_of_id: int | None
    reason: str | None
    comment: str | None
    delegate_user_id: int | None
    delegate_name: str | None
    delegated_until: dt.datetime | None


class HistoryOut(msgspec.Struct):
    id: int
    at: dt.datetime
    action: str
    label: str
    actor_id: int | None
    actor_name: str
    step_key: str | None
    step_name: str | None
    reason: str | None
    detail: dict[str, Any]


class WorkflowOut(msgspec.Struct):
    id: int
    number: str
    definition_code: str
    definition_name: str
    subject_type: str
    subject_id: int
    subject_no: str
    title: str
    dealer_id: int | None
    region: str | None
    status: WorkflowStatus
    status_label: str
    current_stage: int
    stage_count: int
    submitted_by: str
    started_at: dt.datetime
    finished_at: dt.datetime | None


class WorkflowDetailOut(msgspec.Struct):
    workflow: WorkflowOut
    steps: list[StepOut]
    history: list[HistoryOut]


class DecisionOut(msgspec.Struct):
    workflow_id: int
    step_id: int
    step_status: StepStatus
    step_status_label: str
    workflow_status: WorkflowStatus
    workflow_status_label: str


class WithdrawOut(msgspec.Struct):
    workflow_id: int
    status: WorkflowStatus
    status_label: str


class DelegationOut(msgspec.Struct):
    id: int
    direction: str  # given | received
    from_user_id: int
    from_name: str
    to_user_id: int
    to_name: str
    starts_on: dt.date
    ends_on: dt.date | None
    note: str | None
    state: str  # scheduled | active | ended | cancelled
    created_at: dt.datetime
    cancelled_at: dt.datetime | None


class ReportTotals(msgspec.Struct):
    open_steps: int
    overdue: int
    running_workflows: int


class AddresseeLoad(msgspec.Struct):
    assignee_kind: AssigneeKind
    assignee_value: str
    assignee_label: str
    open_steps: int
    overdue: int
    oldest_opened_at: dt.datetime | None
    oldest_age_seconds: int
    average_age_seconds: int


class UserLoad(msgspec.Struct):
    user_id: int
    username: str
    display_name: str
    open_steps: int
    overdue: int
    oldest_opened_at: dt.datetime | None
    oldest_age_seconds: int
    average_age_seconds: int


class ReportOut(msgspec.Struct):
    as_of: dt.datetime
    totals: ReportTotals
    by_addressee: list[AddresseeLoad]
    by_user: list[UserLoad]
    oldest: list[TaskOut]


class LinkViewOut(msgspec.Struct):
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
