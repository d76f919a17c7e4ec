"""Customer care (客户关怀, seed 000 §4.2.2): care tasks and care templates.

A *care task* is one thing someone should do for one person by a date: call an end customer a
week after delivery, remind a customer whose warranty ends soon, greet a dealer contact for a
festival. Rules create them (idempotently, by a ``source_key``) or a person does by hand; each
is open until done or cancelled.

A *care template* is a Chinese message staff write themselves, with ``{variable}`` placeholders
from a fixed list (:data:`VARIABLES`). The placeholders are checked when the template is saved
and every value is checked when it is rendered for a recipient, so a batch never sends a
half-filled message.
"""

from __future__ import annotations

import enum
import string
from collections.abc import Mapping

import attrs

from dealercrm.domain.errors import IllegalTransition, InvalidValue

VARIABLES = {
    "name": "收件人姓名",
    "dealer_name": "经销商名称",
    "vin": "车架号",
    "model_code": "车型",
    "date": "相关日期（交车日/保修到期日等）",
    "festival": "节日名称",
    "company": "公司名称",
}
MAX_BODY = 2000
MAX_SMS_BODY = 300


class CareKind(enum.StrEnum):
    DELIVERY_FOLLOW_UP = "delivery_follow_up"
    WARRANTY_EXPIRING = "warranty_expiring"
    FESTIVAL = "festival"
    MANUAL = "manual"

    @property
    def label(self) -> str:
        return {"delivery_follow_up": "交车回访", "warranty_expiring": "保修到期提醒", "festival": "节日问候",
                "manual": "人工关怀"}[self]


class TargetKind(enum.StrEnum):
    CUSTOMER = "customer"  # an end customer (终端客户)
    DEALER_CONTACT = "dealer_contact"


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {"open": "待处理", "done": "已完成", "cancelled": "已取消"}[self]


class CareChannel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"
    LETTER = "letter"  # printed: envelope and letter PDF, nothing sent electronically


def placeholders(text: str, field: str) -> frozenset[str]:
    names = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        raise InvalidValue(field, "模板中的花括号不匹配（字面花括号请写成 {{ 或 }}）", code="care.template_invalid") from None
    for _lit, name, spec, conv in parsed:
        if name is None:
            continue
        if name not in VARIABLES or spec or conv:
            allowed = "、".join("{" + v + "}" for v in VARIABLES)
            raise InvalidValue(field, f"模板变量 {{{name}}} 不可用；可用变量：{allowed}", code="care.template_variable")
        names.add(name)
    return frozenset(names)


@attrs.frozen
class CareTemplate:
    name: str
    channel: CareChannel
    subject: str
    body: str

    def __attrs_post_init__(self) -> None:
        if not self.name.strip() or len(self.name) > 100:
            raise InvalidValue("name", "模板名称不能为空（最长100字）", code="care.template_invalid")
        if not self.body.strip() or len(self.body) > MAX_BODY:
            raise InvalidValue("body", f"模板正文不能为空（最长{MAX_BODY}字）", code="care.template_invalid")
        if self.channel is CareChannel.SMS:
            if self.subject:
                raise InvalidValue("subject", "短信模板没有标题", code="care.template_invalid")
            if len(self.body) > MAX_SMS_BODY:
                raise InvalidValue("body", f"短信模板最长{MAX_SMS_BODY}字", code="care.template_invalid")
        elif not self.subject.strip() or len(self.subject) > 200 or "\n" in self.subject:
            raise InvalidValue("subject", "邮件/信函模板须有一行标题（最长200字）", code="care.template_invalid")
        placeholders(self.subject, "subject")
        placeholders(self.body, "body")

    @property
    def variables(self) -> frozenset[str]:
        return placeholders(self.subject, "subject") | placeholders(self.body, "body")

    def render(self, values: Mapping[str, object], *, recipient_no: int = 0) -> tuple[str, str]:
        """``(subject, body)`` for one recipient; every variable used must have a non-empty
        one-line value (``InvalidValue`` naming the recipient and variable otherwise)."""
        text: dict[str, str] = {}
        for name in self.variables:
            value = values.get(name)
            field = f"recipients[{recipient_no}].variables.{name}"
            if value is None or not str(value).strip():
                raise InvalidValue(field, f"第{recipient_no + 1}位收件人缺少变量 {name}（{VARIABLES[name]}）",
                                   code="care.variable_missing")
            s = str(value).strip()
            if "\n" in s or "\r" in s or len(s) > 200:
                raise InvalidValue(field, f"变量 {name} 须为一行（最长200字）", code="care.variable_invalid")
            text[name] = s
        subject = self.subject.format_map(text)
        body = self.body.format_map(text)
        return subject, body


def finish(status: TaskStatus, target: TaskStatus) -> TaskStatus:
    if status is not TaskStatus.OPEN or target is TaskStatus.OPEN:
        raise IllegalTransition("care_task", status.value, target.value,
                                f"关怀任务当前为“{status.label}”，不能改为“{target.label}”")
    return target
