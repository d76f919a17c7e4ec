"""The one credit rule on real databases: what blocks a reservation (limit, frozen, overdue),
finance overrides with a recorded reason, price changes and reopening going through the same
check, the gate's release check, ERP payments booked once, and a caller that catches a refusal
and commits its own work finding nothing of ours written."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from dealercrm.adapters.db.credit_tables import credit_commitments, credit_overrides
from dealercrm.application import credit
from dealercrm.application.erp_sync import ErpEventApplier, InMemoryErpSyncTarget, SyncOutcome
from dealercrm.application.ports.erp import ErpPaymentReceived
from dealercrm.domain.errors import BusinessRuleViolation, Conflict, IllegalTransition, NotFound, PermissionDenied
from dealercrm.domain.values import Money, Vin

W = 10_000_00  # ¥10,000


def vin(n: int) -> str:
    return Vin.build("LZZ", "1CCND", "P", "W", f"{n:06d}").value


def _count(crm, table) -> int:
    with crm.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def _overdue_dealer(kit, crm) -> int:
    """A dealer with ¥50,000 invoiced 45 days ago on a 30-day term: 15 days overdue."""
    d = kit.add_dealer()
    kit.grant(d, 100 * W, term_days=30)
    kit.reserve(d, "HT-OD-1", 50 * W)
    credit.issue_invoice(credit.IssueInvoice("HT-OD-1", 5 * W, kit.clock().date() - dt.timedelta(days=45)),
                         crm.uow(kit.invoicer), kit.clock)
    return d


def test_a_refused_reservation_leaves_nothing_behind_even_if_the_caller_commits(crm, kit):
    d = kit.add_dealer()
    kit.grant(d, 10 * W)

    with crm.uow(kit.fin_a) as uow:
        with pytest.raises(BusinessRuleViolation) as refused:
            credit.reserve_for_contract(uow, d, "HT-X-1", 11 * W)
        uow.commit()  # the orders context records "refused by credit" on its own contract and commits

    assert refused.value.code == "credit.limit_exceeded"
    assert refused.value.details["available_fen"] == 10 * W
    assert _count(crm, credit_commitments) == 0
    assert kit.account(d).exposure_fen == 0


def test_a_retried_approval_reserves_once_and_a_different_amount_is_a_conflict(crm, kit):
    d = kit.add_dealer()
    kit.grant(d, 10 * W)

    kit.reserve(d, "HT-R-1", 4 * W)
    again = kit.reserve(d, "HT-R-1", 4 * W)

    assert again.exposure_fen == 4 * W
    with pytest.raises(Conflict) as other:
        kit.reserve(d, "HT-R-1", 5 * W)
    assert other.value.code == "credit.contract_already_reserved"


def test_a_dealer_without_a_credit_line_can_only_order_what_it_prepaid(crm, kit):
    d = kit.add_dealer()
    with pytest.raises(BusinessRuleViolation):
        kit.reserve(d, "HT-P-1", 3 * W)
    credit.record_payment(credit.RecordPayment(d, 3 * W, kit.clock().date()), "prepay-0000001",
                          crm.uow(kit.fin_a), kit.clock)

    r = kit.reserve(d, "HT-P-1", 3 * W)

    assert (r.limit_fen, r.exposure_fen, r.available_fen) == (0, 0, 0)


def test_a_frozen_account_blocks_reservations_until_unfrozen(crm, kit):
    d = kit.add_dealer()
    kit.grant(d, 10 * W)
    kit.grant(d, 10 * W, status="frozen")

    with pytest.raises(BusinessRuleViolation) as frozen:
        kit.reserve(d, "HT-F-1", W)
    kit.grant(d, 10 * W, status="active")

    assert frozen.value.code == "credit.account_frozen"
    assert kit.reserve(d, "HT-F-1", W).exposure_fen == W


def test_overdue_receivables_block_new_approvals_unless_finance_overrides_with_a_reason(crm, kit):
    d = _overdue_dealer(kit, crm)

    with pytest.raises(BusinessRuleViolation) as blocked:
        kit.reserve(d, "HT-OD-2", W)
    with pytest.raises(PermissionDenied):
        with crm.uow(kit.sales) as uow:
            credit.reserve_for_contract(uow, d, "HT-OD-2", W, override_reason="销售担保")
    r = kit.reserve(d, "HT-OD-2", W, override_reason="客户已出具付款承诺函")

    assert blocked.value.code == "credit.overdue"
    assert blocked.value.details["days_overdue"] == 15
    assert r.overridden
    with crm.engine.connect() as conn:
        row = conn.execute(select(credit_overrides)).one()
    assert (row.contract_no, row.action, row.reason, row.actor, row.overdue_fen) == (
        "HT-OD-2", "reserve", "客户已出具付款承诺函", "fin_a", 5 * W)


def test_raising_a_price_runs_the_same_check_and_lowering_it_releases_credit(crm, kit):
    d = kit.add_dealer()
    kit.grant(d, 10 * W)
    kit.reserve(d, "HT-A-1", 6 * W)
    kit.reserve(d, "HT-A-2", 3 * W)

    with crm.uow(kit.fin_a) as uow:
        with pytest.raises(BusinessRuleViolation) as too_much:
            credit.adjust_contract(uow, "HT-A-1", 8 * W)
    with crm.uow(kit.fin_a) as uow:
        credit.adjust_contract(uow, "HT-A-2", W)
        uow.commit()
    with crm.uow(kit.fin_a) as uow:
        raised = credit.adjust_contract(uow, "HT-A-1", 9 * W)
        uow.commit()

    assert too_much.value.code == "credit.limit_exceeded"
    assert raised.exposure_fen == 10 * W and raised.available_fen == 0


def test_cancel_releases_and_reopen_reserves_again_through_the_check(crm, kit):
    d = kit.add_dealer()
    kit.grant(d, 10 * W)
    kit.reserve(d, "HT-C-1", 6 * W)
    credit.issue_invoice(credit.IssueInvoice("HT-C-1", 2 * W), crm.uow(kit.invoicer), kit.clock)
    with crm.uow(kit.fin_a) as uow:
        cancelled = credit.cancel_contract(uow, "HT-C-1", reason="经销商撤单")
        uow.commit()
    kit.reserve(d, "HT-C-2", 7 * W)

    with crm.uow(kit.fin_a) as uow:
        with pytest.raises(BusinessRuleViolation) as no_room:
            credit.reopen_contract(uow, "HT-C-1")
    with crm.uow(kit.fin_a) as uow:
        credit.cancel_contract(uow, "HT-C-2")
        reopened = credit.reopen_contract(uow, "HT-C-1")
        uow.commit()
    with crm.uow(kit.fin_a) as uow:
        with pytest.raises(IllegalTransition):
            credit.reopen_contract(uow, "HT-C-1")

    assert cancelled.exposure_fen == 2 * W  # the invoiced part stays a receivable
    assert no_room.value.code == "credit.limit_exceeded"
    assert (reopened.state, reopened.uninvoiced_fen, reopened.exposure_fen) == ("invoiced_part", 4 * W, 6 * W)
    assert kit.account(d).parts == kit.facts(d)


def test_the_gate_releases_paid_vehicles_always_and_unpaid_ones_only_within_good_credit(crm, kit):
    d = _overdue_dealer(kit, crm)
    credit.issue_invoice(credit.IssueInvoice("HT-OD-1", 3 * W, vins=(vin(1),)), crm.uow(kit.invoicer), kit.clock)
    credit.issue_invoice(credit.IssueInvoice("HT-OD-1", 3 * W, vins=(vin(2),)), crm.uow(kit.invoicer), kit.clock)
    credit.record_payment(credit.RecordPayment(d, 3 * W, kit.clock().date(), allocation="explicit",
                                               allocations=(credit.AllocationIn("HT-OD-1", 3 * W),)),
                          "gate-pay-000001", crm.uow(kit.fin_a), kit.clock)
    # oldest due first: this settles the rest of the overdue invoice, then vin(1)'s invoice
    credit.record_payment(credit.RecordPayment(d, 5 * W, kit.clock().date()), "gate-pay-000002",
                          crm.uow(kit.fin_a), kit.clock)

    with crm.uow(kit.fin_a) as uow:
        statuses = credit.invoice_status_of(uow, [vin(1), vin(2), vin(3)])
        paid = credit.check_vehicle_release(uow, d, "HT-OD-1", [vin(1)])
    assert {v: s.label for v, s in statuses.items()} == {vin(1): "已开票已收款", vin(2): "已开票未收款", vin(3): "未开票"}
    assert paid.vins[0].basis == "paid"

    clock_before = kit.clock.now
    kit.clock.advance(40)  # vin(2)'s invoice is now overdue
    with crm.uow(kit.fin_a) as uow:
        with pytest.raises(BusinessRuleViolation) as blocked:
            credit.check_vehicle_release(uow, d, "HT-OD-1", [vin(2)])
    with crm.uow(kit.fin_a) as uow:
        allowed = credit.check_vehicle_release(uow, d, "HT-OD-1", [vin(2)], override_reason="总经理特批，次日回款")
        uow.commit()
    with crm.uow(kit.fin_a) as uow:
        with pytest.raises(NotFound):
            credit.check_vehicle_release(uow, d, "HT-NOPE", [vin(2)])
    kit.clock.now = clock_before

    assert blocked.value.code == "credit.overdue"
    assert allowed.overridden and allowed.vins[0].basis == "credit"
    assert _count(crm, credit_overrides) == 1


def test_erp_payments_are_booked_once_through_the_sync_applier(crm, kit):
    d = kit.add_dealer()
    kit.grant(d, 10 * W)
    kit.reserve(d, "HT-E-1", 5 * W)
    credit.issue_invoice(credit.IssueInvoice("HT-E-1", 5 * W), crm.uow(kit.invoicer), kit.clock)
    with crm.uow(kit.fin_a) as uow:
        code = uow.credit.dealer(d).code

    class CreditBookingTarget(InMemoryErpSyncTarget):
        """What the lead wires: ``on_payment`` books through the credit context."""

        def on_payment(self, event: ErpPaymentReceived) -> None:
            with crm.uow(kit.fin_a) as uow:
                credit.book_erp_payment(uow, event.erp_payment_id, event.dealer_code, event.contract_no,
                                        event.amount.fen, event.received_at)
                uow.commit()

    at = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)

    def event(event_id: str, seq: int, erp_id: str, dealer_code: str = code, contract_no: str | None = "HT-E-1"):
        return ErpPaymentReceived(event_id=event_id, seq=seq, tracking_no=None, contract_no=contract_no,
                                  occurred_at=at, erp_payment_id=erp_id, dealer_code=dealer_code,
                                  amount=Money(2 * W), received_at=at)

    target = CreditBookingTarget()
    applier = ErpEventApplier(target)
    outcomes = [applier.apply(event("e1", 1, "ERP-PAY-1")), applier.apply(event("e2", 2, "ERP-PAY-1")),
                applier.apply(event("e3", 3, "ERP-PAY-2", dealer_code="DL-NOPE")),
                applier.apply(event("e4", 4, "ERP-PAY-3", contract_no="HT-NOPE"))]

    assert outcomes == [SyncOutcome.APPLIED, SyncOutcome.APPLIED, SyncOutcome.REJECTED, SyncOutcome.REJECTED]
    assert [r.code for r in target.rejected] == ["credit.dealer_unknown", "credit.contract_unknown"]
    account = kit.account(d)
    assert (account.receivable_fen, account.prepayment_fen) == (3 * W, 0)
    with crm.uow(kit.fin_a) as uow:
        again = credit.book_erp_payment(uow, "ERP-PAY-1", d, "HT-E-1", 2 * W, at)
    assert again.duplicate and again.allocations[0].amount_fen == 2 * W


def test_money_received_for_a_contract_is_applied_when_it_is_invoiced(crm, kit):
    d = kit.add_dealer()
    kit.grant(d, 10 * W)
    kit.reserve(d, "HT-D-1", 8 * W)
    kit.reserve(d, "HT-D-2", 2 * W)
    credit.record_payment(credit.RecordPayment(d, 3 * W, kit.clock().date(), contract_no="HT-D-1"),
                          "deposit-00000001", crm.uow(kit.fin_a), kit.clock)
    credit.issue_invoice(credit.IssueInvoice("HT-D-2", 2 * W), crm.uow(kit.invoicer), kit.clock)
    assert kit.account(d).receivable_fen == 2 * W  # the deposit is for HT-D-1 only

    credit.issue_invoice(credit.IssueInvoice("HT-D-1", 4 * W), crm.uow(kit.invoicer), kit.clock)

    account = kit.account(d)
    assert (account.receivable_fen, account.uninvoiced_fen, account.prepayment_fen) == (3 * W, 4 * W, 0)
    assert account.parts == kit.facts(d)


def test_voiding_an_invoice_puts_its_payments_back_to_prepayment_without_moving_exposure(crm, kit):
    d = kit.add_dealer()
    kit.grant(d, 10 * W)
    kit.reserve(d, "HT-V-1", 5 * W)
    inv = credit.issue_invoice(credit.IssueInvoice("HT-V-1", 5 * W, vins=(vin(9),)), crm.uow(kit.invoicer),
                               kit.clock)
    credit.record_payment(credit.RecordPayment(d, 2 * W, kit.clock().date()), "void-pay-000001",
                          crm.uow(kit.fin_a), kit.clock)
    before = kit.account(d).exposure_fen

    voided = credit.void_invoice(inv.invoice_id, "税号错误，红冲重开", crm.uow(kit.invoicer), kit.clock)

    account = kit.account(d)
    assert voided.state == "voided"
    assert account.exposure_fen == before == 3 * W
    assert (account.receivable_fen, account.uninvoiced_fen, account.prepayment_fen) == (0, 5 * W, 2 * W)
    with crm.uow(kit.fin_a) as uow:
        assert credit.invoice_status_of(uow, [vin(9)])[vin(9)].label == "未开票"
    with pytest.raises(IllegalTransition):
        credit.void_invoice(inv.invoice_id, "再次作废", crm.uow(kit.invoicer), kit.clock)


def test_money_earmarked_for_a_cancelled_contract_becomes_free_for_other_receivables(crm, kit):
    d = kit.add_dealer()
    kit.grant(d, 10 * W)
    kit.reserve(d, "HT-M-1", 4 * W)
    kit.reserve(d, "HT-M-2", 3 * W)
    credit.record_payment(credit.RecordPayment(d, 2 * W, kit.clock().date(), contract_no="HT-M-1"),
                          "earmark-000001", crm.uow(kit.fin_a), kit.clock)
    credit.issue_invoice(credit.IssueInvoice("HT-M-2", 3 * W), crm.uow(kit.invoicer), kit.clock)
    with crm.uow(kit.fin_a) as uow:
        credit.cancel_contract(uow, "HT-M-1", reason="撤单")
        uow.commit()

    applied = credit.apply_prepayments(d, crm.uow(kit.fin_a), kit.clock)

    account = kit.account(d)
    assert applied == 2 * W
    assert (account.receivable_fen, account.prepayment_fen) == (W, 0)
    assert account.parts == kit.facts(d)


def test_an_unusable_notification_address_never_blocks_a_credit_decision(crm, kit):
    d = kit.add_dealer(email="boss@localhost")  # accepted by the channel, refused by the mail outbox
    kit.grant(d, 10 * W, warning_threshold_permille=500)

    r = kit.reserve(d, "HT-N-1", 6 * W)

    assert r.exposure_fen == 6 * W
    assert kit.account(d).warning_active
