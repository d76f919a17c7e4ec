"""工厂审核: the reviewer's task list and decision page (approve, reject with a reason) through the
workflow service, and the dealer registration review through the channel service."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import Parameter
from litestar.response import Redirect, Template

from dealercrm.application.services import ChannelService, WorkflowService
from dealercrm.domain.channel import DealerStatus
from dealercrm.domain.errors import BusinessRuleViolation, InvalidValue, NotFound
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.layout import DEALER_DECIDERS, REVIEWERS, page

PAGE_SIZE = 50
MAX_ID = 2**63 - 1
SUBJECT_PAGES = {"order": "/orders/{}", "service_claim": "/aftersales/claims/{}"}
WORKFLOW_STATES = {"running": "审批中", "approved": "已通过", "rejected": "已驳回", "withdrawn": "已撤回"}


def subject_link(subject_type: str, subject_id: Any) -> str | None:
    pattern = SUBJECT_PAGES.get(str(subject_type))
    return pattern.format(subject_id) if pattern else None


def _task(workflow: WorkflowService, actor: Principal, step_id: int) -> dict[str, Any]:
    """The actor's open task of that step — a step decided, foreign or unknown is not found."""
    rows = workflow.pending_tasks(actor, limit=1, after_step_id=step_id - 1)
    if not rows or rows[0]["step_id"] != step_id:
        raise NotFound("该审批任务不存在或已处理", code="workflow_step.not_found", field="step_id")
    return rows[0]


def _role_label(role: Any) -> str:
    try:
        return Role(str(getattr(role, "value", role))).label
    except ValueError:
        return str(role)


def _reason(form: Any, name: str, *, required: bool) -> str | None:
    value = str(form.get(name) or "").strip()
    if len(value) > 500:
        raise InvalidValue(name, "内容不能超过500字", code="reason.too_long")
    if required and not value:
        raise InvalidValue(name, "请填写驳回原因", code="reason.required")
    return value or None


class ReviewPages(Controller):
    path = "/"

    @get("/tasks", guards=[requires(*REVIEWERS)], sync_to_thread=True)
    def task_list(self, request: Request[Principal, Any, Any], workflow: WorkflowService,
                  after: Annotated[int | None, Parameter(ge=0, le=2**63 - 1)] = None) -> Template:
        rows = workflow.pending_tasks(request.user, limit=PAGE_SIZE + 1, after_step_id=after)
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        return page(request, "tasks.html", title="审批任务", section="tasks", crumbs=(("审批任务", None),),
                    rows=rows, total=workflow.count_pending_tasks(request.user),
                    next_after=rows[-1]["step_id"] if more and rows else None)

    @get("/tasks/{step_id:int}", guards=[requires(*REVIEWERS)], sync_to_thread=True)
    def task_page(self, step_id: int, request: Request[Principal, Any, Any], workflow: WorkflowService,
                  workflow_id: Annotated[int | None, Parameter(query="workflow", ge=1, le=2**63 - 1)] = None
                  ) -> Template:
        """The decision page; a step already decided (an e-mail link opened late) shows its
        workflow, read-only, when the link names it."""
        try:
            return self._task_page(request, workflow, step_id, errors={}, values={})
        except NotFound:
            if workflow_id is None:
                raise
        detail = workflow.detail(request.user, workflow_id)
        return page(request, "workflow.html", title=f"审批：{detail['title'] or detail['subject_no']}",
                    section="tasks", crumbs=(("审批任务", "/tasks"), (detail["subject_no"] or detail["number"], None)),
                    detail=detail, subject_link=subject_link(detail["subject_type"], detail["subject_id"]),
                    status_label=WORKFLOW_STATES.get(str(getattr(detail["status"], "value", detail["status"])), ""))

    def _task_page(self, request: Request[Principal, Any, Any], workflow: WorkflowService, step_id: int, *,
                   errors: dict[str, str], values: dict[str, str], status_code: int = 200) -> Template:
        task = _task(workflow, request.user, step_id)
        detail = workflow.detail(request.user, task["workflow_id"])
        delegates = workflow.step_delegates(request.user, task["workflow_id"])
        return page(request, "task.html", title=f"审批：{task['title'] or task['subject_no']}", section="tasks",
                    crumbs=(("审批任务", "/tasks"), (task["subject_no"] or task["workflow_no"], None)),
                    task=task, detail=detail, subject_link=subject_link(task["subject_type"], task["subject_id"]),
                    delegates=[{**c, "role_label": _role_label(c["role"])} for c in delegates],
                    errors=errors, values=values, status_code=status_code)

    @post("/tasks/{step_id:int}/delegate", guards=[requires(*REVIEWERS)], status_code=303)
    async def delegate(self, step_id: int, request: Request[Principal, Any, Any], workflow: WorkflowService) -> Any:
        """转签: hand this one step to a colleague who may see its document, with a reason."""
        form = await request.form()
        values = {"to_user_id": str(form.get("to_user_id") or "").strip()[:20],
                  "delegate_reason": str(form.get("delegate_reason") or "")[:600]}
        try:
            raw = values["to_user_id"]
            if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
                raise InvalidValue("to_user_id", "请选择转签给谁", code="delegation.to_required")
            reason = _reason(form, "delegate_reason", required=False)
            await sync_to_thread(lambda: workflow.delegate(request.user, step_id, int(raw), reason=reason))
        except InvalidValue as exc:
            field = {"reason": "delegate_reason"}.get(exc.field or "", exc.field or "to_user_id")
            errors = {field if field in values else "to_user_id": exc.message}
            return await sync_to_thread(lambda: self._task_page(
                request, workflow, step_id, errors=errors, values=values, status_code=422))
        return Redirect(path="/tasks?done=delegated", status_code=303)

    @post("/tasks/{step_id:int}/decide", guards=[requires(*REVIEWERS)], status_code=303)
    async def decide(self, step_id: int, request: Request[Principal, Any, Any], workflow: WorkflowService) -> Any:
        form = await request.form()
        decision = str(form.get("decision") or "")
        values = {"comment": str(form.get("comment") or "")[:500], "reason": str(form.get("reason") or "")[:500]}
        try:
            if decision == "approve":
                comment = _reason(form, "comment", required=False)
                await sync_to_thread(lambda: workflow.decide(request.user, step_id, "approve", comment=comment))
            elif decision == "reject":
                reason = _reason(form, "reason", required=True)
                await sync_to_thread(lambda: workflow.decide(request.user, step_id, "reject", reason=reason))
            else:
                raise InvalidValue("decision", "请选择同意或驳回", code="decision.unknown")
        except InvalidValue as exc:
            errors = {exc.field or "decision": exc.message}
            return await sync_to_thread(lambda: self._task_page(
                request, workflow, step_id, errors=errors, values=values, status_code=422))
        return Redirect(path="/tasks?done=1", status_code=303)

    @get("/dealers/registrations", guards=[requires(*DEALER_DECIDERS)], sync_to_thread=True)
    def registrations(self, request: Request[Principal, Any, Any], channel: ChannelService) -> Template:
        rows = channel.list_dealers(request.user, status=DealerStatus.UNDER_REVIEW.value, region=None,
                                    product_line=None, text=None, after_id=None, limit=200)
        return page(request, "registrations.html", title="经销商注册审核", section="registrations",
                    crumbs=(("经销商注册审核", None),), rows=rows, error=None)

    @post("/dealers/{dealer_id:int}/review", guards=[requires(*DEALER_DECIDERS)], status_code=303)
    async def review_dealer(self, dealer_id: int, request: Request[Principal, Any, Any],
                            channel: ChannelService) -> Any:
        form = await request.form()
        decision = str(form.get("decision") or "")
        try:
            if decision == "approve":
                await sync_to_thread(channel.approve, request.user, dealer_id)
            elif decision == "reject":
                reason = _reason(form, "reason", required=True)
                await sync_to_thread(channel.reject, request.user, dealer_id, reason)
            else:
                raise InvalidValue("decision", "请选择准入或驳回", code="decision.unknown")
        except (InvalidValue, BusinessRuleViolation) as exc:  # the assessment checklist not yet passed: 409
            rows = await sync_to_thread(lambda: channel.list_dealers(
                request.user, status=DealerStatus.UNDER_REVIEW.value, region=None, product_line=None, text=None,
                after_id=None, limit=200))
            return page(request, "registrations.html", title="经销商注册审核", section="registrations",
                        crumbs=(("经销商注册审核", None),), rows=rows,
                        status_code=409 if isinstance(exc, BusinessRuleViolation) else 422,
                        error={"dealer_id": dealer_id, "message": exc.message,
                               "assessment": exc.code == "dealer.assessment_incomplete"})
        return Redirect(path="/dealers/registrations", status_code=303)


