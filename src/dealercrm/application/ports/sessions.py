"""The people sessions of the web UI: a server-side store behind the session cookie (SQL, or an
in-memory twin without a database)."""

from __future__ import annotations

import datetime as dt
from typing import Protocol, runtime_checkable


@runtime_checkable
class WebSessionStore(Protocol):
    """Server-side sessions (``adapters/db/web_sessions.py`` and its in-memory twin)."""

    ttl: dt.timedelta

    def open(self, user_id: int) -> str: ...

    def user_of(self, token: str) -> int | None: ...

    def close(self, token: str) -> None: ...

    def close_all(self, user_id: int, *, keep: str | None = None) -> None: ...
