"""The credit domain without a database: the account's parts and the one admission check,
commitment life cycle, allocation planning, four-eyes change requests, scores and buckets."""

from __future__ import annotations

import datetime as dt

import pytest

from dealercrm.domain.credit import (
    AccountStatus,
    ChangeRequestState,
    Commitment,
    CommitmentState,
    CreditAccount,
    CreditChangeRequest,
    EvaluationInputs,
    Invoice,
    OverdueSummary,
    Payment,
    PaymentMethod,
    PaymentSource,
    admit,
    ageing_bucket,
    dunning_level,
    grade_proposal_due,
    plan_allocations,
    score_credit,
    yuan,
)
from dealercrm.domain.errors import BusinessRuleViolation, IllegalTransition, InvalidValue, PermissionDenied
from dealercrm.domain.identity import Principal, Role

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 2)


def account(limit: int = 1000, **kw) -> CreditAccount:
    return CreditAccount(dealer_id=1, limit_fen=limit, **kw)


def invoice(amount: int, due: dt.date, n: int = 1) -> Invoice:
    return Invoice(invoice_no=f"FP-{n}", dealer_id=1, contract_no="HT-1", amount_fen=amount, issued_on=due,
                   due_on=due, issued_at=NOW, issued_by="kp")


def payment(amount: int, contract_no: str | None = None) -> Payment:
    return Payment(payment_no="SK-1", dealer_id=1, amount_fen=amount, received_on=TODAY,
                   method=PaymentMethod.BANK_TRANSFER, source=PaymentSource.FINANCE, recorded_at=NOW,
                   recorded_by="fin", contract_no=contract_no)


def test_exposure_is_receivable_plus_uninvoiced_minus_prepayment():
    a = account(1000)

    a.reserve(600, contract_no="HT-1")
    a.invoiced(200)
    a.received(150)
    a.applied(100)

    assert (a.receivable_fen, a.uninvoiced_fen, a.prepayment_fen) == (100, 400, 50)
    assert a.exposure_fen == 450 and a.available_fen == 550 and a.usage_permille == 450


def test_a_reservation_beyond_available_credit_is_refused_with_the_numbers():
    a = account(1000)
    a.reserve(900, contract_no="HT-1")

    with pytest.raises(BusinessRuleViolation) as refused:
        a.reserve(101, contract_no="HT-2")

    assert refused.value.code == "credit.limit_exceeded"
    assert refused.value.details == {"dealer_id": 1, "contract_no": "HT-2", "limit_fen": 1000, "exposure_fen": 900,
                                     "available_fen": 100, "requested_fen": 101, "action": "reserve"}
    assert a.uninvoiced_fen == 900


def test_prepayment_makes_room_and_a_frozen_account_admits_nothing():
    a = account(0)
    a.received(500)
    a.reserve(500, contract_no="HT-1")
    a.status = AccountStatus.FROZEN

    with pytest.raises(BusinessRuleViolation) as frozen:
        admit(a, 0, contract_no="HT-1", action="release")

    assert frozen.value.code == "credit.account_frozen"


def test_voiding_moves_value_back_without_changing_exposure_unless_the_contract_is_gone():
    a = account(1000)
    a.reserve(600, contract_no="HT-1")
    a.invoiced(600)
    a.received(200)
    a.applied(200)
    before = a.exposure_fen

    a.invoice_voided(amount_fen=600, open_fen=400, paid_fen=200, contract_active=True)

    assert a.exposure_fen == before == 400
    b = account(1000)
    b.reserve(600, contract_no="HT-1")
    b.invoiced(600)
    b.invoice_voided(amount_fen=600, open_fen=600, paid_fen=0, contract_active=False)
    assert b.exposure_fen == 0


def test_the_limit_cannot_be_lowered_below_exposure():
    a = account(1000)
    a.reserve(700, contract_no="HT-1")

    with pytest.raises(BusinessRuleViolation) as refused:
        a.change_terms({"limit_fen": 699})
    previous = a.change_terms({"limit_fen": 700, "term_days": 45, "payment_cycle": "quarterly"})

    assert refused.value.code == "credit.limit_below_exposure"
    assert previous == {"limit_fen": 1000, "term_days": 30, "payment_cycle": "monthly"}
    assert (a.limit_fen, a.term_days) == (700, 45)


@pytest.mark.parametrize("changes, field", [
    ({"limit_fen": -1}, "limit_fen"), ({"term_days": 400}, "term_days"),
    ({"warning_threshold_permille": 0}, "warning_threshold_permille"), ({"payment_cycle": "daily"}, "payment_cycle"),
    ({"status": "closed"}, "status"), ({"exposure_fen": 5}, "exposure_fen"), ({}, "changes"),
])
def test_bad_terms_name_the_field(changes, field):
    with pytest.raises(InvalidValue) as bad:
        account().change_terms(changes) if changes else CreditChangeRequest(
            request_no="XY-1", dealer_id=1, changes=changes, reason="r", requested_by_id=1, requested_by="a",
            requested_at=NOW)

    assert bad.value.field == field


def test_the_warning_fires_once_per_crossing_and_rearms_below_the_threshold():
    a = account(1000, warning_threshold_permille=800)
    a.reserve(700, contract_no="HT-1")
    assert a.evaluate_warning() is None

    a.reserve(150, contract_no="HT-2")
    first = a.evaluate_warning()
    a.reserve(50, contract_no="HT-3")
    again = a.evaluate_warning()
    a.received(200)
    rearmed = a.evaluate_warning()
    a.reserve(200, contract_no="HT-4")
    second = a.evaluate_warning()

    assert first is not None and (first.crossing, first.usage_permille) == (1, 850)
    assert again is None and rearmed is None
    assert second is not None and second.crossing == 2


def test_a_commitment_moves_through_its_states_with_its_invoices():
    c = Commitment(contract_no="HT-1", dealer_id=1, amount_fen=1000, reserved_at=NOW)

    c.invoice(400, NOW)
    assert c.state is CommitmentState.INVOICED_PART and c.uninvoiced_fen == 600
    c.invoice(600, NOW)
    assert c.state is CommitmentState.RELEASED and c.uninvoiced_fen == 0
    c.invoice_voided(600, NOW)
    assert c.state is CommitmentState.INVOICED_PART
    with pytest.raises(BusinessRuleViolation):
        c.invoice(601, NOW)
    released = c.cancel("撤单", NOW)
    assert released == 600 and c.uninvoiced_fen == 0
    with pytest.raises(IllegalTransition):
        c.invoice(1, NOW)
    assert c.reopen(NOW) == 600 and c.state is CommitmentState.INVOICED_PART


def test_dunning_is_due_again_only_at_a_higher_level_or_in_a_new_overdue_episode():
    c = Commitment(contract_no="HT-1", dealer_id=1, amount_fen=1000, reserved_at=NOW)
    first_due = dt.date(2026, 2, 1)

    assert c.needs_dunning(1, first_due)
    c.dunned(1, first_due)
    assert not c.needs_dunning(1, first_due)
    assert c.needs_dunning(2, first_due)
    assert c.needs_dunning(1, dt.date(2026, 2, 20))


def test_allocation_fills_the_oldest_due_invoices_first_from_the_oldest_money():
    old, new = invoice(300, dt.date(2026, 1, 1), 1), invoice(500, dt.date(2026, 2, 1), 2)
    p1, p2 = payment(200), payment(400)

    plan = plan_allocations([p1, p2], [old, new])

    assert [(a.payment is p1, a.invoice is old, a.amount_fen) for a in plan] == [
        (True, True, 200), (False, True, 100), (False, False, 300)]
    assert sum(a.amount_fen for a in plan_allocations([p2], [old, new], limit_fen=350)) == 350


def test_change_requests_need_a_second_person():
    r = CreditChangeRequest(request_no="XY-1", dealer_id=1, changes={"limit_fen": 500}, reason="授信",
                            requested_by_id=7, requested_by="fin_a", requested_at=NOW)
    a = account(0)

    with pytest.raises(BusinessRuleViolation) as same:
        r.approve(a, 7, "fin_a", NOW)
    r.approve(a, 8, "fin_b", NOW, "同意")

    assert same.value.code == "credit.four_eyes"
    assert r.state is ChangeRequestState.APPROVED and r.previous == {"limit_fen": 0} and a.limit_fen == 500
    with pytest.raises(IllegalTransition):
        r.reject(9, "admin", NOW, "晚了")


def _proposal(grade: str = "C") -> CreditChangeRequest:
    return CreditChangeRequest(request_no="XY-2", dealer_id=1, changes={"credit_grade": grade}, reason="价值评估建议",
                               requested_by_id=None, requested_by="system", requested_at=NOW)


def test_a_grade_proposal_gives_way_to_a_persons_request_but_a_persons_request_does_not():
    proposal = _proposal()
    proposal.supersede(7, "fin_a", NOW, "XY-3")
    assert proposal.state is ChangeRequestState.SUPERSEDED and "XY-3" in (proposal.decision_note or "")
    with pytest.raises(IllegalTransition):
        proposal.supersede(7, "fin_a", NOW, "XY-4")

    persons = CreditChangeRequest(request_no="XY-5", dealer_id=1, changes={"credit_grade": "B"}, reason="手工",
                                  requested_by_id=8, requested_by="fin_b", requested_at=NOW)
    with pytest.raises(BusinessRuleViolation) as blocked:
        persons.supersede(7, "fin_a", NOW, "XY-6")
    assert blocked.value.code == "credit.change_pending" and persons.state is ChangeRequestState.PENDING


def test_a_rejected_grade_is_not_proposed_again_for_a_quarter_but_another_grade_is():
    rejected = _proposal("C")
    rejected.reject(7, "fin_a", NOW, "刚复核过")

    assert grade_proposal_due("C", None, None, NOW)
    assert not grade_proposal_due("C", "C", None, NOW)  # the account has it already
    assert not grade_proposal_due("C", "B", _proposal("D"), NOW)  # one pending at a time
    assert not grade_proposal_due("C", "B", rejected, NOW + dt.timedelta(days=89, hours=23))
    assert grade_proposal_due("C", "B", rejected, NOW + dt.timedelta(days=90))
    assert grade_proposal_due("D", "B", rejected, NOW + dt.timedelta(days=1))  # the analysis changed its mind


def test_the_score_weighs_punctuality_overdue_days_and_utilisation():
    good = EvaluationInputs(TODAY, TODAY, 4, 1000, 1000, 0, 0, 0, 1000, 400)
    bad = EvaluationInputs(TODAY, TODAY, 4, 1000, 250, 500, 95, 60, 1000, 1000)
    fresh = EvaluationInputs(TODAY, TODAY, 0, 0, 0, 0, 0, 0, 0, 0)

    assert (score_credit(good).score, score_credit(good).grade) == (100, "A")
    assert (score_credit(bad).score, score_credit(bad).grade) == (12, "D")
    assert (score_credit(fresh).score, score_credit(fresh).grade) == (90, "A")


@pytest.mark.parametrize("days, bucket", [(0, "0_30"), (30, "0_30"), (31, "31_60"), (60, "31_60"), (61, "61_90"),
                                          (90, "61_90"), (91, "over_90")])
def test_ageing_buckets(days, bucket):
    assert ageing_bucket(days) == bucket


@pytest.mark.parametrize("days, level", [(0, None), (1, 1), (14, 1), (15, 2), (29, 2), (30, 3), (400, 3)])
def test_dunning_levels(days, level):
    assert dunning_level(days) == level


def test_money_is_shown_in_yuan_with_fen():
    assert (yuan(1234567), yuan(-5), yuan(0)) == ("¥12,345.67", "-¥0.05", "¥0.00")


OVERDUE = OverdueSummary(overdue_fen=300, oldest_due_on=dt.date(2026, 2, 1), invoices=1, as_of=dt.date(2026, 3, 2))
FINANCE = Principal(user_id=11, username="fin", role=Role.FINANCE)
SALES = Principal(user_id=12, username="sales", role=Role.SALES)


def test_the_credit_rule_refuses_overdue_receivables_without_a_reason():
    with pytest.raises(BusinessRuleViolation) as refused:
        admit(account(1000), 100, contract_no="HT-1", action="reserve", overdue=OVERDUE, actor=FINANCE)

    assert refused.value.code == "credit.overdue"
    assert refused.value.details["days_overdue"] == 29


def test_only_finance_may_override_overdue_receivables_and_the_reason_is_returned_to_record():
    with pytest.raises(PermissionDenied):
        admit(account(1000), 100, contract_no="HT-1", action="reserve", overdue=OVERDUE,
              override_reason="已承诺月底回款", actor=SALES)

    reason = admit(account(1000), 100, contract_no="HT-1", action="reserve", overdue=OVERDUE,
                   override_reason="  已承诺月底回款 ", actor=FINANCE)

    assert reason == "已承诺月底回款"


def test_an_override_does_not_lift_the_limit_and_nothing_overdue_overrides_nothing():
    with pytest.raises(BusinessRuleViolation) as refused:
        admit(account(1000), 1001, contract_no="HT-1", action="reserve", overdue=OVERDUE,
              override_reason="已承诺月底回款", actor=FINANCE)

    assert refused.value.code == "credit.limit_exceeded"
    assert admit(account(1000), 1000, contract_no="HT-1", action="reserve", override_reason="x") is None

