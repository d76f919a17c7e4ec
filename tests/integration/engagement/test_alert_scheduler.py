"""The alert scheduler and event-driven alerts on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from dealercrm.adapters.db.engagement_tables import alerts
from dealercrm.adapters.notify.sql_outbox import notification_outbox
from dealercrm.application.alerts import raise_alert, resolve_alert
from dealercrm.domain.alerts import Audience, Condition, OutboundMessage, Severity
from dealercrm.domain.errors import IllegalTransition, NotFound
from dealercrm.domain.identity import Role
from dealercrm.domain.notifications import Channel
from tests.fakes import race

from .conftest import SYSTEM


class ListRule:
    """A rule whose true conditions the test sets."""

    def __init__(self, code: str, notify: tuple[Channel, ...] = ()) -> None:
        self.code = code
        self.notify = notify
        self.conditions: list[Condition] = []

    def evaluate(self, ctx):
        return list(self.conditions)


class BrokenRule:
    code = "test.broken"

    def evaluate(self, ctx):
        raise RuntimeError("rule bug")


def finance_condition(key: str, title: str = "授信额度即将用尽", due: dt.date | None = None) -> Condition:
    return Condition(key=key, audience=Audience(roles=(Role.FINANCE,)), title=title, body="敞口已达额度的92%",
                     severity=Severity.WARNING, subject_type="dealer", subject_id="7", due_on=due)


def alert_rows(w, rule=None):
    q = select(alerts).order_by(alerts.c.id)
    if rule:
        q = q.where(alerts.c.rule == rule)
    with w.crm.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def outbox(w):
    with w.crm.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(notification_outbox).order_by(notification_outbox.c.created_at))]


def test_a_new_condition_raises_one_alert_however_often_the_scheduler_runs(world_factory):
    w = world_factory()
    rule = ListRule("test.credit")
    engagement = w.crm.engagement.with_rules(rule)
    rule.conditions = [finance_condition("dealer-7")]

    first = engagement.run_scheduler_once()
    for _ in range(3):
        w.clock.now += dt.timedelta(minutes=5)
        again = engagement.run_scheduler_once()

    assert (first.raised, again.raised) == (1, 0)
    [row] = alert_rows(w, "test.credit")
    assert row["key"] == "dealer-7" and row["state"] == "open" and row["title"] == "授信额度即将用尽"


def test_an_alert_resolves_itself_when_its_condition_clears_and_never_alerts_again(world_factory):
    w = world_factory()
    rule = ListRule("test.credit")
    engagement = w.crm.engagement.with_rules(rule)
    rule.conditions = [finance_condition("dealer-7"), finance_condition("dealer-8")]
    engagement.run_scheduler_once()

    rule.conditions = [finance_condition("dealer-8")]
    w.clock.now += dt.timedelta(hours=1)
    cleared = engagement.run_scheduler_once()
    rule.conditions = [finance_condition("dealer-7"), finance_condition("dealer-8")]
    w.clock.now += dt.timedelta(hours=1)
    back = engagement.run_scheduler_once()

    assert (cleared.resolved, back.raised) == (1, 0)
    states = {r["key"]: (r["state"], r["resolved_by_name"]) for r in alert_rows(w, "test.credit")}
    assert states == {"dealer-7": ("resolved", "system"), "dealer-8": ("open", None)}


def test_a_live_alert_follows_its_conditions_wording_and_due_date(world_factory):
    w = world_factory()
    rule = ListRule("test.delivery")
    engagement = w.crm.engagement.with_rules(rule)
    rule.conditions = [finance_condition("order-1", "交付日期临近：3天后", dt.date(2026, 3, 5))]
    engagement.run_scheduler_once()

    rule.conditions = [finance_condition("order-1", "交付日期临近：明天", dt.date(2026, 3, 6))]
    stats = engagement.run_scheduler_once()

    [row] = alert_rows(w, "test.delivery")
    assert stats.refreshed == 1
    assert (row["title"], row["due_on"]) == ("交付日期临近：明天", dt.date(2026, 3, 6))


def test_a_rule_that_notifies_sends_each_new_alert_once_to_the_users_its_audience_reaches(world_factory):
    w = world_factory()
    w.user("finance", email="cw@factory.example.cn", phone="13900000001")
    w.user("sales", regions=("华东",), email="east@factory.example.cn")  # other region: not reached
    w.user("sales", regions=("华中",), email="central@factory.example.cn")
    rule = ListRule("test.notify", notify=(Channel.EMAIL, Channel.SMS))
    engagement = w.crm.engagement.with_rules(rule)
    rule.conditions = [Condition(
        key="dealer-9", audience=Audience(roles=(Role.FINANCE, Role.SALES), region="华中"), title="回款逾期",
        messages=(OutboundMessage("order.delivery_date_reminder",
                                  {"dealer_name": "宏达", "order_no": "SO-1", "vehicle_model": "罐式车",
                                   "delivery_date": "3月5日"}, "13800138000"),),
    )]

    engagement.run_scheduler_once()
    engagement.run_scheduler_once()

    sent = sorted((m["template_code"], m["recipient"]) for m in outbox(w))
    assert sent == [
        ("alert.raised", "central@factory.example.cn"),
        ("alert.raised", "cw@factory.example.cn"),
        ("alert.raised_sms", "13900000001"),
        ("order.delivery_date_reminder", "13800138000"),
    ]


def test_two_schedulers_at_once_raise_each_alert_and_send_each_message_once(world_factory):
    w = world_factory()
    w.user("finance", email="cw@factory.example.cn")
    rule = ListRule("test.race", notify=(Channel.EMAIL,))
    engagement = w.crm.engagement.with_rules(rule)
    rule.conditions = [finance_condition(f"dealer-{i}") for i in range(25)]
    schedulers = [engagement.scheduler() for _ in range(2)]

    outcomes = race(2, lambda i: schedulers[i].run_once(w.clock()))  # errors surfaced below
    errors = [o for o in outcomes if isinstance(o, Exception)]
    results = [o for o in outcomes if not isinstance(o, Exception)]

    assert errors == [] and all(r.errors == 0 for r in results)
    assert sum(r.raised for r in results) == 25
    assert len(alert_rows(w, "test.race")) == 25
    assert len([m for m in outbox(w) if m["template_code"] == "alert.raised"]) == 25


def test_a_failing_rule_is_skipped_and_the_others_still_run(world_factory):
    w = world_factory()
    rule = ListRule("test.fine")
    engagement = w.crm.engagement.with_rules(BrokenRule(), rule)
    rule.conditions = [finance_condition("x")]

    stats = engagement.run_scheduler_once()

    assert (stats.errors, stats.raised) == (1, 1)


def test_raise_alert_commits_with_the_business_transaction_and_rolls_back_with_it(world_factory):
    w = world_factory()
    now = w.clock()
    with w.crm.uow(SYSTEM) as uow:
        raise_alert(uow, "orders.receipt_discrepancy", finance_condition("shipment-1"), now=now)
        # no commit: the business change failed

    with w.crm.uow(SYSTEM) as uow:
        first = raise_alert(uow, "orders.receipt_discrepancy", finance_condition("shipment-1"), now=now)
        second = raise_alert(uow, "orders.receipt_discrepancy", finance_condition("shipment-1"), now=now)
        uow.commit()
    with w.crm.uow(SYSTEM) as uow:
        resolved = resolve_alert(uow, "orders.receipt_discrepancy", "shipment-1", now=now)
        again = resolve_alert(uow, "orders.receipt_discrepancy", "shipment-1", now=now)
        uow.commit()

    assert isinstance(first, int) and second is None
    assert (resolved, again) == (True, False)
    [row] = alert_rows(w, "orders.receipt_discrepancy")
    assert row["state"] == "resolved"


def test_anyone_in_the_audience_may_acknowledge_once_and_others_do_not_see_it(world_factory):
    w = world_factory()
    finance = w.user("finance")
    dispatch = w.user("dispatch")
    with w.crm.uow(SYSTEM) as uow:
        alert_id = raise_alert(uow, "test.ack", finance_condition("k"), now=w.clock())
        uow.commit()

    with pytest.raises(NotFound):
        w.crm.engagement.acknowledge_alert(dispatch, alert_id)
    state = w.crm.engagement.acknowledge_alert(finance, alert_id)
    with pytest.raises(IllegalTransition) as twice:
        w.crm.engagement.acknowledge_alert(finance, alert_id)

    assert state == "acknowledged"
    assert twice.value.current_state == "acknowledged"
    row = w.crm.engagement.alert(finance, alert_id)
    assert (row["acknowledged_by_name"], row["acknowledged_at"]) == (finance.username, w.clock())
    with w.crm.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(alerts)).scalar() == 1


def test_a_concurrent_raise_of_the_same_condition_waits_for_the_first_and_adds_nothing(world_factory):
    w = world_factory()
    now = w.clock()
    outcome: dict[str, object] = {}
    first = w.crm.uow(SYSTEM)
    first.__enter__()
    try:
        outcome["first"] = raise_alert(first, "test.same", finance_condition("k"), now=now)
        first.flush()

        def second() -> None:
            with w.crm.uow(SYSTEM) as uow:  # blocks: SQLite's write lock / PostgreSQL's unique index entry
                outcome["second"] = raise_alert(uow, "test.same", finance_condition("k"), now=now)
                uow.commit()

        t = threading.Thread(target=second)
        t.start()
        t.join(timeout=0.5)
        first.commit()
    finally:
        first.__exit__(None, None, None)
    t.join(timeout=60)

    assert isinstance(outcome["first"], int) and outcome["second"] is None
    assert len(alert_rows(w, "test.same")) == 1
