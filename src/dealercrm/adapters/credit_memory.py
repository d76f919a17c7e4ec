"""In-memory twin of the credit repository (``uow.credit`` on ``MemoryUnitOfWork``).

Same semantics as ``SqlAlchemyCreditRepository`` for one process: the state lives in the memory
unit of work's working copy, so nothing is visible to others before ``commit()`` and a rollback
discards everything. ``lock_account`` needs no lock (the memory unit of work is not meant for
concurrent writers); it creates a limit-0 account on first use, like the SQL adapter.
Embedding teams and other contexts' unit tests use it to run the credit rule without a database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import attrs

from dealercrm.adapters.memory_tables import MemoryWorkspace
from dealercrm.application.ports.credit import (
    DealerRef,
    OpenReceivable,
    SettledItem,
    StaffContact,
    StoredAnswer,
)
from dealercrm.domain.credit import (
    AccountStatus,
    Allocation,
    ChangeRequestState,
    Commitment,
    CommitmentState,
    CreditAccount,
    CreditChangeRequest,
    CreditEvaluation,
    CreditOverride,
    ExposureParts,
    Invoice,
    InvoiceState,
    OverdueSummary,
    Payment,
    PaymentCycle,
    VehicleInvoiceStatus,
)
from dealercrm.domain.errors import InvariantBroken, NotFound
from dealercrm.domain.identity import Role


@attrs.define
class CreditMemoryState:
    accounts: dict[int, CreditAccount] = attrs.field(factory=dict)
    commitments: dict[int, Commitment] = attrs.field(factory=dict)
    invoices: dict[int, Invoice] = attrs.field(factory=dict)
    payments: dict[int, Payment] = attrs.field(factory=dict)
    allocations: dict[int, Allocation] = attrs.field(factory=dict)
    change_requests: dict[int, CreditChangeRequest] = attrs.field(factory=dict)
    overrides: list[CreditOverride] = attrs.field(factory=list)
    evaluations: dict[int, CreditEvaluation] = attrs.field(factory=dict)
    vehicles: dict[str, tuple[int, str, int, VehicleInvoiceStatus]] = attrs.field(factory=dict)
    idempotency: dict[tuple[str, str], list[Any]] = attrs.field(factory=dict)


_TABLES = {Commitment: "commitments", Invoice: "invoices", Payment: "payments", Allocation: "allocations",
           CreditChangeRequest: "change_requests", CreditEvaluation: "evaluations"}


class MemoryCreditRepository:
    """``uow.credit`` on the memory unit of work's working copy. Implements every narrow port of
    ``application/ports/credit.py`` (``CreditAccounts``, ``CreditDirectory``, ``Commitments``,
    ``Invoices``, ``Payments``, ``CreditChangeRequests``, ``PostingLedger``, ``CreditFacts``), hence
    ``CreditRepository`` and the release check's ``ReleaseChecks``."""

    def __init__(self, uow: MemoryWorkspace) -> None:
        self.uow = uow

    @property
    def s(self) -> CreditMemoryState:
        working = self.uow.working
        if not hasattr(working, "credit"):
            working.credit = CreditMemoryState()
        return working.credit  # type: ignore[no-any-return]

    def add(self, obj: object) -> None:
        if isinstance(obj, CreditOverride):
            self.s.overrides.append(obj)
            return
        if getattr(obj, "id", None) is None:
            obj.id = next(self.uow.working.ids)  # type: ignore[attr-defined]
        getattr(self.s, _TABLES[type(obj)])[obj.id] = obj  # type: ignore[attr-defined]

    # accounts and dealers
    def lock_account(self, dealer_id: int) -> CreditAccount:
        account = self.s.accounts.get(dealer_id)
        if account is None:
            if dealer_id not in self.uow.working.dealers:
                raise NotFound("经销商不存在", code="dealer.not_found")
            account = CreditAccount(dealer_id=dealer_id, payment_cycle=PaymentCycle.MONTHLY,
                                    status=AccountStatus.ACTIVE, opened_at=self.uow.clock())
            self.s.accounts[dealer_id] = account
        return account

    def find_account(self, dealer_id: int) -> CreditAccount | None:
        return self.s.accounts.get(dealer_id)

    def dealer(self, dealer_id: int | None = None, *, code: str | None = None) -> DealerRef | None:
        dealers = self.uow.working.dealers.values()
        d = next((x for x in dealers if (x.id == dealer_id if code is None else x.code == code)), None)
        if d is None:
            return None
        c = next((c for c in d.contacts if c.is_primary), d.contacts[0] if d.contacts else None)
        return DealerRef(d.id, d.code, d.legal_name, d.region, d.sales_rep_id, c.name if c else None,
                         c.email if c else None, c.phone.value if c else None)

    def staff(self, role: Role) -> list[StaffContact]:
        return [StaffContact(u.id, u.display_name, u.email, u.phone)
                for u in sorted(self.uow.working.users.values(), key=lambda u: u.id)
                if u.role is role and u.is_active]

    def user_contact(self, user_id: int) -> StaffContact | None:
        u = self.uow.working.users.get(user_id)
        return StaffContact(u.id, u.display_name, u.email, u.phone) if u and u.is_active else None

    def dealers_with_accounts(self) -> list[int]:
        return sorted(self.s.accounts)

    # contracts
    def commitment(self, contract_no: str, *, refresh: bool = False) -> Commitment | None:
        return next((c for c in self.s.commitments.values() if c.contract_no == contract_no), None)

    def add_override(self, **fields: Any) -> None:
        self.s.overrides.append(CreditOverride(**fields))

    # invoices
    def invoice(self, invoice_id: int, *, refresh: bool = False) -> Invoice | None:
        return self.s.invoices.get(invoice_id)

    def open_invoices(self, dealer_id: int, contract_no: str | None = None) -> list[Invoice]:
        return sorted((i for i in self.s.invoices.values() if i.dealer_id == dealer_id and i.open_fen > 0
                       and (contract_no is None or i.contract_no == contract_no)), key=lambda i: (i.due_on, i.id))

    def overdue(self, dealer_id: int, today: dt.date) -> OverdueSummary | None:
        late = [i for i in self.open_invoices(dealer_id) if i.due_on < today]
        if not late:
            return None
        return OverdueSummary(sum(i.open_fen for i in late), min(i.due_on for i in late), len(late), today)

    def vehicle_invoices(self, vins: Sequence[str]) -> dict[str, tuple[int, str, VehicleInvoiceStatus]]:
        return {v: self.s.vehicles[v][:2] + (self.s.vehicles[v][3],) for v in vins if v in self.s.vehicles}

    def contract_invoice_status(self, contract_nos: Sequence[str]) -> dict[str, VehicleInvoiceStatus]:
        out: dict[str, VehicleInvoiceStatus] = {}
        for no in contract_nos:
            c = self.commitment(no)
            mine = [i for i in self.s.invoices.values() if i.contract_no == no and i.state is InvoiceState.ISSUED
                    and i.vehicle_count == 0]
            if c is not None and c.state is CommitmentState.RELEASED and mine:
                out[no] = (VehicleInvoiceStatus.INVOICED_UNPAID if any(i.open_fen > 0 for i in mine)
                           else VehicleInvoiceStatus.INVOICED_PAID)
        return out

    def link_vehicles(self, invoice: Invoice) -> None:
        if invoice.id is None:
            raise InvariantBroken("invoice has no id: not flushed")
        for v in invoice.vins:
            self.s.vehicles[v] = (invoice.id, invoice.contract_no, invoice.dealer_id, invoice.vehicle_status)

    def unlink_vehicles(self, invoice: Invoice) -> None:
        for v in [v for v, row in self.s.vehicles.items() if row[0] == invoice.id]:
            del self.s.vehicles[v]

    def mark_vehicles_paid(self, invoice: Invoice) -> None:
        for v, row in list(self.s.vehicles.items()):
            if row[0] == invoice.id:
                self.s.vehicles[v] = row[:3] + (VehicleInvoiceStatus.INVOICED_PAID,)

    # payments
    def payment(self, payment_id: int, *, refresh: bool = False) -> Payment | None:
        return self.s.payments.get(payment_id)

    def payment_by_erp_id(self, erp_payment_id: str) -> Payment | None:
        return next((p for p in self.s.payments.values() if p.erp_payment_id == erp_payment_id), None)

    def unapplied_payments(self, dealer_id: int) -> list[Payment]:
        return sorted((p for p in self.s.payments.values() if p.dealer_id == dealer_id and p.unapplied_fen > 0),
                      key=lambda p: (p.received_on, p.id))

    def allocations_of_invoice(self, invoice_id: int) -> list[Allocation]:
        return [a for a in self.s.allocations.values() if a.invoice_id == invoice_id and a.reversed_at is None]

    def allocations_of_payment(self, payment_id: int) -> list[Allocation]:
        return [a for a in self.s.allocations.values() if a.payment_id == payment_id and a.reversed_at is None]

    # change requests
    def change_request(self, request_id: int, *, refresh: bool = False) -> CreditChangeRequest | None:
        return self.s.change_requests.get(request_id)

    def pending_change_request(self, dealer_id: int) -> CreditChangeRequest | None:
        return next((r for r in self.s.change_requests.values()
                     if r.dealer_id == dealer_id and r.state is ChangeRequestState.PENDING), None)

    def last_grade_proposal(self, dealer_id: int) -> CreditChangeRequest | None:
        return max((r for r in self.s.change_requests.values() if r.dealer_id == dealer_id and r.is_grade_proposal),
                   key=lambda r: r.id or 0, default=None)

    # idempotency
    def claim_idempotency_key(self, scope: str, key: str, fingerprint: str, actor_id: int | None,
                              now: dt.datetime) -> StoredAnswer | None:
        seen = self.s.idempotency.get((scope, key))
        if seen is None:
            self.s.idempotency[(scope, key)] = [fingerprint, None]
            return None
        return StoredAnswer(seen[0], seen[1])

    def store_answer(self, scope: str, key: str, answer: dict[str, Any]) -> None:
        self.s.idempotency[(scope, key)][1] = answer

    # facts, reminders, evaluation
    def exposure_from_facts(self, dealer_id: int) -> ExposureParts:
        s = self.s
        issued = [i for i in s.invoices.values() if i.dealer_id == dealer_id and i.state is InvoiceState.ISSUED]
        issued_ids = {i.id for i in issued}
        live = [a for a in s.allocations.values() if a.dealer_id == dealer_id and a.reversed_at is None]
        active = {c.contract_no: c for c in s.commitments.values()
                  if c.dealer_id == dealer_id and c.state is not CommitmentState.CANCELLED}
        receivable = sum(i.amount_fen for i in issued) - sum(a.amount_fen for a in live if a.invoice_id in issued_ids)
        uninvoiced = (sum(c.amount_fen for c in active.values())
                      - sum(i.amount_fen for i in issued if i.contract_no in active))
        prepayment = (sum(p.amount_fen for p in s.payments.values() if p.dealer_id == dealer_id)
                      - sum(a.amount_fen for a in live))
        return ExposureParts(receivable, uninvoiced, prepayment)

    def open_receivables(self, *, dealer_id: int | None = None, due_before: dt.date | None = None
                         ) -> list[OpenReceivable]:
        rows = [i for i in self.s.invoices.values() if i.open_fen > 0
                and (dealer_id is None or i.dealer_id == dealer_id) and (due_before is None or i.due_on < due_before)]
        rows.sort(key=lambda i: (i.dealer_id, i.due_on, i.id))
        out = []
        for i in rows:
            c = self.commitment(i.contract_no)
            out.append(OpenReceivable(i.id, i.invoice_no, i.dealer_id, i.contract_no, c.id if c else None,  # type: ignore[arg-type]
                                      i.amount_fen, i.open_fen, i.issued_on, i.due_on))
        return out

    def settlement_history(self, dealer_id: int, due_from: dt.date, due_to: dt.date) -> list[SettledItem]:
        items: list[SettledItem] = []
        for i in self.s.invoices.values():
            if i.dealer_id != dealer_id or i.state is not InvoiceState.ISSUED or not due_from <= i.due_on < due_to:
                continue
            for a in self.allocations_of_invoice(i.id):  # type: ignore[arg-type]
                items.append(SettledItem(i.id, i.due_on, a.amount_fen,  # type: ignore[arg-type]
                                         self.s.payments[a.payment_id].received_on))
            if i.open_fen > 0:
                items.append(SettledItem(i.id, i.due_on, i.open_fen, None))  # type: ignore[arg-type]
        return items
