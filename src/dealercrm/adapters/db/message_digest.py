"""The away digest's store (issue 21 §4) on the database: the members' unread, undigested
messages, and the digest put into the notification outbox in the same transaction that moves
the members' ``digested_id`` marks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from sqlalchemy import and_, select, update
from sqlalchemy.engine import Engine

from dealercrm.adapters.db.messages import conversation_members, conversations, messages
from dealercrm.adapters.db.orm import users
from dealercrm.adapters.notify.sql_outbox import SqlAlchemyOutboxStore
from dealercrm.application.message_digest import DigestNotice, PendingMessage
from dealercrm.application.outbox import enqueue_notifications
from dealercrm.domain.messages import ConversationKind

_c, _m, _mb, _u = conversations.c, messages.c, conversation_members.c, users.c


class SqlDigestStore:
    """``DigestStore`` on SQLite or PostgreSQL."""

    def __init__(self, engine: Engine, clock: Callable[[], dt.datetime]) -> None:
        self.engine = engine
        self.clock = clock
        self.outbox = SqlAlchemyOutboxStore(engine)

    def pending(self, not_after: dt.datetime, limit: int) -> list[PendingMessage]:
        q = (select(_mb.user_id, _u.display_name, _u.email, _u.phone, _c.id.label("conversation_id"), _c.title,
                    _c.kind, _m.id.label("message_id"), _m.author_name, _m.body, _m.mentions, _m.created_at)
             .select_from(conversation_members)
             .join(conversations, _c.id == _mb.conversation_id)
             .join(messages, and_(_m.conversation_id == _mb.conversation_id, _m.id > _mb.last_read_id,
                                  _m.id > _mb.digested_id, _m.author_id != _mb.user_id, _m.deleted_at.is_(None)))
             .join(users, _u.id == _mb.user_id)
             .where(_u.is_active.is_(True), _m.created_at <= not_after)
             .order_by(_m.id, _mb.user_id).limit(limit))
        with self.engine.connect() as conn:
            rows = list(conn.execute(q).mappings())
        return [PendingMessage(
            user_id=int(r["user_id"]), display_name=r["display_name"], email=r["email"] or None,
            phone=str(r["phone"]) if r["phone"] else None, conversation_id=int(r["conversation_id"]),
            conversation_title=r["title"] or "私聊",
            is_record_thread=str(getattr(r["kind"], "value", r["kind"])) == ConversationKind.RECORD.value,
            message_id=int(r["message_id"]), author_name=r["author_name"], body=r["body"],
            mentions=tuple(int(x) for x in (r["mentions"] or ())), created_at=r["created_at"]) for r in rows]

    def record(self, user_id: int, up_to: dict[int, int], notices: Sequence[DigestNotice]) -> None:
        with self.engine.begin() as conn:
            enqueue_notifications(self.outbox, conn, [(n.template_code, n.variables, n.recipient, n.idempotency_key)
                                                      for n in notices], clock=self.clock)
            for conversation_id, message_id in up_to.items():
                conn.execute(update(conversation_members).where(
                    _mb.conversation_id == conversation_id, _mb.user_id == user_id,
                    _mb.digested_id < message_id).values(digested_id=message_id))


__all__ = ["SqlDigestStore"]
