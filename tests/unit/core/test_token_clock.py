"""Access tokens are checked against the injected clock that issued them, never the wall clock:
a test or a replay running at a fixed time sees the same answer at any hour of the real day."""

import datetime as dt

import pytest

from dealercrm.adapters.security import JwtTokenService
from dealercrm.domain.errors import AuthenticationFailed
from dealercrm.domain.identity import Principal, Role
from tests.fakes import FakeClock

SECRET = "unit-test-secret-that-is-long-enough-0123456789"


def _service(clock):
    return JwtTokenService(SECRET, issuer="dealercrm", audience="dealercrm-api", ttl=dt.timedelta(minutes=30),
                           clock=clock)


def test_a_token_issued_years_ago_on_the_injected_clock_verifies_at_that_time():
    clock = FakeClock(dt.datetime(2021, 3, 1, 17, 30, tzinfo=dt.UTC))
    tokens = _service(clock)
    token, expires = tokens.issue(Principal(7, "hongda", Role.DEALER, dealer_id=3))

    assert tokens.verify(token)["sub"] == "7"
    assert expires == clock.now + dt.timedelta(minutes=30)


def test_a_token_expires_when_the_injected_clock_passes_its_exp_even_from_the_cache():
    clock = FakeClock(dt.datetime(2021, 3, 1, 17, 30, tzinfo=dt.UTC))
    tokens = _service(clock)
    token, _ = tokens.issue(Principal(7, "hongda", Role.DEALER, dealer_id=3))
    tokens.verify(token)

    clock.advance(minutes=31)

    with pytest.raises(AuthenticationFailed) as caught:
        tokens.verify(token)
    assert caught.value.code == "auth.token_expired"


def test_a_token_from_the_future_is_not_yet_valid():
    clock = FakeClock(dt.datetime(2021, 3, 1, 17, 30, tzinfo=dt.UTC))
    token, _ = _service(FakeClock(clock.now + dt.timedelta(hours=1))).issue(Principal(7, "x", Role.ADMIN))

    with pytest.raises(AuthenticationFailed) as caught:
        _service(clock).verify(token)
    assert caught.value.code == "auth.token_not_yet_valid"
