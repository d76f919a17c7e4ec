"""The configured order (seed 000 §3.1–§3.5) and its whole life cycle.

A dealer (or factory sales staff on its behalf) fills a draft from one published template
version: options, quantity, requested delivery date, self-pickup (自提) or shipping (外送) with
an address, the end customer if any, customer-supplied chassis/parts (客户自带主机/配件) and
remarks. The price is never typed by the dealer: it is the automatic estimate
(``domain.catalog.estimate_price``) or, for special configurations, a quote from sales
management (核价) that the dealer accepted.

Life cycle (codes in the API, seed words in ``OrderState.label``)::

    draft ─request_quote→ awaiting_quote ─issue_quote→ quoted ─accept/decline→ draft
      │  ↑withdraw            (special configurations only; an accepted quote is required to submit)
      └─submit→ submitted ─start_review→ in_review ─review_passed→ approved ─contract_issued→
                    │ ↑resubmit                │review_returned                        contract_signing
                    ↓withdraw (before review)  ↓                                           │contract_accepted
                  draft                     returned (editable)                     finance_review ⇄ finance_rejected
                                                                                           │finance_approved
      released ←erp_released─ awaiting_release ←──────────────────────────────────────────┘
         │production_progressed → in_production ─stocked_in→ stocked ─complete→ completed
         │                 (─inspected→ in_production: the finished-vehicle inspection, when the ERP reports it)
    (large modification orders 大委改 go from review_passed straight to finance_review: no e-contract)
    (退单 ``return_for_change``: approved … released → returned, the contract voided)
    (``cancel``: draft, returned, awaiting_quote, quoted, finance_rejected → cancelled)

Every move is checked against one table (``TRANSITIONS``) and appends an :class:`OrderEvent`
(who, when, from → to, a Chinese summary, data) to ``events``; the timeline is those events.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from typing import Any, Literal, overload

import attrs

from dealercrm.domain.catalog import Configuration, PriceEstimate, PublishedVersion, check_quantity
from dealercrm.domain.channel import ProductLine
from dealercrm.domain.errors import BusinessRuleViolation, Conflict, IllegalTransition, InvalidValue
from dealercrm.domain.identity import Principal
from dealercrm.domain.values import SHANGHAI as SHANGHAI  # re-exported
from dealercrm.domain.values import Money, Phone, beijing_date
MAX_SUPPLIED_PARTS = 50
# the production status words the ERP's stages end in (the ERP port's labels say the same)
PRODUCTION_INSPECTED = "已检验"
PRODUCTION_STOCKED = "已入库"
MAX_DELIVERY_DAYS = 730


beijing_today = beijing_date  # the order context's name for it


class OrderState(enum.StrEnum):
    DRAFT = "draft"
    AWAITING_QUOTE = "awaiting_quote"
    QUOTED = "quoted"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    RETURNED = "returned"
    APPROVED = "approved"
    CONTRACT_SIGNING = "contract_signing"
    FINANCE_REVIEW = "finance_review"
    FINANCE_REJECTED = "finance_rejected"
    AWAITING_RELEASE = "awaiting_release"
    RELEASED = "released"
    IN_PRODUCTION = "in_production"
    STOCKED = "stocked"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]

    @property
    def editable(self) -> bool:
        return self in (OrderState.DRAFT, OrderState.RETURNED)


STATE_LABELS = {
    OrderState.DRAFT: "订单填报",
    OrderState.AWAITING_QUOTE: "待核价",
    OrderState.QUOTED: "已报价待确认",
    OrderState.SUBMITTED: "已提交待评审",
    OrderState.IN_REVIEW: "评审中",
    OrderState.RETURNED: "已退回待修改",
    OrderState.APPROVED: "评审通过",
    OrderState.CONTRACT_SIGNING: "电子合同待确认",
    OrderState.FINANCE_REVIEW: "财务审核中",
    OrderState.FINANCE_REJECTED: "财务审核未通过",
    OrderState.AWAITING_RELEASE: "待转入ERP",
    OrderState.RELEASED: "已下达ERP",
    OrderState.IN_PRODUCTION: "生产中",
    OrderState.STOCKED: "已入库待提",
    OrderState.COMPLETED: "已完成",
    OrderState.CANCELLED: "已取消",
}

S = OrderState
# action → (states it is allowed from, target state); review_passed's target depends on 大委改.
TRANSITIONS: dict[str, tuple[frozenset[OrderState], OrderState]] = {
    "request_quote": (frozenset({S.DRAFT, S.RETURNED, S.QUOTED}), S.AWAITING_QUOTE),
    "issue_quote": (frozenset({S.AWAITING_QUOTE}), S.QUOTED),
    "accept_quote": (frozenset({S.QUOTED}), S.DRAFT),
    "decline_quote": (frozenset({S.QUOTED}), S.DRAFT),
    "submit": (frozenset({S.DRAFT, S.RETURNED}), S.SUBMITTED),
    "withdraw": (frozenset({S.SUBMITTED, S.AWAITING_QUOTE}), S.DRAFT),
    "start_review": (frozenset({S.SUBMITTED}), S.IN_REVIEW),
    "review_passed": (frozenset({S.SUBMITTED, S.IN_REVIEW}), S.APPROVED),
    "review_returned": (frozenset({S.SUBMITTED, S.IN_REVIEW}), S.RETURNED),
    "contract_issued": (frozenset({S.APPROVED}), S.CONTRACT_SIGNING),
    "contract_accepted": (frozenset({S.CONTRACT_SIGNING}), S.FINANCE_REVIEW),
    "finance_approved": (frozenset({S.FINANCE_REVIEW}), S.AWAITING_RELEASE),
    "finance_rejected": (frozenset({S.FINANCE_REVIEW}), S.FINANCE_REJECTED),
    "resubmit_to_finance": (frozenset({S.FINANCE_REJECTED}), S.FINANCE_REVIEW),
    "erp_released": (frozenset({S.AWAITING_RELEASE}), S.RELEASED),
    "production_progressed": (frozenset({S.RELEASED, S.IN_PRODUCTION}), S.IN_PRODUCTION),
    "inspected": (frozenset({S.RELEASED, S.IN_PRODUCTION}), S.IN_PRODUCTION),
    "stocked_in": (frozenset({S.RELEASED, S.IN_PRODUCTION}), S.STOCKED),
    "complete": (frozenset({S.STOCKED}), S.COMPLETED),
    "return_for_change": (
        frozenset({S.APPROVED, S.CONTRACT_SIGNING, S.FINANCE_REVIEW, S.FINANCE_REJECTED, S.AWAITING_RELEASE,
                   S.RELEASED}),
        S.RETURNED,
    ),
    "cancel": (frozenset({S.DRAFT, S.RETURNED, S.AWAITING_QUOTE, S.QUOTED, S.FINANCE_REJECTED}), S.CANCELLED),
}

ACTION_LABELS = {
    "revise": "修改订单", "request_quote": "申请核价", "issue_quote": "报价", "accept_quote": "接受报价",
    "decline_quote": "拒绝报价", "submit": "提交订单", "withdraw": "撤回", "start_review": "开始评审",
    "review_passed": "评审通过", "review_returned": "评审退回", "contract_issued": "生成电子合同",
    "contract_accepted": "确认电子合同", "finance_approved": "财务审核通过", "finance_rejected": "财务驳回",
    "resubmit_to_finance": "重新提交财务审核", "erp_released": "转入ERP", "production_progressed": "更新生产进度",
    "inspected": "成品检验", "stocked_in": "入库", "complete": "完成", "return_for_change": "退单", "cancel": "取消订单",
    "mark_major_modification": "标记大委改",
}


class DeliveryMethod(enum.StrEnum):
    SELF_PICKUP = "self_pickup"
    SHIPPING = "shipping"

    @property
    def label(self) -> str:
        return "自提" if self is DeliveryMethod.SELF_PICKUP else "外送"


class SuppliedPartKind(enum.StrEnum):
    CHASSIS = "chassis"  # 客户自带主机（底盘）
    PART = "part"  # 客户自带配件

    @property
    def label(self) -> str:
        return "客户自带主机" if self is SuppliedPartKind.CHASSIS else "客户自带配件"


class QuoteStatus(enum.StrEnum):
    REQUESTED = "requested"
    ISSUED = "issued"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    SUPERSEDED = "superseded"

    @property
    def label(self) -> str:
        return {"requested": "待核价", "issued": "已报价", "accepted": "已接受", "declined": "已拒绝",
                "superseded": "已失效"}[self.value]


class PriceSource(enum.StrEnum):
    ESTIMATE = "estimate"  # 自动测算
    QUOTE = "quote"  # 核价报价（经销商已接受）


# ---------------------------------------------------------------------------------------------
# Values and child entities


@overload
def _text(value: str | None, field: str, label: str, max_len: int, *, required: Literal[True] = ...) -> str: ...


@overload
def _text(value: str | None, field: str, label: str, max_len: int, *, required: bool) -> str | None: ...


def _text(value: str | None, field: str, label: str, max_len: int, *, required: bool = True) -> str | None:
    if value is None or not value.strip():
        if required:
            raise InvalidValue(field, f"{label}不能为空", code="value.required")
        return None
    value = value.strip()
    if len(value) > max_len:
        raise InvalidValue(field, f"{label}不能超过{max_len}个字符", code="value.too_long")
    return value


@attrs.frozen
class EndCustomer:
    """终端客户: the buyer behind the dealer, when the dealer names one."""

    name: str
    phone: Phone | None = None
    industry: str | None = None

    def __attrs_post_init__(self) -> None:
        _text(self.name, "end_customer.name", "终端客户名称", 100)

    def __composite_values__(self) -> tuple[Any, ...]:
        return (self.name, self.phone, self.industry)


@attrs.frozen
class DeliveryAddress:
    """Where a shipped (外送) order goes, and who signs the receipt (收货人)."""

    province: str
    city: str
    detail: str
    consignee: str | None = None
    consignee_phone: Phone | None = None

    def __attrs_post_init__(self) -> None:
        _text(self.province, "delivery_address.province", "省份", 20)
        _text(self.city, "delivery_address.city", "城市", 40)
        _text(self.detail, "delivery_address.detail", "详细地址", 200)

    def __composite_values__(self) -> tuple[Any, ...]:
        return (self.province, self.city, self.detail, self.consignee, self.consignee_phone)

    def __str__(self) -> str:
        return f"{self.province}{self.city}{self.detail}"


@attrs.define(slots=False, eq=False)
class SuppliedPart:
    """One line of 客户自带主机/配件; the ledger of receipts and issues (issue 4 §9) refers to it."""

    line_no: int
    kind: SuppliedPartKind
    description: str
    serial: str | None = None
    quantity: int = 1
    id: int | None = None


@attrs.define(slots=False, eq=False)
class PriceQuote:
    """A manual price review (核价) of a special configuration and its outcome."""

    seq: int
    configuration_key: str
    requested_at: dt.datetime
    requested_by: str
    status: QuoteStatus = QuoteStatus.REQUESTED
    request_note: str | None = None
    unit_price: Money | None = None
    note: str | None = None
    valid_until: dt.date | None = None
    quoted_at: dt.datetime | None = None
    quoted_by: str | None = None
    decided_at: dt.datetime | None = None
    decided_by: str | None = None
    decline_reason: str | None = None
    id: int | None = None


@attrs.define(slots=False, eq=False)
class OrderEvent:
    """One entry of the order's timeline. Appended, never changed."""

    kind: str
    at: dt.datetime
    summary: str
    from_state: str | None = None
    to_state: str | None = None
    actor_id: int | None = None
    actor_name: str = "system"
    actor_role: str = "system"
    data: dict[str, Any] = attrs.field(factory=dict)
    order_id: int | None = None
    id: int | None = None


@attrs.frozen
class SuppliedPartIn:
    kind: str
    description: str
    serial: str | None = None
    quantity: int = 1


@attrs.frozen
class OrderTerms:
    """What the dealer decides in a draft (everything but price and state), validated."""

    version: PublishedVersion
    configuration: Configuration
    quantity: int
    requested_delivery_date: dt.date
    delivery_method: DeliveryMethod
    delivery_address: DeliveryAddress | None = None
    end_customer: EndCustomer | None = None
    supplied_parts: tuple[SuppliedPartIn, ...] = ()
    remarks: str | None = None

    def __attrs_post_init__(self) -> None:
        check_quantity(self.quantity)
        if self.delivery_method is DeliveryMethod.SHIPPING and self.delivery_address is None:
            raise InvalidValue("delivery_address", "外送订单须填写收货地址", code="order.address_required")
        if self.delivery_method is DeliveryMethod.SELF_PICKUP and self.delivery_address is not None:
            raise InvalidValue("delivery_address", "自提订单无需填写收货地址", code="order.address_not_applicable")
        if len(self.supplied_parts) > MAX_SUPPLIED_PARTS:
            raise InvalidValue("supplied_parts", f"客户自带主机/配件最多{MAX_SUPPLIED_PARTS}行", code="order.too_many_parts")
        for i, part in enumerate(self.supplied_parts):
            if part.kind not in SuppliedPartKind.__members__.values():
                raise InvalidValue(f"supplied_parts[{i}].kind", "类型须为 chassis（主机）或 part（配件）",
                                   code="order.part_kind_unknown")
            _text(part.description, f"supplied_parts[{i}].description", "自带主机/配件说明", 200)
            _text(part.serial, f"supplied_parts[{i}].serial", "序列号", 60, required=False)
            if isinstance(part.quantity, bool) or not isinstance(part.quantity, int) or not 1 <= part.quantity <= 999:
                raise InvalidValue(f"supplied_parts[{i}].quantity", "数量须为1到999的整数", code="order.part_quantity")
        _text(self.remarks, "remarks", "备注", 1000, required=False)

    @property
    def configuration_key(self) -> str:
        """What a quote is bound to: template version, options and quantity."""
        return (f"{self.version.template_id}:{self.version.version}:"
                f"{','.join(sorted(self.configuration.options))}:{self.quantity}")


def check_delivery_date(day: dt.date, now: dt.datetime, field: str = "requested_delivery_date") -> None:
    today = beijing_today(now)
    if day <= today:
        raise InvalidValue(field, "要求交货日期须晚于今天", code="order.delivery_date_past")
    if day > today + dt.timedelta(days=MAX_DELIVERY_DAYS):
        raise InvalidValue(field, "要求交货日期不能超过两年后", code="order.delivery_date_too_far")


# ---------------------------------------------------------------------------------------------
# The aggregate


@attrs.define(slots=False, eq=False)
class Order:
    order_no: str
    dealer_id: int
    template_id: int
    template_version: int
    model_code: str
    product_line: ProductLine
    template_name: str
    options: list[str]
    quantity: int
    requested_delivery_date: dt.date
    delivery_method: DeliveryMethod
    estimate: PriceEstimate
    requires_quote: bool
    unit_price: Money
    total: Money
    price_source: PriceSource = PriceSource.ESTIMATE
    delivery_address: DeliveryAddress | None = None
    end_customer: EndCustomer | None = None
    remarks: str | None = None
    state: OrderState = OrderState.DRAFT
    state_changed_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    created_by_id: int | None = None
    created_by_name: str | None = None
    updated_at: dt.datetime | None = None
    submitted_at: dt.datetime | None = None
    submission_count: int = 0
    return_reasons: list[str] = attrs.field(factory=list)
    is_major_modification: bool = False  # 大委改: no e-contract, straight to finance after review
    contract_no: str | None = None
    # counts 退单s + 1: a 大委改 order (no contract) is known to credit and the ERP by its order
    # number in round 1 and by "<order_no>-R<n>" after that, so a new round never reuses the
    # cancelled credit commitment or the ERP idempotency key of the last one
    release_round: int = 1
    agreed_delivery_date: dt.date | None = None
    erp_tracking_no: str | None = None  # 内部流转单号 (ERP计划跟踪号)
    production_status: str | None = None
    production_percent: int | None = None
    supplied_parts: list[SuppliedPart] = attrs.field(factory=list)
    quotes: list[PriceQuote] = attrs.field(factory=list)
    events: list[OrderEvent] = attrs.field(factory=list)  # timeline entries not yet stored (drained on save)
    version: int = 1
    id: int | None = None

    # -- creation and editing ----------------------------------------------------------------

    @classmethod
    def draft(cls, order_no: str, dealer_id: int, terms: OrderTerms, estimate: PriceEstimate, now: dt.datetime,
              by: Principal | None) -> Order:
        check_delivery_date(terms.requested_delivery_date, now)
        order = cls(
            order_no=order_no, dealer_id=dealer_id, template_id=terms.version.template_id,
            template_version=terms.version.version, model_code=terms.version.model_code,
            product_line=terms.version.product_line, template_name=terms.version.content.name,
            options=list(terms.configuration.options), quantity=terms.quantity,
            requested_delivery_date=terms.requested_delivery_date, delivery_method=terms.delivery_method,
            estimate=estimate, requires_quote=terms.configuration.special, unit_price=estimate.net_unit,
            total=estimate.total, delivery_address=terms.delivery_address, end_customer=terms.end_customer,
            remarks=terms.remarks, state=OrderState.DRAFT, state_changed_at=now, created_at=now,
            created_by_id=by.user_id if by else None, created_by_name=by.username if by else "system",
            updated_at=now,
        )
        order.supplied_parts = order._parts(terms.supplied_parts)
        order._record("created", now, by, f"创建订单 {order_no}（{terms.version.content.name}，{terms.quantity}台）",
                      to_state=OrderState.DRAFT,
                      data={"template_id": order.template_id, "template_version": order.template_version})
        order._record_estimate(now, by)
        return order

    @property
    def configuration_key(self) -> str:
        return f"{self.template_id}:{self.template_version}:{','.join(sorted(self.options))}:{self.quantity}"

    @property
    def accepted_quote(self) -> PriceQuote | None:
        return next((q for q in reversed(self.quotes) if q.status is QuoteStatus.ACCEPTED), None)

    @property
    def open_quote(self) -> PriceQuote | None:
        return next((q for q in reversed(self.quotes) if q.status in (QuoteStatus.REQUESTED, QuoteStatus.ISSUED)),
                    None)

    def revise(self, terms: OrderTerms, estimate: PriceEstimate, now: dt.datetime, by: Principal | None) -> None:
        """Replace the draft's terms (draft or returned only). A changed configuration voids an
        accepted quote; the new estimate becomes the price."""
        self.ensure_editable("revise")
        check_delivery_date(terms.requested_delivery_date, now)
        changed = [name for name, new in (
            ("template_version", (terms.version.template_id, terms.version.version)),
            ("options", list(terms.configuration.options)),
            ("quantity", terms.quantity),
            ("requested_delivery_date", terms.requested_delivery_date),
            ("delivery_method", terms.delivery_method),
            ("delivery_address", terms.delivery_address),
            ("end_customer", terms.end_customer),
            ("remarks", terms.remarks),
        ) if new != (getattr(self, name) if name != "template_version" else (self.template_id, self.template_version))]
        new_parts = self._parts(terms.supplied_parts)
        if [(p.kind, p.description, p.serial, p.quantity) for p in new_parts] != [
                (p.kind, p.description, p.serial, p.quantity) for p in self.supplied_parts]:
            changed.append("supplied_parts")
            self.supplied_parts[:] = new_parts
        old_key = self.configuration_key
        self.template_id, self.template_version = terms.version.template_id, terms.version.version
        self.model_code, self.template_name = terms.version.model_code, terms.version.content.name
        self.options = list(terms.configuration.options)
        self.quantity = terms.quantity
        self.requested_delivery_date = terms.requested_delivery_date
        self.delivery_method = terms.delivery_method
        self.delivery_address = terms.delivery_address
        self.end_customer = terms.end_customer
        self.remarks = terms.remarks
        self.requires_quote = terms.configuration.special
        if changed:
            self._record("revised", now, by, "修改订单：" + "、".join(_FIELD_LABELS.get(c, c) for c in changed),
                         data={"fields": changed})
        accepted = self.accepted_quote
        if accepted is not None and self.configuration_key != old_key:
            accepted.status = QuoteStatus.SUPERSEDED
            self._record("quote_voided", now, by, f"配置已变更，第{accepted.seq}次核价报价失效",
                         data={"quote_seq": accepted.seq})
        self.reprice(estimate, now, by)
        self.updated_at = now

    def reprice(self, estimate: PriceEstimate, now: dt.datetime, by: Principal | None) -> None:
        """Take a fresh automatic estimate (e.g. the tier changed); recorded when it differs."""
        changed = estimate != self.estimate
        self.estimate = estimate
        accepted = self.accepted_quote
        if accepted is not None and accepted.unit_price is not None:
            self.unit_price, self.price_source = accepted.unit_price, PriceSource.QUOTE
        else:
            self.unit_price, self.price_source = estimate.net_unit, PriceSource.ESTIMATE
        self.total = self.unit_price * self.quantity
        if changed:
            self.updated_at = now
            self._record_estimate(now, by)

    def mark_major_modification(self, flag: bool, now: dt.datetime, by: Principal | None) -> None:
        """大委改: set by factory staff before the review passes; such orders skip the e-contract."""
        if self.state not in (S.DRAFT, S.RETURNED, S.AWAITING_QUOTE, S.QUOTED, S.SUBMITTED, S.IN_REVIEW):
            raise self._illegal("mark_major_modification")
        if flag != self.is_major_modification:
            self.is_major_modification = flag
            self.updated_at = now
            self._record("major_modification_marked", now, by, "标记为大委改订单" if flag else "取消大委改标记",
                         data={"is_major_modification": flag})

    # -- manual price review (核价) ------------------------------------------------------------

    def request_quote(self, note: str | None, now: dt.datetime, by: Principal | None) -> PriceQuote:
        self.ensure_can("request_quote")
        if not self.requires_quote:
            raise BusinessRuleViolation("该配置可自动测算价格，无需核价", code="order.quote_not_needed")
        accepted = self.accepted_quote
        if accepted is not None and accepted.configuration_key == self.configuration_key:
            raise Conflict("当前配置已有接受的报价", code="order.quote_already_accepted", quote_seq=accepted.seq)
        for q in self.quotes:
            if q.status in (QuoteStatus.REQUESTED, QuoteStatus.ISSUED):
                q.status = QuoteStatus.SUPERSEDED
        quote = PriceQuote(seq=len(self.quotes) + 1, configuration_key=self.configuration_key, requested_at=now,
                           requested_by=by.username if by else "system",
                           request_note=_text(note, "note", "核价说明", 500, required=False))
        self.quotes.append(quote)
        self._move("request_quote", now, by, f"申请核价（第{quote.seq}次）：特殊配置需人工核价",
                   data={"quote_seq": quote.seq, "note": quote.request_note})
        return quote

    def issue_quote(self, unit_price: Money, note: str | None, valid_until: dt.date, now: dt.datetime,
                    by: Principal | None) -> PriceQuote:
        self.ensure_can("issue_quote")
        if unit_price.fen <= 0:
            raise InvalidValue("unit_price_fen", "报价单价须大于0", code="order.quote_price_not_positive")
        if valid_until < beijing_today(now):
            raise InvalidValue("valid_until", "报价有效期不能早于今天", code="order.quote_validity_past")
        quote = self.open_quote
        if quote is None:  # unreachable through the table; kept so state and quotes never disagree
            raise BusinessRuleViolation("没有待处理的核价申请", code="order.no_quote_request")
        quote.status = QuoteStatus.ISSUED
        quote.unit_price = unit_price
        quote.note = _text(note, "note", "报价说明", 500, required=False)
        quote.valid_until = valid_until
        quote.quoted_at = now
        quote.quoted_by = by.username if by else "system"
        self._move("issue_quote", now, by,
                   f"核价报价：单台{unit_price}，合计{unit_price * self.quantity}，有效期至{valid_until.isoformat()}",
                   data={"quote_seq": quote.seq, "unit_price_fen": unit_price.fen,
                         "total_fen": (unit_price * self.quantity).fen, "valid_until": valid_until.isoformat(),
                         "note": quote.note})
        return quote

    def accept_quote(self, now: dt.datetime, by: Principal | None) -> PriceQuote:
        self.ensure_can("accept_quote")
        quote = self._issued_quote()
        unit_price, valid_until = quote.unit_price, quote.valid_until
        if unit_price is None or valid_until is None:
            raise BusinessRuleViolation("没有待确认的报价", code="order.no_issued_quote")
        if valid_until < beijing_today(now):
            raise BusinessRuleViolation(f"报价已于{valid_until.isoformat()}过期，请重新申请核价",
                                        code="order.quote_expired", valid_until=valid_until.isoformat())
        quote.status = QuoteStatus.ACCEPTED
        quote.decided_at, quote.decided_by = now, by.username if by else "system"
        self.unit_price, self.price_source = unit_price, PriceSource.QUOTE
        self.total = unit_price * self.quantity
        self._move("accept_quote", now, by, f"接受报价：单台{unit_price}，合计{self.total}",
                   data={"quote_seq": quote.seq, "unit_price_fen": unit_price.fen, "total_fen": self.total.fen})
        return quote

    def decline_quote(self, reason: str | None, now: dt.datetime, by: Principal | None) -> PriceQuote:
        self.ensure_can("decline_quote")
        quote = self._issued_quote()
        quote.status = QuoteStatus.DECLINED
        quote.decided_at, quote.decided_by = now, by.username if by else "system"
        quote.decline_reason = _text(reason, "reason", "拒绝原因", 500, required=False)
        self._move("decline_quote", now, by, "拒绝报价" + (f"：{quote.decline_reason}" if quote.decline_reason else ""),
                   data={"quote_seq": quote.seq, "reason": quote.decline_reason})
        return quote

    # -- submission and review ---------------------------------------------------------------

    def submit(self, now: dt.datetime, by: Principal | None) -> None:
        """Draft or returned → submitted. Double submission raises ``IllegalTransition`` (409)."""
        self.ensure_can("submit")
        check_delivery_date(self.requested_delivery_date, now)
        if self.requires_quote:
            accepted = self.accepted_quote
            if accepted is None or accepted.configuration_key != self.configuration_key:
                raise BusinessRuleViolation("特殊配置须先经核价并接受报价后才能提交", code="order.quote_required")
        resubmission = self.submission_count > 0
        self.submission_count += 1
        self.submitted_at = now
        self._move("submit", now, by,
                   (f"重新提交订单（第{self.submission_count}次）" if resubmission else "提交订单") + f"，金额{self.total}",
                   data={"submission": self.submission_count, "total_fen": self.total.fen,
                         "price_source": self.price_source.value})
        self.return_reasons = []

    def withdraw(self, now: dt.datetime, by: Principal | None) -> None:
        """Pull a submitted order (before any review) or a quote request back into the draft."""
        self.ensure_can("withdraw")
        if self.state is S.AWAITING_QUOTE:
            quote = self.open_quote
            if quote is not None:
                quote.status = QuoteStatus.SUPERSEDED
            self._move("withdraw", now, by, "撤回核价申请")
        else:
            self._move("withdraw", now, by, "撤回订单（评审开始前）")

    def cancel(self, reason: str | None, now: dt.datetime, by: Principal | None) -> None:
        self.ensure_can("cancel")
        for q in self.quotes:
            if q.status in (QuoteStatus.REQUESTED, QuoteStatus.ISSUED):
                q.status = QuoteStatus.SUPERSEDED
        reason = _text(reason, "reason", "取消原因", 500, required=False)
        self._move("cancel", now, by, "取消订单" + (f"：{reason}" if reason else ""), data={"reason": reason})

    def start_review(self, now: dt.datetime, by: Principal | None = None) -> None:
        """The first reviewer opened the order: from now on it can no longer be withdrawn."""
        self._move("start_review", now, by, "开始评审（采购、技术、生产、销售）")

    def review_passed(self, now: dt.datetime, by: Principal | None = None) -> None:
        """All reviews approved. 大委改 orders skip the e-contract and go to finance review."""
        target = S.FINANCE_REVIEW if self.is_major_modification else None
        self._move("review_passed", now, by,
                   "评审通过" + ("（大委改，不生成电子合同，转财务审核）" if target else "，待生成电子合同"),
                   target=target)

    def review_returned(self, reasons: Sequence[str], now: dt.datetime, by: Principal | None = None) -> None:
        """A reviewer rejected: back to the dealer with the reasons; editable and resubmittable."""
        cleaned = [r.strip() for r in reasons if isinstance(r, str) and r.strip()]
        if not cleaned:
            raise InvalidValue("reasons", "退回须填写原因", code="reason.required")
        self._move("review_returned", now, by, "评审退回：" + "；".join(cleaned), data={"reasons": cleaned})
        self.return_reasons = cleaned

    # -- after the review (contract, finance, ERP, production): hooks for the later issues ----

    def contract_issued(self, contract_no: str, now: dt.datetime, by: Principal | None = None,
                        agreed_delivery_date: dt.date | None = None) -> None:
        contract_no = _text(contract_no, "contract_no", "合同编号", 40)
        self._move("contract_issued", now, by, f"生成电子合同 {contract_no}",
                   data={"contract_no": contract_no,
                         "agreed_delivery_date": agreed_delivery_date.isoformat() if agreed_delivery_date else None})
        self.contract_no = contract_no
        self.agreed_delivery_date = agreed_delivery_date or self.requested_delivery_date

    def contract_accepted(self, now: dt.datetime, by: Principal | None = None,
                          details: dict[str, Any] | None = None) -> None:
        self._move("contract_accepted", now, by, f"经销商确认电子合同 {self.contract_no or ''}".rstrip(),
                   data=dict(details or {}))

    def finance_approved(self, now: dt.datetime, by: Principal | None = None) -> None:
        self._move("finance_approved", now, by, "财务审核通过，待转入ERP")
        if self.agreed_delivery_date is None:
            self.agreed_delivery_date = self.requested_delivery_date

    def finance_rejected(self, reason: str, now: dt.datetime, by: Principal | None = None) -> None:
        reason = _text(reason, "reason", "驳回原因", 500)
        self._move("finance_rejected", now, by, f"财务驳回：{reason}", data={"reason": reason})

    def resubmit_to_finance(self, now: dt.datetime, by: Principal | None = None) -> None:
        self._move("resubmit_to_finance", now, by, "重新提交财务审核")

    def erp_released(self, tracking_no: str, now: dt.datetime, by: Principal | None = None) -> bool:
        """ERP accepted the sales order. Replaying the same tracking number is a no-op (False)."""
        tracking_no = _text(tracking_no, "tracking_no", "内部流转单号", 40)
        if self.erp_tracking_no is not None:
            if self.erp_tracking_no == tracking_no:
                return False
            raise Conflict(f"订单已有内部流转单号 {self.erp_tracking_no}", code="order.tracking_no_mismatch",
                           current_tracking_no=self.erp_tracking_no)
        self._move("erp_released", now, by, f"已转入ERP，内部流转单号 {tracking_no}", data={"tracking_no": tracking_no})
        self.erp_tracking_no = tracking_no
        return True

    def production_progressed(self, status: str, percent: int, now: dt.datetime, by: Principal | None = None) -> None:
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
            raise InvalidValue("percent", "进度须为0到100的整数", code="order.percent_invalid")
        summary = f"生产进度：{status} {percent}%"
        if self.state is S.IN_PRODUCTION:
            self.ensure_can("production_progressed")
            self._record("production_progressed", now, by, summary, data={"status": status, "percent": percent})
            self.updated_at = now
        else:
            self._move("production_progressed", now, by, summary, data={"status": status, "percent": percent})
        self.production_status, self.production_percent = status, percent

    def inspected(self, now: dt.datetime, by: Principal | None = None) -> None:
        """The ERP reports the finished vehicles inspected (产成品检验): a step of its own before stock-in.

        An ERP that goes from production straight to stock-in never calls this; the order simply
        has no inspection step."""
        summary = "成品检验完成，待入库"
        if self.state is S.IN_PRODUCTION:
            self.ensure_can("inspected")
            self._record("inspected", now, by, summary, data={"status": PRODUCTION_INSPECTED})
            self.updated_at = now
        else:
            self._move("inspected", now, by, summary, data={"status": PRODUCTION_INSPECTED})
        self.production_status, self.production_percent = PRODUCTION_INSPECTED, 100

    def stocked_in(self, now: dt.datetime, by: Principal | None = None) -> None:
        """All units are in factory stock. The production status says so: an order in stock no
        longer shows the inspection (or any production stage) as its current status."""
        self._move("stocked_in", now, by, "全部车辆已入库，待提车/发运")
        self.production_status, self.production_percent = PRODUCTION_STOCKED, 100

    def complete(self, now: dt.datetime, by: Principal | None = None) -> None:
        self._move("complete", now, by, "订单完成")

    def return_for_change(self, reasons: Sequence[str], now: dt.datetime, by: Principal | None = None) -> None:
        """退单: a change before technical design returns the order to the dealer; the contract is void."""
        cleaned = [r.strip() for r in reasons if isinstance(r, str) and r.strip()]
        if not cleaned:
            raise InvalidValue("reasons", "退单须填写原因", code="reason.required")
        voided = self.contract_no
        self._move("return_for_change", now, by,
                   "退单：" + "；".join(cleaned) + (f"（合同 {voided} 作废）" if voided else ""),
                   data={"reasons": cleaned, "voided_contract_no": voided})
        self.contract_no = None
        self.release_round += 1
        self.return_reasons = cleaned

    def record(self, kind: str, summary: str, now: dt.datetime, by: Principal | None = None,
               data: dict[str, Any] | None = None) -> OrderEvent:
        """A timeline entry that changes no state (a contract PDF rendered, an ERP change record)."""
        self.updated_at = now
        return self._record(kind, now, by, summary, data=data)

    # -- internals ---------------------------------------------------------------------------

    def _issued_quote(self) -> PriceQuote:
        quote = self.open_quote
        if quote is None or quote.status is not QuoteStatus.ISSUED or quote.unit_price is None:
            raise BusinessRuleViolation("没有待确认的报价", code="order.no_issued_quote")
        return quote

    def _illegal(self, action: str) -> IllegalTransition:
        return IllegalTransition("order", self.state.value, action,
                                 f"订单当前状态为「{self.state.label}」，不能{ACTION_LABELS.get(action, action)}")

    def ensure_can(self, action: str) -> None:
        """Raise ``IllegalTransition`` (409, with the current state) unless ``action`` is allowed now."""
        if self.state not in TRANSITIONS[action][0]:
            raise self._illegal(action)

    def ensure_editable(self, action: str) -> None:
        if not self.state.editable:
            raise self._illegal(action)

    def _move(self, action: str, now: dt.datetime, by: Principal | None, summary: str,
              data: dict[str, Any] | None = None, target: OrderState | None = None) -> None:
        allowed, default_target = TRANSITIONS[action]
        if self.state not in allowed:
            raise self._illegal(action)
        old = self.state
        self.state = target or default_target
        self.state_changed_at = now
        self.updated_at = now
        self._record(action, now, by, summary, from_state=old, to_state=self.state, data=data)

    def _record(self, kind: str, now: dt.datetime, by: Principal | None, summary: str, *,
                from_state: OrderState | None = None, to_state: OrderState | None = None,
                data: dict[str, Any] | None = None) -> OrderEvent:
        event = OrderEvent(
            kind=kind, at=now, summary=summary,
            from_state=from_state.value if from_state else None, to_state=to_state.value if to_state else None,
            actor_id=by.user_id if by else None, actor_name=by.username if by else "system",
            actor_role=by.role.value if by else "system", data={k: v for k, v in (data or {}).items() if v is not None},
        )
        self.events.append(event)
        return event

    def _record_estimate(self, now: dt.datetime, by: Principal | None) -> None:
        e = self.estimate
        self._record("price_estimated", now, by,
                     f"自动测算：列表价{e.list_unit}，优惠{Money(-e.discount_unit.fen)}，单台{e.net_unit}，合计{e.total}"
                     + ("（特殊配置，需核价）" if e.requires_quote else ""),
                     data={"template_version": e.template_version, "list_unit_fen": e.list_unit.fen,
                           "discount_bp": e.tier.discount_bp, "tier": e.tier.code, "net_unit_fen": e.net_unit.fen,
                           "quantity": e.quantity, "total_fen": e.total.fen, "requires_quote": e.requires_quote})

    def _parts(self, parts: Sequence[SuppliedPartIn]) -> list[SuppliedPart]:
        return [SuppliedPart(line_no=i + 1, kind=SuppliedPartKind(p.kind), description=p.description.strip(),
                             serial=(p.serial or "").strip() or None, quantity=p.quantity)
                for i, p in enumerate(parts)]


_FIELD_LABELS = {
    "template_version": "车型版本", "options": "选装配置", "quantity": "数量", "requested_delivery_date": "要求交货日期",
    "delivery_method": "交付方式", "delivery_address": "收货地址", "end_customer": "终端客户", "remarks": "备注",
    "supplied_parts": "客户自带主机/配件",
}
