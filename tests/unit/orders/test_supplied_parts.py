"""Customer-supplied chassis and parts: the per-order ledger always balances."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dealercrm.domain.errors import BusinessRuleViolation, InvalidValue, NotFound
from dealercrm.domain.supplied_parts import ItemKind, SuppliedPartsLedger

AT = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)


def ledger():
    lg = SuppliedPartsLedger(order_id=1, dealer_id=7)
    lg.declare("chassis", "东风天龙 6×4 底盘")
    lg.declare(ItemKind.PART, "米其林 11R22.5 轮胎", expected_quantity=12)
    return lg


def test_receive_issue_return_flow_balances():
    lg = ledger()
    lg.receive(1, 1, AT, 5, serial=" lgaxxx12345678901 ", location="2号库", photo_sha256="ab" * 32)
    lg.receive(2, 10, AT, 5)
    lg.issue(2, 8, AT, 6)
    lg.return_to_store(2, 2, AT, 6)
    lg.return_to_customer(2, 1, AT, 5)
    chassis, tyres = lg.balances()
    assert chassis.serial == "LGAXXX12345678901" and chassis.in_store == 1 and chassis.outstanding == 0
    assert (tyres.received, tyres.in_store, tyres.in_production, tyres.returned_to_customer) == (10, 3, 6, 1)
    assert tyres.outstanding == 2 and not lg.all_received


def test_chassis_needs_its_serial_and_is_received_once():
    lg = ledger()
    with pytest.raises(InvalidValue) as err:
        lg.receive(1, 1, AT, 5)
    assert err.value.field == "serial"
    lg.receive(1, 1, AT, 5, serial="LGA1")
    with pytest.raises(BusinessRuleViolation) as err:
        lg.receive(1, 1, AT, 5, serial="LGA1")
    assert err.value.code == "supplied.already_received"


def test_declared_serial_must_match_on_receipt():
    lg = SuppliedPartsLedger(order_id=1, dealer_id=7)
    lg.declare("chassis", "底盘", serial="LGA1")
    with pytest.raises(BusinessRuleViolation) as err:
        lg.receive(1, 1, AT, 5, serial="LGA2")
    assert err.value.details == {"declared": "LGA1", "received": "LGA2"}


def test_cannot_issue_or_return_more_than_there_is():
    lg = ledger()
    lg.receive(2, 4, AT, 5)
    with pytest.raises(BusinessRuleViolation) as err:
        lg.issue(2, 5, AT, 6)
    assert err.value.details["available"] == 4
    with pytest.raises(BusinessRuleViolation) as err:
        lg.return_to_store(2, 1, AT, 6)
    assert err.value.code == "supplied.not_in_production"
    lg.issue(2, 4, AT, 6)
    with pytest.raises(BusinessRuleViolation):
        lg.return_to_customer(2, 1, AT, 5)
    assert len(lg.entries) == 2


def test_bad_declarations_and_movements():
    lg = ledger()
    with pytest.raises(InvalidValue) as err:
        lg.declare("engine", "发动机")
    assert err.value.field == "kind"
    with pytest.raises(InvalidValue) as err:
        lg.declare("part", " ")
    assert err.value.field == "description"
    with pytest.raises(InvalidValue) as err:
        lg.declare("chassis", "底盘", expected_quantity=2)
    assert err.value.field == "expected_quantity"
    with pytest.raises(InvalidValue):
        lg.receive(2, 0, AT, 5)
    with pytest.raises(InvalidValue) as err:
        lg.receive(2, 1, dt.datetime(2026, 11, 22), 5)
    assert err.value.field == "at"
    with pytest.raises(NotFound):
        lg.issue(9, 1, AT, 5)


moves = st.lists(st.tuples(st.sampled_from(["receive", "issue", "return_to_store", "return_to_customer"]),
                           st.integers(min_value=1, max_value=6)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(moves)
def test_any_sequence_of_moves_keeps_the_ledger_balanced(sequence):
    lg = SuppliedPartsLedger(order_id=1, dealer_id=7)
    lg.declare("part", "轮胎", expected_quantity=12)
    for name, qty in sequence:
        try:
            getattr(lg, name)(1, qty, AT, 5)
        except BusinessRuleViolation:
            pass
        b = lg.balance_of(lg.item(1))
        assert b.received == b.in_store + b.in_production + b.returned_to_customer
        assert min(b.in_store, b.in_production, b.returned_to_customer) >= 0


def _decl(*parts):
    from dealercrm.domain.supplied_parts import declarations_from_order

    return declarations_from_order(list(parts))


def test_sync_follows_the_order_for_unmoved_items_and_never_rewrites_moved_ones():
    lg = SuppliedPartsLedger(order_id=1, dealer_id=7)
    lg.sync_declared(_decl((1, "chassis", "底盘", 1, "LGA1"), (2, "part", "轮胎", 12, None)))
    lg.receive(2, 4, AT, 5)

    changed = lg.sync_declared(_decl((1, "part", "备胎", 2, None), (2, "part", "铝合金轮辋", 12, None)))

    by_line = {i.line_no: i for i in lg.items}
    assert changed and sorted(by_line) == [1, 2, 3]
    assert (by_line[1].kind, by_line[1].description, by_line[1].expected_quantity) == (ItemKind.PART, "备胎", 2)
    assert by_line[2].description == "轮胎" and by_line[2].withdrawn  # received goods keep their line
    assert by_line[3].description == "铝合金轮辋" and by_line[3].order_line_no == 2 and not by_line[3].withdrawn
    assert not lg.sync_declared(_decl((1, "part", "备胎", 2, None), (2, "part", "铝合金轮辋", 12, None)))
    lg.sync_declared([])
    assert [i.line_no for i in lg.items] == [2]  # only what has moved stays
    assert lg.declare("part", "新件").line_no == 3  # after every line that ever moved
