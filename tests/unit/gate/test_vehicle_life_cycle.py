"""The vehicle life cycle by VIN: one state at a time, every move in the history."""

import datetime as dt

import pytest

from dealercrm.domain.errors import Conflict, IllegalTransition, InvalidValue
from dealercrm.domain.vehicles import TRANSITIONS, Vehicle, VehicleState
from dealercrm.domain.values import Vin

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
VIN = Vin.build("LZZ", "1CLVB", "T", "A", "000001")


def at(hours: int) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def stocked(dealer_id: int = 7) -> Vehicle:
    return Vehicle.register(VIN, VehicleState.IN_FACTORY_STOCK, T0, "erp", reference="LZ-1", dealer_id=dealer_id,
                            contract_no="HT-1")


def test_a_vehicle_goes_from_production_to_a_customer_with_one_event_per_move():
    v = Vehicle.register(VIN, VehicleState.PLANNED, T0, "erp", dealer_id=7)

    v.start_production(at(1), "erp")
    v.stock_in(at(2), "erp", "LZ-1")
    v.authorize_pickup(11, 7, at(3), "dealer07", "PA-2026-000001")
    v.release(at(4), "guard", "GP-2026-000001")
    v.receive(at(30), "dealer07", "PA-2026-000001")
    v.sell(at(50), "dealer07", "RS-1")

    assert v.state is VehicleState.SOLD
    assert [e.action for e in v.history] == ["create", "start_production", "stock_in", "authorize_pickup", "release",
                                             "receive", "sell"]
    assert [e.seq for e in v.history] == list(range(1, 8))
    assert all(e.from_state is prev.to_state for prev, e in zip(v.history, v.history[1:]))
    assert (v.stocked_at, v.released_at, v.received_at, v.state_changed_at) == (at(2), at(4), at(30), at(50))


def test_an_illegal_move_is_refused_with_the_current_state_and_changes_nothing():
    v = stocked()

    with pytest.raises(IllegalTransition) as err:
        v.release(at(1), "guard", "GP-1")

    assert err.value.current_state == "in_factory_stock"
    assert err.value.code == "vehicle.illegal_transition"
    assert "已入库待提" in err.value.message
    assert v.state is VehicleState.IN_FACTORY_STOCK and len(v.history) == 1


@pytest.mark.parametrize("state", list(VehicleState))
def test_every_state_allows_exactly_the_moves_in_the_table(state):
    for action, (allowed, target) in TRANSITIONS.items():
        v = stocked()
        v.state = state
        v.pickup_authorization_id = 11
        move = getattr(v, action)
        args = {"authorize_pickup": (11, 7, at(1), "x", "PA"), "release": (at(1), "x", "GP"),
                "ship": (at(1), "x", "SH")}.get(action, (at(1), "x", "REF"))
        if action in ("start_production", "stock_in", "restock"):
            args = (at(1), "x")
        if state in allowed:
            move(*args)
            assert v.state is target
        else:
            with pytest.raises(IllegalTransition):
                move(*args)
            assert v.state is state


def test_a_dealer_can_only_authorize_its_own_vehicles():
    v = stocked(dealer_id=7)

    with pytest.raises(InvalidValue) as err:
        v.authorize_pickup(11, 8, at(1), "dealer08", "PA-1")

    assert err.value.code == "vehicle.not_dealers" and v.state is VehicleState.IN_FACTORY_STOCK


def test_withdrawing_a_pickup_puts_the_vehicle_back_into_stock():
    v = stocked()
    v.authorize_pickup(11, 7, at(1), "dealer07", "PA-1")

    v.withdraw_pickup(at(2), "dealer07", "PA-1", "介绍信已撤销")

    assert (v.state, v.pickup_authorization_id) == (VehicleState.IN_FACTORY_STOCK, None)
    assert v.history[-1].note == "介绍信已撤销"


def test_new_vehicles_start_planned_in_production_or_stocked_only():
    with pytest.raises(InvalidValue):
        Vehicle.register(VIN, VehicleState.SOLD, T0, "erp")


def test_order_references_are_filled_in_but_never_silently_rewritten():
    v = stocked()

    changed = v.link_order(order_no="SO-2026-000001", model_code="HZZ5250GYY", contract_no="HT-1")

    assert changed == ["order_no", "model_code"]
    with pytest.raises(Conflict) as err:
        v.link_order(contract_no="HT-2")
    assert err.value.code == "vehicle.reference_conflict" and v.contract_no == "HT-1"


def test_state_labels_use_the_seeds_words():
    assert VehicleState.IN_FACTORY_STOCK.label == "已入库待提"
    assert all(state.label for state in VehicleState)
