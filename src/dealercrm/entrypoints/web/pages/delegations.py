"""工作委托: a reviewer hands all of their approval tasks to a colleague for a period (a standing
delegation of the workflow service), sees the delegations given and received, and ends one
early (委托收回). Bad input stays in the form with the error beside its field (422); a period
that overlaps a delegation in force is a 409 saying so; another user's delegation is the 404 page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.response import Redirect, Template

from dealercrm.application.services.workflow import WorkflowService
from dealercrm.domain.errors import Conflict, IllegalTransition, InvalidValue, NotFound
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import beijing_date
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.layout import REVIEWERS, page

FIELDS = ("to_user_id", "starts_on", "ends_on", "note")
STATE_LABELS = {"active": "生效中", "scheduled": "未开始", "ended": "已到期", "cancelled": "已收回"}
DONE = {"created": "委托已设置：委托期间，受托人可以处理您的全部审批任务。", "ended": "委托已收回，审批任务回到您这里。"}
MAX_ID = 2**63 - 1


def _role_label(role: Any) -> str:
    try:
        return Role(str(getattr(role, "value", role))).label
    except ValueError:
        return str(role)


def _date(raw: str, field: str, label: str) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidValue(field, f"请选择{label}（年-月-日）", code="date.invalid") from None


def _delegation_input(values: dict[str, str]) -> tuple[int, dt.date, dt.date | None, str | None]:
    """The form's values as the service takes them; each bad field is a 422 naming it."""
    raw_target = values["to_user_id"]
    if not raw_target.isdigit() or not 0 < int(raw_target) <= MAX_ID:
        raise InvalidValue("to_user_id", "请选择受托人", code="delegation.to_required")
    starts_on = _date(values["starts_on"], "starts_on", "开始日期")
    if starts_on is None:
        raise InvalidValue("starts_on", "请选择开始日期", code="delegation.starts_required")
    ends_on = _date(values["ends_on"], "ends_on", "结束日期")
    if len(values["note"]) > 500:
        raise InvalidValue("note", "备注不能超过500字", code="delegation.note_too_long")
    return int(raw_target), starts_on, ends_on, values["note"] or None


class DelegationPages(Controller):
    path = "/delegations"
    guards = [requires(*REVIEWERS)]

    @get("/", sync_to_thread=True)
    def index(self, request: Request[Principal, Any, Any], workflow: WorkflowService) -> Template:
        today = beijing_date(workflow.now()).isoformat()
        return self._page(request, workflow, values={"to_user_id": "", "starts_on": today, "ends_on": "", "note": ""},
                          errors={})

    def _page(self, request: Request[Principal, Any, Any], workflow: WorkflowService, *, values: dict[str, str],
              errors: dict[str, str], status_code: int = 200) -> Template:
        rows = [{**r, "state_label": STATE_LABELS.get(str(r["state"]), str(r["state"])),
                 "can_end": r["direction"] == "given" and r["state"] in ("active", "scheduled")}
                for r in workflow.delegations(request.user)]
        candidates = [{**c, "role_label": _role_label(c["role"])} for c in workflow.delegation_candidates(request.user)]
        flash = DONE.get(str(request.query_params.get("done") or "")) if status_code == 200 else None
        return page(request, "delegations.html", title="工作委托", section="delegations", crumbs=(("工作委托", None),),
                    given=[r for r in rows if r["direction"] == "given"],
                    received=[r for r in rows if r["direction"] == "received"], candidates=candidates,
                    values=values, errors=errors, flash=flash, status_code=status_code)

    @post("/", status_code=303)
    async def create(self, request: Request[Principal, Any, Any], workflow: WorkflowService) -> Any:
        form = await request.form()
        values = {name: str(form.get(name) or "").strip()[:600] for name in FIELDS}
        try:
            to_user_id, starts_on, ends_on, note = _delegation_input(values)
            await sync_to_thread(workflow.set_delegation, request.user, to_user_id, starts_on, ends_on, note)
        except (InvalidValue, Conflict) as exc:
            field = str(getattr(exc, "field", "") or "")
            errors = {field if field in FIELDS else "form": exc.message}
            status = 409 if isinstance(exc, Conflict) else 422
            return await sync_to_thread(lambda: self._page(request, workflow, values=values, errors=errors,
                                                           status_code=status))
        return Redirect(path="/delegations?done=created", status_code=303)

    @post("/{delegation_id:int}/end", status_code=303)
    async def end(self, delegation_id: int, request: Request[Principal, Any, Any], workflow: WorkflowService) -> Any:
        if not 0 < delegation_id <= MAX_ID:
            raise NotFound("委托不存在", code="delegation.not_found")
        try:
            await sync_to_thread(workflow.cancel_delegation, request.user, delegation_id)
        except IllegalTransition:
            errors = {"form": "该委托已收回或已到期，无需再收回。"}
            today = beijing_date(workflow.now()).isoformat()
            return await sync_to_thread(lambda: self._page(
                request, workflow, values={"to_user_id": "", "starts_on": today, "ends_on": "", "note": ""},
                errors=errors, status_code=409))
        return Redirect(path="/delegations?done=ended", status_code=303)
