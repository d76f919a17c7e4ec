"""The away digest on both engines (issue 21 §4): unread messages go out once per person through
the notification outbox — an e-mail after the set time, sooner plus an SMS for a mention or a
record thread — and a second run sends nothing; a message read in time sends nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

import dealercrm
from dealercrm.adapters.notify.sql_outbox import notification_outbox as ob
from dealercrm.application.identity import CreateUser
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal, Role
from tests.fakes import FakeClock

NOW = dt.datetime(2026, 12, 6, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def world(db_url, tmp_path):
    clock = FakeClock(NOW)
    settings = load_settings({}, database_url=db_url, log_level="CRITICAL", photo_dir=str(tmp_path / "photos"),
                             message_digest_minutes=30, message_urgent_minutes=10)
    crm = dealercrm.bootstrap(settings, clock=clock)
    people = {}
    for name, role, phone in (("wangwu", Role.PROCUREMENT, "13800138001"), ("lisi", Role.TECHNICAL, "13800138002"),
                              ("zhaoliu", Role.SALES, None)):
        uid = crm.identity.create_user(Principal.system(), CreateUser(
            name, name.upper(), role.value, "Passw0rd!x", email=f"{name}@example.com", phone=phone))
        people[name] = Principal(uid, name, role)
    job = next(j for j in crm.engagement.rules.jobs if j.code == "messages.away_digest")
    yield crm, people, clock, job
    crm.close()


def _outbox(crm) -> list[tuple[str, str, str]]:
    with crm.engine.connect() as conn:
        return sorted((r.template_code, r.recipient, r.body) for r in conn.execute(
            select(ob.c.template_code, ob.c.recipient, ob.c.body)))


def _run(crm, job, clock):
    from dealercrm.application.alerts import RuleContext

    return job.run(RuleContext(clock(), None))  # the job opens its own transactions


def test_unread_messages_go_out_once_as_one_digest_per_person_and_mentions_also_by_sms(world):
    crm, p, clock, job = world
    cid = crm.messages.start_group(p["wangwu"], "底盘选型", [p["lisi"].user_id, p["zhaoliu"].user_id])
    crm.messages.post(p["wangwu"], cid, "副车架图纸已上传")
    crm.messages.post(p["wangwu"], cid, "@lisi 请今天确认")

    clock.advance(minutes=11)
    early = _run(crm, job, clock)
    after_urgent = _outbox(crm)
    clock.advance(minutes=30)
    later = _run(crm, job, clock)
    again = _run(crm, job, clock)

    # at 11 minutes only lisi (mentioned) is due: one e-mail with both messages and one SMS
    assert early == 2
    assert [(t, r) for t, r, _ in after_urgent] == [("message.away_digest", "lisi@example.com"),
                                                    ("message.away_urgent", "13800138002")]
    assert "副车架图纸已上传" in after_urgent[0][2] and "请今天确认" in after_urgent[0][2]
    # at 41 minutes zhaoliu gets the ordinary digest (no SMS: not urgent, and no phone); nobody twice
    assert (later, again) == (2, 0)
    assert [(t, r) for t, r, _ in _outbox(crm)] == [("message.away_digest", "lisi@example.com"),
                                                    ("message.away_digest", "zhaoliu@example.com"),
                                                    ("message.away_urgent", "13800138002")]


def test_a_message_read_in_time_is_not_digested(world):
    crm, p, clock, job = world
    cid = crm.messages.start_direct(p["wangwu"], p["lisi"].user_id)
    row = crm.messages.post(p["wangwu"], cid, "收到请回复")
    crm.messages.mark_read(p["lisi"], cid, row.id)

    clock.advance(hours=2)
    handled = _run(crm, job, clock)

    assert (handled, _outbox(crm)) == (0, [])
