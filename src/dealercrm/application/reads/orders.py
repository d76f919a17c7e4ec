"""Read rows of the orders context (order list, timeline, price tiers), built by the SQL read side.

Enum columns arrive as their stable English codes (``str``), money as integer fen.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs


@attrs.frozen
class OrderSummaryRow:
    """One line of the order list, with the dealer's code, name and region."""

    id: int
    order_no: str
    dealer_id: int
    dealer_code: str
    dealer_name: str
    region: str
    template_id: int
    template_version: int
    model_code: str
    template_name: str
    product_line: str
    quantity: int
    unit_price_fen: int
    total_fen: int
    price_source: str
    requires_quote: bool
    state: str
    requested_delivery_date: dt.date
    delivery_method: str
    end_customer_name: str | None
    created_at: dt.datetime
    submitted_at: dt.datetime | None
    contract_no: str | None
    erp_tracking_no: str | None


@attrs.frozen
class TimelineRow:
    """One event of an order's timeline, oldest first."""

    id: int
    at: dt.datetime
    kind: str
    from_state: str | None
    to_state: str | None
    actor_id: int | None
    actor_name: str
    actor_role: str
    summary: str
    data: dict[str, Any] | None


@attrs.frozen
class PriceTierRow:
    """A dealer's discount tier on one product line."""

    id: int
    dealer_id: int
    dealer_code: str
    dealer_name: str
    region: str
    product_line: str
    tier_code: str
    discount_bp: int
    updated_at: dt.datetime | None
    updated_by: str | None


@attrs.frozen
class QuoteRequestRow:
    """One special configuration waiting for the factory's price (待核价): the order, its dealer and
    configuration, the automatic estimate it replaces, and when and by whom the price was asked."""

    order_id: int
    order_no: str
    version: int
    dealer_id: int
    dealer_code: str
    dealer_name: str
    region: str
    model_code: str
    template_name: str
    options: tuple[str, ...]
    quantity: int
    unit_price_fen: int
    requested_delivery_date: dt.date
    quote_seq: int
    requested_at: dt.datetime
    requested_by: str
    request_note: str | None
