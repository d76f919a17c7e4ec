"""Marketing campaigns (seed 000 §5 营销推广): a campaign for a target segment with a budget and a
period; the leads (潜在客户) it generates, each handed to a dealer; leads converted into orders.
"Sales can track a campaign by the number of leads it generated and the revenue it won; marketing
decides from these whether it succeeded" — the campaign report: leads, conversions, revenue
(the linked orders' totals), cost per lead and per conversion, ROI.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from typing import Literal, overload

import attrs

from dealercrm.domain.errors import IllegalTransition, InvalidValue, InvariantBroken
from dealercrm.domain.regions import require_known_regions
from dealercrm.domain.values import Phone

PRODUCT_LINES = ("tanker", "dump_truck", "semi_trailer")
MAX_FOLLOW_UP_NOTE = 1000
MAX_NEXT_CONTACT_DAYS = 366
MAX_BUDGET_FEN = 10**12


class CampaignStatus(enum.StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {"planned": "计划中", "active": "进行中", "closed": "已结束", "cancelled": "已取消"}[self.value]


class LeadStatus(enum.StrEnum):
    NEW = "new"
    CONTACTED = "contacted"
    CONVERTED = "converted"
    LOST = "lost"

    @property
    def label(self) -> str:
        return {"new": "新线索", "contacted": "已跟进", "converted": "已成交", "lost": "已流失"}[self.value]


class FollowUpChannel(enum.StrEnum):
    """How a lead was reached (跟进方式)."""

    PHONE = "phone"
    VISIT = "visit"
    WECHAT = "wechat"
    EXHIBITION = "exhibition"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {"phone": "电话", "visit": "上门", "wechat": "微信", "exhibition": "展会", "other": "其他"}[self.value]


class FollowUpOutcome(enum.StrEnum):
    """What a follow-up did to the lead: another contact logged, converted into an order, lost."""

    CONTACTED = "contacted"
    CONVERTED = "converted"
    LOST = "lost"

    @property
    def label(self) -> str:
        return {"contacted": "联系客户", "converted": "成交", "lost": "流失"}[self.value]


@overload
def _text(field: str, value: str | None, max_len: int, *, required: Literal[True], label: str, code: str) -> str: ...


@overload
def _text(field: str, value: str | None, max_len: int, *, required: bool, label: str, code: str) -> str | None: ...


def _text(field: str, value: str | None, max_len: int, *, required: bool, label: str, code: str) -> str | None:
    if value is None or not value.strip():
        if required:
            raise InvalidValue(field, f"{label}不能为空", code=f"{code}.{field}_required")
        return None
    if len(value.strip()) > max_len:
        raise InvalidValue(field, f"{label}不能超过{max_len}字", code=f"{code}.{field}_too_long")
    return value.strip()


def _budget(value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_BUDGET_FEN:
        raise InvalidValue("budget_fen", "预算须为非负整数（分）", code="campaign.budget_invalid")
    return value


@attrs.define(slots=False, eq=False)
class Campaign:
    campaign_no: str
    name: str
    target_segment: str
    budget_fen: int
    starts_on: dt.date
    ends_on: dt.date
    created_at: dt.datetime
    created_by_name: str
    product_lines: list[str] = attrs.field(factory=list)
    regions: list[str] = attrs.field(factory=list)
    channel: str | None = None  # 展会 / 线上推广 / 客户推介会 …
    description: str | None = None
    actual_cost_fen: int | None = None
    status: CampaignStatus = CampaignStatus.PLANNED
    updated_at: dt.datetime | None = None
    version: int = 1
    id: int | None = None

    @classmethod
    def plan(cls, *, campaign_no: str, name: str, target_segment: str, budget_fen: int, starts_on: dt.date,
             ends_on: dt.date, product_lines: list[str], regions: list[str], channel: str | None,
             description: str | None, by_name: str, now: dt.datetime, known_regions: Sequence[str]) -> Campaign:
        """A planned campaign; its target ``regions`` must be among ``known_regions`` (the active
        regions, ``domain.regions``)."""
        if ends_on < starts_on:
            raise InvalidValue("ends_on", "结束日期不能早于开始日期", code="campaign.period_inverted")
        if (ends_on - starts_on).days > 366:
            raise InvalidValue("ends_on", "活动周期不能超过一年", code="campaign.period_too_long")
        for pl in product_lines:
            if pl not in PRODUCT_LINES:
                raise InvalidValue("product_lines", "产品线未知", code="product_line.unknown")
        require_known_regions(regions, known_regions)
        return cls(
            campaign_no=campaign_no,
            name=_text("name", name, 200, required=True, label="活动名称", code="campaign"),
            target_segment=_text("target_segment", target_segment, 500, required=True, label="目标客户群",
                                 code="campaign"),
            budget_fen=_budget(budget_fen), starts_on=starts_on, ends_on=ends_on, created_at=now,
            created_by_name=by_name, product_lines=sorted(set(product_lines)), regions=sorted(set(regions)),
            channel=_text("channel", channel, 60, required=False, label="推广渠道", code="campaign"),
            description=_text("description", description, 5000, required=False, label="说明", code="campaign"),
        )

    def activate(self, now: dt.datetime) -> None:
        if self.status is not CampaignStatus.PLANNED:
            raise IllegalTransition("campaign", self.status.value, "activate")
        self.status, self.updated_at = CampaignStatus.ACTIVE, now

    def close(self, actual_cost_fen: int | None, now: dt.datetime) -> None:
        if self.status is not CampaignStatus.ACTIVE:
            raise IllegalTransition("campaign", self.status.value, "close")
        if actual_cost_fen is not None:
            if not isinstance(actual_cost_fen, int) or not 0 <= actual_cost_fen <= MAX_BUDGET_FEN:
                raise InvalidValue("actual_cost_fen", "实际费用须为非负整数（分）", code="campaign.cost_invalid")
            self.actual_cost_fen = actual_cost_fen
        self.status, self.updated_at = CampaignStatus.CLOSED, now

    def cancel(self, now: dt.datetime) -> None:
        if self.status not in (CampaignStatus.PLANNED, CampaignStatus.ACTIVE):
            raise IllegalTransition("campaign", self.status.value, "cancel")
        self.status, self.updated_at = CampaignStatus.CANCELLED, now

    def set_budget(self, budget_fen: int, now: dt.datetime) -> None:
        if self.status in (CampaignStatus.CLOSED, CampaignStatus.CANCELLED):
            raise IllegalTransition("campaign", self.status.value, "set_budget")
        self.budget_fen, self.updated_at = _budget(budget_fen), now

    def accepts_leads(self, today: dt.date) -> bool:
        return self.status is CampaignStatus.ACTIVE and today <= self.ends_on + dt.timedelta(days=30)

    @property
    def cost_fen(self) -> int:
        """What the campaign cost: the actual cost once closed with one, else the budget."""
        return self.actual_cost_fen if self.actual_cost_fen is not None else self.budget_fen


@attrs.define(slots=False, eq=False)
class Lead:
    campaign_id: int
    dealer_id: int
    name: str
    phone: str
    created_at: dt.datetime
    created_by_name: str
    interest: str | None = None
    product_line: str | None = None
    status: LeadStatus = LeadStatus.NEW
    order_id: int | None = None
    converted_at: dt.datetime | None = None
    lost_reason: str | None = None
    next_contact_on: dt.date | None = None  # Beijing day the latest follow-up booked for the next contact
    updated_at: dt.datetime | None = None
    version: int = 1
    id: int | None = None

    @classmethod
    def capture(cls, *, campaign: Campaign, dealer_id: int, name: str, phone: str, interest: str | None,
                product_line: str | None, by_name: str, now: dt.datetime, today: dt.date) -> Lead:
        if not campaign.accepts_leads(today):
            raise IllegalTransition("campaign", campaign.status.value, "add_lead", "活动未进行或已结束，不能登记线索",
                                    code="campaign.not_accepting_leads")
        if product_line is not None and product_line not in PRODUCT_LINES:
            raise InvalidValue("product_line", "产品线未知", code="product_line.unknown")
        if campaign.id is None:
            raise InvariantBroken("campaign has no id: not flushed")
        return cls(campaign_id=campaign.id, dealer_id=dealer_id,
                   name=_text("name", name, 100, required=True, label="客户名称", code="lead"),
                   phone=Phone(phone).value, created_at=now, created_by_name=by_name,
                   interest=_text("interest", interest, 500, required=False, label="意向", code="lead"),
                   product_line=product_line)

    def contacted(self, now: dt.datetime) -> None:
        """A contact with the customer: a new lead becomes contacted; a contacted one stays so
        (each further contact is logged as its own follow-up)."""
        if self.status not in (LeadStatus.NEW, LeadStatus.CONTACTED):
            raise IllegalTransition("lead", self.status.value, "contact")
        self.status, self.updated_at = LeadStatus.CONTACTED, now

    def convert(self, order_id: int, now: dt.datetime) -> None:
        if self.status not in (LeadStatus.NEW, LeadStatus.CONTACTED):
            raise IllegalTransition("lead", self.status.value, "convert")
        self.status, self.order_id, self.converted_at, self.updated_at = LeadStatus.CONVERTED, order_id, now, now

    def lose(self, reason: str, now: dt.datetime) -> None:
        if self.status not in (LeadStatus.NEW, LeadStatus.CONTACTED):
            raise IllegalTransition("lead", self.status.value, "lose")
        self.lost_reason = _text("reason", reason, 500, required=True, label="流失原因", code="lead")
        self.status, self.updated_at = LeadStatus.LOST, now

    def follow_up(self, outcome: FollowUpOutcome, details: FollowUpDetails, *, by_user_id: int | None, by_name: str,
                  now: dt.datetime, order_id: int | None = None, reason: str | None = None) -> LeadFollowUp:
        """Apply one follow-up to the lead and return its log row (跟进记录): the transition of
        ``outcome`` (``order_id`` for converted, ``reason`` for lost), then the next contact day —
        the one ``details`` books after a contact, none once the lead is closed."""
        if self.id is None:
            raise InvariantBroken("lead has no id: not flushed")
        if outcome is FollowUpOutcome.CONTACTED:
            self.contacted(now)
        elif outcome is FollowUpOutcome.CONVERTED:
            if order_id is None:
                raise InvalidValue("order_id", "请指定成交订单", code="lead.order_required")
            self.convert(order_id, now)
        else:
            self.lose(reason or "", now)
        self.next_contact_on = details.next_contact_on
        return LeadFollowUp(lead_id=self.id, at=now, by_user_id=by_user_id, by_name=by_name, outcome=outcome,
                            channel=details.channel, note=details.note, next_contact_on=details.next_contact_on)


@attrs.frozen
class FollowUpDetails:
    """What the salesperson logs with a follow-up: how the customer was reached, what was said,
    and (after a contact) the Beijing day to contact them next. Built by :meth:`parse`."""

    channel: FollowUpChannel | None
    note: str | None
    next_contact_on: dt.date | None

    @classmethod
    def parse(cls, outcome: FollowUpOutcome, *, channel: str | None, note: str | None,
              next_contact_on: dt.date | None, today: dt.date) -> FollowUpDetails:
        """The follow-up rules, ``today`` being the clock's Beijing day: a contact names its channel
        and carries a note (at most ``MAX_FOLLOW_UP_NOTE`` characters); a next contact day is
        optional, not before today nor more than a year ahead, and only after a contact (a converted
        or lost lead is not called again)."""
        contacted = outcome is FollowUpOutcome.CONTACTED
        if channel is None or not channel.strip():
            if contacted:
                raise InvalidValue("channel", "请选择跟进方式", code="lead.channel_required")
            parsed = None
        elif channel.strip() in FollowUpChannel.__members__.values():
            parsed = FollowUpChannel(channel.strip())
        else:
            raise InvalidValue("channel", "跟进方式须为：" + "、".join(c.label for c in FollowUpChannel),
                               code="lead.channel_unknown")
        text = _text("note", note, MAX_FOLLOW_UP_NOTE, required=contacted, label="跟进内容", code="lead")
        if next_contact_on is not None:
            if not contacted:
                raise InvalidValue("next_contact_on", "成交或流失的线索无需预约下次联系",
                                   code="lead.next_contact_closed")
            if next_contact_on < today:
                raise InvalidValue("next_contact_on", "下次联系日期不能早于今天", code="lead.next_contact_past")
            if (next_contact_on - today).days > MAX_NEXT_CONTACT_DAYS:
                raise InvalidValue("next_contact_on", "下次联系日期不能超过一年", code="lead.next_contact_too_far")
        return cls(parsed, text, next_contact_on)


@attrs.define(slots=False, eq=False)
class LeadFollowUp:
    """One logged follow-up of a lead (跟进记录), written with the lead's change."""

    lead_id: int
    at: dt.datetime
    by_user_id: int | None
    by_name: str
    outcome: FollowUpOutcome
    channel: FollowUpChannel | None = None
    note: str | None = None
    next_contact_on: dt.date | None = None
    id: int | None = None


def contact_due(next_contact_on: dt.date | None, today: dt.date) -> bool:
    """Due for contact (待联系): the booked next contact day has come (Beijing days)."""
    return next_contact_on is not None and next_contact_on <= today


@attrs.frozen
class CampaignFigures:
    leads: int
    contacted: int
    converted: int
    lost: int
    conversion_rate_pct: float | None
    revenue_fen: int
    cost_fen: int
    cost_per_lead_fen: int | None
    cost_per_conversion_fen: int | None
    roi_pct: float | None  # (revenue − cost) / cost


def campaign_figures(*, leads: int, contacted: int, converted: int, lost: int, revenue_fen: int,
                     cost_fen: int) -> CampaignFigures:
    """Pure arithmetic on integer fen; per-unit costs rounded half up to the fen."""

    def per(n: int) -> int | None:
        return (cost_fen * 2 + n) // (2 * n) if n else None

    return CampaignFigures(
        leads=leads, contacted=contacted, converted=converted, lost=lost,
        conversion_rate_pct=round(100 * converted / leads, 1) if leads else None,
        revenue_fen=revenue_fen, cost_fen=cost_fen, cost_per_lead_fen=per(leads), cost_per_conversion_fen=per(converted),
        roi_pct=round(100 * (revenue_fen - cost_fen) / cost_fen, 1) if cost_fen else None,
    )
