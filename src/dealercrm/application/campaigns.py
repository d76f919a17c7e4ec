"""Campaign use cases (seed 000 §5): marketing plans a campaign with a budget, starts and closes
it; leads are captured — by marketing for any dealer, by a dealer for itself, by sales staff for
the dealers of their regions —, followed up, converted into one of the dealer's orders or lost.
Dealers only ever see their own leads; foreign ids are 404."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs

from dealercrm.application.access import dealer_scope, not_found, require_role
from dealercrm.application.form_once import once_per_form
from dealercrm.application.ports.marketing import CampaignQueries, CampaignUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.ports.workbench import WorkbenchItem, WorkbenchSection
from dealercrm.domain.campaigns import MAX_BUDGET_FEN, Campaign, FollowUpDetails, FollowUpOutcome, Lead
from dealercrm.domain.errors import BusinessRuleViolation, IllegalTransition, InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import SHANGHAI, beijing_date, stored_id

PLANNERS = (Role.MARKETING, Role.ADMIN)
LEAD_WRITERS = (Role.MARKETING, Role.ADMIN, Role.SALES, Role.REGION_MANAGER, Role.DEALER)
REPORT_READERS = (Role.MARKETING, Role.ADMIN, Role.SALES, Role.REGION_MANAGER)
NOT_REVENUE_STATES = ("draft", "awaiting_quote", "quoted", "cancelled")


@attrs.frozen
class PlanCampaign:
    name: str
    target_segment: str
    budget_fen: int
    starts_on: dt.date
    ends_on: dt.date
    product_lines: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    channel: str | None = None
    description: str | None = None
    activate: bool = False


@attrs.frozen
class CaptureLead:
    campaign_id: int
    name: str
    phone: str
    dealer_id: int | None = None
    interest: str | None = None
    product_line: str | None = None


@attrs.frozen
class CampaignRef:
    id: int
    campaign_no: str
    status: str


def plan_campaign(cmd: PlanCampaign, uow: CampaignUnitOfWork, clock: Clock) -> CampaignRef:
    require_role(uow.actor, *PLANNERS)
    with uow:
        ref = _plan(uow, cmd, clock())
        uow.commit()
    return ref


def plan_campaign_once(cmd: PlanCampaign, new_uow: Callable[[], CampaignUnitOfWork], clock: Clock, *,
                       form_token: str) -> CampaignRef:
    """``plan_campaign`` once per form token of this user: a double-submitted form plans one
    campaign and the second post gets its reference (the client-event ledger)."""
    answer = once_per_form(new_uow, clock, roles=PLANNERS, form_token=form_token, kind="campaign.plan",
                           request=(cmd,), work=lambda uow: attrs.asdict(_plan(uow, cmd, clock())))
    return CampaignRef(**answer)


def _plan(uow: CampaignUnitOfWork, cmd: PlanCampaign, now: dt.datetime) -> CampaignRef:
    """Plan (and maybe start) the campaign inside the caller's unit of work, flushed, not committed."""
    campaign = Campaign.plan(
        campaign_no=uow.numbers.formatted("MC", year=now.astimezone(SHANGHAI).year), name=cmd.name,
        target_segment=cmd.target_segment, budget_fen=cmd.budget_fen, starts_on=cmd.starts_on,
        ends_on=cmd.ends_on, product_lines=list(cmd.product_lines), regions=list(cmd.regions),
        channel=cmd.channel, description=cmd.description, by_name=uow.actor.username, now=now,
        known_regions=uow.regions.active_names())
    _within_year_budget(uow, campaign.starts_on.year, campaign.budget_fen, None)
    if cmd.activate:
        campaign.activate(now)
    uow.campaigns.add(campaign)
    uow.flush()
    return CampaignRef(stored_id(campaign.id), campaign.campaign_no, campaign.status.value)


def _within_year_budget(uow: CampaignUnitOfWork, year: int, budget_fen: int, campaign_id: int | None) -> None:
    """A campaign's budget fits in what is left of its year's marketing budget, when one is set."""
    total = uow.campaigns.year_budget(year)
    if total is None:
        return
    planned = uow.campaigns.planned_fen(year, excluding=campaign_id)
    if planned + budget_fen > total:
        raise BusinessRuleViolation(
            f"超出{year}年市场营销预算：预算{total / 100:.2f}元，已计划{planned / 100:.2f}元",
            code="campaign.over_year_budget", year=year, budget_fen=total, planned_fen=planned,
            remaining_fen=total - planned)


def set_year_budget(year: int, budget_fen: int, note: str | None, uow: CampaignUnitOfWork, clock: Clock) -> None:
    """The year's marketing budget (市场营销预算); not below what the year's campaigns already plan."""
    require_role(uow.actor, *PLANNERS)
    if isinstance(year, bool) or not 2000 <= year <= 2100:
        raise InvalidValue("year", "年份须在2000到2100之间", code="marketing_plan.year_invalid")
    if isinstance(budget_fen, bool) or not 0 <= budget_fen <= MAX_BUDGET_FEN:
        raise InvalidValue("budget_fen", "预算须为非负整数（分）", code="marketing_plan.budget_invalid")
    with uow:
        uow.campaigns.year_budget(year)  # lock the year's row first
        planned = uow.campaigns.planned_fen(year)
        if budget_fen < planned:
            raise BusinessRuleViolation(f"预算低于{year}年已计划的活动预算{planned / 100:.2f}元",
                                        code="marketing_plan.below_planned", planned_fen=planned)
        uow.campaigns.set_year_budget(year, budget_fen, (note or "").strip()[:500] or None, clock(),
                                      uow.actor.username)
        uow.commit()


def change_campaign(campaign_id: int, action: str, uow: CampaignUnitOfWork, clock: Clock, *, actual_cost_fen: int | None = None,
                    budget_fen: int | None = None) -> str:
    require_role(uow.actor, *PLANNERS)
    with uow:
        campaign = uow.campaigns.get(campaign_id)
        if campaign is None:
            raise not_found("campaign", "营销活动")
        now = clock()
        if action == "activate":
            campaign.activate(now)
        elif action == "close":
            campaign.close(actual_cost_fen, now)
        elif action == "cancel":
            campaign.cancel(now)
        elif action == "budget":
            if budget_fen is None:
                raise InvalidValue("budget_fen", "预算须为非负整数（分）", code="campaign.budget_invalid")
            _within_year_budget(uow, campaign.starts_on.year, budget_fen, campaign_id)
            campaign.set_budget(budget_fen, now)
        else:
            raise InvalidValue("action", "未知操作", code="campaign.action_unknown")
        status = campaign.status.value
        uow.commit()
    return status


def capture_lead(cmd: CaptureLead, uow: CampaignUnitOfWork, clock: Clock) -> int:
    actor = uow.actor
    require_role(actor, *LEAD_WRITERS)
    if actor.role is Role.DEALER:
        if actor.dealer_id is None or cmd.dealer_id not in (None, actor.dealer_id):
            raise not_found("dealer", "经销商")
        dealer_id = actor.dealer_id
    elif cmd.dealer_id is None:
        raise InvalidValue("dealer_id", "请指定跟进的经销商", code="lead.dealer_required")
    else:
        dealer_id = cmd.dealer_id
    now = clock()
    with uow:
        campaign = uow.campaigns.get(cmd.campaign_id)
        if campaign is None:
            raise not_found("campaign", "营销活动")
        dealer = uow.dealers.get(dealer_id)
        if dealer is None or not dealer_scope(actor).admits(dealer.id, dealer.region):
            raise not_found("dealer", "经销商")
        if campaign.regions and dealer.region not in campaign.regions:
            if actor.role is Role.DEALER:  # a campaign for other regions does not exist for this dealer
                raise not_found("campaign", "营销活动")
            raise InvalidValue("dealer_id", "该经销商不在活动的目标大区内", code="lead.dealer_outside_campaign")
        lead = Lead.capture(campaign=campaign, dealer_id=dealer_id, name=cmd.name, phone=cmd.phone,
                            interest=cmd.interest, product_line=cmd.product_line, by_name=actor.username, now=now,
                            today=now.astimezone(SHANGHAI).date())
        uow.campaigns.add(lead)
        uow.flush()
        lead_id = stored_id(lead.id)
        uow.commit()
    return lead_id


def _lead(uow: CampaignUnitOfWork, lead_id: int) -> Lead:
    lead = uow.campaigns.lead(lead_id)
    if lead is None:
        raise not_found("lead", "线索")
    dealer = uow.dealers.get(lead.dealer_id)
    if dealer is None or not dealer_scope(uow.actor).admits(dealer.id, dealer.region):
        raise not_found("lead", "线索")
    return lead


ACTIONS = {"contacted": FollowUpOutcome.CONTACTED, "convert": FollowUpOutcome.CONVERTED, "lost": FollowUpOutcome.LOST}


@attrs.frozen
class FollowUp:
    """A follow-up of a lead: ``action`` ``contacted`` / ``convert`` (naming one of the lead's
    dealer's orders) / ``lost`` (a reason), with the logged channel, note and next contact day.
    ``expected_status``: the lead's state the form was shown in (a stale form is refused)."""

    action: str
    order_id: int | None = None
    reason: str | None = None
    channel: str | None = None
    note: str | None = None
    next_contact_on: dt.date | None = None
    expected_status: str | None = None


def follow_up(lead_id: int, cmd: FollowUp, uow: CampaignUnitOfWork, clock: Clock) -> str:
    """Apply ``cmd`` to the lead and log it (one ``lead_follow_ups`` row) in one transaction;
    returns the lead's new state."""
    require_role(uow.actor, *LEAD_WRITERS)
    with uow:
        status = _follow_up(uow, lead_id, cmd, clock())
        uow.commit()
    return status


def follow_up_once(lead_id: int, cmd: FollowUp, new_uow: Callable[[], CampaignUnitOfWork], clock: Clock, *,
                   form_token: str) -> str:
    """``follow_up`` once per form token of this user: a double-submitted form logs one follow-up
    and the repeat gets the first answer (the client-event ledger)."""
    answer = once_per_form(new_uow, clock, roles=LEAD_WRITERS, form_token=form_token, kind="lead.follow_up",
                           request=(lead_id, cmd),
                           work=lambda uow: {"status": _follow_up(uow, lead_id, cmd, clock())})
    return str(answer["status"])


def _follow_up(uow: CampaignUnitOfWork, lead_id: int, cmd: FollowUp, now: dt.datetime) -> str:
    """The follow-up inside the caller's unit of work, flushed, not committed."""
    outcome = ACTIONS.get(cmd.action)
    if outcome is None:
        raise InvalidValue("action", "未知操作", code="lead.action_unknown")
    lead = _lead(uow, lead_id)
    if cmd.expected_status is not None and cmd.expected_status != lead.status.value:
        raise IllegalTransition("lead", lead.status.value, cmd.action)
    details = FollowUpDetails.parse(outcome, channel=cmd.channel, note=cmd.note, next_contact_on=cmd.next_contact_on,
                                    today=beijing_date(now))
    if outcome is FollowUpOutcome.CONVERTED:
        if cmd.order_id is None:
            raise InvalidValue("order_id", "请指定成交订单", code="lead.order_required")
        order = uow.campaigns.order_brief(cmd.order_id)
        if order is None or order["dealer_id"] != lead.dealer_id:
            raise InvalidValue("order_id", "订单不存在或不属于该经销商", code="order.not_found")
        if order["state"] in NOT_REVENUE_STATES:
            raise BusinessRuleViolation("订单尚未提交或已取消，不能作为成交", code="lead.order_not_submitted",
                                        order_state=order["state"])
    entry = lead.follow_up(outcome, details, by_user_id=uow.actor.user_id, by_name=uow.actor.username, now=now,
                           order_id=cmd.order_id, reason=cmd.reason)
    uow.campaigns.add(entry)
    uow.flush()
    return lead.status.value


def campaign_report(campaign: dict[str, Any], per_dealer: list[dict[str, Any]], *, full_scope: bool) -> dict[str, Any]:
    """Leads, conversions, revenue, cost per lead / conversion and ROI. Costs are campaign-wide:
    shown only to callers who see all of its leads (marketing, administrators)."""
    from dealercrm.domain.campaigns import campaign_figures

    totals = {k: sum(r[k] for r in per_dealer) for k in ("leads", "contacted", "converted", "lost", "revenue_fen")}
    cost = campaign["actual_cost_fen"] if campaign["actual_cost_fen"] is not None else campaign["budget_fen"]
    figures = campaign_figures(leads=totals["leads"], contacted=totals["contacted"], converted=totals["converted"],
                               lost=totals["lost"], revenue_fen=totals["revenue_fen"], cost_fen=cost)
    out = attrs.asdict(figures)
    out["new"] = sum(r["new"] for r in per_dealer)
    if not full_scope:
        for k in ("cost_fen", "cost_per_lead_fen", "cost_per_conversion_fen", "roi_pct"):
            out[k] = None
    return {"campaign": campaign, "totals": out, "per_dealer": [
        {**r, "conversion_rate_pct": round(100 * r["converted"] / r["leads"], 1) if r["leads"] else None}
        for r in per_dealer]}


class DueLeadsSource:
    """Workbench ``tasks``: the caller's leads whose next contact day has come (待联系) — a dealer's
    own, a sales rep's or region manager's within their regions — most overdue first, from one
    statement."""

    category = "tasks"
    ROLES = (Role.DEALER, Role.SALES, Role.REGION_MANAGER)

    def __init__(self, queries: CampaignQueries) -> None:
        self.queries = queries

    def collect(self, principal: Principal, now: dt.datetime, limit: int) -> WorkbenchSection:
        if principal.role not in self.ROLES:
            return WorkbenchSection(count=0)
        count, rows = self.queries.due_leads(principal, beijing_date(now), limit)
        dealer = principal.role is Role.DEALER
        return WorkbenchSection(count=count, unread=count, items=tuple(
            WorkbenchItem(id=f"lead-{r['id']}", title=f"待联系线索：{r['name']}",
                          summary=f"{r['campaign_name']}｜{r['phone']}" + ("" if dealer else f"｜{r['dealer_name']}"),
                          at=r["updated_at"], due=r["next_contact_on"], state=str(r["status"]), subject_type="lead",
                          subject_id=str(r["id"]), unread=True, extra={"lead_id": r["id"], "dealer_view": dealer})
            for r in rows))
