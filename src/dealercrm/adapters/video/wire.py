"""The request signature of docs/video-api.md (shared by the client and the simulator).

    X-App-Id: <app id>
    X-Timestamp: <unix seconds>
    X-Nonce: <random, ≥ 16 chars>
    X-Signature: hex(HMAC-SHA256(secret, METHOD + "\\n" + PATH + "\\n" + TIMESTAMP + "\\n" + NONCE + "\\n" + BODY))

PATH is the request path with its query string; BODY the exact body bytes ("" for none).
Modelled on Tencent Meeting's X-TC-Key / X-TC-Timestamp / X-TC-Nonce / X-TC-Signature headers.
"""

from __future__ import annotations

import hashlib
import hmac

MAX_SKEW_SECONDS = 300


def signature(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = b"\n".join([method.upper().encode(), path.encode(), timestamp.encode(), nonce.encode(), body])
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes, given: str) -> bool:
    return hmac.compare_digest(signature(secret, method, path, timestamp, nonce, body), given or "")
