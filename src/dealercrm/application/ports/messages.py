"""The ports of the messages context (issue 21): where conversations and messages are kept, who
the people are, how a new message reaches the browsers, and the flood limit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

import attrs

from dealercrm.domain.identity import Role
from dealercrm.domain.messages import ConversationKind, RecordKind


@attrs.frozen
class UserCard:
    """A person as a conversation shows them, with what decides whom they may write to."""

    id: int
    username: str
    display_name: str
    role: Role
    dealer_id: int | None
    station_id: int | None
    active: bool


@attrs.frozen
class AttachmentRow:
    id: int
    message_id: int
    content_type: str
    size_bytes: int
    sha256: str = attrs.field(repr=False)
    thumbnail_sha256: str | None = attrs.field(repr=False)


@attrs.frozen
class MessageRow:
    id: int
    conversation_id: int
    author_id: int
    author_name: str
    body: str  # "" once deleted
    mentions: tuple[int, ...]
    created_at: dt.datetime
    edited_at: dt.datetime | None
    deleted_at: dt.datetime | None
    attachments: tuple[AttachmentRow, ...] = ()


@attrs.frozen
class ConversationRow:
    id: int
    kind: ConversationKind
    title: str
    record_kind: RecordKind | None
    record_id: int | None
    created_at: dt.datetime
    last_message_id: int  # 0: no message yet
    last_message_at: dt.datetime | None = None
    last_message_preview: str = ""
    unread: int = 0  # for the member it was read for


@attrs.frozen
class NewAttachment:
    content_type: str
    size_bytes: int
    sha256: str
    thumbnail_sha256: str | None


class MessageStore(Protocol):
    """Conversations, members, messages and read marks. Every write is one transaction of its
    own that has committed when the method returns (so what the caller publishes afterwards is
    durable); a write that raises has stored nothing."""

    def users(self, ids: Sequence[int]) -> dict[int, UserCard]: ...

    def users_by_username(self, names: Sequence[str]) -> dict[str, UserCard]: ...

    def create_conversation(self, kind: ConversationKind, title: str, created_by: int, now: dt.datetime,
                            member_ids: Sequence[int], *, direct_key: str | None = None,
                            record: tuple[RecordKind, int] | None = None) -> int:
        """The new conversation's id; for a pair (``direct_key``) or a record that already has
        one, the existing conversation's id (the members are then left as they are)."""

    def conversation(self, conversation_id: int) -> ConversationRow | None: ...

    def record_thread(self, kind: RecordKind, record_id: int) -> int | None: ...

    def is_member(self, conversation_id: int, user_id: int) -> bool: ...

    def join(self, conversation_id: int, user_id: int, now: dt.datetime) -> None:
        """Idempotent: a member stays a member, their read mark untouched."""

    def member_ids(self, conversation_id: int) -> list[int]: ...

    def add_message(self, conversation_id: int, author_id: int, author_name: str, body: str,
                    mentions: Sequence[int], attachments: Sequence[NewAttachment], now: dt.datetime) -> MessageRow:
        """Store the message (the author has read up to it) and move the conversation's activity."""

    def message(self, message_id: int) -> MessageRow | None: ...

    def edit_message(self, message_id: int, body: str, mentions: Sequence[int], now: dt.datetime) -> MessageRow: ...

    def delete_message(self, message_id: int, now: dt.datetime) -> MessageRow: ...

    def messages(self, conversation_id: int, *, after_id: int | None = None, before_id: int | None = None,
                 limit: int = 50) -> list[MessageRow]:
        """Oldest first: after ``after_id`` the next ``limit``; else the latest ``limit`` before ``before_id``."""

    def messages_for(self, user_id: int, after_id: int, limit: int) -> list[MessageRow]:
        """Messages after ``after_id`` in every conversation ``user_id`` is a member of, oldest first."""

    def conversations_of(self, user_id: int, before: tuple[int, int] | None, limit: int) -> list[ConversationRow]:
        """The member's conversations, most recent activity first ((last message id, id) before
        ``before``), each with that member's unread count."""

    def unread_total(self, user_id: int) -> int: ...

    def unread_totals(self, user_ids: Sequence[int]) -> dict[int, int]:
        """Each person's unread total, all in one grouped query (a person with none: 0)."""

    def mark_read(self, conversation_id: int, user_id: int, up_to_id: int) -> int:
        """Move the member's read mark forward (never back); the conversation's unread count after."""

    def attachment(self, attachment_id: int) -> AttachmentRow | None: ...


class LivePublisher(Protocol):
    """Sends a small event to the browsers of the given people. Called only after the change
    it announces has committed; an event lost in flight is recovered by the browser's catch-up
    from the database when it reconnects."""

    def publish(self, user_ids: Sequence[int], event: dict[str, Any]) -> None: ...


class FloodLimit(Protocol):
    def hit(self, key: str) -> None:
        """Raise ``RateLimited`` when ``key`` is over its limit; else count this hit."""
