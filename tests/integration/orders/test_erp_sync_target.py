"""The SQL ``ErpSyncTarget`` with hand-made feeds (the ERP twin in memory): duplicates inside and
across pages, stale and reordered status, stock-in and status of one order in one page, an
aborted page replayed — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from dealercrm.adapters.db.gate_tables import vehicles
from dealercrm.adapters.db.orderflow_tables import erp_seen_events
from dealercrm.adapters.erp.memory import InMemoryErpGateway
from dealercrm.application.erp_sync import ErpEventApplier
from dealercrm.application.ports.erp import ErpEventPage, ErpStatusChanged, ErpVehicleStockedIn
from dealercrm.domain.values import Vin

from .flow_kit import Flow, grant_credit, worker_relay

T0 = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)
VINS = tuple(Vin.build("LGH", "TL240", "R", "A", f"{n:06d}").value for n in (1, 2))


@pytest.fixture
def released(db_url):
    with Flow(db_url, erp_gateway=InMemoryErpGateway(seed=5)) as flow:
        grant_credit(flow.crm, flow.dealer_id, 5_000_000_00)
        order_id, tracking_no = flow.release(quantity=2)
        yield flow, order_id, tracking_no


def status(n: int, tracking_no: str, state: str, percent: int, order_seq: int, event_id: str | None = None):
    return ErpStatusChanged(event_id=event_id or f"ev-{n}", seq=n, tracking_no=tracking_no, contract_no=None,
                            order_seq=order_seq, occurred_at=T0 + dt.timedelta(minutes=n), status=state,
                            percent=percent)


def stock(n: int, tracking_no: str, vin: str, line: int):
    return ErpVehicleStockedIn(event_id=f"ev-{n}", seq=n, tracking_no=tracking_no, contract_no=None, order_seq=100 + n,
                               occurred_at=T0 + dt.timedelta(minutes=n), vin=Vin(vin), line_no=line,
                               stocked_at=T0 + dt.timedelta(minutes=n))


def apply(flow, *pages):
    with flow.crm.erp_sync_target() as target:
        applier = ErpEventApplier(target)
        return [applier.apply_page(ErpEventPage(tuple(p), f"c{i}", False)) for i, p in enumerate(pages, 1)]


def test_duplicates_stale_updates_and_a_mixed_page_end_in_one_consistent_state(released):
    flow, order_id, t = released
    first = [status(1, t, "scheduled", 0, 1), status(2, t, "in_production", 20, 2),
             status(3, t, "in_production", 20, 2, event_id="ev-2"),  # the same event again, new seq
             status(4, t, "in_production", 50, 3)]
    second = [status(5, t, "in_production", 30, 2, event_id="ev-late"),  # older, arrived late
              status(6, t, "in_production", 80, 4), stock(7, t, VINS[0], 1), status(8, t, "in_production", 90, 5),
              stock(9, t, VINS[1], 1), stock(10, t, VINS[1], 1), status(11, t, "stocked", 100, 6)]

    reports = apply(flow, first, second, first)  # the first page replayed at the end: all duplicates

    assert [(r.applied, r.duplicates, r.stale) for r in reports] == [(3, 1, 0), (6, 0, 1), (0, 4, 0)]
    detail = flow.order(order_id)
    assert detail["state"] == "stocked" and detail["production_percent"] == 100
    timeline = flow.timeline(order_id)
    kinds = [e["kind"] for e in timeline if e["kind"] in ("production_progressed", "vehicle_stocked_in",
                                                          "stocked_in")]
    assert kinds == ["production_progressed", "production_progressed", "production_progressed",
                     "production_progressed", "vehicle_stocked_in", "production_progressed", "vehicle_stocked_in",
                     "stocked_in"]
    assert [e["id"] for e in timeline] == sorted(e["id"] for e in timeline)
    with flow.crm.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(vehicles)
                            .where(vehicles.c.erp_tracking_no == t)).scalar_one() == 2


def test_an_aborted_page_leaves_nothing_and_is_applied_when_replayed(released):
    flow, order_id, t = released
    target = flow.crm.erp_sync_target()
    applier = ErpEventApplier(target)
    applier.apply(status(1, t, "in_production", 10, 1))
    applier.apply(stock(2, t, VINS[0], 1))
    target.close()  # the page never reached set_cursor (the sync crashed)

    with flow.crm.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(erp_seen_events)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(vehicles)).scalar_one() == 0
    assert flow.order(order_id)["state"] == "released"

    apply(flow, [status(1, t, "in_production", 10, 1), stock(2, t, VINS[0], 1)])
    assert flow.order(order_id)["state"] == "in_production"


class RefusingErp(InMemoryErpGateway):
    """An ERP that refuses every sales order (4xx), or is down (5xx) for the first ``down`` calls."""

    def __init__(self, *, refuse: bool, down: int = 0) -> None:
        super().__init__(seed=1)
        self.refuse, self.down, self.calls = refuse, down, 0

    def create_sales_order(self, order, idempotency_key):  # type: ignore[no-untyped-def]
        from dealercrm.application.ports.erp import ErpRejected, ErpUnavailable

        self.calls += 1
        if self.calls <= self.down:
            raise ErpUnavailable("503 Service Unavailable")
        if self.refuse:
            raise ErpRejected("经销商编码未在ERP中建档", erp_code="dealer_unknown", status=422)
        return super().create_sales_order(order, idempotency_key)


@pytest.mark.parametrize(("refuse", "down", "status", "code", "order_state"), [
    (True, 0, "failed", "notify.rejected", "awaiting_release"),
    (False, 2, "sent", None, "released"),
])
def test_the_release_retries_while_the_erp_is_down_and_fails_for_good_when_it_refuses(
        db_url, refuse, down, status, code, order_state):
    from dealercrm.adapters.notify.sql_outbox import notification_outbox

    gateway = RefusingErp(refuse=refuse, down=down)
    with Flow(db_url, erp_gateway=gateway) as flow:
        grant_credit(flow.crm, flow.dealer_id, 5_000_000_00)
        order_id = flow.to_finance(quantity=1)
        assert flow.finance_approve(order_id).status_code == 200
        relay = worker_relay(flow.crm)
        for _ in range(4):
            relay.run_once("w")
        with flow.crm.engine.connect() as conn:
            row = conn.execute(select(notification_outbox.c.status, notification_outbox.c.last_error_code,
                                      notification_outbox.c.last_error)
                               .where(notification_outbox.c.channel == "erp")).one()
        assert row.status == status and flow.order(order_id)["state"] == order_state
        if code:
            assert row.last_error_code == code and "经销商编码未在ERP中建档" in row.last_error
        assert len(gateway.orders()) == (0 if refuse else 1)


def test_a_worker_without_erp_settings_leaves_the_release_for_one_that_has_them(db_url):
    from dealercrm.adapters.notify.sql_outbox import notification_outbox

    with Flow(db_url) as flow:  # no DEALERCRM_ERP_URL: no ERP deliverer
        grant_credit(flow.crm, flow.dealer_id, 5_000_000_00)
        order_id = flow.to_finance(quantity=1)
        assert flow.finance_approve(order_id).status_code == 200
        assert flow.crm.outbox_deliverers() == {}
        stats = worker_relay(flow.crm).run_once("w")
        with flow.crm.engine.connect() as conn:
            row = conn.execute(select(notification_outbox.c.status, notification_outbox.c.attempts)
                               .where(notification_outbox.c.channel == "erp")).one()
        assert stats.deferred == 1 and (row.status, row.attempts) == ("pending", 0)
        assert flow.order(order_id)["state"] == "awaiting_release"


def test_the_erp_inspection_is_a_step_before_stock_in_and_the_stocked_order_no_longer_shows_it(released):
    flow, order_id, t = released
    production = [status(1, t, "in_production", 100, 1), status(2, t, "inspected", 100, 2)]
    stocking = [stock(3, t, VINS[0], 1), stock(4, t, VINS[1], 1), status(5, t, "stocked", 100, 3)]

    apply(flow, production)
    inspected = flow.order(order_id)
    apply(flow, stocking)

    assert (inspected["state"], inspected["production_status"]) == ("in_production", "已检验")
    detail = flow.order(order_id)
    assert (detail["state"], detail["production_status"], detail["production_percent"]) == ("stocked", "已入库", 100)
    kinds = [e["kind"] for e in flow.timeline(order_id)
             if e["kind"] in ("production_progressed", "inspected", "vehicle_stocked_in", "stocked_in")]
    assert kinds == ["production_progressed", "inspected", "vehicle_stocked_in", "vehicle_stocked_in", "stocked_in"]


def test_an_inspection_reported_in_the_page_that_stocks_the_order_in_comes_first_on_the_timeline(released):
    flow, order_id, t = released

    apply(flow, [status(1, t, "in_production", 100, 1), status(2, t, "inspected", 100, 2),
                 stock(3, t, VINS[0], 1), stock(4, t, VINS[1], 1), status(5, t, "stocked", 100, 3)])

    detail = flow.order(order_id)
    assert (detail["state"], detail["production_status"]) == ("stocked", "已入库")
    kinds = [e["kind"] for e in flow.timeline(order_id) if e["kind"] in ("inspected", "stocked_in")]
    assert kinds == ["inspected", "stocked_in"]
