"""Shipments and receipts: the truck, the states, and what counts as a discrepancy."""

import datetime as dt

import pytest

from dealercrm.domain.errors import IllegalTransition, InvalidValue
from dealercrm.domain.printing import plain_text
from dealercrm.domain.shipping import (
    DeliveryReceipt,
    ReceiptLine,
    ReceiptOutcome,
    Shipment,
    ShipmentStatus,
    layout_delivery_receipt,
    truck_plate,
)
from dealercrm.domain.values import Phone, Vin

T0 = dt.datetime(2026, 3, 1, 1, 0, tzinfo=dt.UTC)
VINS = [Vin.build("LZZ", "1CLVB", "T", "A", f"{n:06d}").value for n in (1, 2, 3)]


def shipment(**over) -> Shipment:  # type: ignore[no-untyped-def]
    kw = dict(shipment_no="SH-2026-000001", dealer_id=7, contract_no="HT-1", carrier="顺达物流", driver_name="刘师傅",
              driver_id_digest="d" * 64, driver_id_masked="1101**********002X", driver_phone=Phone("13700001111"),
              truck_plate="豫A12345挂", vins=VINS[:2], planned_departure=T0,
              expected_arrival=T0 + dt.timedelta(days=2), created_at=T0, created_by="dispatch")
    kw.update(over)
    s = Shipment(**kw)
    s.id = 5
    return s


def receipt(s: Shipment, lines, extra=()) -> DeliveryReceipt:  # type: ignore[no-untyped-def]
    return DeliveryReceipt.for_shipment(s, receipt_no="RC-2026-000001", lines=lines, extra_vins=extra,
                                        receiver_name="赵库管", received_at=T0 + dt.timedelta(days=2), by="dealer07")


@pytest.mark.parametrize("plate", ["豫A12345", "豫a 12345", "京AD12345", "鲁B1234挂", "粤B·D1234F"])
def test_truck_plates_of_the_mainland_are_accepted(plate):
    assert truck_plate(plate).startswith(plate[0])


@pytest.mark.parametrize("plate", ["A12345", "豫12345", "豫AI2345", "豫A123"])
def test_malformed_plates_are_refused(plate):
    with pytest.raises(InvalidValue) as err:
        truck_plate(plate)
    assert err.value.field == "truck_plate"


def test_a_shipment_departs_then_is_delivered_or_is_cancelled_before_it_departs():
    s = shipment()
    s.depart(T0, "dispatch")

    with pytest.raises(IllegalTransition) as err:
        s.cancel("不发了", T0)

    assert err.value.current_state == "departed"
    assert s.receipt_overdue(T0 + dt.timedelta(days=5), dt.timedelta(days=3))
    assert not s.receipt_overdue(T0 + dt.timedelta(days=4), dt.timedelta(days=3))
    with pytest.raises(InvalidValue):
        shipment(expected_arrival=T0 - dt.timedelta(hours=1))


def test_a_receipt_answers_every_vehicle_once():
    s = shipment()
    s.depart(T0, "dispatch")
    ok = ReceiptLine(VINS[0], ReceiptOutcome.RECEIVED)

    with pytest.raises(InvalidValue) as unanswered:
        receipt(s, [ok])
    with pytest.raises(InvalidValue) as twice:
        receipt(s, [ok, ok])
    with pytest.raises(InvalidValue) as stranger:
        receipt(s, [ok, ReceiptLine(VINS[2], ReceiptOutcome.RECEIVED)])

    assert (unanswered.value.code, twice.value.code, stranger.value.code) == (
        "receipt.vin_unanswered", "receipt.vin_duplicate", "receipt.vin_not_shipped")


def test_a_receipt_needs_a_departed_shipment():
    with pytest.raises(IllegalTransition):
        receipt(shipment(), [ReceiptLine(v, ReceiptOutcome.RECEIVED) for v in VINS[:2]])


def test_damage_missing_configuration_and_extra_vehicles_are_discrepancies():
    s = shipment()
    s.depart(T0, "dispatch")

    r = receipt(s, [ReceiptLine(VINS[0], ReceiptOutcome.RECEIVED, configuration_ok=False, note="罐体容积不符"),
                    ReceiptLine(VINS[1], ReceiptOutcome.MISSING, note="未随车")], extra=[VINS[2]])

    assert r.has_discrepancy and len(r.discrepancies) == 3
    assert "配置与合同不符" in r.discrepancies[0] and "未收到" in r.discrepancies[1] and "多收" in r.discrepancies[2]
    text = plain_text(layout_delivery_receipt(s, r, "郑州宏达"))
    assert text[0] == "收货回执单" and "状态：已收货（配置不符）" in text and "多收：" + VINS[2] in text


def test_a_clean_receipt_has_no_discrepancy_and_an_explanation_is_required_otherwise():
    s = shipment()
    s.depart(T0, "dispatch")

    clean = receipt(s, [ReceiptLine(v, ReceiptOutcome.RECEIVED) for v in VINS[:2]])

    assert not clean.has_discrepancy and s.status is ShipmentStatus.DEPARTED
    with pytest.raises(InvalidValue) as err:
        ReceiptLine(VINS[0], ReceiptOutcome.DAMAGED)
    assert err.value.code == "receipt.note_required"
