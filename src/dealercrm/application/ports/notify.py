"""Ports for notifications: the senders that talk to providers and the outbox they drain.

Senders classify every failure as either *transient* (the provider or the network may accept
the same message later: retry with backoff) or *permanent* (the provider refused this message —
a bad number, an unknown mailbox: retrying cannot help and SMS may cost money).

Every send carries the message's ``idempotency_key``. Adapters pass it to the provider (SMTP:
``Message-ID`` derived from it; SMS gateway: an idempotency field) so that the one duplicate a
crashed worker can cause is recognisable and dropped on the provider's side.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

from dealercrm.domain.errors import DomainError
from dealercrm.domain.notifications import Channel, Notification

Clock = Callable[[], dt.datetime]
"""Returns the current time as a timezone-aware UTC datetime."""


class TransientDeliveryError(DomainError):
    """The provider could not take the message now (down, timeout, 4xx SMTP, 5xx HTTP): retry."""

    code = "notify.transient"


class PermanentDeliveryError(DomainError):
    """The provider refused this message for good; ``message`` is the provider's reason."""

    code = "notify.rejected"

    def __init__(self, reason: str, *, code: str | None = None, provider_code: str | None = None,
                 **details: Any) -> None:
        super().__init__(reason, code=code, provider_code=provider_code, **details)
        self.reason = reason
        self.provider_code = provider_code


class EmailSender(Protocol):
    """Delivers one e-mail. Raises Transient/PermanentDeliveryError; returns when accepted."""

    def send(self, to: str, subject: str, body: str, *, idempotency_key: str) -> None: ...


class SmsSender(Protocol):
    """Delivers one SMS to a mainland mobile number. Same error contract as :class:`EmailSender`."""

    def send(self, phone: str, text: str, *, idempotency_key: str) -> None: ...


class RecipientLoad(NamedTuple):
    """How much one recipient has received lately: for per-recipient caps."""

    sent: int  # sent within the window
    in_flight: int  # currently claimed by *other* workers with a live lease


class OutboxStore(Protocol):
    """Durable notification outbox.

    Writers call :meth:`enqueue` inside their own transaction; relays (workers) drain the outbox
    through the other methods, each of which is atomic on its own. A worker only changes rows it
    holds a live claim on (``claimed_by`` = its id), except :meth:`mark_sent`, which records a
    fact: the provider accepted the message.
    """

    def enqueue_many(self, tx: Any, notifications: Sequence[Notification]) -> None:
        """:meth:`enqueue` of each of ``notifications``, in one write where the store can."""
        ...

    def enqueue(self, tx: Any, notification: Notification) -> str:
        """Add ``notification`` as part of the caller's open transaction ``tx``.

        ``tx`` is the adapter's transaction handle (for the SQL store: the SQLAlchemy
        ``Connection`` or ``Session`` of the business change), so the message commits or rolls
        back with that change. If a message with the same ``idempotency_key`` exists, nothing
        is written and the existing message's id is returned.
        """
        ...

    def claim(self, worker_id: str, *, now: dt.datetime, lease_until: dt.datetime,
              limit: int) -> list[Notification]:
        """Atomically take up to ``limit`` due messages for ``worker_id`` until ``lease_until``.

        Due: pending with ``next_attempt_at <= now``, or sending with an expired lease (its
        worker died). Claimed messages are ``sending`` and their ``attempts`` is incremented.
        Two workers never hold the same message at the same time.
        """
        ...

    def mark_sent(self, notification_id: str, worker_id: str, *, now: dt.datetime) -> bool:
        """Record delivery. True if this call changed the message."""
        ...

    def mark_retry(self, notification_id: str, worker_id: str, *, next_attempt_at: dt.datetime,
                   error: str, error_code: str) -> bool:
        """Back to pending after a transient failure. False if the claim was lost."""
        ...

    def release(self, notification_id: str, worker_id: str, *, next_attempt_at: dt.datetime) -> bool:
        """Hand back a claim that was not attempted (the attempt is not counted)."""
        ...

    def mark_failed(self, notification_id: str, worker_id: str, *, error: str,
                    error_code: str) -> bool:
        """Give up: the message is failed and shown on the workbench. False if the claim was lost."""
        ...

    def recipient_load(self, channel: Channel, recipient: str, *, since: dt.datetime,
                       now: dt.datetime, worker_id: str) -> RecipientLoad:
        """Messages sent to ``recipient`` since ``since``, and those other workers than
        ``worker_id`` are sending to it now (the asker's own batch is sent one by one)."""
        ...

    def list_failed(self, *, limit: int = 100, offset: int = 0) -> Sequence[Notification]:
        """Failed messages, newest first, for the workbench."""
        ...

    def requeue(self, notification_id: str, *, now: dt.datetime) -> bool:
        """Retry a failed message with a fresh set of attempts (workbench action)."""
        ...

    def get(self, notification_id: str) -> Notification | None: ...
