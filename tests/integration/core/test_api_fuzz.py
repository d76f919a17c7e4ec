"""Issue 17 §5 and RELIABILITY.md "API fuzzing": schemathesis generates requests for every
operation of our OpenAPI document (a fixed seed, 10 examples per operation: 5 with an admin's
token, 5 with a dealer's), on the SQLite demo data, and checks each answer: no 5xx, a documented
status code and content type, a body and headers that match the document."""

from __future__ import annotations

import pytest
import schemathesis
from sqlalchemy import select, update

import dealercrm
from dealercrm.adapters.db.orm import users
from dealercrm.config import load_settings
from dealercrm.entrypoints.demo import DEMO_PASSWORD, load_demo
from dealercrm.entrypoints.http.app import create_app

from .api_fuzz import fuzz

pytestmark = pytest.mark.slow

CALLERS = ("admin", "dealer01")
EXAMPLES_PER_CALLER = 5


def test_generated_requests_to_every_operation_get_documented_answers_and_no_5xx(sqlite_url):
    settings = load_settings({}, database_url=sqlite_url, jwt_secret="f" * 48, log_level="CRITICAL",
                             principal_cache_seconds=0, login_rate_per_minute=100_000,
                             register_rate_per_hour=100_000)
    crm = dealercrm.bootstrap(settings)
    load_demo(crm)
    app = create_app(settings, container=crm)
    with crm.engine.connect() as conn:
        callers = [dict(r._mapping) for r in conn.execute(select(users).where(users.c.username.in_(CALLERS)))]

    def fresh_tokens() -> dict[str, str]:
        """The callers as the demo made them (a fuzzed call may deactivate, demote or re-password
        them), logged in anew."""
        with crm.engine.begin() as conn:
            for row in callers:
                conn.execute(update(users).where(users.c.id == row["id"])
                             .values(**{k: v for k, v in row.items() if k != "id"}))
        return {name: crm.identity.login(name, DEMO_PASSWORD).token for name in CALLERS}

    # schemathesis runs the app's lifespan itself, once for the process: no second client here
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    failures = list(fuzz(schema, fresh_tokens, examples=EXAMPLES_PER_CALLER))

    assert failures == []
