"""Persistence ports of marketing: trainings, the knowledge base, sales forecasts, key accounts
and campaigns — a repository each, and a unit of work per use-case module naming just those it
uses.

Read ports of the marketing context: trainings, knowledge articles, sales forecasts, key
accounts and bid cases, campaigns and leads. Plain dict rows straight from SQL, scoped there to
what ``p`` (the caller) may see unless a method says otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol

from dealercrm.application.ports.gate import ClientEventLog
from dealercrm.application.ports.persistence import (
    DealerRepository,
    DocumentNumbering,
    NotificationOutbox,
    RegionRepository,
    Transaction,
)
from dealercrm.domain.campaigns import Campaign, Lead, LeadFollowUp
from dealercrm.domain.forecasts import SalesForecast
from dealercrm.domain.identity import Principal
from dealercrm.domain.key_accounts import KeyAccount
from dealercrm.domain.knowledge import Article, Readership
from dealercrm.domain.learning import ArticleRead, ReadingAssignment
from dealercrm.domain.training import InviteeKind, Training


class TrainingQueries(Protocol):
    def list_trainings(self, p: Principal, *, status: str | None = None, audience: str | None = None,
                       starts_from: dt.datetime | None = None, starts_before: dt.datetime | None = None,
                       before_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]: ...

    def training_detail(self, p: Principal, training_id: int) -> dict[str, Any] | None:
        """The training if ``p`` may see it (organisers all, others those they are invited to)."""

    def training_effect(self, training_id: int) -> dict[str, Any]:
        """Attendance and scores (unscoped: the caller checks the organiser role)."""

    def pending_invitations(self, p: Principal, now: dt.datetime, limit: int) -> tuple[int, list[dict[str, Any]]]:
        """(how many invitations wait for ``p``'s answer, the first ``limit`` of them)."""

    def trainings_between(self, p: Principal, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        """The trainings ``p`` has on the calendar (organisers all, others those they are invited to and
        did not decline; not cancelled) starting in [start, end), by start then id, at most 500."""

    def pending_invitations_and_between(
        self, p: Principal, now: dt.datetime, limit: int, start: dt.datetime, end: dt.datetime,
    ) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
        """``pending_invitations`` and ``trainings_between`` in one read: (count, first ``limit``
        invitations, trainings starting in [start, end))."""


class KnowledgeQueries(Protocol):
    def search(self, p: Principal, *, terms: list[str], kind: str | None = None, topic: str | None = None,
               tag: str | None = None, product_line: str | None = None, status: str | None = None,
               before_id: int | None = None, offset: int = 0, limit: int = 20) -> list[dict[str, Any]]:
        """With ``terms``: ranked, best first, paged by ``offset``; without: newest first, paged
        by ``before_id``."""

    def article(self, p: Principal, article_id: int) -> dict[str, Any] | None: ...

    def revisions(self, article_id: int) -> list[dict[str, Any]]:
        """Unscoped: the caller checks the editor role and the article's visibility."""

    def topics(self, p: Principal) -> list[dict[str, Any]]: ...

    def required_reading(self, p: Principal, now: dt.datetime) -> list[dict[str, Any]]:
        """The active assignments addressed to ``p``'s dealer or station, with ``read_at`` (None
        when ``p`` has not read the article) and ``overdue``."""

    def assignments(self, *, active_only: bool = True, limit: int = 200) -> list[dict[str, Any]]:
        """Every assignment with its counts (addressed people, readers). Unscoped: editors only."""

    def assignment_progress(self, assignment_id: int) -> dict[str, Any] | None:
        """One assignment, and each addressed person with their organisation and ``read_at``."""

    def readers(self, article_id: int) -> list[dict[str, Any]]:
        """Who read the article: user, organisation, first and last visit, count. Editors only."""


class ForecastQueries(Protocol):
    def list_forecasts(self, p: Principal, *, month: dt.date | None = None, dealer_id: int | None = None,
                       region: str | None = None, before_id: int | None = None, limit: int = 50
                       ) -> list[dict[str, Any]]: ...

    def comparison(self, p: Principal, month: dt.date, *, region: str | None = None) -> list[dict[str, Any]]:
        """Per dealer: the forecast of ``month`` beside the orders actually placed."""


class KeyAccountQueries(Protocol):
    def list_accounts(self, p: Principal, *, q: str | None = None, industry: str | None = None,
                      region: str | None = None, dealer_id: int | None = None, before_id: int | None = None,
                      limit: int = 50) -> list[dict[str, Any]]: ...

    def account(self, p: Principal, account_id: int) -> dict[str, Any] | None: ...

    def bid_report(self, p: Principal, *, year: int | None = None) -> dict[str, Any]: ...


class CampaignQueries(Protocol):
    def target_dealers(self, *, regions: tuple[str, ...], product_lines: tuple[str, ...],
                       value_classes: tuple[str, ...], day: dt.date) -> list[dict[str, Any]]:
        """Approved dealers matching every given criterion (empty: any) — home region, an agreement
        valid on ``day`` for one of the product lines, the latest value class — each with its
        primary contact's name, e-mail and phone."""
        ...

    def list_campaigns(self, p: Principal, *, status: str | None = None, before_id: int | None = None,
                       limit: int = 50) -> list[dict[str, Any]]: ...

    def visible_to_dealer(self, p: Principal, campaign_id: int) -> bool: ...

    def campaign(self, campaign_id: int) -> dict[str, Any] | None:
        """Unscoped: the caller checks who may see it."""

    def leads(self, p: Principal, *, campaign_id: int | None = None, status: str | None = None,
              dealer_id: int | None = None, due_on: dt.date | None = None, before_id: int | None = None,
              limit: int = 50) -> list[dict[str, Any]]:
        """Leads in ``p``'s scope, newest first, each with its latest follow-up (``last_follow_up_at``,
        ``last_follow_up_by``, ``last_follow_up_channel``, ``last_follow_up_note``); ``due_on``: only
        those whose next contact day is on or before it."""
        ...

    def follow_ups(self, lead_id: int) -> list[dict[str, Any]]:
        """Unscoped (the caller checks who may see the lead): the lead's follow-up log, newest first."""
        ...

    def due_leads(self, p: Principal, day: dt.date, limit: int) -> tuple[int, list[dict[str, Any]]]:
        """Leads in ``p``'s scope whose next contact day is on or before ``day``: how many, and the
        ``limit`` most overdue — in one statement (the workbench's)."""
        ...

    def lead_figures(self, p: Principal, campaign_id: int) -> list[dict[str, Any]]:
        """Per dealer within ``p``'s scope: leads by status and the revenue of converted leads' orders."""


class TrainingRepository(Protocol):
    def add(self, training: Training) -> None: ...

    def get(self, training_id: int) -> Training | None: ...

    def needing_meeting_work(self, limit: int = 50) -> list[int]:
        """Ids of trainings whose meeting is still to create or to cancel."""

    def recipients(self, kind: InviteeKind, invitee_id: int) -> list[dict[str, Any]]:
        """Active users who speak for an invitee: the user itself, a dealer's or a station's users."""

    def user_brief(self, user_id: int) -> dict[str, Any] | None: ...

    def station_exists(self, station_id: int) -> bool: ...

    def upcoming_for_reminder(self, start_from: dt.datetime, start_before: dt.datetime) -> list[int]: ...


class ArticleRepository(Protocol):
    def add(self, article: Article) -> None: ...

    def get(self, article_id: int) -> Article | None: ...


class ForecastRepository(Protocol):
    def add(self, forecast: SalesForecast) -> None: ...

    def for_month(self, dealer_id: int, month: dt.date) -> SalesForecast | None: ...

    def template_line(self, template_id: int) -> str | None: ...


class KeyAccountRepository(Protocol):
    def add(self, account: KeyAccount) -> None: ...

    def get(self, account_id: int) -> KeyAccount | None: ...

    def sales_user(self, user_id: int) -> dict[str, Any] | None: ...


class CampaignRepository(Protocol):
    def add(self, obj: Campaign | Lead | LeadFollowUp) -> None: ...

    def get(self, campaign_id: int) -> Campaign | None: ...

    def lead(self, lead_id: int) -> Lead | None: ...

    def order_brief(self, order_id: int) -> dict[str, Any] | None: ...

    def year_budget(self, year: int) -> int | None:
        """The marketing budget of ``year`` in fen (locked for the transaction); ``None`` when none is set."""
        ...

    def set_year_budget(self, year: int, budget_fen: int, note: str | None, at: dt.datetime, by: str) -> None: ...

    def planned_fen(self, year: int, *, excluding: int | None = None) -> int:
        """The budgets of the year's campaigns (by start day, cancelled ones left out)."""
        ...


class TrainingUnitOfWork(Transaction, Protocol):
    trainings: TrainingRepository
    dealers: DealerRepository
    numbers: DocumentNumbering
    outbox: NotificationOutbox
    client_events: ClientEventLog  # a create form posted twice answers the first training


class KnowledgeUnitOfWork(Transaction, Protocol):
    articles: ArticleRepository
    numbers: DocumentNumbering


class ReadingRepository(Protocol):
    def add(self, assignment: ReadingAssignment) -> None: ...

    def get(self, assignment_id: int) -> ReadingAssignment | None: ...

    def unknown_targets(self, readership: Readership, ids: tuple[int, ...]) -> list[int]:
        """The ids among ``ids`` that are no dealer (or station) of that readership."""

    def read_of(self, article_id: int, user_id: int) -> ArticleRead | None: ...

    def add_read(self, read: ArticleRead) -> None: ...


class LearningUnitOfWork(Transaction, Protocol):
    articles: ArticleRepository
    reading: ReadingRepository


class ForecastUnitOfWork(Transaction, Protocol):
    forecasts: ForecastRepository
    dealers: DealerRepository


class KeyAccountUnitOfWork(Transaction, Protocol):
    key_accounts: KeyAccountRepository
    dealers: DealerRepository
    regions: RegionRepository  # the known regions a key account's region must be one of


class CampaignUnitOfWork(Transaction, Protocol):
    campaigns: CampaignRepository
    dealers: DealerRepository
    regions: RegionRepository  # the known regions a campaign's target regions must be among
    numbers: DocumentNumbering
    client_events: ClientEventLog  # a plan form posted twice answers the first campaign


class MarketingUnitOfWork(TrainingUnitOfWork, KnowledgeUnitOfWork, LearningUnitOfWork, ForecastUnitOfWork,
                          KeyAccountUnitOfWork, CampaignUnitOfWork, Protocol):
    """What the marketing service opens: every marketing use case's unit of work at once."""


MarketingUnitOfWorkFactory = Callable[[Principal], MarketingUnitOfWork]
