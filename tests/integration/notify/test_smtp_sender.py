import ssl

import pytest

from dealercrm.adapters.notify.smtp import SmtpEmailSender, message_id_for
from dealercrm.application.ports.notify import PermanentDeliveryError, TransientDeliveryError

SUBJECT = "经销商审核通过：华东专用车有限公司"
BODY = "华东专用车有限公司：\n\n您好！贵公司提交的经销商入驻申请已审核通过。"


USER = "crm-relay"
PASSWORD = "正确的密码-s3cret"  # the test server's accounts (conftest.SmtpCredentials)
ASCII_USER = "ascii-relay"
ASCII_PASSWORD = "s3cret-ascii"


def sender(server, tls, *, security: str, user: str = USER, password: str = PASSWORD,
           **kwargs) -> SmtpEmailSender:
    return SmtpEmailSender("127.0.0.1", server.port, security, user, password,
                           sender="crm@dealercrm.test", timeout=5, ssl_context=tls.client_context(),
                           local_hostname="relay.dealercrm.test", sender_name="经销商管理系统", **kwargs)


def test_starttls_with_auth_delivers_utf8_subject_and_body_with_a_key_derived_message_id(smtp_starttls, tls):
    mail = sender(smtp_starttls, tls, security="starttls")

    mail.send("dealer@example.com", SUBJECT, BODY, idempotency_key="dealer-approved:42")

    [got] = smtp_starttls.handler.received
    assert got.subject == SUBJECT
    assert got.body.rstrip("\n") == BODY
    assert got.rcpt_tos == ("dealer@example.com",)
    assert got.mail_from == "crm@dealercrm.test"
    assert got.message_id == message_id_for("dealer-approved:42", "dealercrm.test")
    assert got.idempotency_key == "dealer-approved:42"
    assert got.login == USER
    assert got.tls is True


def test_implicit_ssl_with_ascii_login_delivers(smtp_ssl, tls):
    mail = sender(smtp_ssl, tls, security="ssl", user=ASCII_USER, password=ASCII_PASSWORD)

    mail.send("dealer@example.com", SUBJECT, BODY, idempotency_key="k-ssl")

    [got] = smtp_ssl.handler.received
    assert got.subject == SUBJECT
    assert got.login == ASCII_USER
    assert got.tls is True


def test_the_same_key_always_gives_the_same_message_id(smtp_starttls, tls):
    mail = sender(smtp_starttls, tls, security="starttls")

    mail.send("a@example.com", SUBJECT, BODY, idempotency_key="same")
    mail.send("a@example.com", SUBJECT, BODY, idempotency_key="same")
    mail.send("a@example.com", SUBJECT, BODY, idempotency_key="other")

    ids = smtp_starttls.handler.delivered_ids()
    assert sorted(ids.values()) == [1, 2]


@pytest.mark.parametrize("password", ["wrong", "错误的密码"])
def test_a_wrong_password_is_transient_because_the_message_is_not_at_fault(smtp_starttls, tls, password):
    mail = sender(smtp_starttls, tls, security="starttls", password=password)

    with pytest.raises(TransientDeliveryError) as err:
        mail.send("dealer@example.com", SUBJECT, BODY, idempotency_key="k")

    assert err.value.code == "notify.smtp_auth_failed"
    assert smtp_starttls.handler.received == []


def test_a_5xx_recipient_refusal_is_permanent_with_the_servers_reason(smtp_starttls, tls):
    smtp_starttls.handler.refuse["nobody@example.com"] = "550 5.1.1 用户不存在"
    mail = sender(smtp_starttls, tls, security="starttls")

    with pytest.raises(PermanentDeliveryError) as err:
        mail.send("nobody@example.com", SUBJECT, BODY, idempotency_key="k")

    assert err.value.reason.startswith("550")
    assert "5.1.1" in err.value.reason
    assert err.value.provider_code == "550"


def test_a_4xx_recipient_reply_is_transient(smtp_starttls, tls):
    smtp_starttls.handler.refuse["busy@example.com"] = "451 4.7.1 greylisted, try later"
    mail = sender(smtp_starttls, tls, security="starttls")

    with pytest.raises(TransientDeliveryError) as err:
        mail.send("busy@example.com", SUBJECT, BODY, idempotency_key="k")

    assert "451" in err.value.message


def test_a_server_that_is_down_is_transient(unused_port):
    mail = SmtpEmailSender("127.0.0.1", unused_port, "starttls", USER, PASSWORD,
                           sender="crm@dealercrm.test", timeout=2)

    with pytest.raises(TransientDeliveryError) as err:
        mail.send("dealer@example.com", SUBJECT, BODY, idempotency_key="k")

    assert err.value.code == "notify.smtp_unavailable"


def test_starttls_mode_never_falls_back_to_plaintext(smtp_plain, tls):
    mail = sender(smtp_plain, tls, security="starttls")

    with pytest.raises(TransientDeliveryError):
        mail.send("dealer@example.com", SUBJECT, BODY, idempotency_key="k")

    assert smtp_plain.handler.received == []


def test_an_untrusted_certificate_is_refused(smtp_starttls):
    mail = SmtpEmailSender("127.0.0.1", smtp_starttls.port, "starttls", USER, PASSWORD,
                           sender="crm@dealercrm.test", timeout=5,
                           ssl_context=ssl.create_default_context(), local_hostname="relay.test")

    with pytest.raises(TransientDeliveryError):
        mail.send("dealer@example.com", SUBJECT, BODY, idempotency_key="k")

    assert smtp_starttls.handler.received == []


def test_a_subject_with_a_line_break_cannot_inject_headers(smtp_starttls, tls):
    mail = sender(smtp_starttls, tls, security="starttls")

    with pytest.raises(ValueError):
        mail.send("dealer@example.com", "主题\r\nBcc: victim@example.com", BODY, idempotency_key="k")

    assert smtp_starttls.handler.received == []
