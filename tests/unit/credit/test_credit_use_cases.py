"""The credit rule and use cases against the in-memory unit of work (the twin other contexts'
unit tests use): the finance review's reservation inside the caller's own transaction, money
moving through invoice and payment, idempotent postings, reminders and four eyes."""

from __future__ import annotations

import datetime as dt

import pytest

from dealercrm.adapters.memory import memory_uow_factory
from dealercrm.application import channel as ch
from dealercrm.application import credit
from dealercrm.application.workflow import WorkflowHandlers
from dealercrm.domain.errors import BusinessRuleViolation, InvalidValue, NotFound
from dealercrm.domain.identity import Principal, Role
from tests.fakes import FakeClock, PlainHasher

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
FIN_A = Principal(user_id=11, username="fin_a", role=Role.FINANCE)
FIN_B = Principal(user_id=12, username="fin_b", role=Role.FINANCE)
W = 10_000_00


@pytest.fixture
def world():
    clock = FakeClock(NOW)
    uow = memory_uow_factory(clock=clock, workflow_handlers=WorkflowHandlers.of(ch.DEALER_REVIEW_HANDLERS))
    reg = ch.register_dealer(ch.RegisterDealer(
        legal_name="郑州宏达专用车销售有限公司", uscc="91350100M000100Y43", region="华中",
        address=ch.AddressIn("河南省", "郑州市", "经开区88号"),
        contact=ch.ContactIn(name="王建国", title="总经理", phone="13800138000", email="wang@hongda.example.cn"),
        applicant_username="hongda", applicant_password="Passw0rd123"), uow(FIN_A), clock, PlainHasher())
    request = credit.request_credit_change(credit.RequestCreditChange(reg.dealer_id, "年度授信", limit_fen=100 * W),
                                           uow(FIN_A), clock)
    credit.approve_credit_change(request.id, None, uow(FIN_B), clock)
    return uow, clock, reg.dealer_id


def test_the_finance_review_reserves_inside_its_own_unit_of_work(world):
    uow, clock, dealer_id = world

    with uow(FIN_A) as u:
        r = credit.reserve_for_contract(u, dealer_id, "HT-2026-000001", 60 * W)
        u.commit()

    assert (r.state, r.exposure_fen, r.available_fen) == ("reserved", 60 * W, 40 * W)
    assert uow.store.credit.accounts[dealer_id].uninvoiced_fen == 60 * W


def test_a_rolled_back_review_leaves_no_reservation(world):
    uow, clock, dealer_id = world

    with uow(FIN_A) as u:
        credit.reserve_for_contract(u, dealer_id, "HT-2026-000002", 60 * W)
        # the orders context fails later in the same transaction and never commits

    assert uow.store.credit.accounts[dealer_id].uninvoiced_fen == 0
    assert uow.store.credit.commitments == {}


def test_an_unknown_dealer_is_not_found(world):
    uow, clock, _ = world

    with uow(FIN_A) as u, pytest.raises(NotFound):
        credit.reserve_for_contract(u, 999, "HT-2026-000003", W)


def test_money_moves_from_reserved_to_receivable_to_paid(world):
    uow, clock, dealer_id = world
    with uow(FIN_A) as u:
        credit.reserve_for_contract(u, dealer_id, "HT-2026-000004", 60 * W)
        u.commit()

    invoice = credit.issue_invoice(credit.IssueInvoice("HT-2026-000004", 60 * W), uow(FIN_A), clock)
    answer = credit.record_payment(credit.RecordPayment(dealer_id, 70 * W, NOW.date()), "mem-pay-00001",
                                   uow(FIN_A), clock)
    replay = credit.record_payment(credit.RecordPayment(dealer_id, 70 * W, NOW.date()), "mem-pay-00001",
                                   uow(FIN_A), clock)

    account = uow.store.credit.accounts[dealer_id]
    assert invoice.due_on == dt.date(2026, 4, 1)
    assert answer == replay and answer["allocations"] == [
        {"invoice_no": "FP-2026-000001", "contract_no": "HT-2026-000004", "amount_fen": 60 * W}]
    assert (account.receivable_fen, account.uninvoiced_fen, account.prepayment_fen) == (0, 0, 10 * W)
    with uow(FIN_A) as u:
        assert u.credit.exposure_from_facts(dealer_id) == account.parts
    with pytest.raises(InvalidValue) as reused:
        credit.record_payment(credit.RecordPayment(dealer_id, 71 * W, NOW.date()), "mem-pay-00001",
                              uow(FIN_A), clock)
    assert reused.value.code == "idempotency.key_reused"


def test_overdue_blocks_and_reminders_go_out_once_per_level(world):
    uow, clock, dealer_id = world
    with uow(FIN_A) as u:
        credit.reserve_for_contract(u, dealer_id, "HT-2026-000005", 30 * W)
        u.commit()
    credit.issue_invoice(credit.IssueInvoice("HT-2026-000005", 30 * W, NOW.date() - dt.timedelta(days=40)),
                         uow(FIN_A), clock)

    with uow(FIN_A) as u, pytest.raises(BusinessRuleViolation) as blocked:
        credit.reserve_for_contract(u, dealer_id, "HT-2026-000006", W)
    first = credit.run_credit_reminders(uow, clock())
    second = credit.run_credit_reminders(uow, clock())

    assert blocked.value.code == "credit.overdue"
    assert (first.alerts, first.messages, second.messages) == (1, 1, 0)
    assert [m["template_code"] for m in uow.store.outbox.values()] == ["receivable.dunning_level_1"]


def test_a_change_request_cannot_be_approved_by_its_requester(world):
    uow, clock, dealer_id = world
    request = credit.request_credit_change(credit.RequestCreditChange(dealer_id, "冻结", status="frozen"),
                                           uow(FIN_A), clock)

    with pytest.raises(BusinessRuleViolation) as same:
        credit.approve_credit_change(request.id, None, uow(FIN_A), clock)
    credit.approve_credit_change(request.id, "逾期未还", uow(FIN_B), clock)

    assert same.value.code == "credit.four_eyes"
    assert uow.store.credit.accounts[dealer_id].status.value == "frozen"
