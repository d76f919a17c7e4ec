"""``HttpVideoConferencing``: the video meeting API of docs/video-api.md over HTTPS (httpx).

Failure mapping (what the training's meeting retry relies on):

* 2xx → done; ``DELETE`` answering 404 → already gone, counts as cancelled;
* timeouts, connection errors, 5xx, 408/425/429 → transient (retried later with the same
  idempotency key, so a create that timed out after the provider made the meeting returns that
  meeting on retry);
* 401/403 → transient with code ``video.auth_failed`` (our credentials or clock are wrong: a
  configuration problem, not the training's — it waits for the fix);
* any other 4xx → permanent with the provider's ``error_code`` and ``message``.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import structlog

from dealercrm.adapters.video.wire import signature
from dealercrm.application.ports.video import Meeting, MeetingParticipant, MeetingRequest, VideoProviderError

log = structlog.get_logger(__name__)

_RETRYABLE_4XX = {408, 425, 429}


class HttpVideoConferencing:
    def __init__(self, base_url: str, app_id: str, secret: str, *, timeout: float = 10.0,
                 client: httpx.Client | None = None, now: Callable[[], float] = time.time,
                 nonce: Callable[[], str] = lambda: secrets.token_hex(16)) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("video API base URL must start with http:// or https://")
        self._base = base_url.rstrip("/")
        self._prefix = httpx.URL(self._base).path.rstrip("/")
        self._app_id = app_id
        self._secret = secret
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False)
        self._now = now
        self._nonce = nonce

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> HttpVideoConferencing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the port ------------------------------------------------------------------------------

    def create_meeting(self, request: MeetingRequest) -> Meeting:
        body = {
            "subject": request.subject,
            "start_time": int(request.starts_at.timestamp()),
            "end_time": int(request.ends_at.timestamp()),
            "host": request.host,
            "settings": {"waiting_room": False, "mute_on_entry": True},
        }
        data = self._call("POST", "/v1/meetings", body, headers={"Idempotency-Key": request.idempotency_key},
                          ok=(200, 201))
        try:
            return Meeting(meeting_id=str(data["meeting_id"]), join_url=str(data["join_url"]),
                           passcode=data.get("password") or None, meeting_code=data.get("meeting_code"))
        except (KeyError, TypeError) as exc:
            raise VideoProviderError(f"会议服务返回的数据不完整：{exc}", transient=True,
                                     code="video.bad_response") from None

    def cancel_meeting(self, meeting_id: str) -> None:
        self._call("DELETE", f"/v1/meetings/{quote(meeting_id, safe='')}", None, ok=(200, 204, 404))

    def participants(self, meeting_id: str) -> list[MeetingParticipant]:
        data = self._call("GET", f"/v1/meetings/{quote(meeting_id, safe='')}/participants", None, ok=(200,))
        out = []
        try:
            for p in data.get("participants", []):
                left = p.get("leave_time")
                out.append(MeetingParticipant(
                    name=str(p["name"]), joined_at=dt.datetime.fromtimestamp(int(p["join_time"]), dt.UTC),
                    left_at=dt.datetime.fromtimestamp(int(left), dt.UTC) if left else None))
        except (KeyError, TypeError, ValueError, OverflowError, AttributeError) as exc:
            raise VideoProviderError(f"会议服务返回的参会记录无法解析：{type(exc).__name__}", transient=True,
                                     code="video.bad_response") from None
        return out

    # -- wire ----------------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: dict[str, Any] | None, *, ok: tuple[int, ...],
              headers: dict[str, str] | None = None) -> dict[str, Any]:
        raw = b"" if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":"),
                                                    sort_keys=True).encode("utf-8")
        timestamp, nonce = str(int(self._now())), self._nonce()
        full_path = self._prefix + path
        signed = {
            "X-App-Id": self._app_id, "X-Timestamp": timestamp, "X-Nonce": nonce,
            "X-Signature": signature(self._secret, method, full_path, timestamp, nonce, raw),
            **(headers or {}),
        }
        if body is not None:
            signed["Content-Type"] = "application/json; charset=utf-8"
        try:
            response = self._client.request(method, self._base + path, content=raw or None, headers=signed)
        except httpx.TimeoutException:
            log.warning("video_api_timeout", method=method, path=path)
            raise VideoProviderError("视频会议服务响应超时", transient=True, code="video.timeout") from None
        except httpx.HTTPError as exc:
            log.warning("video_api_unreachable", method=method, path=path, error=type(exc).__name__)
            raise VideoProviderError(f"无法连接视频会议服务：{type(exc).__name__}", transient=True,
                                     code="video.unreachable") from None
        status = response.status_code
        if status in ok:
            if status == 204 or not response.content:
                return {}
            try:
                data = response.json()
            except ValueError:
                raise VideoProviderError("视频会议服务返回了无法解析的内容", transient=True,
                                         code="video.bad_response", status=status) from None
            return data if isinstance(data, dict) else {}
        code, message = _problem(response)
        log.warning("video_api_error", method=method, path=path, status=status, provider_code=code)
        if status in (401, 403):
            raise VideoProviderError(f"视频会议服务拒绝了本系统的凭证（{status} {code}）：{message}", transient=True,
                                     code="video.auth_failed", status=status)
        if status >= 500 or status in _RETRYABLE_4XX:
            raise VideoProviderError(f"视频会议服务暂时不可用（{status}）：{message}", transient=True,
                                     code="video.unavailable", status=status)
        raise VideoProviderError(f"视频会议服务拒绝了请求（{status} {code}）：{message}", transient=False,
                                 code="video.rejected", status=status)


def _problem(response: httpx.Response) -> tuple[str, str]:
    try:
        data = response.json()
    except ValueError:
        return "unknown", response.text[:200]
    if not isinstance(data, dict):
        return "unknown", str(data)[:200]
    return str(data.get("error_code", "unknown")), str(data.get("message", ""))[:300]
