"""``rewire`` points one built app at another container: the test suite's shared apps rely on it
(tests/apps.py), so each container's data, users and cached principals must stay its own."""

from __future__ import annotations

import shutil

import pytest
from litestar.testing import TestClient

import dealercrm
from dealercrm.application.identity import CreateUser
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.http.app import create_app, rewire

SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
PASSWORD = "Passw0rd123"


def _container(url: str, username: str, role: str, **over):
    settings = load_settings({}, database_url=url, jwt_secret=SECRET, log_json=True, log_level="WARNING",
                             principal_cache_seconds=300, **over)
    crm = dealercrm.bootstrap(settings)
    crm.identity.create_user(Principal.system(), CreateUser(username, username, role, PASSWORD))
    return crm, settings


def test_a_rewired_app_serves_the_new_containers_users_and_forgets_the_old_ones_cached_principals(sqlite_url, tmp_path):
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    shutil.copyfile(sqlite_url.removeprefix("sqlite:///"), tmp_path / "other.db")
    first, settings = _container(sqlite_url, "caiwu", "finance")
    second, _ = _container(other_url, "xiaoshou", "sales")
    app = create_app(settings, container=first)
    try:
        with TestClient(app) as client:
            token = client.post("/api/v1/auth/login", json={"username": "caiwu", "password": PASSWORD}).json()
            me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token['access_token']}"})
            assert me.status_code == 200 and me.json()["username"] == "caiwu"  # now in the principal cache

        rewire(app, second)
        with TestClient(app) as client:
            # the same token names user 1, who in the second database is someone else: the cached
            # finance principal of the first container must not answer for them
            me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token['access_token']}"})
            assert me.status_code == 200 and (me.json()["username"], me.json()["role"]) == ("xiaoshou", "sales")
            assert client.post("/api/v1/auth/login", json={"username": "caiwu", "password": PASSWORD}).status_code == 401

        with pytest.raises(ValueError, match="another shape"):  # settings built into the app cannot be rewired
            rewire(app, second, load_settings({}, database_url=other_url, jwt_secret=SECRET, cors_origins=("https://x.example",)))
    finally:
        first.close()
        second.close()
