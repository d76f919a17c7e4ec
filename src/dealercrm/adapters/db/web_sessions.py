"""Server-side sessions of the web UI, in the database so they hold across server workers.

The browser keeps a random token in its cookie; the table keeps only an HMAC of it, so a copy of
the database opens no session. Expiry is server-side: ``expires_at`` from the injected clock,
slid forward while the user is active.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable

from sqlalchemy import Column, Engine, ForeignKey, String, Table, bindparam, delete, insert, select, update

from dealercrm.adapters.db.base import IdType, metadata
from dealercrm.adapters.db.engine import read_bind
from dealercrm.adapters.db.types import UtcDateTime

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", IdType, ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
)


def _hash(secret: str, token: str) -> str:
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


_BY_TOKEN = select(web_sessions.c.user_id, web_sessions.c.expires_at).where(
    web_sessions.c.token_hash == bindparam("token_hash"))


class SqlAlchemyWebSessionStore:
    """Opens, finds (sliding the expiry) and closes web sessions. Tokens are 256-bit random."""

    def __init__(self, engine: Engine, clock: Callable[[], dt.datetime], secret: str, ttl: dt.timedelta) -> None:
        self._engine = engine
        self._reads = read_bind(engine)  # the per-request lookup is one statement: no transaction around it
        self._clock = clock
        self._secret = secret
        self.ttl = ttl

    def open(self, user_id: int) -> str:
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with self._engine.begin() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))
            conn.execute(insert(web_sessions).values(token_hash=_hash(self._secret, token), user_id=user_id,
                                                     created_at=now, expires_at=now + self.ttl))
        return token

    def user_of(self, token: str) -> int | None:
        """The session's user, or None when unknown or expired; an active session's expiry slides
        forward (written at most once per tenth of the lifetime)."""
        key = _hash(self._secret, token)
        now = self._clock()
        with self._reads.connect() as conn:
            row = conn.execute(_BY_TOKEN, {"token_hash": key}).first()
        if row is None or row.expires_at <= now:
            return None
        if row.expires_at - now < self.ttl * 0.9:
            with self._engine.begin() as conn:
                conn.execute(update(web_sessions).where(web_sessions.c.token_hash == key)
                             .values(expires_at=now + self.ttl))
        return int(row.user_id)

    def close(self, token: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == _hash(self._secret, token)))

    def close_all(self, user_id: int, *, keep: str | None = None) -> None:
        """End every session of a user (after a password change), except ``keep``."""
        stmt = delete(web_sessions).where(web_sessions.c.user_id == user_id)
        if keep is not None:
            stmt = stmt.where(web_sessions.c.token_hash != _hash(self._secret, keep))
        with self._engine.begin() as conn:
            conn.execute(stmt)


class InMemoryWebSessionStore:
    """The twin for tests and containers built without a database."""

    def __init__(self, clock: Callable[[], dt.datetime], ttl: dt.timedelta) -> None:
        self._clock = clock
        self.ttl = ttl
        self._sessions: dict[str, tuple[int, dt.datetime]] = {}

    def open(self, user_id: int) -> str:
        token = secrets.token_urlsafe(32)
        self._sessions[token] = (user_id, self._clock() + self.ttl)
        return token

    def user_of(self, token: str) -> int | None:
        found = self._sessions.get(token)
        now = self._clock()
        if found is None or found[1] <= now:
            return None
        self._sessions[token] = (found[0], now + self.ttl)
        return found[0]

    def close(self, token: str) -> None:
        self._sessions.pop(token, None)

    def close_all(self, user_id: int, *, keep: str | None = None) -> None:
        self._sessions = {t: v for t, v in self._sessions.items() if v[0] != user_id or t == keep}


def web_session_store(engine: Engine | None, clock: Callable[[], dt.datetime], secret: str,
                      ttl: dt.timedelta) -> SqlAlchemyWebSessionStore | InMemoryWebSessionStore:
    """The SQL store on the installation's database; the in-memory twin without one."""
    if engine is None:
        return InMemoryWebSessionStore(clock, ttl)
    return SqlAlchemyWebSessionStore(engine, clock, secret, ttl)
