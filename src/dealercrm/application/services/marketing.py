"""The marketing service (``container.marketing``): training with its video meetings, knowledge
base, sales forecasts, key accounts and bid cases, campaigns and leads. Each call is one
transaction; the role and visibility checks of the reads live here, those of the writes in the
use-case modules (``application.training`` and its siblings)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs

from dealercrm.application import campaigns as cp
from dealercrm.application import forecasts as fc
from dealercrm.application import key_accounts as ka
from dealercrm.application import knowledge as kb
from dealercrm.application import learning
from dealercrm.application import training as tr
from dealercrm.application.access import dealer_scope, not_found, require_role
from dealercrm.application.ports.marketing import (
    CampaignQueries,
    ForecastQueries,
    KeyAccountQueries,
    KnowledgeQueries,
    MarketingUnitOfWork,
    MarketingUnitOfWorkFactory,
    TrainingQueries,
)
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.ports.video import MeetingParticipant, VideoConferencing
from dealercrm.domain.errors import Conflict, IllegalTransition, InvalidValue
from dealercrm.domain.forecasts import deadline_for
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.knowledge import search_terms
from dealercrm.domain.values import beijing_date


@attrs.define
class MarketingService:
    """``meeting_job`` is the scheduler's meeting job (in the engagement rule table): it shares
    this service's video adapter, so :meth:`use_video` switches both."""

    uow: MarketingUnitOfWorkFactory
    clock: Clock
    video: VideoConferencing
    meeting_job: tr.TrainingMeetingJob
    training_queries: TrainingQueries
    knowledge_queries: KnowledgeQueries
    forecast_queries: ForecastQueries
    account_queries: KeyAccountQueries
    campaign_queries: CampaignQueries
    portal_url: str
    forecast_deadline_day: int

    def use_video(self, video: VideoConferencing) -> None:
        """Replace the video conferencing adapter (the demo points it at its local simulator)."""
        self.video = video
        self.meeting_job.video = video

    def now(self) -> dt.datetime:
        """The service's clock (an aware datetime)."""
        return self.clock()

    def _uow(self, actor: Principal) -> MarketingUnitOfWork:
        return self.uow(actor)

    def _new(self, actor: Principal) -> Callable[[], MarketingUnitOfWork]:
        return lambda: self.uow(actor)

    @property
    def _portal(self) -> str:
        return self.portal_url

    # -- training ------------------------------------------------------------------------------

    def create_training(self, actor: Principal, cmd: tr.CreateTraining) -> tr.TrainingCreated:
        """Create a training (培训), invite and notify in one transaction, then for an online one ask the video
        provider for a meeting; marketing, after-sales or admin. Returns ``TrainingCreated``;
        ``InvalidValue``, ``PermissionDenied``."""
        return tr.create_training(cmd, self._new(actor), self.clock, self.video, portal_url=self._portal)

    def create_training_once(self, actor: Principal, cmd: tr.CreateTraining, *, form_token: str) -> tr.TrainingCreated:
        """``create_training`` once per form token of this user (a double-submitted form creates one
        training and notifies once; the repeat gets the same). ``InvalidValue``, ``PermissionDenied``."""
        return tr.create_training_once(cmd, self._new(actor), self.clock, self.video, portal_url=self._portal,
                                       form_token=form_token)

    def invite(self, actor: Principal, training_id: int, invitees: tuple[tr.InviteeIn, ...]) -> int:
        """Invite more dealers, stations or staff to a training and notify them; organisers (marketing,
        after-sales, admin). Returns how many were newly invited; ``InvalidValue``, ``IllegalTransition``,
        ``PermissionDenied``, ``NotFound``."""
        return tr.invite(training_id, invitees, self._uow(actor), portal_url=self._portal)

    def respond(self, actor: Principal, training_id: int, confirm: bool, reason: str | None = None) -> str:
        """An invitee (a dealer user for its dealer, a station user, a sales user) confirms or declines (with
        a reason). Returns its answer's state; ``InvalidValue``, ``IllegalTransition``, ``PermissionDenied``,
        ``NotFound`` (not invited)."""
        return tr.respond(training_id, confirm, reason, self._uow(actor), self.clock)

    def record_participants(self, actor: Principal, training_id: int,
                            people: tuple[tr.ParticipantIn, ...]) -> list[int]:
        """Record attendance (签到) and scores, all or nothing; organisers. Returns the participant ids;
        ``InvalidValue``, ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return tr.record_participants(training_id, people, self._uow(actor), self.clock)

    def give_feedback(self, actor: Principal, training_id: int, participant_id: int, *,
                      feedback_score: int | None = None, quiz_score: int | None = None,
                      comment: str | None = None) -> None:
        """Set a participant's feedback and quiz scores: organisers both, an invitee its own participants'
        feedback only. ``InvalidValue``, ``PermissionDenied``, ``NotFound``."""
        tr.give_feedback(training_id, participant_id, feedback_score, quiz_score, comment, self._uow(actor),
                         self.clock)

    def cancel_training(self, actor: Principal, training_id: int, reason: str) -> str:
        """Cancel a training with a reason, telling the invitees and cancelling its online meeting; organisers.
        Returns the state; ``InvalidValue``, ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return tr.cancel_training(training_id, reason, self._new(actor), self.clock, self.video)

    def reschedule_training(self, actor: Principal, training_id: int, starts_at: dt.datetime, ends_at: dt.datetime) -> str:
        """Move a training to a new window; invitees are told and asked to confirm again, an online meeting
        follows. Organisers; returns the state. ``InvalidValue``, ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return tr.reschedule_training(training_id, starts_at, ends_at, self._new(actor), self.clock, self.video,
                                      portal_url=self._portal)

    def complete_training(self, actor: Principal, training_id: int) -> str:
        """Mark a training held (已完成); organisers. Returns the state; ``IllegalTransition``,
        ``PermissionDenied``, ``NotFound``."""
        return tr.complete_training(training_id, self._uow(actor), self.clock)

    def retry_meeting(self, actor: Principal, training_id: int) -> str:
        """Ask the video provider again now for a training's meeting (a failed one becomes pending first);
        organisers. Returns the meeting state; ``PermissionDenied``, ``NotFound``."""
        return tr.request_meeting_retry(training_id, self._new(actor), self.clock, self.video)

    def sync_meetings(self) -> int:
        """As the system: create the meetings still pending and cancel those of cancelled trainings; returns
        how many were handled."""
        return tr.sync_pending_meetings(self._new(Principal.system()), self.clock, self.video)

    def send_training_reminders(self) -> int:
        """As the system: an SMS, once per person, to invitees (not declined) of trainings starting in the
        next 24 hours; returns how many were queued."""
        return tr.send_reminders(self._new(Principal.system()), self.clock())

    def trainings(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        """Trainings the caller may see (organisers all, others those they are invited to), filtered."""
        return self.training_queries.list_trainings(actor, **filters)

    def training(self, actor: Principal, training_id: int) -> dict[str, Any]:
        """One training as the caller may see it; ``NotFound`` otherwise."""
        row = self.training_queries.training_detail(actor, training_id)
        if row is None:
            raise not_found("training", "培训")
        return row

    def training_effect(self, actor: Principal, training_id: int) -> dict[str, Any]:
        """A training's effect (attendance, feedback and quiz scores); organisers only.
        ``PermissionDenied``, ``NotFound``."""
        require_role(actor, *tr.ORGANIZERS)
        self.training(actor, training_id)
        return self.training_queries.training_effect(training_id)

    def meeting_participants(self, actor: Principal, training_id: int) -> list[MeetingParticipant]:
        """Who joined the online meeting, from the provider (organisers)."""
        require_role(actor, *tr.ORGANIZERS)
        row = self.training(actor, training_id)
        if not row["meeting_id"]:
            return []
        return self.video.participants(row["meeting_id"])

    # -- knowledge base --------------------------------------------------------------------------

    def write_article(self, actor: Principal, cmd: kb.WriteArticle) -> kb.ArticleRef:
        """Write a knowledge article (知识文章) in draft for an audience; marketing, after-sales, technical or
        admin. Returns ``ArticleRef``; ``InvalidValue``, ``PermissionDenied``."""
        return kb.write_article(cmd, self._uow(actor), self.clock)

    def edit_article(self, actor: Principal, cmd: kb.EditArticle) -> kb.ArticleRef:
        """Revise an article (a new revision is kept); editors. Returns ``ArticleRef``; ``InvalidValue``,
        ``PermissionDenied``, ``NotFound``."""
        return kb.edit_article(cmd, self._uow(actor), self.clock)

    def publish_article(self, actor: Principal, article_id: int, published: bool = True) -> kb.ArticleRef:
        """Publish (or, with ``published=False``, unpublish) an article; editors. Returns ``ArticleRef``;
        ``PermissionDenied``, ``NotFound``."""
        return kb.set_published(article_id, published, self._uow(actor), self.clock)

    def search_articles(self, actor: Principal, q: str | None = None, **filters: Any) -> list[dict[str, Any]]:
        """Search the articles the caller may read (by their audience) for the words of ``q``, filtered."""
        return self.knowledge_queries.search(actor, terms=search_terms(q), **filters)

    def article(self, actor: Principal, article_id: int) -> dict[str, Any]:
        """The article, if ``actor`` may read it; opening it records the visit (learning)."""
        row = self._visible_article(actor, article_id)
        try:
            learning.record_read(article_id, self._uow(actor), self.clock)
        except Conflict:
            pass  # the same reader's concurrent first visit recorded it
        return row

    def _visible_article(self, actor: Principal, article_id: int) -> dict[str, Any]:
        row = self.knowledge_queries.article(actor, article_id)
        if row is None:
            raise not_found("article", "知识文章")
        return row

    def article_revisions(self, actor: Principal, article_id: int) -> list[dict[str, Any]]:
        """An article's revisions; editors who can see it. ``PermissionDenied``, ``NotFound``."""
        require_role(actor, *kb.EDITORS)
        self._visible_article(actor, article_id)
        return self.knowledge_queries.revisions(article_id)

    def article_topics(self, actor: Principal) -> list[dict[str, Any]]:
        """The article topics among what the caller may read."""
        return self.knowledge_queries.topics(actor)

    # -- learning: readers and required reading (必读) ---------------------------------------------

    def article_readers(self, actor: Principal, article_id: int) -> list[dict[str, Any]]:
        """Who read an article and when; editors. ``PermissionDenied``, ``NotFound``."""
        require_role(actor, *kb.EDITORS)
        self._visible_article(actor, article_id)
        return self.knowledge_queries.readers(article_id)

    def assign_reading(self, actor: Principal, cmd: learning.AssignReading) -> learning.AssignmentRef:
        """Make an article required reading (必读) for dealers and/or stations by a due date; editors. Returns
        ``AssignmentRef``; ``InvalidValue``, ``PermissionDenied``, ``NotFound``."""
        return learning.assign_reading(cmd, self._uow(actor), self.clock)

    def cancel_reading(self, actor: Principal, assignment_id: int) -> learning.AssignmentRef:
        """Cancel a required-reading assignment; editors. Returns ``AssignmentRef``; ``IllegalTransition``,
        ``PermissionDenied``, ``NotFound``."""
        return learning.cancel_assignment(assignment_id, self._uow(actor), self.clock)

    def reading_assignments(self, actor: Principal, *, active_only: bool = True) -> list[dict[str, Any]]:
        """Editors: every assignment with its progress. Dealers and stations: their required
        reading, each with whether the caller has read it and whether it is overdue."""
        if actor.role in (Role.DEALER, Role.STATION):
            return self.knowledge_queries.required_reading(actor, self.clock())
        require_role(actor, *kb.EDITORS)
        return self.knowledge_queries.assignments(active_only=active_only)

    def reading_progress(self, actor: Principal, assignment_id: int) -> dict[str, Any]:
        """Who has and has not read a required-reading assignment; editors. ``PermissionDenied``, ``NotFound``."""
        require_role(actor, *kb.EDITORS)
        row = self.knowledge_queries.assignment_progress(assignment_id)
        if row is None:
            raise not_found("reading_assignment", "必读任务")
        return row

    # -- sales forecasts -------------------------------------------------------------------------

    def submit_forecast(self, actor: Principal, cmd: fc.SubmitForecast) -> fc.ForecastRef:
        """Submit (or revise) a dealer's sales forecast (销售预测) for a month before its deadline: a dealer for
        itself, sales, region manager or admin naming a dealer in scope. Returns ``ForecastRef``;
        ``InvalidValue``, ``Conflict`` (past the deadline), ``PermissionDenied``, ``NotFound``."""
        return fc.submit_forecast(cmd, self._uow(actor), self.clock, deadline_day=self.forecast_deadline_day)

    def forecasts(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        """Forecasts the caller may see (a dealer its own; admin, marketing, production, finance, sales,
        region manager within their scope), filtered. ``PermissionDenied``."""
        self._forecast_reader(actor)
        return self.forecast_queries.list_forecasts(actor, **filters)

    def forecast_report(self, actor: Principal, month: dt.date, region: str | None = None) -> dict[str, Any]:
        """Forecast accuracy for a month per dealer line, dealer, region and overall, within the caller's
        scope; as ``forecasts``. ``PermissionDenied``."""
        self._forecast_reader(actor)
        rows = self.forecast_queries.comparison(actor, month, region=region)
        return fc.forecast_report(month, rows, deadline_day=self.forecast_deadline_day)

    def forecast_deadline(self, month: dt.date) -> dt.datetime:
        """The first instant the forecast for ``month`` is locked: Beijing midnight after the configured day
        of the month before."""
        return deadline_for(month, self.forecast_deadline_day)

    @staticmethod
    def _forecast_reader(actor: Principal) -> None:
        if actor.role is not Role.DEALER:
            require_role(actor, *fc.READERS_ALL)

    # -- key accounts and bid cases -------------------------------------------------------------

    def file_key_account(self, actor: Principal, cmd: ka.FileKeyAccount) -> int:
        """File a key account (大客户): a dealer for itself, or sales, region manager, marketing or admin
        naming a dealer in scope. Returns its id; ``InvalidValue``, ``PermissionDenied``, ``NotFound``."""
        return ka.file_key_account(cmd, self._uow(actor), self.clock)

    def update_key_account(self, actor: Principal, cmd: ka.UpdateKeyAccount) -> None:
        """Change a key account; the same writers, within their scope. ``InvalidValue``, ``PermissionDenied``, ``NotFound``."""
        ka.update_key_account(cmd, self._uow(actor), self.clock)

    def record_bid(self, actor: Principal, cmd: ka.RecordBid) -> int:
        """Record a bid case (投标) for a key account; the same writers. Returns its id; ``InvalidValue``,
        ``PermissionDenied``, ``NotFound``."""
        return ka.record_bid(cmd, self._uow(actor), self.clock)

    def key_accounts(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        """Key accounts the caller may see (a dealer its own, staff within their scope), filtered."""
        return self.account_queries.list_accounts(actor, **filters)

    def key_account(self, actor: Principal, account_id: int) -> dict[str, Any]:
        """One key account with its bids, as the caller may see it; ``NotFound`` otherwise."""
        row = self.account_queries.account(actor, account_id)
        if row is None:
            raise not_found("key_account", "大客户")
        return row

    def bid_report(self, actor: Principal, year: int | None = None) -> dict[str, Any]:
        """The bid report (投标统计) of a year within the caller's scope."""
        return self.account_queries.bid_report(actor, year=year)

    # -- campaigns and leads ----------------------------------------------------------------------

    def plan_campaign(self, actor: Principal, cmd: cp.PlanCampaign) -> cp.CampaignRef:
        """Plan a marketing campaign (营销活动) with a budget in fen; marketing or admin. Returns
        ``CampaignRef``; ``InvalidValue``, ``PermissionDenied``."""
        return cp.plan_campaign(cmd, self._uow(actor), self.clock)

    def plan_campaign_once(self, actor: Principal, cmd: cp.PlanCampaign, *, form_token: str) -> cp.CampaignRef:
        """``plan_campaign`` once per form token of this user (a double-submitted form plans one
        campaign; the repeat gets its reference). ``InvalidValue``, ``PermissionDenied``."""
        return cp.plan_campaign_once(cmd, self._new(actor), self.clock, form_token=form_token)

    def change_campaign(self, actor: Principal, campaign_id: int, action: str, **kw: Any) -> str:
        """Act on a campaign: ``activate``, ``close`` (with the actual cost), ``cancel`` or ``budget``;
        marketing or admin. Returns the new state; ``InvalidValue``, ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return cp.change_campaign(campaign_id, action, self._uow(actor), self.clock, **kw)

    def capture_lead(self, actor: Principal, cmd: cp.CaptureLead) -> int:
        """Capture a sales lead (线索), optionally for a campaign, followed by a dealer in the campaign's
        regions; marketing, admin, sales, region manager or a dealer. Returns its id; ``InvalidValue``,
        ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return cp.capture_lead(cmd, self._uow(actor), self.clock)

    def follow_up_lead(self, actor: Principal, lead_id: int, cmd: cp.FollowUp) -> str:
        """Follow a lead up: ``contacted`` (channel and note required), ``convert`` (naming an order of the
        lead's dealer) or ``lost`` (a reason), logged as one follow-up with the lead's change; lead writers.
        Returns the new state; ``InvalidValue``, ``BusinessRuleViolation`` (order not submitted),
        ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return cp.follow_up(lead_id, cmd, self._uow(actor), self.clock)

    def follow_up_lead_once(self, actor: Principal, lead_id: int, cmd: cp.FollowUp, *, form_token: str) -> str:
        """``follow_up_lead`` once per form token of this user (a double-submitted form logs one follow-up;
        the repeat gets the first answer or the same refusal)."""
        return cp.follow_up_once(lead_id, cmd, self._new(actor), self.clock, form_token=form_token)

    def lead_follow_ups(self, actor: Principal, lead_id: int) -> list[dict[str, Any]]:
        """The lead's follow-up log, newest first, as the caller may see the lead; ``NotFound`` otherwise."""
        self.lead(actor, lead_id)
        return self.campaign_queries.follow_ups(lead_id)

    def contact_today(self) -> dt.date:
        """The clock's Beijing day: the one "due for contact" (待联系) is measured against."""
        return beijing_date(self.clock())

    def set_marketing_budget(self, actor: Principal, year: int, budget_fen: int, note: str | None = None) -> None:
        """Set the year's marketing budget (市场营销预算, §5 1)); campaigns of the year are then planned within it
        (``campaign.over_year_budget``). Marketing or admin; ``InvalidValue``, ``BusinessRuleViolation`` (below what
        is already planned), ``PermissionDenied``."""
        cp.set_year_budget(year, budget_fen, note, self._uow(actor), self.clock)

    def marketing_plan(self, actor: Principal, year: int) -> dict[str, Any]:
        """The year's marketing plan and budget: the budget, each campaign of the year (by start day) with
        its budget, actual cost, leads, conversions, revenue and ROI, and the totals with what is left.
        Marketing or admin (who see every lead); ``PermissionDenied``."""
        require_role(actor, *cp.PLANNERS)
        with self._uow(actor) as uow:
            budget = uow.campaigns.year_budget(year)
        rows = [c for c in self.campaign_queries.list_campaigns(actor, limit=1000)
                if c["starts_on"].year == year and str(getattr(c["status"], "value", c["status"])) != "cancelled"]
        items = []
        for c in sorted(rows, key=lambda r: (r["starts_on"], r["id"])):
            t = self.campaign_report(actor, c["id"])["totals"]
            items.append({"id": c["id"], "campaign_no": c["campaign_no"], "name": c["name"],
                          "status": str(getattr(c["status"], "value", c["status"])), "budget_fen": c["budget_fen"],
                          "actual_cost_fen": c["actual_cost_fen"], "leads": t["leads"], "converted": t["converted"],
                          "revenue_fen": t["revenue_fen"], "roi_pct": t["roi_pct"]})
        planned = sum(i["budget_fen"] for i in items)
        cost = sum(i["actual_cost_fen"] if i["actual_cost_fen"] is not None else i["budget_fen"] for i in items)
        revenue = sum(i["revenue_fen"] for i in items)
        return {"year": year, "budget_fen": budget, "planned_fen": planned,
                "remaining_fen": None if budget is None else budget - planned, "campaigns": items,
                "totals": {"cost_fen": cost, "leads": sum(i["leads"] for i in items),
                           "converted": sum(i["converted"] for i in items), "revenue_fen": revenue,
                           "roi_pct": round(100 * (revenue - cost) / cost, 1) if cost else None}}

    def campaign_targets(self, actor: Principal, campaign_id: int, *,
                         value_classes: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """The campaign's target list (目标名单), selected by criteria: approved dealers in the campaign's
        regions, with an agreement valid today for one of its product lines, and (when given) of the
        value classes A–D. Marketing or admin; ``InvalidValue`` (class), ``PermissionDenied``, ``NotFound``."""
        require_role(actor, *cp.PLANNERS)
        row = self.campaign(actor, campaign_id)
        bad = [c for c in value_classes if c not in ("A", "B", "C", "D")]
        if bad:
            raise InvalidValue("value_classes", f"价值分类须为 A、B、C 或 D：{bad[0]}", code="campaign.value_class_invalid")
        return self.campaign_queries.target_dealers(
            regions=tuple(row["regions"] or ()), product_lines=tuple(row["product_lines"] or ()),
            value_classes=tuple(dict.fromkeys(value_classes)), day=beijing_date(self.clock()))

    def invite_targets(self, actor: Principal, campaign_id: int, *,
                       value_classes: tuple[str, ...] = ()) -> dict[str, int]:
        """Invite the campaign's target list through the outbox (one e-mail per dealer's primary contact,
        once per campaign and dealer however often this is called); only a planned or active campaign.
        Returns ``{"targets", "invited", "without_email"}``. Marketing or admin; ``IllegalTransition``,
        ``InvalidValue``, ``PermissionDenied``, ``NotFound``."""
        targets = self.campaign_targets(actor, campaign_id, value_classes=value_classes)
        row = self.campaign(actor, campaign_id)
        status = str(getattr(row["status"], "value", row["status"]))
        if status not in ("planned", "active"):
            raise IllegalTransition("campaign", status, "invite")
        reachable = [t for t in targets if t["email"]]
        with self._uow(actor) as uow:
            for t in reachable:
                uow.outbox.enqueue("campaign.invitation", {
                    "recipient_name": t["contact_name"] or t["dealer_name"], "dealer_name": t["dealer_name"],
                    "campaign_name": row["name"], "starts_on": str(row["starts_on"]), "ends_on": str(row["ends_on"]),
                    "description": row["description"] or row["target_segment"] or row["name"], "portal_url": self._portal},
                    t["email"], f"campaign-{campaign_id}-dealer-{t['dealer_id']}")
            uow.commit()
        return {"targets": len(targets), "invited": len(reachable), "without_email": len(targets) - len(reachable)}

    def campaigns(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        """Campaigns the caller may see, filtered."""
        return self.campaign_queries.list_campaigns(actor, **filters)

    def campaign(self, actor: Principal, campaign_id: int) -> dict[str, Any]:
        """One campaign: staff see any, a dealer one in its list of campaigns; ``NotFound`` otherwise."""
        row = self.campaign_queries.campaign(campaign_id)
        if row is None or not (actor.role.is_staff or actor.role is Role.DEALER) or (
                actor.role is Role.DEALER and not self.campaign_queries.visible_to_dealer(actor, campaign_id)):
            raise not_found("campaign", "营销活动")
        return row

    def leads(self, actor: Principal, *, due: bool = False, **filters: Any) -> list[dict[str, Any]]:
        """Leads the caller may see (a dealer its own, staff within their scope), filtered and keyset-paged,
        each with its latest follow-up; ``due``: only those whose next contact day has come (Beijing)."""
        if due:
            filters["due_on"] = self.contact_today()
        return self.campaign_queries.leads(actor, **filters)

    def lead(self, actor: Principal, lead_id: int) -> dict[str, Any]:
        """One lead as the caller may see it; ``NotFound`` otherwise."""
        rows = [r for r in self.campaign_queries.leads(actor, before_id=lead_id + 1, limit=1) if r["id"] == lead_id]
        if not rows:
            raise not_found("lead", "线索")
        return rows[0]

    def campaign_report(self, actor: Principal, campaign_id: int) -> dict[str, Any]:
        """A campaign's leads, conversions, revenue, cost per lead and ROI, per dealer within the caller's
        scope; marketing, admin, sales or region manager. ``PermissionDenied``, ``NotFound``."""
        require_role(actor, *cp.REPORT_READERS)
        campaign = self.campaign(actor, campaign_id)
        scope = dealer_scope(actor)
        per_dealer = self.campaign_queries.lead_figures(actor, campaign_id)
        return cp.campaign_report(campaign, per_dealer, full_scope=scope.dealer_id is None and scope.regions is None
                                  and not scope.nothing)
