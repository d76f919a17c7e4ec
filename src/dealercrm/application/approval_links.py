"""Signed, single-use, expiring approve / reject links for approval e-mails (邮件审批).

A link carries a token ``<payload>.<signature>``: the payload names the step, the user it was
sent to, the decision, the expiry (Unix seconds) and a random nonce; the signature is
HMAC-SHA256 over the payload under a server-side key. So a token cannot be forged or altered
(any change breaks the signature), it stops working at its expiry, and — because the nonce is
recorded when the link is used — it works once. Opening the link (GET) only shows a
confirmation page; the decision is made by the POST of that page, so mail scanners that
prefetch links change nothing.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import secrets

import attrs

from dealercrm.domain.errors import DomainError

DECISIONS = ("approve", "reject")
_VERSION = "1"
_DOMAIN = b"dealercrm.workflow-link.v1|"  # domain separation from other uses of the key


class ApprovalLinkError(DomainError):
    """A link that cannot be used; ``http_status`` says how the link page answers."""

    code = "workflow.link_invalid"
    http_status = 400


class ApprovalLinkInvalid(ApprovalLinkError):
    """Malformed, forged, or for a user who no longer may use it."""

    code = "workflow.link_invalid"
    http_status = 400


class ApprovalLinkExpired(ApprovalLinkError):
    code = "workflow.link_expired"
    http_status = 410


class ApprovalLinkUsed(ApprovalLinkError):
    code = "workflow.link_used"
    http_status = 409


@attrs.frozen
class LinkClaims:
    step_id: int
    user_id: int
    decision: str
    expires_at: dt.datetime
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_nonces(count: int) -> list[str]:
    """``count`` link nonces (``secrets.token_hex(16)`` each) from one read of the random source:
    a stage's task mails carry two links per addressee."""
    raw = secrets.token_bytes(16 * count)
    return [raw[i:i + 16].hex() for i in range(0, 16 * count, 16)]


class ApprovalLinkSigner:
    """Issues and verifies link tokens with one HMAC key (from settings)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("approval link key must be at least 16 bytes")
        self._key = key

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, _DOMAIN + payload, hashlib.sha256).digest()

    def issue(self, *, step_id: int, user_id: int, decision: str, expires_at: dt.datetime,
              nonce: str | None = None) -> tuple[str, str]:
        """``(token, nonce)`` for one decision on one step by one user."""
        if decision not in DECISIONS:
            raise ValueError(f"unknown decision {decision!r}")
        nonce = nonce or secrets.token_hex(16)
        payload = f"{_VERSION}.{step_id}.{user_id}.{decision[0]}.{int(expires_at.timestamp())}.{nonce}".encode()
        return f"{_b64(payload)}.{_b64(self._sign(payload))}", nonce

    def verify(self, token: str, now: dt.datetime) -> LinkClaims:
        """The claims of a genuine, unexpired token; raises :class:`ApprovalLinkInvalid` or
        :class:`ApprovalLinkExpired`. (Whether it was used already is the caller's check.)"""
        invalid = ApprovalLinkInvalid("审批链接无效或已被篡改", code="workflow.link_invalid")
        if len(token) > 400 or token.count(".") != 1:
            raise invalid
        payload_b64, sig_b64 = token.split(".")
        try:
            payload = _unb64(payload_b64)
            signature = _unb64(sig_b64)
        except (binascii.Error, ValueError):
            raise invalid from None
        if _b64(payload) != payload_b64 or _b64(signature) != sig_b64:
            raise invalid  # only the canonical spelling: one token per link, not several
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise invalid
        try:
            version, step, user, d, exp, nonce = payload.decode("ascii").split(".")
            claims = LinkClaims(int(step), int(user), {"a": "approve", "r": "reject"}[d],
                                dt.datetime.fromtimestamp(int(exp), dt.UTC), nonce)
        except (ValueError, KeyError, UnicodeDecodeError):
            raise invalid from None
        if version != _VERSION:
            raise invalid
        if now >= claims.expires_at:
            raise ApprovalLinkExpired("审批链接已过期，请登录系统办理", code="workflow.link_expired",
                                      expired_at=claims.expires_at.isoformat())
        return claims


def derive_link_key(secret: str, fallback_secret: str) -> bytes:
    """The link key: the configured secret, else one derived from ``fallback_secret`` (the JWT
    secret) so a deployment that set that one gets stable links without another setting."""
    if secret:
        return secret.encode()
    return hmac.new(fallback_secret.encode(), b"dealercrm workflow approval links", hashlib.sha256).digest()


@attrs.frozen
class ApprovalMail:
    """How approval e-mails are written: where the portal is, and (if e-mail approval is on)
    the link signer and how long links live. Carried by the unit of work."""

    portal_url: str = "http://127.0.0.1:8000"
    signer: ApprovalLinkSigner | None = None
    link_ttl: dt.timedelta = dt.timedelta(hours=72)

    @classmethod
    def signed(cls, portal_url: str, link_secret: str, fallback_secret: str, ttl_hours: int) -> ApprovalMail:
        """E-mail approval on: links signed with ``link_secret`` (else a key derived from the
        fallback, the JWT secret), valid ``ttl_hours``."""
        return cls(portal_url, ApprovalLinkSigner(derive_link_key(link_secret, fallback_secret)),
                   dt.timedelta(hours=ttl_hours))

    def link_url(self, token: str) -> str:
        return f"{self.portal_url.rstrip('/')}/api/v1/workflow-links/{token}"

    def task_url(self, step_id: int, workflow_id: int) -> str:
        """The web page where the addressee decides the step (after logging in); once the step
        is decided, the page shows its workflow instead."""
        return f"{self.portal_url.rstrip('/')}/tasks/{step_id}?workflow={workflow_id}"

    def workflow_url(self, workflow_id: int) -> str:
        return f"{self.portal_url.rstrip('/')}/api/v1/workflows/{workflow_id}"
