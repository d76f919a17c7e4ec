"""Persistence ports of the credit context: one repository reached as ``uow.credit``, typed by use.

``CreditRepository`` is split into narrow Protocols (accounts, directory, commitments, invoices,
payments, change requests, the posting ledger, facts); ``ReleaseChecks`` is what the credit rule
needs when the gate or the orders context asks it inside their own transaction.

Every method that returns an entity returns it attached to the unit of work, so changes made to
it are written on commit. ``lock_account`` is the serialisation point of the credit rule: on
PostgreSQL it takes the dealer's credit-account row ``FOR UPDATE`` (and creates the account
with limit 0 if the dealer has none yet); on SQLite the unit of work already began
``IMMEDIATE``. Every change to exposure locks the account first, so concurrent reservations,
invoices and payments of one dealer happen one after another.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

import attrs

from dealercrm.application.ports.persistence import (
    Clock,
    DocumentNumbering,
    NotificationOutbox,
)
from dealercrm.domain.credit import (
    Allocation,
    Commitment,
    CreditAccount,
    CreditChangeRequest,
    ExposureParts,
    Invoice,
    OverdueSummary,
    Payment,
    VehicleInvoiceStatus,
)
from dealercrm.domain.identity import Principal, Role


@attrs.frozen
class DealerRef:
    """What the credit context needs to know about a dealer (read from the channel's tables)."""

    id: int
    code: str
    legal_name: str
    region: str
    sales_rep_id: int | None
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None


@attrs.frozen
class StaffContact:
    user_id: int
    name: str
    email: str | None
    phone: str | None


@attrs.frozen
class StoredAnswer:
    """An idempotency key seen before: the request's fingerprint and the answer given."""

    fingerprint: str
    answer: dict[str, Any] | None


@attrs.frozen
class OpenReceivable:
    """An open invoice, as reminders and evaluations read it."""

    invoice_id: int
    invoice_no: str
    dealer_id: int
    contract_no: str
    commitment_id: int | None
    amount_fen: int
    open_fen: int
    issued_on: dt.date
    due_on: dt.date


@attrs.frozen
class SettledItem:
    """Part of an invoice's value and the day it was paid (None: still open)."""

    invoice_id: int
    due_on: dt.date
    amount_fen: int
    paid_on: dt.date | None


class CreditAccounts(Protocol):
    """The dealers' credit accounts: the serialisation point of every change to exposure."""

    def add(self, obj: object) -> None: ...

    def lock_account(self, dealer_id: int) -> CreditAccount:
        """The dealer's account, locked for this transaction; created (limit 0) if missing.
        Raises ``NotFound`` (``dealer.not_found``) for a dealer that does not exist."""

    def find_account(self, dealer_id: int) -> CreditAccount | None: ...

    def dealers_with_accounts(self) -> list[int]: ...


class CreditDirectory(Protocol):
    """Who to address: dealers and staff as the credit context sees them (the channel's tables)."""

    def dealer(self, dealer_id: int | None = None, *, code: str | None = None) -> DealerRef | None: ...

    def staff(self, role: Role) -> list[StaffContact]:
        """Active users of a staff role (finance, invoicing) for notifications."""

    def user_contact(self, user_id: int) -> StaffContact | None: ...


class Commitments(Protocol):
    """Contracts approved by finance (their reserved value) and the overrides of the credit rule."""

    def commitment(self, contract_no: str, *, refresh: bool = False) -> Commitment | None:
        """``refresh``: reload from the database (after the account lock was taken)."""

    def add_override(self, **fields: Any) -> None: ...


class VehicleInvoices(Protocol):
    """Which vehicles are on which invoice and whether it is paid (the release check reads this)."""

    def vehicle_invoices(self, vins: Sequence[str]) -> dict[str, tuple[int, str, VehicleInvoiceStatus]]:
        """VIN → (invoice id, contract number, status) for VINs on an issued invoice."""

    def contract_invoice_status(self, contract_nos: Sequence[str]) -> dict[str, VehicleInvoiceStatus]:
        """Status from invoices that name no vehicles (per-contract invoices)."""


class Overdue(Protocol):
    def overdue(self, dealer_id: int, today: dt.date) -> OverdueSummary | None:
        """Open invoices due before ``today`` (an indexed lookup, not a scan of history)."""


class Invoices(VehicleInvoices, Overdue, Protocol):
    def invoice(self, invoice_id: int, *, refresh: bool = False) -> Invoice | None: ...

    def open_invoices(self, dealer_id: int, contract_no: str | None = None) -> list[Invoice]:
        """Open issued invoices, oldest due date first."""

    def link_vehicles(self, invoice: Invoice) -> None: ...

    def unlink_vehicles(self, invoice: Invoice) -> None: ...

    def mark_vehicles_paid(self, invoice: Invoice) -> None: ...


class Payments(Protocol):
    def payment(self, payment_id: int, *, refresh: bool = False) -> Payment | None: ...

    def payment_by_erp_id(self, erp_payment_id: str) -> Payment | None: ...

    def unapplied_payments(self, dealer_id: int) -> list[Payment]:
        """The dealer's payments with money not yet applied, oldest first."""

    def allocations_of_invoice(self, invoice_id: int) -> list[Allocation]:
        """Active (not reversed) allocations."""

    def allocations_of_payment(self, payment_id: int) -> list[Allocation]: ...


class CreditChangeRequests(Protocol):
    def change_request(self, request_id: int, *, refresh: bool = False) -> CreditChangeRequest | None: ...

    def pending_change_request(self, dealer_id: int) -> CreditChangeRequest | None: ...

    def last_grade_proposal(self, dealer_id: int) -> CreditChangeRequest | None:
        """The newest grade proposal the value analysis filed for the dealer, in whatever state."""
        ...


class PostingLedger(Protocol):
    """Idempotency of HTTP postings (payments recorded by finance)."""

    def claim_idempotency_key(self, scope: str, key: str, fingerprint: str, actor_id: int | None,
                              now: dt.datetime) -> StoredAnswer | None:
        """None: the key is new and now ours (until rollback). Otherwise the earlier request's
        fingerprint and answer — waiting, on PostgreSQL, for a concurrent holder to finish."""

    def store_answer(self, scope: str, key: str, answer: dict[str, Any]) -> None: ...


class CreditFacts(Protocol):
    """Receivables and history read for reminders, evaluations and reconciliation."""

    def exposure_from_facts(self, dealer_id: int) -> ExposureParts:
        """The three parts summed from invoices, allocations, payments and commitments — not
        from the account's maintained sums (used to prove the two agree)."""

    def open_receivables(self, *, dealer_id: int | None = None, due_before: dt.date | None = None
                         ) -> list[OpenReceivable]: ...

    def settlement_history(self, dealer_id: int, due_from: dt.date, due_to: dt.date) -> list[SettledItem]:
        """Invoices due in [from, to): each allocation with the day the money arrived, and the
        open rest with ``paid_on=None``."""


class ReleaseChecks(CreditAccounts, Commitments, VehicleInvoices, Overdue, Protocol):
    """What the credit rule and the release check read and lock: accounts, commitments, the
    dealer's overdue receivables and the invoices of the vehicles (``uow.credit`` as the gate and
    the orders context's finance review use it)."""


class CreditRepository(CreditAccounts, CreditDirectory, Commitments, Invoices, Payments, CreditChangeRequests,
                       PostingLedger, CreditFacts, Protocol):
    """``uow.credit``: every narrow port above, as the credit context's own use cases use them.
    ``SqlAlchemyCreditRepository`` and ``MemoryCreditRepository`` implement them all; callers
    outside the credit context name only the narrow ones they use (``ReleaseChecks``)."""


class CreditUnitOfWork(Protocol):
    credit: CreditRepository
    outbox: NotificationOutbox
    actor: Principal
    clock: Clock

    @property
    def numbers(self) -> DocumentNumbering:
        """Human document numbers: ``numbers.formatted("FP", year=2026)``."""

    def __enter__(self) -> Any: ...

    def __exit__(self, *exc: Any) -> None: ...

    def commit(self) -> None: ...

    def flush(self) -> None: ...


class ReleaseCheckUnitOfWork(Protocol):
    """The open unit of work the credit rule runs in when another context asks it (the gate's
    release check, the finance review's reservation): the caller's transaction, never committed
    here."""

    @property
    def credit(self) -> ReleaseChecks: ...

    @property
    def actor(self) -> Principal: ...

    @property
    def clock(self) -> Clock: ...

    def flush(self) -> None: ...
