from __future__ import annotations

import pytest

from dealercrm.adapters.erp.http_gateway import HttpErpGateway
from dealercrm.adapters.erp.simulator import DEFAULT_API_KEY, start_erp_simulator
from dealercrm.application.ports.erp import ErpOrderLine, ErpSalesOrder, ErpUnavailable
from dealercrm.domain.values import Money


@pytest.fixture
def running(tmp_path):  # type: ignore[no-untyped-def]
    sim = start_erp_simulator(state_path=str(tmp_path / "erp.sqlite3"), faults={"error_500_next": 1}, seed=5)
    yield sim
    sim.close()


def test_an_in_process_simulator_serves_the_api_with_its_start_up_faults(running):
    order = ErpSalesOrder("HT-2026-000001", "SO-2026-000001", "D001",
                          (ErpOrderLine(1, "semi_trailer", "BG-13", 1, Money(12_000_000)),))

    with HttpErpGateway(running.base_url, DEFAULT_API_KEY, timeout=5.0) as gateway:
        with pytest.raises(ErpUnavailable):
            gateway.create_sales_order(order, order.contract_no)
        ack = gateway.create_sales_order(order, order.contract_no)
        running.engine.advance(until="stocked")
        state = gateway.get_order(ack.tracking_no)

    assert len(state.vins) == 1
    assert state.vins[0].value.startswith("LA99GB4C")
