"""The marketing service's access checks, on fakes (no database): what does not exist for a
caller, which roles read effects, revisions, forecasts and campaign reports, and that the demo's
video switch reaches the scheduler's meeting job."""

from __future__ import annotations

import datetime as dt

import pytest

from dealercrm.application.ports.video import Meeting, MeetingParticipant
from dealercrm.application.services.marketing import MarketingService
from dealercrm.application.training import TrainingMeetingJob
from dealercrm.domain.errors import NotFound, PermissionDenied
from dealercrm.domain.identity import Principal, Role

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
MARKETING = Principal(user_id=1, username="sc", role=Role.MARKETING)
CENTRAL_SALES = Principal(user_id=2, username="hz", role=Role.SALES, regions=("华中",))
DISPATCH = Principal(user_id=3, username="dd", role=Role.DISPATCH)
STATION = Principal(user_id=4, username="wx", role=Role.STATION)
DEALER_5 = Principal(user_id=5, username="hd", role=Role.DEALER, dealer_id=5)
DEALER_9 = Principal(user_id=9, username="xy", role=Role.DEALER, dealer_id=9)


class FakeVideo:
    def __init__(self, name: str) -> None:
        self.name = name
        self.cancelled: set[str] = set()

    def create_meeting(self, request):
        return Meeting(meeting_id=request.idempotency_key, join_url=f"https://{self.name}/j/{request.idempotency_key}")

    def cancel_meeting(self, meeting_id):
        self.cancelled.add(meeting_id)

    def participants(self, meeting_id):
        return [MeetingParticipant(name=f"{self.name}:{meeting_id}", joined_at=NOW)]


class FakeTrainingQueries:
    """Training 1 is online and dealer 5 is invited; training 2 is on site, for organisers only."""

    rows = {1: {"id": 1, "title": "罐式车保养", "meeting_id": "m-1"}, 2: {"id": 2, "title": "展厅", "meeting_id": None}}

    def training_detail(self, p, training_id):
        if p.role is Role.DEALER and (p.dealer_id != 5 or training_id != 1):
            return None
        return self.rows.get(training_id)

    def training_effect(self, training_id):
        return {"training_id": training_id, "attendance_rate_pct": 80.0}


class FakeKnowledgeQueries:
    def article(self, p, article_id):
        return {"id": 1, "title": "保养手册"} if article_id == 1 else None

    def revisions(self, article_id):
        return [{"article_id": article_id, "version": 1}]


class FakeForecastQueries:
    def list_forecasts(self, p, **filters):
        return [{"dealer_id": 5, "month": dt.date(2026, 4, 1)}] if p.role is not Role.DEALER or p.dealer_id == 5 else []

    def comparison(self, p, month, *, region=None):
        return []


class FakeKeyAccountQueries:
    def account(self, p, account_id):
        return {"id": 1, "name": "中石化河南"} if account_id == 1 and p.role is not Role.DEALER else None


class FakeCampaignQueries:
    """Campaign 1 reaches dealer 5 only; lead 30 is dealer 5's."""

    def campaign(self, campaign_id):
        if campaign_id != 1:
            return None
        return {"id": 1, "name": "春季促销", "budget_fen": 1_000_000, "actual_cost_fen": None}

    def visible_to_dealer(self, p, campaign_id):
        return p.dealer_id == 5

    def leads(self, p, *, before_id=None, limit=50, **filters):
        rows = [{"id": 30, "dealer_id": 5}]
        return [r for r in rows if p.role is not Role.DEALER or r["dealer_id"] == p.dealer_id][:limit]

    def lead_figures(self, p, campaign_id):
        return [{"dealer_id": 5, "leads": 4, "contacted": 2, "converted": 1, "lost": 1, "new": 0,
                 "revenue_fen": 3_000_000}]


def service() -> MarketingService:
    video = FakeVideo("default")
    uow = lambda actor: None  # noqa: E731 — the reads checked here open no unit of work
    return MarketingService(
        uow=uow, clock=lambda: NOW, video=video, meeting_job=TrainingMeetingJob(uow, lambda: NOW, video),
        training_queries=FakeTrainingQueries(), knowledge_queries=FakeKnowledgeQueries(),
        forecast_queries=FakeForecastQueries(), account_queries=FakeKeyAccountQueries(),
        campaign_queries=FakeCampaignQueries(), portal_url="https://crm.example.cn", forecast_deadline_day=25)


def test_a_training_the_caller_is_not_invited_to_does_not_exist_for_it():
    marketing = service()

    assert marketing.training(DEALER_5, 1)["title"] == "罐式车保养"
    with pytest.raises(NotFound):
        marketing.training(DEALER_9, 1)
    with pytest.raises(NotFound):
        marketing.training(MARKETING, 404)


def test_training_effect_and_meeting_participants_are_for_organisers():
    marketing = service()

    effect = marketing.training_effect(MARKETING, 1)
    joined = marketing.meeting_participants(MARKETING, 1)
    on_site = marketing.meeting_participants(MARKETING, 2)

    assert effect["attendance_rate_pct"] == 80.0
    assert [p.name for p in joined] == ["default:m-1"] and on_site == []
    for call in (lambda: marketing.training_effect(DEALER_5, 1), lambda: marketing.meeting_participants(DEALER_5, 1)):
        with pytest.raises(PermissionDenied):
            call()
    with pytest.raises(NotFound):
        marketing.training_effect(MARKETING, 404)


def test_use_video_switches_the_service_and_the_schedulers_meeting_job():
    marketing = service()
    simulator = FakeVideo("simulator")

    marketing.use_video(simulator)

    assert marketing.video is simulator and marketing.meeting_job.video is simulator
    assert [p.name for p in marketing.meeting_participants(MARKETING, 1)] == ["simulator:m-1"]


def test_article_revisions_are_for_editors_and_an_unknown_article_does_not_exist():
    marketing = service()

    assert marketing.article_revisions(MARKETING, 1) == [{"article_id": 1, "version": 1}]
    with pytest.raises(PermissionDenied):
        marketing.article_revisions(DEALER_5, 1)
    with pytest.raises(NotFound):
        marketing.article(DEALER_5, 2)


def test_forecasts_are_read_by_dealers_and_the_planning_roles_only():
    marketing = service()

    assert [f["dealer_id"] for f in marketing.forecasts(DEALER_5)] == [5]
    assert marketing.forecasts(DEALER_9) == []
    for call in (lambda: marketing.forecasts(DISPATCH), lambda: marketing.forecast_report(DISPATCH, dt.date(2026, 4, 1))):
        with pytest.raises(PermissionDenied):
            call()


def test_a_key_account_the_caller_may_not_see_does_not_exist_for_it():
    marketing = service()

    assert marketing.key_account(MARKETING, 1)["name"] == "中石化河南"
    with pytest.raises(NotFound):
        marketing.key_account(DEALER_5, 1)


def test_a_campaign_exists_for_staff_and_for_the_dealers_it_reaches_only():
    marketing = service()

    assert marketing.campaign(CENTRAL_SALES, 1)["id"] == 1
    assert marketing.campaign(DEALER_5, 1)["id"] == 1
    for who, campaign_id in ((DEALER_9, 1), (STATION, 1), (MARKETING, 404)):
        with pytest.raises(NotFound):
            marketing.campaign(who, campaign_id)


def test_a_lead_outside_the_callers_leads_does_not_exist_for_it():
    marketing = service()

    assert marketing.lead(DEALER_5, 30)["id"] == 30
    with pytest.raises(NotFound):
        marketing.lead(DEALER_9, 30)


def test_campaign_costs_show_only_to_callers_who_see_all_its_leads():
    marketing = service()

    full = marketing.campaign_report(MARKETING, 1)
    regional = marketing.campaign_report(CENTRAL_SALES, 1)

    assert full["totals"]["cost_fen"] == 1_000_000
    assert regional["totals"]["cost_fen"] is None and regional["totals"]["leads"] == 4
    with pytest.raises(PermissionDenied):
        marketing.campaign_report(DEALER_5, 1)
