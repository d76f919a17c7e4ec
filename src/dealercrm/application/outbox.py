"""The notification outbox: write a message with the business change, deliver it later.

Writing
    A use case calls :func:`enqueue_notification` with the transaction handle of its own change
    (through its unit of work). The message is stored only if that transaction commits, so a
    rolled-back change sends nothing. The same ``idempotency_key`` twice stores one message.

Delivering
    :class:`OutboxRelay` claims due messages with a lease, sends each through the
    :class:`EmailSender` / :class:`SmsSender` port and records the outcome:

    * accepted → ``sent``;
    * transient error → ``pending`` again at ``now + backoff`` (exponential, bounded jitter);
      after ``max_attempts`` attempts → ``failed`` with code ``notify.gave_up`` and the last
      reason;
    * permanent error (provider 4xx such as a bad number) → ``failed`` at once with code
      ``notify.rejected`` and the provider's reason, never retried;
    * per-recipient cap (e.g. 10 SMS per phone per 24 h): once that many messages were *sent*
      to the recipient within the window, the message → ``failed`` with ``notify.cap_exceeded``
      (SMS costs money; a person sees it on the workbench and may requeue it). If the cap would
      only be reached by messages other workers are sending right now, the message is deferred
      briefly instead (its attempt is not counted), so concurrent workers cannot overshoot.

Guarantee
    *Effectively once, not exactly once.* Every message is attempted until sent or failed
    (at-least-once), by at most one live worker at a time (the claim is atomic and leased). A
    duplicate hand-over to the provider happens only when a worker dies, or stalls past its
    lease, after the provider accepted a message and before ``sent`` was recorded; the resend
    carries the same idempotency key (SMTP ``Message-ID``, SMS gateway idempotency field), so a
    provider that deduplicates by it delivers exactly once. A live worker never sends on an
    expiring lease: before each send it checks that ``send_budget`` still fits in the lease, and
    otherwise hands the rest of its batch back.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import attrs

from dealercrm.application.ports.notify import (
    Clock,
    EmailSender,
    OutboxStore,
    PermanentDeliveryError,
    SmsSender,
    TransientDeliveryError,
)
from dealercrm.domain.notifications import (
    CAP_EXCEEDED,
    GAVE_UP,
    REJECTED,
    TEMPLATES,
    TRANSIENT,
    Channel,
    Notification,
    TemplateRegistry,
    mask_recipient,
)


class EventLog(Protocol):
    """Where the relay reports what it did; ``structlog.get_logger(...).info`` fits."""

    def __call__(self, event: str, **fields: Any) -> Any: ...


def _no_log(event: str, **fields: Any) -> None:
    return None


def enqueue_notification(
    store: OutboxStore,
    tx: Any,
    *,
    template_code: str,
    variables: Mapping[str, object],
    recipient: str,
    idempotency_key: str,
    clock: Clock,
    templates: TemplateRegistry = TEMPLATES,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> str:
    """Render a template and put the message into the outbox within the caller's transaction.

    Returns the message id (the existing one if ``idempotency_key`` was used before). Raises
    :class:`InvalidValue` for a missing/unknown variable or a bad recipient — before anything
    is written, so the caller's transaction can still roll back cleanly.
    """
    message = templates.render(template_code, variables)
    notification = Notification.new(id=new_id(), idempotency_key=idempotency_key, message=message,
                                     recipient=recipient, now=clock())
    return store.enqueue(tx, notification)


def new_ids(count: int, at: dt.datetime) -> list[str]:
    """``count`` outbox ids: time-ordered UUIDs (RFC 9562 version 7 — the milliseconds of ``at``,
    then 74 random bits), as text, from one read of the random source. Ids made together sit
    side by side in the outbox's primary-key index, so an order's 12 review mails dirty one or two
    of its pages instead of about 16 scattered ones (random version-4 ids;
    benchmarks/order_wal_pages.py), and the relay's oldest-first claims read neighbouring rows."""
    millis = int(at.timestamp() * 1000) & (1 << 48) - 1
    raw = os.urandom(10 * count)
    ids = []
    for i in range(0, 10 * count, 10):
        rand = int.from_bytes(raw[i:i + 10])  # 80 bits: 12 for rand_a, 62 for rand_b, 6 unused
        value = (millis << 80) | (0x7 << 76) | ((rand >> 62) & 0xFFF) << 64 | (0b10 << 62) | (rand & (1 << 62) - 1)
        ids.append(str(uuid.UUID(int=value)))
    return ids


def enqueue_notifications(
    store: OutboxStore,
    tx: Any,
    messages: Iterable[tuple[str, Mapping[str, object], str, str]],
    *,
    clock: Clock,
    templates: TemplateRegistry = TEMPLATES,
    new_id: Callable[[], str] | None = None,
) -> None:
    """:func:`enqueue_notification` of each ``(template_code, variables, recipient,
    idempotency_key)``, rendered first (a bad one raises before anything is written), then put
    into the outbox in one write."""
    now = clock()
    batch = list(messages)
    ids = new_ids(len(batch), now) if new_id is None else [new_id() for _ in batch]
    notifications = [Notification.new(id=message_id, idempotency_key=key, message=templates.render(code, variables),
                                      recipient=recipient, now=now)
                     for message_id, (code, variables, recipient, key) in zip(ids, batch, strict=True)]
    if notifications:
        store.enqueue_many(tx, notifications)


@attrs.frozen
class Backoff:
    """Delay before retry ``n`` (1-based): ``base * factor**(n-1)``, capped, ± ``jitter``.

    Jitter spreads retries of many messages that failed together (a provider outage) so they do
    not all hit the provider again at the same instant. The result never exceeds ``max_delay``.
    """

    base: dt.timedelta = dt.timedelta(seconds=30)
    factor: float = 2.0
    max_delay: dt.timedelta = dt.timedelta(hours=1)
    jitter: float = attrs.field(default=0.2, validator=attrs.validators.and_(
        attrs.validators.ge(0.0), attrs.validators.le(1.0)))

    def delay(self, attempt: int, rand: float) -> dt.timedelta:
        """``rand`` in [0, 1) picks the point within the jitter band."""
        exponent = max(0, attempt - 1)
        max_s = self.max_delay.total_seconds()
        raw = min(max_s, self.base.total_seconds() * self.factor ** min(exponent, 64))
        jittered = raw * (1.0 + self.jitter * (2.0 * rand - 1.0))
        return dt.timedelta(seconds=min(max_s, max(0.0, jittered)))


@attrs.frozen
class RecipientCap:
    """At most ``limit`` messages on ``channel`` to one recipient within ``window``."""

    channel: Channel
    limit: int = attrs.field(validator=attrs.validators.ge(1))
    window: dt.timedelta


DEFAULT_CAPS: tuple[RecipientCap, ...] = (RecipientCap(Channel.SMS, 10, dt.timedelta(days=1)),)


@attrs.define
class RelayStats:
    """What one :meth:`OutboxRelay.run_once` did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0
    released: int = 0
    lost: int = 0  # outcomes not recorded because another worker took the message over


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class OutboxRelay:
    """Drains the outbox: claim → send → record. Safe to run in several processes at once."""

    def __init__(
        self,
        store: OutboxStore,
        email: EmailSender,
        sms: SmsSender,
        clock: Clock,
        max_attempts: int = 8,
        backoff: Backoff = Backoff(),
        per_recipient_caps: Iterable[RecipientCap] = DEFAULT_CAPS,
        *,
        batch_size: int = 20,
        lease: dt.timedelta = dt.timedelta(minutes=5),
        send_budget: dt.timedelta = dt.timedelta(seconds=60),
        cap_defer: dt.timedelta = dt.timedelta(seconds=30),
        rand: Callable[[], float] = random.random,
        log: EventLog = _no_log,
        deliverers: Mapping[Channel, Callable[[Notification], None]] | None = None,
    ) -> None:
        """``deliverers`` adds (or replaces) the delivery of further channels, e.g.
        ``{Channel.ERP: ErpReleaseDeliverer(...)}``: they raise Transient/PermanentDeliveryError
        like the senders and get the same leases, retries with backoff and give-up.
        ``send_budget`` must exceed the longest a sender may block (its timeouts); ``lease``
        must exceed ``send_budget`` — a worker only starts a send that fits in its lease."""
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if lease <= send_budget:
            raise ValueError("lease must be longer than send_budget")
        self._store = store
        self._senders: dict[Channel, Callable[[Notification], None]] = {
            Channel.EMAIL: lambda n: email.send(n.recipient, n.subject, n.body,
                                                idempotency_key=n.idempotency_key),
            Channel.SMS: lambda n: sms.send(n.recipient, n.body, idempotency_key=n.idempotency_key),
            **(deliverers or {}),
        }
        self._clock = clock
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._caps = tuple(per_recipient_caps)
        self._batch_size = batch_size
        self._lease = lease
        self._send_budget = send_budget
        self._cap_defer = cap_defer
        self._rand = rand
        self._log = log

    def run_once(self, worker_id: str) -> RelayStats:
        """Claim one batch of due messages and deliver it. Returns what happened."""
        stats = RelayStats()
        now = self._clock()
        lease_until = now + self._lease
        batch = self._store.claim(worker_id, now=now, lease_until=lease_until, limit=self._batch_size)
        stats.claimed = len(batch)
        for i, n in enumerate(batch):
            now = self._clock()
            if now + self._send_budget > lease_until:
                for rest in batch[i:]:
                    self._store.release(rest.id, worker_id, next_attempt_at=now)
                    stats.released += 1
                self._log("outbox_batch_released", worker=worker_id, released=len(batch) - i)
                break
            self._deliver(worker_id, n, now, stats)
        return stats

    def drain(self, worker_id: str) -> RelayStats:
        """Run batches until nothing due is left (a batch comes back short); the totals.
        Retried and deferred messages get later due times, so this ends."""
        total = RelayStats()
        while True:
            stats = self.run_once(worker_id)
            for name in attrs.fields_dict(RelayStats):
                setattr(total, name, getattr(total, name) + getattr(stats, name))
            if stats.claimed < self._batch_size:
                return total

    def run(self, stop_event: threading.Event, poll_interval: float = 1.0, *,
            worker_id: str | None = None, max_error_wait: float = 30.0) -> None:
        """Relay until ``stop_event`` is set. Store errors (database down) are logged and waited
        out with backoff; they never end the loop."""
        wid = worker_id or default_worker_id()
        errors = 0
        self._log("outbox_relay_started", worker=wid)
        while not stop_event.is_set():
            try:
                stats = self.run_once(wid)
            except Exception as exc:  # the worker must outlive a database outage
                errors += 1
                self._log("outbox_relay_error", worker=wid, error=f"{type(exc).__name__}: {exc}")
                stop_event.wait(min(max_error_wait, poll_interval * 2 ** min(errors, 10)))
                continue
            errors = 0
            if stats.claimed == 0:
                stop_event.wait(poll_interval)
        self._log("outbox_relay_stopped", worker=wid)

    # -----------------------------------------------------------------------------------------

    def _deliver(self, worker_id: str, n: Notification, now: dt.datetime, stats: RelayStats) -> None:
        masked = mask_recipient(n.recipient)
        if n.attempts > self._max_attempts:
            # Only reachable when workers died while holding it: don't let it kill more.
            self._fail(worker_id, n, stats, GAVE_UP,
                       f"投递中断次数过多（已开始 {n.attempts - 1} 次），已放弃")
            return
        if n.channel not in self._senders:
            # e.g. an ERP release in a worker without ERP settings: leave it for one that has them
            if self._store.release(n.id, worker_id, next_attempt_at=now + self._cap_defer * 10):
                stats.deferred += 1
            else:
                stats.lost += 1
            self._log("notification_no_deliverer", id=n.id, channel=str(n.channel), worker=worker_id)
            return
        if not self._within_caps(worker_id, n, now, stats):
            return
        try:
            self._senders[n.channel](n)
        except PermanentDeliveryError as exc:
            self._fail(worker_id, n, stats, REJECTED, exc.reason)
        except TransientDeliveryError as exc:
            self._retry(worker_id, n, stats, exc.message)
        except Exception as exc:  # an adapter bug must not stop the relay; treat as transient
            self._retry(worker_id, n, stats, f"{type(exc).__name__}: {exc}")
        else:
            self._store.mark_sent(n.id, worker_id, now=self._clock())
            stats.sent += 1
            self._log("notification_sent", id=n.id, channel=str(n.channel), recipient=masked,
                      attempt=n.attempts, worker=worker_id)

    def _within_caps(self, worker_id: str, n: Notification, now: dt.datetime,
                     stats: RelayStats) -> bool:
        for cap in self._caps:
            if cap.channel is not n.channel:
                continue
            load = self._store.recipient_load(n.channel, n.recipient, since=now - cap.window,
                                              now=now, worker_id=worker_id)
            if load.sent >= cap.limit:
                self._fail(worker_id, n, stats, CAP_EXCEEDED,
                           f"该收件人在{_window_text(cap.window)}内已收到 {load.sent} 条消息，"
                           f"达到上限 {cap.limit} 条")
                return False
            if load.sent + load.in_flight >= cap.limit:
                if self._store.release(n.id, worker_id, next_attempt_at=now + self._cap_defer):
                    stats.deferred += 1
                else:
                    stats.lost += 1
                self._log("notification_deferred_by_cap", id=n.id,
                          recipient=mask_recipient(n.recipient), worker=worker_id)
                return False
        return True

    def _retry(self, worker_id: str, n: Notification, stats: RelayStats, reason: str) -> None:
        if n.attempts >= self._max_attempts:
            self._fail(worker_id, n, stats, GAVE_UP,
                       f"{n.attempts} 次投递均失败，最后一次错误：{reason}")
            return
        at = self._clock() + self._backoff.delay(n.attempts, self._rand())
        if self._store.mark_retry(n.id, worker_id, next_attempt_at=at, error=reason,
                                  error_code=TRANSIENT):
            stats.retried += 1
        else:
            stats.lost += 1
        self._log("notification_retry_scheduled", id=n.id, recipient=mask_recipient(n.recipient),
                  attempt=n.attempts, next_attempt_at=at.isoformat(), error=reason, worker=worker_id)

    def _fail(self, worker_id: str, n: Notification, stats: RelayStats, code: str,
              reason: str) -> None:
        if self._store.mark_failed(n.id, worker_id, error=reason, error_code=code):
            stats.failed += 1
        else:
            stats.lost += 1
        self._log("notification_failed", id=n.id, channel=str(n.channel),
                  recipient=mask_recipient(n.recipient), code=code, error=reason,
                  attempt=n.attempts, worker=worker_id)


def _window_text(window: dt.timedelta) -> str:
    seconds = int(window.total_seconds())
    if seconds % 86400 == 0:
        return f"{seconds // 86400}天"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}小时"
    return f"{seconds // 60}分钟"
