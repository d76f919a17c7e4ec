"""``LiveRelay``: the ``LivePublisher`` the services hold. It hands each event to a sink that the
web app connects when it starts (Litestar channels: in memory on one SQLite process, PostgreSQL
LISTEN/NOTIFY across workers); until one is connected — a script, a worker without a web app —
events go nowhere, and browsers catch up from the database when they next connect."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

Sink = Callable[[list[str], dict[str, Any]], None]


def user_channel(user_id: int) -> str:
    """The channel of one person's browsers (a valid PostgreSQL identifier for LISTEN/NOTIFY)."""
    return f"dealercrm_user_{user_id}"


class LiveRelay:
    def __init__(self) -> None:
        self._sink: Sink | None = None
        self._lock = threading.Lock()

    def connect(self, sink: Sink | None) -> None:
        with self._lock:
            self._sink = sink

    def publish(self, user_ids: Sequence[int], event: dict[str, Any]) -> None:
        with self._lock:
            sink = self._sink
        if sink is not None and user_ids:
            sink([user_channel(u) for u in dict.fromkeys(user_ids)], event)


class RecordingPublisher:
    """The in-memory twin: keeps what was published, for tests and the demo."""

    def __init__(self) -> None:
        self.sent: list[tuple[tuple[int, ...], dict[str, Any]]] = []

    def publish(self, user_ids: Sequence[int], event: dict[str, Any]) -> None:
        self.sent.append((tuple(user_ids), dict(event)))
