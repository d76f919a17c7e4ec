"""Issue 17 §1–§2 on both engines: concurrent last-step approvals of different orders of one dealer
lock the dealer before its orders on every path, so none of them deadlocks on PostgreSQL; the
first order numbers of a year, taken by 20 writers at once, neither collide nor fail."""

from __future__ import annotations

import datetime as dt

import pytest

from dealercrm.application.identity import principal_of
from dealercrm.application.orders import OrderDraftIn
from dealercrm.domain.identity import Principal
from tests.fakes import race

from .flow_kit import STD_FUEL, Flow

ORDERS = 8
SUBMISSIONS = 20


@pytest.fixture
def flow(db_url):
    with Flow(db_url) as f:
        yield f


def test_eight_concurrent_last_step_approvals_of_one_dealers_orders_all_succeed_first_time(flow):
    order_ids = [flow.submit_order(quantity=1)["id"] for _ in range(ORDERS)]
    for order_id in order_ids:
        for key in ("procurement", "technical", "production"):
            assert flow.decide(order_id, key, key).status_code == 200
    sales_steps = [flow.review_steps(order_id)["sales"]["id"] for order_id in order_ids]
    with flow.crm.uow(Principal.system()) as uow:
        sales = principal_of(uow.users.by_username("sales_huazhong"))

    outcomes = race(ORDERS, lambda i: flow.crm.workflow.decide(sales, sales_steps[i], "approve", comment="同意"))

    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert [o.step_status for o in outcomes] == ["approved"] * ORDERS
    assert {flow.order(order_id)["state"] for order_id in order_ids} == {"contract_signing"}


def test_twenty_concurrent_first_submissions_on_a_fresh_database_all_get_distinct_numbers(flow):
    body = {"template_id": flow.template_id, "options": tuple(STD_FUEL), "quantity": 1,
            "requested_delivery_date": dt.date.today() + dt.timedelta(days=90),
            "delivery_method": "self_pickup"}
    with flow.crm.uow(Principal.system()) as uow:
        dealer = principal_of(uow.users.by_username("hongda"))

    outcomes = race(SUBMISSIONS, lambda i: flow.crm.orders.create(dealer, OrderDraftIn(**body), submit=True))

    assert [o for o in outcomes if isinstance(o, Exception)] == []
    numbers = {flow.order(o.id)["order_no"] for o in outcomes}
    assert len(numbers) == SUBMISSIONS and all(n.startswith("SO-") for n in numbers)
    assert {flow.order(o.id)["state"] for o in outcomes} == {"submitted"}


def test_twenty_concurrent_first_numbers_of_a_gapless_kind_are_one_to_twenty(flow):
    def invoice_number(_: int) -> str:
        with flow.crm.uow(Principal.system()) as uow:
            number = uow.numbers.formatted("FP", year=2031)
            uow.commit()
        return number

    numbers = race(SUBMISSIONS, invoice_number)

    assert sorted(numbers) == [f"FP-2031-{n:06d}" for n in range(1, SUBMISSIONS + 1)]
