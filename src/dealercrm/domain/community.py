"""The community (互动社区, seed 000 §6.5, issue 21 §2): posts and questions by topic, answers,
one accepted answer, likes, and moderation (report, hide, lock).

The rules, each in one named function:
- :func:`topic_of` — a topic is a product line (the channel's ``ProductLine``), a fault category
  or regulations;
- :func:`clean_title` / :func:`clean_body` — trimmed, not empty, not over the limit;
- :func:`check_can_answer` — a locked or hidden post takes no answers;
- :func:`check_can_accept` — only a question has an accepted answer, chosen by its asker or by
  staff, among its own visible answers;
- :func:`check_can_moderate` — only factory staff hide, lock and turn answers into articles;
- :func:`visible_to` — hidden content shows to staff only.
"""

from __future__ import annotations

import enum

import attrs

from dealercrm.domain.channel import ProductLine
from dealercrm.domain.errors import Conflict, InvalidValue, PermissionDenied

MAX_TITLE_CHARS = 80
MAX_BODY_CHARS = 5000
MAX_REASON_CHARS = 200

#: the fault categories a post may be filed under, beside the product lines and regulations
FAULT_CATEGORIES = {
    "fault_hydraulic": "液压系统故障",
    "fault_brake": "制动系统故障",
    "fault_electrical": "电气故障",
    "fault_tank": "罐体与阀门故障",
    "fault_body": "车身与结构故障",
}
REGULATIONS = "regulations"


class PostKind(enum.StrEnum):
    QUESTION = "question"
    POST = "post"

    @property
    def label(self) -> str:
        return {"question": "提问", "post": "帖子"}[self.value]


def topics() -> dict[str, str]:
    """Every topic code with its Chinese name, in display order."""
    out = {p.value: p.label for p in ProductLine}
    out.update(FAULT_CATEGORIES)
    out[REGULATIONS] = "法规政策"
    return out


def topic_of(value: str | None) -> str:
    topic = (value or "").strip()
    if topic not in topics():
        raise InvalidValue("topic", "请选择话题", code="community.topic_unknown", allowed=list(topics()))
    return topic


def kind_of(value: str | None) -> PostKind:
    try:
        return PostKind((value or "").strip())
    except ValueError:
        raise InvalidValue("kind", "请选择提问或帖子", code="community.kind_unknown",
                           allowed=[k.value for k in PostKind]) from None


def clean_title(text: str | None) -> str:
    title = (text or "").strip()
    if not title:
        raise InvalidValue("title", "请填写标题", code="community.title_required")
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidValue("title", f"标题不能超过{MAX_TITLE_CHARS}个字", code="community.title_too_long",
                           max_chars=MAX_TITLE_CHARS)
    return title


def clean_body(text: str | None, field: str = "body") -> str:
    body = (text or "").strip()
    if not body:
        raise InvalidValue(field, "内容不能为空", code="community.body_required")
    if len(body) > MAX_BODY_CHARS:
        raise InvalidValue(field, f"内容不能超过{MAX_BODY_CHARS}个字", code="community.body_too_long",
                           max_chars=MAX_BODY_CHARS, chars=len(body))
    return body


def clean_reason(text: str | None) -> str:
    reason = (text or "").strip()
    if not reason:
        raise InvalidValue("reason", "请说明举报原因", code="community.reason_required")
    if len(reason) > MAX_REASON_CHARS:
        raise InvalidValue("reason", f"举报原因不能超过{MAX_REASON_CHARS}个字", code="community.reason_too_long")
    return reason


@attrs.frozen
class PostFacts:
    """What the rules need to know about one stored post."""

    id: int
    kind: PostKind
    author_id: int
    locked: bool
    hidden: bool
    accepted_answer_id: int | None = None


@attrs.frozen
class AnswerFacts:
    id: int
    post_id: int
    author_id: int
    hidden: bool


def visible_to(hidden: bool, is_staff: bool) -> bool:
    """Hidden posts and answers show to factory staff only."""
    return is_staff or not hidden


def check_can_moderate(is_staff: bool) -> None:
    if not is_staff:
        raise PermissionDenied("仅厂家工作人员可以管理社区内容", code="community.staff_only")


def check_can_answer(post: PostFacts) -> None:
    if post.hidden:
        raise Conflict("帖子已被隐藏，不能回答", code="community.post_hidden", current_state="hidden")
    if post.locked:
        raise Conflict("帖子已锁定，不能再回答", code="community.post_locked", current_state="locked")


def check_can_accept(post: PostFacts, answer: AnswerFacts, user_id: int | None, is_staff: bool) -> None:
    if post.kind is not PostKind.QUESTION:
        raise Conflict("只有提问可以采纳答案", code="community.not_a_question", current_state=post.kind.value)
    if not is_staff and post.author_id != user_id:
        raise PermissionDenied("只有提问人或厂家工作人员可以采纳答案", code="community.not_asker")
    if answer.post_id != post.id:
        raise InvalidValue("answer_id", "该回答不属于这个提问", code="community.answer_of_other_post")
    if answer.hidden:
        raise Conflict("回答已被隐藏，不能采纳", code="community.answer_hidden", current_state="hidden")
    if post.accepted_answer_id is not None and post.accepted_answer_id != answer.id:
        raise Conflict("该提问已有采纳的答案", code="community.already_accepted", current_state="accepted",
                       accepted_answer_id=post.accepted_answer_id)
