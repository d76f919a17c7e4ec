"""The edge agent's local journal: gate events that must reach the server exactly once.

Every event (an exit confirmed by the guard, a pass printed at the kiosk) is written here
*before* the server is asked, with a client event id the server deduplicates on. The file is
SQLite with ``synchronous=FULL`` (and WAL), so an event whose ``record`` returned survives a
SIGKILL or a power cut; replaying it later with the same id cannot count it twice.

States: ``pending`` (not yet acknowledged by the server) → ``sent`` (the server answered 2xx; its
answer is kept) or ``refused`` (the server answered a definitive 4xx — voided pass, exit already
recorded by another device; kept for the guard screen, never retried).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

SCHEMA = """
CREATE TABLE IF NOT EXISTS gate_journal (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    client_event_id TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'refused')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    answered_at     TEXT,
    answer          TEXT
);
CREATE INDEX IF NOT EXISTS ix_gate_journal_pending ON gate_journal (state, seq);
"""


@attrs.frozen
class JournalEntry:
    seq: int
    client_event_id: str
    kind: str
    payload: dict[str, Any]
    created_at: dt.datetime
    state: str
    attempts: int
    last_error: str | None
    answer: dict[str, Any] | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Journal:
    """Thread-safe; one connection guarded by a lock (the agent writes a few events a minute)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def record(self, kind: str, payload: dict[str, Any], *, client_event_id: str | None = None,
               now: dt.datetime | None = None) -> str:
        """Durably store an event; returns its client event id (a fresh UUID unless given)."""
        event_id = client_event_id or str(uuid.uuid4())
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO gate_journal (client_event_id, kind, payload, created_at) VALUES (?, ?, ?, ?)",
                (event_id, kind, json.dumps(payload, ensure_ascii=False, sort_keys=True),
                 (now or _now()).isoformat()),
            )
        return event_id

    def pending(self, limit: int = 100) -> list[JournalEntry]:
        return self._select("WHERE state = 'pending' ORDER BY seq LIMIT ?", (limit,))

    def get(self, client_event_id: str) -> JournalEntry | None:
        rows = self._select("WHERE client_event_id = ?", (client_event_id,))
        return rows[0] if rows else None

    def for_pass(self, kind: str, pass_no: str) -> list[JournalEntry]:
        """Events of ``kind`` whose payload names ``pass_no`` (oldest first)."""
        return self._select("WHERE kind = ? AND json_extract(payload, '$.pass_no') = ? ORDER BY seq",
                            (kind, pass_no))

    def since(self, kind: str, after: dt.datetime) -> list[JournalEntry]:
        """Events of ``kind`` recorded at or after ``after`` (oldest first): today's exits."""
        rows = self._select("WHERE kind = ? AND created_at >= ? ORDER BY seq",
                            (kind, after.astimezone(dt.UTC).isoformat()[:19]))
        return [entry for entry in rows if entry.created_at >= after]

    def recent(self, limit: int = 20) -> list[JournalEntry]:
        return self._select("ORDER BY seq DESC LIMIT ?", (limit,))

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, count(*) FROM gate_journal GROUP BY state").fetchall()
        return {"pending": 0, "sent": 0, "refused": 0} | {state: n for state, n in rows}

    def mark_sent(self, client_event_id: str, answer: dict[str, Any], *, now: dt.datetime | None = None) -> None:
        self._answer(client_event_id, "sent", answer, None, now)

    def mark_refused(self, client_event_id: str, answer: dict[str, Any], reason: str, *,
                     now: dt.datetime | None = None) -> None:
        self._answer(client_event_id, "refused", answer, reason, now)

    def note_failure(self, client_event_id: str, error: str) -> None:
        """A transient failure (server unreachable, 5xx): stays pending, attempt counted."""
        with self._lock:
            self._db.execute(
                "UPDATE gate_journal SET attempts = attempts + 1, last_error = ? "
                "WHERE client_event_id = ? AND state = 'pending'",
                (error[:500], client_event_id),
            )

    # -- internals ---------------------------------------------------------------------------

    def _answer(self, client_event_id: str, state: str, answer: dict[str, Any], error: str | None,
                now: dt.datetime | None) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE gate_journal SET state = ?, answer = ?, last_error = ?, answered_at = ?, "
                "attempts = attempts + 1 WHERE client_event_id = ? AND state = 'pending'",
                (state, json.dumps(answer, ensure_ascii=False, sort_keys=True), error,
                 (now or _now()).isoformat(), client_event_id),
            )

    def _select(self, tail: str, params: tuple[Any, ...]) -> list[JournalEntry]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, client_event_id, kind, payload, created_at, state, attempts, last_error, answer "
                f"FROM gate_journal {tail}", params,
            ).fetchall()
        return [
            JournalEntry(seq, eid, kind, json.loads(payload), dt.datetime.fromisoformat(created), state, attempts,
                         error, json.loads(answer) if answer else None)
            for seq, eid, kind, payload, created, state, attempts, error, answer in rows
        ]

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(self._select("ORDER BY seq", ()))
