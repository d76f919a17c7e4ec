"""The credit read side (context 5): plain rows straight from SQL, never live entities.

The service applies the caller's scope: ``dealer_id`` set means exactly that dealer, ``regions``
set means dealers in those regions, both ``None`` means every dealer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from dealercrm.application.reads.credit import EvaluationRow, PaymentRow
from dealercrm.domain.credit import VehicleInvoiceStatus


class CreditQueries(Protocol):
    def dealer_brief(self, dealer_id: int) -> dict[str, Any] | None:
        """The dealer's id, code, name and region (``None``: no such dealer)."""

    def contract_dealer(self, contract_no: str) -> int | None: ...

    def credit_page(self, dealer_id: int, today: dt.date, *, payments: int = 50) -> dict[str, Any]:
        """Everything a dealer's credit page shows, from one snapshot."""

    def list_accounts(self, *, regions: tuple[str, ...] | None, dealer_id: int | None, status: str | None,
                      warning_only: bool, after_id: int | None, limit: int) -> list[dict[str, Any]]: ...

    def list_invoices(self, *, regions: tuple[str, ...] | None, dealer_id: int | None, contract_no: str | None,
                      state: str | None, open_only: bool, after_id: int | None, limit: int) -> list[dict[str, Any]]: ...

    def list_payments(self, *, regions: tuple[str, ...] | None, dealer_id: int | None, after_id: int | None,
                      limit: int) -> list[PaymentRow]: ...

    def contract(self, contract_no: str) -> dict[str, Any] | None: ...

    def change_requests(self, *, regions: tuple[str, ...] | None, dealer_id: int | None, state: str | None,
                        after_id: int | None, limit: int) -> list[dict[str, Any]]: ...

    def change_request(self, request_id: int) -> dict[str, Any] | None: ...

    def invoice(self, invoice_id: int) -> dict[str, Any] | None: ...

    def dunning(self, *, regions: tuple[str, ...] | None, dealer_id: int | None,
                today: dt.date) -> list[dict[str, Any]]:
        """催款: per dealer, its contracts with invoices past their due date on ``today`` — the
        overdue invoices, the dunning level those days call for, the level reached in this
        overdue episode, and the dunning messages queued for the contract (oldest first)."""

    def evaluations(self, dealer_id: int, limit: int = 20) -> list[EvaluationRow]: ...

    def history(self, dealer_id: int, limit: int = 200) -> list[dict[str, Any]]:
        """The audit trail of the dealer's credit: terms, contracts, invoices, payments."""

    def ageing(self, *, regions: tuple[str, ...] | None, dealer_id: int | None, today: dt.date) -> dict[str, Any]:
        """账龄: open receivables by days since the invoice date, per dealer and in total."""

    def invoice_status_of(self, vins: Sequence[str], contract_of: Mapping[str, str] | None = None,
                          *, dealer_id: int | None = None, regions: tuple[str, ...] | None = None
                          ) -> dict[str, VehicleInvoiceStatus]:
        """Status word of each VIN; a VIN outside the caller's scope reads as 未开票."""
