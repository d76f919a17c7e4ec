"""After-sales aggregates: the service-request transition table, warranty dates, the station
suggestion, settlement arithmetic (exact fen) and the stock balance that never goes negative."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dealercrm.domain.aftersales import (
    REQUEST_TRANSITIONS,
    FaultCategory,
    InsufficientStock,
    PartUse,
    RepairPart,
    RepairRecord,
    RequestState,
    ServiceRequest,
    SettlementClaim,
    StationCandidate,
    StockLine,
    WarrantyPolicy,
    WarrantyRecord,
    WarrantyState,
    add_months,
    claim_amounts,
    labour_amount_fen,
    parse_hours,
    pick_policy,
    suggest_stations,
)
from dealercrm.domain.errors import BusinessRuleViolation, Conflict, IllegalTransition, InvalidValue

NOW = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)
ACTIONS = sorted({a for _, a in REQUEST_TRANSITIONS})


def _request(**kw) -> ServiceRequest:
    fields = dict(number="FW-2026-000001", vin="LZZ1CSVC0TA000001", customer_name="赵师傅",
                  customer_phone="13700001111", fault_category=FaultCategory.TANK_BODY, description="切断阀渗漏",
                  province="河南省", city="郑州市", location="中牟县物流园", region="华中", product_line="tanker",
                  model_code=None, dealer_id=1, odometer_km=None, warranty_state=WarrantyState.IN_WARRANTY,
                  warranty_warning=None, created_at=NOW, created_by="shouhou")
    fields.update(kw)
    return ServiceRequest(**fields)


def _act(req: ServiceRequest, action: str) -> None:
    {"assign": lambda: req.assign(7, "manual", NOW, "s"), "accept": lambda: req.accept(NOW, "s"),
     "refuse": lambda: req.refuse("没空", NOW, "s"), "record_repair": lambda: req.record_repair(NOW, "s"),
     "confirm": lambda: req.confirm(NOW, "s"), "close": lambda: req.close(NOW, "s"),
     "resolve": lambda: req.resolve_on_hotline("指导复位", NOW, "s"),
     "cancel": lambda: req.cancel("客户撤销", NOW, "s")}[action]()


PATHS = {
    RequestState.OPEN: [], RequestState.ASSIGNED: ["assign"], RequestState.ACCEPTED: ["assign", "accept"],
    RequestState.REPAIRED: ["assign", "accept", "record_repair"],
    RequestState.CONFIRMED: ["assign", "accept", "record_repair", "confirm"],
    RequestState.CLOSED: ["assign", "accept", "record_repair", "confirm", "close"],
    RequestState.RESOLVED: ["resolve"], RequestState.CANCELLED: ["cancel"],
}


@pytest.mark.parametrize("state", list(RequestState))
@pytest.mark.parametrize("action", ACTIONS)
def test_every_move_follows_the_one_transition_table(state, action):
    req = _request()
    for step in PATHS[state]:
        _act(req, step)
    assert req.state is state

    expected = REQUEST_TRANSITIONS.get((state, action))
    if expected is None:
        with pytest.raises(IllegalTransition) as err:
            _act(req, action)
        assert err.value.current_state == state.value and req.state is state
    else:
        _act(req, action)
        assert req.state is expected
        assert req.history[-1].action == action and req.history[-1].to_state is expected


def test_a_refusing_station_is_not_assigned_the_same_request_again():
    req = _request()
    req.assign(7, "auto", NOW, "s")
    req.refuse("技师外出", NOW, "station7")

    with pytest.raises(BusinessRuleViolation):
        req.assign(7, "manual", NOW, "s")
    assert req.state is RequestState.OPEN and req.station_id is None and req.refused_station_ids == [7]


def test_warranty_ends_the_day_before_the_same_date_months_later_and_checks_km():
    policy = WarrantyPolicy("tanker", 24, 200_000)
    rec = WarrantyRecord.start(vin="V", product_line="tanker", model_code=None, dealer_id=None,
                               customer_name="赵", customer_phone="13700001111", sold_on=dt.date(2024, 2, 29),
                               policy=policy, now=NOW)

    assert rec.ends_on == dt.date(2026, 2, 27)
    assert rec.check(dt.date(2026, 2, 27)).in_warranty
    assert rec.check(dt.date(2026, 2, 28)).state is WarrantyState.EXPIRED
    over_km = rec.check(dt.date(2025, 1, 1), odometer_km=200_001)
    assert not over_km.in_warranty and "200000" in (over_km.warning or "")
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)


def test_a_templates_policy_wins_over_its_product_lines():
    line = WarrantyPolicy("tanker", 24, None, id=1)
    template = WarrantyPolicy("tanker", 36, None, model_code="HT9400GYY", id=2)

    assert pick_policy([line, template], "tanker", "HT9400GYY") is template
    assert pick_policy([line, template], "tanker", "HT5250GYY") is line
    assert pick_policy([line, template], "dump_truck", None) is None
    with pytest.raises(InvalidValue):
        WarrantyPolicy("tanker", None, None)


def test_suggestion_prefers_same_city_then_capability_then_load():
    c = [StationCandidate(1, "郑州A", "华中", "河南省", "郑州市", ("tanker",), 4, 4),
         StationCandidate(2, "郑州B", "华中", "河南省", "郑州市", ("tanker",), 4, 1),
         StationCandidate(3, "洛阳", "华中", "河南省", "洛阳市", ("tanker",), 4, 0),
         StationCandidate(4, "郑州自卸", "华中", "河南省", "郑州市", ("dump_truck",), 4, 0),
         StationCandidate(5, "济南", "华东", "山东省", "济南市", ("tanker",), 4, 0)]

    ranked = suggest_stations(c, product_line="tanker", region="华中", province="河南省", city="郑州市",
                              exclude=frozenset({5}))

    assert [s.station_id for s in ranked] == [2, 3, 1]  # station 1 is full; 4 cannot repair tankers


def test_with_distances_the_nearest_station_with_room_comes_first_and_those_without_coordinates_after():
    c = [StationCandidate(1, "郑州A", "华中", "河南省", "郑州市", ("tanker",), 4, 0),
         StationCandidate(2, "洛阳", "华中", "河南省", "洛阳市", ("tanker",), 4, 3),
         StationCandidate(3, "开封", "华中", "河南省", "开封市", ("tanker",), 4, 0),
         StationCandidate(4, "新乡", "华中", "河南省", "新乡市", ("tanker",), 4, 4)]

    ranked = suggest_stations(c, product_line="tanker", region="华中", province="河南省", city="郑州市",
                              distances_km={2: 18.04, 3: 61.5, 4: 2.0})  # station 1 has no coordinates

    assert [s.station_id for s in ranked] == [2, 3, 1, 4]  # 4 is nearest but full
    assert "距离18.0公里" in ranked[0].reasons and not any("距离" in r for r in ranked[2].reasons)


@pytest.mark.parametrize(("hours", "rate", "fen"), [("2.5", 8000, 20_000), ("0.01", 8001, 80), ("0.05", 1010, 50),
                                                     ("0.15", 1010, 152), ("1.33", 9999, 13_299)])
def test_labour_amount_is_exact_and_rounds_half_even_once(hours, rate, fen):
    assert labour_amount_fen(parse_hours("h", hours), rate) == fen


@given(st.integers(1, 99_900), st.integers(1, 10_000_000))
def test_labour_amount_equals_decimal_arithmetic(centihours, rate):
    exact = Decimal(centihours) / 100 * rate
    amount = labour_amount_fen(centihours, rate)
    assert abs(Decimal(amount) - exact) <= Decimal("0.5")


def _record(parts, in_warranty=True) -> RepairRecord:
    return RepairRecord(number="WX-1", request_id=1, station_id=1, vin="V", problem="p", solution="s", place="x",
                        started_at=NOW - dt.timedelta(hours=2), finished_at=NOW, labour_centihours=250, result=None,
                        recorded_at=NOW, recorded_by="s", in_warranty=in_warranty, parts=parts, id=1)


def test_claim_is_labour_at_the_station_rate_plus_warranty_parts_at_standard_cost():
    rec = _record([RepairPart("FV", "阀", 2, PartUse.WARRANTY, 45_000, 68_000),
                   RepairPart("SL", "圈", 3, PartUse.SALE, 1_250, 2_000),
                   RepairPart("OIL", "油", 1, PartUse.REPAIR, 5_000, 8_000)])

    amounts = claim_amounts(rec, 8_000)

    assert (amounts.labour_fen, amounts.parts_fen, amounts.total_fen) == (20_000, 90_000, 110_000)
    assert rec.sales_fen() == 3 * 2_000 + 8_000
    with pytest.raises(Conflict):  # unconfirmed
        SettlementClaim.submit("JS-1", rec, 8_000, NOW, "s")
    rec.confirm(customer_name="赵", satisfaction=5, comment=None, at=NOW)
    claim = SettlementClaim.submit("JS-1", rec, 8_000, NOW, "s")
    claim.approve(NOW)
    assert claim.settlement_month == "2026-03"
    with pytest.raises(IllegalTransition):
        claim.reject(NOW, "again")


def test_warranty_parts_on_an_out_of_warranty_vehicle_are_refused():
    with pytest.raises(BusinessRuleViolation):
        _record([RepairPart("FV", "阀", 1, PartUse.WARRANTY, 45_000, 68_000)], in_warranty=False)


ops = st.lists(st.tuples(st.sampled_from(["receive", "issue", "count"]), st.integers(0, 50)), max_size=60)


@given(ops)
def test_stock_balance_never_goes_negative_and_equals_the_sum_of_movements(sequence):
    line = StockLine(1, "FV")
    deltas = []
    for op, qty in sequence:
        try:
            if op == "receive":
                deltas.append(line.receive(qty, NOW))
            elif op == "issue":
                before = line.quantity
                try:
                    deltas.append(line.issue(qty, NOW))
                except InsufficientStock as err:
                    assert qty > before and err.details["balance"] == before and line.quantity == before
            else:
                deltas.append(line.count(qty, NOW))
        except InvalidValue:
            assert qty == 0 and op != "count"
        assert line.quantity >= 0
    assert line.quantity == sum(deltas)
