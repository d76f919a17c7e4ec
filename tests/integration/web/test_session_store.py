"""The web sessions' table on SQLite and PostgreSQL: only a keyed digest of the token is stored,
expiry is the server's (from the injected clock) and slides while the user is active."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from dealercrm.adapters.db.engine import make_engine
from dealercrm.adapters.db.orm import users
from dealercrm.adapters.db.web_sessions import SqlAlchemyWebSessionStore, web_sessions

T0 = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
TTL = dt.timedelta(hours=8)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


def _user(engine) -> int:
    with engine.begin() as conn:
        return conn.execute(users.insert().values(
            username="web1", display_name="网页用户", role="sales", password_hash="x", regions=[], is_active=True,
            created_at=T0).returning(users.c.id)).scalar_one()


def test_a_session_holds_while_used_and_ends_after_its_idle_lifetime(db_url):
    engine = make_engine(db_url)
    clock = Clock()
    store = SqlAlchemyWebSessionStore(engine, clock, "k" * 48, TTL)
    user_id = _user(engine)

    token = store.open(user_id)
    with engine.connect() as conn:
        stored = conn.execute(select(web_sessions.c.token_hash)).scalars().all()
    clock.now += TTL - dt.timedelta(minutes=1)
    still = store.user_of(token)  # activity slides the expiry
    clock.now += TTL - dt.timedelta(minutes=1)
    slid = store.user_of(token)
    clock.now += TTL + dt.timedelta(seconds=1)
    expired = store.user_of(token)

    assert token not in stored and len(stored) == 1
    assert (still, slid, expired) == (user_id, user_id, None)
    engine.dispose()


def test_closing_sessions_ends_one_or_all_but_the_current(db_url):
    engine = make_engine(db_url)
    store = SqlAlchemyWebSessionStore(engine, Clock(), "k" * 48, TTL)
    user_id = _user(engine)
    here, phone, laptop = store.open(user_id), store.open(user_id), store.open(user_id)

    store.close(phone)
    store.close_all(user_id, keep=here)

    assert [store.user_of(t) for t in (here, phone, laptop)] == [user_id, None, None]
    assert store.user_of("not-a-token") is None
    engine.dispose()


def test_another_secret_opens_none_of_the_sessions(db_url):
    engine = make_engine(db_url)
    clock = Clock()
    token = SqlAlchemyWebSessionStore(engine, clock, "k" * 48, TTL).open(_user(engine))

    assert SqlAlchemyWebSessionStore(engine, clock, "z" * 48, TTL).user_of(token) is None
    engine.dispose()
