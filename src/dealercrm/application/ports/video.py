"""The video conferencing port (seed 000 §2.6 3, §4.6 3: 与远程视频会议系统连接集成).

A training that is held online gets a meeting for its time window: a join URL, a meeting id and
a passcode. Real adapter: :class:`dealercrm.adapters.video.http.HttpVideoConferencing` (the JSON
API in ``docs/video-api.md``, modelled on Tencent Meeting / Zoom REST APIs); twins: the
simulator server in ``adapters/video/simulator.py`` and the in-memory
:class:`dealercrm.adapters.video.memory.MemoryVideoConferencing`.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import attrs

from dealercrm.domain.errors import DomainError


@attrs.frozen
class MeetingRequest:
    """``idempotency_key`` is the same for every attempt for one training: a retry after a
    timeout gets the meeting the first attempt made instead of a second one."""

    subject: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    host: str
    idempotency_key: str


@attrs.frozen
class Meeting:
    meeting_id: str
    join_url: str
    passcode: str | None = None
    meeting_code: str | None = None  # the short number people type into the app


@attrs.frozen
class MeetingParticipant:
    name: str
    joined_at: dt.datetime
    left_at: dt.datetime | None = None


class VideoProviderError(DomainError):
    """The provider did not do it. ``transient``: try again later (timeouts, 5xx, 429, our
    credentials refused — a configuration problem); otherwise the provider refused this request
    (4xx) and retrying the same request will not help. Shown to an API caller as 503."""

    def __init__(self, message: str, *, transient: bool, code: str = "video.provider_error",
                 status: int | None = None) -> None:
        super().__init__(message, code=code, transient=transient, provider_status=status)
        self.transient = transient
        self.status = status


class VideoConferencing(Protocol):
    """Meetings at a video conferencing provider."""

    def create_meeting(self, request: MeetingRequest) -> Meeting:
        """Create (or, for a known idempotency key, return) the meeting. Raises VideoProviderError."""

    def cancel_meeting(self, meeting_id: str) -> None:
        """Cancel; a meeting the provider no longer knows counts as cancelled."""

    def participants(self, meeting_id: str) -> list[MeetingParticipant]:
        """Who joined, after the fact (empty if the provider does not report it)."""
