"""Two server workers on one PostgreSQL database, each a process of its own built as
``dealercrm serve --workers N`` builds them (``create_worker_app``), on its own port so the test
chooses which worker answers: a login rate limit, a logout and a user deactivation made through
one worker hold at once in the other, and a message posted through one worker reaches a browser's
live socket on the other (Litestar channels over PostgreSQL LISTEN/NOTIFY)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

import dealercrm
from dealercrm.application.identity import CreateUser
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal

pytestmark = pytest.mark.postgres

PASSWORD = "Passw0rd123"
SECRETS = {"DEALERCRM_JWT_SECRET": "w" * 48, "DEALERCRM_SESSION_SECRET": "s" * 48}
CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_worker(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "dealercrm.entrypoints.http.app:create_worker_app",
                             "--factory", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):  # start-up polling only; nothing under test depends on time
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("worker did not start")


@pytest.fixture(scope="module")
def shared_pg_url(pg_admin_url: str, _pg_template: str) -> Iterator[str]:
    """One database for the module's tests (the workers' start-up is the slow part): a copy of
    the migrated template, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"workers_{os.getpid()}"
    admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{_pg_template}"'))
    try:
        yield make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def workers(shared_pg_url: str) -> Iterator[tuple[str, str, dict[str, int]]]:
    """Two workers on one database; the tests use distinct users and client addresses."""
    env = {**os.environ, **SECRETS, "DEALERCRM_DATABASE_URL": shared_pg_url,
           "DEALERCRM_LOGIN_RATE_PER_MINUTE": "4", "DEALERCRM_LOG_LEVEL": "WARNING"}
    crm = dealercrm.bootstrap(load_settings(env), migrate=False)
    system = Principal.system()
    ids = {name: crm.identity.create_user(system, CreateUser(name, name, role, PASSWORD))
           for name, role in (("boss", "admin"), ("clerk", "sales"), ("leaver", "sales"))}
    crm.close()
    procs = [_start_worker(env) for _ in range(2)]
    try:
        yield procs[0][1], procs[1][1], ids
    finally:
        for proc, _ in procs:
            proc.terminate()
            proc.wait(10)


def _token(base: str, username: str) -> str:
    r = httpx.post(f"{base}/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _csrf(client: httpx.Client, url: str) -> str:
    found = CSRF_INPUT.search(client.get(url).text)
    assert found, "the page carries no CSRF form field"
    return found.group(1)


def test_a_login_rate_limit_counts_the_attempts_made_at_every_worker(workers):
    a, b, _ = workers
    elsewhere = {"X-Forwarded-For": "10.20.30.40"}  # uvicorn trusts the header from loopback

    statuses = [httpx.post(f"{base}/api/v1/auth/login", json={"username": "nobody", "password": "wrong-Passw0rd"},
                           headers=elsewhere).status_code for base in (a, b, a, b, a)]

    assert statuses == [401, 401, 401, 401, 429]  # per worker, each would have seen only 2 or 3


def test_a_user_deactivated_through_one_worker_is_refused_at_once_by_the_other(workers):
    a, b, ids = workers
    leaver = {"Authorization": f"Bearer {_token(a, 'leaver')}"}
    assert httpx.get(f"{b}/api/v1/auth/me", headers=leaver).status_code == 200

    r = httpx.post(f"{a}/api/v1/admin/users/{ids['leaver']}/deactivate",
                   headers={"Authorization": f"Bearer {_token(a, 'boss')}"})

    assert r.status_code == 200, r.text
    assert httpx.get(f"{b}/api/v1/auth/me", headers=leaver).status_code == 401


def test_a_logout_through_one_worker_ends_the_session_at_the_other(workers):
    a, b, _ = workers
    with httpx.Client() as browser:  # cookies go by host, not port: one browser for both workers
        r = browser.post(f"{a}/login", data={"username": "clerk", "password": PASSWORD,
                                              "_csrf_token": _csrf(browser, f"{a}/login")})
        assert r.status_code == 303, r.text[:300]
        assert browser.get(f"{b}/").status_code == 200
        kept = browser.cookies.get("dealercrm_session")

        r = browser.post(f"{b}/logout", data={"_csrf_token": _csrf(browser, f"{b}/")})
        assert r.status_code == 303
        browser.cookies.set("dealercrm_session", kept)  # a copy of the cookie kept from before the logout

        stale = browser.get(f"{a}/")
    assert (stale.status_code, stale.headers.get("location")) == (303, "/login")


def test_a_message_posted_through_one_worker_reaches_a_socket_open_on_the_other(workers):
    a, b, ids = workers
    elsewhere = {"X-Forwarded-For": "10.20.30.41"}  # its own login rate limit, apart from the other tests'
    r = httpx.post(f"{b}/api/v1/auth/login", json={"username": "clerk", "password": PASSWORD}, headers=elsewhere)
    clerk = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = httpx.post(f"{b}/api/v1/conversations/direct", json={"user_id": ids["boss"]}, headers=clerk)
    assert r.status_code == 200, r.text
    cid = r.json()["id"]
    with httpx.Client(headers=elsewhere) as browser:  # the boss's browser, signed in at worker A
        r = browser.post(f"{a}/login", data={"username": "boss", "password": PASSWORD,
                                              "_csrf_token": _csrf(browser, f"{a}/login")})
        assert r.status_code == 303, r.text[:300]
        cookie = f"dealercrm_session={browser.cookies.get('dealercrm_session')}"
    with ws_connect(f"ws{a[4:]}/live?after=0", additional_headers={"Cookie": cookie}, open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "unread"  # caught up: nothing yet
        posted = httpx.post(f"{b}/api/v1/conversations/{cid}/messages", json={"body": "从另一个进程发来"},
                            headers=clerk)
        events = [json.loads(ws.recv(timeout=10)) for _ in range(2)]

    assert posted.status_code == 201, posted.text
    message = next(e for e in events if e["type"] == "message")
    assert (message["change"], message["message"]["id"], message["message"]["body"]) == (
        "posted", posted.json()["id"], "从另一个进程发来")
    assert {"type": "unread", "total": 1} in events
