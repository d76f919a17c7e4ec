"""Gate-pass signing ports: the kiosk signs a pass's claims, the guard's scanner verifies them.

A token is short enough for a QR code and verifiable offline with only a public key, so the
gate keeps working when the link to the server is down. Verification failures are typed so
the guard screen can say *why* a pass is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from dealercrm.domain.errors import DomainError


class PassTokenError(DomainError):
    """A gate-pass token was refused."""

    code = "gate_pass.invalid"


class PassMalformed(PassTokenError):
    code = "gate_pass.malformed"


class PassForged(PassTokenError):
    """Bad signature or a key we do not trust."""

    code = "gate_pass.forged"


class PassExpired(PassTokenError):
    code = "gate_pass.expired"


class PassNotYetValid(PassTokenError):
    code = "gate_pass.not_yet_valid"


class PassSigner(Protocol):
    def sign(self, claims: dict[str, Any]) -> str:
        """A compact token carrying ``claims`` (datetimes become ISO 8601 strings)."""


class PassVerifier(Protocol):
    def verify(self, token: str, now: datetime) -> dict[str, Any]:
        """The verified claims; raises a ``PassTokenError`` subclass otherwise.

        ``valid_from`` and ``valid_to`` claims (ISO 8601 with offset) are checked against
        ``now`` (aware).
        """


class KeyedPassSigner(PassSigner, Protocol):
    """A signer that names its key: ``kid`` is what a verifier looks the public key up by."""

    kid: str


class GateKeys(Protocol):
    """The installation's gate key ring: the current signer, the verifier of every trusted key,
    the public keys a guard device downloads, and the secret that keys ID-number digests."""

    @property
    def signer(self) -> KeyedPassSigner: ...

    @property
    def verifier(self) -> PassVerifier: ...

    @property
    def public_keys(self) -> tuple[dict[str, Any], ...]: ...

    @property
    def id_key(self) -> bytes: ...


def id_number_digest(id_number: str) -> str:
    """sha256 hex of the upper-cased ID number: the pass carries this, never the number."""
    return hashlib.sha256(id_number.strip().upper().encode("ascii")).hexdigest()


def gate_pass_claims(pass_no: str, vins: Sequence[str], id_number: str,
                     valid_from: datetime, valid_to: datetime) -> dict[str, Any]:
    """The claims a gate pass carries."""
    return {
        "pass_no": pass_no,
        "vins": list(vins),
        "id_sha256": id_number_digest(id_number),
        "valid_from": valid_from.isoformat(),
        "valid_to": valid_to.isoformat(),
    }
