"""Messages (seed 000 §6.5, issue 21): conversations between people — one-to-one, group, or a
thread attached to a record (an order, a claim, a service request, a gate pass, a receipt) — and
the rules of a message: its length, its mentions, and the short window in which its author may
edit or delete it (shown afterwards as 已编辑 / 已撤回).
"""

from __future__ import annotations

import datetime as dt
import enum
import re

import attrs

from dealercrm.domain.errors import Conflict, InvalidValue, PermissionDenied

MAX_BODY_CHARS = 2000
MAX_TITLE_CHARS = 60
MAX_GROUP_MEMBERS = 50
MAX_ATTACHMENTS = 4
#: How long after sending a message its author may still edit or delete it.
EDIT_WINDOW = dt.timedelta(minutes=15)

_MENTION = re.compile(r"@([A-Za-z0-9_.\-]{2,40})")


class ConversationKind(enum.StrEnum):
    DIRECT = "direct"
    GROUP = "group"
    RECORD = "record"

    @property
    def label(self) -> str:
        return {"direct": "私聊", "group": "群聊", "record": "业务单据讨论"}[self.value]


class RecordKind(enum.StrEnum):
    """The records a thread can be attached to (a receipt is the receipt of one shipment)."""

    ORDER = "order"
    CLAIM = "claim"
    SERVICE_REQUEST = "service_request"
    GATE_PASS = "gate_pass"
    RECEIPT = "receipt"

    @property
    def label(self) -> str:
        return {"order": "订单", "claim": "结算申请", "service_request": "服务请求", "gate_pass": "出门证",
                "receipt": "收货回执"}[self.value]


def record_kind_of(value: str) -> RecordKind:
    try:
        return RecordKind(value)
    except ValueError:
        raise InvalidValue("record_kind", "不支持的业务单据类型", code="message.record_kind_unknown",
                           allowed=[k.value for k in RecordKind]) from None


def clean_body(text: str | None, *, has_attachments: bool = False) -> str:
    """The message text as stored: trimmed; empty only when files are attached; at most
    ``MAX_BODY_CHARS`` characters."""
    body = (text or "").strip()
    if not body and not has_attachments:
        raise InvalidValue("body", "消息不能为空", code="message.empty")
    if len(body) > MAX_BODY_CHARS:
        raise InvalidValue("body", f"消息不能超过{MAX_BODY_CHARS}个字", code="message.too_long",
                           max_chars=MAX_BODY_CHARS, chars=len(body))
    return body


def clean_title(text: str | None) -> str:
    title = (text or "").strip()
    if not title:
        raise InvalidValue("title", "请填写群聊名称", code="message.title_required")
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidValue("title", f"群聊名称不能超过{MAX_TITLE_CHARS}个字", code="message.title_too_long")
    return title


def mentioned_usernames(body: str) -> tuple[str, ...]:
    """The ``@username`` names in a message, in order, each once (resolving them to users, and
    dropping names that are no one, is the caller's business)."""
    seen: dict[str, None] = {}
    for name in _MENTION.findall(body):
        seen.setdefault(name.rstrip(".-"), None)
    return tuple(seen)


def direct_key(a: int, b: int) -> str:
    """One one-to-one conversation per pair of people, whoever starts it."""
    if a == b:
        raise InvalidValue("user_id", "不能和自己私聊", code="message.self_conversation")
    low, high = sorted((a, b))
    return f"{low}:{high}"


@attrs.frozen
class MessageFacts:
    """What the edit and delete rules need to know about one stored message."""

    id: int
    author_id: int
    created_at: dt.datetime
    deleted_at: dt.datetime | None = None


def check_can_change(message: MessageFacts, user_id: int | None, now: dt.datetime, action: str) -> None:
    """Only the author, only within ``EDIT_WINDOW`` of sending, and never a deleted message."""
    if message.author_id != user_id:
        raise PermissionDenied("只能修改自己发送的消息", code="message.not_author")
    if message.deleted_at is not None:
        raise Conflict("消息已撤回", code="message.deleted", current_state="deleted")
    if now - message.created_at > EDIT_WINDOW:
        minutes = int(EDIT_WINDOW.total_seconds() // 60)
        raise Conflict(f"消息发送超过{minutes}分钟，不能再{action}", code="message.edit_window_passed",
                       window_minutes=minutes)


def check_members(member_ids: tuple[int, ...]) -> tuple[int, ...]:
    """A group's other members: at least one, at most ``MAX_GROUP_MEMBERS``, each once."""
    unique = tuple(dict.fromkeys(member_ids))
    if not unique:
        raise InvalidValue("user_ids", "请至少选择一位成员", code="message.members_required")
    if len(unique) > MAX_GROUP_MEMBERS:
        raise InvalidValue("user_ids", f"群聊成员不能超过{MAX_GROUP_MEMBERS}人", code="message.too_many_members")
    return unique
