"""Read rows of the credit context (payments with their allocations, evaluations), built by the
SQL read side. Enum columns arrive as their stable English codes (``str``), money as integer fen.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs


@attrs.frozen
class AllocationRow:
    """One allocation of a payment to an invoice (``reversed_at`` set: undone)."""

    invoice_no: str
    contract_no: str
    amount_fen: int
    allocated_at: dt.datetime
    reversed_at: dt.datetime | None


@attrs.frozen
class PaymentRow:
    """A received payment, newest first in lists, with its allocations in the order made."""

    id: int
    payment_no: str
    dealer_id: int
    amount_fen: int
    received_on: dt.date
    method: str
    source: str
    contract_no: str | None
    reference: str | None
    unapplied_fen: int
    recorded_by: str
    allocations: tuple[AllocationRow, ...]


@attrs.frozen
class EvaluationRow:
    """A credit evaluation with the inputs and the breakdown it was scored from."""

    id: int
    evaluated_at: dt.datetime
    score: int
    grade: str
    inputs: dict[str, Any]
    breakdown: dict[str, Any]
    formula: str
