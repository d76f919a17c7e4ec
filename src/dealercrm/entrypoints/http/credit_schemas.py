"""Request and response structs of the credit API. Money is integer fen (``*_fen``); requests
forbid unknown fields, so ``exposure_fen`` or ``status`` sent where they do not belong is a 422."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from dealercrm.entrypoints.http.schemas import Request, Text
from dealercrm.domain.credit import (AccountStatus, ChangeRequestState, InvoiceState, PaymentCycle, PaymentMethod, PaymentSource,
                                      VehicleInvoiceStatus)

Fen = Annotated[int, Meta(ge=1, le=10**14, description="amount in fen (1/100 CNY)")]
FenOrZero = Annotated[int, Meta(ge=0, le=10**14, description="amount in fen (1/100 CNY)")]
ContractNo = Annotated[str, Meta(min_length=1, max_length=40)]
Note = Annotated[str, Meta(max_length=500)]
VinStr = Annotated[str, Meta(min_length=1, max_length=17)]


# --- requests --------------------------------------------------------------------------------


class CreditChangeRequestIn(Request):
    reason: Text
    limit_fen: FenOrZero | None = None
    term_days: Annotated[int, Meta(ge=0, le=365)] | None = None
    payment_cycle: PaymentCycle | None = None
    warning_threshold_permille: Annotated[int, Meta(ge=1, le=1000)] | None = None
    status: AccountStatus | None = None
    credit_grade: Literal["A", "B", "C", "D"] | None = None  # 信用等级


class CreditNoteIn(Request):
    note: Note | None = None


class CreditReasonIn(Request):
    reason: Text


class CreditInvoiceIn(Request):
    contract_no: ContractNo
    amount_fen: Fen
    issued_on: dt.date | None = None
    vins: Annotated[list[VinStr], Meta(max_length=200)] = []


class CreditAllocationBody(Request):
    contract_no: ContractNo
    amount_fen: Fen


class CreditPaymentIn(Request):
    dealer_id: int
    amount_fen: Fen
    received_on: dt.date
    method: PaymentMethod = PaymentMethod.BANK_TRANSFER
    contract_no: ContractNo | None = None
    reference: Annotated[str, Meta(max_length=100)] | None = None
    note: Note | None = None
    allocation: Annotated[str, Meta(max_length=10)] = "auto"
    allocations: Annotated[list[CreditAllocationBody], Meta(max_length=100)] = []


class CreditAllocateIn(Request):
    allocations: Annotated[list[CreditAllocationBody], Meta(max_length=100)] | None = None


# --- responses -------------------------------------------------------------------------------


class CreditDealerBrief(msgspec.Struct):
    id: int
    code: str
    legal_name: str
    region: str


class CreditTerms(msgspec.Struct):
    limit_fen: int
    term_days: int
    payment_cycle: PaymentCycle
    payment_cycle_label: str
    warning_threshold_permille: int
    status: AccountStatus
    status_label: str
    warning_active: bool
    credit_grade: str | None = None  # 信用等级 A–D (None until one is approved)


class CreditExposure(msgspec.Struct):
    """exposure = receivable + uninvoiced − prepayment; available = limit − exposure."""

    receivable_fen: int
    uninvoiced_fen: int
    prepayment_fen: int
    exposure_fen: int
    available_fen: int
    usage_permille: int | None


class CreditReceivableOut(msgspec.Struct):
    invoice_id: int
    invoice_no: str
    contract_no: str
    amount_fen: int
    paid_fen: int
    open_fen: int
    issued_on: dt.date
    due_on: dt.date
    days_overdue: int
    age_days: int
    bucket: str
    bucket_label: str
    vins: list[str]


class CreditContractBalance(msgspec.Struct):
    contract_no: str
    state: str
    state_label: str
    amount_fen: int
    invoiced_fen: int
    uninvoiced_fen: int
    paid_fen: int
    receivable_fen: int
    prepaid_fen: int


class CreditAllocationRow(msgspec.Struct):
    invoice_no: str
    contract_no: str
    amount_fen: int
    allocated_at: dt.datetime
    reversed: bool


class CreditPaymentRow(msgspec.Struct):
    id: int
    payment_no: str
    dealer_id: int
    amount_fen: int
    received_on: dt.date
    method: PaymentMethod
    method_label: str
    source: PaymentSource
    contract_no: str | None
    reference: str | None
    unapplied_fen: int
    recorded_by: str
    allocations: list[CreditAllocationRow]


class CreditEvaluationRow(msgspec.Struct):
    id: int
    evaluated_at: dt.datetime
    score: int
    grade: str
    inputs: dict[str, Any]
    breakdown: dict[str, Any]
    formula: str


class CreditPageOut(msgspec.Struct):
    dealer: CreditDealerBrief
    terms: CreditTerms
    exposure: CreditExposure
    overdue_fen: int
    max_days_overdue: int
    open_receivables: list[CreditReceivableOut]
    contracts: list[CreditContractBalance]
    payments: list[CreditPaymentRow]
    latest_evaluation: CreditEvaluationRow | None


class CreditAccountRow(msgspec.Struct):
    dealer_id: int
    dealer_code: str
    dealer_name: str
    region: str
    limit_fen: int
    term_days: int
    exposure_fen: int
    available_fen: int
    usage_permille: int | None
    status: AccountStatus
    status_label: str
    warning_active: bool


class CreditAccountList(msgspec.Struct):
    items: list[CreditAccountRow]
    next_cursor: str | None


class CreditChangeRequestRow(msgspec.Struct):
    id: int
    request_no: str
    dealer_id: int
    state: ChangeRequestState
    state_label: str
    changes: dict[str, Any]
    previous: dict[str, Any] | None
    reason: str
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_note: str | None


class CreditChangeRequestList(msgspec.Struct):
    items: list[CreditChangeRequestRow]
    next_cursor: str | None


class CreditInvoiceRow(msgspec.Struct):
    id: int
    invoice_no: str
    dealer_id: int
    contract_no: str
    amount_fen: int
    paid_fen: int
    open_fen: int
    issued_on: dt.date
    due_on: dt.date
    state: InvoiceState
    state_label: str
    vins: list[str]
    settled_on: dt.date | None
    void_reason: str | None


class CreditInvoiceList(msgspec.Struct):
    items: list[CreditInvoiceRow]
    next_cursor: str | None


class CreditPaymentList(msgspec.Struct):
    items: list[CreditPaymentRow]
    next_cursor: str | None


class CreditBookedAllocation(msgspec.Struct):
    invoice_no: str
    contract_no: str
    amount_fen: int


class CreditPaymentOut(msgspec.Struct):
    """The answer to a payment posting; replayed identically for the same Idempotency-Key."""

    payment_id: int
    payment_no: str
    dealer_id: int
    amount_fen: int
    received_on: dt.date
    method: PaymentMethod
    source: PaymentSource
    contract_no: str | None
    unapplied_fen: int
    allocations: list[CreditBookedAllocation]
    exposure_fen: int
    available_fen: int


class CreditAppliedOut(msgspec.Struct):
    dealer_id: int
    applied_fen: int


class CreditOverrideRow(msgspec.Struct):
    action: str
    reason: str
    overdue_fen: int
    oldest_due_on: dt.date
    actor: str
    at: dt.datetime


class CreditContractOut(msgspec.Struct):
    dealer_id: int
    balance: CreditContractBalance
    invoices: list[CreditInvoiceRow]
    overrides: list[CreditOverrideRow]


class CreditAgeingRow(msgspec.Struct):
    dealer_id: int
    dealer_code: str
    dealer_name: str
    region: str
    b0_30_fen: int
    b31_60_fen: int
    b61_90_fen: int
    over_90_fen: int
    open_fen: int
    overdue_fen: int


class CreditAgeingTotal(msgspec.Struct):
    b0_30_fen: int
    b31_60_fen: int
    b61_90_fen: int
    over_90_fen: int
    open_fen: int
    overdue_fen: int


class CreditAgeingOut(msgspec.Struct):
    as_of: dt.date
    basis: str
    buckets: dict[str, str]
    dealers: list[CreditAgeingRow]
    total: CreditAgeingTotal


class CreditReconciliationOut(msgspec.Struct):
    dealer_id: int
    consistent: bool
    maintained: dict[str, int]
    from_facts: dict[str, int]


class CreditVinStatus(msgspec.Struct):
    vin: str
    status: VehicleInvoiceStatus
    label: str


class CreditHistoryEntry(msgspec.Struct):
    at: dt.datetime
    actor_name: str
    actor_role: str
    entity: str
    entity_id: int
    action: str
    changes: dict[str, Any]


class CreditReminderReportOut(msgspec.Struct):
    alerts: int
    messages: int
    skipped: int
    failed_dealers: list[int]
