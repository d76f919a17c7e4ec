from __future__ import annotations

import pytest

from dealercrm.adapters.erp.memory import InMemoryErpGateway
from dealercrm.application.erp_sync import InMemoryErpSyncTarget, sync_erp_events
from dealercrm.application.ports.erp import (
    ErpChangeRequest,
    ErpOrderLine,
    ErpOrderStatus,
    ErpRejected,
    ErpSalesOrder,
    ErpStatusChanged,
    ErpUnavailable,
    ErpUnknownOrder,
    ErpVehicleStockedIn,
)
from dealercrm.domain.values import Money, Vin


def _order(contract_no: str = "HT-2026-000001", tanker_qty: int = 2, trailer_qty: int = 1,
           remarks: str = "") -> ErpSalesOrder:
    return ErpSalesOrder(
        contract_no=contract_no, order_no=contract_no.replace("HT", "SO"), dealer_code="D001",
        lines=(ErpOrderLine(1, "tanker", "GJY-30", tanker_qty, Money(35_000_000), "30方运油罐车"),
               ErpOrderLine(2, "semi_trailer", "BG-13", trailer_qty, Money(12_000_000), "13米半挂")),
        remarks=remarks)


@pytest.fixture
def erp() -> InMemoryErpGateway:
    gateway = InMemoryErpGateway(seed=7)
    yield gateway
    gateway.close()


def test_releasing_an_order_returns_an_erp_tracking_number(erp):
    ack = erp.create_sales_order(_order(), "HT-2026-000001")

    assert ack.tracking_no.startswith("JH")
    assert ack.status is ErpOrderStatus.SCHEDULED
    assert not ack.replayed


def test_the_same_idempotency_key_returns_the_same_tracking_number_and_no_second_order(erp):
    first = erp.create_sales_order(_order(), "HT-2026-000001")

    second = erp.create_sales_order(_order(), "HT-2026-000001")

    assert second.tracking_no == first.tracking_no
    assert second.replayed
    assert len(erp.orders()) == 1


def test_the_same_key_with_a_different_order_is_rejected(erp):
    erp.create_sales_order(_order(), "HT-2026-000001")

    with pytest.raises(ErpRejected) as caught:
        erp.create_sales_order(_order(remarks="加装防溢流"), "HT-2026-000001")

    assert caught.value.erp_code == "idempotency_key_reused"
    assert len(erp.orders()) == 1


def test_a_contract_released_again_under_another_key_is_rejected_with_the_existing_tracking_number(erp):
    first = erp.create_sales_order(_order(), "HT-2026-000001")

    with pytest.raises(ErpRejected) as caught:
        erp.create_sales_order(_order(), "another-key")

    assert caught.value.status == 409
    assert caught.value.details["erp_details"]["tracking_no"] == first.tracking_no


def test_a_timeout_after_commit_is_retried_safely_into_exactly_one_order(erp):
    erp.set_faults(timeout_after_commit=1)

    with pytest.raises(ErpUnavailable):
        erp.create_sales_order(_order(), "HT-2026-000001")
    ack = erp.create_sales_order(_order(), "HT-2026-000001")

    assert ack.replayed
    assert [o["tracking_no"] for o in erp.orders()] == [ack.tracking_no]


def test_a_500_is_unavailable_and_creates_nothing(erp):
    erp.set_faults(error_500_next=1)

    with pytest.raises(ErpUnavailable):
        erp.create_sales_order(_order(), "HT-2026-000001")

    assert erp.orders() == []


def test_production_runs_to_stocked_with_one_valid_vin_per_vehicle(erp):
    ack = erp.create_sales_order(_order(tanker_qty=2, trailer_qty=3), "HT-2026-000001")

    erp.advance(until="stocked")
    state = erp.get_order(ack.tracking_no)
    feed = erp.fetch_events(None, 1000).events

    assert state.status is ErpOrderStatus.STOCKED
    assert len(state.vins) == 5
    assert all(isinstance(v, Vin) for v in state.vins)
    assert {e.vin for e in feed if isinstance(e, ErpVehicleStockedIn)} == set(state.vins)
    statuses = [(e.status, e.percent) for e in feed if isinstance(e, ErpStatusChanged)]
    assert statuses[0] == (ErpOrderStatus.SCHEDULED, 0)
    assert statuses[-2:] == [(ErpOrderStatus.INSPECTED, 100), (ErpOrderStatus.STOCKED, 100)]
    percents = [p for s, p in statuses if s is ErpOrderStatus.IN_PRODUCTION]
    assert percents == sorted(percents) and percents[-1] == 100


def test_an_unknown_tracking_number_is_reported_as_unknown_order(erp):
    with pytest.raises(ErpUnknownOrder):
        erp.get_order("JH2026999999")


def test_a_forwarded_change_is_recorded_once_per_key(erp):
    ack = erp.create_sales_order(_order(), "HT-2026-000001")
    change = ErpChangeRequest("CR-2026-0001", "罐体容积由30方改为32方")

    first = erp.forward_change(ack.tracking_no, change, "CR-2026-0001")
    again = erp.forward_change(ack.tracking_no, change, "CR-2026-0001")

    assert again.change_id == first.change_id
    assert again.replayed
    assert len([e for e in erp.fetch_events(None, 100).events if type(e).__name__ == "ErpChangeRecorded"]) == 1


def test_a_change_to_a_stocked_order_is_rejected(erp):
    ack = erp.create_sales_order(_order(), "HT-2026-000001")
    erp.advance(until="stocked")

    with pytest.raises(ErpRejected) as caught:
        erp.forward_change(ack.tracking_no, ErpChangeRequest("CR-1", "改色"), "CR-1")

    assert caught.value.erp_code == "order_closed"


def test_the_event_feed_pages_by_cursor_without_gaps(erp):
    erp.create_sales_order(_order(), "HT-2026-000001")
    erp.advance(until="stocked")
    everything = erp.fetch_events(None, 1000).events

    seen, cursor = [], None
    while True:
        page = erp.fetch_events(cursor, 3)
        seen += page.events
        cursor = page.next_cursor
        if not page.has_more:
            break

    assert [e.seq for e in seen] == [e.seq for e in everything]


def test_an_invalid_cursor_is_rejected(erp):
    with pytest.raises(ErpRejected) as caught:
        erp.fetch_events("not-a-cursor", 10)

    assert caught.value.erp_code == "invalid_cursor"


def test_syncing_a_faulty_feed_ends_with_local_state_equal_to_the_erps(erp):
    erp.set_faults(duplicate_events=0.3, reorder_events=True)
    target = InMemoryErpSyncTarget()
    acks = []
    for n in range(1, 6):
        order = _order(f"HT-2026-{n:06d}", tanker_qty=n % 3 + 1)
        target.add_order(order.contract_no, dealer_code="D001")
        acks.append(erp.create_sales_order(order, order.contract_no))
    erp.record_payment("D001", 1_000_000, "HT-2026-000002", "SK-1")

    duplicates = 0
    for _ in range(6):
        erp.advance(1)
        duplicates += sync_erp_events(erp, target, page_size=4).duplicates
    erp.advance(until="stocked")
    duplicates += sync_erp_events(erp, target, page_size=4).duplicates

    assert duplicates > 0
    for ack in acks:
        ours, theirs = target.order(ack.tracking_no), erp.get_order(ack.tracking_no)
        assert theirs.status is ErpOrderStatus.STOCKED
        assert (ours.status, ours.percent) == (theirs.status, theirs.percent)
        assert {v for v, car in target.vehicles.items() if car.tracking_no == ack.tracking_no} == {
            v.value for v in theirs.vins}
    assert list(target.payments) == ["SK-1"]
    assert target.rejected == []
