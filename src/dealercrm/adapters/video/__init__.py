"""Video conferencing adapters: the HTTP client of docs/video-api.md, its simulator server and an
in-memory twin."""

from __future__ import annotations

from dealercrm.application.ports.video import VideoConferencing


def video_conferencing_for(url: str | None, app_id: str, secret: str, timeout: float) -> VideoConferencing:
    """``HttpVideoConferencing`` when ``DEALERCRM_VIDEO_URL`` is set, else the in-memory twin
    (meetings exist only in this process; fine for the demo and tests)."""
    if url:
        from dealercrm.adapters.video.http import HttpVideoConferencing

        return HttpVideoConferencing(url, app_id, secret, timeout=timeout)
    from dealercrm.adapters.video.memory import MemoryVideoConferencing

    return MemoryVideoConferencing()
