"""Tables, imperative mapping and repositories of the marketing contexts: training, knowledge
base, sales forecasts, key accounts with bid cases, campaigns with leads (migration 0012)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    or_,
    select,
)
from sqlalchemy.orm import Session, relationship

from dealercrm.adapters.db.base import IdType, mapper_registry, metadata
from dealercrm.adapters.db.orm import users
from dealercrm.adapters.db.types import StrEnumType, UtcDateTime
from dealercrm.domain.campaigns import CampaignStatus, FollowUpChannel, FollowUpOutcome, LeadStatus
from dealercrm.domain.key_accounts import BidOutcome
from dealercrm.domain.knowledge import ArticleKind, ArticleStatus
from dealercrm.domain.training import (
    InvitationResponse,
    InviteeKind,
    MeetingStatus,
    TrainingAudience,
    TrainingStatus,
)

# ---------------------------------------------------------------------------------------------
# Training (培训管理)

trainings = Table(
    "trainings",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("training_no", String(30), nullable=False, unique=True),
    Column("title", String(200), nullable=False),
    Column("topic", String(60), nullable=False),
    Column("product_line", String(20)),
    Column("audience", StrEnumType(TrainingAudience, 20), nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("online", Boolean, nullable=False),
    Column("location", String(200)),
    Column("description", Text),
    Column("vr_url", String(500)),
    Column("organizer_id", IdType),
    Column("organizer_name", String(60), nullable=False),
    Column("organizer_role", String(32), nullable=False),
    Column("status", StrEnumType(TrainingStatus, 20), nullable=False),
    Column("cancel_reason", String(500)),
    Column("meeting_status", StrEnumType(MeetingStatus, 20), nullable=False),
    Column("meeting_id", String(100)),
    Column("meeting_join_url", String(500)),
    Column("meeting_passcode", String(40)),
    Column("meeting_error", String(500)),
    Column("meeting_attempts", Integer, nullable=False),
    Column("meeting_generation", Integer, nullable=False),
    Column("stale_meeting_key", String(100)),
    Column("stale_meeting_id", String(100)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime),
    Column("version", Integer, nullable=False),
    Index("ix_trainings_starts_at", "starts_at"),
    Index("ix_trainings_meeting_status", "meeting_status"),
)

training_invitations = Table(
    "training_invitations",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("training_id", IdType, ForeignKey("trainings.id", ondelete="CASCADE"), nullable=False),
    Column("invitee_kind", StrEnumType(InviteeKind, 10), nullable=False),
    Column("invitee_id", IdType, nullable=False),
    Column("invitee_name", String(200), nullable=False),
    Column("dealer_id", IdType, ForeignKey("dealers.id")),
    Column("response", StrEnumType(InvitationResponse, 12), nullable=False),
    Column("reason", String(500)),
    Column("responded_at", UtcDateTime),
    Column("responded_by_name", String(60)),
    UniqueConstraint("training_id", "invitee_kind", "invitee_id"),
    Index("ix_training_invitations_invitee", "invitee_kind", "invitee_id", "training_id"),
)

training_participants = Table(
    "training_participants",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("training_id", IdType, ForeignKey("trainings.id", ondelete="CASCADE"), nullable=False),
    Column("invitation_id", IdType, ForeignKey("training_invitations.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(60), nullable=False),
    Column("attended", Boolean, nullable=False),
    Column("feedback_score", Integer),
    Column("quiz_score", Integer),
    Column("comment", String(500)),
    Column("recorded_at", UtcDateTime, nullable=False),
    UniqueConstraint("invitation_id", "name"),
    CheckConstraint("feedback_score IS NULL OR feedback_score BETWEEN 1 AND 5", name="feedback_range"),
    CheckConstraint("quiz_score IS NULL OR quiz_score BETWEEN 0 AND 100", name="quiz_range"),
    Index("ix_training_participants_training_id", "training_id"),
)


# ---------------------------------------------------------------------------------------------
# Knowledge base (知识库)

kb_articles = Table(
    "kb_articles",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("article_no", String(30), nullable=False, unique=True),
    Column("title", String(200), nullable=False),
    Column("topic", String(60), nullable=False),
    Column("kind", StrEnumType(ArticleKind, 20), nullable=False),
    Column("body", Text, nullable=False),
    Column("attachments", JSON, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("tags_text", String(700), nullable=False),
    Column("product_lines", JSON, nullable=False),
    Column("lines_text", String(100), nullable=False),
    Column("for_dealers", Boolean, nullable=False),
    Column("for_stations", Boolean, nullable=False),
    Column("status", StrEnumType(ArticleStatus, 20), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by_name", String(60), nullable=False),
    Column("published_at", UtcDateTime),
    Column("updated_at", UtcDateTime),
    Column("updated_by_name", String(60)),
    Column("version", Integer, nullable=False),
    Index("ix_kb_articles_status_id", "status", "id"),
    Index("ix_kb_articles_topic", "topic"),
)

kb_article_revisions = Table(
    "kb_article_revisions",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("article_id", IdType, ForeignKey("kb_articles.id", ondelete="CASCADE"), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("edited_at", UtcDateTime, nullable=False),
    Column("edited_by_name", String(60), nullable=False),
    UniqueConstraint("article_id", "revision"),
)


# ---------------------------------------------------------------------------------------------
# Sales forecasts (销售预测)

sales_forecasts = Table(
    "sales_forecasts",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), nullable=False),
    Column("month", Date, nullable=False),
    Column("submitted_at", UtcDateTime, nullable=False),
    Column("submitted_by_name", String(60), nullable=False),
    Column("revisions", Integer, nullable=False),
    Column("updated_at", UtcDateTime),
    Column("version", Integer, nullable=False),
    UniqueConstraint("dealer_id", "month"),
    Index("ix_sales_forecasts_month", "month"),
)

sales_forecast_lines = Table(
    "sales_forecast_lines",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("forecast_id", IdType, ForeignKey("sales_forecasts.id", ondelete="CASCADE"), nullable=False),
    Column("product_line", String(20), nullable=False),
    Column("template_id", IdType, ForeignKey("catalog_templates.id")),
    Column("quantity", Integer, nullable=False),
    CheckConstraint("quantity >= 0", name="quantity_non_negative"),
    Index("ix_sales_forecast_lines_forecast_id", "forecast_id"),
)


# ---------------------------------------------------------------------------------------------
# Key accounts and bid cases (大客户)

key_accounts = Table(
    "key_accounts",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("industry", String(60), nullable=False),
    Column("region", String(8), nullable=False),
    Column("dealer_id", IdType, ForeignKey("dealers.id")),
    Column("sales_rep_id", IdType, ForeignKey("users.id")),
    Column("contacts", JSON, nullable=False),
    Column("notes", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by_name", String(60), nullable=False),
    Column("updated_at", UtcDateTime),
    Column("version", Integer, nullable=False),
    Index("ix_key_accounts_dealer_id", "dealer_id"),
    Index("ix_key_accounts_region", "region"),
)

bid_cases = Table(
    "bid_cases",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("key_account_id", IdType, ForeignKey("key_accounts.id", ondelete="CASCADE"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("bid_on", Date, nullable=False),
    Column("outcome", StrEnumType(BidOutcome, 8), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("product_line", String(20)),
    Column("quantity", Integer),
    Column("competitors", JSON, nullable=False),
    Column("reasons", Text),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("recorded_by_name", String(60), nullable=False),
    CheckConstraint("amount_fen >= 0", name="amount_non_negative"),
    Index("ix_bid_cases_key_account_id", "key_account_id"),
)


# ---------------------------------------------------------------------------------------------
# Campaigns and leads (营销推广)

marketing_budgets = Table(  # 市场营销计划和预算: the year's budget the campaigns are planned within
    "marketing_budgets",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("budget_fen", BigInteger, nullable=False),
    Column("note", String(500)),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(60), nullable=False),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("campaign_no", String(30), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("target_segment", String(500), nullable=False),
    Column("budget_fen", BigInteger, nullable=False),
    Column("actual_cost_fen", BigInteger),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("product_lines", JSON, nullable=False),
    Column("regions", JSON, nullable=False),
    Column("channel", String(60)),
    Column("description", Text),
    Column("status", StrEnumType(CampaignStatus, 12), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by_name", String(60), nullable=False),
    Column("updated_at", UtcDateTime),
    Column("version", Integer, nullable=False),
    CheckConstraint("budget_fen >= 0", name="budget_non_negative"),
    CheckConstraint("ends_on >= starts_on", name="period"),
)

campaign_leads = Table(
    "campaign_leads",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("campaign_id", IdType, ForeignKey("campaigns.id"), nullable=False),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("phone", String(20), nullable=False),
    Column("interest", String(500)),
    Column("product_line", String(20)),
    Column("status", StrEnumType(LeadStatus, 12), nullable=False),
    Column("order_id", IdType, ForeignKey("orders.id"), unique=True),
    Column("converted_at", UtcDateTime),
    Column("lost_reason", String(500)),
    Column("next_contact_on", Date),  # Beijing day; set by the latest contact, cleared when the lead closes
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by_name", String(60), nullable=False),
    Column("updated_at", UtcDateTime),
    Column("version", Integer, nullable=False),
    UniqueConstraint("campaign_id", "phone"),
    Index("ix_campaign_leads_dealer_id_id", "dealer_id", "id"),
    Index("ix_campaign_leads_campaign_id_status", "campaign_id", "status"),
    Index("ix_campaign_leads_next_contact_on_dealer_id", "next_contact_on", "dealer_id"),
)

lead_follow_ups = Table(  # 跟进记录: one row per follow-up, written with the lead's change (migration 0036)
    "lead_follow_ups",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("lead_id", IdType, ForeignKey("campaign_leads.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("by_user_id", IdType, ForeignKey("users.id")),
    Column("by_name", String(60), nullable=False),
    Column("outcome", StrEnumType(FollowUpOutcome, 12), nullable=False),
    Column("channel", StrEnumType(FollowUpChannel, 12)),
    Column("note", String(1000)),
    Column("next_contact_on", Date),
    Index("ix_lead_follow_ups_lead_id_id", "lead_id", "id"),
)


def _locks(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


class SqlAlchemyTrainingRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, training: Any) -> None:
        self.session.add(training)

    def get(self, training_id: int) -> Any:
        from dealercrm.domain.training import Training

        return self.session.get(Training, training_id, with_for_update=_locks(self.session) or None)

    def needing_meeting_work(self, limit: int = 50) -> list[int]:
        """Ids of trainings whose meeting is still to create or to cancel."""
        q = (select(trainings.c.id)
             .where(or_(trainings.c.meeting_status.in_([MeetingStatus.PENDING.value,
                                                        MeetingStatus.CANCEL_PENDING.value]),
                        trainings.c.stale_meeting_key.is_not(None)))
             .order_by(trainings.c.id).limit(limit))
        return [r[0] for r in self.session.execute(q)]

    def recipients(self, kind: InviteeKind, invitee_id: int) -> list[dict[str, Any]]:
        """Active users who speak for an invitee: the user itself, a dealer's or a station's users."""
        u = users
        cond = {InviteeKind.USER: u.c.id == invitee_id, InviteeKind.DEALER: u.c.dealer_id == invitee_id,
                InviteeKind.STATION: u.c.station_id == invitee_id}[kind]
        q = select(u.c.id, u.c.display_name, u.c.email, u.c.phone).where(cond, u.c.is_active.is_(True)).order_by(u.c.id)
        return [dict(r._mapping) for r in self.session.execute(q)]

    def user_brief(self, user_id: int) -> dict[str, Any] | None:
        row = self.session.execute(select(users.c.id, users.c.display_name, users.c.role, users.c.is_active)
                                   .where(users.c.id == user_id)).first()
        return dict(row._mapping) if row else None

    def station_exists(self, station_id: int) -> bool:
        return self.session.execute(select(users.c.id).where(users.c.station_id == station_id).limit(1)).first() \
            is not None

    def upcoming_for_reminder(self, start_from: dt.datetime, start_before: dt.datetime) -> list[int]:
        q = (select(trainings.c.id)
             .where(trainings.c.status == TrainingStatus.SCHEDULED.value, trainings.c.starts_at >= start_from,
                    trainings.c.starts_at < start_before)
             .order_by(trainings.c.id).limit(200))
        return [r[0] for r in self.session.execute(q)]


class SqlAlchemyArticleRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, article: Any) -> None:
        self.session.add(article)

    def get(self, article_id: int) -> Any:
        from dealercrm.domain.knowledge import Article

        return self.session.get(Article, article_id, with_for_update=_locks(self.session) or None)


class SqlAlchemyForecastRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, forecast: Any) -> None:
        self.session.add(forecast)

    def for_month(self, dealer_id: int, month: dt.date) -> Any:
        from dealercrm.domain.forecasts import SalesForecast

        q = select(SalesForecast).where(sales_forecasts.c.dealer_id == dealer_id, sales_forecasts.c.month == month)
        if _locks(self.session):
            q = q.with_for_update()
        return self.session.scalars(q).first()

    def template_line(self, template_id: int) -> str | None:
        from dealercrm.adapters.db.orders_tables import catalog_templates

        row = self.session.execute(select(catalog_templates.c.product_line)
                                   .where(catalog_templates.c.id == template_id)).first()
        return None if row is None else getattr(row[0], "value", row[0])


class SqlAlchemyKeyAccountRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, account: Any) -> None:
        self.session.add(account)

    def get(self, account_id: int) -> Any:
        from dealercrm.domain.key_accounts import KeyAccount

        return self.session.get(KeyAccount, account_id, with_for_update=_locks(self.session) or None)

    def sales_user(self, user_id: int) -> dict[str, Any] | None:
        row = self.session.execute(select(users.c.id, users.c.role, users.c.regions, users.c.is_active)
                                   .where(users.c.id == user_id)).first()
        return dict(row._mapping) if row else None


class SqlAlchemyCampaignRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, obj: Any) -> None:
        self.session.add(obj)

    def get(self, campaign_id: int) -> Any:
        from dealercrm.domain.campaigns import Campaign

        return self.session.get(Campaign, campaign_id, with_for_update=_locks(self.session) or None)

    def lead(self, lead_id: int) -> Any:
        from dealercrm.domain.campaigns import Lead

        return self.session.get(Lead, lead_id, with_for_update=_locks(self.session) or None)

    def year_budget(self, year: int) -> int | None:
        q = select(marketing_budgets.c.budget_fen).where(marketing_budgets.c.year == year)
        if _locks(self.session):
            q = q.with_for_update()  # planning against the budget is one writer at a time
        value = self.session.execute(q).scalar()
        return None if value is None else int(value)

    def set_year_budget(self, year: int, budget_fen: int, note: str | None, at: dt.datetime, by: str) -> None:
        from sqlalchemy import delete, insert

        self.session.execute(delete(marketing_budgets).where(marketing_budgets.c.year == year))
        self.session.execute(insert(marketing_budgets).values(year=year, budget_fen=budget_fen, note=note,
                                                              updated_at=at, updated_by=by))

    def planned_fen(self, year: int, *, excluding: int | None = None) -> int:
        from sqlalchemy import func

        c = campaigns.c
        q = select(func.coalesce(func.sum(c.budget_fen), 0)).where(
            c.starts_on >= dt.date(year, 1, 1), c.starts_on < dt.date(year + 1, 1, 1), c.status != "cancelled")
        if excluding is not None:
            q = q.where(c.id != excluding)
        return int(self.session.execute(q).scalar_one())

    def order_brief(self, order_id: int) -> dict[str, Any] | None:
        from dealercrm.adapters.db.orders_tables import orders

        row = self.session.execute(select(orders.c.id, orders.c.dealer_id, orders.c.state)
                                   .where(orders.c.id == order_id)).first()
        if row is None:
            return None
        return {"id": row.id, "dealer_id": row.dealer_id, "state": getattr(row.state, "value", row.state)}


def start_marketing_mappers() -> None:
    """Map the marketing aggregates (called once from ``mapping.start_mappers``)."""
    from dealercrm.domain.training import Invitation, Participant, Training

    mapper_registry.map_imperatively(Invitation, training_invitations)
    mapper_registry.map_imperatively(Participant, training_participants)
    mapper_registry.map_imperatively(
        Training, trainings,
        properties={
            "invitations": relationship(Invitation, order_by=training_invitations.c.id, cascade="all, delete-orphan",
                                        lazy="selectin"),
            "participants": relationship(Participant, order_by=training_participants.c.id,
                                         cascade="all, delete-orphan", lazy="selectin"),
        },
        version_id_col=trainings.c.version,
    )
    _map_more()


def _map_more() -> None:
    """The other marketing aggregates (knowledge, forecasts, key accounts, campaigns)."""
    from dealercrm.domain.knowledge import Article, ArticleRevision

    mapper_registry.map_imperatively(ArticleRevision, kb_article_revisions)
    mapper_registry.map_imperatively(
        Article, kb_articles,
        properties={"revisions": relationship(ArticleRevision, order_by=kb_article_revisions.c.revision,
                                              cascade="all, delete-orphan", lazy="selectin")},
        version_id_col=kb_articles.c.version,
    )

    from dealercrm.domain.forecasts import ForecastLine, SalesForecast

    mapper_registry.map_imperatively(ForecastLine, sales_forecast_lines)
    mapper_registry.map_imperatively(
        SalesForecast, sales_forecasts,
        properties={"lines": relationship(ForecastLine, order_by=sales_forecast_lines.c.id,
                                          cascade="all, delete-orphan", lazy="selectin")},
        version_id_col=sales_forecasts.c.version,
    )

    from dealercrm.domain.key_accounts import BidCase, KeyAccount

    mapper_registry.map_imperatively(BidCase, bid_cases)
    mapper_registry.map_imperatively(
        KeyAccount, key_accounts,
        properties={"bid_cases": relationship(BidCase, order_by=bid_cases.c.id, cascade="all, delete-orphan",
                                              lazy="selectin")},
        version_id_col=key_accounts.c.version,
    )

    from dealercrm.domain.campaigns import Campaign, Lead, LeadFollowUp

    mapper_registry.map_imperatively(Campaign, campaigns, version_id_col=campaigns.c.version)
    mapper_registry.map_imperatively(Lead, campaign_leads, version_id_col=campaign_leads.c.version)
    mapper_registry.map_imperatively(LeadFollowUp, lead_follow_ups)
