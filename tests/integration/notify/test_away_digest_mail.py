"""The away digest of unread messages (issue 21 §4) reaches the mail sink: the scheduler's job
puts it into the outbox, the relay sends it over SMTP to a real server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt

import dealercrm
from dealercrm.adapters.notify.console import ConsoleSmsSender
from dealercrm.adapters.notify.smtp import SmtpEmailSender
from dealercrm.adapters.notify.sql_outbox import SqlAlchemyOutboxStore
from dealercrm.application.alerts import RuleContext
from dealercrm.application.identity import CreateUser
from dealercrm.application.outbox import OutboxRelay
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal, Role
from tests.fakes import FakeClock

from .test_smtp_sender import PASSWORD, USER


def test_an_unread_message_goes_out_as_a_digest_to_the_mail_sink(sqlite_url, tmp_path, smtp_starttls, tls):
    clock = FakeClock(dt.datetime(2026, 12, 6, 2, 0, tzinfo=dt.UTC))
    settings = load_settings({}, database_url=sqlite_url, log_level="CRITICAL", photo_dir=str(tmp_path / "p"),
                             message_digest_minutes=30)
    crm = dealercrm.bootstrap(settings, clock=clock)
    people = {}
    for name, role in (("wangwu", Role.PROCUREMENT), ("lisi", Role.TECHNICAL)):
        uid = crm.identity.create_user(Principal.system(), CreateUser(name, f"{name}姓名", role.value, "Passw0rd!x",
                                                                      email=f"{name}@example.com"))
        people[name] = Principal(uid, name, role)
    cid = crm.messages.start_direct(people["wangwu"], people["lisi"].user_id)
    crm.messages.post(people["wangwu"], cid, "罐体图纸已更新，请查收")
    job = next(j for j in crm.engagement.rules.jobs if j.code == "messages.away_digest")
    mail = SmtpEmailSender("127.0.0.1", smtp_starttls.port, "starttls", USER, PASSWORD, sender="crm@dealercrm.test",
                           timeout=5, ssl_context=tls.client_context())
    relay = OutboxRelay(SqlAlchemyOutboxStore(crm.engine), mail, ConsoleSmsSender(), clock)

    clock.advance(minutes=31)
    job.run(RuleContext(clock(), None))
    relay.run_once("worker-1")
    job.run(RuleContext(clock(), None))
    relay.run_once("worker-1")
    crm.close()

    [got] = smtp_starttls.handler.received
    assert got.rcpt_tos == ("lisi@example.com",)
    assert got.subject == "您有1条未读消息"
    assert "lisi姓名" in got.body and "罐体图纸已更新，请查收" in got.body and "/messages" in got.body
