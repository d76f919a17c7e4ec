"""In-memory twins of the notification ports, for unit tests and the demo.

* :class:`InMemoryOutboxStore` behaves like the SQL store (claims, leases, idempotency keys);
  ``with store.transaction() as tx:`` buffers enqueues until the block ends without an error.
* :class:`RecordingEmailSender` / :class:`RecordingSmsSender` record what they were asked to
  send and can be scripted to fail.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs

from dealercrm.application.ports.notify import RecipientLoad
from dealercrm.domain.notifications import Channel, Notification, NotificationStatus


class InMemoryTransaction:
    def __init__(self) -> None:
        self.pending: list[Notification] = []


class InMemoryOutboxStore:
    """Thread-safe in-memory :class:`~dealercrm.application.ports.notify.OutboxStore`.

    ``enqueue(None, n)`` commits at once; ``enqueue(tx, n)`` with ``tx`` from
    :meth:`transaction` commits when the ``with`` block exits normally.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._rows: dict[str, Notification] = {}
        self._by_key: dict[str, str] = {}
        self._claims: dict[str, tuple[str, dt.datetime]] = {}

    @contextmanager
    def transaction(self) -> Iterator[InMemoryTransaction]:
        tx = InMemoryTransaction()
        yield tx
        with self._lock:
            for n in tx.pending:
                self._insert(n)

    def enqueue_many(self, tx: Any, notifications: Sequence[Notification]) -> None:
        for n in notifications:
            self.enqueue(tx, n)

    def enqueue(self, tx: Any, notification: Notification) -> str:
        with self._lock:
            if notification.idempotency_key in self._by_key:
                return self._by_key[notification.idempotency_key]
            if isinstance(tx, InMemoryTransaction):
                for n in tx.pending:
                    if n.idempotency_key == notification.idempotency_key:
                        return n.id
                tx.pending.append(copy.copy(notification))
                return notification.id
            return self._insert(notification)

    def _insert(self, n: Notification) -> str:
        if n.idempotency_key in self._by_key:  # lost a race with another transaction
            return self._by_key[n.idempotency_key]
        self._rows[n.id] = copy.copy(n)
        self._by_key[n.idempotency_key] = n.id
        return n.id

    def claim(self, worker_id: str, *, now: dt.datetime, lease_until: dt.datetime,
              limit: int) -> list[Notification]:
        with self._lock:
            due = [
                n for n in self._rows.values()
                if (n.status is NotificationStatus.PENDING and n.next_attempt_at <= now)
                or (n.status is NotificationStatus.SENDING and self._claims[n.id][1] < now)
            ]
            due.sort(key=lambda n: (n.next_attempt_at, n.created_at))
            taken = []
            for n in due[:limit]:
                n.start_attempt()
                self._claims[n.id] = (worker_id, lease_until)
                taken.append(copy.copy(n))
            return taken

    def _held(self, notification_id: str, worker_id: str) -> Notification | None:
        n = self._rows.get(notification_id)
        if n is None or n.status is not NotificationStatus.SENDING:
            return None
        if self._claims.get(notification_id, ("", None))[0] != worker_id:
            return None
        return n

    def mark_sent(self, notification_id: str, worker_id: str, *, now: dt.datetime) -> bool:
        with self._lock:
            n = self._rows.get(notification_id)
            if n is None or n.status is NotificationStatus.SENT:
                return False
            n.mark_sent(now)
            self._claims.pop(notification_id, None)
            return True

    def mark_retry(self, notification_id: str, worker_id: str, *, next_attempt_at: dt.datetime,
                   error: str, error_code: str) -> bool:
        with self._lock:
            n = self._held(notification_id, worker_id)
            if n is None:
                return False
            n.schedule_retry(next_attempt_at, error=error, error_code=error_code)
            self._claims.pop(notification_id, None)
            return True

    def release(self, notification_id: str, worker_id: str, *, next_attempt_at: dt.datetime) -> bool:
        with self._lock:
            n = self._held(notification_id, worker_id)
            if n is None:
                return False
            n.release(next_attempt_at)
            self._claims.pop(notification_id, None)
            return True

    def mark_failed(self, notification_id: str, worker_id: str, *, error: str,
                    error_code: str) -> bool:
        with self._lock:
            n = self._held(notification_id, worker_id)
            if n is None:
                return False
            n.mark_failed(error=error, error_code=error_code)
            self._claims.pop(notification_id, None)
            return True

    def recipient_load(self, channel: Channel, recipient: str, *, since: dt.datetime,
                       now: dt.datetime, worker_id: str) -> RecipientLoad:
        with self._lock:
            sent = in_flight = 0
            for n in self._rows.values():
                if n.channel is not channel or n.recipient != recipient:
                    continue
                if n.status is NotificationStatus.SENT and n.sent_at is not None and n.sent_at >= since:
                    sent += 1
                elif n.status is NotificationStatus.SENDING:
                    holder, lease_until = self._claims[n.id]
                    if holder != worker_id and lease_until >= now:
                        in_flight += 1
            return RecipientLoad(sent, in_flight)

    def list_failed(self, *, limit: int = 100, offset: int = 0) -> Sequence[Notification]:
        with self._lock:
            failed = [copy.copy(n) for n in self._rows.values()
                      if n.status is NotificationStatus.FAILED]
            failed.sort(key=lambda n: n.created_at, reverse=True)
            return failed[offset:offset + limit]

    def requeue(self, notification_id: str, *, now: dt.datetime) -> bool:
        with self._lock:
            n = self._rows.get(notification_id)
            if n is None or n.status is not NotificationStatus.FAILED:
                return False
            n.requeue(now)
            return True

    def get(self, notification_id: str) -> Notification | None:
        with self._lock:
            n = self._rows.get(notification_id)
            return copy.copy(n) if n is not None else None

    def all(self) -> list[Notification]:
        with self._lock:
            return [copy.copy(n) for n in self._rows.values()]


@attrs.frozen
class SentEmail:
    to: str
    subject: str
    body: str
    idempotency_key: str


@attrs.frozen
class SentSms:
    phone: str
    text: str
    idempotency_key: str


class _Recording:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script: list[BaseException | None] = []
        self.failure_for: Callable[[str], BaseException | None] = lambda recipient: None
        self.attempts = 0

    def fail_next(self, *errors: BaseException | None) -> None:
        """The next calls raise these errors in order (``None`` = that call succeeds)."""
        with self._lock:
            self._script.extend(errors)

    def _maybe_fail(self, recipient: str) -> None:
        with self._lock:
            self.attempts += 1
            error = self._script.pop(0) if self._script else None
        error = error or self.failure_for(recipient)
        if error is not None:
            raise error


class RecordingEmailSender(_Recording):
    """Records accepted e-mails in ``sent``."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[SentEmail] = []

    def send(self, to: str, subject: str, body: str, *, idempotency_key: str) -> None:
        self._maybe_fail(to)
        with self._lock:
            self.sent.append(SentEmail(to, subject, body, idempotency_key))


class RecordingSmsSender(_Recording):
    """Records accepted SMS in ``sent``."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[SentSms] = []

    def send(self, phone: str, text: str, *, idempotency_key: str) -> None:
        self._maybe_fail(phone)
        with self._lock:
            self.sent.append(SentSms(phone, text, idempotency_key))
