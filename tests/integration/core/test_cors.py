"""CORS (issue 19 §1): unset, the API sends no CORS headers; set, browsers on the listed origins may
call it with a bearer token, never with our session cookie, and other origins get nothing."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

import dealercrm
from dealercrm.config import SettingsError, load_settings
from dealercrm.entrypoints.http.app import create_app

SECRET = "cors-test-secret-that-is-long-enough-0123456789"
PREFLIGHT = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}


def _client(db_url, **settings):
    s = load_settings({}, database_url=db_url, jwt_secret=SECRET, log_level="WARNING", **settings)
    return TestClient(create_app(s, container=dealercrm.bootstrap(s)))


def test_without_origins_the_api_is_same_origin_only(sqlite_url):
    with _client(sqlite_url) as c:
        r = c.get("/health", headers={"Origin": "https://portal.example.com"})

    assert "access-control-allow-origin" not in r.headers


def test_a_listed_origin_may_call_with_a_bearer_token_but_not_with_cookies(sqlite_url):
    with _client(sqlite_url, cors_origins=("https://portal.example.com",)) as c:
        preflight = c.options("/api/v1/dealers/", headers={"Origin": "https://portal.example.com", **PREFLIGHT})
        simple = c.get("/health", headers={"Origin": "https://portal.example.com"})
        foreign = c.get("/health", headers={"Origin": "https://evil.example.net"})

    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == "https://portal.example.com"
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in preflight.headers
    assert simple.headers["access-control-allow-origin"] == "https://portal.example.com"
    assert "access-control-allow-origin" not in foreign.headers


@pytest.mark.parametrize("origin", ["portal.example.com", "https://portal.example.com/app", "ftp://x.example"])
def test_a_malformed_origin_is_refused_by_name(origin):
    with pytest.raises(SettingsError) as caught:
        load_settings({"DEALERCRM_CORS_ORIGINS": origin})

    assert "DEALERCRM_CORS_ORIGINS" in str(caught.value) and "not an origin" in str(caught.value)
