"""Ports of the customer-supplied parts ledger (issue 4 §9) and of the delivery-date reminders
(issue 4 §8)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

import attrs

from dealercrm.application.ports.orders import OrdersUnitOfWork
from dealercrm.domain.supplied_parts import PartPhoto, SuppliedPartsLedger


class SuppliedPartsRepository(Protocol):
    def for_order(self, order_id: int) -> SuppliedPartsLedger | None:
        """The order's ledger for change (locked on PostgreSQL); ``None`` before its first movement."""

    def add(self, ledger: SuppliedPartsLedger) -> None: ...

    def add_photo(self, photo: PartPhoto) -> None: ...

    def photo(self, order_id: int, sha256: str) -> PartPhoto | None: ...


class SuppliedPartsUnitOfWork(OrdersUnitOfWork, Protocol):
    supplied_parts: SuppliedPartsRepository


class PhotoStore(Protocol):
    """Content-addressed storage of photo bytes. ``put`` is idempotent (same bytes → same key,
    stored once) and durable when it returns; nothing is ever overwritten or deleted by the
    application, so a photo written before a transaction that then rolls back is an orphan
    that harms nothing."""

    def put(self, data: bytes) -> str:
        """Store ``data``; returns its SHA-256 (hex), the key to read it back."""

    def get(self, sha256: str) -> bytes | None: ...


class SuppliedPartsQueries(Protocol):
    """Read side: the stored ledger of an order as plain rows (no locks)."""

    def ledger(self, order_id: int) -> dict[str, Any] | None:
        """``{"order": {...}, "declared": [...], "ledger": {...} | None, "items": [...],
        "movements": [...]}``; ``None`` if the order does not exist."""

    def photo(self, order_id: int, sha256: str) -> dict[str, Any] | None: ...


@attrs.frozen
class DueOrder:
    """An open order and the delivery date it is held to (agreed, else requested)."""

    order_id: int
    order_no: str
    dealer_id: int
    dealer_name: str
    region: str
    state: str
    due_on: dt.date
    agreed: bool
    template_name: str
    quantity: int
    contract_no: str | None = None
    sales_rep_id: int | None = None


class DeliveryDeadlines(Protocol):
    def due_by(self, last_day: dt.date, states: tuple[str, ...]) -> list[DueOrder]:
        """Orders in ``states`` whose delivery date is on or before ``last_day``."""
