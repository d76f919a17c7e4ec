"""Database dumps for ``dealercrm backup`` / ``restore``: SQLite through its online backup API
(a consistent copy while the server runs, page by page), PostgreSQL through ``pg_dump`` in the
custom format and ``pg_restore``. Connection details go to the PostgreSQL tools as arguments and
``PGPASSWORD``, never as a URL on the command line (where ``ps`` would show the password)."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(RuntimeError):
    """A dump or restore failed; the message says which tool and why."""


def sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client (Debian: postgresql-client)")
    return path


def _pg_connection(url: str) -> tuple[list[str], dict[str, str]]:
    u = make_url(url)
    args = [f"--dbname={u.database}"]
    if u.host:
        args.append(f"--host={u.host}")
    if u.port:
        args.append(f"--port={u.port}")
    if u.username:
        args.append(f"--username={u.username}")
    env = {**os.environ}
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    return args, env


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def _copy_sqlite(source: Path, target: Path) -> None:
    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def dump_database(url: str, target: Path) -> None:
    """Write a consistent copy of the database at ``url`` to ``target``."""
    if make_url(url).get_backend_name() == "sqlite":
        source = sqlite_file(url)
        if not source.exists():
            raise BackupError(f"{source} does not exist")
        _copy_sqlite(source, target)
        return
    args, env = _pg_connection(url)
    _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={target}", *args], env)


def restore_database(url: str, source: Path) -> None:
    """Replace the database at ``url`` by the dump in ``source`` (what ``dump_database`` wrote)."""
    if make_url(url).get_backend_name() == "sqlite":
        target = sqlite_file(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("-wal", "-shm"):  # a stale WAL would be replayed over the restored pages
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        _copy_sqlite(source, target)
        return
    args, env = _pg_connection(url)
    _run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges", "--exit-on-error",
          "--single-transaction", *args, str(source)], env)
