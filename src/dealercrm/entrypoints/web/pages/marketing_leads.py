"""市场与客服 · 线索跟进: the leads campaigns brought in, for marketing, administrators and the
regional sales staff (each within their dealer scope, as ``/api/v1/leads``): the list filtered by
campaign, dealer and status (bookmarkable, keyset-paged, exported as XLSX or CSV), a lead's page
with what happened to it so far, and the follow-up forms — contacted, converted into one of the
dealer's submitted orders, or lost with a reason. Dealers follow their own leads under ``/leads``."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import Parameter
from litestar.response import Redirect, Stream, Template

from dealercrm.application import campaigns as cp
from dealercrm.application.exports import (
    Column,
    ColumnKind,
    Exporter,
    Table,
    keyset_rows,
)
from dealercrm.application.services.channel import ChannelService
from dealercrm.application.services.marketing import MarketingService
from dealercrm.application.services.orders import OrdersService
from dealercrm.domain.campaigns import LeadStatus
from dealercrm.domain.channel import ProductLine
from dealercrm.domain.errors import (
    BusinessRuleViolation,
    Conflict,
    IllegalTransition,
    InvalidValue,
)
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.orders import OrderState
from dealercrm.entrypoints.http.downloads import download
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.layout import page

LEAD_STAFF = tuple(r for r in cp.LEAD_WRITERS if r is not Role.DEALER)
PAGE_SIZE = 50
EXPORT_PAGE = 1000
MaybeId = Annotated[int | None, Parameter(ge=1, le=2**63 - 1)]
STALE = "已被他人修改，以下是线索的当前状态"
CONVERTIBLE = tuple(s.value for s in OrderState if s.value not in cp.NOT_REVENUE_STATES)
LINES = {p.value: p.label for p in ProductLine}
_T, _M, _DT = ColumnKind.TEXT, ColumnKind.MONEY, ColumnKind.DATETIME
LEAD_TABLE = Table("线索", (
    Column("id", "线索编号", ColumnKind.INTEGER, 10), Column("name", "客户", _T, 16), Column("phone", "电话", _T, 14),
    Column("interest", "意向", _T, 30), Column("line_label", "产品线", _T, 12), Column("campaign_name", "来源活动", _T, 24),
    Column("dealer_name", "跟进经销商", _T, 28), Column("status_label", "状态", _T, 8),
    Column("created_at", "登记时间", _DT, 18), Column("created_by_name", "登记人", _T, 12),
    Column("updated_at", "最近跟进", _DT, 18), Column("order_no", "成交订单", _T, 18),
    Column("order_total_fen", "成交金额", _M, 16), Column("lost_reason", "流失原因", _T, 30),
))


def _decorate(row: dict[str, Any]) -> dict[str, Any]:
    status = str(getattr(row["status"], "value", row["status"]))
    return {**row, "status": status, "status_label": LeadStatus(status).label,
            "line_label": LINES.get(str(row.get("product_line") or ""), "—")}


def _status(raw: str | None) -> str | None:
    if raw and raw not in {s.value for s in LeadStatus}:
        raise InvalidValue("status", "未知的线索状态", code="lead.status_unknown")
    return raw or None


def history(lead: dict[str, Any]) -> list[tuple[Any, str]]:
    """What the lead's record says happened, oldest first: captured, followed up, converted or lost."""
    steps: list[tuple[Any, str]] = [(lead["created_at"], f"{lead['created_by_name']} 登记线索，分配给 {lead['dealer_name']}")]
    status = lead["status"]
    if status == LeadStatus.CONTACTED.value:
        steps.append((lead["updated_at"], "经销商已联系客户（已跟进）"))
    elif status == LeadStatus.CONVERTED.value:
        steps.append((lead["converted_at"], f"成交：订单 {lead.get('order_no') or lead['order_id']}"))
    elif status == LeadStatus.LOST.value:
        steps.append((lead["updated_at"], f"流失：{lead['lost_reason']}"))
    return steps


class MarketingLeadPages(Controller):
    path = "/marketing/leads"

    def _filters(self, campaign_id: int | None, dealer_id: int | None, status: str | None) -> dict[str, Any]:
        return {"campaign_id": campaign_id, "dealer_id": dealer_id, "status": _status(status)}

    @get("/", guards=[requires(*LEAD_STAFF)], sync_to_thread=True)
    def leads(self, request: Request[Principal, Any, Any], marketing: MarketingService, channel: ChannelService,
              campaign_id: MaybeId = None, dealer_id: MaybeId = None,
              status: Annotated[str | None, Parameter(max_length=20)] = None, before: MaybeId = None) -> Template:
        error, rows = None, []
        try:
            filters = self._filters(campaign_id, dealer_id, status)
            rows = [_decorate(r) for r in marketing.leads(request.user, **filters, before_id=before,
                                                          limit=PAGE_SIZE + 1)]
        except InvalidValue as exc:
            error = {"field": exc.field, "message": exc.message}
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        query = {k: v for k, v in (("campaign_id", campaign_id), ("dealer_id", dealer_id), ("status", status)) if v}
        return page(request, "marketing_leads.html", title="线索跟进", section="marketing_leads",
                    crumbs=(("营销活动", "/marketing/campaigns"), ("线索跟进", None)), rows=rows, error=error,
                    campaigns=marketing.campaigns(request.user, limit=200),
                    dealers=channel.list_dealers(request.user, limit=500),
                    statuses=[(s.value, s.label) for s in LeadStatus],
                    chosen={"campaign_id": campaign_id, "dealer_id": dealer_id, "status": status or ""},
                    export_href="/marketing/leads/export", export_query=urlencode(query),
                    next_query=urlencode({**query, "before": rows[-1]["id"]}) if more and rows else None,
                    status_code=422 if error else 200)

    @get("/export", guards=[requires(*LEAD_STAFF)], sync_to_thread=True)
    def export(self, request: Request[Principal, Any, Any], marketing: MarketingService, exports: Exporter,
               file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx",
               campaign_id: MaybeId = None, dealer_id: MaybeId = None,
               status: Annotated[str | None, Parameter(max_length=20)] = None) -> Stream:
        exports.check_format(file_format)
        filters = self._filters(campaign_id, dealer_id, status)
        rows = (_decorate(r) for r in keyset_rows(
            lambda before: marketing.leads(request.user, **filters, before_id=before, limit=EXPORT_PAGE),
            lambda r: r["id"], page=EXPORT_PAGE))
        return download(exports.download(file_format, "leads", LEAD_TABLE, rows))

    def _lead(self, request: Request[Principal, Any, Any], marketing: MarketingService, orders: OrdersService,
              lead_id: int, *, values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
              notice: str | None = None, status_code: int = 200) -> Template:
        lead = _decorate(marketing.lead(request.user, lead_id))
        open_lead = lead["status"] in (LeadStatus.NEW.value, LeadStatus.CONTACTED.value)
        candidates = orders.list_orders(request.user, {"dealer_id": lead["dealer_id"], "states": list(CONVERTIBLE)},
                                        limit=100) if open_lead else []
        done = {"contacted": "已记录跟进。", "convert": "线索已成交。", "lost": "线索已标记为流失。"}.get(
            str(request.query_params.get("done") or "")) if status_code == 200 else None
        return page(request, "marketing_lead.html", title=f"线索：{lead['name']}", section="marketing_leads",
                    crumbs=(("营销活动", "/marketing/campaigns"), ("线索跟进", "/marketing/leads"), (lead["name"], None)),
                    lead=lead, history=history(lead), open_lead=open_lead, candidates=candidates,
                    values=values or {"order_id": "", "reason": ""}, errors=errors or {}, notice=notice, done=done,
                    status_code=status_code)

    @get("/{lead_id:int}", guards=[requires(*LEAD_STAFF)], sync_to_thread=True)
    def lead(self, lead_id: int, request: Request[Principal, Any, Any], marketing: MarketingService,
             orders: OrdersService) -> Template:
        return self._lead(request, marketing, orders, lead_id)

    @post("/{lead_id:int}/follow-up", guards=[requires(*LEAD_STAFF)], status_code=303)
    async def follow_up(self, lead_id: int, request: Request[Principal, Any, Any], marketing: MarketingService,
                        orders: OrdersService) -> Any:
        form = await request.form()
        action = str(form.get("action") or "")[:20]
        values = {"order_id": str(form.get("order_id") or "").strip()[:20],
                  "reason": str(form.get("reason") or "").strip()[:500]}
        shown = str(form.get("status") or "")[:20]  # the state the form was rendered in
        try:
            current = await sync_to_thread(marketing.lead, request.user, lead_id)
            if shown and shown != str(getattr(current["status"], "value", current["status"])):
                raise IllegalTransition("lead", str(current["status"]), action)
            kw: dict[str, Any] = {}
            if action == "convert":
                if not values["order_id"].isdigit() or len(values["order_id"]) > 18:
                    raise InvalidValue("order_id", "请选择成交的订单", code="lead.order_required")
                kw["order_id"] = int(values["order_id"])
            elif action == "lost":
                if not values["reason"]:
                    raise InvalidValue("reason", "请填写流失原因", code="reason.required")
                kw["reason"] = values["reason"]
            elif action != "contacted":
                raise InvalidValue("action", "请选择跟进结果", code="lead.action_unknown")
            await sync_to_thread(lambda: marketing.follow_up_lead(request.user, lead_id, action, **kw))
        except IllegalTransition:
            return await sync_to_thread(lambda: self._lead(request, marketing, orders, lead_id, notice=STALE,
                                                           status_code=409))
        except (InvalidValue, Conflict, BusinessRuleViolation) as exc:
            field = str(getattr(exc, "field", "") or "")
            errors = {field if field in ("order_id", "reason") else "form": exc.message}
            status_code = 422 if isinstance(exc, InvalidValue) else 409
            return await sync_to_thread(lambda: self._lead(request, marketing, orders, lead_id, values=values,
                                                           errors=errors, status_code=status_code))
        return Redirect(path=f"/marketing/leads/{lead_id}?done={action}", status_code=303)
