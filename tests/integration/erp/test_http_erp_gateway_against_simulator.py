from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from dealercrm.adapters.erp.http_gateway import HttpErpGateway
from dealercrm.application.erp_sync import InMemoryErpSyncTarget, sync_erp_events
from dealercrm.application.ports.erp import (
    ErpChangeRequest,
    ErpOrderLine,
    ErpOrderStatus,
    ErpRejected,
    ErpSalesOrder,
    ErpUnavailable,
    ErpUnknownOrder,
    ErpVehicleStockedIn,
)
from dealercrm.domain.values import Money, Vin


def _order(n: int = 1, quantity: int = 2) -> ErpSalesOrder:
    contract_no = f"HT-2026-{n:06d}"
    return ErpSalesOrder(
        contract_no=contract_no, order_no=f"SO-2026-{n:06d}", dealer_code="D001",
        lines=(ErpOrderLine(1, "tanker", "GJY-30", quantity, Money(35_000_000), "30方运油罐车", ("ABS", "防溢流")),
               ErpOrderLine(2, "dump_truck", "ZZX-25", 1, Money(28_000_000))),
        end_customer="某某危化品运输有限公司")


def test_releasing_an_order_returns_an_erp_tracking_number(gateway, erp_sim):
    ack = gateway.create_sales_order(_order(), "HT-2026-000001")

    assert ack.tracking_no.startswith("JH")
    assert ack.status is ErpOrderStatus.SCHEDULED
    assert [o["tracking_no"] for o in erp_sim.orders()] == [ack.tracking_no]


def test_a_repeated_idempotency_key_returns_the_same_tracking_number_and_no_second_order(gateway, erp_sim):
    first = gateway.create_sales_order(_order(), "HT-2026-000001")

    second = gateway.create_sales_order(_order(), "HT-2026-000001")

    assert second.tracking_no == first.tracking_no
    assert second.replayed
    assert len(erp_sim.orders("HT-2026-000001")) == 1


@pytest.mark.slow
def test_a_timeout_after_the_erp_committed_then_a_retry_leaves_exactly_one_erp_order(gateway, erp_sim):
    erp_sim.faults(timeout_after_commit=1, timeout_mode="hang", hang_seconds=3)

    with pytest.raises(ErpUnavailable) as caught:
        gateway.create_sales_order(_order(), "HT-2026-000001")
    ack = gateway.create_sales_order(_order(), "HT-2026-000001")

    assert caught.value.code == "erp.timeout"
    assert ack.replayed
    assert [o["tracking_no"] for o in erp_sim.orders()] == [ack.tracking_no]


def test_a_connection_dropped_after_the_erp_committed_then_a_retry_leaves_exactly_one_erp_order(gateway, erp_sim):
    erp_sim.faults(timeout_after_commit=1, timeout_mode="drop")

    with pytest.raises(ErpUnavailable):
        gateway.create_sales_order(_order(), "HT-2026-000001")
    ack = gateway.create_sales_order(_order(), "HT-2026-000001")

    assert [o["tracking_no"] for o in erp_sim.orders()] == [ack.tracking_no]


def test_a_gateway_with_retries_rides_out_a_drop_after_commit_with_one_erp_order(erp_sim):
    erp_sim.faults(timeout_after_commit=2, timeout_mode="drop")

    with HttpErpGateway(erp_sim.base_url, erp_sim.api_key, timeout=2.0, max_attempts=3, backoff_seconds=0.01) as gateway:
        ack = gateway.create_sales_order(_order(), "HT-2026-000001")

    assert ack.replayed
    assert len(erp_sim.orders()) == 1


def test_a_500_from_the_erp_is_unavailable_and_changes_nothing(gateway, erp_sim):
    erp_sim.faults(error_500_next=1)

    with pytest.raises(ErpUnavailable) as caught:
        gateway.create_sales_order(_order(), "HT-2026-000001")

    assert caught.value.details["status"] == 500
    assert erp_sim.orders() == []
    assert gateway.create_sales_order(_order(), "HT-2026-000001").tracking_no


def test_production_progresses_to_stocked_with_stock_in_events_carrying_valid_vins(gateway, erp_sim):
    ack = gateway.create_sales_order(_order(quantity=3), "HT-2026-000001")

    erp_sim.advance(until="stocked")
    state = gateway.get_order(ack.tracking_no)
    stocked_in = [e for e in gateway.fetch_events(None, 1000).events if isinstance(e, ErpVehicleStockedIn)]

    assert state.status is ErpOrderStatus.STOCKED
    assert state.quantity == 4
    assert len(stocked_in) == 4
    assert {e.vin for e in stocked_in} == set(state.vins)
    assert all(Vin(e.vin.value) == e.vin and e.vin.value.startswith("LA9") for e in stocked_in)
    assert {e.line_no for e in stocked_in} == {1, 2}


def test_an_unknown_tracking_number_is_an_unknown_order(gateway):
    with pytest.raises(ErpUnknownOrder):
        gateway.get_order("JH2099000404")


def test_a_forwarded_change_is_recorded_once_and_appears_in_the_feed(gateway, erp_sim):
    ack = gateway.create_sales_order(_order(), "HT-2026-000001")
    change = ErpChangeRequest("CR-2026-000001", "罐体由碳钢改为铝合金")

    first = gateway.forward_change(ack.tracking_no, change, change.change_no)
    again = gateway.forward_change(ack.tracking_no, change, change.change_no)

    assert again.change_id == first.change_id
    feed = gateway.fetch_events(None, 100).events
    assert [e.change_id for e in feed if type(e).__name__ == "ErpChangeRecorded"] == [first.change_id]


def test_a_wrong_api_key_is_rejected_not_retried(erp_sim):
    with HttpErpGateway(erp_sim.base_url, "wrong", timeout=2.0) as gateway, pytest.raises(ErpRejected) as caught:
        gateway.fetch_events(None, 10)

    assert caught.value.status == 401
    assert caught.value.erp_code == "unauthorized"


@pytest.mark.parametrize("body, headers, status, code", [
    (b"{not json", {"Idempotency-Key": "HT-1", "Content-Type": "application/json"}, 400, "malformed_json"),
    (b"[" * 100_000, {"Idempotency-Key": "HT-1"}, 400, "malformed_json"),
    (b'{"contract_no": "HT-1"}', {}, 400, "idempotency_key_missing"),
    (b'{"contract_no": "HT-1"}', {"Idempotency-Key": "HT-1"}, 422, "validation_failed"),
])
def test_bad_requests_get_a_documented_error_body_and_create_nothing(erp_sim, body, headers, status, code):
    response = httpx.post(f"{erp_sim.base_url}/erp/v1/sales-orders", content=body,
                          headers={"Authorization": f"Bearer {erp_sim.api_key}", **headers}, timeout=5.0)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert erp_sim.orders() == []


def test_a_duplicated_and_reordered_feed_syncs_to_exactly_the_erps_state(gateway, erp_sim):
    erp_sim.faults(duplicate_events=0.4, reorder_events=True)
    target = InMemoryErpSyncTarget()
    tracking = []
    for n in range(1, 7):
        order = _order(n, quantity=n % 3 + 1)
        target.add_order(order.contract_no, dealer_code="D001")
        tracking.append(gateway.create_sales_order(order, order.contract_no).tracking_no)
    erp_sim.pay(dealer_code="D001", contract_no="HT-2026-000003", amount_fen=2_000_000_00, erp_payment_id="SK-77")
    duplicates = stale = 0

    for _ in range(14):
        erp_sim.advance(1)
        report = sync_erp_events(gateway, target, page_size=5)
        duplicates, stale = duplicates + report.duplicates, stale + report.stale

    assert duplicates > 0
    for tracking_no in tracking:
        theirs = gateway.get_order(tracking_no)
        ours = target.order(tracking_no)
        assert (ours.status, ours.percent) == (theirs.status, theirs.percent)
        assert {v for v, car in target.vehicles.items() if car.tracking_no == tracking_no} == {
            v.value for v in theirs.vins}
    assert len(target.vehicles) == sum(len(gateway.get_order(t).vins) for t in tracking)
    assert list(target.payments) == ["SK-77"]
    assert target.rejected == []


def test_events_for_orders_we_never_released_are_recorded_as_rejected(gateway, erp_sim):
    ours = gateway.create_sales_order(_order(1), "HT-2026-000001")
    gateway.create_sales_order(_order(2), "HT-2026-000002")  # released by someone else
    target = InMemoryErpSyncTarget()
    target.add_order("HT-2026-000001", ours.tracking_no)

    sync_erp_events(gateway, target)

    assert target.order(ours.tracking_no).status is ErpOrderStatus.SCHEDULED
    assert [r.code for r in target.rejected] == ["erp.unknown_tracking_no"]


@pytest.mark.slow
def test_orders_and_the_feed_survive_a_simulator_restart(launch_simulator, tmp_path):
    state = tmp_path / "restart.sqlite3"
    first = launch_simulator(state=state)
    with HttpErpGateway(first.base_url, first.api_key, timeout=5.0) as gateway:
        ack = gateway.create_sales_order(_order(), "HT-2026-000001")
    first.advance(3)
    first.stop()

    second = launch_simulator(state=state)
    with HttpErpGateway(second.base_url, second.api_key, timeout=5.0) as gateway:
        again = gateway.create_sales_order(_order(), "HT-2026-000001")
        feed = gateway.fetch_events(None, 100)

    assert again.tracking_no == ack.tracking_no
    assert again.replayed
    assert len(feed.events) == 4
    assert [e.seq for e in feed.events] == [1, 2, 3, 4]


@pytest.mark.slow
def test_with_a_speed_production_advances_on_its_own(launch_simulator):
    sim = launch_simulator("--speed", "50")
    with HttpErpGateway(sim.base_url, sim.api_key, timeout=5.0) as gateway:
        ack = gateway.create_sales_order(_order(), "HT-2026-000001")
        status = ErpOrderStatus.SCHEDULED
        for _ in range(200):  # bounded: 200 polls
            status = gateway.get_order(ack.tracking_no).status
            if status is ErpOrderStatus.STOCKED:
                break
            time.sleep(0.05)

    assert status is ErpOrderStatus.STOCKED


def test_concurrent_releases_with_one_idempotency_key_make_one_erp_order_and_identical_answers(erp_sim):
    def release(_: int) -> str:
        with HttpErpGateway(erp_sim.base_url, erp_sim.api_key, timeout=10.0) as gateway:
            return gateway.create_sales_order(_order(), "HT-2026-000001").tracking_no

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(release, range(20)))

    assert len(set(answers)) == 1
    assert len(erp_sim.orders()) == 1


def test_a_sync_between_a_timed_out_release_and_its_retry_links_the_order_by_contract(gateway, erp_sim):
    erp_sim.faults(timeout_after_commit=1, timeout_mode="drop")
    target = InMemoryErpSyncTarget()
    target.add_order("HT-2026-000001", dealer_code="D001")  # released, answer lost
    with pytest.raises(ErpUnavailable):
        gateway.create_sales_order(_order(), "HT-2026-000001")
    erp_sim.advance(2)

    sync_erp_events(gateway, target)
    ack = gateway.create_sales_order(_order(), "HT-2026-000001")

    assert target.orders["HT-2026-000001"].tracking_no == ack.tracking_no
    assert target.order(ack.tracking_no).status is gateway.get_order(ack.tracking_no).status
    assert target.rejected == []
