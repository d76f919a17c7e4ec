"""Personal data never reaches the log output (issue 21 §5): the processors ``configure_logging``
installs mask ID and phone numbers in any field, in any common spelling, and replace what people
wrote — message bodies, e-mail bodies, SMS texts, previews — by its length."""

from __future__ import annotations

import json
import re

import structlog

from dealercrm.adapters.notify.console import ConsoleEmailSender, ConsoleSmsSender
from dealercrm.entrypoints.logging import configure_logging, redact_text

PHONE, ID_NUMBER = "13800138000", "110105199003071239"
BODY = f"王师傅，我的手机{PHONE}，身份证{ID_NUMBER}，车停在二号库"


def test_message_bodies_phone_and_id_numbers_never_appear_in_the_log_lines(capsys):
    configure_logging("INFO", json=True)
    log = structlog.get_logger("test")

    log.info("message_posted", conversation_id=7, body=BODY, preview=BODY[:20], mentions=[3])
    log.info("message_failed", error=f"号码 +86 138-0013-8000 与 86{PHONE} 无效", owner={"id_number": ID_NUMBER})
    log.info("visitor", note=f"身份证 {ID_NUMBER[:-1]}x, 电话 138 0013 8000")
    ConsoleEmailSender().send("li@example.com", "未读消息", BODY, idempotency_key="digest:1")
    ConsoleSmsSender().send(PHONE, BODY, idempotency_key="digest:2")
    out = capsys.readouterr().err
    lines = [json.loads(line) for line in out.splitlines()]

    assert [line["event"] for line in lines] == ["message_posted", "message_failed", "visitor",
                                                 "email_sent_to_console", "sms_sent_to_console"]
    assert "王师傅" not in out and "二号库" not in out
    assert lines[0]["body"] == f"[已隐去 {len(BODY)} 字]" and lines[0]["conversation_id"] == 7
    digits = re.sub(r"\D", "", out)
    assert PHONE not in digits and ID_NUMBER[:-1] not in digits and "0013" not in out
    assert lines[1]["error"] == "号码 +86 138****8000 与 86138****8000 无效"
    assert lines[2]["note"] == "身份证 1101**********123x, 电话 138****8000"
    assert lines[4]["phone"] == "138****8000" and lines[4]["text"].startswith("[已隐去")


def test_numbers_that_are_not_phones_or_ids_are_left_alone():
    assert redact_text("订单 SO-20261206-0042 金额 1250000 分") == "订单 SO-20261206-0042 金额 1250000 分"
    assert redact_text("VIN LGHXCAE28M1234567") == "VIN LGHXCAE28M1234567"
