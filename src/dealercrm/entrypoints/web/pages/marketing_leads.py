"""市场与客服 · 线索跟进: the leads campaigns brought in, for marketing, administrators and the
regional sales staff (each within their dealer scope, as ``/api/v1/leads``): the list filtered by
campaign, dealer, status and "due for contact" (bookmarkable, keyset-paged, exported as XLSX or
CSV) with each lead's latest follow-up and next contact day, a lead's page with its follow-up log
(newest first), and the follow-up form — a contact (channel, note, next contact day), converted
into one of the dealer's submitted orders, or lost with a reason — booked once per form token.
Dealers follow their own leads under ``/leads``; the helpers here serve both."""

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
from dealercrm.domain.campaigns import (
    MAX_FOLLOW_UP_NOTE,
    FollowUpChannel,
    FollowUpOutcome,
    LeadStatus,
    contact_due,
)
from dealercrm.domain.channel import ProductLine
from dealercrm.domain.errors import (
    BusinessRuleViolation,
    Conflict,
    IllegalTransition,
    InvalidValue,
)
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.orders import OrderState
from dealercrm.entrypoints.http.controllers import query_day
from dealercrm.entrypoints.http.downloads import download
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.forms import new_form_token, posted_form_token
from dealercrm.entrypoints.web.layout import page

LEAD_STAFF = tuple(r for r in cp.LEAD_WRITERS if r is not Role.DEALER)
PAGE_SIZE = 50
EXPORT_PAGE = 1000
MaybeId = Annotated[int | None, Parameter(ge=1, le=2**63 - 1)]
STALE = "已被他人修改，以下是线索的当前状态"
CONVERTIBLE = tuple(s.value for s in OrderState if s.value not in cp.NOT_REVENUE_STATES)
LINES = {p.value: p.label for p in ProductLine}
_T, _M, _DT, _D = ColumnKind.TEXT, ColumnKind.MONEY, ColumnKind.DATETIME, ColumnKind.DATE
CHANNELS = tuple((c.value, c.label) for c in FollowUpChannel)
CHANNEL_LABELS = dict(CHANNELS)
FOLLOW_UP_FIELDS = ("channel", "note", "next_contact_on", "order_id", "reason")
EMPTY_FOLLOW_UP = {k: "" for k in FOLLOW_UP_FIELDS}
LEAD_TABLE = Table("线索", (
    Column("id", "线索编号", ColumnKind.INTEGER, 10), Column("name", "客户", _T, 16), Column("phone", "电话", _T, 14),
    Column("interest", "意向", _T, 30), Column("line_label", "产品线", _T, 12), Column("campaign_name", "来源活动", _T, 24),
    Column("dealer_name", "跟进经销商", _T, 28), Column("status_label", "状态", _T, 8),
    Column("created_at", "登记时间", _DT, 18), Column("created_by_name", "登记人", _T, 12),
    Column("updated_at", "最近更新", _DT, 18), Column("order_no", "成交订单", _T, 18),
    Column("order_total_fen", "成交金额", _M, 16), Column("lost_reason", "流失原因", _T, 30),
    Column("last_follow_up_at", "最近跟进时间", _DT, 18), Column("last_follow_up_by", "跟进人", _T, 12),
    Column("last_follow_up_channel_label", "跟进方式", _T, 8), Column("last_follow_up_note", "跟进内容", _T, 40),
    Column("next_contact_on", "下次联系", _D, 12),
))


def decorate_lead(row: dict[str, Any], today: Any) -> dict[str, Any]:
    """A lead row for the pages and exports: labels, the latest follow-up's channel, due or not."""
    status = str(getattr(row["status"], "value", row["status"]))
    channel = str(getattr(row.get("last_follow_up_channel"), "value", row.get("last_follow_up_channel")) or "")
    return {**row, "status": status, "status_label": LeadStatus(status).label,
            "line_label": LINES.get(str(row.get("product_line") or ""), "—"),
            "last_follow_up_channel_label": CHANNEL_LABELS.get(channel, ""),
            "due": contact_due(row.get("next_contact_on"), today)}


def _status(raw: str | None) -> str | None:
    if raw and raw not in {s.value for s in LeadStatus}:
        raise InvalidValue("status", "未知的线索状态", code="lead.status_unknown")
    return raw or None


def history(lead: dict[str, Any], follow_ups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lead's log, newest first: each follow-up (who, when, channel, note, next contact day),
    then its capture. A lead closed before follow-ups were logged shows what its record says."""
    steps: list[dict[str, Any]] = []
    for f in follow_ups:
        outcome = FollowUpOutcome(str(getattr(f["outcome"], "value", f["outcome"])))
        channel = str(getattr(f["channel"], "value", f["channel"]) or "")
        detail = ""
        if outcome is FollowUpOutcome.CONVERTED:
            detail = f"订单 {lead.get('order_no') or lead['order_id']}"
        elif outcome is FollowUpOutcome.LOST:
            detail = lead.get("lost_reason") or ""
        steps.append({"at": f["at"], "by": f["by_name"], "what": outcome.label, "outcome": outcome.value,
                      "channel": CHANNEL_LABELS.get(channel, ""), "note": f["note"], "detail": detail,
                      "next_contact_on": f["next_contact_on"]})
    status = lead["status"]
    if not follow_ups and status != LeadStatus.NEW.value:
        what = {"contacted": ("联系客户", ""), "converted": ("成交", f"订单 {lead.get('order_no') or lead['order_id']}"),
                "lost": ("流失", lead.get("lost_reason") or "")}[status]
        steps.append({"at": lead["converted_at"] or lead["updated_at"], "by": "", "what": what[0], "outcome": status,
                      "channel": "", "note": None, "detail": what[1], "next_contact_on": None})
    steps.append({"at": lead["created_at"], "by": lead["created_by_name"], "what": "登记线索", "outcome": "new",
                  "channel": "", "note": None, "detail": f"分配给 {lead['dealer_name']}", "next_contact_on": None})
    return steps


def follow_up_values(form: Any) -> dict[str, str]:
    """The follow-up form's fields as typed (kept in the form when refused; longer than allowed
    stays long enough for the error to show)."""
    return {"channel": str(form.get("channel") or "").strip()[:20],
            "note": str(form.get("note") or "").strip()[:MAX_FOLLOW_UP_NOTE * 2],
            "next_contact_on": str(form.get("next_contact_on") or "").strip()[:20],
            "order_id": str(form.get("order_id") or "").strip()[:20],
            "reason": str(form.get("reason") or "").strip()[:1000]}


def follow_up_command(action: str, values: dict[str, str], expected_status: str | None) -> cp.FollowUp:
    """The follow-up a form asks for; what the form alone can tell wrong is ``InvalidValue`` on its field."""
    if action not in cp.ACTIONS:
        raise InvalidValue("action", "请选择跟进结果", code="lead.action_unknown")
    order_id = None
    if action == "convert":
        if not values["order_id"].isdigit() or len(values["order_id"]) > 18:
            raise InvalidValue("order_id", "请选择成交的订单", code="lead.order_required")
        order_id = int(values["order_id"])
    if action == "lost" and not values["reason"]:
        raise InvalidValue("reason", "请填写流失原因", code="reason.required")
    return cp.FollowUp(action, order_id=order_id, reason=values["reason"] or None,
                       channel=values["channel"] or None, note=values["note"] or None,
                       next_contact_on=query_day(values["next_contact_on"], "next_contact_on"),
                       expected_status=expected_status)


def follow_up_error(exc: InvalidValue | Conflict | BusinessRuleViolation) -> dict[str, str]:
    field = str(getattr(exc, "field", "") or "")
    return {field if field in FOLLOW_UP_FIELDS else "form": exc.message}


class MarketingLeadPages(Controller):
    path = "/marketing/leads"

    def _filters(self, campaign_id: int | None, dealer_id: int | None, status: str | None,
                 due: bool) -> dict[str, Any]:
        return {"campaign_id": campaign_id, "dealer_id": dealer_id, "status": _status(status), "due": due}

    @get("/", guards=[requires(*LEAD_STAFF)], sync_to_thread=True)
    def leads(self, request: Request[Principal, Any, Any], marketing: MarketingService, channel: ChannelService,
              campaign_id: MaybeId = None, dealer_id: MaybeId = None,
              status: Annotated[str | None, Parameter(max_length=20)] = None, due: bool = False,
              before: MaybeId = None) -> Template:
        error, rows = None, []
        today = marketing.contact_today()
        try:
            filters = self._filters(campaign_id, dealer_id, status, due)
            rows = [decorate_lead(r, today) for r in marketing.leads(request.user, **filters, before_id=before,
                                                                     limit=PAGE_SIZE + 1)]
        except InvalidValue as exc:
            error = {"field": exc.field, "message": exc.message}
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        query = {k: v for k, v in (("campaign_id", campaign_id), ("dealer_id", dealer_id), ("status", status),
                                   ("due", "true" if due else None)) if v}
        return page(request, "marketing_leads.html", title="线索跟进", section="marketing_leads",
                    crumbs=(("营销活动", "/marketing/campaigns"), ("线索跟进", None)), rows=rows, error=error,
                    campaigns=marketing.campaigns(request.user, limit=200),
                    dealers=channel.list_dealers(request.user, limit=500),
                    statuses=[(s.value, s.label) for s in LeadStatus],
                    chosen={"campaign_id": campaign_id, "dealer_id": dealer_id, "status": status or "", "due": due},
                    export_href="/marketing/leads/export", export_query=urlencode(query),
                    next_query=urlencode({**query, "before": rows[-1]["id"]}) if more and rows else None,
                    status_code=422 if error else 200)

    @get("/export", guards=[requires(*LEAD_STAFF)], sync_to_thread=True)
    def export(self, request: Request[Principal, Any, Any], marketing: MarketingService, exports: Exporter,
               file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx",
               campaign_id: MaybeId = None, dealer_id: MaybeId = None,
               status: Annotated[str | None, Parameter(max_length=20)] = None, due: bool = False) -> Stream:
        exports.check_format(file_format)
        filters = self._filters(campaign_id, dealer_id, status, due)
        today = marketing.contact_today()
        rows = (decorate_lead(r, today) for r in keyset_rows(
            lambda before: marketing.leads(request.user, **filters, before_id=before, limit=EXPORT_PAGE),
            lambda r: r["id"], page=EXPORT_PAGE))
        return download(exports.download(file_format, "leads", LEAD_TABLE, rows))

    def _lead(self, request: Request[Principal, Any, Any], marketing: MarketingService, orders: OrdersService,
              lead_id: int, *, values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
              action: str = "", notice: str | None = None, status_code: int = 200) -> Template:
        lead = decorate_lead(marketing.lead(request.user, lead_id), marketing.contact_today())
        open_lead = lead["status"] in (LeadStatus.NEW.value, LeadStatus.CONTACTED.value)
        candidates = orders.list_orders(request.user, {"dealer_id": lead["dealer_id"], "states": list(CONVERTIBLE)},
                                        limit=100) if open_lead else []
        done = {"contacted": "已记录跟进。", "convert": "线索已成交。", "lost": "线索已标记为流失。"}.get(
            str(request.query_params.get("done") or "")) if status_code == 200 else None
        return page(request, "marketing_lead.html", title=f"线索：{lead['name']}", section="marketing_leads",
                    crumbs=(("营销活动", "/marketing/campaigns"), ("线索跟进", "/marketing/leads"), (lead["name"], None)),
                    lead=lead, history=history(lead, marketing.lead_follow_ups(request.user, lead_id)),
                    open_lead=open_lead, candidates=candidates, channels=CHANNELS, max_note=MAX_FOLLOW_UP_NOTE,
                    values=values or EMPTY_FOLLOW_UP, errors=errors or {}, action=action or "contacted",
                    notice=notice, done=done, form_token=new_form_token(), status_code=status_code)

    @get("/{lead_id:int}", guards=[requires(*LEAD_STAFF)], sync_to_thread=True)
    def lead(self, lead_id: int, request: Request[Principal, Any, Any], marketing: MarketingService,
             orders: OrdersService) -> Template:
        return self._lead(request, marketing, orders, lead_id)

    @post("/{lead_id:int}/follow-up", guards=[requires(*LEAD_STAFF)], status_code=303)
    async def follow_up(self, lead_id: int, request: Request[Principal, Any, Any], marketing: MarketingService,
                        orders: OrdersService) -> Any:
        form = await request.form()
        action = str(form.get("action") or "")[:20]
        values = follow_up_values(form)
        shown = str(form.get("status") or "")[:20] or None  # the state the form was rendered in
        try:
            await sync_to_thread(marketing.lead, request.user, lead_id)
            cmd = follow_up_command(action, values, shown)
            token = posted_form_token(form)
            await sync_to_thread(lambda: marketing.follow_up_lead_once(request.user, lead_id, cmd, form_token=token))
        except IllegalTransition:
            return await sync_to_thread(lambda: self._lead(request, marketing, orders, lead_id, notice=STALE,
                                                           status_code=409))
        except (InvalidValue, Conflict, BusinessRuleViolation) as exc:
            status_code = 422 if isinstance(exc, InvalidValue) else 409
            errors = follow_up_error(exc)
            return await sync_to_thread(lambda: self._lead(request, marketing, orders, lead_id, values=values,
                                                           errors=errors, action=action,
                                                           status_code=status_code))
        return Redirect(path=f"/marketing/leads/{lead_id}?done={action}", status_code=303)
