"""市场 · 营销预算与目标名单: the year's marketing budget (市场营销预算) the campaigns are planned within,
with each campaign's budget, cost, leads, revenue and ROI (the same plan as
``/api/v1/campaigns/plans/{year}``), and a campaign's target list (目标名单: the approved dealers of its
regions and product lines, optionally of some value classes) whose invitations go out through the
outbox, once per campaign and dealer however often the button is pressed. Marketing and admin, as
the API."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import Parameter
from litestar.response import Redirect, Stream, Template

from dealercrm.application import campaigns as cp
from dealercrm.application.exports import Column, ColumnKind, Exporter, Table
from dealercrm.application.services.marketing import MarketingService
from dealercrm.domain.campaigns import CampaignStatus
from dealercrm.domain.channel import ProductLine
from dealercrm.domain.dealer_value import CLASS_LABELS
from dealercrm.domain.errors import BusinessRuleViolation, IllegalTransition, InvalidValue
from dealercrm.domain.identity import Principal
from dealercrm.domain.values import beijing_date
from dealercrm.entrypoints.http.downloads import download
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.layout import page
from dealercrm.entrypoints.web.pages.dealer_stock import yuan_to_fen

PLANNERS = cp.PLANNERS
CLASSES = tuple(CLASS_LABELS)
STALE = "已被他人修改，以下是活动的当前状态"
_T, _M, _I = ColumnKind.TEXT, ColumnKind.MONEY, ColumnKind.INTEGER
PLAN_TABLE = Table("营销计划", (
    Column("campaign_no", "活动编号", _T, 16), Column("name", "活动", _T, 28), Column("status_label", "状态", _T, 8),
    Column("budget_fen", "预算", _M, 16), Column("actual_cost_fen", "实际投入", _M, 16), Column("leads", "线索", _I, 8),
    Column("converted", "成交", _I, 8), Column("revenue_fen", "成交金额", _M, 16), Column("roi_text", "投资回报率", _T, 12),
))
TARGET_TABLE = Table("目标名单", (
    Column("dealer_name", "经销商", _T, 28), Column("region", "大区", _T, 8), Column("lines_label", "产品线", _T, 24),
    Column("class_label", "价值分类", _T, 20), Column("contact_name", "联系人", _T, 12), Column("email", "电子邮箱", _T, 26),
    Column("phone", "电话", _T, 16),
))


def _plan_rows(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**c, "status_label": CampaignStatus(str(c["status"])).label,
             "roi_text": "—" if c["roi_pct"] is None else f"{c['roi_pct']}%"} for c in plan["campaigns"]]


def _target_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lines = {p.value: p.label for p in ProductLine}
    return [{**t, "lines_label": "、".join(lines.get(p, p) for p in t["product_lines"]),
             "class_label": CLASS_LABELS.get(str(t["value_class"]), "未评估") if t["value_class"] else "未评估"}
            for t in rows]


def _classes(raw: list[str] | None) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(c for c in (raw or ()) if c))[:4]
    bad = [c for c in chosen if c not in CLASSES]
    if bad:
        raise InvalidValue("value_class", "请选择 A、B、C 或 D 类", code="campaign.value_class_invalid")
    return chosen


class MarketingPlanPages(Controller):
    path = "/marketing"
    guards = (requires(*PLANNERS),)

    # -- the year's budget and plan --------------------------------------------------------------

    def _plan(self, request: Request[Principal, Any, Any], marketing: MarketingService, year: int, *,
              values: dict[str, str] | None = None, errors: dict[str, str] | None = None, saved: bool = False,
              status_code: int = 200) -> Template:
        plan = marketing.marketing_plan(request.user, year)
        today = beijing_date(marketing.clock())
        if values is None:
            values = {"budget": "" if plan["budget_fen"] is None else f"{plan['budget_fen'] / 100:.2f}", "note": ""}
        return page(request, "marketing_plan.html", title=f"{year}年营销预算", section="marketing_plans",
                    crumbs=(("营销预算", "/marketing/plans"), (f"{year}年", None)), plan=plan, rows=_plan_rows(plan),
                    year=year, years=sorted({*range(today.year - 2, today.year + 3), year}), values=values, errors=errors or {},
                    saved=saved, export_href="/marketing/plans/export", export_query=urlencode({"year": year}),
                    status_code=status_code)

    @get("/plans", sync_to_thread=True)
    def plans(self, request: Request[Principal, Any, Any], marketing: MarketingService,
              year: Annotated[int | None, Parameter(ge=2000, le=2100)] = None, saved: bool = False) -> Template:
        return self._plan(request, marketing, year or beijing_date(marketing.clock()).year, saved=saved)

    @get("/plans/export", sync_to_thread=True)
    def plans_export(self, request: Request[Principal, Any, Any], marketing: MarketingService, exports: Exporter,
                     year: Annotated[int, Parameter(ge=2000, le=2100)],
                     file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx") -> Stream:
        exports.check_format(file_format)
        rows = _plan_rows(marketing.marketing_plan(request.user, year))
        return download(exports.download(file_format, f"marketing-plan-{year}", PLAN_TABLE, iter(rows)))

    @post("/plans/{year:int}", status_code=303)
    async def set_budget(self, year: int, request: Request[Principal, Any, Any], marketing: MarketingService) -> Any:
        form = await request.form()
        values = {"budget": str(form.get("budget") or "").strip()[:20], "note": str(form.get("note") or "").strip()[:500]}
        shown = year if 2000 <= year <= 2100 else beijing_date(marketing.clock()).year
        try:
            if not 2000 <= year <= 2100:
                raise InvalidValue("year", "年份须在2000到2100之间", code="marketing_plan.year_invalid")
            budget = 0 if values["budget"] in ("0", "0.00") else yuan_to_fen(values["budget"], "budget")
            await sync_to_thread(marketing.set_marketing_budget, request.user, year, budget, values["note"] or None)
        except (InvalidValue, BusinessRuleViolation) as exc:
            field = "budget" if getattr(exc, "field", None) in ("budget", "budget_fen") or isinstance(
                exc, BusinessRuleViolation) else "form"
            errors, code = {field: exc.message}, 409 if isinstance(exc, BusinessRuleViolation) else 422
            return await sync_to_thread(lambda: self._plan(request, marketing, shown, values=values, errors=errors,
                                                           status_code=code))
        return Redirect(path=f"/marketing/plans?year={year}&saved=1", status_code=303)

    # -- a campaign's target list and its invitations --------------------------------------------

    def _targets(self, request: Request[Principal, Any, Any], marketing: MarketingService, campaign_id: int,
                 classes: tuple[str, ...], *, errors: dict[str, str] | None = None, notice: str | None = None,
                 invited: dict[str, int] | None = None, status_code: int = 200) -> Template:
        campaign = marketing.campaign(request.user, campaign_id)
        rows = [] if errors else _target_rows(marketing.campaign_targets(request.user, campaign_id,
                                                                         value_classes=classes))
        status = CampaignStatus(str(getattr(campaign["status"], "value", campaign["status"])))
        query = urlencode([("value_class", c) for c in classes])
        return page(request, "marketing_targets.html", title=f"目标名单：{campaign['name']}",
                    section="marketing_campaigns",
                    crumbs=(("营销活动", "/marketing/campaigns"),
                            (str(campaign["campaign_no"]), f"/marketing/campaigns/{campaign_id}"), ("目标名单", None)),
                    campaign=campaign, status=status, rows=rows, classes=classes, class_labels=CLASS_LABELS,
                    reachable=sum(1 for r in rows if r["email"]), errors=errors or {}, notice=notice,
                    invited=invited, may_invite=status in (CampaignStatus.PLANNED, CampaignStatus.ACTIVE),
                    export_href=f"/marketing/campaigns/{campaign_id}/targets/export", export_query=query,
                    status_code=status_code)

    @get("/campaigns/{campaign_id:int}/targets", sync_to_thread=True)
    def targets(self, campaign_id: int, request: Request[Principal, Any, Any], marketing: MarketingService,
                value_class: Annotated[list[str] | None, Parameter(max_items=4)] = None,
                invited: Annotated[int | None, Parameter(ge=0, le=100_000)] = None,
                without_email: Annotated[int | None, Parameter(ge=0, le=100_000)] = None) -> Template:
        try:
            classes = _classes(value_class)
        except InvalidValue as exc:
            return self._targets(request, marketing, campaign_id, (), errors={"value_class": exc.message},
                                 status_code=422)
        done = None if invited is None else {"invited": invited, "without_email": without_email or 0}
        return self._targets(request, marketing, campaign_id, classes, invited=done)

    @get("/campaigns/{campaign_id:int}/targets/export", sync_to_thread=True)
    def targets_export(self, campaign_id: int, request: Request[Principal, Any, Any], marketing: MarketingService,
                       exports: Exporter, value_class: Annotated[list[str] | None, Parameter(max_items=4)] = None,
                       file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx") -> Stream:
        exports.check_format(file_format)
        rows = _target_rows(marketing.campaign_targets(request.user, campaign_id,
                                                       value_classes=_classes(value_class)))
        return download(exports.download(file_format, f"campaign-{campaign_id}-targets", TARGET_TABLE, iter(rows)))

    @post("/campaigns/{campaign_id:int}/invitations", status_code=303)
    async def invite(self, campaign_id: int, request: Request[Principal, Any, Any], marketing: MarketingService) -> Any:
        form = await request.form()
        raw = [str(v)[:2] for v in form.getall("value_class", [])][:4]
        try:
            classes = _classes(raw)
            out = await sync_to_thread(lambda: marketing.invite_targets(request.user, campaign_id,
                                                                        value_classes=classes))
        except InvalidValue as exc:
            errors = {"value_class": exc.message}
            return await sync_to_thread(lambda: self._targets(request, marketing, campaign_id, (), errors=errors,
                                                              status_code=422))
        except IllegalTransition:  # closed or cancelled meanwhile
            return await sync_to_thread(lambda: self._targets(request, marketing, campaign_id, classes, notice=STALE,
                                                              status_code=409))
        query = urlencode([*(("value_class", c) for c in classes), ("invited", out["invited"]),
                           ("without_email", out["without_email"])])
        return Redirect(path=f"/marketing/campaigns/{campaign_id}/targets?{query}", status_code=303)
