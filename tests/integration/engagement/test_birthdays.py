"""Dealer birthdays (seed 000 §2.1 2) under a fake clock, on SQLite and PostgreSQL: a greeting SMS
on the day and a call reminder to the responsible sales staff three days ahead — once per contact
per year, however often (and in however many workers) the scheduler runs."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import select

from dealercrm.adapters.db.engagement_tables import alert_audience, alerts
from dealercrm.adapters.notify.sql_outbox import notification_outbox
from dealercrm.domain.alerts import SHANGHAI
from tests.fakes import race

from .conftest import SYSTEM

GREETING = "dealer.contact_birthday_greeting"
REMINDER_SMS = "sales.birthday_call_reminder"


def beijing(moment: dt.datetime) -> dt.date:
    return moment.astimezone(SHANGHAI).date()


def outbox(w, template):
    with w.crm.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(notification_outbox).where(notification_outbox.c.template_code == template))]


def birthday_alerts(w):
    with w.crm.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(
            select(alerts).where(alerts.c.rule == "channel.contact_birthday").order_by(alerts.c.id))]
        for r in rows:
            r["audience"] = sorted((a.kind, a.value) for a in conn.execute(
                select(alert_audience).where(alert_audience.c.alert_id == r["id"])))
    return rows


def test_greetings_and_call_reminders_fire_once_per_contact_per_year_over_two_years(world_factory):
    w = world_factory(start=dt.datetime(2026, 12, 31, 16, 0, tzinfo=dt.UTC))
    sales = w.user("sales", regions=("华中",), phone="13900000001")
    east_manager = w.user("region_manager", regions=("华东",))
    central, (boss, leap, new_year) = w.dealer(
        region="华中", name="郑州宏达专用车销售有限公司", birthday=dt.date(1975, 3, 8), phone="13800138000",
        extra_contacts=(("李闰", dt.date(1980, 2, 29), "13800138001"), ("张元", dt.date(1990, 1, 1), "13800138002")))
    east, (eve,) = w.dealer(region="华东", name="临沂顺通汽车贸易有限公司", birthday=dt.date(1982, 12, 31),
                            phone="13800138003")
    w.dealer(region="华中", name="十堰鑫源专用车销售有限公司", birthday=dt.date(1970, 6, 1), approve=False,
             phone="13800138004")
    suspended, _ = w.dealer(region="华中", name="长沙恒泰商用车有限公司", birthday=dt.date(1971, 7, 1), phone="13800138005")
    w.crm.channel.suspend(SYSTEM, suspended, "回款逾期")

    day = dt.date(2027, 1, 1)
    while day <= dt.date(2028, 12, 31):
        for hour in (10, 22):  # two passes a day, Beijing time
            w.clock.set_beijing(day, hour)
            stats = w.crm.engagement.run_scheduler_once()
            assert stats.errors == 0
        day += dt.timedelta(days=1)

    celebrated = {
        boss: [dt.date(2027, 3, 8), dt.date(2028, 3, 8)],
        leap: [dt.date(2027, 2, 28), dt.date(2028, 2, 29)],  # 29 Feb on 28 Feb in a non-leap year
        new_year: [dt.date(2027, 1, 1), dt.date(2028, 1, 1)],
        eve: [dt.date(2027, 12, 31), dt.date(2028, 12, 31)],
    }
    greetings = outbox(w, GREETING)
    assert Counter(g["idempotency_key"] for g in greetings) == Counter(
        {f"birthday-greeting-{c}-{d.year}": 1 for c, days in celebrated.items() for d in days})
    by_key = {g["idempotency_key"]: g for g in greetings}
    for contact, days in celebrated.items():
        for d in days:
            assert beijing(by_key[f"birthday-greeting-{contact}-{d.year}"]["created_at"]) == d

    rows = birthday_alerts(w)
    keys = Counter(r["key"] for r in rows)
    expected = {f"contact-{c}-{d.year}" for c, days in celebrated.items() for d in days}
    expected.add(f"contact-{new_year}-2029")  # its 2029 reminder window opened on 29 Dec 2028
    assert set(keys) == expected and set(keys.values()) == {1}
    for r in rows:
        contact = int(r["key"].split("-")[1])
        d = r["due_on"]
        if d >= dt.date(2027, 1, 4):  # windows that opened inside the run
            assert beijing(r["raised_at"]) == d - dt.timedelta(days=3)
        if d < dt.date(2028, 12, 31):
            assert r["state"] == "resolved" and beijing(r["resolved_at"]) == d + dt.timedelta(days=1)
        expected_audience = [("user", str(east_manager.user_id))] if contact == eve else [("user", str(sales.user_id))]
        assert r["audience"] == expected_audience

    reminders = outbox(w, REMINDER_SMS)
    central_alerts = [r for r in rows if int(r["key"].split("-")[1]) != eve]
    assert len(reminders) == len(central_alerts) and {m["recipient"] for m in reminders} == {"13900000001"}
    assert central and east  # both dealers took part


def test_two_schedulers_on_the_birthday_send_one_greeting_and_raise_one_reminder(world_factory):
    w = world_factory()
    w.user("sales", regions=("华中",), phone="13900000001")
    _, (contact,) = w.dealer(birthday=dt.date(1975, 3, 8))
    w.clock.set_beijing(dt.date(2026, 3, 8), 11)
    schedulers = [w.crm.engagement.scheduler() for _ in range(2)]

    outcomes = race(2, lambda i: schedulers[i].run_once(w.clock()))  # errors surfaced below
    errors = [o for o in outcomes if isinstance(o, Exception)]
    results = [o for o in outcomes if not isinstance(o, Exception)]

    assert errors == [] and all(r.errors == 0 for r in results)
    assert [g["idempotency_key"] for g in outbox(w, GREETING)] == [f"birthday-greeting-{contact}-2026"]
    assert [r["key"] for r in birthday_alerts(w)] == [f"contact-{contact}-2026"]
    assert len(outbox(w, REMINDER_SMS)) == 1


def test_no_greeting_before_the_morning_and_none_to_a_landline(world_factory):
    w = world_factory()
    _, (mobile,) = w.dealer(birthday=dt.date(1975, 3, 8), phone="13800138000")
    _, (landline,) = w.dealer(name="开封金桥汽车贸易有限公司", birthday=dt.date(1976, 3, 8), phone="0371-65432100")

    w.clock.set_beijing(dt.date(2026, 3, 8), 6)
    w.crm.engagement.run_scheduler_once()
    early = outbox(w, GREETING)
    w.clock.set_beijing(dt.date(2026, 3, 8), 9)
    w.crm.engagement.run_scheduler_once()

    assert early == []
    assert [g["recipient"] for g in outbox(w, GREETING)] == ["13800138000"]
    assert {r["key"] for r in birthday_alerts(w)} == {f"contact-{mobile}-2026", f"contact-{landline}-2026"}
