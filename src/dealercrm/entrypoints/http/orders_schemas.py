"""Request and response structs of the catalog and order endpoints.

Order request bodies have **no price field**: a body that carries one (``unit_price``,
``total_fen``, ``discount`` …) is refused with 422 ``order.price_not_allowed`` naming it. The only
price a client ever sends is a quote, on a route only sales management may call.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import attrs
import msgspec
from msgspec import Meta

# the order list, timeline and price tiers answer with the read rows: their fields are declared
# once, there; an answer that adds labels declares only those
from dealercrm.application.reads.orders import OrderSummaryRow, PriceTierRow, TimelineRow
from dealercrm.entrypoints.http.schemas import Request
from dealercrm.domain.catalog import ChoiceMode, PriceLineKind, SpecKind, TemplateStatus
from dealercrm.domain.channel import ProductLine
from dealercrm.domain.orders import DeliveryMethod, OrderState, PriceSource, QuoteStatus, SuppliedPartKind

Code = Annotated[str, Meta(min_length=1, max_length=40)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Short = Annotated[str, Meta(min_length=1, max_length=60)]
Note = Annotated[str, Meta(max_length=500)]
Fen = Annotated[int, Meta(ge=-10**12, le=10**12)]
Codes = Annotated[list[Code], Meta(max_length=40)]


# --- catalog requests -------------------------------------------------------------------------


class SpecFieldBody(Request):
    key: Code
    label: Short
    value: Short
    unit: Annotated[str, Meta(max_length=20)] = ""
    kind: SpecKind = SpecKind.TEXT


class OptionBody(Request):
    code: Code
    name: Name
    price_delta_fen: Fen = 0
    special: bool = False
    requires: Codes = []
    excludes: Codes = []
    description: Note = ""


class OptionGroupBody(Request):
    code: Code
    name: Short
    mode: ChoiceMode
    required: bool
    options: Annotated[list[OptionBody], Meta(min_length=1, max_length=60)]


class TemplateContentBody(Request):
    name: Name
    base_price_fen: Fen
    spec_fields: Annotated[list[SpecFieldBody], Meta(max_length=60)] = []
    option_groups: Annotated[list[OptionGroupBody], Meta(max_length=40)] = []
    special: bool = False
    description: Note = ""


class TemplateCreateBody(Request):
    model_code: Annotated[str, Meta(min_length=1, max_length=30)]
    product_line: ProductLine
    content: TemplateContentBody
    publish: bool = False


class TemplateReviseBody(Request):
    content: TemplateContentBody
    lock_version: int | None = None


class PriceTierBody(Request):
    dealer_id: int
    product_line: ProductLine
    tier_code: Annotated[str, Meta(min_length=1, max_length=20)]
    discount_bp: Annotated[int, Meta(ge=0, le=10_000)]


# --- order requests ---------------------------------------------------------------------------


class DeliveryAddressBody(Request):
    province: Short
    city: Short
    detail: Name
    consignee: Annotated[str, Meta(max_length=60)] | None = None
    consignee_phone: Annotated[str, Meta(max_length=30)] | None = None


class EndCustomerBody(Request):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    phone: Annotated[str, Meta(max_length=30)] | None = None
    industry: Annotated[str, Meta(max_length=60)] | None = None


class SuppliedPartBody(Request):
    kind: SuppliedPartKind
    description: Name
    serial: Annotated[str, Meta(max_length=60)] | None = None
    quantity: int = 1


class OrderDraftBody(Request):
    template_id: int
    options: Annotated[list[Code], Meta(max_length=100)]
    quantity: int
    requested_delivery_date: dt.date
    delivery_method: DeliveryMethod
    template_version: int | None = None
    dealer_id: int | None = None
    delivery_address: DeliveryAddressBody | None = None
    end_customer: EndCustomerBody | None = None
    supplied_parts: Annotated[list[SuppliedPartBody], Meta(max_length=50)] = []
    remarks: Annotated[str, Meta(max_length=1000)] | None = None


class OrderUpdateBody(OrderDraftBody, kw_only=True):
    version: int | None = None  # optimistic lock: 409 when the order changed meanwhile


class EstimateBody(Request):
    template_id: int
    options: Annotated[list[Code], Meta(max_length=100)]
    quantity: int = 1
    template_version: int | None = None
    dealer_id: int | None = None


class SubmitBody(Request):
    version: int | None = None


class QuoteRequestBody(Request):
    note: Note | None = None


class QuoteBody(Request):
    unit_price_fen: Fen
    valid_until: dt.date
    note: Note | None = None


class OptionalReasonBody(Request):
    reason: Note | None = None


# --- responses --------------------------------------------------------------------------------


class CodeLabel(msgspec.Struct):
    code: str
    label: str


class SpecFieldOut(msgspec.Struct):
    key: str
    label: str
    value: str
    unit: str
    kind: SpecKind


class OptionOut(msgspec.Struct):
    code: str
    name: str
    price_delta_fen: int
    special: bool
    requires: list[str]
    excludes: list[str]
    description: str


class OptionGroupOut(msgspec.Struct):
    code: str
    name: str
    mode: ChoiceMode
    required: bool
    options: list[OptionOut]


class ContentOut(msgspec.Struct):
    name: str
    base_price_fen: int
    special: bool
    description: str
    spec_fields: list[SpecFieldOut]
    option_groups: list[OptionGroupOut]


class TemplateSummaryOut(msgspec.Struct):
    id: int
    model_code: str
    product_line: ProductLine
    product_line_label: str
    status: TemplateStatus
    status_label: str
    latest_version: int
    name: str
    base_price_fen: int
    special: bool
    published_at: dt.datetime | None
    has_unpublished_changes: bool | None = None


class TemplateVersionOut(msgspec.Struct):
    template_id: int
    version: int
    model_code: str
    product_line: ProductLine
    published_at: dt.datetime
    published_by: str
    content: ContentOut


class VersionInfoOut(msgspec.Struct):
    version: int
    name: str
    base_price_fen: int
    special: bool
    published_at: dt.datetime
    published_by: str


class TemplateDetailOut(msgspec.Struct):
    id: int
    model_code: str
    product_line: ProductLine
    product_line_label: str
    status: TemplateStatus
    status_label: str
    latest_version: int
    published: TemplateVersionOut | None
    versions: list[VersionInfoOut]
    has_unpublished_changes: bool | None = None
    lock_version: int | None = None
    draft: ContentOut | None = None


class TemplateRefOut(msgspec.Struct):
    id: int
    model_code: str
    status: TemplateStatus
    status_label: str
    latest_version: int


class PriceLineOut(msgspec.Struct):
    kind: PriceLineKind
    code: str
    label: str
    amount_fen: int
    group: str | None = None
    special: bool = False


class EstimateOut(msgspec.Struct):
    template_id: int
    template_version: int
    model_code: str
    lines: list[PriceLineOut]
    list_unit_fen: int
    tier_code: str
    discount_bp: int
    discount_unit_fen: int
    net_unit_fen: int
    quantity: int
    total_fen: int
    requires_quote: bool
    rounding: str
    rounding_note: str = ""


class OrderRefOut(msgspec.Struct):
    id: int
    order_no: str
    state: OrderState
    state_label: str
    version: int


@attrs.frozen
class OrderSummaryOut(OrderSummaryRow):
    """A line of the order list: the read row (which declares the fields), its codes as the
    domain's enums (so the document lists their values) and two labels."""

    product_line: ProductLine = attrs.field(converter=ProductLine)
    price_source: PriceSource = attrs.field(converter=PriceSource)
    state: OrderState = attrs.field(converter=OrderState)
    delivery_method: DeliveryMethod = attrs.field(converter=DeliveryMethod)
    product_line_label: str = attrs.field(kw_only=True)
    state_label: str = attrs.field(kw_only=True)


@attrs.frozen
class PriceTierOut(PriceTierRow):
    """A dealer's discount tier: the read row, its product line as the domain's enum."""

    product_line: ProductLine = attrs.field(converter=ProductLine)


class OrderPage(msgspec.Struct):
    items: list[OrderSummaryOut]
    next_cursor: str | None


class DeliveryAddressOut(msgspec.Struct):
    province: str
    city: str
    detail: str
    consignee: str | None
    consignee_phone: str | None


class EndCustomerOut(msgspec.Struct):
    name: str
    phone: str | None
    industry: str | None


class SuppliedPartOut(msgspec.Struct):
    id: int
    line_no: int
    kind: SuppliedPartKind
    kind_label: str
    description: str
    serial: str | None
    quantity: int


class QuoteOut(msgspec.Struct):
    seq: int
    status: QuoteStatus
    status_label: str
    requested_at: dt.datetime
    requested_by: str
    request_note: str | None
    unit_price_fen: int | None
    note: str | None
    valid_until: dt.date | None
    quoted_at: dt.datetime | None
    quoted_by: str | None
    decided_at: dt.datetime | None
    decided_by: str | None
    decline_reason: str | None


class OrderDetailOut(msgspec.Struct):
    id: int
    order_no: str
    version: int
    dealer_id: int
    dealer_code: str
    dealer_name: str
    region: str
    state: OrderState
    state_label: str
    template_id: int
    template_version: int
    model_code: str
    template_name: str
    product_line: ProductLine
    product_line_label: str
    options: list[str]
    quantity: int
    requested_delivery_date: dt.date
    delivery_method: DeliveryMethod
    delivery_method_label: str
    delivery_address: DeliveryAddressOut | None
    end_customer: EndCustomerOut | None
    supplied_parts: list[SuppliedPartOut]
    remarks: str | None
    requires_quote: bool
    price_source: PriceSource
    unit_price_fen: int
    total_fen: int
    estimate: EstimateOut
    quotes: list[QuoteOut]
    return_reasons: list[str]
    submission_count: int
    is_major_modification: bool
    contract_no: str | None
    agreed_delivery_date: dt.date | None
    erp_tracking_no: str | None
    production_status: str | None
    production_percent: int | None
    created_at: dt.datetime
    created_by_name: str | None
    submitted_at: dt.datetime | None
    state_changed_at: dt.datetime | None
    updated_at: dt.datetime | None


@attrs.frozen
class TimelineEntryOut(TimelineRow):
    """A timeline event: the read row (which declares the fields) and the states' labels."""

    data: dict[str, Any]  # an event without data answers {}, never null
    from_state_label: str | None
    to_state_label: str | None
