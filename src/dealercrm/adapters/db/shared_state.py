"""What several server workers must share, in the database: change counters (a cache in each
process is valid while the counter it was filled under is unchanged) and the hits of the login and
registration rate limits (a limit that holds across all workers, not per process).

``users`` counts every change to a user or a standing delegation (an ORM ``after_flush``
listener bumps it in the changing transaction), so the review-staff cache of
``SqlAlchemyWorkflowRepository`` sees a deactivated reviewer in the very next transaction of any
worker.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Engine, Index, String, Table, delete, event, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import ScalarSelect

from dealercrm.adapters.db.base import IdType, metadata
from dealercrm.adapters.db.types import UtcDateTime
from dealercrm.domain.errors import RateLimited
from dealercrm.domain.identity import User
from dealercrm.domain.workflow import StandingDelegation

change_counters = Table(
    "change_counters",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

rate_limit_hits = Table(
    "rate_limit_hits",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_rate_limit_hits_key_at", "key", "at"),
)

USERS = "users"
#: ``session.info`` key of the ``users`` counter as the transaction read it (forgotten on a bump).
USERS_VERSION_KEY = "dealercrm.users_version"
_COUNTED: dict[type, str] = {User: USERS, StandingDelegation: USERS}


def _upsert(conn: Connection) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(change_counters)


def bump(conn: Connection, name: str) -> None:
    """Count one change of ``name`` in the caller's transaction."""
    stmt = _upsert(conn).values(name=name, value=1)
    conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"value": change_counters.c.value + 1}))


def read(conn: Connection, name: str) -> int:
    """The counter as this transaction sees it (0: never bumped)."""
    return conn.execute(select(change_counters.c.value).where(change_counters.c.name == name)).scalar() or 0


def read_column(name: str) -> ScalarSelect[Any]:
    """``read`` as a scalar subquery, to read the counter in a statement the caller runs anyway
    (``NULL``: never bumped)."""
    return select(change_counters.c.value).where(change_counters.c.name == name).scalar_subquery()


def _after_flush(session: Session, _flush_context: Any) -> None:
    names = {_COUNTED[type(o)] for objects in (session.new, session.dirty, session.deleted) for o in objects
             if type(o) in _COUNTED}
    for name in sorted(names):
        bump(session.connection(), name)
    if USERS in names:
        session.info.pop(USERS_VERSION_KEY, None)


def install() -> None:
    """Bump the counters of what every ORM flush changes (once per process)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


class SqlRateLimiter:
    """At most ``limit`` hits per key within ``window`` seconds, counted in the database so the
    limit holds across server workers. Each hit is one short transaction of its own: forget the
    key's expired hits, count the live ones, record this one. Two workers hit in the same instant
    on PostgreSQL may both be admitted at the very edge of the limit (READ COMMITTED); never more."""

    def __init__(self, engine: Engine, limit: int, window: float, clock: Callable[[], dt.datetime],
                 scope: str) -> None:
        self.engine = engine
        self.limit = limit
        self.window = dt.timedelta(seconds=window)
        self.clock = clock
        self.scope = scope  # the limit's own keys: sign-ins and registrations from one address count apart

    def hit(self, key: str) -> None:
        key = f"{self.scope}:{key}"[:200]
        now = self.clock()
        since = now - self.window
        t = rate_limit_hits
        with self.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.key == key, t.c.at <= since))
            count, first = conn.execute(select(func.count(), func.min(t.c.at)).where(t.c.key == key)).one()
            if count >= self.limit:
                retry = max(1, int((first + self.window - now).total_seconds()) + 1)
                raise RateLimited("请求过于频繁，请稍后再试", retry_after=retry)
            conn.execute(insert(t).values(key=key, at=now))
