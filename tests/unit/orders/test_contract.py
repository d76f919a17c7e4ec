"""The e-contract's life cycle."""

import datetime as dt

import pytest

from dealercrm.domain.contracts import Contract, ContractStatus
from dealercrm.domain.errors import IllegalTransition, InvalidValue

AT = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)


def contract(**over):
    fields = dict(contract_no="HT2026000001", order_id=1, dealer_id=7, amount_fen=41_800_000,
                  document_sha256="a" * 64, generated_at=AT)
    fields.update(over)
    return Contract(**fields)


def test_happy_path_records_who_when_where():
    c = contract()
    c.accept(11, AT, "10.0.0.8", "Mozilla/5.0")
    assert c.status is ContractStatus.AWAITING_FINANCE and c.accepted_from_ip == "10.0.0.8"
    c.finance_approve(21, AT, credit_override_reason="  ")
    assert c.status is ContractStatus.APPROVED and c.credit_override_reason is None and c.holds_credit
    assert c.erp_key == "contract:HT2026000001"
    assert c.mark_released("JH-2026-0001", AT) is True
    assert c.mark_released("JH-2026-0001", AT) is False  # a replayed answer changes nothing
    assert c.status is ContractStatus.RELEASED and c.erp_tracking_no == "JH-2026-0001"


def test_finance_reject_needs_a_reason_and_can_be_resubmitted():
    c = contract()
    c.accept(11, AT, None, None)
    with pytest.raises(InvalidValue) as err:
        c.finance_reject(21, AT, " ")
    assert err.value.field == "reason" and c.status is ContractStatus.AWAITING_FINANCE
    c.finance_reject(21, AT, "预付款未到账")
    assert c.status is ContractStatus.FINANCE_REJECTED and not c.holds_credit
    c.resubmit_to_finance()
    c.finance_approve(21, AT)
    assert c.finance_reason is None


@pytest.mark.parametrize("action", ["finance_approve", "release", "resubmit"])
def test_illegal_moves_name_the_current_state(action):
    c = contract()
    with pytest.raises(IllegalTransition) as err:
        {"finance_approve": lambda: c.finance_approve(1, AT), "release": lambda: c.mark_released("X", AT),
         "resubmit": c.resubmit_to_finance}[action]()
    assert err.value.details["current_state"] == "awaiting_acceptance"


def test_accept_twice_and_void_twice_are_refused():
    c = contract()
    c.accept(11, AT, None, None)
    with pytest.raises(IllegalTransition):
        c.accept(11, AT, None, None)
    c.void("订单变更退单", AT)
    assert not c.holds_credit
    with pytest.raises(IllegalTransition):
        c.void("again", AT)


def test_a_released_contract_does_not_take_a_second_tracking_number():
    c = contract()
    c.accept(11, AT, None, None)
    c.finance_approve(21, AT)
    c.mark_released("JH-1", AT)
    with pytest.raises(IllegalTransition):
        c.mark_released("JH-2", AT)


def test_invalid_construction():
    with pytest.raises(InvalidValue):
        contract(amount_fen=0)
    with pytest.raises(InvalidValue):
        contract(document_sha256="abc")
