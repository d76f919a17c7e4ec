"""Messages (issue 21): conversations, their members with read marks, messages and their files —
the tables and ``SqlMessageStore``, the ``MessageStore`` port on SQLAlchemy Core. Each write is
one short transaction that has committed when the method returns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from dealercrm.adapters.db.base import IdType, metadata
from dealercrm.adapters.db.core_store import CoreStore, is_row_id
from dealercrm.adapters.db.orm import users
from dealercrm.adapters.db.types import StrEnumType, UtcDateTime
from dealercrm.application.ports.messages import (
    AttachmentRow,
    ConversationRow,
    MessageRow,
    NewAttachment,
    UserCard,
)
from dealercrm.domain.errors import InvariantBroken
from dealercrm.domain.identity import Role
from dealercrm.domain.messages import ConversationKind, RecordKind

conversations = Table(
    "conversations",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("kind", StrEnumType(ConversationKind), nullable=False),
    Column("title", String(80), nullable=False),
    Column("record_kind", StrEnumType(RecordKind)),
    Column("record_id", IdType),
    Column("direct_key", String(45), unique=True),  # "low:high" user ids of a one-to-one; NULLs do not collide
    Column("created_by", IdType, ForeignKey("users.id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_message_id", IdType, nullable=False),
    UniqueConstraint("record_kind", "record_id", name="uq_conversations_record"),
    Index("ix_conversations_activity", "last_message_id", "id"),
)

conversation_members = Table(
    "conversation_members",
    metadata,
    Column("conversation_id", IdType, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", IdType, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("joined_at", UtcDateTime, nullable=False),
    Column("last_read_id", IdType, nullable=False),
    # the away digest (migration 0031): messages up to this id have been sent to the member by e-mail/SMS
    Column("digested_id", IdType, nullable=False, server_default="0"),
    PrimaryKeyConstraint("conversation_id", "user_id", name="pk_conversation_members"),
    Index("ix_conversation_members_user_id", "user_id"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("conversation_id", IdType, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    Column("author_id", IdType, ForeignKey("users.id"), nullable=False),
    Column("author_name", String(60), nullable=False),
    Column("body", Text, nullable=False),
    Column("mentions", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("edited_at", UtcDateTime),
    Column("deleted_at", UtcDateTime),
    Index("ix_messages_conversation_id_id", "conversation_id", "id"),
)

message_attachments = Table(
    "message_attachments",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("message_id", IdType, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("content_type", String(60), nullable=False),
    Column("size_bytes", IdType, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("thumbnail_sha256", String(64)),
)

TABLES = {"conversations", "conversation_members", "messages", "message_attachments"}

_c, _m, _mb, _a = conversations.c, messages.c, conversation_members.c, message_attachments.c


def _card(r: RowMapping) -> UserCard:
    return UserCard(int(r["id"]), r["username"], r["display_name"], Role(str(getattr(r["role"], "value", r["role"]))),
                    r["dealer_id"], r["station_id"], bool(r["is_active"]))


def _conversation(r: RowMapping, unread: int = 0, last: RowMapping | None = None) -> ConversationRow:
    preview = ""
    if last is not None:
        preview = "[已撤回]" if last["deleted_at"] is not None else (last["body"][:40] or "[附件]")
    return ConversationRow(
        id=int(r["id"]), kind=ConversationKind(r["kind"]), title=r["title"],
        record_kind=RecordKind(r["record_kind"]) if r["record_kind"] is not None else None,
        record_id=r["record_id"], created_at=r["created_at"], last_message_id=int(r["last_message_id"]),
        last_message_at=last["created_at"] if last is not None else None, last_message_preview=preview,
        unread=unread)


class SqlMessageStore(CoreStore):
    """``MessageStore`` on the database (SQLite or PostgreSQL)."""

    what = "messages"

    def _users(self, conn: Connection, where: Any) -> list[UserCard]:
        cols = (users.c.id, users.c.username, users.c.display_name, users.c.role, users.c.dealer_id,
                users.c.station_id, users.c.is_active)
        return [_card(r) for r in conn.execute(select(*cols).where(where)).mappings()]

    def users(self, ids: Sequence[int]) -> dict[int, UserCard]:
        wanted = [i for i in ids if is_row_id(i)]
        if not wanted:
            return {}
        with self.reading() as conn:
            return {u.id: u for u in self._users(conn, users.c.id.in_(wanted))}

    def users_by_username(self, names: Sequence[str]) -> dict[str, UserCard]:
        if not names:
            return {}
        with self.reading() as conn:
            return {u.username: u for u in self._users(conn, users.c.username.in_(list(names)))}

    def create_conversation(self, kind: ConversationKind, title: str, created_by: int, now: dt.datetime,
                            member_ids: Sequence[int], *, direct_key: str | None = None,
                            record: tuple[RecordKind, int] | None = None) -> int:
        values: dict[str, Any] = {"kind": kind, "title": title, "created_by": created_by, "created_at": now,
                                  "last_message_id": 0, "direct_key": direct_key,
                                  "record_kind": record[0] if record else None,
                                  "record_id": record[1] if record else None}
        try:
            with self.writing() as conn:
                cid = conn.execute(insert(conversations).values(**values).returning(_c.id)).scalar_one()
                conn.execute(insert(conversation_members), [
                    {"conversation_id": cid, "user_id": uid, "joined_at": now, "last_read_id": 0}
                    for uid in dict.fromkeys(member_ids)])
                return int(cid)
        except IntegrityError:
            # the pair or the record got its conversation in a concurrent transaction: use that one
            existing = (self._find_direct(direct_key) if direct_key is not None
                        else self.record_thread(*record) if record is not None else None)
            if existing is None:
                raise
            for uid in member_ids if record is not None else ():
                self.join(existing, uid, now)
            return existing

    def _find_direct(self, key: str) -> int | None:
        with self.reading() as conn:
            return conn.execute(select(_c.id).where(_c.direct_key == key)).scalar()

    def conversation(self, conversation_id: int) -> ConversationRow | None:
        return self.by_id(conversation_id, select(conversations).where(_c.id == conversation_id), _conversation)

    def record_thread(self, kind: RecordKind, record_id: int) -> int | None:
        with self.reading() as conn:
            return conn.execute(select(_c.id).where(_c.record_kind == kind, _c.record_id == record_id)).scalar()

    def is_member(self, conversation_id: int, user_id: int) -> bool:
        with self.reading() as conn:
            return conn.execute(select(_mb.user_id).where(_mb.conversation_id == conversation_id,
                                                          _mb.user_id == user_id)).first() is not None

    def join(self, conversation_id: int, user_id: int, now: dt.datetime) -> None:
        try:
            with self.writing() as conn:
                if conn.execute(select(_mb.user_id).where(_mb.conversation_id == conversation_id,
                                                          _mb.user_id == user_id)).first() is None:
                    conn.execute(insert(conversation_members).values(
                        conversation_id=conversation_id, user_id=user_id, joined_at=now, last_read_id=0))
        except IntegrityError:
            pass  # joined by a concurrent request: a member either way

    def member_ids(self, conversation_id: int) -> list[int]:
        with self.reading() as conn:
            return [int(x) for x in conn.execute(select(_mb.user_id).where(_mb.conversation_id == conversation_id)
                                                 .order_by(_mb.joined_at, _mb.user_id)).scalars()]

    def _with_files(self, conn: Connection, rows: list[RowMapping]) -> list[MessageRow]:
        ids = [r["id"] for r in rows]
        files: dict[int, list[AttachmentRow]] = {}
        if ids:
            for a in conn.execute(select(message_attachments).where(_a.message_id.in_(ids)).order_by(_a.id)).mappings():
                files.setdefault(a["message_id"], []).append(_attachment(a))
        return [MessageRow(
            id=int(r["id"]), conversation_id=int(r["conversation_id"]), author_id=int(r["author_id"]),
            author_name=r["author_name"], body=r["body"] if r["deleted_at"] is None else "",
            mentions=tuple(r["mentions"] or ()), created_at=r["created_at"], edited_at=r["edited_at"],
            deleted_at=r["deleted_at"],
            attachments=tuple(files.get(r["id"], ())) if r["deleted_at"] is None else ()) for r in rows]

    def add_message(self, conversation_id: int, author_id: int, author_name: str, body: str,
                    mentions: Sequence[int], attachments: Sequence[NewAttachment], now: dt.datetime) -> MessageRow:
        with self.writing() as conn:
            mid = conn.execute(insert(messages).values(
                conversation_id=conversation_id, author_id=author_id, author_name=author_name[:60], body=body,
                mentions=list(mentions), created_at=now).returning(_m.id)).scalar_one()
            if attachments:
                conn.execute(insert(message_attachments), [
                    {"message_id": mid, "content_type": a.content_type, "size_bytes": a.size_bytes,
                     "sha256": a.sha256, "thumbnail_sha256": a.thumbnail_sha256} for a in attachments])
            conn.execute(update(conversations).where(_c.id == conversation_id).values(last_message_id=mid))
            conn.execute(update(conversation_members).where(
                _mb.conversation_id == conversation_id, _mb.user_id == author_id).values(last_read_id=mid))
            row = conn.execute(select(messages).where(_m.id == mid)).mappings().one()
            return self._with_files(conn, [row])[0]

    def message(self, message_id: int) -> MessageRow | None:
        if not is_row_id(message_id):
            return None
        with self.reading() as conn:
            row = conn.execute(select(messages).where(_m.id == message_id)).mappings().first()
            return self._with_files(conn, [row])[0] if row is not None else None

    def _change(self, message_id: int, values: dict[str, Any]) -> MessageRow:
        with self.writing() as conn:
            conn.execute(update(messages).where(_m.id == message_id).values(**values))
            row = conn.execute(select(messages).where(_m.id == message_id)).mappings().first()
            if row is None:
                raise InvariantBroken("message vanished while being changed")
            return self._with_files(conn, [row])[0]

    def edit_message(self, message_id: int, body: str, mentions: Sequence[int], now: dt.datetime) -> MessageRow:
        return self._change(message_id, {"body": body, "mentions": list(mentions), "edited_at": now})

    def delete_message(self, message_id: int, now: dt.datetime) -> MessageRow:
        return self._change(message_id, {"deleted_at": now})

    def messages(self, conversation_id: int, *, after_id: int | None = None, before_id: int | None = None,
                 limit: int = 50) -> list[MessageRow]:
        q = select(messages).where(_m.conversation_id == conversation_id)
        if after_id is not None:
            q = q.where(_m.id > after_id).order_by(_m.id).limit(limit)
        else:
            if before_id is not None:
                q = q.where(_m.id < before_id)
            q = q.order_by(_m.id.desc()).limit(limit)
        with self.reading() as conn:
            rows = list(conn.execute(q).mappings())
            if after_id is None:
                rows.reverse()
            return self._with_files(conn, rows)

    def messages_for(self, user_id: int, after_id: int, limit: int) -> list[MessageRow]:
        mine = select(_mb.conversation_id).where(_mb.user_id == user_id)
        q = select(messages).where(_m.conversation_id.in_(mine), _m.id > after_id).order_by(_m.id).limit(limit)
        with self.reading() as conn:
            return self._with_files(conn, list(conn.execute(q).mappings()))

    def _unread(self, user_id: int) -> Any:
        return (select(_mb.conversation_id, func.count(_m.id).label("n"))
                .join(messages, and_(_m.conversation_id == _mb.conversation_id, _m.id > _mb.last_read_id,
                                     _m.author_id != user_id, _m.deleted_at.is_(None)))
                .where(_mb.user_id == user_id).group_by(_mb.conversation_id))

    def conversations_of(self, user_id: int, before: tuple[int, int] | None, limit: int) -> list[ConversationRow]:
        q = (select(conversations).join(conversation_members, _mb.conversation_id == _c.id)
             .where(_mb.user_id == user_id))
        if before is not None:
            q = q.where(tuple_(_c.last_message_id, _c.id) < tuple_(*before))
        q = q.order_by(_c.last_message_id.desc(), _c.id.desc()).limit(limit)
        with self.reading() as conn:
            rows = list(conn.execute(q).mappings())
            ids = [r["id"] for r in rows]
            unread = {r.conversation_id: r.n for r in conn.execute(
                self._unread(user_id).where(_mb.conversation_id.in_(ids)))} if ids else {}
            lasts = {r["id"]: r for r in conn.execute(
                select(_m.id, _m.body, _m.created_at, _m.deleted_at).where(
                    _m.id.in_([r["last_message_id"] for r in rows if r["last_message_id"]]))).mappings()}
        return [_conversation(r, int(unread.get(r["id"], 0)), lasts.get(r["last_message_id"])) for r in rows]

    def unread_total(self, user_id: int) -> int:
        sub = self._unread(user_id).subquery()
        with self.reading() as conn:
            return int(conn.execute(select(func.coalesce(func.sum(sub.c.n), 0))).scalar_one())

    def unread_totals(self, user_ids: Sequence[int]) -> dict[int, int]:
        people = list(dict.fromkeys(user_ids))
        if not people:
            return {}
        q = (select(_mb.user_id, func.count(_m.id).label("n"))
             .join(messages, and_(_m.conversation_id == _mb.conversation_id, _m.id > _mb.last_read_id,
                                  _m.author_id != _mb.user_id, _m.deleted_at.is_(None)))
             .where(_mb.user_id.in_(people)).group_by(_mb.user_id))
        with self.reading() as conn:
            found = {int(r.user_id): int(r.n) for r in conn.execute(q)}
        return {u: found.get(u, 0) for u in people}

    def mark_read(self, conversation_id: int, user_id: int, up_to_id: int) -> int:
        with self.writing() as conn:
            last = conn.execute(select(_c.last_message_id).where(_c.id == conversation_id)).scalar() or 0
            conn.execute(update(conversation_members).where(
                _mb.conversation_id == conversation_id, _mb.user_id == user_id,
                _mb.last_read_id < min(up_to_id, last)).values(last_read_id=min(up_to_id, last)))
            n = conn.execute(self._unread(user_id).where(_mb.conversation_id == conversation_id)).first()
            return int(n.n) if n is not None else 0

    def attachment(self, attachment_id: int) -> AttachmentRow | None:
        return self.by_id(attachment_id, select(message_attachments).where(_a.id == attachment_id), _attachment)


def _attachment(a: RowMapping) -> AttachmentRow:
    return AttachmentRow(int(a["id"]), int(a["message_id"]), a["content_type"], int(a["size_bytes"]), a["sha256"],
                         a["thumbnail_sha256"])


__all__ = ["TABLES", "SqlMessageStore", "conversation_members", "conversations", "message_attachments", "messages"]
