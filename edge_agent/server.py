"""HTTP client for the server's kiosk API (``docs/kiosk-api.md``), with the device credential.

Every call sends ``X-Device-Key``. Failures come back as two kinds, because the agent must
treat them differently:

- :class:`ServerUnreachable` — no connection, a timeout, or a transient server failure (5xx,
  ``db.busy``): the request may be retried later with the same ``event_id``;
- :class:`ServerRefused` — the server answered 4xx with its problem document: ``status``,
  the stable ``code`` and the Chinese ``detail``. Retrying the same request cannot change it
  (the server stores refusals under the event id too).

Answers come back as the JSON received (the journal keeps them so, byte for byte in meaning);
where the agent reads one, it decodes it into the struct the server built it from
(``dealercrm.wire.kiosk``: ``msgspec.convert(answer, KioskLookupOut)``), so both sides share
one declaration of the wire format. Uses httpx with short connect/read timeouts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import httpx

from dealercrm.domain.identity import badge_digest


class ServerError(Exception):
    """Anything that kept the kiosk API from giving a successful answer."""


class ServerUnreachable(ServerError):
    """No usable answer (connection refused, timeout, 5xx): retry later with the same event id."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class ServerRefused(ServerError):
    """A definitive 4xx answer: ``code`` and ``detail`` from the server's problem document."""

    def __init__(self, status: int, code: str, detail: str, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.body = body


class KioskServer:
    """The kiosk API at ``base_url`` (``http://10.0.0.5:8000``) for one device key."""

    def __init__(self, base_url: str, device_key: str, *, timeout: float = 5.0, connect_timeout: float = 2.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not device_key:
            raise ValueError("device key is required (X-Device-Key)")
        self.base_url = base_url.rstrip("/")
        # the key of this device's badge book: the server keeps the same SHA-256 of the device key
        self.device_secret = hashlib.sha256(device_key.encode()).hexdigest()
        self._client = httpx.Client(
            base_url=self.base_url,
            headers={"X-Device-Key": device_key, "Accept": "application/json",
                     "User-Agent": "dealercrm-edge-agent/1"},
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> KioskServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self._client.request(method, f"/api/v1/kiosk{path}", json=body)
        except httpx.TimeoutException as exc:
            raise ServerUnreachable(f"timeout: {type(exc).__name__}") from None
        except httpx.TransportError as exc:
            raise ServerUnreachable(f"unreachable: {type(exc).__name__}") from None
        if response.status_code >= 500:
            raise ServerUnreachable(f"server error {response.status_code}", status=response.status_code)
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code >= 400:
            problem = data if isinstance(data, dict) else {}
            code = str(problem.get("code") or f"http.{response.status_code}")
            if code.startswith("db."):  # busy database: transient, the answer was not stored
                raise ServerUnreachable(f"server busy ({code})", status=response.status_code)
            raise ServerRefused(response.status_code, code, str(problem.get("detail") or problem.get("title") or ""),
                                problem)
        if data is None:
            raise ServerUnreachable(f"answer is not JSON (status {response.status_code})",
                                    status=response.status_code)
        return data

    # -- kiosk API ---------------------------------------------------------------------------

    def whoami(self) -> dict[str, Any]:
        return self._call("GET", "/whoami")

    def verification_keys(self) -> list[dict[str, Any]]:
        return self._call("GET", "/verification-keys")

    def pass_book(self) -> dict[str, Any]:
        """``GET /pass-book``: voided, exited and rejected passes, and the current QR of live ones."""
        return self._call("GET", "/pass-book")

    def find_passes(self, id_number: str, event_id: str) -> dict[str, Any]:
        """``POST /passes/lookup``: the card holder's passes and letters."""
        return self._call("POST", "/passes/lookup", {"event_id": event_id, "id_number": id_number})

    def record_print(self, pass_no: str, event_id: str) -> dict[str, Any]:
        return self._call("POST", f"/passes/{pass_no}/prints", {"event_id": event_id})

    def verify(self, qr_payload: str, event_id: str, scanned_at: str | dt.datetime | None = None) -> dict[str, Any]:
        return self._call("POST", "/verify", _scan_body(qr_payload, event_id, scanned_at))

    def confirm_exit(self, qr_payload: str, event_id: str, scanned_at: str | dt.datetime | None = None,
                     guard_badge: str | None = None) -> dict[str, Any]:
        """``POST /exits``; ``guard_badge`` is the UID of the signed-in guard's badge: only its
        digest keyed by this device (``badge_digest``) leaves the agent."""
        body = _scan_body(qr_payload, event_id, scanned_at)
        if guard_badge:
            body["guard_badge"] = badge_digest(self.device_secret, guard_badge)
        return self._call("POST", "/exits", body)

    def badge_book(self) -> dict[str, Any]:
        """``GET /badges``: the guard and maintenance badges, as digests keyed by this device."""
        return self._call("GET", "/badges")

    def report_status(self, report: dict[str, Any]) -> dict[str, Any]:
        """``POST /status``: this agent's ``status.json`` content; the server keeps the last one."""
        return self._call("POST", "/status", {"report": report})


def _scan_body(qr_payload: str, event_id: str, scanned_at: str | dt.datetime | None) -> dict[str, Any]:
    body: dict[str, Any] = {"event_id": event_id, "qr_payload": qr_payload}
    if scanned_at is not None:
        body["scanned_at"] = scanned_at.isoformat() if isinstance(scanned_at, dt.datetime) else scanned_at
    return body


__all__ = ["KioskServer", "ServerError", "ServerRefused", "ServerUnreachable"]
