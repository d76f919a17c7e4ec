"""The web UI on the demo data: one SQLite file loaded once per test process (copied per test), a fixed Beijing clock,
and a browser-like test client that logs in through the login form."""

from __future__ import annotations

import datetime as dt
import re
import shutil

import pytest
from litestar.testing import TestClient

import dealercrm
from dealercrm.config import load_settings
from dealercrm.entrypoints.demo import DEMO_PASSWORD, load_demo
from tests.apps import app_for

NOW = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)  # Monday 10:00 in Beijing
CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')


def settings_for(db):
    return load_settings({}, database_url=f"sqlite:///{db}", log_level="CRITICAL", jwt_secret="w" * 48,
                         session_secret="s" * 48, login_rate_per_minute=1000)


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory, _sqlite_template):
    db = tmp_path_factory.mktemp("web-demo") / "dealercrm.db"
    shutil.copyfile(_sqlite_template, db)
    crm = dealercrm.bootstrap(settings_for(db), clock=lambda: NOW)
    try:
        load_demo(crm)
    finally:
        crm.close()
    return db


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock(NOW)


@pytest.fixture
def crm(demo_db, tmp_path, clock):
    db = tmp_path / "dealercrm.db"
    shutil.copyfile(demo_db, db)
    container = dealercrm.bootstrap(settings_for(db), clock=clock)
    yield container
    container.close()


@pytest.fixture
def app(crm):
    return app_for(crm)


def csrf_token(page_html: str) -> str:
    found = CSRF_INPUT.search(page_html)
    assert found, "the page carries no CSRF form field"
    return found.group(1)


def login(client: TestClient, username: str, password: str = DEMO_PASSWORD):
    form = client.get("/login")
    return client.post("/login", data={"username": username, "password": password,
                                       "_csrf_token": csrf_token(form.text)}, follow_redirects=False)


@pytest.fixture
def browser(app):
    """``browser(username)``: a new client (its own cookies), logged in through the form. The
    clients share the app and are not entered: the ``crm`` fixture closes the container."""
    def open_as(username: str | None = None) -> TestClient:
        client = TestClient(app, raise_server_exceptions=False)
        if username:
            r = login(client, username)
            assert r.status_code == 303, r.text[:500]
        return client

    return open_as
