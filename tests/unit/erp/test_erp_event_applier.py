from __future__ import annotations

import attrs

from dealercrm.application.erp_sync import (
    ErpEventApplier,
    InMemoryErpSyncTarget,
    SyncOutcome,
)
from dealercrm.application.ports.erp import ErpOrderStatus, ErpUnreadableEvent
from dealercrm.domain.values import Vin


def _target(*tracking: str) -> InMemoryErpSyncTarget:
    target = InMemoryErpSyncTarget()
    for i, tracking_no in enumerate(tracking, start=1):
        target.add_order(f"HT-2026-{i:06d}", tracking_no, dealer_code="D001")
    return target


def test_a_status_event_sets_the_orders_production_progress(events, make_page):
    target = _target("JH1")
    applier = ErpEventApplier(target)

    report = applier.apply_page(make_page(events.status("JH1", "scheduled"),
                                          events.status("JH1", "in_production", 30)))

    assert target.order("JH1").status is ErpOrderStatus.IN_PRODUCTION
    assert target.order("JH1").percent == 30
    assert report.applied == 2
    assert target.cursor == "2"


def test_a_duplicate_event_id_is_a_no_op(events, make_page):
    target = _target("JH1")
    applier = ErpEventApplier(target)
    first = events.stock_in("JH1")
    again = attrs.evolve(first, seq=99)
    applier.apply_page(make_page(first))
    before = target.snapshot()

    outcome = applier.apply(again)

    assert outcome is SyncOutcome.DUPLICATE
    assert target.snapshot() == before
    assert len(target.vehicles) == 1


def test_a_late_older_status_does_not_move_the_order_backwards(events, make_page):
    target = _target("JH1")
    applier = ErpEventApplier(target)
    at_80 = events.status("JH1", "in_production", 80)
    stocked = events.status("JH1", "stocked")

    report = applier.apply_page(make_page(stocked, at_80))

    assert target.order("JH1").status is ErpOrderStatus.STOCKED
    assert target.order("JH1").percent == 100
    assert report.stale == 1
    assert report.applied == 1
    assert target.rejected == []


def test_a_newer_event_that_reports_an_earlier_stage_is_rejected_as_a_regression(events, make_page):
    target = _target("JH1")
    applier = ErpEventApplier(target)
    inspected = events.status("JH1", "inspected")
    rework = events.status("JH1", "in_production", 90)  # newer order_seq, lower stage

    applier.apply_page(make_page(inspected, rework))

    assert target.order("JH1").status is ErpOrderStatus.INSPECTED
    assert [r.code for r in target.rejected] == ["erp.status_regression"]


def test_events_for_an_unknown_tracking_number_are_recorded_as_rejected_not_raised(events, make_page):
    target = _target("JH1")
    applier = ErpEventApplier(target)
    stray = events.status("JH404", "scheduled")

    report = applier.apply_page(make_page(stray, events.status("JH1", "scheduled")))

    assert report.rejected == 1
    assert report.applied == 1
    assert [(r.event_id, r.code, r.tracking_no) for r in target.rejected] == [
        (stray.event_id, "erp.unknown_tracking_no", "JH404")]
    assert "JH404" in target.rejected[0].reason
    assert target.has_seen(stray.event_id)


def test_an_order_released_without_an_answer_is_linked_by_its_contract_number(events, make_page):
    target = InMemoryErpSyncTarget()
    target.add_order("HT-2026-000001")  # the ERP committed, then timed out before answering
    applier = ErpEventApplier(target)

    applier.apply_page(make_page(events.status("JH7", "scheduled", contract_no="HT-2026-000001")))

    assert target.orders["HT-2026-000001"].tracking_no == "JH7"
    assert target.order("JH7").status is ErpOrderStatus.SCHEDULED


def test_stock_in_creates_the_vehicle_with_its_vin_once(events, make_page):
    target = _target("JH1")
    applier = ErpEventApplier(target)
    vin = Vin.build("LA9", "ZZX3D", "T", "B", "000042")

    applier.apply_page(make_page(events.stock_in("JH1", vin), events.stock_in("JH1", vin)))

    assert list(target.vehicles) == [vin.value]
    assert target.vehicles[vin.value].tracking_no == "JH1"
    assert target.vehicles[vin.value].state == "in_factory_stock"


def test_a_vin_already_on_another_order_is_rejected_with_the_targets_reason(events, make_page):
    target = _target("JH1", "JH2")
    applier = ErpEventApplier(target)
    vin = Vin.build("LA9", "ZZX3D", "T", "B", "000042")

    report = applier.apply_page(make_page(events.stock_in("JH1", vin), events.stock_in("JH2", vin)))

    assert target.vehicles[vin.value].tracking_no == "JH1"
    assert report.rejected == 1
    assert target.rejected[0].code == "erp.vin_conflict"


def test_change_records_are_attached_once_per_change_id(events, make_page):
    target = _target("JH1")
    applier = ErpEventApplier(target)

    applier.apply_page(make_page(events.change("JH1", "BG1"), events.change("JH1", "BG1"),
                                 events.change("JH1", "BG2")))

    assert sorted(target.order("JH1").changes) == ["BG1", "BG2"]


def test_a_payment_is_booked_once_per_erp_payment_id(events, make_page):
    target = _target("JH1")
    applier = ErpEventApplier(target)

    applier.apply_page(make_page(events.payment("SK1", "HT-2026-000001", 500_000_00),
                                 events.payment("SK1", "HT-2026-000001", 500_000_00)))

    assert list(target.payments) == ["SK1"]
    assert target.payments["SK1"].amount.fen == 500_000_00


def test_a_payment_for_an_unknown_contract_is_rejected(events, make_page):
    target = _target("JH1")
    applier = ErpEventApplier(target)

    report = applier.apply_page(make_page(events.payment("SK9", "HT-9999-000009", 100)))

    assert report.rejected == 1
    assert target.payments == {}
    assert target.rejected[0].code == "erp.unknown_contract"


def test_an_unreadable_event_is_rejected_and_the_rest_of_the_page_applied(events, make_page):
    target = _target("JH1")
    applier = ErpEventApplier(target)
    garbled = ErpUnreadableEvent(event_id="ev-x", seq=50, type="vehicle_stocked_in", reason="vin.check_digit")

    report = applier.apply_page(make_page(garbled, events.status("JH1", "scheduled"), cursor="50"))

    assert report.rejected == 1
    assert report.applied == 1
    assert target.rejected[0].code == "erp.event_unreadable"
    assert target.cursor == "50"


def test_replaying_a_page_after_a_crash_changes_nothing(events, make_page):
    target = _target("JH1")
    applier = ErpEventApplier(target)
    feed = make_page(events.status("JH1", "scheduled"), events.status("JH1", "in_production", 20),
                     events.stock_in("JH1"), events.change("JH1", "BG1"))
    applier.apply_page(feed)
    before = target.snapshot()

    report = applier.apply_page(feed)

    assert target.snapshot() == before
    assert report.duplicates == 4
    assert report.applied == 0
