"""The in-memory twin of ``SqlMessageStore`` (and a per-process flood limit), for unit tests and
for a container built without a database."""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Sequence

import attrs

from dealercrm.application.ports.messages import (
    AttachmentRow,
    ConversationRow,
    MessageRow,
    NewAttachment,
    UserCard,
)
from dealercrm.domain.errors import RateLimited
from dealercrm.domain.messages import ConversationKind, RecordKind


class MemoryMessageStore:
    def __init__(self, people: Sequence[UserCard] = ()) -> None:
        self.people: dict[int, UserCard] = {u.id: u for u in people}
        self.conversations: dict[int, ConversationRow] = {}
        self.keys: dict[str, int] = {}
        self.records: dict[tuple[RecordKind, int], int] = {}
        self.members: dict[int, dict[int, int]] = {}  # conversation → user → last read id
        self.rows: dict[int, MessageRow] = {}
        self.files: dict[int, AttachmentRow] = {}

    def users(self, ids: Sequence[int]) -> dict[int, UserCard]:
        return {i: self.people[i] for i in ids if i in self.people}

    def users_by_username(self, names: Sequence[str]) -> dict[str, UserCard]:
        return {u.username: u for u in self.people.values() if u.username in names}

    def create_conversation(self, kind: ConversationKind, title: str, created_by: int, now: dt.datetime,
                            member_ids: Sequence[int], *, direct_key: str | None = None,
                            record: tuple[RecordKind, int] | None = None) -> int:
        if direct_key is not None and direct_key in self.keys:
            return self.keys[direct_key]
        if record is not None and record in self.records:
            return self.records[record]
        cid = len(self.conversations) + 1
        self.conversations[cid] = ConversationRow(cid, kind, title, record[0] if record else None,
                                                  record[1] if record else None, now, 0)
        self.members[cid] = {u: 0 for u in member_ids}
        if direct_key is not None:
            self.keys[direct_key] = cid
        if record is not None:
            self.records[record] = cid
        return cid

    def conversation(self, conversation_id: int) -> ConversationRow | None:
        return self.conversations.get(conversation_id)

    def record_thread(self, kind: RecordKind, record_id: int) -> int | None:
        return self.records.get((kind, record_id))

    def is_member(self, conversation_id: int, user_id: int) -> bool:
        return user_id in self.members.get(conversation_id, {})

    def join(self, conversation_id: int, user_id: int, now: dt.datetime) -> None:
        self.members[conversation_id].setdefault(user_id, 0)

    def member_ids(self, conversation_id: int) -> list[int]:
        return list(self.members.get(conversation_id, {}))

    def add_message(self, conversation_id: int, author_id: int, author_name: str, body: str,
                    mentions: Sequence[int], attachments: Sequence[NewAttachment], now: dt.datetime) -> MessageRow:
        mid = len(self.rows) + 1
        files = []
        for a in attachments:
            aid = len(self.files) + 1
            self.files[aid] = AttachmentRow(aid, mid, a.content_type, a.size_bytes, a.sha256, a.thumbnail_sha256)
            files.append(self.files[aid])
        row = MessageRow(mid, conversation_id, author_id, author_name, body, tuple(mentions), now, None, None,
                         tuple(files))
        self.rows[mid] = row
        self.conversations[conversation_id] = attrs.evolve(self.conversations[conversation_id], last_message_id=mid)
        self.members[conversation_id][author_id] = mid
        return row

    def message(self, message_id: int) -> MessageRow | None:
        return self.rows.get(message_id)

    def edit_message(self, message_id: int, body: str, mentions: Sequence[int], now: dt.datetime) -> MessageRow:
        self.rows[message_id] = attrs.evolve(self.rows[message_id], body=body, mentions=tuple(mentions), edited_at=now)
        return self.rows[message_id]

    def delete_message(self, message_id: int, now: dt.datetime) -> MessageRow:
        self.rows[message_id] = attrs.evolve(self.rows[message_id], body="", attachments=(), deleted_at=now)
        return self.rows[message_id]

    def messages(self, conversation_id: int, *, after_id: int | None = None, before_id: int | None = None,
                 limit: int = 50) -> list[MessageRow]:
        rows = [r for r in self.rows.values() if r.conversation_id == conversation_id]
        if after_id is not None:
            return [r for r in rows if r.id > after_id][:limit]
        return [r for r in rows if before_id is None or r.id < before_id][-limit:]

    def messages_for(self, user_id: int, after_id: int, limit: int) -> list[MessageRow]:
        return [r for r in self.rows.values() if r.id > after_id and self.is_member(r.conversation_id, user_id)][:limit]

    def _unread(self, conversation_id: int, user_id: int) -> int:
        mark = self.members[conversation_id].get(user_id, 0)
        return sum(1 for r in self.rows.values() if r.conversation_id == conversation_id and r.id > mark
                   and r.author_id != user_id and r.deleted_at is None)

    def conversations_of(self, user_id: int, before: tuple[int, int] | None, limit: int) -> list[ConversationRow]:
        mine = sorted((c for c in self.conversations.values() if self.is_member(c.id, user_id)),
                      key=lambda c: (c.last_message_id, c.id), reverse=True)
        if before is not None:
            mine = [c for c in mine if (c.last_message_id, c.id) < before]
        return [attrs.evolve(c, unread=self._unread(c.id, user_id)) for c in mine[:limit]]

    def unread_total(self, user_id: int) -> int:
        return sum(self._unread(c, user_id) for c in self.members if user_id in self.members[c])

    def unread_totals(self, user_ids: Sequence[int]) -> dict[int, int]:
        return {u: self.unread_total(u) for u in user_ids}

    def mark_read(self, conversation_id: int, user_id: int, up_to_id: int) -> int:
        last = self.conversations[conversation_id].last_message_id
        marks = self.members[conversation_id]
        marks[user_id] = max(marks.get(user_id, 0), min(up_to_id, last))
        return self._unread(conversation_id, user_id)

    def attachment(self, attachment_id: int) -> AttachmentRow | None:
        return self.files.get(attachment_id)


class MemoryFloodLimit:
    """At most ``limit`` hits per key within ``window``, on an injected clock, in this process."""

    def __init__(self, limit: int, window: dt.timedelta, clock: Callable[[], dt.datetime]) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._hits: dict[str, deque[dt.datetime]] = {}

    def hit(self, key: str) -> None:
        now = self.clock()
        q = self._hits.setdefault(key, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        if len(q) >= self.limit:
            raise RateLimited("发送过于频繁，请稍后再试", retry_after=max(1, int((q[0] + self.window - now)
                                                                          .total_seconds()) + 1))
        q.append(now)
