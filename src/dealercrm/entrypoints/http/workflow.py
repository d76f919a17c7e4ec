"""HTTP: approval workflow — my tasks, workflow details, decisions, delegation, report, and the
public (token-authenticated) e-mail approval links.

E-mail links: ``GET /api/v1/workflow-links/{token}`` only shows a confirmation page (mail
scanners prefetch links; a GET must change nothing); the page's form POSTs to the same address,
which makes the decision once. Broken links answer a clear 4xx: an HTML page for browsers,
problem+json for clients that ask for JSON. Responses carry ``Cache-Control: no-store`` and
``Referrer-Policy: no-referrer`` so the token does not leak from the page.
"""

from __future__ import annotations

import html
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dealercrm.application.approval_links import ApprovalLinkError
from dealercrm.domain.errors import (
    Conflict,
    DomainError,
    InvalidValue,
    NotFound,
    PermissionDenied,
)
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.workflow import SHANGHAI, AssigneeKind, StepStatus, WorkflowStatus
from dealercrm.entrypoints.http import workflow_schemas as ws
from dealercrm.entrypoints.http.controllers import Limit, decode_cursor, encode_cursor
from dealercrm.entrypoints.http.problems import problem
from dealercrm.entrypoints.http.security import ANY_USER, public, requires
from dealercrm.entrypoints.http.schemas import Page
from dealercrm.application.services.workflow import WorkflowService

REPORT_READERS = (Role.ADMIN, Role.REGION_MANAGER)


def _s(value: Any) -> str:
    return str(value.value if hasattr(value, "value") else value)


def _task(r: dict[str, Any]) -> ws.TaskOut:
    return ws.TaskOut(
        step_id=r["step_id"], workflow_id=r["workflow_id"], workflow_no=r["workflow_no"],
        definition_code=r["definition_code"], document_type=r["definition_name"], subject_type=r["subject_type"],
        subject_id=r["subject_id"], subject_no=r["subject_no"], title=r["title"], stage_no=r["stage_no"],
        stage_name=r["stage_name"], step_name=r["step_name"], assignee_kind=AssigneeKind(_s(r["assignee_kind"])),
        assignee_value=r["assignee_value"], assignee_label=r["assignee_label"], opened_at=r["opened_at"],
        due_at=r["due_at"], overdue=bool(r["overdue"]), age_seconds=r["age_seconds"], via=r.get("via", "addressed"),
        on_behalf_of=r.get("on_behalf_of"), dealer_id=r["dealer_id"], region=r["region"],
        submitted_by=r["submitted_by_name"],
    )


def _workflow(r: dict[str, Any]) -> ws.WorkflowOut:
    status = WorkflowStatus(_s(r["status"]))
    return ws.WorkflowOut(
        id=r["id"], number=r["number"], definition_code=r["definition_code"], definition_name=r["definition_name"],
        subject_type=r["subject_type"], subject_id=r["subject_id"], subject_no=r["subject_no"], title=r["title"],
        dealer_id=r["dealer_id"], region=r["region"], status=status, status_label=status.label,
        current_stage=r["current_stage"], stage_count=r["stage_count"], submitted_by=r["submitted_by_name"],
        started_at=r["started_at"], finished_at=r["finished_at"],
    )


def _step(r: dict[str, Any]) -> ws.StepOut:
    status = StepStatus(_s(r["status"]))
    return ws.StepOut(
        id=r["id"], stage_no=r["stage_no"], stage_name=r["stage_name"], key=r["key"], name=r["name"],
        assignee_kind=AssigneeKind(_s(r["assignee_kind"])), assignee_value=r["assignee_value"], assignee_label=r["assignee_label"],
        status=status, status_label=status.label, opened_at=r["opened_at"], due_at=r["due_at"],
        decided_at=r["decided_at"], decided_by=r["decided_by_name"], on_behalf_of_id=r["on_behalf_of_id"],
        reason=r["reason"], comment=r["comment"], delegate_user_id=r["delegate_user_id"],
        delegate_name=r["delegate_name"], delegated_until=r["delegated_until"],
    )


def _decision(d: Any) -> ws.DecisionOut:
    step, wf = StepStatus(d.step_status), WorkflowStatus(d.workflow_status)
    return ws.DecisionOut(d.workflow_id, d.step_id, step, step.label, wf, wf.label)


class WorkflowController(Controller):
    path = "/api/v1/workflows"
    tags = ["workflows 审批流程"]
    guards = [requires(*ANY_USER)]

    @get("/", sync_to_thread=True, summary="单据的审批流程 Workflows of a business document")
    def of_subject(self, subject_type: str, subject_id: int, request: Request[Principal, Any, Any],
                   workflow: WorkflowService) -> Page[ws.WorkflowOut]:
        return Page([_workflow(r) for r in workflow.of_subject(request.user, subject_type, subject_id)], None)

    @get("/tasks", sync_to_thread=True, summary="我的待办审批 My pending approval tasks (incl. delegated to me)")
    def tasks(self, request: Request[Principal, Any, Any], workflow: WorkflowService, cursor: str | None = None,
              limit: Limit = 50) -> ws.TaskPage:
        rows = workflow.pending_tasks(request.user, limit=limit + 1, after_step_id=decode_cursor(cursor))
        more = len(rows) > limit
        rows = rows[:limit]
        return ws.TaskPage([_task(r) for r in rows], encode_cursor(rows[-1]["step_id"]) if more and rows else None,
                           workflow.count_pending_tasks(request.user))

    @get("/report", guards=[requires(*REPORT_READERS)], sync_to_thread=True,
         summary="工作流报表 Open steps per addressee and per person, with age")
    def report(self, request: Request[Principal, Any, Any], workflow: WorkflowService,
               subject_type: str | None = None) -> ws.ReportOut:
        r = workflow.report(request.user, subject_type)
        return ws.ReportOut(
            as_of=r["as_of"], totals=ws.ReportTotals(**r["totals"]),
            by_addressee=[ws.AddresseeLoad(**row) for row in r["by_addressee"]],
            by_user=[ws.UserLoad(**row) for row in r["by_user"]],
            oldest=[_task({**row, "via": "addressed", "on_behalf_of": None}) for row in r["oldest"]],
        )

    @get("/{workflow_id:int}", sync_to_thread=True, summary="审批详情与记录 Workflow detail with its history")
    def detail(self, workflow_id: int, request: Request[Principal, Any, Any], workflow: WorkflowService) -> ws.WorkflowDetailOut:
        r = workflow.detail(request.user, workflow_id)
        return ws.WorkflowDetailOut(
            workflow=_workflow(r), steps=[_step(s) for s in r["steps"]],
            history=[ws.HistoryOut(h["id"], h["at"], h["action"], h["label"], h["actor_id"], h["actor_name"],
                                   h["step_key"], h["step_name"], h["reason"], h["detail"] or {})
                     for h in r["history"]],
        )

    @post("/{workflow_id:int}/withdraw", status_code=HTTP_200_OK, sync_to_thread=True,
          summary="撤回 Withdraw (submitter only, while running)")
    def withdraw(self, workflow_id: int, request: Request[Principal, Any, Any], workflow: WorkflowService,
                 data: ws.WithdrawIn | None = None) -> ws.WithdrawOut:
        status = WorkflowStatus(workflow.withdraw(request.user, workflow_id,
                                                                  data.reason if data else None))
        return ws.WithdrawOut(workflow_id, status, status.label)

    @post("/steps/{step_id:int}/approve", status_code=HTTP_200_OK, sync_to_thread=True,
          summary="同意 Approve a step")
    def approve(self, step_id: int, request: Request[Principal, Any, Any], workflow: WorkflowService,
                data: ws.ApproveIn | None = None) -> ws.DecisionOut:
        return _decision(workflow.decide(request.user, step_id, "approve",
                                                         comment=data.comment if data else None))

    @post("/steps/{step_id:int}/reject", status_code=HTTP_200_OK, sync_to_thread=True,
          summary="驳回 Reject a step (reason required)")
    def reject(self, step_id: int, data: ws.RejectIn, request: Request[Principal, Any, Any],
               workflow: WorkflowService) -> ws.DecisionOut:
        return _decision(workflow.decide(request.user, step_id, "reject", reason=data.reason))

    @post("/steps/{step_id:int}/delegate", status_code=HTTP_200_OK, sync_to_thread=True,
          summary="转签 Delegate a step to a named user, optionally until a date")
    def delegate(self, step_id: int, data: ws.DelegateIn, request: Request[Principal, Any, Any],
                 workflow: WorkflowService) -> ws.DecisionOut:
        return _decision(workflow.delegate(request.user, step_id, data.to_user_id, data.until, data.reason))


def _delegation(r: dict[str, Any]) -> ws.DelegationOut:
    return ws.DelegationOut(
        id=r["id"], direction=r["direction"], from_user_id=r["from_user_id"], from_name=r["from_name"],
        to_user_id=r["to_user_id"], to_name=r["to_name"], starts_on=r["starts_on"], ends_on=r["ends_on"],
        note=r["note"], state=r["state"], created_at=r["created_at"], cancelled_at=r["cancelled_at"],
    )


class DelegationController(Controller):
    """工作任务委托: hand all my approval tasks to a colleague for a date range; take them back."""

    path = "/api/v1/me/delegations"
    tags = ["workflows 审批流程"]
    guards = [requires(*ANY_USER)]

    @get("/", sync_to_thread=True, summary="我的委托 Standing delegations I gave or received")
    def list_mine(self, request: Request[Principal, Any, Any], workflow: WorkflowService) -> Page[ws.DelegationOut]:
        return Page([_delegation(r) for r in workflow.delegations(request.user)], None)

    @post("/", status_code=HTTP_201_CREATED, sync_to_thread=True, summary="设置委托 Delegate all my tasks")
    def create(self, data: ws.DelegationIn, request: Request[Principal, Any, Any], workflow: WorkflowService) -> ws.DelegationOut:
        new_id = workflow.set_delegation(request.user, data.to_user_id, data.starts_on, data.ends_on,
                                                         data.note, data.from_user_id)
        rows = workflow.delegations(request.user)
        mine = next((r for r in rows if r["id"] == new_id), None)
        if mine is None:  # an administrator set it for someone else
            return ws.DelegationOut(new_id, "given", data.from_user_id or 0, "", data.to_user_id, "", data.starts_on,
                                    data.ends_on, data.note, "scheduled", workflow.now(), None)
        return _delegation(mine)

    @post("/{delegation_id:int}/cancel", status_code=HTTP_200_OK, sync_to_thread=True,
          summary="收回委托 Cancel a delegation from now on")
    def cancel(self, delegation_id: int, request: Request[Principal, Any, Any], workflow: WorkflowService) -> Page[ws.DelegationOut]:
        workflow.cancel_delegation(request.user, delegation_id)
        return Page([_delegation(r) for r in workflow.delegations(request.user)], None)


# ---------------------------------------------------------------------------------------------
# E-mail approval links (public, the token authenticates)

_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'",
}
_STYLE = ("body{font-family:system-ui,'PingFang SC','Microsoft YaHei',sans-serif;max-width:36rem;margin:2rem auto;"
          "padding:0 1rem;color:#222}table{border-collapse:collapse;margin:1rem 0}td{padding:.3rem .8rem .3rem 0;"
          "vertical-align:top}td:first-child{color:#666;white-space:nowrap}textarea{width:100%;min-height:6rem}"
          "button{font-size:1rem;padding:.5rem 1.5rem;margin-top:1rem}.approve{background:#1a7f37;color:#fff;border:0}"
          ".reject{background:#cf222e;color:#fff;border:0}.muted{color:#666;font-size:.9rem}")
_DECISION_ZH = {"approve": "同意", "reject": "驳回"}


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    accept = request.headers.get("accept", "").lower()
    return "json" in accept and "text/html" not in accept


def _page(title: str, body: str, status: int = 200) -> Response[str]:
    doc = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
           f'<meta name="viewport" content="width=device-width,initial-scale=1">'
           f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
           f"<body><h1>{html.escape(title)}</h1>{body}</body></html>")
    return Response(doc, status_code=status, media_type=MediaType.HTML, headers=_PAGE_HEADERS)


def _when(moment: Any) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M") if moment else "未设定"


def _status_of(exc: DomainError) -> int:
    if isinstance(exc, ApprovalLinkError):
        return exc.http_status
    if isinstance(exc, InvalidValue):
        return 422
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, PermissionDenied):
        return 403
    return 400


def _link_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    status = _status_of(exc)
    if _wants_json(request):
        extra = {k: v for k, v in exc.details.items() if k != "field"}
        if isinstance(exc, InvalidValue):
            extra |= {"field": exc.field, "errors": [{"field": exc.field, "code": exc.code, "message": exc.message}]}
        response = problem(request, status, exc.code, exc.message, **extra)
        response.headers.update(_PAGE_HEADERS)
        return response
    back = '<p><a href="">返回</a></p>' if isinstance(exc, InvalidValue) else ""
    return _page("无法处理该审批链接", f"<p>{html.escape(exc.message)}</p>{back}"
                 f'<p class="muted">错误代码：{html.escape(exc.code)}。如需办理，请登录系统查看待办。</p>', status)


class WorkflowLinkController(Controller):
    path = "/api/v1/workflow-links"
    tags = ["workflows 审批流程"]

    @get("/{token:str}", guards=[public], sync_to_thread=True, media_type=MediaType.HTML,
         summary="邮件审批确认页 Confirmation page of an e-mail approval link (changes nothing)")
    def show(self, token: str, request: Request[Any, Any, Any], workflow: WorkflowService) -> Response[str]:
        try:
            v = workflow.inspect_link(token)
        except DomainError as exc:
            return _link_error(request, exc)
        if _wants_json(request):
            out = ws.LinkViewOut(v.decision, v.user_name, v.workflow_id, v.workflow_no, v.document_type, v.subject_no,
                                 v.title, v.step_name, v.submitted_by, v.due_at, v.expires_at)
            return Response(out, headers=_PAGE_HEADERS, media_type=MediaType.JSON)  # type: ignore[arg-type]  # the page's JSON twin
        e = html.escape
        verb = _DECISION_ZH[v.decision]
        rows = "".join(f"<tr><td>{e(k)}</td><td>{e(str(val))}</td></tr>" for k, val in (
            ("审批人", v.user_name), ("类型", v.document_type), ("单号", v.subject_no), ("事项", v.title),
            ("审批环节", v.step_name), ("提交人", v.submitted_by), ("流程编号", v.workflow_no),
            ("办理期限", _when(v.due_at)), ("链接有效期至", _when(v.expires_at)),
        ))
        if v.decision == "reject":
            field = ('<p><label for="reason">驳回原因（必填）</label><br>'
                     '<textarea id="reason" name="reason" required maxlength="500"></textarea></p>')
        else:
            field = ('<p><label for="comment">审批意见（可选）</label><br>'
                     '<textarea id="comment" name="comment" maxlength="500"></textarea></p>')
        body = (f"<p>请确认是否<strong>{verb}</strong>以下审批事项：</p><table>{rows}</table>"
                f'<form method="post">{field}<button type="submit" class="{v.decision}">确认{verb}</button></form>'
                '<p class="muted">仅打开本页面不会做出任何审批；点击确认后生效，且链接只能使用一次。</p>')
        return _page(f"确认{verb}：{v.document_type} {v.subject_no}", body)

    @post("/{token:str}", guards=[public], status_code=HTTP_200_OK, media_type=MediaType.HTML,
          summary="邮件审批 Make the decision of an e-mail approval link (once)")
    async def act(self, token: str, request: Request[Any, Any, Any], workflow: WorkflowService) -> Response[str]:
        fields: dict[str, Any] = {}
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            try:
                body = await request.json()
            except Exception:  # noqa: BLE001 - any undecodable body is the client's fault
                body = None
            fields = body if isinstance(body, dict) else {}
        elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            fields = dict(await request.form())
        reason = fields.get("reason") if isinstance(fields.get("reason"), str) else None
        comment = fields.get("comment") if isinstance(fields.get("comment"), str) else None
        try:
            d = await sync_to_thread(workflow.act_on_link, token, reason, comment)
        except DomainError as exc:
            return _link_error(request, exc)
        out = _decision(d)
        if _wants_json(request):
            return Response(out, headers=_PAGE_HEADERS, media_type=MediaType.JSON)  # type: ignore[arg-type]  # the page's JSON twin
        return _page(f"已{_DECISION_ZH['approve' if out.step_status == 'approved' else 'reject']}",
                     f"<p>审批已提交：本环节{html.escape(out.step_status_label)}，"
                     f"流程当前状态：{html.escape(out.workflow_status_label)}。</p>"
                     '<p class="muted">本链接已失效。</p>')
