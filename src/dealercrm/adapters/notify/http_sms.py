"""SMS through an HTTP gateway: signed JSON POST (httpx).

Wire format (what a gateway, or our test server, must accept)::

    POST <url>
    Content-Type: application/json; charset=utf-8
    X-Access-Key: <access_key>
    X-Signature-Method: HMAC-SHA256
    X-Signature: hex(HMAC-SHA256(secret, <exact body bytes>))
    Idempotency-Key: <idempotency_key>

    {"access_key": ..., "idempotency_key": ..., "nonce": ..., "phone": "13800138000",
     "sign_name": "某某专用车", "text": "...", "timestamp": 1700000000}

The body is compact JSON with sorted keys and raw UTF-8. The signature covers the timestamp
and a random nonce, so a gateway can refuse replays; the idempotency key lets it drop the
resend that follows a worker crash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import httpx
import structlog

from dealercrm.application.ports.notify import PermanentDeliveryError, TransientDeliveryError
from dealercrm.domain.notifications import mask_recipient

log = structlog.get_logger(__name__)

_RETRYABLE_4XX = {408, 425, 429}
_OUR_CREDENTIALS = {401, 403}


def sign(secret: str, body: bytes) -> str:
    """The ``X-Signature`` value for a request body."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class HttpSmsSender:
    """An :class:`~dealercrm.application.ports.notify.SmsSender` for a JSON SMS gateway.

    2xx → accepted. 408/425/429, 5xx, timeouts and connection errors → transient. 401/403
    (our key or signature is wrong — a configuration problem, not the message's) → transient
    with code ``notify.sms_gateway_auth_failed``, so messages wait for the fix instead of all
    failing at once. Any other 4xx (bad number, blocked content) → permanent, with the gateway's
    reason from the JSON body (``message``/``reason``/``error``/``msg``) and its ``code``.
    Use as a context manager or call :meth:`close` to release the HTTP connection pool.
    """

    def __init__(
        self,
        url: str,
        access_key: str,
        secret: str,
        sign_name: str,
        timeout: float = 10.0,
        *,
        client: httpx.Client | None = None,
        now: Callable[[], float] = time.time,
        nonce: Callable[[], str] = lambda: secrets.token_hex(16),
    ) -> None:
        self._url = url
        self._access_key = access_key
        self._secret = secret
        self._sign_name = sign_name
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False)
        self._timeout = timeout
        self._now = now
        self._nonce = nonce

    def __enter__(self) -> HttpSmsSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def build_request(self, phone: str, text: str, *, idempotency_key: str) -> tuple[bytes, dict[str, str]]:
        payload = {
            "access_key": self._access_key,
            "idempotency_key": idempotency_key,
            "nonce": self._nonce(),
            "phone": phone,
            "sign_name": self._sign_name,
            "text": text,
            "timestamp": int(self._now()),
        }
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Access-Key": self._access_key,
            "X-Signature-Method": "HMAC-SHA256",
            "X-Signature": sign(self._secret, body),
            "Idempotency-Key": idempotency_key,
        }
        return body, headers

    def send(self, phone: str, text: str, *, idempotency_key: str) -> None:
        body, headers = self.build_request(phone, text, idempotency_key=idempotency_key)
        try:
            response = self._client.post(self._url, content=body, headers=headers, timeout=self._timeout)
        except httpx.TimeoutException as exc:
            raise TransientDeliveryError(f"短信网关超时：{type(exc).__name__}",
                                         code="notify.sms_gateway_timeout") from exc
        except httpx.HTTPError as exc:
            raise TransientDeliveryError(f"无法连接短信网关：{type(exc).__name__}: {exc}",
                                         code="notify.sms_gateway_unavailable") from exc
        status = response.status_code
        if 200 <= status < 300:
            log.debug("sms_accepted", phone=mask_recipient(phone), idempotency_key=idempotency_key)
            return
        reason, provider_code = _reason(response)
        if status in _OUR_CREDENTIALS:
            raise TransientDeliveryError(f"短信网关拒绝了我方凭据：HTTP {status} {reason}",
                                         code="notify.sms_gateway_auth_failed", http_status=status)
        if 400 <= status < 500 and status not in _RETRYABLE_4XX:
            raise PermanentDeliveryError(reason, provider_code=provider_code, http_status=status)
        raise TransientDeliveryError(f"短信网关暂时不可用：HTTP {status} {reason}",
                                     code="notify.sms_gateway_unavailable", http_status=status)


def _reason(response: httpx.Response) -> tuple[str, str | None]:
    fallback = f"HTTP {response.status_code} {response.reason_phrase}".strip()
    try:
        data: Any = response.json()
    except ValueError:
        text = response.text.strip()[:300]
        return (text or fallback), None
    if not isinstance(data, dict):
        return fallback, None
    reason = next((str(data[k]) for k in ("message", "reason", "error", "msg", "errmsg")
                   if data.get(k)), fallback)
    code = next((str(data[k]) for k in ("code", "error_code", "errcode") if data.get(k) is not None), None)
    return reason[:500], code
