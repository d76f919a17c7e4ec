"""Notifications: Chinese message templates and the outbox message they become.

A business change that must tell someone (a dealer was approved, a receivable is overdue)
renders a :class:`MessageTemplate` with its variables and stores the result as a
:class:`Notification` in the *same* transaction as the change. A relay delivers it later
(see ``dealercrm.application.outbox``). Rendering is strict: a missing, empty or unknown
variable is an :class:`InvalidValue` at render time, so a half-filled message is never stored.

Template bodies use ``{name}`` placeholders (``{{`` / ``}}`` for literal braces). Values are
formatted by the caller (money as ``"¥12,345.00"``, dates as ``"2025年3月1日"``); templates carry
no format specs so that a template can never crash on a value's type.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import string
from collections.abc import Iterable, Iterator, Mapping

import attrs

from dealercrm.domain.errors import IllegalTransition, InvalidValue, NotFound
from dealercrm.domain.values import Phone


class Channel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"
    ERP = "erp"  # a machine message to the factory ERP (release of a contract), delivered by the ERP deliverer


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


# Stable codes for why a notification failed (``Notification.last_error_code``).
REJECTED = "notify.rejected"  # the provider refused the message (bad number/mailbox, 4xx/5xx)
GAVE_UP = "notify.gave_up"  # max attempts used up on transient errors
CAP_EXCEEDED = "notify.cap_exceeded"  # per-recipient cap reached (SMS costs money)
TRANSIENT = "notify.transient"  # last transient error (message still pending)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
_MAX_VALUE_LEN = 2000
_MAX_SMS_LEN = 500


# ---------------------------------------------------------------------------------------------
# Templates


def _placeholders(text: str, template_code: str) -> frozenset[str]:
    names: set[str] = set()
    for _literal, field, spec, conversion in string.Formatter().parse(text):
        if field is None:
            continue
        if not _IDENTIFIER.match(field) or spec or conversion:
            # Only plain ``{name}``: attribute/index access or format specs in a template would
            # let a value's type decide whether rendering crashes.
            raise ValueError(f"template {template_code!r}: placeholder {{{field}}} must be a plain name")
        names.add(field)
    return frozenset(names)


@attrs.frozen
class MessageTemplate:
    """One message: a stable ``code``, a channel and Chinese subject/body with ``{variables}``.

    SMS templates have an empty subject. The gateway adds the signature (【签名】) itself.
    """

    code: str
    channel: Channel
    subject: str
    body: str
    description: str = ""
    subject_variables: frozenset[str] = attrs.field(init=False)
    variables: frozenset[str] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        if self.channel is Channel.SMS and self.subject:
            raise ValueError(f"SMS template {self.code!r} must not have a subject")
        subject_vars = _placeholders(self.subject, self.code)
        object.__setattr__(self, "subject_variables", subject_vars)
        object.__setattr__(self, "variables", subject_vars | _placeholders(self.body, self.code))


@attrs.frozen
class RenderedMessage:
    template_code: str
    channel: Channel
    subject: str
    body: str


class TemplateRegistry:
    """The templates the system may send, looked up by code."""

    def __init__(self, templates: Iterable[MessageTemplate]) -> None:
        self._templates: dict[str, MessageTemplate] = {}
        for t in templates:
            if t.code in self._templates:
                raise ValueError(f"duplicate template code {t.code!r}")
            self._templates[t.code] = t

    def __contains__(self, code: object) -> bool:
        return code in self._templates

    def __iter__(self) -> Iterator[MessageTemplate]:
        return iter(self._templates.values())

    def get(self, code: str) -> MessageTemplate:
        try:
            return self._templates[code]
        except KeyError:
            raise NotFound(f"消息模板不存在：{code}", code="notify.template_not_found",
                           template_code=code) from None

    def render(self, template_code: str, variables: Mapping[str, object]) -> RenderedMessage:
        """Fill the template; every placeholder needs a non-empty value and nothing else is allowed.

        Raises :class:`InvalidValue` with ``field="variables.<name>"`` and code
        ``notify.template_variable_missing`` / ``notify.template_variable_unknown`` /
        ``notify.template_variable_invalid``.
        """
        template = self.get(template_code)
        unknown = sorted(set(variables) - template.variables)
        if unknown:
            name = unknown[0]
            raise InvalidValue(
                f"variables.{name}",
                f"模板“{template_code}”不使用变量 {name}",
                code="notify.template_variable_unknown",
                template_code=template_code,
                unknown=unknown,
            )
        missing = sorted(n for n in template.variables if n not in variables)
        if missing:
            name = missing[0]
            raise InvalidValue(
                f"variables.{name}",
                f"模板“{template_code}”缺少变量 {name}",
                code="notify.template_variable_missing",
                template_code=template_code,
                missing=missing,
            )
        values: dict[str, str] = {}
        for name in template.variables:
            values[name] = _value_text(template_code, name, variables[name],
                                       single_line=name in template.subject_variables)
        subject = template.subject.format_map(values)
        body = template.body.format_map(values)
        if template.channel is Channel.SMS and len(body) > _MAX_SMS_LEN:
            raise InvalidValue("variables", f"短信内容过长（{len(body)} 字，上限 {_MAX_SMS_LEN}）",
                               code="notify.sms_too_long", template_code=template_code)
        return RenderedMessage(template_code, template.channel, subject, body)


def _value_text(template_code: str, name: str, value: object, *, single_line: bool) -> str:
    field = f"variables.{name}"
    if value is None or isinstance(value, bool):
        raise InvalidValue(field, f"模板“{template_code}”的变量 {name} 不能为空",
                           code="notify.template_variable_missing", template_code=template_code)
    text = str(value)
    if not text.strip():
        raise InvalidValue(field, f"模板“{template_code}”的变量 {name} 不能为空",
                           code="notify.template_variable_missing", template_code=template_code)
    if len(text) > _MAX_VALUE_LEN:
        raise InvalidValue(field, f"变量 {name} 过长", code="notify.template_variable_invalid",
                           template_code=template_code)
    if single_line and ("\r" in text or "\n" in text):
        # A subject becomes a mail header: a line break would be header injection.
        raise InvalidValue(field, f"变量 {name} 用于邮件标题，不能包含换行",
                           code="notify.template_variable_invalid", template_code=template_code)
    return text


_DUNNING_BODY_HEAD = "{dealer_name}：\n\n截至{as_of}，贵公司以下应收款项已逾期{days_overdue}天：\n" \
    "发票/单据号：{invoice_no}\n应付金额：{amount}\n原到期日：{due_date}\n\n"

TEMPLATES = TemplateRegistry([
    MessageTemplate(
        "dealer.review_approved", Channel.EMAIL,
        "经销商审核通过：{dealer_name}",
        "{dealer_name}：\n\n您好！贵公司提交的经销商入驻申请（申请编号：{application_no}）已于{approved_on}"
        "审核通过。\n请使用账号 {login_name} 登录经销商门户办理后续业务：{portal_url}\n\n"
        "如有疑问，请联系您的区域经理。",
        "经销商审核通过",
    ),
    MessageTemplate(
        "dealer.review_rejected", Channel.EMAIL,
        "经销商审核未通过：{dealer_name}",
        "{dealer_name}：\n\n您好！很遗憾，贵公司提交的经销商入驻申请（申请编号：{application_no}）"
        "未通过审核。\n原因：{reason}\n\n您可以在经销商门户修改资料后重新提交：{portal_url}",
        "经销商审核未通过",
    ),
    MessageTemplate(
        "approval.requested", Channel.EMAIL,
        "审批待办：{document_type} {document_no}",
        "{approver_name}：\n\n您有一项待审批事项。\n类型：{document_type}\n单号：{document_no}\n"
        "提交人：{submitter_name}\n摘要：{summary}\n\n同意：{approve_url}\n驳回：{reject_url}\n\n"
        "链接有效期至{expires_at}，仅限本人使用，请勿转发。",
        "审批待办（含同意/驳回链接）",
    ),
    MessageTemplate(
        "workflow.task_assigned", Channel.EMAIL,
        "审批待办：{document_type} {document_no}",
        "{approver_name}：\n\n您有一项待审批事项：{step_name}。\n"
        "单据：{document_type} {document_no}\n事项：{document_title}\n流程编号：{workflow_no}\n"
        "提交人：{submitter_name}\n办理期限：{due}\n任务来源：{origin}\n\n"
        "可直接在邮件中审批（点击后会先显示确认页面）：\n同意：{approve_url}\n驳回：{reject_url}\n"
        "链接有效期至{expires_at}，每个链接只能使用一次，仅限本人使用，请勿转发。\n\n"
        "登录系统查看详情：{task_url}",
        "审批待办（邮件审批：含签名的同意/驳回链接）",
    ),
    MessageTemplate(
        "workflow.task_assigned_portal", Channel.EMAIL,
        "审批待办：{document_type} {document_no}",
        "{approver_name}：\n\n您有一项待审批事项：{step_name}。\n"
        "单据：{document_type} {document_no}\n事项：{document_title}\n流程编号：{workflow_no}\n"
        "提交人：{submitter_name}\n办理期限：{due}\n任务来源：{origin}\n\n"
        "请登录系统办理：{task_url}",
        "审批待办（未启用邮件审批时）",
    ),
    MessageTemplate(
        "customer.birthday_greeting", Channel.SMS, "",
        "尊敬的{customer_name}，{dealer_name}祝您生日快乐，万事顺意！感谢您一直以来的信任与支持。",
        "生日祝福（短信）",
    ),
    MessageTemplate(
        "sales.birthday_call_reminder", Channel.SMS, "",
        "{sales_name}，您好：客户{customer_name}将于{birthday}过生日，请记得致电{customer_phone}送上祝福。",
        "提醒销售人员生日致电",
    ),
    MessageTemplate(
        "order.delivery_date_reminder", Channel.SMS, "",
        "{dealer_name}您好：订单{order_no}（{vehicle_model}）预计交付日期为{delivery_date}，请提前安排提车。",
        "交付日期提醒",
    ),
    MessageTemplate(
        "receivable.dunning_level_1", Channel.EMAIL,
        "付款提醒：{invoice_no} 已逾期",
        _DUNNING_BODY_HEAD + "可能是付款尚在途中；如已付款请忽略本邮件，否则请尽快安排付款。\n\n{creditor_name}",
        "催款一级（友好提醒）",
    ),
    MessageTemplate(
        "receivable.dunning_level_2", Channel.EMAIL,
        "催款通知：{invoice_no} 逾期{days_overdue}天",
        _DUNNING_BODY_HEAD + "请于{pay_by}前付清上述款项。逾期未付将影响贵公司的信用额度。\n\n{creditor_name}",
        "催款二级（正式通知）",
    ),
    MessageTemplate(
        "receivable.dunning_level_3", Channel.EMAIL,
        "最后催款通知：{invoice_no} 逾期{days_overdue}天",
        _DUNNING_BODY_HEAD + "这是最后一次催款通知。如{pay_by}前仍未付清，贵公司的信用额度将被冻结，"
        "新订单暂停审批，我司保留依法追偿的权利。\n\n{creditor_name}",
        "催款三级（最后通知，冻结信用）",
    ),
    # -- credit (context 5): warnings once per crossing, receivable reminders, escalation --
    MessageTemplate(
        "credit.warning_dealer", Channel.EMAIL,
        "信用额度预警：已使用{usage}",
        "{dealer_name}：\n\n截至{as_of}，贵公司信用额度为{limit}，已占用{exposure}（{usage}），"
        "已超过预警线{threshold}，当前可用额度{available}。\n请及时安排回款，以免影响后续合同审批与提车。\n\n{creditor_name}",
        "信用额度预警（经销商）",
    ),
    MessageTemplate(
        "credit.warning_staff", Channel.EMAIL,
        "经销商信用预警：{dealer_name}已使用{usage}",
        "{recipient_name}（{audience}）：\n\n经销商{dealer_name}（{dealer_code}）信用额度{limit}，当前占用{exposure}"
        "（{usage}），已超过预警线{threshold}，可用额度{available}。\n{advice}\n\n此为系统自动提醒，每次越过预警线提醒一次。",
        "信用额度预警（财务、开票）",
    ),
    MessageTemplate(
        "receivable.due_soon_dealer", Channel.SMS, "",
        "{dealer_name}您好：合同{contract_no}应收款{amount}将于{due_date}到期，请按时回款。",
        "应收款即将到期（经销商）",
    ),
    MessageTemplate(
        "receivable.due_soon_sales", Channel.SMS, "",
        "{sales_name}：经销商{dealer_name}合同{contract_no}应收款{amount}将于{due_date}到期，请提醒回款。",
        "应收款即将到期（销售代表）",
    ),
    MessageTemplate(
        "receivable.overdue_sales", Channel.SMS, "",
        "{sales_name}：经销商{dealer_name}合同{contract_no}应收款{amount}已逾期{days_overdue}天（第{level}级催款），请跟进回款。",
        "应收款逾期（销售代表）",
    ),
    MessageTemplate(
        "receivable.overdue_finance", Channel.EMAIL,
        "逾期升级：{dealer_name}逾期{days_overdue}天",
        "{recipient_name}：\n\n经销商{dealer_name}（{dealer_code}）的应收款已逾期{days_overdue}天，已发出最后催款通知。\n"
        "单据：{documents}\n逾期金额：{amount}\n原到期日：{due_date}\n\n请评估是否冻结其信用额度。",
        "应收款逾期升级（财务）",
    ),
    MessageTemplate(
        "dealer.contact_birthday_greeting", Channel.SMS, "",
        "尊敬的{contact_name}：今天是您的生日，我们谨代表公司全体同仁祝您生日快乐、身体健康、事业兴旺！"
        "感谢{dealer_name}一直以来的信赖与合作。",
        "经销商管理团队/联系人生日祝福（短信）",
    ),
    MessageTemplate(
        "campaign.invitation", Channel.EMAIL,
        "邀请参加营销活动：{campaign_name}",
        "{recipient_name}（{dealer_name}）：\n\n诚邀贵公司参加营销活动“{campaign_name}”（{starts_on}至{ends_on}）。\n"
        "{description}\n\n活动期间获得的客户线索将分配给贵公司跟进，请在系统的线索页查看：{portal_url}/leads",
        "营销活动邀请（目标经销商名单）",
    ),
    MessageTemplate(
        "aftersales.monthly_repair_report", Channel.EMAIL,
        "{month}维修报告：{repairs}次维修，结算{settled}",
        "{recipient_name}：\n\n{month}共完成维修{repairs}次，涉及车辆{vehicles}台；三包配件{warranty_parts}，"
        "已结算索赔{settled}。\n\n按故障类别：\n{by_fault}\n\n按产品线：\n{by_line}\n\n维修最多的服务站：\n{by_station}\n\n"
        "请技术、生产、采购部门据此分析质量问题与备件需求。完整报表请登录系统查看：{portal_url}",
        "月度维修报告（技术、生产、采购）",
    ),
    MessageTemplate(
        "alert.raised", Channel.EMAIL,
        "【{severity}】{title}",
        "{recipient_name}：\n\n系统于{raised_at}产生一条提醒：\n{title}\n\n{details}\n\n"
        "请登录系统工作台查看和处理：{portal_url}",
        "预警提醒（邮件）",
    ),
    MessageTemplate(
        "alert.raised_sms", Channel.SMS, "",
        "{recipient_name}，您好：{title}。请登录系统工作台查看。",
        "预警提醒（短信）",
    ),
    MessageTemplate(
        "gate_pass.approved", Channel.SMS, "",
        "出门证{pass_no}已审批通过：车辆{vin}，有效期至{valid_until}，请凭出门证二维码出厂。",
        "出门证审批通过",
    ),
    MessageTemplate(
        "shipment.receipt_discrepancy", Channel.EMAIL,
        "回执异常：{dealer_name} 发运单 {shipment_no}",
        "{recipient_name}：\n\n经销商 {dealer_name} 对发运单 {shipment_no}（合同 {contract_no}）的收货回执"
        " {receipt_no} 与发运单或合同不符：\n{discrepancies}\n\n收货人：{receiver_name}\n回执时间：{received_at}\n"
        "请尽快核实处理：{portal_url}",
        "收货回执与合同不符，报警给发车与销售",
    ),
    MessageTemplate(
        "pickup.receipt_discrepancy", Channel.EMAIL,
        "回执异常：{dealer_name} 自提出门证 {pass_no}",
        "{recipient_name}：\n\n经销商 {dealer_name} 对自提车辆（出门证 {pass_no}，合同 {contract_no}）的收货回执"
        " {receipt_no} 与出门证或合同不符：\n{discrepancies}\n\n收货人：{receiver_name}\n回执时间：{received_at}\n"
        "请尽快核实处理：{portal_url}",
        "自提车辆收货回执与合同不符，报警给发车与销售",
    ),
    MessageTemplate(
        "shipment.receipt_reminder", Channel.EMAIL,
        "请确认收货：发运单 {shipment_no}",
        "{dealer_name}：\n\n发运单 {shipment_no}（承运：{carrier}，车牌 {truck_plate}，共 {vehicle_count} 台）"
        "预计于 {expected_arrival} 到达，至今未收到贵公司的收货回执。\n请登录经销商门户逐台确认收货：{portal_url}",
        "外送车辆回执逾期提醒",
    ),
    MessageTemplate(
        "survey.invitation", Channel.EMAIL,
        "经销商满意度调查：{survey_title}",
        "{dealer_name}：\n\n您好！诚邀贵公司参加满意度调查“{survey_title}”（截止日期：{deadline}）。\n"
        "请登录经销商门户填写：{link}\n\n您的意见将帮助我们改进产品与服务，感谢支持！",
        "经销商满意度调查邀请",
    ),
    # customer care (客户关怀): staff write the text in a care template whose variables are
    # checked there (domain.care); these carry the rendered result through the outbox
    MessageTemplate("care.email", Channel.EMAIL, "{subject}", "{body}", "客户关怀邮件"),
    MessageTemplate("care.sms", Channel.SMS, "", "{body}", "客户关怀短信"),
    MessageTemplate(
        "order.review_returned", Channel.EMAIL,
        "订单评审退回：{order_no}",
        "{dealer_name}：\n\n您好！贵公司的订单 {order_no}（{model}，{quantity} 台）未通过评审，已退回修改。\n"
        "退回原因：{reason}\n\n请登录经销商门户修改后重新提交：{portal_url}",
        "订单评审退回经销商",
    ),
    MessageTemplate(
        "order.contract_issued", Channel.EMAIL,
        "电子合同待确认：{contract_no}",
        "{dealer_name}：\n\n您好！订单 {order_no} 已通过评审，电子合同 {contract_no}（金额 {amount}）已生成，"
        "请登录经销商门户查看并确认：{portal_url}",
        "电子合同生成，请经销商确认",
    ),
    MessageTemplate(
        "order.finance_rejected", Channel.EMAIL,
        "合同财务审核未通过：{contract_no}",
        "{dealer_name}：\n\n您好！订单 {order_no}（合同 {contract_no}）财务审核未通过。\n原因：{reason}\n\n"
        "请与销售或财务联系处理后重新提交：{portal_url}",
        "财务驳回，告知经销商",
    ),
    MessageTemplate(
        "erp.release_order", Channel.ERP,
        "下达ERP：{contract_no}",
        "{payload}",
        "财务审核通过后向ERP下达销售订单（幂等键为合同的 erp_key）",
    ),
    MessageTemplate(
        "erp.forward_change", Channel.ERP,
        "订单变更转ERP：{change_no}",
        "{payload}",
        "评审通过的订单变更转交ERP（幂等键为变更单号）",
    ),
    # -- training (seed 000 §2.6, §4.6) --
    MessageTemplate(
        "training.invitation", Channel.EMAIL,
        "培训邀请：{title}",
        "{recipient_name}：\n\n{organizer_name}邀请{invitee_name}参加以下培训：\n主题：{title}\n类别：{topic}\n"
        "时间：{time_window}\n方式：{venue}\n\n请登录系统确认是否参加（如不能参加请说明原因）：{portal_url}",
        "培训邀请（请确认）",
    ),
    MessageTemplate(
        "training.reminder", Channel.SMS, "",
        "{recipient_name}您好：培训“{title}”将于{starts_at}开始，{venue}。",
        "培训开始前提醒（短信）",
    ),
    MessageTemplate(
        "training.meeting_ready", Channel.EMAIL,
        "培训会议链接：{title}",
        "{recipient_name}：\n\n培训“{title}”（{time_window}）将在线举行。\n入会链接：{join_url}\n"
        "会议号：{meeting_code}\n会议密码：{passcode}\n\n请勿转发本邮件。",
        "线上培训的会议链接",
    ),
    MessageTemplate(
        "training.rescheduled", Channel.EMAIL,
        "培训改期：{title}",
        "{recipient_name}：\n\n培训“{title}”改期为：{time_window}\n方式：{venue}\n\n"
        "请登录系统重新确认是否参加：{portal_url}",
        "培训改期通知（请重新确认）",
    ),
    MessageTemplate(
        "training.cancelled", Channel.EMAIL,
        "培训取消：{title}",
        "{recipient_name}：\n\n原定于{time_window}举行的培训“{title}”已取消。\n原因：{reason}\n\n给您带来不便，敬请谅解。",
        "培训取消通知",
    ),
    MessageTemplate(
        "message.away_digest", Channel.EMAIL,
        "您有{count}条未读消息",
        "{recipient_name}：\n\n您有{count}条消息尚未阅读：\n{lines}\n\n登录查看并回复：{messages_url}",
        "未读消息摘要（离开一段时间后）",
    ),
    MessageTemplate(
        "message.away_urgent", Channel.SMS, "",
        "{recipient_name}，{author_name}等在“{conversation_title}”中有{count}条消息待您处理，请登录系统查看。",
        "紧急未读消息提醒（@提及、业务单据讨论）",
    ),
])


def render(template_code: str, variables: Mapping[str, object]) -> RenderedMessage:
    """Render one of the system's :data:`TEMPLATES` (see :meth:`TemplateRegistry.render`)."""
    return TEMPLATES.render(template_code, variables)


# ---------------------------------------------------------------------------------------------
# The outbox message


def normalise_recipient(channel: Channel, recipient: str) -> str:
    """A valid recipient for the channel: an e-mail address, or an 11-digit mainland mobile."""
    if channel is Channel.ERP:
        value = recipient.strip() if isinstance(recipient, str) else ""
        if not 1 <= len(value) <= 64:
            raise InvalidValue("recipient", "ERP 消息须指明目标系统", code="notify.recipient_malformed")
        return value
    if channel is Channel.SMS:
        phone = Phone(recipient)
        if not phone.is_mobile:
            raise InvalidValue("recipient", "短信只能发送到手机号码", code="notify.recipient_not_mobile")
        return phone.value
    value = recipient.strip() if isinstance(recipient, str) else recipient
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.match(value):
        raise InvalidValue("recipient", "电子邮箱地址格式不正确", code="notify.recipient_malformed")
    return value


def mask_recipient(recipient: str) -> str:
    """For logs: ``138****5678`` for phones, ``z***@example.com`` for mail."""
    if "@" in recipient:
        local, _, domain = recipient.partition("@")
        return f"{local[:1]}***@{domain}"
    if len(recipient) >= 8:
        return recipient[:3] + "****" + recipient[-4:]
    return "****"


_KEY = re.compile(r"^[\x21-\x3b=\x3f-\x7e]{1,200}$")  # printable ASCII without space and <>


def _check_key(_instance: object, _attribute: object, value: str) -> None:
    # The key travels in mail and HTTP headers, so it stays printable ASCII.
    if not isinstance(value, str) or not _KEY.match(value):
        raise InvalidValue("idempotency_key", "幂等键须为1–200个可打印ASCII字符（不含空格和尖括号）",
                           code="notify.idempotency_key_invalid")


@attrs.define(slots=False, eq=False)
class Notification:
    """One message waiting in, or delivered from, the outbox.

    ``attempts`` counts delivery attempts *started* (a worker that crashes mid-send used one),
    so a message that kills workers cannot loop forever.
    """

    id: str
    idempotency_key: str = attrs.field(validator=_check_key)
    channel: Channel
    recipient: str
    subject: str
    body: str
    status: NotificationStatus
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    last_error_code: str | None = None
    template_code: str | None = None

    @classmethod
    def new(cls, *, id: str, idempotency_key: str, message: RenderedMessage, recipient: str,
            now: dt.datetime) -> Notification:
        return cls(
            id=id,
            idempotency_key=idempotency_key,
            channel=message.channel,
            recipient=normalise_recipient(message.channel, recipient),
            subject=message.subject,
            body=message.body,
            status=NotificationStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            last_error=None,
            created_at=now,
            sent_at=None,
            template_code=message.template_code,
        )

    # The transitions below are used by the in-memory store; the SQL store performs the same
    # moves as single conditional UPDATEs.

    def start_attempt(self) -> None:
        if self.status not in (NotificationStatus.PENDING, NotificationStatus.SENDING):
            raise IllegalTransition("notification", self.status, "start_attempt")
        self.status = NotificationStatus.SENDING
        self.attempts += 1

    def mark_sent(self, now: dt.datetime) -> None:
        if self.status is NotificationStatus.SENT:
            raise IllegalTransition("notification", self.status, "mark_sent")
        self.status = NotificationStatus.SENT
        self.sent_at = now

    def schedule_retry(self, at: dt.datetime, *, error: str, error_code: str = TRANSIENT) -> None:
        if self.status is not NotificationStatus.SENDING:
            raise IllegalTransition("notification", self.status, "schedule_retry")
        self.status = NotificationStatus.PENDING
        self.next_attempt_at = at
        self.last_error = error
        self.last_error_code = error_code

    def release(self, at: dt.datetime) -> None:
        """Give an unstarted claim back (the attempt did not happen)."""
        if self.status is not NotificationStatus.SENDING:
            raise IllegalTransition("notification", self.status, "release")
        self.status = NotificationStatus.PENDING
        self.attempts = max(0, self.attempts - 1)
        self.next_attempt_at = at

    def mark_failed(self, *, error: str, error_code: str) -> None:
        if self.status is not NotificationStatus.SENDING:
            raise IllegalTransition("notification", self.status, "mark_failed")
        self.status = NotificationStatus.FAILED
        self.last_error = error
        self.last_error_code = error_code

    def requeue(self, now: dt.datetime) -> None:
        """A person retries a failed message from the workbench: a fresh set of attempts."""
        if self.status is not NotificationStatus.FAILED:
            raise IllegalTransition("notification", self.status, "requeue")
        self.status = NotificationStatus.PENDING
        self.attempts = 0
        self.next_attempt_at = now
