"""Shared fixtures: a real PostgreSQL server for the whole run, and fresh databases per test.

When ``DEALERCRM_TEST_PG_URL`` is unset, the session starts its own throwaway PostgreSQL cluster
(initdb + pg_ctl from the installed server packages, as the ``postgres`` system user when run as
root) on a free loopback port, exports the URL for every test package, and stops it at the end.
PostgreSQL tests are never skipped: if no server can be had, they fail and say why.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import sys
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

_PG_STATE: dict[str, object] = {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _run_as_pg(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def _start_postgres() -> None:
    bindir = _pg_bin()
    if bindir is None:
        _PG_STATE["error"] = "PostgreSQL server binaries not found (run the README's test command, which installs them)"
        return
    datadir = Path(tempfile.mkdtemp(prefix="dealercrm-pg-"))
    if os.geteuid() == 0:
        shutil.chown(datadir, "postgres", "postgres")
    port = _free_port()
    r = _run_as_pg([str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                    "--locale=C.UTF-8", "-N"])
    if r.returncode != 0:
        _PG_STATE["error"] = f"initdb failed: {r.stderr[-500:]}"
        return
    opts = (f"-p {port} -k {datadir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=300 -c shared_buffers=128MB")
    r = _run_as_pg([str(bindir / "pg_ctl"), "-D", str(datadir), "-o", opts, "-l", str(datadir / "server.log"),
                    "-w", "-t", "60", "start"])
    if r.returncode != 0:
        log = (datadir / "server.log").read_text() if (datadir / "server.log").exists() else ""
        _PG_STATE["error"] = f"pg_ctl start failed: {r.stderr[-300:]} {log[-500:]}"
        return
    _PG_STATE.update(bindir=bindir, datadir=datadir)
    os.environ["DEALERCRM_TEST_PG_URL"] = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get("DEALERCRM_TEST_PG_URL"):
        _start_postgres()


_DURATIONS = Path(__file__).with_name("durations.json")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, hand out the longest test files first (longest-processing-time-first).

    ``scripts/test`` runs ``--dist loadfile --no-loadscope-reorder``: each file is one work unit and the
    units go out in collection order. Sorting the files by their last measured wall time
    (``tests/durations.json``, written by ``scripts/test-durations`` from a JUnit XML report) keeps a
    four-minute file from starting in the last four minutes while the other process sits idle. Files not
    yet measured count as the median. Tests inside a file keep their order.
    """
    if not hasattr(config, "workerinput") or not _DURATIONS.exists():
        return
    seconds: dict[str, float] = json.loads(_DURATIONS.read_text())
    default = sorted(seconds.values())[len(seconds) // 2] if seconds else 0.0
    first_seen: dict[str, int] = {}
    for index, item in enumerate(items):
        first_seen.setdefault(item.nodeid.split("::", 1)[0], index)
    items.sort(key=lambda item: (-seconds.get(item.nodeid.split("::", 1)[0], default),
                                 first_seen[item.nodeid.split("::", 1)[0]]))


def pytest_unconfigure(config: pytest.Config) -> None:
    if "datadir" in _PG_STATE:
        _run_as_pg([str(_PG_STATE["bindir"] / "pg_ctl"), "-D", str(_PG_STATE["datadir"]), "-m", "immediate",  # type: ignore[operator]
                    "-w", "stop"])
        shutil.rmtree(str(_PG_STATE["datadir"]), ignore_errors=True)


@pytest.fixture(autouse=True)
def _built_apps_free_again() -> Iterator[None]:
    """The apps a test took from ``tests.apps`` are free for the next test."""
    yield
    apps = sys.modules.get("tests.apps")
    if apps is not None:
        apps.release_all()


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    url = os.environ.get("DEALERCRM_TEST_PG_URL")
    if not url:
        pytest.fail(str(_PG_STATE.get("error", "no PostgreSQL server for the tests")))
    return url


def _migrate_to_head(url: str) -> None:
    from dealercrm.adapters.db import migrate
    from dealercrm.adapters.db.engine import make_engine

    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def _pg_template(pg_admin_url: str) -> Iterator[str]:
    """A database migrated to head once per run; each test's database is a copy of it
    (``CREATE DATABASE … TEMPLATE``), so a test pays for a file copy, not for every migration.
    The migrations themselves still run from empty here, on every run."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"tmpl_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _migrate_to_head(make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False))
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _pg_database(pg_admin_url: str, template: str | None) -> Iterator[str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    try:
        yield make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_url(pg_admin_url: str, _pg_template: str) -> Iterator[str]:
    """A brand-new PostgreSQL database for one test, at the migrations' head, dropped afterwards."""
    yield from _pg_database(pg_admin_url, _pg_template)


@pytest.fixture
def empty_pg_url(pg_admin_url: str) -> Iterator[str]:
    """A brand-new, empty PostgreSQL database (no migrations), dropped afterwards."""
    yield from _pg_database(pg_admin_url, None)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    _migrate_to_head(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, _sqlite_template: Path) -> str:
    """A SQLite file of its own for one test, at the migrations' head (a copy of the template)."""
    target = tmp_path / "dealercrm.db"
    shutil.copyfile(_sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def empty_sqlite_url(tmp_path: Path) -> str:
    """A SQLite path with nothing in it yet (for tests of migrating from empty)."""
    return f"sqlite:///{tmp_path / 'empty.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs twice: on a SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture(autouse=True)
def _fresh_structlog() -> Iterator[None]:
    """Apps built by one test configure structlog (level, renderer); the next test starts clean."""
    yield
    import structlog

    structlog.reset_defaults()


@pytest.fixture(scope="session", autouse=True)
def _photo_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Containers built from the environment store supplied-parts photos in a throwaway
    directory, never under the working directory."""
    mp = pytest.MonkeyPatch()
    mp.setenv("DEALERCRM_PHOTO_DIR", str(tmp_path_factory.mktemp("photos")))
    yield
    mp.undo()
