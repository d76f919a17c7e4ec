"""The kiosk API's answers (``docs/kiosk-api.md``), shared by the server and ``edge_agent/``.

The server builds these (``msgspec.convert(answer, KioskLookupOut)``); the edge agent decodes
what it receives into the same structs (``msgspec.convert(data, KioskLookupOut)``) and reads
attributes. Deployed agents read this JSON: field names, types and optionality stay as they are.
Times are ISO 8601 strings with offset (stored verbatim in the idempotency ledger and replayed
byte for byte).
"""

from __future__ import annotations

import msgspec


class PrintLine(msgspec.Struct, omit_defaults=True):
    """One printed line. ``kind``: title | text | kv | qr | separator | feed | cut."""

    kind: str
    text: str | None = None
    bold: bool | None = None
    double_size: bool | None = None
    align: str | None = None
    key: str | None = None
    value: str | None = None
    payload: str | None = None
    size: int | None = None
    char: str | None = None
    lines: int | None = None


class PrintLayout(msgspec.Struct):
    """``domain.printing.document_from_wire`` turns this back into a ``PrintDocument``."""

    width: int
    lines: list[PrintLine]
    text: list[str]


class VerifyOut(msgspec.Struct):
    valid: bool
    code: str
    message: str
    pass_no: str | None
    status: str | None
    status_label: str | None
    person_name: str | None
    vins: list[str]
    valid_from: str | None
    valid_to: str | None
    exited_at: str | None


class ExitGuardOut(msgspec.Struct):
    user_id: int
    name: str


class ExitOut(msgspec.Struct):
    pass_no: str
    status: str
    exited_at: str
    recorded_at: str
    vins: list[str]
    released: int
    source: str
    event_id: str | None = None
    guard: ExitGuardOut | None = None  # the guard signed in at the device by badge, when known
    holder: str | None = None  # the collector's name, masked (王*国)


class VerificationKeyOut(msgspec.Struct):
    kid: str
    algorithm: str
    public_key: str
    public_key_pem: str
    current: bool


class PassBookEntryOut(msgspec.Struct):
    pass_no: str
    status: str
    qr_sha256: str | None
    holder: str | None = None  # the collector's name, masked (王*国), for the guard screen


class PassBookOut(msgspec.Struct):
    as_of: str
    passes: list[PassBookEntryOut]


class KioskPassOut(msgspec.Struct):
    pass_no: str
    status: str
    status_label: str
    printable: bool
    code: str
    message: str
    person_name: str
    vins: list[str]
    valid_from: str
    valid_to: str
    exited_at: str | None
    print_count: int
    qr_payload: str | None
    layout: PrintLayout | None


class KioskAuthorizationOut(msgspec.Struct):
    number: str
    contract_no: str
    vins: list[str]
    valid_to: str
    message: str


class KioskLookupOut(msgspec.Struct):
    passes: list[KioskPassOut]
    authorizations: list[KioskAuthorizationOut]
    message: str


class KioskPrintOut(msgspec.Struct):
    pass_no: str
    print_count: int
    reprint: bool
    printed_at: str


class BadgeBookEntryOut(msgspec.Struct):
    digest: str
    purpose: str
    user_id: int
    name: str


class BadgeBookOut(msgspec.Struct):
    as_of: str
    badges: list[BadgeBookEntryOut]


class DeviceStatusOut(msgspec.Struct):
    device_id: int
    reported_at: str


__all__ = [
    "BadgeBookEntryOut", "BadgeBookOut", "DeviceStatusOut", "ExitGuardOut", "ExitOut", "KioskAuthorizationOut",
    "KioskLookupOut", "KioskPassOut", "KioskPrintOut", "PassBookEntryOut", "PassBookOut", "PrintLayout", "PrintLine",
    "VerificationKeyOut", "VerifyOut",
]
