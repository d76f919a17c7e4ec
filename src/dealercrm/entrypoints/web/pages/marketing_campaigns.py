"""市场 · 营销活动: marketing plans campaigns (budget in 元, period, product lines, target regions),
activates, closes them with the actual cost or cancels them, and records the leads they bring,
each followed by a dealer; the campaign page shows its leads, conversions, revenue and ROI per
dealer (the same report as ``/api/v1/marketing/campaigns/{id}/report``). Sales and region
managers read the campaigns and record leads for their dealers."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import Parameter
from litestar.response import Redirect, Template

from dealercrm.application import campaigns as cp
from dealercrm.application.services import ChannelService
from dealercrm.application.services.marketing import MarketingService
from dealercrm.application.services.regions import RegionsService
from dealercrm.domain.campaigns import CampaignStatus, LeadStatus
from dealercrm.domain.channel import ProductLine
from dealercrm.domain.errors import (
    DomainError,
    IllegalTransition,
    InvalidValue,
    NotFound,
)
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.http.controllers import query_day
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.forms import new_form_token, posted_form_token
from dealercrm.entrypoints.web.layout import page
from dealercrm.entrypoints.web.pages.dealer_stock import yuan_to_fen

READERS = cp.REPORT_READERS
PLANNERS = cp.PLANNERS
LEAD_WRITERS = tuple(r for r in cp.LEAD_WRITERS if r is not Role.DEALER)
PAGE_SIZE = 50
PLAN_FIELDS = ("name", "target_segment", "budget", "starts_on", "ends_on", "channel", "description")
LEAD_FIELDS = ("name", "phone", "dealer_id", "interest", "product_line")
STALE = "已被他人修改，以下是活动的当前状态"


def _campaign_row(row: dict[str, Any]) -> dict[str, Any]:
    row["status_label"] = CampaignStatus(str(row["status"])).label
    lines = {p.value: p.label for p in ProductLine}
    row["lines_label"] = "、".join(lines.get(p, p) for p in row.get("product_lines") or ()) or "全部产品线"
    row["regions_label"] = "、".join(row.get("regions") or ()) or "全国"
    return row


class MarketingCampaignPages(Controller):
    path = "/marketing/campaigns"

    @get("/", guards=[requires(*READERS)], sync_to_thread=True)
    def campaigns(self, request: Request[Principal, Any, Any], marketing: MarketingService,
                  status: Annotated[str | None, Parameter(max_length=20)] = None,
                  before: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None) -> Template:
        error, rows = None, []
        if status and status not in {s.value for s in CampaignStatus}:
            error = {"field": "status", "message": "未知的活动状态"}
        else:
            rows = [_campaign_row(r) for r in marketing.campaigns(request.user, status=status or None,
                                                                 before_id=before, limit=PAGE_SIZE + 1)]
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        return page(request, "marketing_campaigns.html", title="营销活动", section="marketing_campaigns",
                    crumbs=(("营销活动", None),), rows=rows, error=error, status=status or "", action="/marketing/campaigns",
                    statuses=[(s.value, s.label) for s in CampaignStatus], may_plan=request.user.role in PLANNERS,
                    next_query=urlencode({"status": status or "", "before": rows[-1]["id"]}) if more and rows else None,
                    status_code=422 if error else 200)

    # -- plan ----------------------------------------------------------------------------------

    def _plan_form(self, request: Request[Principal, Any, Any], *, values: dict[str, Any], errors: dict[str, str],
                   regions: list[str], status_code: int = 200) -> Template:
        return page(request, "marketing_campaign_new.html", title="策划营销活动", section="marketing_campaigns",
                    crumbs=(("营销活动", "/marketing/campaigns"), ("策划", None)), values=values, errors=errors,
                    lines=[(p.value, p.label) for p in ProductLine], regions=regions, form_token=new_form_token(),
                    status_code=status_code)

    @get("/new", guards=[requires(*PLANNERS)], sync_to_thread=True)
    def new(self, request: Request[Principal, Any, Any], regions: RegionsService) -> Template:
        return self._plan_form(request, values={**{k: "" for k in PLAN_FIELDS}, "product_lines": [], "regions": [],
                                                "activate": False}, errors={}, regions=regions.active_names())

    @post("/new", guards=[requires(*PLANNERS)], status_code=303)
    async def plan(self, request: Request[Principal, Any, Any], marketing: MarketingService,
                   regions: RegionsService) -> Any:
        form = await request.form()
        values: dict[str, Any] = {k: str(form.get(k) or "").strip()[:2000] for k in PLAN_FIELDS}
        values["product_lines"] = [str(v)[:20] for v in form.getall("product_lines", [])][:5]
        values["regions"] = [str(v)[:10] for v in form.getall("regions", [])][:10]
        values["activate"] = bool(form.get("activate"))
        try:
            starts_on = query_day(values["starts_on"], "starts_on")
            ends_on = query_day(values["ends_on"], "ends_on")
            if starts_on is None or ends_on is None:
                raise InvalidValue("starts_on" if starts_on is None else "ends_on", "请选择日期",
                                   code="campaign.period_required")
            cmd = cp.PlanCampaign(
                name=values["name"], target_segment=values["target_segment"],
                budget_fen=yuan_to_fen(values["budget"], "budget"), starts_on=starts_on, ends_on=ends_on,
                product_lines=tuple(values["product_lines"]), regions=tuple(values["regions"]),
                channel=values["channel"] or None, description=values["description"] or None,
                activate=values["activate"])
            token = posted_form_token(form)
            ref = await sync_to_thread(lambda: marketing.plan_campaign_once(request.user, cmd, form_token=token))
        except InvalidValue as exc:
            field = {"budget_fen": "budget"}.get(exc.field, exc.field)
            fields = (*PLAN_FIELDS, "product_lines", "regions")
            return self._plan_form(request, values=values, errors={field if field in fields else "form": exc.message},
                                   regions=await sync_to_thread(regions.active_names), status_code=422)
        return Redirect(path=f"/marketing/campaigns/{ref.id}", status_code=303)

    # -- one campaign --------------------------------------------------------------------------

    def _campaign_page(self, request: Request[Principal, Any, Any], marketing: MarketingService,
                       channel: ChannelService, campaign_id: int, *, errors: dict[str, str] | None = None,
                       values: dict[str, str] | None = None, notice: str | None = None,
                       status_code: int = 200) -> Template:
        report = marketing.campaign_report(request.user, campaign_id)
        campaign = _campaign_row(report["campaign"])
        leads = marketing.leads(request.user, campaign_id=campaign_id, limit=PAGE_SIZE)
        for lead in leads:
            lead["status_label"] = LeadStatus(str(lead["status"])).label
        dealers = [d for d in channel.list_dealers(request.user, limit=500)
                   if not campaign.get("regions") or d["region"] in campaign["regions"]]
        return page(request, "marketing_campaign.html", title=f"营销活动 {campaign['campaign_no']}",
                    section="marketing_campaigns",
                    crumbs=(("营销活动", "/marketing/campaigns"), (str(campaign["campaign_no"]), None)),
                    campaign=campaign, totals=report["totals"], per_dealer=report["per_dealer"], leads=leads,
                    dealers=dealers, lines=[(p.value, p.label) for p in ProductLine],
                    may_plan=request.user.role in PLANNERS, errors=errors or {}, values=values or {},
                    notice=notice, saved=request.query_params.get("saved"), status_code=status_code)

    @get("/{campaign_id:int}", guards=[requires(*READERS)], sync_to_thread=True)
    def campaign(self, campaign_id: int, request: Request[Principal, Any, Any], marketing: MarketingService,
                 channel: ChannelService) -> Template:
        return self._campaign_page(request, marketing, channel, campaign_id)

    @post("/{campaign_id:int}/action", guards=[requires(*PLANNERS)], status_code=303)
    async def act(self, campaign_id: int, request: Request[Principal, Any, Any], marketing: MarketingService,
                  channel: ChannelService) -> Any:
        form = await request.form()
        action = str(form.get("action") or "")[:20]
        values = {"actual_cost": str(form.get("actual_cost") or "").strip()[:20]}
        try:
            if action not in ("activate", "close", "cancel"):
                raise InvalidValue("action", "请选择操作", code="campaign.action_unknown")
            kw = {"actual_cost_fen": yuan_to_fen(values["actual_cost"], "actual_cost")} if action == "close" else {}
            await sync_to_thread(lambda: marketing.change_campaign(request.user, campaign_id, action, **kw))
        except InvalidValue as exc:
            errors = {"actual_cost" if exc.field in ("actual_cost", "actual_cost_fen") else "action": exc.message}
            return await sync_to_thread(lambda: self._campaign_page(request, marketing, channel, campaign_id,
                                                                    errors=errors, values=values, status_code=422))
        except NotFound:
            raise
        except IllegalTransition:
            return await sync_to_thread(lambda: self._campaign_page(request, marketing, channel, campaign_id,
                                                                    notice=STALE, status_code=409))
        return Redirect(path=f"/marketing/campaigns/{campaign_id}?saved=1", status_code=303)

    @post("/{campaign_id:int}/leads", guards=[requires(*LEAD_WRITERS)], status_code=303)
    async def capture_lead(self, campaign_id: int, request: Request[Principal, Any, Any],
                           marketing: MarketingService, channel: ChannelService) -> Any:
        form = await request.form()
        values = {k: str(form.get(k) or "").strip()[:500] for k in LEAD_FIELDS}
        try:
            dealer = values["dealer_id"]
            if not dealer.isdigit() or len(dealer) > 18:
                raise InvalidValue("dealer_id", "请选择跟进的经销商", code="lead.dealer_required")
            cmd = cp.CaptureLead(campaign_id=campaign_id, name=values["name"], phone=values["phone"],
                                 dealer_id=int(dealer), interest=values["interest"] or None,
                                 product_line=values["product_line"] or None)
            await sync_to_thread(marketing.capture_lead, request.user, cmd)
            return Redirect(path=f"/marketing/campaigns/{campaign_id}?saved=1", status_code=303)
        except InvalidValue as exc:
            errors, status_code = {exc.field if exc.field in LEAD_FIELDS else "lead": exc.message}, 422
        except NotFound as exc:
            if exc.code != "dealer.not_found":
                raise
            errors, status_code = {"dealer_id": "请选择跟进的经销商"}, 422
        except DomainError as exc:  # a closed or cancelled campaign takes no leads, a phone already recorded
            errors, status_code = {"lead": exc.message}, 409
        return await sync_to_thread(lambda: self._campaign_page(request, marketing, channel, campaign_id,
                                                                errors=errors, values=values, status_code=status_code))
