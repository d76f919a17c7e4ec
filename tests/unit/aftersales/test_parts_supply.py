import datetime as dt

import pytest

from dealercrm.domain.aftersales import PartUse, RepairPart, RepairRecord
from dealercrm.domain.errors import (
    BusinessRuleViolation,
    IllegalTransition,
    InvalidValue,
)
from dealercrm.domain.parts_supply import (
    BillState,
    OrderState,
    PartsOrder,
    RepairBill,
    StockLevel,
    StockTransfer,
    SupplyLine,
    TransferState,
    check_levels,
    paid_repair_lines,
    suggest_replenishment,
)
from dealercrm.domain.values import SHANGHAI

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI)


def _record(parts, *, in_warranty=False, centihours=250):
    return RepairRecord(number="WX-1", request_id=1, station_id=7, vin="V", problem="p", solution="s", place="x",
                        started_at=NOW - dt.timedelta(hours=2), finished_at=NOW, labour_centihours=centihours,
                        result=None, recorded_at=NOW, recorded_by="s", in_warranty=in_warranty, parts=parts, id=1)


def test_paid_repair_bill_is_labour_at_the_station_rate_plus_sold_and_repair_parts_at_retail():
    rec = _record([RepairPart("SL", "密封圈", 3, PartUse.SALE, 1_250, 2_000),
                   RepairPart("OIL", "液压油", 1, PartUse.REPAIR, 5_000, 8_000)], centihours=133)

    bill = RepairBill.issue("YC-1", rec, 8_000, NOW, "st")

    assert (bill.labour_fen, bill.parts_fen, bill.total_fen) == (10_640, 14_000, 24_640)
    assert [(x["kind"], x["code"], x["quantity"], x["amount_fen"]) for x in bill.lines] == [
        ("labour", "LABOUR", 133, 10_640), ("part", "SL", 3, 6_000), ("part", "OIL", 1, 8_000)]
    assert bill.state is BillState.UNPAID


def test_labour_amount_of_a_bill_rounds_half_even_to_the_fen():
    lines = paid_repair_lines(_record([], centihours=125), 1_250)

    assert lines[0].amount_fen == 1_562  # 1.25 h × 12.50 元 = 15.625 元 → 15.62 元


def test_a_repair_in_warranty_is_never_billed_to_the_customer():
    with pytest.raises(BusinessRuleViolation) as err:
        paid_repair_lines(_record([], in_warranty=True), 8_000)

    assert err.value.code == "parts_supply.in_warranty"


def test_a_bill_is_paid_once():
    bill = RepairBill.issue("YC-1", _record([]), 8_000, NOW, "st")
    bill.pay(NOW, "st", "现金")

    with pytest.raises(IllegalTransition) as err:
        bill.pay(NOW, "st")

    assert bill.state is BillState.PAID and err.value.current_state == "paid"


def _lines():
    return [SupplyLine("FV-01", "阀", 4, 45_000), SupplyLine("AB-02", "圈", 10, 1_250)]


def test_a_parts_order_totals_its_lines_and_goes_submitted_confirmed_shipped_received():
    order = PartsOrder.submit("PJ-1", 7, _lines(), NOW, "st")

    order.confirm(NOW)
    order.ship(NOW, "SF123")
    received = order.receive(NOW, "st")

    assert order.total_fen == 4 * 45_000 + 10 * 1_250
    assert [(x.part_no, x.quantity) for x in received] == [("AB-02", 10), ("FV-01", 4)]
    assert order.state is OrderState.RECEIVED


def test_a_parts_order_is_received_only_once():
    order = PartsOrder.submit("PJ-1", 7, _lines(), NOW, "st")
    order.confirm(NOW)
    order.ship(NOW)
    order.receive(NOW, "st")

    with pytest.raises(IllegalTransition):
        order.receive(NOW, "st")

    assert order.state is OrderState.RECEIVED


def test_an_order_cannot_be_received_before_it_is_shipped_nor_cancelled_after():
    order = PartsOrder.submit("PJ-1", 7, _lines(), NOW, "st")

    with pytest.raises(IllegalTransition):
        order.receive(NOW, "st")
    order.confirm(NOW)
    order.ship(NOW)
    with pytest.raises(IllegalTransition):
        order.cancel(NOW, "不要了")

    assert order.state is OrderState.SHIPPED


@pytest.mark.parametrize("lines, code", [
    ([], "parts_supply.lines_required"),
    ([SupplyLine("A1", "a", 0, 1)], "parts_supply.quantity_invalid"),
    ([SupplyLine("A1", "a", 1, 1), SupplyLine("A1", "a", 2, 1)], "parts_supply.duplicate_part"),
])
def test_order_lines_are_checked(lines, code):
    with pytest.raises(InvalidValue) as err:
        PartsOrder.submit("PJ-1", 7, lines, NOW, "st")

    assert err.value.code == code


def test_a_transfer_goes_to_another_station_and_is_received_once():
    with pytest.raises(InvalidValue):
        StockTransfer.ship("DB-1", 7, 7, _lines(), NOW, "st")
    transfer = StockTransfer.ship("DB-1", 7, 8, _lines(), NOW, "st")

    first = transfer.receive(NOW, "st8")
    with pytest.raises(IllegalTransition):
        transfer.receive(NOW, "st8")

    assert transfer.state is TransferState.RECEIVED and len(first) == 2


def test_replenishment_fills_up_to_max_when_at_or_below_min():
    levels = [StockLevel("A", on_hand=3, on_order=2, min_qty=5, max_qty=20)]

    out = suggest_replenishment(levels, {"A": 9})

    assert [(x.part_no, x.quantity, x.reason, x.usage_cover) for x in out] == [("A", 15, "below_min", 3)]


def test_replenishment_covers_the_next_30_days_of_the_last_90_days_usage():
    levels = [StockLevel("B", on_hand=10, min_qty=2, max_qty=12), StockLevel("C", on_hand=40, min_qty=5, max_qty=50)]

    out = suggest_replenishment(levels, {"B": 91, "C": 30, "D": 4})

    # B: cover ceil(91×30/90)=31 > 10 on hand → 31−10; C: cover 10 ≤ 40, above min → nothing;
    # D: no level row, used 4 → cover ceil(4/3)=2 → 2
    assert [(x.part_no, x.quantity, x.reason) for x in out] == [("B", 21, "usage_cover"), ("D", 2, "usage_cover")]


def test_no_suggestion_when_stock_covers_min_and_usage():
    out = suggest_replenishment([StockLevel("A", on_hand=6, min_qty=5, max_qty=20)], {"A": 15})

    assert out == []


def test_levels_must_be_ordered():
    with pytest.raises(InvalidValue) as err:
        check_levels(10, 5)

    assert err.value.code == "parts_supply.level_order" and check_levels(0, 0) == (0, 0)
