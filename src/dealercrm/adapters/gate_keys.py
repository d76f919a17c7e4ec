"""The server's gate-pass keys: the Ed25519 signing key (from a PEM file named in settings), the
public keys gate devices verify with, and the secret behind the keyed ID-number digests.

``DEALERCRM_GATE_SIGNING_KEY`` names a PKCS#8 PEM private key (``ensure_signing_key`` writes
one, mode 0600; ``scripts/serve-demo`` keeps it in ``var/``). Unset, the process signs with a
throwaway key and says so in the log: passes then stop verifying after a restart.
``DEALERCRM_GATE_VERIFICATION_KEYS`` lists extra public-key PEM files still trusted after a
key rotation. ``DEALERCRM_GATE_ID_HASH_KEY`` is the HMAC secret for ID-number digests; unset,
it is derived from the signing key (so rotate both together, or set it explicitly).
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

import attrs
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dealercrm.adapters.signing import Ed25519PassSigner, Ed25519PassVerifier, generate_key_files, key_id

log = structlog.get_logger(__name__)


@attrs.frozen
class GateKeys:
    signer: Ed25519PassSigner
    verifier: Ed25519PassVerifier
    public_keys: tuple[dict[str, Any], ...]
    id_key: bytes = attrs.field(repr=False)


def public_key_info(key: Ed25519PublicKey, current: bool) -> dict[str, Any]:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return {
        "kid": key_id(key),
        "algorithm": "Ed25519",
        "public_key": base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii"),
        "public_key_pem": pem.decode("ascii"),
        "current": current,
    }


def ensure_signing_key(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and ``path`` + ``.pub``) unless it exists; returns the private key path."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        generate_key_files(path, path.with_name(path.name + ".pub"))
    return path


class GateKeyError(ValueError):
    """A configured gate key file is missing or is not an Ed25519 PEM key."""


def _read(path: str, setting: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise GateKeyError(f"{setting}={path}: cannot read the key file ({exc.strerror}); create it with "
                           f"`python -c 'from dealercrm.adapters.gate_keys import ensure_signing_key as e; "
                           f"e(\"{path}\")'` or unset {setting}") from None


def _load_private(path: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(_read(path, "DEALERCRM_GATE_SIGNING_KEY"), password=None)
    except ValueError as exc:
        if isinstance(exc, GateKeyError):
            raise
        raise GateKeyError(f"DEALERCRM_GATE_SIGNING_KEY={path} is not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def _load_public(path: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(_read(path, "DEALERCRM_GATE_VERIFICATION_KEYS"))
    except ValueError as exc:
        if isinstance(exc, GateKeyError):
            raise
        raise GateKeyError(f"DEALERCRM_GATE_VERIFICATION_KEYS: {path} is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return key


def load_gate_keys(signing_key_path: str = "", verification_key_paths: tuple[str, ...] = (),
                   id_hash_key: str = "") -> GateKeys:
    if signing_key_path:
        private = _load_private(signing_key_path)
    else:
        private = Ed25519PrivateKey.generate()
        log.warning("gate_signing_key_ephemeral", hint="set DEALERCRM_GATE_SIGNING_KEY to a PEM file")
    signer = Ed25519PassSigner(private)
    public = [signer.public_key]
    for path in verification_key_paths:
        key = _load_public(path)
        if key_id(key) not in {key_id(k) for k in public}:
            public.append(key)
    if id_hash_key:
        if len(id_hash_key) < 16:
            raise ValueError("DEALERCRM_GATE_ID_HASH_KEY must be at least 16 characters")
        id_key = id_hash_key.encode("utf-8")
    else:
        raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                    serialization.NoEncryption())
        id_key = hashlib.sha256(b"dealercrm gate id digest v1\x00" + raw).digest()
    return GateKeys(
        signer=signer,
        verifier=Ed25519PassVerifier(public),
        public_keys=tuple(public_key_info(k, key_id(k) == signer.kid) for k in public),
        id_key=id_key,
    )
