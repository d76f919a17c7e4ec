"""In-memory twin of the video conferencing port (tests, the demo, and the default when no
provider is configured: the join URL then points at a local placeholder and says so)."""

from __future__ import annotations

import itertools
import secrets
import threading

from dealercrm.application.ports.video import Meeting, MeetingParticipant, MeetingRequest, VideoProviderError


class MemoryVideoConferencing:
    """Keeps meetings in a dict, idempotent by key. ``fail_next(error)`` makes the next call
    raise (a provider outage or refusal in unit tests)."""

    def __init__(self, base_url: str = "https://meeting.invalid/j") -> None:
        self.base_url = base_url.rstrip("/")
        self.meetings: dict[str, tuple[MeetingRequest, Meeting]] = {}
        self.by_key: dict[str, str] = {}
        self.cancelled: set[str] = set()
        self.joined: dict[str, list[MeetingParticipant]] = {}
        self.calls: list[str] = []
        self._failures: list[VideoProviderError] = []
        self._ids = itertools.count(100_000_001)
        self._lock = threading.Lock()

    def fail_next(self, error: VideoProviderError, times: int = 1) -> None:
        self._failures.extend([error] * times)

    def _maybe_fail(self) -> None:
        if self._failures:
            raise self._failures.pop(0)

    def create_meeting(self, request: MeetingRequest) -> Meeting:
        with self._lock:
            self.calls.append("create")
            self._maybe_fail()
            known = self.by_key.get(request.idempotency_key)
            if known is not None:
                return self.meetings[known][1]
            number = next(self._ids)
            meeting = Meeting(meeting_id=f"m{number}", join_url=f"{self.base_url}/{number}",
                              passcode=f"{secrets.randbelow(10**6):06d}", meeting_code=str(number))
            self.meetings[meeting.meeting_id] = (request, meeting)
            self.by_key[request.idempotency_key] = meeting.meeting_id
            return meeting

    def cancel_meeting(self, meeting_id: str) -> None:
        with self._lock:
            self.calls.append("cancel")
            self._maybe_fail()
            self.cancelled.add(meeting_id)

    def participants(self, meeting_id: str) -> list[MeetingParticipant]:
        with self._lock:
            self.calls.append("participants")
            self._maybe_fail()
            return list(self.joined.get(meeting_id, []))
