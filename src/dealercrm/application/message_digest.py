"""The away digest (issue 21 §4): a message a member has not read within a set time goes out to
them as one e-mail digest per person (``message.away_digest``) through the notification outbox,
so the relay's per-recipient caps apply. Mentions of the person and messages on a record's
thread are urgent: they are due sooner (``urgent_after``) and also go out as an SMS
(``message.away_urgent``).

Each message is digested once: the digest and the member's mark (``digested_id`` per
conversation) are written in one transaction, and the outbox key names the last message sent,
so a second run — or a second worker — sends nothing new.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

import attrs

from dealercrm.application.alerts import RuleContext
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.values import SHANGHAI

MAX_LINES = 20


@attrs.frozen
class PendingMessage:
    """One message a member has neither read nor been sent, with what the digest shows."""

    user_id: int
    display_name: str
    email: str | None
    phone: str | None
    conversation_id: int
    conversation_title: str
    is_record_thread: bool
    message_id: int
    author_name: str
    body: str
    mentions: tuple[int, ...]
    created_at: dt.datetime

    @property
    def urgent(self) -> bool:
        return self.is_record_thread or self.user_id in self.mentions


@attrs.frozen
class DigestNotice:
    template_code: str
    variables: dict[str, object]
    recipient: str
    idempotency_key: str


class DigestStore(Protocol):
    """The members' unread, undigested messages, and the digest written with its marks."""

    def pending(self, not_after: dt.datetime, limit: int) -> list[PendingMessage]:
        """Unread, undigested, undeleted messages by others sent at or before ``not_after``, oldest first."""

    def record(self, user_id: int, up_to: dict[int, int], notices: Sequence[DigestNotice]) -> None:
        """In one transaction: put ``notices`` into the outbox and move the member's digest mark
        per conversation (``{conversation_id: message id}``), never backwards."""


def due(messages: Sequence[PendingMessage], now: dt.datetime, after: dt.timedelta,
        urgent_after: dt.timedelta) -> dict[tuple[int, int], list[PendingMessage]]:
    """The messages to send, by (member, conversation): in a conversation with a message that is
    due (an ordinary one older than ``after``, an urgent one older than ``urgent_after``), every
    pending message up to the last due one."""
    by_pair: dict[tuple[int, int], list[PendingMessage]] = {}
    for m in messages:
        by_pair.setdefault((m.user_id, m.conversation_id), []).append(m)
    out: dict[tuple[int, int], list[PendingMessage]] = {}
    for pair, rows in by_pair.items():
        ready = [m.message_id for m in rows
                 if now - m.created_at >= (urgent_after if m.urgent else after)]
        if ready:
            last = max(ready)
            out[pair] = [m for m in rows if m.message_id <= last]
    return out


def notices_for(rows: Sequence[PendingMessage], messages_url: str) -> list[DigestNotice]:
    """One e-mail listing the messages (if the person has an address) and, when one is urgent,
    one SMS (if they have a phone). The keys name the person and the last message, so each is
    queued once."""
    person, last = rows[0], max(r.message_id for r in rows)
    out = []
    if person.email:
        lines = [f"· {r.created_at.astimezone(SHANGHAI):%m-%d %H:%M} {r.conversation_title} — {r.author_name}："
                 f"{(r.body or '[附件]')[:80]}" for r in rows[:MAX_LINES]]
        if len(rows) > MAX_LINES:
            lines.append(f"……另有{len(rows) - MAX_LINES}条")
        out.append(DigestNotice("message.away_digest", {
            "recipient_name": person.display_name, "count": len(rows), "lines": "\n".join(lines),
            "messages_url": messages_url}, person.email, f"message-digest-{person.user_id}-{last}"))
    urgent = [r for r in rows if r.urgent]
    if urgent and person.phone:
        out.append(DigestNotice("message.away_urgent", {
            "recipient_name": person.display_name, "author_name": urgent[-1].author_name,
            "conversation_title": urgent[-1].conversation_title[:30], "count": len(urgent)},
            person.phone, f"message-urgent-{person.user_id}-{last}"))
    return out


class AwayDigestJob:
    """The scheduler's job (it runs every pass, possibly in two workers: the marks and the
    outbox keys keep it to one digest per message)."""

    code = "messages.away_digest"
    opens_own_units_of_work = True

    def __init__(self, store: DigestStore, portal_url: str, after: dt.timedelta, urgent_after: dt.timedelta,
                 batch: int = 2000) -> None:
        self.store = store
        self.messages_url = portal_url.rstrip("/") + "/messages"
        self.after, self.urgent_after, self.batch = after, urgent_after, batch

    def run(self, ctx: RuleContext) -> int:
        now = ctx.now
        pending = self.store.pending(now - min(self.after, self.urgent_after), self.batch)
        by_person: dict[int, list[PendingMessage]] = {}
        marks: dict[int, dict[int, int]] = {}
        for (user_id, conversation_id), rows in due(pending, now, self.after, self.urgent_after).items():
            by_person.setdefault(user_id, []).extend(rows)
            marks.setdefault(user_id, {})[conversation_id] = max(r.message_id for r in rows)
        for user_id, rows in by_person.items():
            rows.sort(key=lambda r: r.message_id)
            try:
                self.store.record(user_id, marks[user_id], notices_for(rows, self.messages_url))
            except InvalidValue:
                # an address or number the outbox refuses: nothing can reach this person, and
                # retrying every pass would not change that — the marks move on
                self.store.record(user_id, marks[user_id], ())
        return sum(len(rows) for rows in by_person.values())


__all__ = ["AwayDigestJob", "DigestNotice", "DigestStore", "PendingMessage", "due", "notices_for"]
