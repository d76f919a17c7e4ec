"""Bad input gets a clear 4xx, never a 500: every route of the API, called as an admin and as a
dealer with malformed path values and bodies, on the demo data. 503 stays allowed (a document
renderer or provider that is not available)."""

from __future__ import annotations

import re

import pytest
from litestar.testing import TestClient

import dealercrm
from dealercrm.config import load_settings
from dealercrm.entrypoints.demo import DEMO_PASSWORD, load_demo
from dealercrm.entrypoints.http.app import create_app

pytestmark = pytest.mark.slow


def test_no_route_answers_500_to_malformed_input(sqlite_url):
    settings = load_settings({}, database_url=sqlite_url, jwt_secret="n" * 48, log_level="CRITICAL",
                             login_rate_per_minute=100_000, register_rate_per_hour=100_000)
    crm = dealercrm.bootstrap(settings)
    load_demo(crm)
    app = create_app(settings, container=crm)
    failures = []
    with TestClient(app, raise_server_exceptions=False) as client:
        headers = {}
        for user in ("admin", "dealer01"):
            token = client.post("/api/v1/auth/login", json={"username": user, "password": DEMO_PASSWORD})
            headers[user] = {"Authorization": f"Bearer {token.json()['access_token']}"}
        routes = sorted({(m, r.path) for r in app.routes for m in getattr(r, "methods", ())
                         if m not in ("HEAD", "OPTIONS")})
        for method, path in routes:
            for value in ("x", "999999", "9223372036854775808"):  # the last: no BIGINT holds it
                url = re.sub(r"\{[^}]+\}", value, path)
                for user in ("admin", "dealer01"):
                    for body in ({}, {"unknown": 1}):
                        r = client.request(method, url, headers=headers[user], json=body)
                        if r.status_code >= 500 and r.status_code != 503:
                            failures.append((method, url, user, body, r.status_code, r.text[:200]))
        huge = client.get("/api/v1/orders/9223372036854775808", headers=headers["admin"])
        assert (huge.status_code, huge.json()["code"]) == (404, "order.not_found")
        crm.close()

    assert len(routes) > 200
    assert failures == []
