"""Request and response structs of the vehicles & gate API (msgspec).

Requests forbid unknown fields. Kiosk answers carry times as ISO 8601 strings with offset
(they are stored verbatim in the idempotency ledger and replayed byte for byte).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from dealercrm.entrypoints.http.schemas import Request
from dealercrm.domain.gate import AuthorizationStatus, GatePassStatus
from dealercrm.domain.shipping import ReceiptOutcome, ShipmentStatus
from dealercrm.domain.vehicles import VehicleState
# the kiosk's answers are one wire format with the edge agent: declared once, in dealercrm.wire
from dealercrm.wire.kiosk import (  # noqa: F401 - re-exported for the controllers and pages
    BadgeBookEntryOut,
    BadgeBookOut,
    DeviceStatusOut,
    ExitGuardOut,
    ExitOut,
    KioskAuthorizationOut,
    KioskLookupOut,
    KioskPassOut,
    KioskPrintOut,
    PassBookEntryOut,
    PassBookOut,
    PrintLayout,
    PrintLine,
    VerificationKeyOut,
    VerifyOut,
)

VinStr = Annotated[str, Meta(min_length=1, max_length=20)]
Ref = Annotated[str, Meta(min_length=1, max_length=40)]
EventId = Annotated[str, Meta(min_length=8, max_length=64, description="client event id (a UUID from the device)")]
IdNumber = Annotated[str, Meta(min_length=1, max_length=30, description="身份证号 as read from the card")]
QrPayload = Annotated[str, Meta(min_length=1, max_length=2048, description="the scanned QR text")]
ReasonText = Annotated[str, Meta(min_length=1, max_length=500)]


# --- vehicles --------------------------------------------------------------------------------


class StockInIn(Request):
    vin: VinStr
    dealer_id: int | None = None
    order_no: Ref | None = None
    contract_no: Ref | None = None
    erp_tracking_no: Ref | None = None
    product_line: Annotated[str, Meta(max_length=20)] | None = None
    model_code: Ref | None = None
    configuration: Annotated[str, Meta(max_length=500)] | None = None
    agreed_delivery_date: dt.date | None = None
    stocked_at: dt.datetime | None = None


class StockInOut(msgspec.Struct):
    vin: str
    vehicle_id: int
    created: bool
    state: VehicleState


class VehicleEventOut(msgspec.Struct):
    seq: int
    action: str
    action_label: str
    at: dt.datetime
    from_state: VehicleState | None
    to_state: VehicleState
    to_state_label: str
    actor: str
    reference: str | None
    note: str | None


class VehicleOut(msgspec.Struct):
    id: int
    vin: str
    state: VehicleState
    state_label: str
    dealer_id: int | None
    dealer_code: str | None
    dealer_name: str | None
    region: str | None
    order_no: str | None
    contract_no: str | None
    erp_tracking_no: str | None
    product_line: str | None
    model_code: str | None
    configuration: str | None
    agreed_delivery_date: dt.date | None
    stocked_at: dt.datetime | None
    released_at: dt.datetime | None
    received_at: dt.datetime | None
    state_changed_at: dt.datetime | None


class VehicleDetailOut(VehicleOut):
    history: list[VehicleEventOut] = []


class VehiclePage(msgspec.Struct):
    items: list[VehicleOut]
    next_cursor: str | None


# --- pickup authorizations (介绍信) ------------------------------------------------------------


class AuthorizationIn(Request):
    contract_no: Ref
    vins: Annotated[list[VinStr], Meta(min_length=1, max_length=50)]
    person_name: Annotated[str, Meta(min_length=1, max_length=30)]
    id_number: IdNumber
    phone: Annotated[str, Meta(min_length=1, max_length=30)]
    valid_from: dt.datetime
    valid_to: dt.datetime


class GatePassRef(msgspec.Struct):
    id: int
    pass_no: str
    status: GatePassStatus
    vins: list[str]


class AuthorizationOut(msgspec.Struct):
    id: int
    number: str
    dealer_id: int
    dealer_code: str
    dealer_name: str
    contract_no: str
    person_name: str
    id_masked: str
    phone: str
    vins: list[str]
    valid_from: dt.datetime
    valid_to: dt.datetime
    status: AuthorizationStatus
    status_label: str
    status_reason: str | None
    created_at: dt.datetime
    created_by: str
    id_checked_at: dt.datetime | None
    id_checked_via: str | None
    gate_passes: list[GatePassRef] | None = None


class AuthorizationPage(msgspec.Struct):
    items: list[AuthorizationOut]
    next_cursor: str | None


class StatusOut(msgspec.Struct):
    id: int
    status: str
    status_label: str


# --- gate passes (出门证) ----------------------------------------------------------------------


class GatePassIn(Request):
    authorization_id: int
    id_number: IdNumber | None = None
    id_source: Annotated[str, Meta(pattern="^(card|desk)$")] = "desk"
    vins: Annotated[list[VinStr], Meta(max_length=50)] = []
    valid_to: dt.datetime | None = None


class ExitIn(Request):
    event_id: EventId | None = None


class VerifyIn(Request):
    qr_payload: QrPayload


class GateExitOut(msgspec.Struct):
    exited_at: dt.datetime
    recorded_at: dt.datetime
    source: str
    actor: str
    client_event_id: str | None
    guard_user_id: int | None = None  # the guard who let the vehicles out (badge at a device, or the desk user)
    guard_name: str | None = None


class GatePassOut(msgspec.Struct):
    id: int
    pass_no: str
    authorization_id: int
    authorization_no: str
    dealer_id: int
    dealer_code: str
    dealer_name: str
    contract_no: str
    vins: list[str]
    person_name: str
    id_masked: str
    id_verified_via: str
    id_verified_at: dt.datetime
    valid_from: dt.datetime
    valid_to: dt.datetime
    status: GatePassStatus
    status_label: str
    created_at: dt.datetime
    created_by: str
    approved_at: dt.datetime | None
    approved_by: str | None
    rejected_reason: str | None
    handed_over_at: dt.datetime | None
    handed_over_by: str | None
    exited_at: dt.datetime | None
    exited_by: str | None
    voided_at: dt.datetime | None
    void_reason: str | None
    key_id: str | None
    print_count: int
    last_printed_at: dt.datetime | None
    exit: GateExitOut | None = None


class GatePassPage(msgspec.Struct):
    items: list[GatePassOut]
    next_cursor: str | None


# --- print layouts, verification, exits (desk and kiosk) -------------------------------------


class PrintableOut(msgspec.Struct):
    pass_no: str
    qr_payload: str
    layout: PrintLayout


# --- kiosk -----------------------------------------------------------------------------------


class KioskLookupIn(Request):
    event_id: EventId
    id_number: IdNumber


class KioskPrintIn(Request):
    event_id: EventId


class KioskScanIn(Request):
    event_id: EventId
    qr_payload: QrPayload
    scanned_at: dt.datetime | None = None


BadgeDigest = Annotated[str, Meta(pattern="^[0-9a-fA-F]{64}$",
                                  description="the guard's badge as its digest in this device's badge book")]


class KioskExitIn(KioskScanIn):
    guard_badge: BadgeDigest | None = None  # absent from agents that predate badge sign-in


class DeviceStatusIn(Request):
    """What an edge agent writes to its ``status.json``: its devices' states and last errors,
    the journal backlog, the last replay. Kept as sent (bounded in size), shown to the admins."""

    report: dict[str, Any]


# --- shipping (外送) and receipts (回执) ------------------------------------------------------


class ShipmentIn(Request):
    vins: Annotated[list[VinStr], Meta(min_length=1, max_length=50)]
    carrier: Annotated[str, Meta(min_length=1, max_length=100)]
    driver_name: Annotated[str, Meta(min_length=1, max_length=30)]
    driver_id_number: IdNumber
    driver_phone: Annotated[str, Meta(min_length=1, max_length=30)]
    truck_plate: Annotated[str, Meta(min_length=1, max_length=15)]
    planned_departure: dt.datetime
    expected_arrival: dt.datetime
    contract_no: Ref | None = None


class ReceiptLineIn(Request):
    vin: VinStr
    outcome: ReceiptOutcome
    configuration_ok: bool = True
    note: Annotated[str, Meta(max_length=500)] | None = None
    photos: Annotated[list[Annotated[str, Meta(max_length=300)]], Meta(max_length=9)] = []


class ReceiptIn(Request):
    lines: Annotated[list[ReceiptLineIn], Meta(min_length=1, max_length=50)]
    receiver_name: Annotated[str, Meta(min_length=1, max_length=30)]
    extra_vins: Annotated[list[VinStr], Meta(max_length=20)] = []
    received_at: dt.datetime | None = None


class ReceiptLineOut(msgspec.Struct):
    vin: str
    outcome: ReceiptOutcome
    configuration_ok: bool
    note: str | None
    photos: list[str]


class ReceiptOut(msgspec.Struct):
    id: int
    receipt_no: str
    lines: list[ReceiptLineOut]
    extra_vins: list[str]
    discrepancies: list[str]
    has_discrepancy: bool
    receiver_name: str
    received_at: dt.datetime
    recorded_by: str


class ShipmentOut(msgspec.Struct):
    id: int
    shipment_no: str
    dealer_id: int
    dealer_code: str
    dealer_name: str
    contract_no: str | None
    carrier: str
    driver_name: str
    driver_id_masked: str
    driver_phone: str
    truck_plate: str
    vins: list[str]
    planned_departure: dt.datetime
    expected_arrival: dt.datetime
    status: ShipmentStatus
    status_label: str
    created_at: dt.datetime
    created_by: str
    departed_at: dt.datetime | None
    delivered_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    cancel_reason: str | None
    receipt_reminded_at: dt.datetime | None
    receipt_no: str | None
    receipt: ReceiptOut | None = None


class ShipmentPage(msgspec.Struct):
    items: list[ShipmentOut]
    next_cursor: str | None


class ReminderIn(Request):
    grace_days: Annotated[int, Meta(ge=0, le=60)] = 3


class RemindedOut(msgspec.Struct):
    reminded: list[str]


class ReceiptPrintOut(msgspec.Struct):
    receipt_no: str
    layout: PrintLayout
