"""The change request's own rules (domain.order_changes)."""

import datetime as dt

import pytest

from dealercrm.domain.errors import IllegalTransition, InvalidValue
from dealercrm.domain.order_changes import ChangeStatus, OrderChangeRequest

NOW = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)


def change(**kw):
    return OrderChangeRequest("BG-2026-000001", 1, 2, kw.pop("description", " 罐体改为45方 "), NOW, "hongda", **kw)


def test_description_is_trimmed_and_required():
    assert change().description == "罐体改为45方"
    with pytest.raises(InvalidValue) as err:
        change(description="  ")
    assert err.value.field == "description"
    with pytest.raises(InvalidValue):
        change(description="变" * 1001)


def test_forwarding_is_acknowledged_once_and_keyed_by_the_change_number():
    c = change()
    c.forward("JH2026000001", NOW)
    assert c.status is ChangeStatus.FORWARDING and c.erp_key == "change:BG-2026-000001"
    assert c.forwarded("CHG-1", NOW) is True
    assert c.forwarded("CHG-1", NOW) is False
    with pytest.raises(IllegalTransition):
        c.forwarded("CHG-2", NOW)


@pytest.mark.parametrize("first", ["returned", "reject", "withdraw"])
def test_a_decided_request_cannot_be_decided_again(first):
    c = change()
    {"returned": lambda: c.returned(NOW), "reject": lambda: c.reject("不可行", NOW),
     "withdraw": lambda: c.withdraw(NOW)}[first]()
    with pytest.raises(IllegalTransition) as err:
        c.forward("JH1", NOW)
    assert err.value.current_state == c.status.value
