"""Persistence ports of marketing: trainings, the knowledge base, sales forecasts, key accounts
and campaigns — a repository each, and a unit of work per use-case module naming just those it
uses."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from dealercrm.application.ports.persistence import DealerRepository, DocumentNumbering, NotificationOutbox, Transaction
from dealercrm.domain.campaigns import Campaign, Lead
from dealercrm.domain.forecasts import SalesForecast
from dealercrm.domain.key_accounts import KeyAccount
from dealercrm.domain.knowledge import Article
from dealercrm.domain.training import InviteeKind, Training


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
    def add(self, obj: Campaign | Lead) -> None: ...

    def get(self, campaign_id: int) -> Campaign | None: ...

    def lead(self, lead_id: int) -> Lead | None: ...

    def order_brief(self, order_id: int) -> dict[str, Any] | None: ...


class TrainingUnitOfWork(Transaction, Protocol):
    trainings: TrainingRepository
    dealers: DealerRepository
    numbers: DocumentNumbering
    outbox: NotificationOutbox


class KnowledgeUnitOfWork(Transaction, Protocol):
    articles: ArticleRepository
    numbers: DocumentNumbering


class ForecastUnitOfWork(Transaction, Protocol):
    forecasts: ForecastRepository
    dealers: DealerRepository


class KeyAccountUnitOfWork(Transaction, Protocol):
    key_accounts: KeyAccountRepository
    dealers: DealerRepository


class CampaignUnitOfWork(Transaction, Protocol):
    campaigns: CampaignRepository
    dealers: DealerRepository
    numbers: DocumentNumbering
