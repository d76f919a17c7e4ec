"""The rate limits kept in the database (so they hold across server workers) keep their hits apart:
one table holds the sign-in, registration and message limits, and an address's sign-ins must
neither count against its registrations nor sweep away their older hits."""

from __future__ import annotations

import datetime as dt

import pytest

from dealercrm.adapters.db.engine import make_engine
from dealercrm.adapters.db.shared_state import SqlRateLimiter
from dealercrm.domain.errors import RateLimited
from tests.fakes import FakeClock


def test_sign_ins_from_an_address_neither_count_against_nor_sweep_away_its_registrations(db_url):
    engine = make_engine(db_url)
    clock = FakeClock(dt.datetime(2026, 12, 7, 17, 0, tzinfo=dt.UTC))
    try:
        register = SqlRateLimiter(engine, 2, 3600, clock, "register")
        login = SqlRateLimiter(engine, 3, 60, clock, "login")
        for _ in range(3):
            login.hit("ip:10.0.0.7")  # the address's whole sign-in budget for this minute
        register.hit("ip:10.0.0.7")  # not refused: sign-ins are not registrations
        clock.advance(minutes=2)
        login.hit("ip:10.0.0.7")  # a minute later: sweeps its own expired hits, not the registration's
        register.hit("ip:10.0.0.7")
        with pytest.raises(RateLimited) as third:
            register.hit("ip:10.0.0.7")  # the hour's two registrations are spent
        with pytest.raises(RateLimited):
            for _ in range(3):
                login.hit("ip:10.0.0.7")
        clock.advance(hours=1)
        register.hit("ip:10.0.0.7")  # the window has passed
    finally:
        engine.dispose()

    assert third.value.details["retry_after"] > 3000
