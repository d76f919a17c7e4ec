"""Issue 4's Done-when: the whole order path over HTTP against ``dealercrm erp-sim`` (a real
subprocess on loopback) with faults injected — submit → four reviews → contract PDF → accept →
finance (credit reserved) → the worker releases to ERP through the outbox (a timeout after the
ERP committed: still exactly one ERP order) → sync → in production → stocked, vehicles by VIN;
the timeline shows every step exactly once. Plus the ERP's bad input: unknown tracking
numbers, duplicated and reordered events."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from dealercrm.adapters.db.credit_tables import credit_payments
from dealercrm.adapters.db.orderflow_tables import erp_rejected_events
from dealercrm.adapters.erp.http_gateway import HttpErpGateway
from dealercrm.adapters.notify.sql_outbox import notification_outbox
from dealercrm.application.erp_jobs import run_erp_sync
from dealercrm.application.erp_release import ErpReleaseDeliverer
from dealercrm.application.outbox import OutboxRelay
from dealercrm.application.ports.erp import ErpOrderLine, ErpSalesOrder
from dealercrm.domain.notifications import Channel
from dealercrm.domain.values import Money, Vin

from ..erp.conftest import API_KEY, start_simulator
from .flow_kit import Flow, grant_credit, sha256, worker_relay

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    folder = tmp_path_factory.mktemp("erp-sim")
    process = start_simulator(folder / "erp.sqlite3", folder / "erp-sim.log")
    yield process
    process.stop()


@pytest.fixture
def flow(db_url, sim):
    sim.reset()
    with Flow(db_url, erp_url=sim.base_url, erp_api_key=API_KEY, erp_timeout_seconds=1.0) as f:
        grant_credit(f.crm, f.dealer_id, 5_000_000_00)
        yield f


def relay(flow: Flow) -> OutboxRelay:
    return worker_relay(flow.crm)


def erp_messages(flow: Flow) -> list[dict]:
    with flow.crm.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(notification_outbox).where(notification_outbox.c.channel == "erp"))]


def released_order(flow: Flow) -> tuple[int, str]:
    order_id = flow.to_finance(quantity=2)
    r = flow.finance_approve(order_id)
    assert r.status_code == 200, r.text
    return order_id, r.json()["contract_no"]


def test_the_whole_path_over_http_with_a_timeout_after_commit(flow, sim):
    ref = flow.submit_order(quantity=2)
    order_id = ref["id"]
    flow.approve_all(order_id)
    contract = flow.client.get(f"/api/v1/orders/{order_id}/contract", headers=flow.h("hongda")).json()
    pdf = flow.client.get(f"/api/v1/orders/{order_id}/contract.pdf", headers=flow.h("hongda")).content
    assert sha256(pdf) == contract["document_sha256"]
    assert flow.accept(order_id).status_code == 200
    approved = flow.finance_approve(order_id)
    assert approved.status_code == 200, approved.text
    credit_page = flow.client.get(f"/api/v1/credit/accounts/{flow.dealer_id}", headers=flow.h("fin_a")).json()
    assert contract["contract_no"] in str(credit_page)

    sim.faults(timeout_after_commit=1, timeout_mode="hang", hang_seconds=3)
    worker = relay(flow)
    first = worker.run_once("w1")  # the ERP commits, then never answers in time
    assert flow.order(order_id)["state"] == "awaiting_release"
    assert erp_messages(flow)[0]["status"] == "pending" and first.retried >= 1
    second = worker.run_once("w1")  # the retry with the same key gets the first answer back
    assert second.sent >= 1

    erp_orders = sim.orders(contract["contract_no"])
    assert len(erp_orders) == 1
    detail = flow.order(order_id)
    assert detail["state"] == "released" and detail["erp_tracking_no"] == erp_orders[0]["tracking_no"]
    assert erp_messages(flow)[0]["status"] == "sent"

    sim.faults(duplicate_events=0.5, reorder_events=True)
    sim.advance(until="in_production")
    flow.crm.engagement.run_scheduler_once()  # the ERP sync job registered in the worker's scheduler
    assert flow.order(order_id)["state"] == "in_production"

    sim.advance(until="stocked")
    flow.crm.engagement.run_scheduler_once()
    run_erp_sync(flow.crm.erp_gateway, flow.crm.erp_sync_target)  # nothing new: harmless

    detail = flow.order(order_id)
    assert detail["state"] == "stocked"
    vehicles = flow.client.get("/api/v1/vehicles/", headers=flow.h("admin"),
                               params={"dealer_id": flow.dealer_id}).json()
    items = vehicles["items"] if isinstance(vehicles, dict) else vehicles
    vins = [v["vin"] for v in items]
    assert len(vins) == 2 and all(Vin(v).value == v for v in vins)
    for vin in vins:
        one = flow.client.get(f"/api/v1/vehicles/{vin}", headers=flow.h("hongda"))
        assert one.status_code == 200 and one.json()["state"] == "in_factory_stock"
    kinds = Counter(e["kind"] for e in flow.timeline(order_id, "hongda"))
    assert {k: kinds[k] for k in ("submit", "start_review", "review_step", "review_passed", "contract_issued",
                                  "contract_accepted", "finance_approved", "credit_reserved", "erp_released",
                                  "vehicle_stocked_in", "stocked_in")} == {
        "submit": 1, "start_review": 1, "review_step": 4, "review_passed": 1, "contract_issued": 1,
        "contract_accepted": 1, "finance_approved": 1, "credit_reserved": 1, "erp_released": 1,
        "vehicle_stocked_in": 2, "stocked_in": 1}
    assert kinds["production_progressed"] >= 1


def test_the_sync_links_an_order_whose_release_answer_was_lost(flow, sim):
    order_id, contract_no = released_order(flow)
    sim.faults(timeout_after_commit=1, timeout_mode="drop")
    relay(flow).run_once("w1")
    assert flow.order(order_id)["erp_tracking_no"] is None

    sim.advance(until="in_production")
    run_erp_sync(flow.crm.erp_gateway, flow.crm.erp_sync_target)
    linked = flow.order(order_id)
    assert linked["state"] == "in_production" and linked["erp_tracking_no"]

    relay(flow).run_once("w2")  # the retry: the same tracking number, nothing changes
    assert len(sim.orders(contract_no)) == 1
    assert erp_messages(flow)[0]["status"] == "sent"
    kinds = Counter(e["kind"] for e in flow.timeline(order_id))
    assert kinds["erp_released"] == 1 and kinds["erp_linked"] == 1


def test_unknown_tracking_numbers_are_recorded_and_duplicates_change_nothing(flow, sim):
    gw = HttpErpGateway(sim.base_url, API_KEY, timeout=2.0)
    try:
        foreign = gw.create_sales_order(ErpSalesOrder("HT-FOREIGN-1", "SO-FOREIGN-1", "DL-999999", (
            ErpOrderLine(1, "tanker", "HTL9400GYY", 1, Money(100_000_00)),)), "contract:HT-FOREIGN-1")
    finally:
        gw.close()
    order_id, _ = released_order(flow)
    relay(flow).run_once("w1")
    sim.faults(duplicate_events=1.0)
    sim.advance(until="stocked")

    first = run_erp_sync(flow.crm.erp_gateway, flow.crm.erp_sync_target)
    timeline_after_first = flow.timeline(order_id)
    again = run_erp_sync(flow.crm.erp_gateway, flow.crm.erp_sync_target)

    assert first.duplicates >= 1 and first.rejected >= 1 and again.applied == 0
    assert flow.timeline(order_id) == timeline_after_first
    assert flow.order(order_id)["state"] == "stocked"
    with flow.crm.engine.connect() as conn:
        rejected = conn.execute(select(erp_rejected_events.c.tracking_no, erp_rejected_events.c.code)).all()
    assert {(r.tracking_no, r.code) for r in rejected} == {(foreign.tracking_no, "erp.unknown_tracking_no")}


def test_a_large_modification_order_skips_the_contract_and_is_released_under_its_order_number(flow, sim):
    ref = flow.submit_order(quantity=1)
    dealer_try = flow.client.post(f"/api/v1/orders/{ref['id']}/major-modification",
                                  json={"is_major_modification": True}, headers=flow.h("hongda"))
    marked = flow.client.post(f"/api/v1/orders/{ref['id']}/major-modification",
                              json={"is_major_modification": True}, headers=flow.h("technical"))
    assert dealer_try.status_code == 403 and marked.status_code == 200
    flow.approve_all(ref["id"])
    assert flow.order(ref["id"])["state"] == "finance_review"
    assert flow.client.get(f"/api/v1/orders/{ref['id']}/contract", headers=flow.h("admin")).status_code == 404

    approved = flow.finance_approve(ref["id"])
    assert approved.status_code == 200 and approved.json()["contract_no"] == ref["order_no"]
    relay(flow).run_once("w1")

    erp = sim.orders(ref["order_no"])
    assert len(erp) == 1 and flow.order(ref["id"])["erp_tracking_no"] == erp[0]["tracking_no"]
    kinds = [e["kind"] for e in flow.timeline(ref["id"])]
    assert "contract_issued" not in kinds and kinds.count("erp_released") == 1


def test_a_large_modification_order_returned_and_approved_again_is_released_once_under_a_new_number(flow, sim):
    ref = flow.submit_order(quantity=1)
    order_id, order_no = ref["id"], ref["order_no"]
    flow.client.post(f"/api/v1/orders/{order_id}/major-modification", json={"is_major_modification": True},
                     headers=flow.h("technical"))
    flow.approve_all(order_id)
    assert flow.finance_approve(order_id).json()["contract_no"] == order_no
    change = request_and_review(flow, order_id, "底盘改为6x4")  # 退单 while the release is still queued
    assert flow.order(order_id)["state"] == "returned"

    resubmitted = flow.client.post(f"/api/v1/orders/{order_id}/submit", headers=flow.h("hongda"))
    assert resubmitted.status_code == 200, resubmitted.text
    flow.approve_all(order_id)
    again = flow.finance_approve(order_id)

    assert again.status_code == 200, again.text  # was 409 credit.contract_cancelled: the number was reused
    second = again.json()["contract_no"]
    assert second == f"{order_no}-R2"
    relay(flow).run_once("w1")
    relay(flow).run_once("w2")
    assert sim.orders(order_no) == [] and len(sim.orders(second)) == 1  # the first round never reached the ERP
    assert flow.order(order_id)["erp_tracking_no"] == sim.orders(second)[0]["tracking_no"]
    page = flow.client.get(f"/api/v1/credit/accounts/{flow.dealer_id}", headers=flow.h("fin_a")).json()
    assert page["exposure"]["uninvoiced_fen"] == flow.order(order_id)["total_fen"]  # reserved once, for round 2
    returned = flow.client.get(f"/api/v1/orders/{order_id}/changes", headers=flow.h("hongda")).json()["items"]
    assert [(c["change_no"], c["status"]) for c in returned] == [(change["change_no"], "returned")]

    sim.advance(until="in_production")  # the ERP's events find the order by its round's number
    run_erp_sync(flow.crm.erp_gateway, flow.crm.erp_sync_target)
    assert flow.order(order_id)["state"] == "in_production"


def test_erp_payments_are_booked_once_by_the_credit_rule(flow, sim):
    order_id, contract_no = released_order(flow)
    relay(flow).run_once("w1")
    dealer_code = flow.client.get(f"/api/v1/orders/{order_id}", headers=flow.h("admin")).json()["dealer_code"]
    sim.faults(duplicate_events=1.0)
    sim.pay(dealer_code=dealer_code, contract_no=contract_no, amount_fen=300_000_00, erp_payment_id="PAY-0001")
    sim.pay(dealer_code="DL-NOBODY", contract_no=None, amount_fen=1_00, erp_payment_id="PAY-0002")

    report = run_erp_sync(flow.crm.erp_gateway, flow.crm.erp_sync_target)
    run_erp_sync(flow.crm.erp_gateway, flow.crm.erp_sync_target)

    assert report.rejected == 1
    page = flow.client.get(f"/api/v1/credit/accounts/{flow.dealer_id}", headers=flow.h("fin_a")).json()
    assert page["exposure"]["prepayment_fen"] == 300_000_00
    with flow.crm.engine.connect() as conn:
        booked = conn.execute(select(credit_payments.c.amount_fen)
                              .where(credit_payments.c.erp_payment_id == "PAY-0001")).scalars().all()
    assert booked == [300_000_00]


# --- order changes (§7) -------------------------------------------------------------------------


def request_and_review(flow: Flow, order_id: int, description: str, decision: str = "approve") -> dict:
    r = flow.client.post(f"/api/v1/orders/{order_id}/changes", json={"description": description},
                         headers=flow.h("hongda"))
    assert r.status_code == 201, r.text
    change = r.json()
    wf = flow.client.get(f"/api/v1/workflows/{change['workflow_id']}", headers=flow.h("technical")).json()
    step_id = wf["steps"][0]["id"]
    body = {"reason": "技术上不可行"} if decision == "reject" else {"comment": "可以"}
    d = flow.client.post(f"/api/v1/workflows/steps/{step_id}/{decision}", json=body, headers=flow.h("technical"))
    assert d.status_code == 200, d.text
    return change


def test_a_change_before_release_returns_the_order_voids_the_contract_and_frees_the_credit(flow, sim):
    order_id, contract_no = released_order(flow)  # finance approved, release still in the outbox
    uninvoiced = flow.client.get(f"/api/v1/credit/accounts/{flow.dealer_id}", headers=flow.h("fin_a")).json()
    assert uninvoiced["exposure"]["uninvoiced_fen"] > 0

    change = request_and_review(flow, order_id, "罐体容积由40方改为45方")
    relay(flow).run_once("w1")

    detail = flow.order(order_id, "hongda")
    assert detail["state"] == "returned" and detail["contract_no"] is None
    contract = flow.client.get(f"/api/v1/orders/{order_id}/contract", headers=flow.h("hongda")).json()
    assert contract["contract_no"] == contract_no and contract["status"] == "voided"
    page = flow.client.get(f"/api/v1/credit/accounts/{flow.dealer_id}", headers=flow.h("fin_a")).json()
    assert page["exposure"]["uninvoiced_fen"] == 0
    assert sim.orders(contract_no) == []  # the queued release found the order returned and sent nothing
    changes = flow.client.get(f"/api/v1/orders/{order_id}/changes", headers=flow.h("hongda")).json()["items"]
    assert [(c["change_no"], c["status"]) for c in changes] == [(change["change_no"], "returned")]
    assert [e["kind"] for e in flow.timeline(order_id)].count("return_for_change") == 1


class ReturnedMidway:
    """The ERP gateway as the worker sees it, except that while the release is on its way (the
    ERP has committed, the answer not yet back) the order's change is approved: 退单."""

    def __init__(self, flow: Flow, inner: object, order_id: int) -> None:
        self.flow, self.inner, self.order_id = flow, inner, order_id
        self.change: dict | None = None

    def create_sales_order(self, order, key):  # type: ignore[no-untyped-def]
        ack = self.inner.create_sales_order(order, key)
        self.change = request_and_review(self.flow, self.order_id, "客户要求罐体加装保温层，重新出图")
        return ack

    def __getattr__(self, name):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)


def test_a_release_that_reaches_the_erp_after_the_order_was_returned_is_cancelled_in_the_erp(flow, sim):
    order_id, contract_no = released_order(flow)
    racing = ReturnedMidway(flow, flow.crm.erp_gateway, order_id)
    worker_relay(flow.crm, {Channel.ERP: ErpReleaseDeliverer(flow.crm.uow, racing, flow.crm.clock)}).run_once("w1")

    erp_order = sim.orders(contract_no)[0]
    detail = flow.order(order_id, "hongda")
    assert detail["state"] == "returned" and detail["erp_tracking_no"] is None  # not linked to the void contract
    revoked = [e for e in flow.timeline(order_id) if e["kind"] == "erp_release_revoked"]
    assert len(revoked) == 1 and erp_order["tracking_no"] in revoked[0]["summary"]
    assert revoked[0]["data"]["change_no"] == racing.change["change_no"]

    relay(flow).run_once("w2")  # the 退单 goes to the ERP, naming the ERP order, once
    relay(flow).run_once("w3")
    changes = sim.orders(contract_no)[0]["changes"]
    assert [c["change_no"] for c in changes] == [racing.change["change_no"]]
    assert "请撤销本销售订单" in changes[0]["description"]
    kinds = Counter(e["kind"] for e in flow.timeline(order_id))
    assert kinds["erp_cancel_requested"] == 1 and kinds["erp_released"] == 0
    mine = flow.client.get(f"/api/v1/orders/{order_id}/changes", headers=flow.h("hongda")).json()["items"]
    assert [c["status"] for c in mine] == ["returned"]
    assert {m["status"] for m in erp_messages(flow)} == {"sent"}


def test_an_erp_order_of_a_contract_voided_while_its_answer_was_lost_is_never_linked(flow, sim):
    order_id, contract_no = released_order(flow)
    sim.faults(timeout_after_commit=1, timeout_mode="drop")
    relay(flow).run_once("w1")  # the ERP has the order; we never heard back
    request_and_review(flow, order_id, "改为 45 方罐体")
    relay(flow).run_once("w2")  # the retry finds the order returned and sends nothing
    tracking_no = sim.orders(contract_no)[0]["tracking_no"]

    sim.advance(until="in_production")
    run_erp_sync(flow.crm.erp_gateway, flow.crm.erp_sync_target)

    detail = flow.order(order_id, "hongda")
    assert detail["state"] == "returned" and detail["erp_tracking_no"] is None
    assert "erp_linked" not in {e["kind"] for e in flow.timeline(order_id)}
    with flow.crm.engine.connect() as conn:
        rejected = {(r.tracking_no, r.code) for r in conn.execute(
            select(erp_rejected_events.c.tracking_no, erp_rejected_events.c.code))}
    assert (tracking_no, "erp.contract_voided") in rejected


def test_a_change_after_release_is_forwarded_to_erp_once_and_its_record_shows_read_only(flow, sim):
    order_id, _ = released_order(flow)
    relay(flow).run_once("w1")
    sim.advance(until="in_production")
    run_erp_sync(flow.crm.erp_gateway, flow.crm.erp_sync_target)
    twice = flow.client.post(f"/api/v1/orders/{order_id}/changes", json={"description": "加装北斗终端"},
                             headers=flow.h("hongda"))
    assert twice.status_code == 201
    dup = flow.client.post(f"/api/v1/orders/{order_id}/changes", json={"description": "再改"},
                           headers=flow.h("hongda"))
    assert dup.status_code == 409 and dup.json()["code"] == "order_change.already_open"
    wf = flow.client.get(f"/api/v1/workflows/{twice.json()['workflow_id']}", headers=flow.h("technical")).json()
    flow.client.post(f"/api/v1/workflows/steps/{wf['steps'][0]['id']}/approve", json={}, headers=flow.h("technical"))

    sim.faults(timeout_after_commit=1, timeout_mode="drop")
    relay(flow).run_once("w1")  # committed in the ERP, answer lost
    relay(flow).run_once("w1")  # retried with the same key
    erp = sim.orders(flow.order(order_id)["contract_no"])
    assert len(erp) == 1 and erp[0]["tracking_no"] == flow.order(order_id)["erp_tracking_no"]
    assert [c["change_no"] for c in erp[0]["changes"]] == [twice.json()["change_no"]]
    run_erp_sync(flow.crm.erp_gateway, flow.crm.erp_sync_target)

    changes = flow.client.get(f"/api/v1/orders/{order_id}/changes", headers=flow.h("hongda")).json()["items"]
    assert changes[0]["status"] == "forwarded" and changes[0]["erp_change_id"]
    kinds = Counter(e["kind"] for e in flow.timeline(order_id, "hongda"))
    assert kinds["change_forwarded"] == 1 and kinds["erp_change"] == 1
    assert flow.order(order_id)["state"] == "in_production"


def test_a_rejected_change_leaves_the_order_as_it_was(flow, sim):
    order_id = flow.to_finance()
    change = request_and_review(flow, order_id, "改为铝合金罐体", decision="reject")
    changes = flow.client.get(f"/api/v1/orders/{order_id}/changes", headers=flow.h("hongda")).json()["items"]
    assert changes[0]["change_no"] == change["change_no"] and changes[0]["status"] == "rejected"
    assert flow.order(order_id)["state"] == "finance_review"
