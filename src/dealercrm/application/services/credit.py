"""Credit, invoices, payments and receivables (context 5) with their dependencies bound. Writes
go through ``application.credit``; reads come from the ``CreditQueries`` port, scoped by the
caller: staff need a credit-reading role, a dealer user sees only its own dealer, and a dealer
the caller may not see answers 404.

Inside another context's unit of work call the rule functions directly
(``application.credit.reserve_for_contract(uow, ...)`` etc.); the methods here each run their
own transaction, for embedding teams, the demo and the HTTP API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

import attrs

from dealercrm.application import channel, credit
from dealercrm.application.access import dealer_scope, not_found, require_role
from dealercrm.application.ports.credit import CreditUnitOfWork
from dealercrm.application.ports.credit_queries import CreditQueries
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.ports.reads import ReadModelUnavailable
from dealercrm.application.reads.credit import EvaluationRow, PaymentRow
from dealercrm.domain.credit import VehicleInvoiceStatus, business_day
from dealercrm.domain.identity import Principal, Role

P = ParamSpec("P")
T = TypeVar("T")


@attrs.define
class CreditService:
    """Credit, invoices, payments and receivables (信用与收款, context 5). The rule methods each run the one
    credit rule in their own transaction; the reads are scoped by the caller (credit readers, or a
    dealer for itself; a dealer the caller may not see is 404)."""
    _uow: Callable[[Principal], CreditUnitOfWork]
    _clock: Clock
    _queries: CreditQueries | None

    @property
    def queries(self) -> CreditQueries:
        """The credit read port; ``ReadModelUnavailable`` when the container was built without one."""
        if self._queries is None:
            raise ReadModelUnavailable("信用")
        return self._queries

    def _run(self, actor: Principal, rule: Callable[Concatenate[CreditUnitOfWork, P], T],
             *args: P.args, **kwargs: P.kwargs) -> T:
        with self._uow(actor) as uow:
            result = rule(uow, *args, **kwargs)
            uow.commit()
        return result

    # the credit rule, each in its own transaction
    def reserve(self, actor: Principal, dealer_id: int, contract_no: str, amount_fen: int, *,
                override_reason: str | None = None) -> credit.Reservation:
        """Reserve a contract's value (占用额度) against the dealer's credit, idempotent for a retried approval.
        No role check of its own (embedding code decides who calls it); an ``override_reason`` passes
        overdue receivables only when the actor is finance or admin. Returns ``Reservation``;
        ``InvalidValue``, ``BusinessRuleViolation`` (``credit.limit_exceeded`` / ``account_frozen`` / ``overdue``), ``Conflict``, ``NotFound``."""
        return self._run(actor, credit.reserve_for_contract, dealer_id, contract_no, amount_fen,
                         override_reason=override_reason)

    def adjust(self, actor: Principal, contract_no: str, new_amount_fen: int, *,
               override_reason: str | None = None) -> credit.Reservation:
        """A contract's value changed (order change): a raise runs the same check as ``reserve``, a cut
        releases credit. No role check of its own. Returns ``Reservation``; ``InvalidValue``,
        ``BusinessRuleViolation``, ``IllegalTransition`` (cancelled contract), ``NotFound``."""
        return self._run(actor, credit.adjust_contract, contract_no, new_amount_fen, override_reason=override_reason)

    def cancel(self, actor: Principal, contract_no: str, reason: str | None = None) -> credit.Reservation:
        """Cancel a contract's reservation: its uninvoiced value is released; twice is a no-op. No role check
        of its own. Returns ``Reservation``; ``NotFound`` (unknown contract)."""
        return self._run(actor, credit.cancel_contract, contract_no, reason=reason)

    def reopen(self, actor: Principal, contract_no: str, *, amount_fen: int | None = None,
               override_reason: str | None = None) -> credit.Reservation:
        """Bring a cancelled contract back, optionally at a new value, through the same check as ``reserve``.
        No role check of its own. Returns ``Reservation``; ``InvalidValue``, ``BusinessRuleViolation``,
        ``IllegalTransition``, ``NotFound``."""
        return self._run(actor, credit.reopen_contract, contract_no, amount_fen=amount_fen,
                         override_reason=override_reason)

    def check_release(self, actor: Principal, dealer_id: int, contract_no: str, vins: list[str], *,
                      override_reason: str | None = None) -> credit.ReleaseClearance:
        """May these vehicles leave the gate (放行)? Each must be paid, or the account active, within its limit
        and without overdue receivables (finance may override overdue with a reason); changes nothing but
        an override record. Returns ``ReleaseClearance``; ``InvalidValue`` (VINs), ``BusinessRuleViolation``."""
        return self._run(actor, credit.check_vehicle_release, dealer_id, contract_no, vins,
                         override_reason=override_reason)

    def book_erp_payment(self, erp_payment_id: str, dealer: str | int, contract_no: str | None, amount_fen: int,
                         received_at: dt.datetime) -> credit.PaymentBooked:
        """Book a payment the ERP recorded, once per ``erp_payment_id``, as the system principal (the ERP
        sync calls it). Returns ``PaymentBooked``; ``InvalidValue``, ``NotFound`` (dealer)."""
        return self._run(Principal.system(), credit.book_erp_payment, erp_payment_id, dealer, contract_no,
                         amount_fen, received_at)

    # use cases
    def request_change(self, actor: Principal, cmd: credit.RequestCreditChange) -> credit.ChangeRequestOut:
        """Finance proposes new credit terms (信用调整: limit, term, cycle, threshold, freeze/unfreeze) with a
        reason; finance or admin. Returns ``ChangeRequestOut``; ``InvalidValue``, ``PermissionDenied``, ``NotFound``."""
        return credit.request_credit_change(cmd, self._uow(actor), self._clock)

    def approve_change(self, actor: Principal, request_id: int, note: str | None = None) -> credit.ChangeRequestOut:
        """A second finance or admin user approves a credit change: the terms take effect now. Returns
        ``ChangeRequestOut``; ``BusinessRuleViolation`` (limit below exposure, the request staying pending;
        the requester deciding their own: ``credit.four_eyes``), ``PermissionDenied``, ``IllegalTransition``, ``NotFound``."""
        return credit.approve_credit_change(request_id, note, self._uow(actor), self._clock)

    def reject_change(self, actor: Principal, request_id: int, reason: str) -> credit.ChangeRequestOut:
        """Reject a pending credit change with a reason; finance or admin, not the requester. Returns
        ``ChangeRequestOut``; ``InvalidValue``, ``BusinessRuleViolation``, ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return credit.reject_credit_change(request_id, reason, self._uow(actor), self._clock)

    def issue_invoice(self, actor: Principal, cmd: credit.IssueInvoice,
                      idempotency_key: str | None = None) -> credit.InvoiceIssued:
        """Issue an invoice (开票) on part of a contract's reserved value, due after the credit term; money
        already received is applied at once. Finance, invoicing or admin; once per ``idempotency_key``.
        Returns ``InvoiceIssued``; ``InvalidValue``, ``BusinessRuleViolation``, ``PermissionDenied``, ``NotFound``."""
        return credit.issue_invoice(cmd, self._uow(actor), self._clock, idempotency_key)

    def void_invoice(self, actor: Principal, invoice_id: int, reason: str) -> credit.InvoiceIssued:
        """Void an invoice (作废) with a reason: its value goes back to the contract, applied money back to
        prepayment. Finance, invoicing or admin; returns ``InvoiceIssued``. ``InvalidValue``, ``IllegalTransition``,
        ``PermissionDenied``, ``NotFound``."""
        return credit.void_invoice(invoice_id, reason, self._uow(actor), self._clock)

    def record_payment(self, actor: Principal, cmd: credit.RecordPayment, idempotency_key: str | None) -> dict[str, Any]:
        """Record money received (收款), once per ``idempotency_key`` (the same key with another payment is
        ``InvalidValue``); finance or admin. Returns the booked payment; ``InvalidValue``, ``PermissionDenied``, ``NotFound``."""
        return credit.record_payment(cmd, idempotency_key, self._uow(actor), self._clock)

    def allocate_payment(self, actor: Principal, payment_id: int,
                         allocations: list[credit.AllocationIn] | None) -> credit.PaymentBooked:
        """Apply a payment's unapplied money to the given contracts, or (``None``) oldest due first; finance
        or admin. Returns ``PaymentBooked``; ``InvalidValue``, ``BusinessRuleViolation``, ``PermissionDenied``, ``NotFound``."""
        return credit.allocate_payment(payment_id, allocations, self._uow(actor), self._clock)

    def apply_prepayments(self, actor: Principal, dealer_id: int) -> int:
        """Apply all of a dealer's unapplied money to its open invoices, oldest due first; finance or admin.
        Returns how much was applied, in fen; ``PermissionDenied``, ``NotFound``."""
        return credit.apply_prepayments(dealer_id, self._uow(actor), self._clock)

    def evaluate(self, actor: Principal, dealer_id: int) -> credit.EvaluationOut:
        """Score one dealer's credit now (信用评估: punctuality, overdue days, utilisation) and keep it; finance
        or admin. Returns ``EvaluationOut``; ``PermissionDenied``, ``NotFound``."""
        return credit.evaluate_dealer_credit(dealer_id, self._uow(actor), self._clock)

    def reconcile(self, actor: Principal, dealer_id: int) -> credit.Reconciliation:
        """Compare the account's maintained sums with sums over the facts (read-only check); finance or admin.
        Returns ``Reconciliation``; ``PermissionDenied``, ``NotFound``."""
        return credit.reconcile_account(dealer_id, self._uow(actor))

    def run_reminders(self, now: dt.datetime | None = None) -> credit.ReminderReport:
        """The scheduler's job, as the system: due-soon reminders and dunning notices (催款) through the
        outbox, once per level of an overdue episode. Returns ``ReminderReport``."""
        return credit.run_credit_reminders(self._uow, now or self._clock())

    def run_evaluations(self, now: dt.datetime | None = None) -> int:
        """The periodic job, as the system: evaluate every dealer with a credit account; returns how many."""
        return credit.run_credit_evaluations(self._uow, now or self._clock())

    def today(self) -> dt.date:
        """The business day (Beijing calendar) money is booked on."""
        return business_day(self._clock())

    # reads, scoped by the caller (foreign dealers are 404)
    def _visible(self, actor: Principal, dealer_id: int | None) -> dict[str, Any]:
        """The dealer's brief when the caller may read its credit; 404 otherwise."""
        if actor.role is not Role.DEALER:
            require_role(actor, *credit.CREDIT_READERS)
        brief = self.queries.dealer_brief(dealer_id) if dealer_id is not None else None
        if dealer_id is None or brief is None:
            raise not_found("dealer", "经销商")
        channel.visible_dealer_or_404(actor, dealer_id, brief["region"])
        return brief

    def _scope(self, actor: Principal) -> tuple[int | None, tuple[str, ...] | None]:
        if actor.role is not Role.DEALER:
            require_role(actor, *credit.CREDIT_READERS)
        scope = dealer_scope(actor)
        return scope.dealer_id, scope.regions

    def page(self, actor: Principal, dealer_id: int) -> dict[str, Any]:
        """The credit page: terms, exposure with its parts, open receivables, contracts, payments."""
        brief = self._visible(actor, dealer_id)
        return {"dealer": brief, **self.queries.credit_page(dealer_id, business_day(self._clock()))}

    def accounts(self, actor: Principal, *, status: str | None = None, warning_only: bool = False,
                 after_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Credit accounts in the caller's scope (credit readers; a dealer its own), by status or warnings
        only, keyset-paged by id. ``PermissionDenied``."""
        dealer_id, regions = self._scope(actor)
        return self.queries.list_accounts(regions=regions, dealer_id=dealer_id, status=status,
                                          warning_only=warning_only, after_id=after_id, limit=limit)

    def invoices(self, actor: Principal, *, dealer_id: int | None = None, contract_no: str | None = None,
                 state: str | None = None, open_only: bool = False, after_id: int | None = None,
                 limit: int = 50) -> list[dict[str, Any]]:
        """Invoices in the caller's scope, by dealer, contract and state, keyset-paged by id.
        ``PermissionDenied``, ``NotFound`` (a dealer out of scope)."""
        own, regions = self._scope(actor)
        if dealer_id is not None:
            self._visible(actor, dealer_id)
        return self.queries.list_invoices(regions=regions, dealer_id=own or dealer_id, contract_no=contract_no,
                                          state=state, open_only=open_only, after_id=after_id, limit=limit)

    def payments(self, actor: Principal, *, dealer_id: int | None = None, after_id: int | None = None,
                 limit: int = 50) -> list[PaymentRow]:
        """Payments in the caller's scope, optionally of one dealer, keyset-paged by id.
        ``PermissionDenied``, ``NotFound`` (a dealer out of scope)."""
        own, regions = self._scope(actor)
        if dealer_id is not None:
            self._visible(actor, dealer_id)
        return self.queries.list_payments(regions=regions, dealer_id=own or dealer_id, after_id=after_id, limit=limit)

    def contract(self, actor: Principal, contract_no: str) -> dict[str, Any]:
        """One credit contract (its reservation, invoiced and paid sums) for a caller who may read its dealer.
        ``PermissionDenied``, ``NotFound``."""
        dealer_id = self.queries.contract_dealer(contract_no)
        if dealer_id is None:
            raise not_found("credit_contract", "合同")
        self._visible(actor, dealer_id)
        row = self.queries.contract(contract_no)
        if row is None:
            raise not_found("credit_contract", "合同")
        return row

    def change_requests(self, actor: Principal, *, dealer_id: int | None = None, state: str | None = None,
                        after_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Credit change requests in the caller's scope, by dealer and state, keyset-paged by id.
        ``PermissionDenied``, ``NotFound``."""
        own, regions = self._scope(actor)
        if dealer_id is not None:
            self._visible(actor, dealer_id)
        return self.queries.change_requests(regions=regions, dealer_id=own or dealer_id, state=state,
                                            after_id=after_id, limit=limit)

    def invoice(self, actor: Principal, invoice_id: int) -> dict[str, Any]:
        """One invoice with its allocations, for a caller who may read its dealer (else 404)."""
        row = self.queries.invoice(invoice_id)
        if row is None:
            raise not_found("credit_invoice", "发票")
        self._visible(actor, int(row["dealer_id"]))
        return row

    def change_request(self, actor: Principal, request_id: int) -> dict[str, Any]:
        """One credit change request for a caller who may read its dealer; ``PermissionDenied``, ``NotFound``."""
        row = self.queries.change_request(request_id)
        if row is None:
            raise not_found("credit_change_request", "信用调整申请")
        self._visible(actor, int(row["dealer_id"]))
        return row

    def dunning(self, actor: Principal, *, region: str | None = None) -> list[dict[str, Any]]:
        """催款: overdue receivables per dealer and contract, the dunning level due and the level
        reached, and the reminders the scheduler queued for them."""
        own, regions = self._scope(actor)
        if region is not None:
            regions = tuple(r for r in (regions or (region,)) if r == region)
        return self.queries.dunning(regions=regions, dealer_id=own, today=business_day(self._clock()))

    def evaluations(self, actor: Principal, dealer_id: int) -> list[EvaluationRow]:
        """A dealer's credit evaluations for a caller who may read it; ``PermissionDenied``, ``NotFound``."""
        self._visible(actor, dealer_id)
        return self.queries.evaluations(dealer_id)

    def history(self, actor: Principal, dealer_id: int) -> list[dict[str, Any]]:
        """The audit trail of a dealer's credit (terms, contracts, invoices, payments) for a caller who may read it;
        ``PermissionDenied``, ``NotFound``."""
        self._visible(actor, dealer_id)
        return self.queries.history(dealer_id)

    def ageing(self, actor: Principal, *, dealer_id: int | None = None, region: str | None = None) -> dict[str, Any]:
        """Receivables by age bucket (账龄) in the caller's scope, optionally one dealer or region.
        ``PermissionDenied``, ``NotFound``."""
        own, regions = self._scope(actor)
        if dealer_id is not None:
            self._visible(actor, dealer_id)
        if region is not None:
            regions = tuple(r for r in (regions or (region,)) if r == region)
        return self.queries.ageing(regions=regions, dealer_id=own or dealer_id, today=business_day(self._clock()))

    def invoice_status_of(self, actor: Principal, vins: list[str],
                          contract_of: dict[str, str] | None = None) -> dict[str, VehicleInvoiceStatus]:
        """Each VIN's invoice-and-payment status word (开票收款状态) within the caller's scope.
        ``PermissionDenied`` for roles that read no credit."""
        own, regions = self._scope(actor)
        return self.queries.invoice_status_of(vins, contract_of, dealer_id=own, regions=regions)
