"""Every context's alert rules, scheduled jobs, workbench sources and calendar sources, as fixed
tables built once by the composition root and handed to the engagement service. Nothing
registers later: two containers in one process each have their own tables."""

from __future__ import annotations

import datetime as dt

import attrs

from dealercrm.application import care, dealer_stock, training, workbench
from dealercrm.application.campaigns import DueLeadsSource
from dealercrm.application.alerts import AlertRule, RuleRegistry, ScheduledJob
from dealercrm.application.birthdays import BirthdayCallReminderRule, BirthdayGreetingJob
from dealercrm.application.calendar import CalendarSources
from dealercrm.application.ports.calendar import CalendarSource
from dealercrm.application.credit_jobs import CreditEvaluationJob, CreditRemindersJob
from dealercrm.application.delivery_dates import DeliveryDateReminderRule
from dealercrm.application.gate_jobs import KioskEventRetentionJob, ReceiptRemindersJob
from dealercrm.application.ports.engagement import EngagementQueries
from dealercrm.application.service_network import MaintenanceDueRule
from dealercrm.application.ports.marketing import CampaignQueries, TrainingQueries
from dealercrm.application.ports.notify import OutboxStore
from dealercrm.application.ports.persistence import Clock, UnitOfWorkFactory
from dealercrm.application.ports.orders import QuoteRequestQueries
from dealercrm.application.ports.workbench import WorkbenchSource
from dealercrm.application.quote_workbench import QuoteRequestsSource
from dealercrm.application.workbench import WorkbenchSources
from dealercrm.application.workflow_workbench import PendingApprovalsSource, TaskQueries


@attrs.frozen
class EngagementTiming:
    """The settings the rules and jobs run by (``DEALERCRM_*``, see config)."""

    portal_url: str
    birthday_alert_days: int
    birthday_greeting_hour: int
    delivery_reminder_days: int
    receipt_grace_days: int
    kiosk_event_retention_days: int


def engagement_tables(
    clock: Clock, uow: UnitOfWorkFactory, timing: EngagementTiming, *,
    engagement_queries: EngagementQueries | None, outbox_store: OutboxStore | None,
    workflow_queries: TaskQueries | None, training_queries: TrainingQueries | None,
    training_jobs: tuple[ScheduledJob, ...], context_jobs: tuple[ScheduledJob, ...] = (),
    quote_queries: QuoteRequestQueries | None = None,
    lead_queries: CampaignQueries | None = None,
) -> tuple[RuleRegistry, WorkbenchSources, CalendarSources]:
    """Every context's alert rules, scheduled jobs, workbench sources and calendar sources, built
    once. The scheduler runs rules and jobs in this order; sources show in this order.
    ``context_jobs``: jobs other services build (the ERP sync, the monthly repair report)."""
    rules: tuple[AlertRule, ...] = (
        BirthdayCallReminderRule(timing.birthday_alert_days),
        dealer_stock.StockLevelRule(), dealer_stock.StockAgeingRule(),
        DeliveryDateReminderRule(timing.delivery_reminder_days),
        care.CareTaskDueRule(),
        MaintenanceDueRule(),
    )
    jobs: tuple[ScheduledJob, ...] = (
        BirthdayGreetingJob(timing.birthday_greeting_hour),
        CreditRemindersJob(uow), CreditEvaluationJob(uow),
        ReceiptRemindersJob(uow, timing.portal_url, dt.timedelta(days=timing.receipt_grace_days)),
        KioskEventRetentionJob(uow, timing.kiosk_event_retention_days),
        *context_jobs,
        care.DealerValueJob(uow), care.CareTaskJob(uow),
        *training_jobs,
    )
    bench: list[WorkbenchSource] = []
    dated: list[CalendarSource] = []
    # A source in both lists is one object: the workbench page reads its section and its calendar
    # items together (workbench.build_workbench_with_calendar).
    if engagement_queries is not None:
        alerts = workbench.AlertsSource(engagement_queries)
        announcements = workbench.AnnouncementsSource(engagement_queries)
        bench += [alerts, announcements]
        if outbox_store is not None:
            bench.append(workbench.FailedNotificationsSource(engagement_queries, outbox_store))
        dated += [alerts, announcements]
    if workflow_queries is not None:
        approvals = PendingApprovalsSource(workflow_queries, clock)
        bench.append(approvals)
        dated.append(approvals)
    if quote_queries is not None:
        bench.append(QuoteRequestsSource(quote_queries))
    if training_queries is not None:
        trainings = training.TrainingsSource(training_queries)
        dated.append(trainings)
        bench.append(trainings)
    if lead_queries is not None:
        bench.append(DueLeadsSource(lead_queries))
    return RuleRegistry(rules, jobs), WorkbenchSources(tuple(bench)), CalendarSources(tuple(dated))
