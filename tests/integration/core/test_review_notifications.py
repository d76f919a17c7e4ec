"""The dealer review writes its notification into the outbox in the same transaction."""


import pytest
from sqlalchemy import func, select

import dealercrm
from dealercrm.adapters.notify.sql_outbox import notification_outbox
from dealercrm.application import channel as ch
from dealercrm.config import load_settings
from dealercrm.domain.errors import IllegalTransition
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.worker import build_relay

ADMIN = Principal(user_id=None, username="root", role=Role.ADMIN)


def registration(email="gm@hongda.example.cn"):
    return ch.RegisterDealer(
        legal_name="郑州宏达专用车销售有限公司", uscc="91350100M000100Y43", region="华中",
        address=ch.AddressIn("河南省", "郑州市", "经开区88号"),
        contact=ch.ContactIn(name="王建国", title="总经理", phone="13800138000", email=email),
        applicant_username="hongda", applicant_password="Passw0rd123",
    )


def outbox_rows(crm):
    with crm.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(notification_outbox))]


def test_approval_queues_one_email_to_the_primary_contact(db_url):
    crm = dealercrm.bootstrap(database_url=db_url)
    reg = crm.channel.register_dealer(registration())
    crm.channel.submit(ADMIN, reg.dealer_id)

    crm.channel.approve(ADMIN, reg.dealer_id)

    [row] = outbox_rows(crm)
    assert row["recipient"] == "gm@hongda.example.cn"
    assert "审核通过" in row["subject"] and "hongda" in row["body"]
    crm.close()


def test_a_failed_transition_queues_nothing(db_url):
    crm = dealercrm.bootstrap(database_url=db_url)
    reg = crm.channel.register_dealer(registration())

    with pytest.raises(IllegalTransition):
        crm.channel.approve(ADMIN, reg.dealer_id)  # not under review yet

    assert outbox_rows(crm) == []
    crm.close()


def test_the_worker_delivers_the_rejection_over_smtp(sqlite_url):
    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
            received.append(envelope)
            return "250 OK"

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = load_settings({}, database_url=sqlite_url, smtp_host="127.0.0.1", smtp_port=port,
                                 smtp_security="none", smtp_sender="crm@factory.example.cn")
        crm = dealercrm.bootstrap(settings)
        reg = crm.channel.register_dealer(registration())
        crm.channel.submit(ADMIN, reg.dealer_id)
        crm.channel.reject(ADMIN, reg.dealer_id, "缺少危险货物运输车辆销售备案")

        relay = build_relay(settings, crm.engine, crm.clock)
        relay.run_once("test-worker")
        relay.run_once("test-worker")

        assert len(received) == 1
        assert received[0].rcpt_tos == ["gm@hongda.example.cn"]
        with crm.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(notification_outbox)
                                .where(notification_outbox.c.status == "sent")).scalar() == 1
        crm.close()
    finally:
        controller.stop()
