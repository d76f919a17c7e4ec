"""Campaign and lead rules, and the report arithmetic in integer fen."""

from __future__ import annotations

import datetime as dt

import pytest

from dealercrm.domain.campaigns import Campaign, CampaignStatus, Lead, LeadStatus, campaign_figures
from dealercrm.domain.errors import IllegalTransition, InvalidValue

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def campaign(**kw) -> Campaign:
    args = dict(campaign_no="MC-2026-000001", name="春季推介会", target_segment="成品油运输企业", budget_fen=1_000_000,
                starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 3, 31), product_lines=["tanker"],
                regions=["华中"], channel=None, description=None, by_name="mkt", now=NOW,
                known_regions=("华北", "华中"))
    args.update(kw)
    c = Campaign.plan(**args)
    c.id = 1
    return c


def test_leads_only_while_the_campaign_runs_and_a_month_after():
    c = campaign()
    with pytest.raises(IllegalTransition):
        Lead.capture(campaign=c, dealer_id=1, name="甲", phone="13700000001", interest=None, product_line=None,
                     by_name="x", now=NOW, today=dt.date(2026, 3, 2))
    c.activate(NOW)

    lead = Lead.capture(campaign=c, dealer_id=1, name="甲", phone="137 0000 0001", interest=None, product_line=None,
                        by_name="x", now=NOW, today=dt.date(2026, 4, 30))
    assert lead.phone == "13700000001"
    with pytest.raises(IllegalTransition):
        Lead.capture(campaign=c, dealer_id=1, name="乙", phone="13700000002", interest=None, product_line=None,
                     by_name="x", now=NOW, today=dt.date(2026, 5, 1))


def test_a_lead_converts_once_and_a_lost_lead_needs_a_reason():
    c = campaign()
    c.activate(NOW)
    lead = Lead.capture(campaign=c, dealer_id=1, name="甲", phone="13700000001", interest=None, product_line=None,
                        by_name="x", now=NOW, today=dt.date(2026, 3, 2))
    lead.contacted(NOW)
    lead.convert(42, NOW)
    assert (lead.status, lead.order_id) == (LeadStatus.CONVERTED, 42)
    with pytest.raises(IllegalTransition):
        lead.lose("太贵", NOW)

    other = Lead.capture(campaign=c, dealer_id=1, name="乙", phone="13700000002", interest=None, product_line=None,
                         by_name="x", now=NOW, today=dt.date(2026, 3, 2))
    with pytest.raises(InvalidValue):
        other.lose(" ", NOW)


def test_plan_rules():
    with pytest.raises(InvalidValue):
        campaign(ends_on=dt.date(2026, 2, 1))
    with pytest.raises(InvalidValue):
        campaign(budget_fen=-1)
    with pytest.raises(InvalidValue):
        campaign(regions=["火星"])
    c = campaign()
    c.cancel(NOW)
    assert c.status is CampaignStatus.CANCELLED
    with pytest.raises(IllegalTransition):
        c.activate(NOW)


def test_figures_round_per_unit_costs_half_up_to_the_fen():
    f = campaign_figures(leads=3, contacted=1, converted=1, lost=1, revenue_fen=3_000_000, cost_fen=1_000_000)

    assert (f.cost_per_lead_fen, f.cost_per_conversion_fen) == (333_333, 1_000_000)
    assert (f.conversion_rate_pct, f.roi_pct) == (33.3, 200.0)
    assert campaign_figures(leads=2, contacted=0, converted=0, lost=0, revenue_fen=0, cost_fen=3).cost_per_lead_fen == 2
    empty = campaign_figures(leads=0, contacted=0, converted=0, lost=0, revenue_fen=0, cost_fen=0)
    assert (empty.cost_per_lead_fen, empty.conversion_rate_pct, empty.roi_pct) == (None, None, None)
