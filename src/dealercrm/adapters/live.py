"""``LiveRelay``: the ``LivePublisher`` the services hold. It hands each event to a sink that the
web app connects when it starts (Litestar channels: in memory on one SQLite process, PostgreSQL
LISTEN/NOTIFY across workers); until one is connected — a script, a worker without a web app —
events go nowhere, and browsers catch up from the database when they next connect.

Every event goes out once, on one channel (:data:`LIVE_CHANNEL`), naming whom it is for: the
people (``user_ids``) or, for a workbench change, the addressees (``audience``: pairs like
``("role", "finance")``, ``("region", "华东")``, ``("user", "12")``, ``("dealer", "5")``). Each
worker listens once and hands the event to its own sockets of those people
(``entrypoints.web.live.LiveHub``), so a post costs one NOTIFY however many members read it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

Sink = Callable[[list[str], dict[str, Any]], None]

LIVE_CHANNEL = "dealercrm_live"  # a valid PostgreSQL identifier for LISTEN/NOTIFY
# NOTIFY payloads are capped at 8 kB: an event for more people than this goes out in parts
MAX_USERS_PER_EVENT = 500  # ids of up to 12 characters with their commas: about 6.5 kB
MAX_ADDRESSEES_PER_EVENT = 30  # pairs such as ["department", "<60 Chinese characters>"]: under 6 kB


class LiveRelay:
    def __init__(self) -> None:
        self._sink: Sink | None = None
        self._lock = threading.Lock()

    def connect(self, sink: Sink | None) -> None:
        with self._lock:
            self._sink = sink

    def _send(self, event: dict[str, Any]) -> None:
        with self._lock:
            sink = self._sink
        if sink is not None:
            sink([LIVE_CHANNEL], event)

    def publish(self, user_ids: Sequence[int], event: dict[str, Any]) -> None:
        people = list(dict.fromkeys(user_ids))
        for start in range(0, len(people), MAX_USERS_PER_EVENT):
            self._send({**event, "user_ids": people[start:start + MAX_USERS_PER_EVENT]})

    def workbench_changed(self, audience: Iterable[tuple[str, str]]) -> None:
        """Tell the browsers of the addressees that their workbench has new items (after commit)."""
        pairs = sorted({(str(k), str(v)) for k, v in audience})
        for start in range(0, len(pairs), MAX_ADDRESSEES_PER_EVENT):
            self._send({"type": "workbench",
                        "audience": [list(p) for p in pairs[start:start + MAX_ADDRESSEES_PER_EVENT]]})


class RecordingPublisher:
    """The in-memory twin: keeps what was published, for tests and the demo."""

    def __init__(self) -> None:
        self.sent: list[tuple[tuple[int, ...], dict[str, Any]]] = []

    def publish(self, user_ids: Sequence[int], event: dict[str, Any]) -> None:
        self.sent.append((tuple(user_ids), dict(event)))
