"""The dealer channel: a dealer's master data and its life cycle (seed 000 §2.1).

The :class:`Dealer` aggregate owns its contacts, qualifications and agreements; every change to
them goes through a method here so the rules hold in one place:

* life cycle: registered → under_review → approved | rejected (or back to registered when the
  submitter withdraws); approved ⇄ suspended;
  approved / suspended → terminated; a rejected dealer may be corrected and resubmitted;
* two active agreements for the same product line never overlap in time;
* a new dealer's home region (大区) is one of the active regions, which the application reads
  from the administrators' list and passes in (:meth:`Dealer.register`).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from typing import Any

import attrs

from dealercrm.domain.errors import BusinessRuleViolation, IllegalTransition, InvalidValue, NotFound
from dealercrm.domain.regions import require_known_region
from dealercrm.domain.values import ChineseIdNumber, Phone, Uscc


class ProductLine(enum.StrEnum):
    TANKER = "tanker"
    DUMP_TRUCK = "dump_truck"
    SEMI_TRAILER = "semi_trailer"

    @property
    def label(self) -> str:
        return {"tanker": "罐式车", "dump_truck": "自卸车", "semi_trailer": "半挂车"}[self.value]


class DealerStatus(enum.StrEnum):
    REGISTERED = "registered"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"

    @property
    def label(self) -> str:
        return {
            "registered": "已注册待提交",
            "under_review": "审核中",
            "approved": "已准入",
            "rejected": "已驳回",
            "suspended": "已暂停",
            "terminated": "已终止",
        }[self.value]


class SettlementMethod(enum.StrEnum):
    PREPAYMENT = "prepayment"  # 款到发货
    CREDIT = "credit"  # 授信赊销
    ACCEPTANCE_BILL = "acceptance_bill"  # 银行承兑汇票
    MIXED = "mixed"  # 部分预付 + 授信

    @property
    def label(self) -> str:
        return {
            "prepayment": "款到发货",
            "credit": "授信赊销",
            "acceptance_bill": "银行承兑汇票",
            "mixed": "预付款+授信",
        }[self.value]


class ContactKind(enum.StrEnum):
    MANAGEMENT = "management"  # 管理团队
    CONTACT = "contact"  # 业务联系人
    SHAREHOLDER = "shareholder"  # 股东 (seed 000 §2.1 2)): with its share and abilities


MAX_ABILITIES = 10
MAX_ABILITY_LENGTH = 30


class AgreementStatus(enum.StrEnum):
    ACTIVE = "active"
    TERMINATED = "terminated"


# ---------------------------------------------------------------------------------------------
# Value objects owned by the dealer


@attrs.frozen
class Address:
    province: str
    city: str
    detail: str

    def __attrs_post_init__(self) -> None:
        for name in ("province", "city", "detail"):
            if not getattr(self, name).strip():
                raise InvalidValue(f"address.{name}", "地址信息不能为空", code="address.blank")

    def __composite_values__(self) -> tuple[str, str, str]:
        return (self.province, self.city, self.detail)

    def __str__(self) -> str:
        return f"{self.province}{self.city}{self.detail}"


@attrs.frozen
class BankAccount:
    bank_name: str
    account_name: str
    account_no: str

    def __attrs_post_init__(self) -> None:
        digits = self.account_no.replace(" ", "")
        if not digits.isdigit() or not 8 <= len(digits) <= 30:
            raise InvalidValue("bank_account.account_no", "银行账号须为8到30位数字", code="bank_account.malformed")
        if not self.bank_name.strip() or not self.account_name.strip():
            raise InvalidValue("bank_account", "开户行与户名不能为空", code="bank_account.blank")

    def __composite_values__(self) -> tuple[str, str, str]:
        return (self.bank_name, self.account_name, self.account_no)


# ---------------------------------------------------------------------------------------------
# Entities inside the aggregate (mapped; compare by identity)


@attrs.define(slots=False, eq=False)
class Contact:
    name: str
    kind: ContactKind
    title: str
    phone: Phone
    email: str | None = None
    birthday: dt.date | None = None
    is_primary: bool = False
    id_number: ChineseIdNumber | None = None  # 身份证号 of the legal representative / pickup person
    share_permille: int | None = None  # 持股比例 in ‰, shareholders only (1–1000)
    abilities: list[str] = attrs.Factory(list)  # 能力 of a shareholder or manager: 销售管理, 车辆维修 …
    id: int | None = None

    def __attrs_post_init__(self) -> None:
        if not self.name.strip():
            raise InvalidValue("name", "联系人姓名不能为空", code="contact.name_blank")
        if self.kind is ContactKind.SHAREHOLDER:
            share = self.share_permille
            if isinstance(share, bool) or not isinstance(share, int) or not 1 <= share <= 1000:
                raise InvalidValue("share_permille", "股东须填写持股比例（1–1000‰）", code="contact.share_invalid")
        elif self.share_permille is not None:
            raise InvalidValue("share_permille", "只有股东有持股比例", code="contact.share_not_shareholder")
        if self.abilities and self.kind is ContactKind.CONTACT:
            raise InvalidValue("abilities", "能力只记录股东与管理团队成员", code="contact.abilities_not_team")
        if len(self.abilities) > MAX_ABILITIES or any(
                not a.strip() or len(a) > MAX_ABILITY_LENGTH for a in self.abilities):
            raise InvalidValue("abilities", f"能力最多{MAX_ABILITIES}项，每项1–{MAX_ABILITY_LENGTH}字",
                               code="contact.abilities_invalid")
        if len(set(self.abilities)) != len(self.abilities):
            raise InvalidValue("abilities", "能力不能重复", code="contact.abilities_duplicate")
        if self.email is not None and ("@" not in self.email or len(self.email) > 200):
            raise InvalidValue("email", "电子邮箱格式不正确", code="email.malformed")
        if self.birthday is not None and self.birthday < dt.date(1900, 1, 1):
            raise InvalidValue("birthday", "生日不在合理范围内", code="contact.birthday_out_of_range")


@attrs.define(slots=False, eq=False)
class Qualification:
    """A licence or certificate the dealer holds (营业执照, 危险品运输车辆销售资质 …)."""

    kind: str
    number: str
    valid_until: dt.date | None = None
    id: int | None = None


@attrs.define(slots=False, eq=False)
class Agreement:
    """A dealership agreement (经销协议): which product lines, where, how settled, when valid."""

    number: str
    product_lines: list[str]
    territory: list[str]
    settlement_method: SettlementMethod
    valid_from: dt.date
    valid_to: dt.date
    status: AgreementStatus = AgreementStatus.ACTIVE
    id: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.valid_to < self.valid_from:
            raise InvalidValue("valid_to", "协议终止日期不能早于起始日期", code="agreement.window_inverted")
        if not self.product_lines:
            raise InvalidValue("product_lines", "协议至少包含一个产品线", code="agreement.no_product_line")
        for line in self.product_lines:
            if line not in ProductLine.__members__.values():
                raise InvalidValue("product_lines", f"未知的产品线：{line}", code="product_line.unknown")

    def overlaps(self, other: Agreement) -> set[str]:
        """Product lines both cover in a shared period (empty when they do not collide)."""
        if self.status != AgreementStatus.ACTIVE or other.status != AgreementStatus.ACTIVE:
            return set()
        if self.valid_to < other.valid_from or other.valid_to < self.valid_from:
            return set()
        return set(self.product_lines) & set(other.product_lines)

    def is_valid_on(self, day: dt.date) -> bool:
        return self.status == AgreementStatus.ACTIVE and self.valid_from <= day <= self.valid_to


# ---------------------------------------------------------------------------------------------
# Events


@attrs.frozen
class DealerEvent:
    dealer_id: int | None
    name: str
    data: dict[str, Any] = attrs.field(factory=dict)


# ---------------------------------------------------------------------------------------------
# The registration assessment checklist (考核规则, seed 000 §2.1 4))

MAX_ASSESSMENT_ITEMS = 30


@attrs.frozen
class AssessmentItem:
    """One rule of the company's assessment checklist; a required one must be passed before any
    reviewer may approve a registration."""

    code: str
    label: str
    required: bool = True


def build_checklist(raw: list[dict[str, Any]]) -> tuple[AssessmentItem, ...]:
    """The checklist from its plain form, checked as a whole (422 naming the item)."""
    if not isinstance(raw, list) or len(raw) > MAX_ASSESSMENT_ITEMS:
        raise InvalidValue("items", f"考核规则须为列表，最多{MAX_ASSESSMENT_ITEMS}项", code="assessment.items_invalid")
    items: list[AssessmentItem] = []
    for n, r in enumerate(raw):
        code, label = str(r.get("code") or "").strip(), str(r.get("label") or "").strip()
        if not code or len(code) > 40 or not all(c.isascii() and (c.isalnum() or c == "_") for c in code):
            raise InvalidValue(f"items[{n}].code", "规则代码须为1–40位字母、数字或下划线", code="assessment.code_invalid")
        if not label or len(label) > 60:
            raise InvalidValue(f"items[{n}].label", "规则名称须为1–60字", code="assessment.label_invalid")
        if any(i.code == code for i in items):
            raise InvalidValue(f"items[{n}].code", f"规则代码重复：{code}", code="assessment.code_duplicate")
        items.append(AssessmentItem(code, label, bool(r.get("required", True))))
    return tuple(items)


# ---------------------------------------------------------------------------------------------
# The growth plan (经销商增长计划, seed 000 §二): a year's targets and actions, and the progress

MAX_GROWTH_ACTIONS = 20


@attrs.frozen
class GrowthPlan:
    """A dealer's targets for one calendar year (Beijing): vehicles ordered, order amount and
    vehicles sold at retail, with the actions agreed to reach them (开拓新区域, 增设服务网点 …)."""

    year: int
    vehicles: int
    amount_fen: int
    retail_vehicles: int
    actions: tuple[str, ...] = ()

    def __attrs_post_init__(self) -> None:
        if isinstance(self.year, bool) or not 2000 <= self.year <= 2100:
            raise InvalidValue("year", "年份须在2000到2100之间", code="growth_plan.year_invalid")
        for name, hi in (("vehicles", 100_000), ("amount_fen", 10**14), ("retail_vehicles", 100_000)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= hi:
                raise InvalidValue(name, f"{name} 须为0到{hi}之间的整数", code="growth_plan.target_invalid")
        if len(self.actions) > MAX_GROWTH_ACTIONS or any(not a.strip() or len(a) > 200 for a in self.actions):
            raise InvalidValue("actions", f"行动计划最多{MAX_GROWTH_ACTIONS}条，每条1–200字",
                               code="growth_plan.actions_invalid")

    def progress(self, vehicles: int, amount_fen: int, retail_vehicles: int) -> dict[str, Any]:
        """What was achieved against each target, in per cent of the target (one decimal, floored;
        ``None`` for a target of 0)."""
        def pct(actual: int, target: int) -> float | None:
            return None if target == 0 else actual * 1000 // target / 10

        return {"vehicles": {"target": self.vehicles, "actual": vehicles, "pct": pct(vehicles, self.vehicles)},
                "amount_fen": {"target": self.amount_fen, "actual": amount_fen,
                               "pct": pct(amount_fen, self.amount_fen)},
                "retail_vehicles": {"target": self.retail_vehicles, "actual": retail_vehicles,
                                    "pct": pct(retail_vehicles, self.retail_vehicles)}}


# ---------------------------------------------------------------------------------------------
# The aggregate

_TRANSITIONS: dict[str, tuple[set[DealerStatus], DealerStatus]] = {
    "submit": ({DealerStatus.REGISTERED, DealerStatus.REJECTED}, DealerStatus.UNDER_REVIEW),
    "approve": ({DealerStatus.UNDER_REVIEW}, DealerStatus.APPROVED),
    "reject": ({DealerStatus.UNDER_REVIEW}, DealerStatus.REJECTED),
    "withdraw": ({DealerStatus.UNDER_REVIEW}, DealerStatus.REGISTERED),
    "suspend": ({DealerStatus.APPROVED}, DealerStatus.SUSPENDED),
    "reactivate": ({DealerStatus.SUSPENDED}, DealerStatus.APPROVED),
    "terminate": ({DealerStatus.APPROVED, DealerStatus.SUSPENDED}, DealerStatus.TERMINATED),
}


@attrs.define(slots=False, eq=False)
class Dealer:
    code: str
    legal_name: str
    uscc: Uscc
    region: str
    address: Address
    bank_account: BankAccount | None = None
    short_name: str | None = None
    status: DealerStatus = DealerStatus.REGISTERED
    territory_regions: list[str] = attrs.field(factory=list)
    territory_industries: list[str] = attrs.field(factory=list)
    sales_rep_id: int | None = None
    status_reason: str | None = None
    registered_at: dt.datetime | None = None
    approved_at: dt.datetime | None = None
    contacts: list[Contact] = attrs.field(factory=list)
    qualifications: list[Qualification] = attrs.field(factory=list)
    agreements: list[Agreement] = attrs.field(factory=list)
    version: int = 1
    id: int | None = None
    events: list[DealerEvent] = attrs.field(factory=list)
    # the reviewers' assessment against the checklist: {code: {"passed", "note", "by", "at"}}
    assessment: dict[str, Any] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        if not self.legal_name.strip():
            raise InvalidValue("legal_name", "企业名称不能为空", code="dealer.legal_name_blank")

    @classmethod
    def register(cls, *, known_regions: Sequence[str], **fields: Any) -> Dealer:
        """A new dealer in its home region (大区), which must be one of ``known_regions`` (the
        active regions the administrators keep, ``domain.regions``): ``InvalidValue`` on
        ``region`` (``region.unknown``) otherwise."""
        require_known_region(fields.get("region", ""), known_regions)
        return cls(**fields)

    # -- life cycle --------------------------------------------------------------------------

    def _move(self, action: str, now: dt.datetime, reason: str | None = None) -> None:
        allowed, target = _TRANSITIONS[action]
        if self.status not in allowed:
            raise IllegalTransition("dealer", self.status.value, action)
        old = self.status
        self.status = target
        self.status_reason = reason
        self.events.append(
            DealerEvent(self.id, f"dealer_{action}", {"from": old.value, "to": target.value, "reason": reason})
        )

    def submit_for_review(self, now: dt.datetime) -> None:
        if not self.contacts:
            raise BusinessRuleViolation("提交审核前至少登记一位联系人", code="dealer.no_contact")
        self._move("submit", now)

    def approve(self, now: dt.datetime) -> None:
        self._move("approve", now)
        self.approved_at = now

    def reject(self, reason: str, now: dt.datetime) -> None:
        if not reason or not reason.strip():
            raise InvalidValue("reason", "驳回须填写原因", code="reason.required")
        self._move("reject", now, reason.strip())

    def withdraw_review(self, now: dt.datetime, reason: str | None = None) -> None:
        """The submitter took the application back (its review workflow was withdrawn)."""
        self._move("withdraw", now, (reason or "").strip() or None)

    def suspend(self, reason: str, now: dt.datetime) -> None:
        if not reason or not reason.strip():
            raise InvalidValue("reason", "暂停须填写原因", code="reason.required")
        self._move("suspend", now, reason.strip())

    def reactivate(self, now: dt.datetime) -> None:
        self._move("reactivate", now)

    def terminate(self, reason: str, now: dt.datetime) -> None:
        if not reason or not reason.strip():
            raise InvalidValue("reason", "终止须填写原因", code="reason.required")
        self._move("terminate", now, reason.strip())
        for agreement in self.agreements:
            if agreement.status == AgreementStatus.ACTIVE:
                agreement.status = AgreementStatus.TERMINATED

    def record_assessment(self, checklist: tuple[AssessmentItem, ...], results: dict[str, tuple[bool, str]],
                          by: str, now: dt.datetime) -> None:
        """Record the reviewer's findings on checklist items (考核) while the registration is open;
        items not named keep their earlier finding."""
        if self.status not in (DealerStatus.REGISTERED, DealerStatus.UNDER_REVIEW, DealerStatus.REJECTED):
            raise IllegalTransition("dealer", self.status.value, "assess")
        known = {i.code for i in checklist}
        merged = dict(self.assessment)  # a new dict: the JSON column sees the change
        for code, (passed, note) in results.items():
            if code not in known:
                raise InvalidValue(f"results.{code}", f"考核规则中没有此项：{code}", code="assessment.item_unknown")
            if len(note) > 200:
                raise InvalidValue(f"results.{code}.note", "考核说明最多200字", code="assessment.note_too_long")
            merged[code] = {"passed": bool(passed), "note": note.strip(), "by": by, "at": now.isoformat()}
        self.assessment = merged

    def assessment_missing(self, checklist: tuple[AssessmentItem, ...]) -> list[AssessmentItem]:
        """The required items not (yet) passed."""
        return [i for i in checklist if i.required and not (self.assessment.get(i.code) or {}).get("passed")]

    @property
    def can_trade(self) -> bool:
        return self.status == DealerStatus.APPROVED

    def _require_not_terminated(self, action: str) -> None:
        if self.status == DealerStatus.TERMINATED:
            raise IllegalTransition("dealer", self.status.value, action)

    # -- profile -----------------------------------------------------------------------------

    def update_profile(self, **changes: Any) -> None:
        self._require_not_terminated("update_profile")
        for name, value in changes.items():
            if name not in {"legal_name", "short_name", "address", "bank_account", "uscc"}:
                raise InvalidValue(name, "该字段不可修改", code="dealer.field_not_editable")
            if name == "legal_name" and not value.strip():
                raise InvalidValue("legal_name", "企业名称不能为空", code="dealer.legal_name_blank")
            setattr(self, name, value)
        self.events.append(DealerEvent(self.id, "dealer_profile_updated", {"fields": sorted(changes)}))

    def set_territory(self, regions: list[str], industries: list[str]) -> None:
        self._require_not_terminated("set_territory")
        unknown = [r for r in regions if not r.strip()]
        if unknown:
            raise InvalidValue("regions", "销售区域不能为空白", code="territory.blank")
        self.territory_regions = sorted(set(regions))
        self.territory_industries = sorted(set(industries))

    def replace_qualifications(self, items: list[Qualification]) -> None:
        self._require_not_terminated("replace_qualifications")
        self.qualifications[:] = items

    # -- contacts ----------------------------------------------------------------------------

    def _check_shares(self, contact: Contact, replacing: Contact | None = None) -> None:
        """The shareholders' shares add up to at most 100 % (1000 ‰)."""
        others = sum(c.share_permille or 0 for c in self.contacts
                     if c is not replacing and c.kind is ContactKind.SHAREHOLDER)
        if contact.kind is ContactKind.SHAREHOLDER and others + (contact.share_permille or 0) > 1000:
            raise InvalidValue("share_permille", f"股东持股合计超过100%（其他股东已占{others}‰）",
                               code="contact.shares_over_total")

    def shareholders(self) -> list[Contact]:
        """The shareholders, largest share first (ties by name)."""
        return sorted((c for c in self.contacts if c.kind is ContactKind.SHAREHOLDER),
                      key=lambda c: (-(c.share_permille or 0), c.name))

    def add_contact(self, contact: Contact) -> Contact:
        self._require_not_terminated("add_contact")
        self._check_shares(contact)
        if contact.is_primary:
            for c in self.contacts:
                c.is_primary = False
        self.contacts.append(contact)
        return contact

    def contact(self, contact_id: int) -> Contact:
        for c in self.contacts:
            if c.id == contact_id:
                return c
        raise NotFound("联系人不存在", code="contact.not_found")

    def update_contact(self, contact_id: int, **changes: Any) -> Contact:
        self._require_not_terminated("update_contact")
        current = self.contact(contact_id)
        candidate = Contact(  # re-validate the whole contact, then apply
            **{
                **{f.name: getattr(current, f.name) for f in attrs.fields(Contact)},
                **changes,
            }
        )
        self._check_shares(candidate, replacing=current)
        if candidate.is_primary and not current.is_primary:
            for c in self.contacts:
                c.is_primary = False
        for name, value in changes.items():
            setattr(current, name, value)
        return current

    def remove_contact(self, contact_id: int) -> None:
        self._require_not_terminated("remove_contact")
        self.contacts.remove(self.contact(contact_id))

    # -- agreements --------------------------------------------------------------------------

    def add_agreement(self, agreement: Agreement) -> Agreement:
        self._require_not_terminated("add_agreement")
        for other in self.agreements:
            clash = agreement.overlaps(other)
            if clash:
                raise BusinessRuleViolation(
                    f"协议与现行协议 {other.number} 在产品线"
                    f"（{'、'.join(ProductLine(x).label for x in sorted(clash))}）上期间重叠",
                    code="agreement.overlap",
                    conflicting_agreement=other.number,
                    product_lines=sorted(clash),
                )
        self.agreements.append(agreement)
        self.events.append(DealerEvent(self.id, "agreement_added", {"number": agreement.number}))
        return agreement

    def terminate_agreement(self, agreement_id: int) -> Agreement:
        for a in self.agreements:
            if a.id == agreement_id:
                if a.status != AgreementStatus.ACTIVE:
                    raise IllegalTransition("agreement", a.status.value, "terminate")
                a.status = AgreementStatus.TERMINATED
                return a
        raise NotFound("协议不存在", code="agreement.not_found")

    def active_product_lines(self, day: dt.date) -> set[str]:
        return {line for a in self.agreements if a.is_valid_on(day) for line in a.product_lines}
