"""Builders of the contexts whose wiring is more than one constructor call: messages (in the
database or in memory), the away digest, the community, and care/marketing/engagement (the last gets
every context's rules, jobs and sources as fixed tables). ``bootstrap`` calls them; they name
concrete adapters, as the composition root may."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import attrs

from dealercrm.adapters.live import LiveRelay
from dealercrm.application.alerts import ScheduledJob
from dealercrm.application.engagement_tables import EngagementTiming, engagement_tables
from dealercrm.application.ports.care import CareUnitOfWork
from dealercrm.application.ports.engagement import EngagementUnitOfWork
from dealercrm.application.ports.marketing import MarketingUnitOfWork
from dealercrm.application.ports.orders import QuoteRequestQueries
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.ports.video import VideoConferencing
from dealercrm.application.services import (
    AftersalesService, CareService, EngagementService, GateService, MarketingService, MediaService, OrdersService,
)
from dealercrm.application.services.community import CommunityService
from dealercrm.application.services.messages import MessagesService
from dealercrm.application.workflow_workbench import TaskQueries
from dealercrm.config import Settings
from dealercrm.domain.identity import Principal

if TYPE_CHECKING:
    from dealercrm.adapters.db.engine import Engine


def messages_service(settings: Settings, clock: Clock, engine: Engine | None, live: LiveRelay, orders: OrdersService,
              aftersales_service: AftersalesService, gate: GateService, media: MediaService) -> MessagesService:
    """Messages in the database with the flood limit there too (it holds across workers); in
    memory without a database."""
    if engine is not None:
        from dealercrm.adapters.db.messages import SqlMessageStore
        from dealercrm.adapters.db.shared_state import SqlRateLimiter

        return MessagesService(clock, SqlMessageStore(engine), live,
                               SqlRateLimiter(engine, settings.message_rate_per_minute, 60, clock, "message"),
                               orders, aftersales_service, gate, media)
    from dealercrm.adapters.messages_memory import MemoryFloodLimit, MemoryMessageStore

    return MessagesService(clock, MemoryMessageStore(), live,
                           MemoryFloodLimit(settings.message_rate_per_minute, dt.timedelta(minutes=1), clock),
                           orders, aftersales_service, gate, media)


def message_digest_jobs(settings: Settings, clock: Clock, engine: Engine | None) -> tuple[ScheduledJob, ...]:
    """The away digest of unread messages (issue 21 §4) and the messages' retention (§5), with
    the database only."""
    if engine is None:
        return ()
    from dealercrm.adapters.db.message_digest import SqlDigestStore
    from dealercrm.adapters.db.message_retention import SqlRetentionStore
    from dealercrm.application.message_digest import AwayDigestJob
    from dealercrm.application.message_retention import MessageRetentionJob

    return (AwayDigestJob(SqlDigestStore(engine, clock), settings.portal_url,
                          dt.timedelta(minutes=settings.message_digest_minutes),
                          dt.timedelta(minutes=settings.message_urgent_minutes)),
            MessageRetentionJob(SqlRetentionStore(engine), dt.timedelta(days=settings.message_retention_days)))


def community_service(clock: Clock, engine: Engine | None, marketing: MarketingService) -> CommunityService:
    """The community lives in the database only (its search is the database's full-text engine)."""
    from dealercrm.adapters.db.community import SqlCommunityStore

    return CommunityService(clock, SqlCommunityStore(engine), marketing)


class _CareMarketingEngagementUnitOfWork(CareUnitOfWork, MarketingUnitOfWork, EngagementUnitOfWork, Protocol):
    """The composition's unit of work is every context's at once; these three services each take theirs."""


def care_marketing_engagement(
    settings: Settings, clock: Clock, uow: Callable[[Principal], _CareMarketingEngagementUnitOfWork],
    engine: Engine | None, *,
    workflow_queries: TaskQueries | None, video: VideoConferencing | None, jobs: tuple[ScheduledJob, ...],
    quote_queries: QuoteRequestQueries | None = None,
) -> tuple[CareService, MarketingService, EngagementService]:
    """The care, marketing and engagement services on the SQL read side. The engagement service
    comes last: it gets every context's rules, jobs and sources as fixed tables."""
    from dealercrm.adapters.db import marketing_queries as mq
    from dealercrm.adapters.db.care_queries import SqlCareQueries
    from dealercrm.adapters.db.engagement_queries import SqlEngagementQueries
    from dealercrm.adapters.documents.care_pdf import FpdfCareLetterRenderer
    from dealercrm.adapters.notify.sql_outbox import SqlAlchemyOutboxStore
    from dealercrm.adapters.video import video_conferencing_for
    from dealercrm.application.training import TrainingMeetingJob, TrainingReminderJob

    care = CareService(uow, clock, SqlCareQueries(engine), FpdfCareLetterRenderer(settings.pdf_font),
                       settings.portal_url)
    video = video or video_conferencing_for(settings.video_url, settings.video_app_id, settings.video_secret,
                                            settings.video_timeout_seconds)
    training_queries = mq.SqlMarketingQueries(engine)
    meeting_job = TrainingMeetingJob(uow, clock, video)
    campaign_queries = mq.SqlCampaignQueries(engine)
    marketing = MarketingService(
        uow, clock, video, meeting_job, training_queries, mq.SqlKnowledgeQueries(engine),
        mq.SqlForecastQueries(engine), mq.SqlKeyAccountQueries(engine), campaign_queries, settings.portal_url,
        settings.forecast_deadline_day)
    engagement_queries = SqlEngagementQueries(engine)
    outbox_store = SqlAlchemyOutboxStore(engine)
    database = engine is not None  # without one (ports replaced by the caller) the SQL-read entries stay out
    timing = EngagementTiming(**{name: getattr(settings, name) for name in attrs.fields_dict(EngagementTiming)})
    rules, workbench, calendar = engagement_tables(
        clock, uow, timing, engagement_queries=engagement_queries if database else None,
        outbox_store=outbox_store if database else None, workflow_queries=workflow_queries,
        training_queries=training_queries if database else None,
        training_jobs=(meeting_job, TrainingReminderJob(uow)) if database else (), context_jobs=jobs if database else (),
        quote_queries=quote_queries, lead_queries=campaign_queries if database else None)
    engagement = EngagementService(uow, clock, engagement_queries, outbox_store, rules, workbench, calendar,
                                   settings.portal_url)
    return care, marketing, engagement
