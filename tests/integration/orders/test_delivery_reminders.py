"""Delivery-date reminders under a fake clock on SQLite and PostgreSQL: once N days before the
date, once when it is overdue (the first resolving), resolved when the order is completed."""

import datetime as dt

import pytest
from sqlalchemy import select

import dealercrm
from dealercrm.adapters.db.engagement_tables import alert_audience, alerts
from dealercrm.adapters.notify.sql_outbox import notification_outbox
from dealercrm.application.catalog import CreateTemplate
from dealercrm.application.identity import CreateUser
from dealercrm.application.orders import OrderDraftIn
from dealercrm.config import load_settings
from dealercrm.domain.alerts import SHANGHAI
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.demo_orders import FUEL_TANKER
from tests.fakes import FakeClock
from tests.integration.orders.test_orders_api import PASSWORD, SECRET, STD_FUEL, _dealer

SYSTEM = Principal.system()
RULE = "orders.delivery_date"


@pytest.fixture
def world(db_url):
    clock = FakeClock(dt.datetime.now(dt.UTC))
    s = load_settings({}, database_url=db_url, jwt_secret=SECRET, log_level="WARNING", delivery_reminder_days=7)
    crm = dealercrm.bootstrap(s, clock=clock)
    for name, role, regions in (("sales_hz", "sales", ("华中",)), ("sales_hd", "sales", ("华东",)),
                                ("prod", "production", ()), ("dispatch", "dispatch", ()),
                                ("finance", "finance", ())):
        crm.identity.create_user(SYSTEM, CreateUser(name, name, role, PASSWORD, regions=regions,
                                                    email=f"{name}@factory.example.com"))
    dealer_id = _dealer(crm, 1, "华中", ["tanker"], "hongda")
    tpl = crm.orders.create_template(SYSTEM, CreateTemplate("HTL9400GYY", "tanker", FUEL_TANKER, True)).id
    today = clock.now.astimezone(SHANGHAI).date()
    due = today + dt.timedelta(days=30)
    dealer = Principal(user_id=None, username="hongda", role=Role.DEALER, dealer_id=dealer_id)
    ref = crm.orders.create(dealer, OrderDraftIn(template_id=tpl, options=tuple(STD_FUEL), quantity=1,
                                                 requested_delivery_date=due, delivery_method="self_pickup"),
                            True)
    crm.orders.record_review_outcome(SYSTEM, ref.id, True)
    yield crm, clock, ref.id, today, due
    crm.close()


def rows(crm):
    with crm.engine.connect() as conn:
        out = [dict(r._mapping) for r in conn.execute(select(alerts).where(alerts.c.rule == RULE)
                                                      .order_by(alerts.c.id))]
        for r in out:
            r["audience"] = sorted((a.kind, a.value) for a in conn.execute(
                select(alert_audience).where(alert_audience.c.alert_id == r["id"])))
    return out


def mails(crm):
    with crm.engine.connect() as conn:
        return sorted(r.recipient for r in conn.execute(
            select(notification_outbox.c.recipient).where(notification_outbox.c.template_code == "alert.raised")))


def run(crm, clock, day, hour=10):
    stats = crm.engagement.run_scheduler_once(clock.set_beijing(day, hour))
    assert stats.errors == 0
    return stats


def move(crm, order_id, *steps):
    with crm.uow(SYSTEM) as uow:
        order = uow.orders.get(order_id)
        now = uow.clock()
        for step in steps:
            getattr(order, step)(*((f"JH{order_id}", now) if step == "erp_released" else (now,)))
        uow.commit()


def test_a_reminder_fires_once_seven_days_before_once_when_overdue_and_resolves_on_completion(world):
    crm, clock, order_id, today, due = world

    for day in (today, due - dt.timedelta(days=8)):
        run(crm, clock, day)
    before = rows(crm)
    for day in (due - dt.timedelta(days=7), due - dt.timedelta(days=7), due - dt.timedelta(days=3), due):
        run(crm, clock, day, 22)
    due_soon = rows(crm)
    due_mails = mails(crm)
    run(crm, clock, due + dt.timedelta(days=1))
    run(crm, clock, due + dt.timedelta(days=5))
    overdue = rows(crm)
    move(crm, order_id, "contract_accepted", "finance_approved", "erp_released", "stocked_in")
    run(crm, clock, due + dt.timedelta(days=6))
    still_stocked = rows(crm)
    move(crm, order_id, "complete")
    run(crm, clock, due + dt.timedelta(days=7))
    run(crm, clock, due + dt.timedelta(days=8))
    after = rows(crm)

    assert before == []
    assert len(due_soon) == 1 and due_soon[0]["key"] == f"order-{order_id}-due-{due.isoformat()}"
    assert due_soon[0]["state"] == "open" and due_soon[0]["severity"] == "warning" and due_soon[0]["due_on"] == due
    assert due_soon[0]["subject_type"] == "order" and due_soon[0]["region"] == "华中"
    assert {("role", "sales"), ("role", "production"), ("role", "dispatch")} <= set(due_soon[0]["audience"])
    assert due_mails == ["dispatch@factory.example.com", "prod@factory.example.com", "sales_hz@factory.example.com"]
    assert [(a["key"].split("-")[2], a["state"], a["severity"]) for a in overdue] == [
        ("due", "resolved", "warning"), ("overdue", "open", "critical")]
    assert [a["state"] for a in still_stocked] == ["resolved", "open"]  # built but not delivered: still owed
    assert [a["state"] for a in after] == ["resolved", "resolved"] and len(mails(crm)) == 6


def test_the_agreed_date_of_the_contract_wins_over_the_requested_one(world):
    crm, clock, order_id, today, due = world
    agreed = due - dt.timedelta(days=10)
    with crm.uow(SYSTEM) as uow:  # the review issued the contract; its agreed date differs from the request
        uow.orders.get(order_id).agreed_delivery_date = agreed
        uow.commit()

    run(crm, clock, agreed - dt.timedelta(days=7))
    alerts_now = rows(crm)

    assert [a["key"] for a in alerts_now] == [f"order-{order_id}-due-{agreed.isoformat()}"]
    assert "合同交货期" in alerts_now[0]["title"]


def test_an_order_sent_back_to_the_dealer_no_longer_reminds(world):
    crm, clock, order_id, today, due = world
    run(crm, clock, due - dt.timedelta(days=2))
    with crm.uow(SYSTEM) as uow:
        uow.orders.get(order_id).return_for_change(["客户改配置"], uow.clock())
        uow.commit()

    run(crm, clock, due - dt.timedelta(days=1))

    assert [a["state"] for a in rows(crm)] == ["resolved"]
