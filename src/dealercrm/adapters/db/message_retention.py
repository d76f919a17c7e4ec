"""The retention job's store (issue 21 §5) on the database: deletes the oldest messages, sent
before the cut-off, with their attachment rows, in one transaction per batch."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from dealercrm.adapters.db.messages import message_attachments, messages

_m, _a = messages.c, message_attachments.c


class SqlRetentionStore:
    """``RetentionStore`` on SQLite or PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def purge_before(self, cutoff: dt.datetime, limit: int) -> int:
        with self.engine.begin() as conn:
            oldest = conn.execute(select(_m.id, _m.created_at).order_by(_m.id).limit(limit)).all()
            expired = []
            for row in oldest:
                if row.created_at >= cutoff:
                    break
                expired.append(row.id)
            if expired:
                conn.execute(delete(message_attachments).where(_a.message_id.in_(expired)))
                conn.execute(delete(messages).where(_m.id.in_(expired)))
        return len(expired)


__all__ = ["SqlRetentionStore"]
