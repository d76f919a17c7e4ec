import structlog

from dealercrm.adapters.notify.console import ConsoleEmailSender, ConsoleSmsSender
from dealercrm.adapters.notify.http_sms import HttpSmsSender, sign
from dealercrm.adapters.notify.smtp import SmtpEmailSender, message_id_for


def test_console_sms_sender_logs_the_text_with_a_masked_phone():
    with structlog.testing.capture_logs() as logs:
        ConsoleSmsSender().send("13812345678", "生日快乐", idempotency_key="bday:1")

    [entry] = logs
    assert entry["event"] == "sms_sent_to_console"
    assert entry["phone"] == "138****5678"
    assert entry["text"] == "生日快乐"
    assert "13812345678" not in repr(logs)


def test_console_email_sender_logs_subject_and_key():
    with structlog.testing.capture_logs() as logs:
        ConsoleEmailSender().send("zhang@example.com", "审批待办", "正文", idempotency_key="appr:1")

    [entry] = logs
    assert entry["subject"] == "审批待办"
    assert entry["idempotency_key"] == "appr:1"


def test_smtp_message_has_encoded_utf8_headers_and_a_deterministic_message_id():
    sender = SmtpEmailSender("127.0.0.1", 2525, "none", sender="crm@dealercrm.test",
                             sender_name="经销商管理系统", local_hostname="relay.test")

    msg = sender.build_message("dealer@example.com", "催款通知：INV-1", "请付款", idempotency_key="dun:1")
    wire = msg.as_bytes()

    assert wire.isascii()
    assert b"=?utf-8?" in wire
    assert msg["Message-ID"] == message_id_for("dun:1", "dealercrm.test")
    assert message_id_for("dun:1", "x") != message_id_for("dun:2", "x")
    assert msg["X-Idempotency-Key"] == "dun:1"


def test_sms_request_is_compact_sorted_utf8_json_signed_with_the_secret():
    sender = HttpSmsSender("http://127.0.0.1:1/sms", "AK", "secret", "华东专用车",
                           now=lambda: 1_700_000_000, nonce=lambda: "n" * 32)

    body, headers = sender.build_request("13800138000", "您好", idempotency_key="k1")
    sender.close()

    assert body == ('{"access_key":"AK","idempotency_key":"k1","nonce":"' + "n" * 32 + '",'
                    '"phone":"13800138000","sign_name":"华东专用车","text":"您好",'
                    '"timestamp":1700000000}').encode()
    assert headers["X-Signature"] == sign("secret", body)
    assert headers["X-Signature-Method"] == "HMAC-SHA256"
