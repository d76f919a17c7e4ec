"""Repositories of the engagement context on the unit of work's session. They never commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, insert, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dealercrm.adapters.db.engagement_tables import announcement_reads, calendar_feed_tokens, notification_owners
from dealercrm.adapters.db.orm import dealer_contacts, dealers, users
from dealercrm.adapters.notify.sql_outbox import notification_outbox
from dealercrm.application.ports.engagement import BirthdayContact, StaffMember
from dealercrm.application.ports.persistence import QueuedMessage
from dealercrm.domain.alerts import LIVE_STATES, Alert, Audience
from dealercrm.domain.announcements import Announcement
from dealercrm.domain.channel import DealerStatus
from dealercrm.domain.identity import Principal, Role


def _locks(session: Session) -> bool:
    # SQLite write units of work begin IMMEDIATE (one writer); PostgreSQL locks the rows.
    return session.get_bind().dialect.name == "postgresql"


def _insert(session: Session):  # type: ignore[no-untyped-def]
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


class SqlAlchemyAlertRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, alert_id: int) -> Alert | None:
        return self.session.get(Alert, alert_id, with_for_update=_locks(self.session) or None)

    def by_key(self, rule: str, key: str) -> Alert | None:
        q = select(Alert).where(Alert.rule == rule, Alert.key == key)  # type: ignore[arg-type]
        if _locks(self.session):
            q = q.with_for_update()
        return self.session.scalars(q).first()

    def live_for_rule(self, rule: str) -> list[Alert]:
        q = (select(Alert).where(Alert.rule == rule, Alert.state.in_(LIVE_STATES))  # type: ignore[arg-type, attr-defined]
             .order_by(Alert.key))  # type: ignore[arg-type]
        if _locks(self.session):
            q = q.with_for_update()
        return list(self.session.scalars(q))

    def add_once(self, alert: Alert) -> bool:
        if self.by_key(alert.rule, alert.key) is not None:
            return False
        try:
            # A savepoint: a concurrent writer's committed twin fails only this insert (on
            # PostgreSQL the insert waits for that writer, then hits the unique constraint).
            with self.session.begin_nested():
                self.session.add(alert)
        except IntegrityError:
            return False
        return True


class SqlAlchemyAnnouncementRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, announcement: Announcement) -> None:
        self.session.add(announcement)

    def get(self, announcement_id: int) -> Announcement | None:
        return self.session.get(Announcement, announcement_id, with_for_update=_locks(self.session) or None)

    def mark_read(self, announcement_id: int, user_id: int, now: dt.datetime) -> dt.datetime:
        conn = self.session.connection()
        conn.execute(
            _insert(self.session)(announcement_reads)
            .values(announcement_id=announcement_id, user_id=user_id, read_at=now)
            .on_conflict_do_nothing(index_elements=["announcement_id", "user_id"])
        )
        return conn.execute(
            select(announcement_reads.c.read_at).where(announcement_reads.c.announcement_id == announcement_id,
                                                       announcement_reads.c.user_id == user_id)
        ).scalar_one()


def _staff(row: Any) -> StaffMember:
    return StaffMember(user_id=row.id, display_name=row.display_name, role=Role(row.role),
                       regions=tuple(row.regions or ()), phone=row.phone, email=row.email)


_USER_COLUMNS = (users.c.id, users.c.display_name, users.c.role, users.c.regions, users.c.phone, users.c.email,
                 users.c.dealer_id, users.c.station_id, users.c.username)


class SqlAlchemyEngagementDirectory:
    def __init__(self, session: Session) -> None:
        self.session = session

    def birthday_contacts(self) -> list[BirthdayContact]:
        q = (
            select(dealer_contacts.c.id, dealer_contacts.c.name, dealer_contacts.c.title, dealer_contacts.c.phone,
                   dealer_contacts.c.birthday, dealers.c.id.label("dealer_id"), dealers.c.legal_name,
                   dealers.c.short_name, dealers.c.region, dealers.c.sales_rep_id)
            .join(dealers, dealers.c.id == dealer_contacts.c.dealer_id)
            .where(dealer_contacts.c.birthday.is_not(None), dealers.c.status == DealerStatus.APPROVED.value)
            .order_by(dealer_contacts.c.id)
        )
        return [
            BirthdayContact(contact_id=r.id, name=r.name, title=r.title, phone=str(r.phone), birthday=r.birthday,
                            dealer_id=r.dealer_id, dealer_name=r.short_name or r.legal_name,
                            dealer_region=r.region, sales_rep_id=r.sales_rep_id)
            for r in self.session.connection().execute(q)
        ]

    def staff(self, roles: tuple[Role, ...]) -> list[StaffMember]:
        q = (select(*_USER_COLUMNS).where(users.c.role.in_([r.value for r in roles]), users.c.is_active.is_(True))
             .order_by(users.c.id))
        return [_staff(r) for r in self.session.connection().execute(q)]

    def audience_members(self, audience: Audience) -> list[StaffMember]:
        parts = []
        if audience.user_ids:
            parts.append(users.c.id.in_(audience.user_ids))
        if audience.roles:
            parts.append(users.c.role.in_([r.value for r in audience.roles]))
        if audience.dealer_ids:
            parts.append(and_(users.c.role == Role.DEALER.value, users.c.dealer_id.in_(audience.dealer_ids)))
        if audience.station_ids:
            parts.append(and_(users.c.role == Role.STATION.value, users.c.station_id.in_(audience.station_ids)))
        if not parts:
            return []
        q = select(*_USER_COLUMNS).where(or_(*parts), users.c.is_active.is_(True)).order_by(users.c.id)
        out = []
        for r in self.session.connection().execute(q):
            p = Principal(user_id=r.id, username=r.username, role=Role(r.role), dealer_id=r.dealer_id,
                          station_id=r.station_id, regions=tuple(r.regions or ()))
            if audience.admits(p):  # the region narrowing, exactly as the workbench applies it
                out.append(_staff(r))
        return out

    def set_feed_token(self, user_id: int, token_hash: str, now: dt.datetime) -> None:
        conn = self.session.connection()
        conn.execute(delete(calendar_feed_tokens).where(calendar_feed_tokens.c.user_id == user_id))
        conn.execute(insert(calendar_feed_tokens).values(user_id=user_id, token_hash=token_hash, created_at=now))


class OwnedOutbox:
    """The unit of work's outbox, remembering which staff user's change queued each message so
    that a failure shows on that person's workbench (administrators see all failures)."""

    def __init__(self, inner: Any, session: Session, actor: Principal) -> None:
        self.inner = inner
        self.session = session
        self.actor = actor

    def enqueue(self, template_code: str, variables: dict[str, object], recipient: str,
                idempotency_key: str) -> str:
        notification_id = self.inner.enqueue(template_code, variables, recipient, idempotency_key)
        if self.actor.user_id is not None and self.actor.role.is_staff and not self.actor.is_device:
            self.session.connection().execute(
                _insert(self.session)(notification_owners)
                .values(notification_id=notification_id, user_id=self.actor.user_id)
                .on_conflict_do_nothing(index_elements=["notification_id"])
            )
        return notification_id

    def enqueue_many(self, messages: Sequence[QueuedMessage]) -> None:
        self.inner.enqueue_many(messages)
        if messages and self.actor.user_id is not None and self.actor.role.is_staff and not self.actor.is_device:
            # the stored ids (a repeated key keeps its first message): one INSERT … SELECT
            owned = select(notification_outbox.c.id, literal(self.actor.user_id)).where(
                notification_outbox.c.idempotency_key.in_([m.idempotency_key for m in messages]))
            self.session.connection().execute(
                _insert(self.session)(notification_owners).from_select(["notification_id", "user_id"], owned)
                .on_conflict_do_nothing(index_elements=["notification_id"]))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
