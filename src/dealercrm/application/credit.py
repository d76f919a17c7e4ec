"""Use cases of the credit context. **The one credit rule** every path that adds exposure (or
releases unpaid vehicles) goes through is :func:`dealercrm.domain.credit.admit`; ``_admit`` here
only gathers its facts (the dealer's overdue receivables, the acting user) and records overrides.

Two kinds of functions live here:

*Rule functions* take a unit of work that the caller has already opened and never commit, so
the orders context can call them inside *its* transaction (finance approval of a contract, a
price change, reopening) and the gate inside its gate-pass approval::

    with uow:
        contract.approve(...)
        reserve_for_contract(uow, contract.dealer_id, contract.number, contract.total_fen)
        uow.commit()

They check everything before they change anything: a caller that catches the error (to record
"refused by credit" on its own aggregate) may still commit, and nothing half-done of ours is
written. Each takes the dealer's credit account with ``uow.credit.lock_account`` first (row lock
on PostgreSQL; BEGIN IMMEDIATE on SQLite), so two approvals of one dealer run one after another
and can never both fit into the same available credit.

*Use cases* (invoices, payments, change requests, reminders, evaluation) open and commit their
own unit of work, like the channel's.

Error codes a caller sees (all ``DomainError``; HTTP status in brackets):
``credit.limit_exceeded`` [409], ``credit.account_frozen`` [409], ``credit.overdue`` [409],
``credit.contract_cancelled`` [409], ``credit.contract_already_reserved`` [409],
``credit.contract_no_taken`` [409], ``credit.amount_below_invoiced`` [409],
``credit.contract_unknown`` [404], ``dealer.not_found`` [404], ``auth.forbidden`` [403] (an
override by someone who is not finance), ``money.not_positive_fen`` and other ``InvalidValue`` [422].
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from dealercrm.application.access import dealer_scope, not_found, require_role
from dealercrm.application.ports.credit import CreditUnitOfWork, DealerRef, OpenReceivable, ReleaseCheckUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.domain.credit import (
    DUE_SOON_DAYS,
    FINANCE_DECIDERS,
    FORMULA,
    Allocation,
    Commitment,
    CreditAccount,
    CreditChangeRequest,
    CreditEvaluation,
    EvaluationInputs,
    Invoice,
    Payment,
    PaymentMethod,
    PaymentSource,
    VehicleInvoiceStatus,
    WarningCrossed,
    admit,
    business_day,
    dunning_level,
    grade_proposal_due,
    plan_allocations,
    positive_fen,
    score_credit,
    validate_term_changes,
    yuan,
)
from dealercrm.domain.errors import (
    BusinessRuleViolation,
    Conflict,
    DomainError,
    IllegalTransition,
    InvalidValue,
    InvariantBroken,
    NotFound,
)
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import Vin
from dealercrm.domain.values import stored_id
from attrs import AttrsInstance

INVOICERS = (Role.FINANCE, Role.INVOICING, Role.ADMIN)
CREDIT_READERS = (Role.FINANCE, Role.INVOICING, Role.ADMIN, Role.SALES, Role.REGION_MANAGER)
CREDITOR = "厂家财务部"
PAYMENT_SCOPE = "credit.payment"
INVOICE_SCOPE = "credit.invoice"


def _now(uow: ReleaseCheckUnitOfWork, now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else uow.clock()


def _contract_no(raw: object, field: str = "contract_no") -> str:
    if not isinstance(raw, str) or not 1 <= len(raw.strip()) <= 40:
        raise InvalidValue(field, "合同号须为1到40个字符", code="credit.contract_no_invalid")
    return raw.strip()


def _visible_dealer(uow: CreditUnitOfWork, dealer_id: int) -> DealerRef:
    ref = uow.credit.dealer(dealer_id)
    if ref is None or not dealer_scope(uow.actor).admits(ref.id, ref.region):
        raise not_found("dealer", "经销商")
    return ref


def _unknown_contract(contract_no: str, field: str = "contract_no") -> NotFound:
    return NotFound(f"合同{contract_no}未经财务审批占用额度（信用系统中不存在）", code="credit.contract_unknown",
                    field=field, contract_no=contract_no)


# ---------------------------------------------------------------------------------------------
# Results


@attrs.frozen
class Reservation:
    contract_no: str
    dealer_id: int
    amount_fen: int
    invoiced_fen: int
    uninvoiced_fen: int
    state: str
    limit_fen: int
    exposure_fen: int
    available_fen: int
    overridden: bool = False


@attrs.frozen
class VinClearance:
    vin: str
    invoice_status: str  # not_invoiced / invoiced_unpaid / invoiced_paid
    basis: str  # "paid" (已开票已收款) or "credit" (within credit, not overdue)


@attrs.frozen
class ReleaseClearance:
    dealer_id: int
    contract_no: str
    vins: tuple[VinClearance, ...]
    limit_fen: int
    exposure_fen: int
    available_fen: int
    overridden: bool = False


@attrs.frozen
class AllocationOut:
    invoice_no: str
    contract_no: str
    amount_fen: int


@attrs.frozen
class PaymentBooked:
    payment_id: int
    payment_no: str
    dealer_id: int
    amount_fen: int
    received_on: str
    method: str
    source: str
    contract_no: str | None
    unapplied_fen: int
    allocations: tuple[AllocationOut, ...]
    exposure_fen: int
    available_fen: int
    duplicate: bool = False

    def as_answer(self) -> dict[str, Any]:
        """The stored, replayed answer of an idempotent posting (JSON values only)."""
        d = attrs.asdict(self, recurse=True)
        d["allocations"] = [dict(a) for a in d["allocations"]]
        d.pop("duplicate")
        return d


def _reservation(c: Commitment, account: CreditAccount, overridden: bool = False) -> Reservation:
    return Reservation(c.contract_no, c.dealer_id, c.amount_fen, c.invoiced_fen, c.uninvoiced_fen, c.state.value,
                       account.limit_fen, account.exposure_fen, account.available_fen, overridden)


# ---------------------------------------------------------------------------------------------
# The credit rule


def _admit(uow: ReleaseCheckUnitOfWork, account: CreditAccount, amount_fen: int, *, contract_no: str, action: str,
           override_reason: str | None, now: dt.datetime) -> Callable[[], bool]:
    """Apply :func:`dealercrm.domain.credit.admit` (the credit rule) with the facts it needs —
    the dealer's overdue receivables on the business day and the acting user. Returns a commit
    step that records the override (called only after every other check of the caller passed)."""
    overdue = uow.credit.overdue(account.dealer_id, business_day(now))
    reason = admit(account, amount_fen, contract_no=contract_no, action=action, overdue=overdue,
                   override_reason=override_reason, actor=uow.actor)

    def record() -> bool:
        if overdue is None or reason is None:
            return False
        uow.credit.add_override(
            dealer_id=account.dealer_id, contract_no=contract_no, action=action, reason=reason,
            overdue_fen=overdue.overdue_fen, oldest_due_on=overdue.oldest_due_on,
            actor_id=uow.actor.user_id, actor=uow.actor.username, at=now,
        )
        return True

    return record


def _locked_commitment(uow: CreditUnitOfWork, contract_no: str) -> tuple[Commitment, CreditAccount]:
    contract_no = _contract_no(contract_no)
    seen = uow.credit.commitment(contract_no)
    if seen is None:
        raise _unknown_contract(contract_no)
    account = uow.credit.lock_account(seen.dealer_id)
    c = uow.credit.commitment(contract_no, refresh=True)  # the state after the lock, not before
    if c is None:
        raise InvariantBroken(f"commitment {contract_no} vanished under its account lock")
    return c, account


def reserve_for_contract(uow: CreditUnitOfWork, dealer_id: int, contract_no: str, amount_fen: int, *,
                         override_reason: str | None = None, now: dt.datetime | None = None) -> Reservation:
    """Finance approves a contract: reserve its value against the dealer's credit.

    Idempotent for a retried approval (same contract, dealer and amount: nothing changes).
    Raises ``credit.limit_exceeded`` / ``credit.account_frozen`` / ``credit.overdue`` (409).
    """
    now = _now(uow, now)
    contract_no = _contract_no(contract_no)
    positive_fen("amount_fen", amount_fen)
    account = uow.credit.lock_account(dealer_id)
    existing = uow.credit.commitment(contract_no, refresh=True)
    if existing is not None:
        if existing.dealer_id != dealer_id:
            raise Conflict("合同号已被其他经销商的合同使用", code="credit.contract_no_taken", contract_no=contract_no)
        if not existing.is_active:
            raise IllegalTransition("credit_commitment", existing.state.value, "reserve",
                                    f"合同{contract_no}已取消，请使用重新启用", code="credit.contract_cancelled")
        if existing.amount_fen == amount_fen:
            return _reservation(existing, account)
        raise Conflict("该合同已占用额度且金额不同，请走合同变更", code="credit.contract_already_reserved",
                       contract_no=contract_no, current_amount_fen=existing.amount_fen)
    record_override = _admit(uow, account, amount_fen, contract_no=contract_no, action="reserve",
                             override_reason=override_reason, now=now)
    commitment = Commitment(contract_no=contract_no, dealer_id=dealer_id, amount_fen=amount_fen, reserved_at=now,
                            updated_at=now)
    overridden = record_override()
    account.reserve(amount_fen, contract_no=contract_no)
    uow.credit.add(commitment)
    _after_change(uow, account, now)
    uow.flush()
    return _reservation(commitment, account, overridden)


def adjust_contract(uow: CreditUnitOfWork, contract_no: str, new_amount_fen: int, *,
                    override_reason: str | None = None, now: dt.datetime | None = None) -> Reservation:
    """A contract's value changed (order change). A raise runs the same check as an approval;
    a cut releases credit."""
    now = _now(uow, now)
    positive_fen("new_amount_fen", new_amount_fen)
    c, account = _locked_commitment(uow, contract_no)
    if not c.is_active:
        raise IllegalTransition("credit_commitment", c.state.value, "adjust", f"合同{c.contract_no}已取消",
                                code="credit.contract_cancelled")
    if new_amount_fen < c.invoiced_fen:
        raise BusinessRuleViolation(f"合同金额不能低于已开票金额{yuan(c.invoiced_fen)}",
                                    code="credit.amount_below_invoiced", contract_no=c.contract_no,
                                    invoiced_fen=c.invoiced_fen)
    delta = new_amount_fen - c.amount_fen
    overridden = False
    if delta > 0:
        record_override = _admit(uow, account, delta, contract_no=c.contract_no, action="adjust",
                                 override_reason=override_reason, now=now)
        overridden = record_override()
    c.adjust(new_amount_fen, now)
    if delta > 0:
        account.reserve(delta, contract_no=c.contract_no, action="adjust")
    elif delta < 0:
        account.release(-delta)
    _after_change(uow, account, now)
    uow.flush()
    return _reservation(c, account, overridden)


def cancel_contract(uow: CreditUnitOfWork, contract_no: str, *, reason: str | None = None,
                    now: dt.datetime | None = None) -> Reservation:
    """The contract is cancelled: its uninvoiced value is released. Cancelling twice is a no-op.
    Invoices already issued stay receivables (void them separately)."""
    now = _now(uow, now)
    c, account = _locked_commitment(uow, contract_no)
    if not c.is_active:
        return _reservation(c, account)
    released = c.cancel(reason, now)
    account.release(released)
    _after_change(uow, account, now)
    uow.flush()
    return _reservation(c, account)


def reopen_contract(uow: CreditUnitOfWork, contract_no: str, *, amount_fen: int | None = None,
                    override_reason: str | None = None, now: dt.datetime | None = None) -> Reservation:
    """A cancelled contract comes back (optionally at a new value): its uninvoiced value is
    reserved again through the same check as an approval."""
    now = _now(uow, now)
    if amount_fen is not None:
        positive_fen("amount_fen", amount_fen)
    c, account = _locked_commitment(uow, contract_no)
    if c.is_active:
        raise IllegalTransition("credit_commitment", c.state.value, "reopen", f"合同{c.contract_no}未取消，无需重新启用")
    new_amount = c.amount_fen if amount_fen is None else amount_fen
    if new_amount < c.invoiced_fen:
        raise BusinessRuleViolation(f"合同金额不能低于已开票金额{yuan(c.invoiced_fen)}",
                                    code="credit.amount_below_invoiced", contract_no=c.contract_no,
                                    invoiced_fen=c.invoiced_fen)
    to_reserve = new_amount - c.invoiced_fen
    record_override = _admit(uow, account, to_reserve, contract_no=c.contract_no, action="reopen",
                             override_reason=override_reason, now=now)
    overridden = record_override()
    c.reopen(now, amount_fen)
    if to_reserve:
        account.reserve(to_reserve, contract_no=c.contract_no, action="reopen")
    _after_change(uow, account, now)
    uow.flush()
    return _reservation(c, account, overridden)


def check_vehicle_release(uow: ReleaseCheckUnitOfWork, dealer_id: int, contract_no: str, vins: Sequence[str], *,
                          override_reason: str | None = None, now: dt.datetime | None = None) -> ReleaseClearance:
    """May these vehicles leave the gate? Each must be paid (已开票已收款), or the dealer's
    account must be active, within its limit and without overdue receivables (finance may
    override overdue with a reason). Raises ``credit.*`` (409) when not; changes nothing
    except recording an override."""
    now = _now(uow, now)
    contract_no = _contract_no(contract_no)
    if not vins:
        raise InvalidValue("vins", "至少指定一辆车", code="credit.vins_required")
    clean: list[str] = []
    for i, raw in enumerate(vins):
        try:
            vin = Vin(raw).value
        except InvalidValue as e:
            raise InvalidValue(f"vins[{i}]", e.message, code=e.code) from None
        if vin not in clean:
            clean.append(vin)
    account = uow.credit.lock_account(dealer_id)
    c = uow.credit.commitment(contract_no, refresh=True)
    if c is None or c.dealer_id != dealer_id:
        raise _unknown_contract(contract_no)
    if not c.is_active:
        raise IllegalTransition("credit_commitment", c.state.value, "release", f"合同{contract_no}已取消，车辆不能放行",
                                code="credit.contract_cancelled")
    linked = uow.credit.vehicle_invoices(clean)
    for vin in clean:
        if vin in linked and linked[vin][1] != contract_no:
            raise Conflict(f"车辆{vin}已开票在其他合同（{linked[vin][1]}）下", code="credit.vin_contract_mismatch",
                           vin=vin, contract_no=contract_no)
    statuses = invoice_status_of(uow, clean, contract_of={v: contract_no for v in clean})
    unpaid = [v for v in clean if statuses[v] is not VehicleInvoiceStatus.INVOICED_PAID]
    overridden = False
    if unpaid:
        record_override = _admit(uow, account, 0, contract_no=contract_no, action="release",
                                 override_reason=override_reason, now=now)
        overridden = record_override()
        uow.flush()
    return ReleaseClearance(
        dealer_id=dealer_id, contract_no=contract_no,
        vins=tuple(VinClearance(v, statuses[v].value, "credit" if v in unpaid else "paid") for v in clean),
        limit_fen=account.limit_fen, exposure_fen=account.exposure_fen, available_fen=account.available_fen,
        overridden=overridden,
    )


def invoice_status_of(uow: ReleaseCheckUnitOfWork, vins: Sequence[str], *,
                      contract_of: Mapping[str, str] | None = None) -> dict[str, VehicleInvoiceStatus]:
    """The seed's status word of each vehicle: its own invoice if one names it; otherwise, when
    its contract is given, the contract's invoices that name no vehicle; else 未开票."""
    linked = uow.credit.vehicle_invoices(list(vins))
    contract_nos = sorted({contract_of[v] for v in vins if contract_of and v in contract_of and v not in linked})
    by_contract = uow.credit.contract_invoice_status(contract_nos) if contract_nos else {}
    out: dict[str, VehicleInvoiceStatus] = {}
    for v in vins:
        if v in linked:
            out[v] = linked[v][2]
        elif contract_of and v in contract_of and contract_of[v] in by_contract:
            out[v] = by_contract[contract_of[v]]
        else:
            out[v] = VehicleInvoiceStatus.NOT_INVOICED
    return out


# ---------------------------------------------------------------------------------------------
# Warnings: once per crossing


def _after_change(uow: CreditUnitOfWork, account: CreditAccount, now: dt.datetime) -> None:
    crossed = account.evaluate_warning()
    if crossed is not None:
        _notify_warning(uow, crossed, now)


def _enqueue(uow: CreditUnitOfWork, template: str, variables: dict[str, object], recipient: str | None,
             key: str) -> bool:
    """Queue one message; a missing or unusable address (bad e-mail, not a mobile) skips that
    recipient instead of failing the credit decision it belongs to."""
    if not recipient:
        return False
    try:
        uow.outbox.enqueue(template, variables, recipient, key)
    except InvalidValue as exc:
        if exc.code.startswith("notify.recipient") or exc.code == "phone.malformed":
            return False
        raise
    return True


def _permille_text(permille: int) -> str:
    return f"{permille / 10:.1f}%"


def _notify_warning(uow: CreditUnitOfWork, w: WarningCrossed, now: dt.datetime) -> None:
    dealer = uow.credit.dealer(w.dealer_id)
    if dealer is None:
        return
    common = {
        "dealer_name": dealer.legal_name, "limit": yuan(w.limit_fen), "exposure": yuan(w.exposure_fen),
        "usage": _permille_text(w.usage_permille), "threshold": _permille_text(w.threshold_permille),
        "available": yuan(w.limit_fen - w.exposure_fen),
    }
    base = f"credit.warning:{w.dealer_id}:{w.crossing}"
    _enqueue(uow, "credit.warning_dealer",
             {**common, "as_of": business_day(now).strftime("%Y年%m月%d日"), "creditor_name": CREDITOR},
             dealer.contact_email, f"{base}:dealer")
    for role, audience, advice in (
        (Role.FINANCE, "财务", "请关注该经销商回款，必要时调整额度或暂停新合同审批。"),
        (Role.INVOICING, "开票", "开票前请核实该经销商回款情况，未收款车辆放行前请与财务确认。"),
    ):
        for person in uow.credit.staff(role):
            _enqueue(uow, "credit.warning_staff",
                     {**common, "recipient_name": person.name, "audience": audience, "dealer_code": dealer.code,
                      "advice": advice},
                     person.email, f"{base}:{role.value}:{person.user_id}")


# ---------------------------------------------------------------------------------------------
# Payments and allocation


def _apply(uow: CreditUnitOfWork, account: CreditAccount, payment: Payment, invoice: Invoice, amount_fen: int,
           now: dt.datetime) -> Allocation:
    if payment.id is None or invoice.id is None:
        raise InvariantBroken("payment or invoice has no id: not flushed")
    payment.allocate(amount_fen)
    invoice.apply(amount_fen, max(payment.received_on, invoice.issued_on))
    account.applied(amount_fen)
    allocation = Allocation(payment_id=payment.id, invoice_id=invoice.id, dealer_id=invoice.dealer_id,
                            contract_no=invoice.contract_no, amount_fen=amount_fen, allocated_at=now,
                            allocated_by=uow.actor.username)
    uow.credit.add(allocation)
    if invoice.open_fen == 0:
        uow.credit.mark_vehicles_paid(invoice)
    return allocation


def _apply_plan(uow: CreditUnitOfWork, account: CreditAccount, payments: list[Payment], invoices: list[Invoice],
                now: dt.datetime, limit_fen: int | None = None) -> list[tuple[Allocation, Invoice]]:
    done = []
    for step in plan_allocations(payments, invoices, limit_fen):
        done.append((_apply(uow, account, step.payment, step.invoice, step.amount_fen, now), step.invoice))
    return done


def _apply_prepayments_to(uow: CreditUnitOfWork, account: CreditAccount, invoice: Invoice, now: dt.datetime) -> None:
    """A new invoice takes the money already received for its contract, then unearmarked money."""
    pool = uow.credit.unapplied_payments(invoice.dealer_id)
    earmarked = [p for p in pool if p.contract_no == invoice.contract_no]
    free = [p for p in pool if p.contract_no is None]
    _apply_plan(uow, account, [*earmarked, *free], [invoice], now)


def _earmark_is_live(uow: CreditUnitOfWork, contract_no: str) -> bool:
    """Money earmarked for a contract waits for it only while the contract may still be
    invoiced; once it is cancelled or wholly invoiced, what is left is free money."""
    c = uow.credit.commitment(contract_no)
    return c is not None and c.uninvoiced_fen > 0


def _settle_dealer(uow: CreditUnitOfWork, account: CreditAccount, dealer_id: int, now: dt.datetime,
                   payments: list[Payment] | None = None) -> list[tuple[Allocation, Invoice]]:
    """Oldest due first: earmarked money to its own contract, free money to any invoice."""
    pool = payments if payments is not None else uow.credit.unapplied_payments(dealer_id)
    invoices = uow.credit.open_invoices(dealer_id)
    done = []
    free = [p for p in pool if p.contract_no is None]
    for contract_no in sorted({p.contract_no for p in pool if p.contract_no}):
        earmarked = [p for p in pool if p.contract_no == contract_no]
        mine = [i for i in invoices if i.contract_no == contract_no]
        done += _apply_plan(uow, account, earmarked, mine, now)
        if not _earmark_is_live(uow, contract_no):
            free += [p for p in earmarked if p.unapplied_fen > 0]
    free.sort(key=lambda p: (p.received_on, p.id or 0))
    done += _apply_plan(uow, account, free, [i for i in invoices if i.open_fen > 0], now)
    return done


def _booked(payment: Payment, account: CreditAccount, allocations: list[tuple[Allocation, Invoice]],
            duplicate: bool = False) -> PaymentBooked:
    if payment.id is None:
        raise InvariantBroken("payment has no id: not flushed")
    return PaymentBooked(
        payment_id=payment.id, payment_no=payment.payment_no, dealer_id=payment.dealer_id,
        amount_fen=payment.amount_fen, received_on=payment.received_on.isoformat(), method=payment.method.value,
        source=payment.source.value, contract_no=payment.contract_no, unapplied_fen=payment.unapplied_fen,
        allocations=tuple(AllocationOut(inv.invoice_no, a.contract_no, a.amount_fen) for a, inv in allocations),
        exposure_fen=account.exposure_fen, available_fen=account.available_fen, duplicate=duplicate,
    )


def _check_contract_of(uow: CreditUnitOfWork, dealer_id: int, contract_no: str, field: str) -> Commitment:
    c = uow.credit.commitment(contract_no, refresh=True)
    if c is None or c.dealer_id != dealer_id:
        raise _unknown_contract(contract_no, field)
    return c


def _book_payment(uow: CreditUnitOfWork, account: CreditAccount, *, dealer_id: int, amount_fen: int,
                  received_on: dt.date, method: PaymentMethod, source: PaymentSource, contract_no: str | None,
                  reference: str | None, erp_payment_id: str | None, note: str | None, mode: str,
                  allocations: Sequence[tuple[str, int]], now: dt.datetime) -> PaymentBooked:
    if contract_no is not None:
        _check_contract_of(uow, dealer_id, contract_no, "contract_no")
    if mode == "explicit":
        total = 0
        for i, (cn, amt) in enumerate(allocations):
            _check_contract_of(uow, dealer_id, cn, f"allocations[{i}].contract_no")
            open_fen = sum(inv.open_fen for inv in uow.credit.open_invoices(dealer_id, cn))
            already = sum(a for c2, a in allocations[:i] if c2 == cn)
            if amt > open_fen - already:
                raise InvalidValue(f"allocations[{i}].amount_fen",
                                   f"核销金额超过合同{cn}的未收款金额{yuan(max(0, open_fen - already))}",
                                   code="credit.allocation_exceeds_receivable")
            total += amt
        if total > amount_fen:
            raise InvalidValue("allocations", "核销合计超过收款金额", code="credit.allocation_exceeds_payment")
    payment = Payment(
        payment_no=_provisional_number("SK"), dealer_id=dealer_id,
        amount_fen=amount_fen, received_on=received_on, method=method, source=source, recorded_at=now,
        recorded_by=uow.actor.username, contract_no=contract_no, reference=reference,
        erp_payment_id=erp_payment_id, note=note,
    )
    uow.credit.add(payment)
    uow.flush()
    account.received(amount_fen)
    done: list[tuple[Allocation, Invoice]] = []
    if mode == "explicit":
        for cn, amt in allocations:
            done += _apply_plan(uow, account, [payment], uow.credit.open_invoices(dealer_id, cn), now, amt)
    elif mode == "auto":
        if contract_no is not None:
            done += _apply_plan(uow, account, [payment], uow.credit.open_invoices(dealer_id, contract_no), now)
        else:
            done += _settle_dealer(uow, account, dealer_id, now, [payment])
    _after_change(uow, account, now)
    payment.payment_no = _gapless_number(uow, "SK", business_day(now).year)
    return _booked(payment, account, done)


def _provisional_number(prefix: str) -> str:
    """The stand-in a gapless document carries until ``_gapless_number`` gives it its number.

    Unique per transaction, so concurrent writers never wait on each other's uncommitted row in
    the number's unique index; it never reaches a commit."""
    return f"{prefix}-~{uuid.uuid4().hex[:20]}"


def _gapless_number(uow: CreditUnitOfWork, prefix: str, year: int) -> str:
    """A number of a gapless series (invoices FP, payment receipts SK), taken as the use case's
    last step before COMMIT: the series' counter row stays locked from here until COMMIT (that is
    what keeps it gapless), so every other statement of the transaction runs before it. The
    caller assigns it to the document it created with ``_provisional_number`` and commits."""
    uow.flush()  # everything else the transaction writes goes out before the lock is taken
    return uow.numbers.formatted(prefix, year=year)


def book_erp_payment(uow: CreditUnitOfWork, erp_payment_id: str, dealer: str | int, contract_no: str | None,
                     amount_fen: int, received_at: dt.datetime, *, now: dt.datetime | None = None) -> PaymentBooked:
    """A payment the ERP booked (``ErpSyncTarget.on_payment``): once per ``erp_payment_id``.

    ``dealer`` is the dealer code (``DL-000123``) or id. Applied to the named contract's open
    invoices oldest-due first (the rest waits for that contract's next invoice), or — no
    contract — to the dealer's oldest due invoices; what is left is a prepayment. A second
    arrival returns the first booking with ``duplicate=True`` and changes nothing. Unknown
    dealer / contract → ``NotFound`` (the sync records the event as rejected).
    """
    now = _now(uow, now)
    if not isinstance(erp_payment_id, str) or not 1 <= len(erp_payment_id.strip()) <= 64:
        raise InvalidValue("erp_payment_id", "ERP收款编号须为1到64个字符", code="credit.erp_payment_id_invalid")
    positive_fen("amount_fen", amount_fen)
    if not isinstance(received_at, dt.datetime) or received_at.tzinfo is None:
        raise InvalidValue("received_at", "到账时间必须带时区", code="time.not_aware")
    ref = uow.credit.dealer(dealer) if isinstance(dealer, int) else uow.credit.dealer(code=dealer)
    if ref is None:
        raise NotFound(f"未知的经销商：{dealer}", code="credit.dealer_unknown", dealer=str(dealer))
    if contract_no is not None:
        contract_no = _contract_no(contract_no)
    account = uow.credit.lock_account(ref.id)
    existing = uow.credit.payment_by_erp_id(erp_payment_id.strip())
    if existing is not None:
        if existing.dealer_id != ref.id or existing.amount_fen != amount_fen:
            raise Conflict("同一ERP收款编号的经销商或金额与已入账记录不一致", code="credit.erp_payment_mismatch",
                           erp_payment_id=erp_payment_id)
        allocations = []
        for a in uow.credit.allocations_of_payment(stored_id(existing.id)):
            invoice = uow.credit.invoice(a.invoice_id)
            if invoice is None:
                raise InvariantBroken("payment allocated to an invoice that is gone")
            allocations.append((a, invoice))
        return _booked(existing, account, allocations, duplicate=True)
    return _book_payment(
        uow, account, dealer_id=ref.id, amount_fen=amount_fen, received_on=business_day(received_at),
        method=PaymentMethod.BANK_TRANSFER, source=PaymentSource.ERP, contract_no=contract_no, reference=None,
        erp_payment_id=erp_payment_id.strip(), note=None, mode="auto", allocations=(), now=now,
    )


@attrs.frozen
class AllocationIn:
    contract_no: str
    amount_fen: int


@attrs.frozen
class RecordPayment:
    dealer_id: int
    amount_fen: int
    received_on: dt.date
    method: str = "bank_transfer"
    contract_no: str | None = None
    reference: str | None = None
    note: str | None = None
    allocation: str = "auto"  # auto (oldest due first) | explicit | none (keep as prepayment)
    allocations: tuple[AllocationIn, ...] = ()


_KEY_RE = re.compile(r"^[\x21-\x7e]{8,200}$")


def _fingerprint(actor: Principal, request: AttrsInstance) -> str:
    payload = {"actor": actor.user_id if actor.user_id is not None else actor.username,
               "request": attrs.asdict(request, recurse=True)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()


def _validated_payment(cmd: RecordPayment, today: dt.date) -> tuple[PaymentMethod, str | None, list[tuple[str, int]]]:
    positive_fen("amount_fen", cmd.amount_fen)
    try:
        method = PaymentMethod(cmd.method)
    except ValueError:
        raise InvalidValue("method", "收款方式须为 bank_transfer、acceptance_bill、cash 或 other",
                           code="credit.payment_method_invalid") from None
    if cmd.received_on > today:
        raise InvalidValue("received_on", "到账日期不能晚于今天", code="credit.date_in_future")
    if cmd.allocation not in ("auto", "explicit", "none"):
        raise InvalidValue("allocation", "核销方式须为 auto、explicit 或 none", code="credit.allocation_mode_invalid")
    if cmd.allocation == "explicit" and not cmd.allocations:
        raise InvalidValue("allocations", "指定核销时须列出合同与金额", code="credit.allocations_required")
    if cmd.allocation != "explicit" and cmd.allocations:
        raise InvalidValue("allocations", "仅在 allocation=explicit 时可列出核销明细", code="credit.allocations_unexpected")
    allocations = []
    for i, a in enumerate(cmd.allocations):
        positive_fen(f"allocations[{i}].amount_fen", a.amount_fen)
        allocations.append((_contract_no(a.contract_no, f"allocations[{i}].contract_no"), a.amount_fen))
    contract_no = _contract_no(cmd.contract_no) if cmd.contract_no is not None else None
    return method, contract_no, allocations


def record_payment(cmd: RecordPayment, idempotency_key: str | None, uow: CreditUnitOfWork,
                   clock: Clock) -> dict[str, Any]:
    """Finance records money received (收款). Idempotent by ``idempotency_key``: the same key with
    the same request returns the stored answer and books nothing; the same key with another
    request is refused (422). Returns the answer as JSON values."""
    require_role(uow.actor, *FINANCE_DECIDERS)
    if idempotency_key is None or not _KEY_RE.match(idempotency_key):
        raise InvalidValue("Idempotency-Key", "须提供 Idempotency-Key 请求头（8–200个可打印ASCII字符）",
                           code="idempotency.key_required")
    now = clock()
    method, contract_no, allocations = _validated_payment(cmd, business_day(now))
    fingerprint = _fingerprint(uow.actor, cmd)
    with uow:
        seen = uow.credit.claim_idempotency_key(PAYMENT_SCOPE, idempotency_key, fingerprint, uow.actor.user_id, now)
        if seen is not None:
            if seen.fingerprint != fingerprint or seen.answer is None:
                raise InvalidValue("Idempotency-Key", "该 Idempotency-Key 已用于另一笔不同的收款请求",
                                   code="idempotency.key_reused")
            return seen.answer
        _visible_dealer(uow, cmd.dealer_id)
        account = uow.credit.lock_account(cmd.dealer_id)
        booked = _book_payment(
            uow, account, dealer_id=cmd.dealer_id, amount_fen=cmd.amount_fen, received_on=cmd.received_on,
            method=method, source=PaymentSource.FINANCE, contract_no=contract_no,
            reference=(cmd.reference or "").strip() or None, erp_payment_id=None,
            note=(cmd.note or "").strip() or None, mode=cmd.allocation, allocations=allocations, now=now,
        )
        answer = booked.as_answer()
        uow.credit.store_answer(PAYMENT_SCOPE, idempotency_key, answer)
        uow.commit()
    return answer


def allocate_payment(payment_id: int, allocations: Sequence[AllocationIn] | None, uow: CreditUnitOfWork,
                     clock: Clock) -> PaymentBooked:
    """Apply a payment's unapplied money: to the given contracts, or (None) oldest due first."""
    require_role(uow.actor, *FINANCE_DECIDERS)
    now = clock()
    wanted = []
    for i, a in enumerate(allocations or ()):
        positive_fen(f"allocations[{i}].amount_fen", a.amount_fen)
        wanted.append((_contract_no(a.contract_no, f"allocations[{i}].contract_no"), a.amount_fen))
    with uow:
        seen = uow.credit.payment(payment_id)
        if seen is None:
            raise not_found("credit_payment", "收款记录")
        _visible_dealer(uow, seen.dealer_id)
        account = uow.credit.lock_account(seen.dealer_id)
        payment = uow.credit.payment(payment_id, refresh=True)
        if payment is None:
            raise InvariantBroken(f"payment {payment_id} vanished under its account lock")
        if payment.unapplied_fen == 0:
            raise BusinessRuleViolation("该笔收款已全部核销", code="credit.payment_fully_applied",
                                        payment_no=payment.payment_no)
        done: list[tuple[Allocation, Invoice]] = []
        if wanted:
            if sum(a for _, a in wanted) > payment.unapplied_fen:
                raise InvalidValue("allocations", f"核销合计超过该笔收款未核销金额{yuan(payment.unapplied_fen)}",
                                   code="credit.allocation_exceeds_payment")
            for i, (cn, amt) in enumerate(wanted):
                _check_contract_of(uow, payment.dealer_id, cn, f"allocations[{i}].contract_no")
                if payment.contract_no not in (None, cn) and _earmark_is_live(uow, payment.contract_no):
                    raise InvalidValue(f"allocations[{i}].contract_no",
                                       f"该笔收款指定用于合同{payment.contract_no}", code="credit.payment_earmarked")
                invoices = uow.credit.open_invoices(payment.dealer_id, cn)
                if amt > sum(i2.open_fen for i2 in invoices):
                    raise InvalidValue(f"allocations[{i}].amount_fen", f"核销金额超过合同{cn}的未收款金额",
                                       code="credit.allocation_exceeds_receivable")
                done += _apply_plan(uow, account, [payment], invoices, now, amt)
        else:
            done = _settle_dealer(uow, account, payment.dealer_id, now, [payment])
        _after_change(uow, account, now)
        result = _booked(payment, account, done)
        uow.commit()
    return result


def apply_prepayments(dealer_id: int, uow: CreditUnitOfWork, clock: Clock) -> int:
    """Apply all of a dealer's unapplied money to its open invoices, oldest due first; returns
    the amount applied."""
    require_role(uow.actor, *FINANCE_DECIDERS)
    now = clock()
    with uow:
        _visible_dealer(uow, dealer_id)
        account = uow.credit.lock_account(dealer_id)
        done = _settle_dealer(uow, account, dealer_id, now)
        _after_change(uow, account, now)
        applied = sum(a.amount_fen for a, _ in done)
        uow.commit()
    return applied


# ---------------------------------------------------------------------------------------------
# Invoices


@attrs.frozen
class IssueInvoice:
    contract_no: str
    amount_fen: int
    issued_on: dt.date | None = None
    vins: tuple[str, ...] = ()


@attrs.frozen
class InvoiceIssued:
    invoice_id: int
    invoice_no: str
    contract_no: str
    dealer_id: int
    amount_fen: int
    issued_on: dt.date
    due_on: dt.date
    open_fen: int
    vins: tuple[str, ...]
    state: str


def _invoice_out(inv: Invoice) -> InvoiceIssued:
    if inv.id is None:
        raise InvariantBroken("invoice has no id: not flushed")
    return InvoiceIssued(inv.id, inv.invoice_no, inv.contract_no, inv.dealer_id, inv.amount_fen, inv.issued_on,
                         inv.due_on, inv.open_fen, tuple(inv.vins), inv.state.value)


def _invoice_answer(out: InvoiceIssued) -> dict[str, Any]:
    return {**attrs.asdict(out), "issued_on": out.issued_on.isoformat(), "due_on": out.due_on.isoformat(),
            "vins": list(out.vins)}


def _invoice_replayed(answer: dict[str, Any]) -> InvoiceIssued:
    return InvoiceIssued(**{**answer, "issued_on": dt.date.fromisoformat(answer["issued_on"]),
                            "due_on": dt.date.fromisoformat(answer["due_on"]), "vins": tuple(answer["vins"])})


def issue_invoice(cmd: IssueInvoice, uow: CreditUnitOfWork, clock: Clock,
                  idempotency_key: str | None = None) -> InvoiceIssued:
    """开票: turns part of a contract's reserved value into a receivable due after the dealer's
    credit term. Money already received for the contract is applied at once. With an
    ``idempotency_key`` (a web form's token) the same key and request issue one invoice and
    answer the first one again; the same key with another request is a 422."""
    require_role(uow.actor, *INVOICERS)
    if idempotency_key is not None and not _KEY_RE.match(idempotency_key):
        raise InvalidValue("form_token", "表单已失效，请刷新页面后重新填写", code="idempotency.key_invalid")
    now = clock()
    today = business_day(now)
    positive_fen("amount_fen", cmd.amount_fen)
    vins: list[str] = []
    for i, raw in enumerate(cmd.vins):
        try:
            vin = Vin(raw).value
        except InvalidValue as e:
            raise InvalidValue(f"vins[{i}]", e.message, code=e.code) from None
        if vin in vins:
            raise InvalidValue(f"vins[{i}]", "车架号重复", code="credit.vin_duplicate")
        vins.append(vin)
    issued_on = cmd.issued_on or today
    if issued_on > today:
        raise InvalidValue("issued_on", "开票日期不能晚于今天", code="credit.date_in_future")
    if issued_on < today - dt.timedelta(days=366):
        raise InvalidValue("issued_on", "开票日期不能早于一年前", code="credit.date_too_old")
    with uow:
        if idempotency_key is not None:
            fingerprint = _fingerprint(uow.actor, cmd)
            seen = uow.credit.claim_idempotency_key(INVOICE_SCOPE, idempotency_key, fingerprint,
                                                    uow.actor.user_id, now)
            if seen is not None:
                if seen.fingerprint != fingerprint or seen.answer is None:
                    raise InvalidValue("form_token", "该表单已用于另一张发票，请刷新页面后重新填写",
                                       code="idempotency.key_reused")
                return _invoice_replayed(seen.answer)
        c, account = _locked_commitment(uow, cmd.contract_no)
        taken = uow.credit.vehicle_invoices(vins)
        if taken:
            vin = next(iter(taken))
            raise Conflict(f"车辆{vin}已开票（未作废）", code="credit.vin_already_invoiced", vin=vin)
        c.invoice(cmd.amount_fen, now)
        invoice = Invoice(
            invoice_no=_provisional_number("FP"), dealer_id=c.dealer_id,
            contract_no=c.contract_no, amount_fen=cmd.amount_fen, issued_on=issued_on,
            due_on=issued_on + dt.timedelta(days=account.term_days), issued_at=now, issued_by=uow.actor.username,
            vins=vins,
        )
        account.invoiced(cmd.amount_fen)
        uow.credit.add(invoice)
        uow.flush()
        uow.credit.link_vehicles(invoice)
        _apply_prepayments_to(uow, account, invoice, now)
        _after_change(uow, account, now)
        invoice.invoice_no = _gapless_number(uow, "FP", issued_on.year)
        uow.flush()
        result = _invoice_out(invoice)
        if idempotency_key is not None:
            uow.credit.store_answer(INVOICE_SCOPE, idempotency_key, _invoice_answer(result))
        uow.commit()
    return result


def void_invoice(invoice_id: int, reason: str, uow: CreditUnitOfWork, clock: Clock) -> InvoiceIssued:
    """作废: the invoice's value goes back to the contract's uninvoiced value, money applied to
    it goes back to prepayment — exposure does not change (it falls if the contract was
    cancelled)."""
    require_role(uow.actor, *INVOICERS)
    now = clock()
    with uow:
        seen = uow.credit.invoice(invoice_id)
        if seen is None:
            raise not_found("credit_invoice", "发票")
        account = uow.credit.lock_account(seen.dealer_id)
        invoice = uow.credit.invoice(invoice_id, refresh=True)
        if invoice is None:
            raise InvariantBroken(f"invoice {invoice_id} vanished under its account lock")
        c = uow.credit.commitment(invoice.contract_no, refresh=True)
        if c is None:
            raise InvariantBroken(f"commitment {invoice.contract_no} vanished under its account lock")
        allocations = uow.credit.allocations_of_invoice(invoice_id)
        amount = invoice.amount_fen
        open_fen, paid_fen = invoice.void(reason, uow.actor.username, now)
        for a in allocations:
            payment = uow.credit.payment(a.payment_id, refresh=True)
            if payment is None:
                raise InvariantBroken(f"payment {a.payment_id} vanished under its account lock")
            payment.unallocate(a.amount_fen)
            a.reversed_at = now
        account.invoice_voided(amount_fen=amount, open_fen=open_fen, paid_fen=paid_fen, contract_active=c.is_active)
        c.invoice_voided(amount, now)
        uow.credit.unlink_vehicles(invoice)
        _after_change(uow, account, now)
        result = _invoice_out(invoice)
        uow.commit()
    return result


# ---------------------------------------------------------------------------------------------
# Change requests (four eyes)


@attrs.frozen
class RequestCreditChange:
    dealer_id: int
    reason: str
    limit_fen: int | None = None
    term_days: int | None = None
    payment_cycle: str | None = None
    warning_threshold_permille: int | None = None
    status: str | None = None
    credit_grade: str | None = None  # 信用等级 A–D


@attrs.frozen
class ChangeRequestOut:
    id: int
    request_no: str
    dealer_id: int
    state: str
    changes: dict[str, Any]
    previous: dict[str, Any] | None


def _cr_out(r: CreditChangeRequest) -> ChangeRequestOut:
    if r.id is None:
        raise InvariantBroken("credit change request has no id: not flushed")
    return ChangeRequestOut(r.id, r.request_no, r.dealer_id, r.state.value, dict(r.changes),
                            dict(r.previous) if r.previous else None)


def request_credit_change(cmd: RequestCreditChange, uow: CreditUnitOfWork, clock: Clock) -> ChangeRequestOut:
    """Finance proposes new terms (limit, term, cycle, threshold, freeze/unfreeze) with a reason."""
    require_role(uow.actor, *FINANCE_DECIDERS)
    changes = {k: getattr(cmd, k) for k in ("limit_fen", "term_days", "payment_cycle",
                                            "warning_threshold_permille", "status", "credit_grade")
               if getattr(cmd, k) is not None}
    validate_term_changes(changes)
    if not cmd.reason or not cmd.reason.strip():
        raise InvalidValue("reason", "须说明调整原因", code="credit.reason_required")
    now = clock()
    with uow:
        _visible_dealer(uow, cmd.dealer_id)
        account = uow.credit.lock_account(cmd.dealer_id)
        pending = uow.credit.pending_change_request(cmd.dealer_id)
        if pending is not None and not pending.is_grade_proposal:
            raise Conflict("该经销商已有待审批的信用调整申请", code="credit.change_pending", dealer_id=cmd.dealer_id,
                           request_no=pending.request_no)
        request = CreditChangeRequest(
            request_no=uow.numbers.formatted("XY", year=business_day(now).year), dealer_id=account.dealer_id,
            changes=changes, reason=cmd.reason.strip(), requested_by_id=uow.actor.user_id,
            requested_by=uow.actor.username, requested_at=now,
        )
        if pending is not None:  # the value analysis' grade proposal gives way to a person's request
            pending.supersede(uow.actor.user_id, uow.actor.username, now, request.request_no)
        uow.credit.add(request)
        uow.flush()
        result = _cr_out(request)
        uow.commit()
    return result


def propose_credit_grade(dealer_id: int, grade: str, reason: str, uow: CreditUnitOfWork,
                         clock: Clock) -> ChangeRequestOut | None:
    """The dealer value analysis proposes a credit grade (信用等级, §2.1 6)) as a credit change request
    that finance approves (four eyes) or rejects like any other. Nothing is filed when the account
    already has that grade, has no credit account yet, a request is still pending (the pending
    one is decided first), or finance rejected this grade lately (``grade_proposal_due``). Finance's
    own request supersedes a pending proposal (``request_credit_change``).
    Admin or the system (the scheduled evaluation), marketing or finance."""
    require_role(uow.actor, Role.ADMIN, Role.MARKETING, *FINANCE_DECIDERS)
    changes = validate_term_changes({"credit_grade": grade})
    now = clock()
    with uow:
        _visible_dealer(uow, dealer_id)
        if uow.credit.find_account(dealer_id) is None:
            return None  # no credit granted yet: a grade qualifies granted terms, finance sets those first
        account = uow.credit.lock_account(dealer_id)
        last = uow.credit.pending_change_request(dealer_id) or uow.credit.last_grade_proposal(dealer_id)
        if not grade_proposal_due(grade, account.credit_grade, last, now):
            return None
        request = CreditChangeRequest(
            request_no=uow.numbers.formatted("XY", year=business_day(now).year), dealer_id=account.dealer_id,
            changes=changes, reason=reason.strip()[:500], requested_by_id=uow.actor.user_id,
            requested_by=uow.actor.username, requested_at=now,
        )
        uow.credit.add(request)
        uow.flush()
        result = _cr_out(request)
        uow.commit()
    return result


def approve_credit_change(request_id: int, note: str | None, uow: CreditUnitOfWork, clock: Clock) -> ChangeRequestOut:
    """A second finance/admin user approves: the terms take effect now. A limit below current
    exposure is refused (``credit.limit_below_exposure``, the request stays pending)."""
    require_role(uow.actor, *FINANCE_DECIDERS)
    now = clock()
    with uow:
        seen = uow.credit.change_request(request_id)
        if seen is None:
            raise not_found("credit_change_request", "信用调整申请")
        account = uow.credit.lock_account(seen.dealer_id)
        request = uow.credit.change_request(request_id, refresh=True)
        if request is None:
            raise InvariantBroken(f"credit change request {request_id} vanished under its account lock")
        request.approve(account, uow.actor.user_id, uow.actor.username, now, note)
        _after_change(uow, account, now)
        uow.flush()
        result = _cr_out(request)
        uow.commit()
    return result


def reject_credit_change(request_id: int, reason: str, uow: CreditUnitOfWork, clock: Clock) -> ChangeRequestOut:
    require_role(uow.actor, *FINANCE_DECIDERS)
    now = clock()
    with uow:
        seen = uow.credit.change_request(request_id)
        if seen is None:
            raise not_found("credit_change_request", "信用调整申请")
        uow.credit.lock_account(seen.dealer_id)
        request = uow.credit.change_request(request_id, refresh=True)
        if request is None:
            raise InvariantBroken(f"credit change request {request_id} vanished under its account lock")
        request.reject(uow.actor.user_id, uow.actor.username, now, reason)
        uow.flush()
        result = _cr_out(request)
        uow.commit()
    return result


# ---------------------------------------------------------------------------------------------
# Receivable reminders and dunning (a plain function the alert scheduler can call)


@attrs.frozen
class ReceivableAlert:
    """Something to tell about one contract's receivables on ``as_of``."""

    kind: str  # "due_soon" | "overdue"
    level: int  # 0 for due_soon; dunning level 1–3 for overdue
    dealer_id: int
    contract_no: str
    commitment_id: int | None
    invoice_nos: tuple[str, ...]
    amount_fen: int
    due_on: dt.date  # earliest due date concerned
    days_overdue: int
    as_of: dt.date

    @property
    def key(self) -> str:
        """Idempotency key: one alert per contract per level of an overdue episode (the episode
        is named by its oldest due date), one due-soon reminder per contract and due date."""
        ref = self.commitment_id if self.commitment_id is not None else self.contract_no
        if self.kind == "due_soon":
            return f"receivable.due_soon:{ref}:{self.due_on.isoformat()}"
        return f"receivable.dunning:{ref}:{self.due_on.isoformat()}:L{self.level}"


def receivable_alerts(uow: CreditUnitOfWork, today: dt.date) -> list[ReceivableAlert]:
    """Due-soon (within ``DUE_SOON_DAYS``) and overdue receivables grouped per contract, with
    the dunning level reached (1 from the first day overdue, 2 from 15, 3 from 30)."""
    rows = uow.credit.open_receivables(due_before=today + dt.timedelta(days=DUE_SOON_DAYS + 1))
    groups: dict[tuple[int, str], list[OpenReceivable]] = {}
    for r in rows:
        groups.setdefault((r.dealer_id, r.contract_no), []).append(r)
    alerts: list[ReceivableAlert] = []
    for (dealer_id, contract_no), items in sorted(groups.items()):
        overdue = [r for r in items if r.due_on < today]
        soon = [r for r in items if r.due_on >= today]
        cid = items[0].commitment_id
        if overdue:
            oldest = min(r.due_on for r in overdue)
            days = (today - oldest).days
            level = dunning_level(days)
            if level is None:
                raise InvariantBroken(f"{days} days overdue have no dunning level")
            alerts.append(ReceivableAlert("overdue", level, dealer_id, contract_no, cid,
                                          tuple(r.invoice_no for r in overdue), sum(r.open_fen for r in overdue),
                                          oldest, days, today))
        if soon:
            first = min(r.due_on for r in soon)
            alerts.append(ReceivableAlert("due_soon", 0, dealer_id, contract_no, cid,
                                          tuple(r.invoice_no for r in soon), sum(r.open_fen for r in soon),
                                          first, 0, today))
    return alerts


@attrs.frozen
class ReminderReport:
    alerts: int
    messages: int
    skipped: int  # no address for a recipient
    failed_dealers: tuple[int, ...]


def _day(d: dt.date) -> str:
    return d.strftime("%Y年%m月%d日")


def _notify_alert(uow: CreditUnitOfWork, a: ReceivableAlert, dealer: DealerRef) -> tuple[int, int]:
    sent = skipped = 0
    rep = uow.credit.user_contact(dealer.sales_rep_id) if dealer.sales_rep_id else None

    def send(template: str, variables: dict[str, object], recipient: str | None, suffix: str) -> None:
        nonlocal sent, skipped
        if _enqueue(uow, template, variables, recipient, f"{a.key}:{suffix}"):
            sent += 1
        else:
            skipped += 1

    mobile = dealer.contact_phone if dealer.contact_phone and dealer.contact_phone.startswith("1") else None
    rep_mobile = rep.phone if rep and rep.phone and rep.phone.startswith("1") else None
    docs = f"合同{a.contract_no}（发票{'、'.join(a.invoice_nos)}）"
    if a.kind == "due_soon":
        send("receivable.due_soon_dealer", {"dealer_name": dealer.legal_name, "contract_no": a.contract_no,
                                            "amount": yuan(a.amount_fen), "due_date": _day(a.due_on)}, mobile, "dealer")
        if rep is not None:
            send("receivable.due_soon_sales", {"sales_name": rep.name, "dealer_name": dealer.legal_name,
                                               "contract_no": a.contract_no, "amount": yuan(a.amount_fen),
                                               "due_date": _day(a.due_on)}, rep_mobile, "sales")
        return sent, skipped
    variables: dict[str, object] = {
        "dealer_name": dealer.legal_name, "as_of": _day(a.as_of), "days_overdue": a.days_overdue,
        "invoice_no": docs, "amount": yuan(a.amount_fen), "due_date": _day(a.due_on), "creditor_name": CREDITOR,
    }
    if a.level >= 2:
        variables["pay_by"] = _day(a.as_of + dt.timedelta(days=7 if a.level == 2 else 5))
    send(f"receivable.dunning_level_{a.level}", variables, dealer.contact_email, "dealer")
    if rep is not None:
        send("receivable.overdue_sales", {"sales_name": rep.name, "dealer_name": dealer.legal_name,
                                          "contract_no": a.contract_no, "amount": yuan(a.amount_fen),
                                          "days_overdue": a.days_overdue, "level": a.level}, rep_mobile, "sales")
    if a.level >= 3:
        for person in uow.credit.staff(Role.FINANCE):
            send("receivable.overdue_finance", {"recipient_name": person.name, "dealer_name": dealer.legal_name,
                                                "dealer_code": dealer.code, "documents": docs,
                                                "amount": yuan(a.amount_fen), "days_overdue": a.days_overdue,
                                                "due_date": _day(a.due_on)}, person.email, f"finance:{person.user_id}")
    return sent, skipped


def run_credit_reminders(uow_factory: Callable[[Principal], CreditUnitOfWork], now: dt.datetime) -> ReminderReport:
    """The scheduler's job: due-soon reminders and dunning notices (escalating by level) through
    the outbox, one transaction per dealer. Each contract remembers the level it reached in the
    current overdue episode, so a second run on the same day — or any later day at the same
    level — sends nothing new; the outbox's idempotency keys make even a racing run harmless."""
    today = business_day(now)
    with uow_factory(Principal.system()) as uow:
        alerts = receivable_alerts(uow, today)
    by_dealer: dict[int, list[ReceivableAlert]] = {}
    for a in alerts:
        by_dealer.setdefault(a.dealer_id, []).append(a)
    sent = skipped = 0
    failed: list[int] = []
    for dealer_id, items in by_dealer.items():
        try:
            with uow_factory(Principal.system()) as uow:
                dealer = uow.credit.dealer(dealer_id)
                if dealer is None:
                    continue
                uow.credit.lock_account(dealer_id)
                s = k = 0
                for a in items:
                    contract = uow.credit.commitment(a.contract_no, refresh=True)
                    if contract is None:
                        continue
                    if a.kind == "due_soon":
                        if not contract.needs_due_soon_reminder(a.due_on):
                            continue
                        contract.reminded(a.due_on)
                    else:
                        if not contract.needs_dunning(a.level, a.due_on):
                            continue
                        contract.dunned(a.level, a.due_on)
                    s1, k1 = _notify_alert(uow, a, dealer)
                    s, k = s + s1, k + k1
                uow.commit()
            sent, skipped = sent + s, skipped + k
        except DomainError:
            failed.append(dealer_id)
    return ReminderReport(len(alerts), sent, skipped, tuple(failed))


# ---------------------------------------------------------------------------------------------
# Credit evaluation


@attrs.frozen
class EvaluationOut:
    id: int
    dealer_id: int
    evaluated_at: dt.datetime
    score: int
    grade: str
    inputs: dict[str, Any]
    breakdown: dict[str, Any]
    formula: str


def _evaluate(uow: CreditUnitOfWork, dealer_id: int, now: dt.datetime) -> CreditEvaluation:
    today = business_day(now)
    start = today - dt.timedelta(days=365)
    account = uow.credit.lock_account(dealer_id)
    items = uow.credit.settlement_history(dealer_id, start, today)
    due_fen = sum(i.amount_fen for i in items)
    on_time = sum(i.amount_fen for i in items if i.paid_on is not None and i.paid_on <= i.due_on)
    overdue_rows = [r for r in uow.credit.open_receivables(dealer_id=dealer_id, due_before=today)]
    overdue_fen = sum(r.open_fen for r in overdue_rows)
    max_days = max(((today - r.due_on).days for r in overdue_rows), default=0)
    weighted = (sum(r.open_fen * (today - r.due_on).days for r in overdue_rows) // overdue_fen) if overdue_fen else 0
    inputs = EvaluationInputs(
        period_start=start, period_end=today, due_invoices=len({i.invoice_id for i in items}), due_fen=due_fen,
        on_time_fen=on_time, overdue_fen=overdue_fen, max_days_overdue=max_days, weighted_days_overdue=weighted,
        limit_fen=account.limit_fen, exposure_fen=account.exposure_fen,
    )
    s = score_credit(inputs)
    plain_inputs = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in attrs.asdict(inputs).items()}
    return CreditEvaluation(dealer_id=dealer_id, evaluated_at=now, score=s.score, grade=s.grade,
                            inputs=plain_inputs, breakdown=attrs.asdict(s), formula=FORMULA)


def _evaluation_out(e: CreditEvaluation) -> EvaluationOut:
    if e.id is None:
        raise InvariantBroken("credit evaluation has no id: not flushed")
    return EvaluationOut(e.id, e.dealer_id, e.evaluated_at, e.score, e.grade, dict(e.inputs), dict(e.breakdown),
                         e.formula)


def evaluate_dealer_credit(dealer_id: int, uow: CreditUnitOfWork, clock: Clock) -> EvaluationOut:
    """Score one dealer now (punctuality, overdue days, utilisation) and keep it with its inputs."""
    require_role(uow.actor, *FINANCE_DECIDERS)
    with uow:
        _visible_dealer(uow, dealer_id)
        evaluation = _evaluate(uow, dealer_id, clock())
        uow.credit.add(evaluation)
        uow.flush()
        out = _evaluation_out(evaluation)
        uow.commit()
    return out


def run_credit_evaluations(uow_factory: Callable[[Principal], CreditUnitOfWork], now: dt.datetime) -> int:
    """The periodic job: evaluate every dealer that has a credit account; returns how many."""
    with uow_factory(Principal.system()) as uow:
        dealer_ids = uow.credit.dealers_with_accounts()
    for dealer_id in dealer_ids:
        with uow_factory(Principal.system()) as uow:
            uow.credit.add(_evaluate(uow, dealer_id, now))
            uow.commit()
    return len(dealer_ids)


# ---------------------------------------------------------------------------------------------
# Reconciliation


@attrs.frozen
class Reconciliation:
    dealer_id: int
    maintained: dict[str, int]
    from_facts: dict[str, int]

    @property
    def consistent(self) -> bool:
        return self.maintained == self.from_facts


def reconcile_account(dealer_id: int, uow: CreditUnitOfWork) -> Reconciliation:
    """Compare the account's maintained sums with sums over the facts (read-only check)."""
    require_role(uow.actor, *FINANCE_DECIDERS)
    with uow:
        _visible_dealer(uow, dealer_id)
        account = uow.credit.lock_account(dealer_id)
        facts = uow.credit.exposure_from_facts(dealer_id)
        result = Reconciliation(dealer_id, attrs.asdict(account.parts), attrs.asdict(facts))
    return result


__all__ = [
    "reserve_for_contract", "adjust_contract", "cancel_contract",
    "reopen_contract", "check_vehicle_release", "invoice_status_of", "book_erp_payment", "record_payment",
    "allocate_payment", "apply_prepayments", "issue_invoice", "void_invoice", "request_credit_change", "propose_credit_grade",
    "approve_credit_change", "reject_credit_change", "receivable_alerts", "run_credit_reminders",
    "evaluate_dealer_credit", "run_credit_evaluations", "reconcile_account",
]


class CreditReleasePolicy:
    """The gate's ``VehicleReleasePolicy`` (application/ports/credit_gate.py): finance approval of a
    gate pass, dispatch handover and shipment departure all ask :func:`check_vehicle_release`,
    in their own transaction — the one credit rule, no second copy at the gate."""

    def check_release(self, uow: ReleaseCheckUnitOfWork, dealer_id: int, contract_no: str | None, vins: list[str]) -> None:
        if not contract_no:
            raise InvalidValue("contract_no", "放行车辆须对应合同，才能核实回款与信用", code="credit.contract_required")
        check_vehicle_release(uow, dealer_id, contract_no, vins)
