"""Campaign and lead rules, and the report arithmetic in integer fen."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from types import SimpleNamespace

from dealercrm.application import campaigns as cp
from dealercrm.domain.campaigns import (
    Campaign,
    CampaignStatus,
    FollowUpChannel,
    FollowUpDetails,
    FollowUpOutcome,
    Lead,
    LeadFollowUp,
    LeadStatus,
    campaign_figures,
    contact_due,
)
from dealercrm.domain.errors import IllegalTransition, InvalidValue
from dealercrm.domain.identity import Principal, Role

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


# -- follow-ups ----------------------------------------------------------------------------------

LATE = dt.datetime(2026, 3, 9, 17, 0, tzinfo=dt.UTC)  # 01:00 on 10 March in Beijing
CONTACTED = FollowUpOutcome.CONTACTED


def open_lead() -> Lead:
    c = campaign()
    c.activate(NOW)
    lead = Lead.capture(campaign=c, dealer_id=1, name="甲", phone="13700000001", interest=None, product_line=None,
                        by_name="x", now=NOW, today=dt.date(2026, 3, 2))
    lead.id = 7
    return lead


def test_a_contact_needs_a_channel_and_a_bounded_note():
    def parse(**kw):
        args = {"channel": "phone", "note": "电话沟通", "next_contact_on": None, "today": dt.date(2026, 3, 10), **kw}
        return FollowUpDetails.parse(CONTACTED, **args)

    errors = {}
    for name, kw in {"no_channel": {"channel": None}, "unknown_channel": {"channel": "pigeon"},
                     "blank_note": {"note": "  "}, "long_note": {"note": "长" * 1001}}.items():
        with pytest.raises(InvalidValue) as err:
            parse(**kw)
        errors[name] = (err.value.field, err.value.code)

    assert errors == {"no_channel": ("channel", "lead.channel_required"),
                      "unknown_channel": ("channel", "lead.channel_unknown"),
                      "blank_note": ("note", "lead.note_required"), "long_note": ("note", "lead.note_too_long")}
    assert parse(note="  " + "长" * 1000 + "  ").note == "长" * 1000
    assert parse(channel="wechat") == FollowUpDetails(FollowUpChannel.WECHAT, "电话沟通", None)
    assert FollowUpDetails.parse(FollowUpOutcome.LOST, channel=None, note=None, next_contact_on=None,
                                 today=dt.date(2026, 3, 10)) == FollowUpDetails(None, None, None)


def test_the_next_contact_day_is_today_or_later_in_beijing_and_only_after_a_contact():
    today = dt.date(2026, 3, 10)

    def next_on(day, outcome=CONTACTED):
        return FollowUpDetails.parse(outcome, channel="phone", note="n", next_contact_on=day, today=today)

    assert next_on(today).next_contact_on == today
    assert next_on(dt.date(2027, 3, 10)).next_contact_on == dt.date(2027, 3, 10)
    for day, outcome, code in ((dt.date(2026, 3, 9), CONTACTED, "lead.next_contact_past"),
                               (dt.date(2027, 3, 12), CONTACTED, "lead.next_contact_too_far"),
                               (today, FollowUpOutcome.LOST, "lead.next_contact_closed")):
        with pytest.raises(InvalidValue) as err:
            next_on(day, outcome)
        assert (err.value.field, err.value.code) == ("next_contact_on", code)
    assert contact_due(today, today) and contact_due(dt.date(2026, 3, 1), today)
    assert not contact_due(dt.date(2026, 3, 11), today) and not contact_due(None, today)


def test_each_contact_is_logged_and_closing_the_lead_clears_its_next_contact():
    lead = open_lead()
    call = FollowUpDetails(FollowUpChannel.PHONE, "电话沟通", dt.date(2026, 3, 12))

    first = lead.follow_up(CONTACTED, call, by_user_id=3, by_name="hongda", now=NOW)
    second = lead.follow_up(CONTACTED, FollowUpDetails(FollowUpChannel.VISIT, "上门", dt.date(2026, 3, 20)),
                            by_user_id=3, by_name="hongda", now=NOW)
    assert (lead.status, lead.next_contact_on) == (LeadStatus.CONTACTED, dt.date(2026, 3, 20))
    won = lead.follow_up(FollowUpOutcome.CONVERTED, FollowUpDetails(None, None, None), by_user_id=None,
                         by_name="mkt", now=NOW, order_id=42)

    assert (first.lead_id, first.outcome, first.channel, first.next_contact_on) == (
        7, CONTACTED, FollowUpChannel.PHONE, dt.date(2026, 3, 12))
    assert second.note == "上门"
    assert (lead.status, lead.order_id, lead.next_contact_on) == (LeadStatus.CONVERTED, 42, None)
    assert (won.outcome, won.by_name, won.by_user_id) == (FollowUpOutcome.CONVERTED, "mkt", None)
    with pytest.raises(IllegalTransition):
        lead.follow_up(CONTACTED, call, by_user_id=3, by_name="hongda", now=NOW)


class _FakeUow:
    """Just what the follow-up use case touches: one lead, its dealer, the added rows, commit."""

    def __init__(self, lead: Lead) -> None:
        self.actor = Principal(9, "mkt", Role.MARKETING)
        self.added: list[object] = []
        self.committed: list[object] = []
        self.campaigns = SimpleNamespace(lead=lambda i: lead if i == lead.id else None, add=self.added.append,
                                         order_brief=lambda i: None)
        self.dealers = SimpleNamespace(get=lambda i: SimpleNamespace(id=i, region="华中"))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:  # rolled back
            self.added.clear()

    def flush(self) -> None:
        pass

    def commit(self) -> None:
        self.committed = list(self.added)


def test_the_use_case_measures_the_next_contact_against_the_clocks_beijing_day():
    lead = open_lead()
    uow = _FakeUow(lead)
    call = cp.FollowUp("contacted", channel="phone", note="电话沟通")

    with pytest.raises(InvalidValue) as err:  # the 9th is today in UTC, already yesterday in Beijing
        cp.follow_up(7, attrs.evolve(call, next_contact_on=dt.date(2026, 3, 9)), uow, lambda: LATE)
    refused = list(uow.committed)
    status = cp.follow_up(7, attrs.evolve(call, next_contact_on=dt.date(2026, 3, 10)), uow, lambda: LATE)
    with pytest.raises(IllegalTransition):  # a form shown while the lead was new
        cp.follow_up(7, attrs.evolve(call, expected_status="new"), uow, lambda: LATE)

    assert err.value.code == "lead.next_contact_past" and refused == []
    assert status == "contacted" and lead.next_contact_on == dt.date(2026, 3, 10)
    [row] = uow.committed
    assert isinstance(row, LeadFollowUp) and (row.at, row.by_user_id, row.by_name) == (LATE, 9, "mkt")
