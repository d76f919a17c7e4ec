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
        if self.status is not LeadStatus.NEW:
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
