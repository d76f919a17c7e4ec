"""Ed25519 gate-pass tokens (package ``cryptography``).

Token: ``base64url(JSON claims) + "." + base64url(signature)``, no padding. The JSON is
compact, sorted and carries ``kid`` (first 16 hex digits of the sha256 of the raw public
key), so a verifier holding several public keys (key rotation) picks the right one, and an
unknown ``kid`` is refused as forged. The signature covers the ASCII of the first part.
A typical gate pass is ~330 characters: a version-10ish QR code in byte mode.

Keys are PEM files: PKCS#8 private key on the kiosk side, SubjectPublicKeyInfo public key on
the guard side; ``generate_key_files`` writes a pair (private key mode 0600).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dealercrm.application.ports.signing import (
    PassExpired,
    PassForged,
    PassMalformed,
    PassNotYetValid,
)

MAX_TOKEN_LENGTH = 2048


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    if not text or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                       for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in claims")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


class Ed25519PassSigner:
    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.kid = key_id(private_key.public_key())

    @classmethod
    def generate(cls) -> Ed25519PassSigner:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem_file(cls, path: str | os.PathLike[str], password: bytes | None = None) -> Ed25519PassSigner:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=password)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return cls(key)

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._key.public_key()

    def verifier(self, **options: Any) -> Ed25519PassVerifier:
        return Ed25519PassVerifier([self.public_key], **options)

    def sign(self, claims: dict[str, Any]) -> str:
        body = dict(_jsonable(claims))
        body["kid"] = self.kid
        payload = _b64e(json.dumps(body, ensure_ascii=False, separators=(",", ":"),
                                   sort_keys=True).encode("utf-8"))
        return payload + "." + _b64e(self._key.sign(payload.encode("ascii")))


class Ed25519PassVerifier:
    """Verifies tokens offline against trusted public keys.

    ``leeway`` tolerates clock drift between the kiosk that signed and the guard's device.
    """

    def __init__(self, public_keys: Iterable[Ed25519PublicKey], *,
                 leeway: timedelta = timedelta(seconds=30)) -> None:
        self._keys = {key_id(k): k for k in public_keys}
        self.leeway = leeway

    @classmethod
    def from_pem_files(cls, *paths: str | os.PathLike[str], **options: Any) -> Ed25519PassVerifier:
        keys = []
        for path in paths:
            key = serialization.load_pem_public_key(Path(path).read_bytes())
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError(f"{path} is not an Ed25519 public key")
            keys.append(key)
        return cls(keys, **options)

    def verify(self, token: str, now: datetime) -> dict[str, Any]:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        token = token.strip()
        if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
            raise PassMalformed("出门证二维码格式不正确")
        payload, signature = token.split(".")
        try:
            claims = json.loads(_b64d(payload).decode("utf-8"))
            raw_signature = _b64d(signature)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise PassMalformed("出门证二维码格式不正确") from None
        if not isinstance(claims, dict) or not isinstance(claims.get("kid"), str):
            raise PassMalformed("出门证二维码格式不正确")
        key = self._keys.get(claims["kid"])
        if key is None:
            raise PassForged("出门证签名密钥不受信任", kid=claims["kid"])
        try:
            key.verify(raw_signature, payload.encode("ascii"))
        except InvalidSignature:
            raise PassForged("出门证签名无效") from None
        valid_from = self._moment(claims, "valid_from")
        valid_to = self._moment(claims, "valid_to")
        if valid_from is not None and now + self.leeway < valid_from:
            raise PassNotYetValid("出门证尚未生效", valid_from=claims["valid_from"])
        if valid_to is not None and now - self.leeway >= valid_to:
            raise PassExpired("出门证已过期", valid_to=claims["valid_to"])
        return claims

    @staticmethod
    def _moment(claims: dict[str, Any], name: str) -> datetime | None:
        if name not in claims:
            return None
        try:
            moment = datetime.fromisoformat(claims[name])
        except (TypeError, ValueError):
            raise PassMalformed("出门证有效期格式不正确", field=name) from None
        if moment.tzinfo is None:
            raise PassMalformed("出门证有效期缺少时区", field=name)
        return moment


def generate_key_files(private_path: str | os.PathLike[str],
                       public_path: str | os.PathLike[str]) -> Ed25519PassSigner:
    """Write a new key pair as PEM (private key 0600) and return its signer."""
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem)
    Path(public_path).write_bytes(public_pem)
    return Ed25519PassSigner(key)
