"""Request and response structs of the dealer-stock API (msgspec). Requests forbid unknown fields."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from msgspec import Meta

from dealercrm.entrypoints.http.schemas import Request
from dealercrm.domain.credit import VehicleInvoiceStatus
from dealercrm.domain.dealer_stock import AgeingBand, CustomerKind, SaleStatus
from dealercrm.domain.vehicles import VehicleState

VinStr = Annotated[str, Meta(min_length=1, max_length=20)]
Fen = Annotated[int, Meta(ge=1, le=100_000_000_00, description="amount in fen (1/100 CNY)")]
Reason = Annotated[str, Meta(min_length=1, max_length=500)]
ReceiptNo = Annotated[str, Meta(min_length=1, max_length=60, description="the customer's receipt or invoice number")]


class CustomerIn(Request):
    kind: CustomerKind
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    phone: Annotated[str, Meta(min_length=1, max_length=30)]
    id_number: Annotated[str, Meta(max_length=30, description="身份证号 (person)")] | None = None
    uscc: Annotated[str, Meta(max_length=30, description="统一社会信用代码 (company)")] | None = None


class SaleIn(Request):
    vin: VinStr
    customer: CustomerIn
    price_fen: Fen
    customer_receipt_no: ReceiptNo
    sold_at: dt.datetime | None = None
    note: Annotated[str, Meta(max_length=500)] | None = None


class PaymentIn(Request):
    amount_fen: Fen
    paid_at: dt.datetime | None = None
    reference: Annotated[str, Meta(max_length=60)] | None = None


class ReturnIn(Request):
    reason: Reason
    returned_at: dt.datetime | None = None


class ExchangeIn(Request):
    new_vin: VinStr
    reason: Reason
    customer_receipt_no: ReceiptNo
    price_fen: Fen | None = None
    at: dt.datetime | None = None


class LimitIn(Request):
    dealer_id: int
    model_code: Annotated[str, Meta(min_length=1, max_length=30)]
    min_units: Annotated[int, Meta(ge=0, le=100_000)] | None = None
    max_units: Annotated[int, Meta(ge=0, le=100_000)] | None = None


class AgeingPolicyIn(Request):
    yellow_from_days: Annotated[int, Meta(ge=1, le=3650)]
    red_from_days: Annotated[int, Meta(ge=1, le=3650)]


class SaleStateOut(msgspec.Struct):
    id: int
    sale_no: str
    status: SaleStatus
    status_label: str
    price_fen: int
    paid_fen: int
    open_fen: int
    vin: str
    vehicle_state: VehicleState


class StockVehicleOut(msgspec.Struct):
    id: int
    vin: str
    state: VehicleState
    state_label: str
    invoice_status: VehicleInvoiceStatus
    invoice_status_label: str
    status_words: list[str]
    dealer_id: int | None
    dealer_code: str | None
    dealer_name: str | None
    region: str | None
    product_line: str | None
    model_code: str | None
    order_no: str | None
    contract_no: str | None
    erp_tracking_no: str | None
    stock_in_at: dt.datetime | None
    days_in_stock: int | None
    ageing_band: AgeingBand | None
    ageing_label: str | None
    ageing_colour: str | None
    agreed_delivery_date: dt.date | None
    sale_id: int | None
    sale_status: SaleStatus | None
    sale_status_label: str | None


class StockPage(msgspec.Struct):
    items: list[StockVehicleOut]
    next_cursor: str | None


class SummaryOut(msgspec.Struct):
    dealer_id: int
    dealer_code: str
    dealer_name: str
    region: str
    model_code: str | None
    units: int
    min_units: int | None
    max_units: int | None
    level: str
    green: int
    yellow: int
    red: int


class PeriodOut(msgspec.Struct):
    period_start: dt.date
    produced: int
    stocked: int
    delivered: int
    received: int
    sold: int


class StatisticsOut(msgspec.Struct):
    period: str
    date_from: dt.date
    date_to: dt.date
    periods: list[PeriodOut]
    totals: dict[str, int]


class AgeingBandOut(msgspec.Struct):
    band: AgeingBand
    label: str
    colour: str
    from_days: int
    below_days: int | None


class AgeingPolicyOut(msgspec.Struct):
    yellow_from_days: int
    red_from_days: int
    bands: list[AgeingBandOut]


class ImportOut(msgspec.Struct):
    import_no: str
    dealer_id: int
    rows: int


class LimitOut(msgspec.Struct):
    id: int


class SalePaymentOut(msgspec.Struct):
    seq: int
    amount_fen: int
    paid_at: dt.datetime
    reference: str | None
    recorded_by: str


class SaleOut(msgspec.Struct):
    id: int
    sale_no: str
    dealer_id: int
    dealer_code: str
    dealer_name: str
    vin: str
    customer_kind: CustomerKind
    customer_name: str
    customer_phone: str
    customer_id_masked: str | None
    customer_uscc: str | None
    price_fen: int
    paid_fen: int
    open_fen: int
    customer_receipt_no: str
    sold_at: dt.datetime
    status: SaleStatus
    status_label: str
    confirmed_at: dt.datetime | None
    ended_at: dt.datetime | None
    end_reason: str | None
    replaces_sale_id: int | None
    note: str | None
    recorded_by: str
    payments: list[SalePaymentOut] | None = None


class SalePage(msgspec.Struct):
    items: list[SaleOut]
    next_cursor: str | None
