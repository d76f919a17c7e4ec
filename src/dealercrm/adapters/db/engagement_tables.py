"""Tables and mappers of the engagement context: alerts (and their audience), announcements
(targets, read receipts), calendar feed tokens, and who queued which notification.

``start_engagement_mappers()`` is called from ``mapping.start_mappers()``.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from dealercrm.adapters.db.base import IdType, mapper_registry, metadata
from dealercrm.adapters.db.types import StrEnumType, UtcDateTime
from dealercrm.domain.alerts import Alert, AlertState, AudienceEntry, Severity
from dealercrm.domain.announcements import (
    Announcement,
    AnnouncementAudience,
    AnnouncementCategory,
    AnnouncementStatus,
    AnnouncementTarget,
)

_KINDS = "'user', 'role', 'dealer', 'station'"

alerts = Table(
    "alerts",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("rule", String(60), nullable=False),
    Column("key", String(200), nullable=False),
    Column("severity", StrEnumType(Severity, 10), nullable=False),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("subject_type", String(40)),
    Column("subject_id", String(64)),
    Column("due_on", Date),
    Column("region", String(8)),
    Column("state", StrEnumType(AlertState, 16), nullable=False),
    Column("raised_at", UtcDateTime, nullable=False),
    Column("acknowledged_at", UtcDateTime),
    Column("acknowledged_by", IdType),
    Column("acknowledged_by_name", String(60)),
    Column("resolved_at", UtcDateTime),
    Column("resolved_by", IdType),
    Column("resolved_by_name", String(60)),
    # "The same condition never alerts twice", held by the database for every writer.
    UniqueConstraint("rule", "key"),
    Index("ix_alerts_state_due_on", "state", "due_on"),
    Index("ix_alerts_rule_state", "rule", "state"),
)

alert_audience = Table(
    "alert_audience",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("alert_id", IdType, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("value", String(40), nullable=False),
    CheckConstraint(f"kind IN ({_KINDS})", name="kind"),
    Index("ix_alert_audience_kind_value_alert_id", "kind", "value", "alert_id"),
    Index("ix_alert_audience_alert_id", "alert_id"),
)

announcements = Table(
    "announcements",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("category", StrEnumType(AnnouncementCategory, 16), nullable=False),
    Column("audience", StrEnumType(AnnouncementAudience, 10), nullable=False),
    Column("publish_from", UtcDateTime, nullable=False),
    Column("publish_until", UtcDateTime),
    Column("status", StrEnumType(AnnouncementStatus, 12), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", IdType),
    Column("created_by_name", String(60), nullable=False),
    Column("updated_at", UtcDateTime),
    Column("withdrawn_at", UtcDateTime),
    Column("withdrawn_by_name", String(60)),
    Column("version", Integer, nullable=False),
    Index("ix_announcements_status_publish_from", "status", "publish_from"),
)

announcement_targets = Table(
    "announcement_targets",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("announcement_id", IdType, ForeignKey("announcements.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("value", String(40), nullable=False),
    CheckConstraint("kind IN ('role', 'dealer')", name="kind"),
    Index("ix_announcement_targets_kind_value", "kind", "value", "announcement_id"),
    Index("ix_announcement_targets_announcement_id", "announcement_id"),
)

announcement_reads = Table(
    "announcement_reads",
    metadata,
    Column("announcement_id", IdType, ForeignKey("announcements.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", IdType, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("read_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("announcement_id", "user_id"),
    Index("ix_announcement_reads_user_id", "user_id"),
)

calendar_feed_tokens = Table(
    "calendar_feed_tokens",
    metadata,
    Column("user_id", IdType, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
)

# Who (a staff user) made the change that queued a notification: they see it on their workbench
# if it fails. The outbox table itself stays context-free.
notification_owners = Table(
    "notification_owners",
    metadata,
    Column("notification_id", String(36), ForeignKey("notification_outbox.id", ondelete="CASCADE"),
           primary_key=True),
    Column("user_id", IdType, nullable=False),
    Index("ix_notification_owners_user_id", "user_id"),
)


def start_engagement_mappers() -> None:
    """Map the engagement aggregates (called once from ``mapping.start_mappers``)."""
    mapper_registry.map_imperatively(AudienceEntry, alert_audience)
    mapper_registry.map_imperatively(
        Alert, alerts,
        properties={
            "recipients": relationship(AudienceEntry, order_by=alert_audience.c.id, cascade="all, delete-orphan",
                                       lazy="selectin"),
        },
    )
    mapper_registry.map_imperatively(AnnouncementTarget, announcement_targets)
    mapper_registry.map_imperatively(
        Announcement, announcements,
        properties={
            "targets": relationship(AnnouncementTarget, order_by=announcement_targets.c.id,
                                    cascade="all, delete-orphan", lazy="selectin"),
        },
        version_id_col=announcements.c.version,
    )
