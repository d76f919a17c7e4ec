"""The demo on a fresh SQLite file shows the whole order flow: every state from draft to stocked,
an order in review with two departments decided, a finance rejection with its reason, a release
waiting in the outbox, an order released to the simulated ERP whose timeline has the ERP steps
and whose vehicles are in factory stock, and a change request waiting for review. Loading it
again changes nothing, and the simulated ERP's book beside the database can be served on."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest

import dealercrm
from dealercrm.adapters.erp.memory import InMemoryErpGateway
from dealercrm.adapters.notify.sql_outbox import SqlAlchemyOutboxStore
from dealercrm.application.erp_jobs import run_erp_sync
from dealercrm.application.erp_release import ErpReleaseDeliverer
from dealercrm.application.reads.orders import OrderSummaryRow
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal
from dealercrm.domain.notifications import Channel
from dealercrm.domain.values import Vin
from dealercrm.entrypoints.demo import load_demo
from dealercrm.entrypoints.demo_order_flow import walk_order_flow_demo

from .flow_kit import worker_relay

pytestmark = pytest.mark.slow
SYSTEM = Principal.system()
EVERY_STATE = {"draft", "awaiting_quote", "quoted", "submitted", "in_review", "returned", "contract_signing",
               "finance_review", "finance_rejected", "awaiting_release", "in_production", "stocked", "cancelled"}


def _open(db):
    return dealercrm.bootstrap(load_settings({}, database_url=f"sqlite:///{db}", log_level="WARNING",
                                             jwt_secret="o" * 48))


@pytest.fixture(scope="module")
def demo(tmp_path_factory, _sqlite_template):
    """The demo loaded once into a fresh SQLite file, then loaded again."""
    folder = tmp_path_factory.mktemp("order-demo")
    db = folder / "dealercrm.db"
    shutil.copyfile(_sqlite_template, db)
    crm = _open(db)
    try:
        logins = load_demo(crm)
        orders_after_first = crm.orders.list_orders(SYSTEM, {}, None, 500)
        again = load_demo(crm), walk_order_flow_demo(crm)
        orders_after_again = crm.orders.list_orders(SYSTEM, {}, None, 500)
    finally:
        crm.close()
    return {"db": db, "logins": logins, "again": again, "first": orders_after_first, "second": orders_after_again}


@pytest.fixture
def crm(demo):
    c = _open(demo["db"])
    yield c
    c.close()


def _one(crm, state: str, **match: object) -> OrderSummaryRow:
    rows = [o for o in crm.orders.list_orders(SYSTEM, {"states": [state]}, None, 50)
            if all(getattr(o, k) == v for k, v in match.items())]
    assert rows, state
    return rows[0]


def test_the_demo_shows_every_order_state_and_loads_only_once(demo, crm):
    assert demo["logins"] and demo["again"] == ([], {})
    assert demo["second"] == demo["first"]
    assert EVERY_STATE <= {o.state for o in demo["first"]}

    users = {u["id"]: u["username"] for u in crm.identity.list_users(SYSTEM, limit=1000)}
    decided = {}
    for row in crm.orders.list_orders(SYSTEM, {"states": ["in_review"]}, None, 50):
        [review] = crm.order_flow.review(SYSTEM, row.id)
        decided[row.id] = {s["key"]: users.get(s["decided_by_id"]) for s in review["steps"] if s["status"] != "open"}
    assert {"procurement": "procurement", "technical": "technical"} in decided.values()

    rejected = _one(crm, "finance_rejected")
    [event] = [e for e in crm.orders.timeline(SYSTEM, rejected.id) if e.kind == "finance_rejected"]
    assert "开票信息有误" in event.summary and event.actor_name == "finance"

    waiting = _one(crm, "awaiting_release")
    queued = SqlAlchemyOutboxStore(crm.engine).by_idempotency_key(f"erp.release:contract:{waiting.contract_no}")
    assert queued is not None and queued.channel is Channel.ERP and str(queued.status) == "pending"

    producing = _one(crm, "in_production")
    [change] = crm.order_flow.changes(SYSTEM, producing.id)
    assert change["status"] == "pending" and change["contract_no"] == producing.contract_no


def test_the_released_order_went_through_the_erp_into_factory_stock(crm):
    stocked = _one(crm, "stocked")
    kinds = Counter(e.kind for e in crm.orders.timeline(SYSTEM, stocked.id))
    assert {k: kinds[k] for k in ("review_step", "contract_issued", "contract_accepted", "finance_approved",
                                  "credit_reserved", "erp_released", "vehicle_stocked_in", "stocked_in")} == {
        "review_step": 4, "contract_issued": 1, "contract_accepted": 1, "finance_approved": 1, "credit_reserved": 1,
        "erp_released": 1, "vehicle_stocked_in": stocked.quantity, "stocked_in": 1}
    assert kinds["production_progressed"] >= 3  # scheduled, in production …, inspected
    assert stocked.erp_tracking_no.startswith("JH")

    vehicles = crm.gate.list_vehicles(SYSTEM, erp_tracking_no=stocked.erp_tracking_no, limit=50)
    assert len(vehicles) == stocked.quantity
    assert all(str(v["state"]) == "in_factory_stock" and v["dealer_id"] == stocked.dealer_id
               and v["contract_no"] == stocked.contract_no and Vin(str(v["vin"])).value == str(v["vin"])
               for v in vehicles)

    producing = _one(crm, "in_production", dealer_id=stocked.dealer_id)
    progress = [e for e in crm.orders.timeline(SYSTEM, producing.id) if e.kind == "production_progressed"]
    assert producing.erp_tracking_no and progress and not crm.gate.list_vehicles(
        SYSTEM, erp_tracking_no=producing.erp_tracking_no, limit=5)


def test_a_worker_on_the_demo_erp_book_releases_the_queued_order_without_clashing(demo, tmp_path):
    """``dealercrm erp-sim --state <db>.erp-sim.sqlite3`` serves this same book: tracking numbers
    and the sync cursor carry on where the demo left them."""
    db = tmp_path / "dealercrm.db"
    shutil.copyfile(demo["db"], db)
    shutil.copyfile(demo["db"].with_name("dealercrm.erp-sim.sqlite3"), tmp_path / "dealercrm.erp-sim.sqlite3")
    crm = _open(db)
    erp = InMemoryErpGateway(seed=None, clock=crm.clock, path=str(tmp_path / "dealercrm.erp-sim.sqlite3"))
    try:
        synced = crm.orders.list_orders(SYSTEM, {"states": ["stocked", "in_production"]}, None, 50)
        released = {o.erp_tracking_no for o in synced}
        assert {o["tracking_no"] for o in erp.orders()} == released
        waiting = _one(crm, "awaiting_release")
        relay = worker_relay(crm, {Channel.ERP: ErpReleaseDeliverer(crm.uow, erp, crm.clock)})
        while relay.run_once("test").claimed:
            pass
        now_released = crm.orders.detail(SYSTEM, waiting.id)
        assert str(now_released["state"]) == "released" and now_released["erp_tracking_no"] not in released

        erp.advance(tracking_no=now_released["erp_tracking_no"], until="in_production")
        report = run_erp_sync(erp, crm.erp_sync_target)
        assert report.applied >= 2 and report.duplicates == 0 and report.rejected == 0
        assert str(crm.orders.detail(SYSTEM, waiting.id)["state"]) == "in_production"
    finally:
        erp.close()
        crm.close()
