"""The notification outbox in SQL (SQLAlchemy Core), on PostgreSQL and SQLite.

``enqueue`` runs on the caller's connection/session, inside the business transaction. Every
relay operation is one short transaction of its own on the store's engine.

Claiming is the part that keeps two workers from sending one message:

* PostgreSQL: ``WITH claimable AS (SELECT id … FOR UPDATE SKIP LOCKED LIMIT n) UPDATE … WHERE id
  IN claimable RETURNING …`` — concurrent workers skip each other's rows instead of waiting.
* SQLite: the same ``UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING …`` inside
  ``BEGIN IMMEDIATE``: the write lock is taken before the rows are read, so claims are
  serialised (single writer) and no two claims can see the same row as free.

Times are stored in UTC (naive UTC text on SQLite, ``timestamptz`` on PostgreSQL); workers
compare leases against their own clocks, so hosts running relays need synchronised clocks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dealercrm.adapters.db.metadata import metadata
from dealercrm.application.ports.notify import RecipientLoad
from dealercrm.adapters.db.types import UtcDateTime
from dealercrm.domain.notifications import Channel, Notification, NotificationStatus



_STATUSES = ", ".join(f"'{s.value}'" for s in NotificationStatus)
_CHANNELS = ", ".join(f"'{c.value}'" for c in Channel)

notification_outbox = Table(
    "notification_outbox",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("idempotency_key", String(200), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("recipient", String(254), nullable=False),
    Column("subject", String(500), nullable=False),
    Column("body", Text, nullable=False),
    Column("template_code", String(100), nullable=True),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("last_error_code", String(64), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("claimed_by", String(100), nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
    UniqueConstraint("idempotency_key"),
    CheckConstraint(f"status IN ({_STATUSES})", name="status"),
    CheckConstraint(f"channel IN ({_CHANNELS})", name="channel"),
    CheckConstraint("attempts >= 0", name="attempts"),
    Index("ix_notification_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    Index("ix_notification_outbox_channel_recipient_sent_at", "channel", "recipient", "sent_at"),
)

_t = notification_outbox
#: ``enqueue_many``'s statement per dialect, built once (each order's review e-mails run it).
_INSERT_NEW = {"postgresql": postgresql.insert(_t).on_conflict_do_nothing(index_elements=["idempotency_key"]),
               "sqlite": sqlite.insert(_t).on_conflict_do_nothing(index_elements=["idempotency_key"])}
_PENDING = NotificationStatus.PENDING.value
_SENDING = NotificationStatus.SENDING.value
_SENT = NotificationStatus.SENT.value
_FAILED = NotificationStatus.FAILED.value


def _to_row(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "idempotency_key": n.idempotency_key,
        "channel": n.channel.value,
        "recipient": n.recipient,
        "subject": n.subject,
        "body": n.body,
        "template_code": n.template_code,
        "status": n.status.value,
        "attempts": n.attempts,
        "next_attempt_at": n.next_attempt_at,
        "last_error": n.last_error,
        "last_error_code": n.last_error_code,
        "created_at": n.created_at,
        "sent_at": n.sent_at,
        "claimed_by": None,
        "lease_until": None,
    }


def _from_row(r: RowMapping) -> Notification:
    return Notification(
        id=r["id"],
        idempotency_key=r["idempotency_key"],
        channel=Channel(r["channel"]),
        recipient=r["recipient"],
        subject=r["subject"],
        body=r["body"],
        status=NotificationStatus(r["status"]),
        attempts=r["attempts"],
        next_attempt_at=r["next_attempt_at"],
        last_error=r["last_error"],
        created_at=r["created_at"],
        sent_at=r["sent_at"],
        last_error_code=r["last_error_code"],
        template_code=r["template_code"],
    )


class SqlAlchemyOutboxStore:
    """:class:`~dealercrm.application.ports.notify.OutboxStore` on a SQLAlchemy ``Engine``.

    Supported dialects: ``postgresql`` and ``sqlite`` (WAL mode and a busy timeout recommended
    when several processes share the file).
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- writer side ---------------------------------------------------------------------------

    def enqueue(self, tx: Connection | Session, notification: Notification) -> str:
        """Insert within ``tx`` (the business change's Connection or Session); never commits.

        A repeated idempotency key is an ``ON CONFLICT DO NOTHING`` (it does not abort the
        caller's PostgreSQL transaction) and returns the stored message's id.
        """
        conn = tx.connection() if isinstance(tx, Session) else tx
        row = _to_row(notification)
        dialect = conn.dialect.name
        if dialect in ("postgresql", "sqlite"):
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            stmt = insert(_t).values(row).on_conflict_do_nothing(index_elements=["idempotency_key"])
            if conn.execute(stmt).rowcount == 1:
                return notification.id
        else:
            try:
                with conn.begin_nested():
                    conn.execute(_t.insert().values(row))
                return notification.id
            except IntegrityError:
                pass
        existing = conn.execute(
            select(_t.c.id).where(_t.c.idempotency_key == notification.idempotency_key)
        ).scalar_one()
        return str(existing)

    def enqueue_many(self, tx: Connection | Session, notifications: Sequence[Notification]) -> None:
        """:meth:`enqueue` of several messages in one ``executemany`` (a repeated idempotency key
        is skipped, as there)."""
        if not notifications:
            return
        conn = tx.connection() if isinstance(tx, Session) else tx
        dialect = conn.dialect.name
        if dialect not in ("postgresql", "sqlite"):
            for n in notifications:
                self.enqueue(conn, n)
            return
        conn.execute(_INSERT_NEW[dialect], [_to_row(n) for n in notifications])

    # -- relay side ----------------------------------------------------------------------------

    def claim(self, worker_id: str, *, now: dt.datetime, lease_until: dt.datetime,
              limit: int) -> list[Notification]:
        due = or_(
            and_(_t.c.status == _PENDING, _t.c.next_attempt_at <= now),
            and_(_t.c.status == _SENDING, _t.c.lease_until < now),
        )
        claimable = (
            select(_t.c.id)
            .where(due)
            .order_by(_t.c.next_attempt_at, _t.c.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL only; SQLite relies on BEGIN IMMEDIATE
            .cte("claimable")
        )
        stmt = (
            update(_t)
            .where(_t.c.id.in_(select(claimable.c.id)))
            .values(status=_SENDING, claimed_by=worker_id, lease_until=lease_until,
                    attempts=_t.c.attempts + 1)
            .returning(*_t.c)
        )
        if self._engine.dialect.name == "sqlite":
            rows = self._claim_sqlite(stmt)
        else:
            with self._engine.begin() as conn:
                rows = conn.execute(stmt).mappings().all()
        claimed = [_from_row(r) for r in rows]
        claimed.sort(key=lambda n: (n.next_attempt_at, n.created_at))
        return claimed

    def _claim_sqlite(self, stmt: Any) -> Sequence[RowMapping]:
        with self._engine.connect() as conn:
            # Take control of BEGIN: pysqlite would otherwise open a deferred transaction.
            conn.execution_options(isolation_level="AUTOCOMMIT")
            with conn.begin():
                driver = conn.connection.driver_connection
                if not getattr(driver, "in_transaction", False):
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    rows = conn.execute(stmt).mappings().all()
                except BaseException:
                    if getattr(driver, "in_transaction", False):
                        conn.exec_driver_sql("ROLLBACK")
                    raise
                if getattr(driver, "in_transaction", False):
                    conn.exec_driver_sql("COMMIT")
            return rows

    def _update(self, stmt: Any) -> bool:
        with self._engine.begin() as conn:
            return conn.execute(stmt).rowcount == 1

    def _held(self, notification_id: str, worker_id: str) -> Any:
        return and_(_t.c.id == notification_id, _t.c.claimed_by == worker_id, _t.c.status == _SENDING)

    def mark_sent(self, notification_id: str, worker_id: str, *, now: dt.datetime) -> bool:
        # Not fenced by the claim: the provider accepted the message, whoever holds it now.
        return self._update(
            update(_t)
            .where(_t.c.id == notification_id, _t.c.status != _SENT)
            .values(status=_SENT, sent_at=now, claimed_by=None, lease_until=None)
        )

    def mark_retry(self, notification_id: str, worker_id: str, *, next_attempt_at: dt.datetime,
                   error: str, error_code: str) -> bool:
        return self._update(
            update(_t)
            .where(self._held(notification_id, worker_id))
            .values(status=_PENDING, next_attempt_at=next_attempt_at, last_error=error,
                    last_error_code=error_code, claimed_by=None, lease_until=None)
        )

    def release(self, notification_id: str, worker_id: str, *, next_attempt_at: dt.datetime) -> bool:
        return self._update(
            update(_t)
            .where(self._held(notification_id, worker_id))
            .values(status=_PENDING, next_attempt_at=next_attempt_at, claimed_by=None,
                    lease_until=None,
                    attempts=func.max(_t.c.attempts - 1, 0) if self._engine.dialect.name == "sqlite"
                    else func.greatest(_t.c.attempts - 1, 0))
        )

    def mark_failed(self, notification_id: str, worker_id: str, *, error: str,
                    error_code: str) -> bool:
        return self._update(
            update(_t)
            .where(self._held(notification_id, worker_id))
            .values(status=_FAILED, last_error=error, last_error_code=error_code,
                    claimed_by=None, lease_until=None)
        )

    def recipient_load(self, channel: Channel, recipient: str, *, since: dt.datetime,
                       now: dt.datetime, worker_id: str) -> RecipientLoad:
        mine = and_(_t.c.channel == channel.value, _t.c.recipient == recipient)
        with self._engine.connect() as conn:
            sent = conn.execute(
                select(func.count()).select_from(_t)
                .where(mine, _t.c.status == _SENT, _t.c.sent_at >= since)
            ).scalar_one()
            in_flight = conn.execute(
                select(func.count()).select_from(_t)
                .where(mine, _t.c.status == _SENDING, _t.c.lease_until >= now,
                       _t.c.claimed_by != worker_id)
            ).scalar_one()
        return RecipientLoad(int(sent), int(in_flight))

    # -- workbench -----------------------------------------------------------------------------

    def list_failed(self, *, limit: int = 100, offset: int = 0) -> Sequence[Notification]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(_t).where(_t.c.status == _FAILED)
                .order_by(_t.c.created_at.desc(), _t.c.id).limit(limit).offset(offset)
            ).mappings().all()
        return [_from_row(r) for r in rows]

    def requeue(self, notification_id: str, *, now: dt.datetime) -> bool:
        return self._update(
            update(_t)
            .where(_t.c.id == notification_id, _t.c.status == _FAILED)
            .values(status=_PENDING, attempts=0, next_attempt_at=now, claimed_by=None,
                    lease_until=None)
        )

    def get(self, notification_id: str) -> Notification | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(_t).where(_t.c.id == notification_id)).mappings().first()
        return _from_row(row) if row is not None else None

    def by_idempotency_key(self, idempotency_key: str) -> Notification | None:
        """The message enqueued under ``idempotency_key`` (unique), whatever its status."""
        with self._engine.connect() as conn:
            row = conn.execute(select(_t).where(_t.c.idempotency_key == idempotency_key)).mappings().first()
        return _from_row(row) if row is not None else None

    def count_by_status(self) -> dict[NotificationStatus, int]:
        """For the workbench and health checks."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(_t.c.status, func.count()).group_by(_t.c.status)).all()
        counts = {s: 0 for s in NotificationStatus}
        counts.update({NotificationStatus(s): int(c) for s, c in rows})
        return counts
