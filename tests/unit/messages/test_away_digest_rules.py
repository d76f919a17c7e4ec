"""Which unread messages are due for the away digest, and what goes out (application/message_digest.py)."""

from __future__ import annotations

import datetime as dt

from dealercrm.application.message_digest import PendingMessage, due, notices_for

NOW = dt.datetime(2026, 12, 6, 2, 0, tzinfo=dt.UTC)
AFTER, URGENT_AFTER = dt.timedelta(minutes=30), dt.timedelta(minutes=10)


def _m(message_id: int, minutes_ago: int, *, conversation: int = 1, record: bool = False,
       mentions: tuple[int, ...] = (), phone: str | None = "13800138000", email: str | None = "a@example.com"):
    return PendingMessage(7, "李四", email, phone, conversation, "底盘选型", record, message_id, "王五",
                          f"消息{message_id}", mentions, NOW - dt.timedelta(minutes=minutes_ago))


def test_an_ordinary_message_is_due_after_the_set_time_and_an_urgent_one_sooner():
    young, old = _m(1, 20), _m(2, 31, conversation=2)
    mention, record = _m(3, 11, conversation=3, mentions=(7,)), _m(4, 11, conversation=4, record=True)

    got = due([young, old, mention, record], NOW, AFTER, URGENT_AFTER)

    assert sorted(got) == [(7, 2), (7, 3), (7, 4)]


def test_a_due_message_takes_the_earlier_unread_ones_of_its_conversation_along():
    got = due([_m(1, 12), _m(2, 11, mentions=(7,)), _m(3, 1)], NOW, AFTER, URGENT_AFTER)

    assert [m.message_id for m in got[(7, 1)]] == [1, 2]


def test_one_email_per_person_and_an_sms_only_when_urgent_and_a_phone_is_known():
    ordinary = notices_for([_m(1, 40), _m(2, 35)], "https://crm.example/messages")
    urgent = notices_for([_m(1, 40), _m(2, 12, record=True)], "https://crm.example/messages")
    no_phone = notices_for([_m(2, 12, record=True, phone=None)], "https://crm.example/messages")

    assert [(n.template_code, n.idempotency_key) for n in ordinary] == [("message.away_digest", "message-digest-7-2")]
    assert ordinary[0].variables["count"] == 2 and "消息1" in str(ordinary[0].variables["lines"])
    assert [n.template_code for n in urgent] == ["message.away_digest", "message.away_urgent"]
    assert [n.template_code for n in no_phone] == ["message.away_digest"]
