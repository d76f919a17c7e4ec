"""A calendar feed URL is a credential: it never reaches the logs, and only its hash is stored."""

from dealercrm.application.calendar import hash_token
from dealercrm.entrypoints.logging import redact_text


def test_the_feed_token_is_masked_in_logged_paths():
    path = "/api/v1/calendar/feed/cal_3q2Zr8xYk1lM0pQv7sTn9wE4uH6jA5bC2dF8gK0mN1o.ics"

    assert redact_text(path) == "/api/v1/calendar/feed/***"
    assert redact_text("/api/v1/calendar/feed-token") == "/api/v1/calendar/feed-token"


def test_only_a_one_way_hash_of_the_token_is_stored():
    digest = hash_token("cal_secret-token-value-0000")

    assert len(digest) == 64 and "secret" not in digest
    assert digest == hash_token("cal_secret-token-value-0000")
