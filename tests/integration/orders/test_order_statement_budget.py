"""What one order creation + submission costs the database on SQLite, with the realistic staff
of the benchmark (``benchmarks/order_submit.py``): 3 review staff per review role and 3 sales
staff of the dealer's region, so 12 review e-mails. Statements are counted, never timed: every
cursor execution (``BEGIN`` included, an ``executemany`` is one) and the ``COMMIT``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

import attrs

import dealercrm
from dealercrm.adapters.db.audit import audit_log
from dealercrm.adapters.notify.sql_outbox import notification_outbox
from dealercrm.application import channel as ch
from dealercrm.application.catalog import CreateTemplate, SetPriceTier
from dealercrm.application.identity import CreateUser
from dealercrm.application.orders import EndCustomerIn, EstimateIn, OrderDraftIn, create_order
from dealercrm.config import load_settings
from dealercrm.domain.errors import BusinessRuleViolation, InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import Uscc
from dealercrm.entrypoints.demo_orders import FUEL_TANKER
from tests.fakes import FakeClock

SYSTEM = Principal.system()
OPTIONS = ("AXLE-FUWA13", "TYRE-12R225", "RIM-STEEL", "SUSP-MECH", "ABS-4S2M", "TANK-5182", "COMP-4", "PUMP-STD",
           "LEG-STD", "VAPOR", "OVERFILL")
STAFF = [(role, f"{role}_{n}", ()) for role in ("procurement", "technical", "production") for n in range(3)] + [
    ("sales", f"sales_{n}", ("华中",)) for n in range(3)]


@pytest.fixture
def world(sqlite_url: str) -> Iterator[Any]:
    yield from _world(sqlite_url)


@pytest.fixture
def any_world(db_url: str) -> Iterator[Any]:
    yield from _world(db_url)


def _world(url: str) -> Iterator[Any]:
    clock = FakeClock(dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC))
    crm = dealercrm.bootstrap(load_settings({}, database_url=url, log_level="WARNING"), clock=clock)
    body = "91410100MA0000001"
    reg = crm.channel.register_dealer(ch.RegisterDealer(
        legal_name="郑州宏达专用车销售有限公司", uscc=body + Uscc.check_char(body), region="华中",
        address=ch.AddressIn("河南省", "郑州市", "经开区88号"),
        contact=ch.ContactIn(name="王建国", title="总经理", phone="13800138000"),
        applicant_username="hongda", applicant_password="Passw0rd123"))
    crm.channel.submit(SYSTEM, reg.dealer_id)
    crm.channel.approve(SYSTEM, reg.dealer_id)
    crm.channel.add_agreement(SYSTEM, ch.AddAgreement(reg.dealer_id, ("tanker",), ("河南省",), "credit",
                                                      dt.date(2026, 1, 1), dt.date(2027, 12, 31)))
    crm.orders.set_price_tier(SYSTEM, SetPriceTier(reg.dealer_id, "tanker", "B", 300))
    template_id = crm.orders.create_template(SYSTEM, CreateTemplate("HTL9400GYY", "tanker", FUEL_TANKER, True)).id
    for role, username, regions in STAFF:
        crm.identity.create_user(SYSTEM, CreateUser(username=username, display_name=username, role=role,
                                                    password="Passw0rd123", regions=regions,
                                                    email=f"{username}@factory.example.cn"))
    dealer = Principal(user_id=reg.user_id, username="hongda", role=Role.DEALER, dealer_id=reg.dealer_id)
    draft = OrderDraftIn(template_id=template_id, options=OPTIONS, quantity=1,
                             requested_delivery_date=dt.date(2027, 1, 22), delivery_method="self_pickup",
                             end_customer=EndCustomerIn("中石化河南石油分公司", None, "成品油运输"), remarks="计数")
    yield SimpleNamespace(crm=crm, orders=crm.orders, engine=crm.engine, dealer=dealer, draft=draft,
                          template_id=template_id)
    crm.close()


def _count_statements(crm: Any, work: Any) -> int:
    seen: list[object] = []

    def count(*_args: object) -> None:
        seen.append(_args)

    event.listen(crm.engine, "before_cursor_execute", count)
    event.listen(crm.engine, "commit", count)  # COMMIT is a DBAPI call, not a cursor execution
    try:
        work()
    finally:
        event.remove(crm.engine, "before_cursor_execute", count)
        event.remove(crm.engine, "commit", count)
    return len(seen)


def _audit_bytes_and_mails(crm: Any) -> tuple[int, int]:
    with crm.engine.connect() as conn:
        audit = conn.execute(select(func.coalesce(func.sum(func.length(audit_log.c.changes)), 0))).scalar_one()
        mails = conn.execute(select(func.count()).select_from(notification_outbox)
                             .where(notification_outbox.c.template_code == "workflow.task_assigned")).scalar_one()
    return int(audit), int(mails)


def test_creating_and_submitting_an_order_for_twelve_reviewers_takes_at_most_twelve_statements(world):
    world.orders.create(world.dealer, world.draft, True)  # the first one fills the process's caches
    audit_before, mails_before = _audit_bytes_and_mails(world)

    refs: list[Any] = []
    statements = _count_statements(world, lambda: refs.append(world.orders.create(world.dealer, world.draft, True)))

    audit_after, mails_after = _audit_bytes_and_mails(world)
    assert refs[0].state == "submitted"
    assert mails_after - mails_before == 12
    assert statements <= 12
    assert audit_after - audit_before <= 1024


def test_an_order_created_in_one_read_is_priced_with_the_dealers_tier_like_the_estimate(any_world):
    estimate = any_world.orders.estimate(any_world.dealer, EstimateIn(any_world.template_id, OPTIONS))

    ref = any_world.orders.create(any_world.dealer, any_world.draft, True)

    detail = any_world.orders.detail(SYSTEM, ref.id)
    assert estimate.tier.code == "B"
    assert detail["total_fen"] == estimate.total.fen


@pytest.mark.parametrize(("change", "field"), [({"template_id": 999}, "template_id"),
                                                ({"template_version": 7}, "template_version")])
def test_an_unknown_template_or_version_is_refused_naming_its_field(any_world, change, field):
    with pytest.raises(InvalidValue) as refused:
        any_world.orders.create(any_world.dealer, attrs.evolve(any_world.draft, **change), True)

    assert refused.value.code == "catalog.template_not_found"
    assert refused.value.field == field


def _changing_before_the_write(crm: Any, change: str) -> Any:
    """The injected clock, which on its second call — the write transaction's, after the order was
    read and priced outside it — lets another connection change what the order was decided on."""
    calls: list[int] = []

    def clock() -> dt.datetime:
        calls.append(1)
        if len(calls) == 2:
            with crm.engine.begin() as conn:
                conn.execute(text(change))
        return crm.clock()

    return clock


def test_a_tier_changed_after_the_order_was_priced_prices_it_again_inside_the_write(any_world):
    clock = _changing_before_the_write(any_world.crm, "UPDATE dealer_price_tiers SET tier_code = 'A', discount_bp = 800")

    ref = create_order(any_world.draft, any_world.crm.uow(any_world.dealer), clock, submit=True)

    estimate = any_world.orders.estimate(any_world.dealer, EstimateIn(any_world.template_id, OPTIONS))
    assert estimate.tier.code == "A"
    assert any_world.orders.detail(SYSTEM, ref.id)["total_fen"] == estimate.total.fen


def test_a_template_retired_after_the_order_was_read_refuses_the_order(any_world):
    clock = _changing_before_the_write(any_world.crm, "UPDATE catalog_templates SET status = 'retired'")

    with pytest.raises(BusinessRuleViolation) as refused:
        create_order(any_world.draft, any_world.crm.uow(any_world.dealer), clock, submit=True)

    assert refused.value.code == "catalog.template_retired"
    with any_world.crm.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM orders")).scalar_one() == 0
