"""Credit and money: what a dealer owes, what it may still order, and how it pays (seed 000 §2.3,
§3.3 finance review, §3.8, §3.9 status words; DOMAIN.md context 5).

**Exposure** (授信占用) is never typed in. It is the sum of three parts, each a fact of its own:

* ``receivable_fen``  — issued invoices not yet paid (Σ open amount of issued invoices);
* ``uninvoiced_fen``  — contracts approved by finance but not yet invoiced (Σ amount − invoiced
  of every active :class:`Commitment`);
* ``prepayment_fen``  — money received and not yet applied to an invoice (Σ unapplied of every
  :class:`Payment`); it *reduces* exposure.

The :class:`CreditAccount` keeps the three sums as maintained aggregates, changed only by the
methods below in the same transaction as the fact that moves them, so the credit check costs
the same with 100 or 100 000 historical contracts. ``exposure ≤ limit`` is the invariant: only
three moves can raise exposure — reserving a contract, raising its price, reopening it — and
all three go through :func:`admit`, the one credit rule. Invoicing moves money from *uninvoiced* to
*receivable*; applying a payment moves it from *prepayment* against *receivable*; voiding an
invoice moves it back. None of those changes exposure. Payments and cancellations lower it.
A limit change that would put the limit below current exposure is refused.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import attrs

from dealercrm.domain.errors import BusinessRuleViolation, IllegalTransition, InvalidValue, PermissionDenied
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import SHANGHAI as SHANGHAI  # re-exported
from dealercrm.domain.values import beijing_date as beijing_date  # re-exported

business_day = beijing_date  # due dates and ageing count Beijing days


def yuan(fen: int) -> str:
    """For messages: ``¥12,345.67``."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


# ---------------------------------------------------------------------------------------------
# Enumerations (stable English values, Chinese labels)


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"

    @property
    def label(self) -> str:
        return {"active": "正常", "frozen": "已冻结"}[self.value]


class PaymentCycle(enum.StrEnum):
    """回款周期: how often the dealer settles its receivables."""

    PER_CONTRACT = "per_contract"
    WEEKLY = "weekly"
    SEMI_MONTHLY = "semi_monthly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"

    @property
    def label(self) -> str:
        return {"per_contract": "逐单结算", "weekly": "周结", "semi_monthly": "半月结", "monthly": "月结",
                "quarterly": "季结"}[self.value]


class CommitmentState(enum.StrEnum):
    RESERVED = "reserved"  # approved, nothing invoiced
    INVOICED_PART = "invoiced_part"  # part of the value invoiced
    RELEASED = "released"  # fully invoiced: the reservation has become receivables
    CANCELLED = "cancelled"  # the uninvoiced remainder was released

    @property
    def label(self) -> str:
        return {"reserved": "已占用额度", "invoiced_part": "部分开票", "released": "已全部开票",
                "cancelled": "已取消"}[self.value]


class InvoiceState(enum.StrEnum):
    ISSUED = "issued"
    VOIDED = "voided"

    @property
    def label(self) -> str:
        return {"issued": "已开具", "voided": "已作废"}[self.value]


class VehicleInvoiceStatus(enum.StrEnum):
    """The seed's status words for a vehicle (§3.9)."""

    NOT_INVOICED = "not_invoiced"
    INVOICED_UNPAID = "invoiced_unpaid"
    INVOICED_PAID = "invoiced_paid"

    @property
    def label(self) -> str:
        return {"not_invoiced": "未开票", "invoiced_unpaid": "已开票未收款", "invoiced_paid": "已开票已收款"}[self.value]


class PaymentSource(enum.StrEnum):
    FINANCE = "finance"  # recorded by finance (HTTP)
    ERP = "erp"  # fed from the ERP's payment events

    @property
    def label(self) -> str:
        return {"finance": "财务录入", "erp": "ERP同步"}[self.value]


class PaymentMethod(enum.StrEnum):
    BANK_TRANSFER = "bank_transfer"
    ACCEPTANCE_BILL = "acceptance_bill"
    CASH = "cash"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {"bank_transfer": "银行转账", "acceptance_bill": "银行承兑汇票", "cash": "现金",
                "other": "其他"}[self.value]


class ChangeRequestState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"  # a grade proposal of the value analysis, overtaken by finance's own request

    @property
    def label(self) -> str:
        return {"pending": "待审批", "approved": "已批准", "rejected": "已驳回", "superseded": "已被取代"}[self.value]


# ---------------------------------------------------------------------------------------------
# Small values


def _positive_fen(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidValue(field, "金额须为大于0的整数（单位：分）", code="money.not_positive_fen")
    return value


def positive_fen(field: str, value: object) -> int:
    return _positive_fen(field, value)


def _inconsistent(what: str) -> BusinessRuleViolation:
    # Only a bug can get here (every move is checked before it is made); refuse rather than store it.
    return BusinessRuleViolation(f"信用台账数据不一致：{what}", code="credit.ledger_inconsistent", part=what)


@attrs.frozen
class ExposureParts:
    receivable_fen: int
    uninvoiced_fen: int
    prepayment_fen: int

    @property
    def exposure_fen(self) -> int:
        return self.receivable_fen + self.uninvoiced_fen - self.prepayment_fen


@attrs.frozen
class OverdueSummary:
    """What a dealer has overdue on ``as_of``: amount, oldest due date, invoice count."""

    overdue_fen: int
    oldest_due_on: dt.date
    invoices: int
    as_of: dt.date

    @property
    def max_days_overdue(self) -> int:
        return (self.as_of - self.oldest_due_on).days


@attrs.frozen
class WarningCrossed:
    """Usage went over the warning threshold (crossing number ``crossing``)."""

    dealer_id: int
    crossing: int
    usage_permille: int
    threshold_permille: int
    limit_fen: int
    exposure_fen: int


# ---------------------------------------------------------------------------------------------
# Credit account (aggregate root; one per dealer)

TERM_FIELDS = ("limit_fen", "term_days", "payment_cycle", "warning_threshold_permille", "status", "credit_grade")
CREDIT_GRADES = ("A", "B", "C", "D")


def validate_term_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """Check proposed account terms, field by field (422 naming the field); return them typed."""
    unknown = sorted(set(changes) - set(TERM_FIELDS))
    if unknown:
        raise InvalidValue(unknown[0], "不可修改的信用字段", code="credit.field_unknown")
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if value is None:
            continue
        if name == "limit_fen":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 10**14:
                raise InvalidValue(name, "信用额度须为0到1万亿元之间的整数（单位：分）", code="credit.limit_invalid")
        elif name == "term_days":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 365:
                raise InvalidValue(name, "信用期限须为0到365天", code="credit.term_invalid")
        elif name == "warning_threshold_permille":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
                raise InvalidValue(name, "预警阈值须为1‰到1000‰（即0.1%到100%）", code="credit.threshold_invalid")
        elif name == "payment_cycle":
            try:
                value = PaymentCycle(value)
            except ValueError:
                raise InvalidValue(name, "回款周期须为 per_contract、weekly、semi_monthly、monthly 或 quarterly",
                                   code="credit.payment_cycle_invalid") from None
        elif name == "status":
            try:
                value = AccountStatus(value)
            except ValueError:
                raise InvalidValue(name, "账户状态须为 active 或 frozen", code="credit.status_invalid") from None
        elif name == "credit_grade" and value not in CREDIT_GRADES:
            raise InvalidValue(name, "信用等级须为 A、B、C 或 D", code="credit.grade_invalid")
        out[name] = value
    if not out:
        raise InvalidValue("changes", "至少修改一项信用条件", code="credit.no_change")
    return out


@attrs.define(slots=False, eq=False)
class CreditAccount:
    """A dealer's credit line and the maintained sums its exposure is made of.

    A dealer without a granted line has an account with limit 0: it can only order what it has
    prepaid (款到发货).
    """

    dealer_id: int
    limit_fen: int = 0
    term_days: int = 30
    payment_cycle: PaymentCycle = PaymentCycle.MONTHLY
    warning_threshold_permille: int = 800
    status: AccountStatus = AccountStatus.ACTIVE
    receivable_fen: int = 0
    uninvoiced_fen: int = 0
    prepayment_fen: int = 0
    warning_active: bool = False
    warning_crossings: int = 0
    opened_at: dt.datetime | None = None
    version: int = 1
    credit_grade: str | None = None  # 信用等级 A–D, set by an approved change request (value analysis proposes)

    # -- reading --------------------------------------------------------------------------

    @property
    def parts(self) -> ExposureParts:
        return ExposureParts(self.receivable_fen, self.uninvoiced_fen, self.prepayment_fen)

    @property
    def exposure_fen(self) -> int:
        return self.receivable_fen + self.uninvoiced_fen - self.prepayment_fen

    @property
    def available_fen(self) -> int:
        return self.limit_fen - self.exposure_fen

    @property
    def usage_permille(self) -> int | None:
        """Exposure as ‰ of the limit (None without a limit)."""
        if self.limit_fen <= 0:
            return None
        return max(0, self.exposure_fen) * 1000 // self.limit_fen

    # -- the credit rule --------------------------------------------------------------------

    def ensure_active(self, action: str) -> None:
        if self.status is AccountStatus.FROZEN:
            raise BusinessRuleViolation(
                "该经销商信用账户已冻结，不能占用额度或放行未收款车辆", code="credit.account_frozen",
                dealer_id=self.dealer_id, current_state=self.status.value, action=action,
            )

    def ensure_room(self, amount_fen: int, *, contract_no: str, action: str) -> None:
        """The account's own invariant: active, and ``amount_fen`` more exposure fits within the
        limit — raise if not. :func:`admit` is the whole credit rule and calls this last;
        :meth:`reserve` calls it again so ``exposure ≤ limit`` holds whatever the caller did.

        ``amount_fen`` may be 0: "does the current exposure still fit" (the gate's question).
        """
        self.ensure_active(action)
        if amount_fen < 0:
            raise _inconsistent("negative admission")
        if amount_fen > self.available_fen:
            raise BusinessRuleViolation(
                f"信用额度不足：可用额度{yuan(self.available_fen)}，本次需占用{yuan(amount_fen)}",
                code="credit.limit_exceeded", dealer_id=self.dealer_id, contract_no=contract_no,
                limit_fen=self.limit_fen, exposure_fen=self.exposure_fen, available_fen=self.available_fen,
                requested_fen=amount_fen, action=action,
            )

    def reserve(self, amount_fen: int, *, contract_no: str, action: str = "reserve") -> None:
        self.ensure_room(amount_fen, contract_no=contract_no, action=action)
        self.uninvoiced_fen += amount_fen

    def release(self, amount_fen: int) -> None:
        """An approved-not-invoiced amount is no longer owed (cancelled, price lowered)."""
        if amount_fen < 0 or amount_fen > self.uninvoiced_fen:
            raise _inconsistent("uninvoiced")
        self.uninvoiced_fen -= amount_fen

    def invoiced(self, amount_fen: int) -> None:
        """An invoice turns reserved value into a receivable: exposure does not move."""
        if amount_fen <= 0 or amount_fen > self.uninvoiced_fen:
            raise _inconsistent("uninvoiced")
        self.uninvoiced_fen -= amount_fen
        self.receivable_fen += amount_fen

    def invoice_voided(self, *, amount_fen: int, open_fen: int, paid_fen: int, contract_active: bool) -> None:
        """An invoice is voided: its open part leaves the receivables, what was paid on it goes
        back to prepayment, and (contract still active) its value is reserved again — net zero.
        For a cancelled contract the value is simply gone (exposure falls)."""
        if open_fen + paid_fen != amount_fen or open_fen > self.receivable_fen:
            raise _inconsistent("receivable")
        self.receivable_fen -= open_fen
        self.prepayment_fen += paid_fen
        if contract_active:
            self.uninvoiced_fen += amount_fen

    def received(self, amount_fen: int) -> None:
        """Money arrived: it is a prepayment until applied. Exposure falls."""
        if amount_fen <= 0:
            raise _inconsistent("payment")
        self.prepayment_fen += amount_fen

    def applied(self, amount_fen: int) -> None:
        """Prepayment applied to an invoice: both sides fall, exposure does not move."""
        if amount_fen <= 0 or amount_fen > self.prepayment_fen or amount_fen > self.receivable_fen:
            raise _inconsistent("allocation")
        self.prepayment_fen -= amount_fen
        self.receivable_fen -= amount_fen

    # -- terms --------------------------------------------------------------------------------

    def change_terms(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply approved terms; returns the previous values. A limit below current exposure
        is refused: credit is never overdrawn, not even by lowering the line."""
        changes = validate_term_changes(changes)
        new_limit = changes.get("limit_fen", self.limit_fen)
        if new_limit < self.exposure_fen:
            raise BusinessRuleViolation(
                f"新额度{yuan(new_limit)}低于当前已占用额度{yuan(self.exposure_fen)}，须先回款或取消合同",
                code="credit.limit_below_exposure", dealer_id=self.dealer_id, limit_fen=new_limit,
                exposure_fen=self.exposure_fen,
            )
        previous = {name: _plain(getattr(self, name)) for name in changes}
        for name, value in changes.items():
            setattr(self, name, value)
        return previous

    # -- warning (once per crossing) ------------------------------------------------------------

    def evaluate_warning(self) -> WarningCrossed | None:
        """Usage crossing the threshold upwards warns once; falling below re-arms."""
        usage = self.usage_permille
        over = usage is not None and usage >= self.warning_threshold_permille
        if over and not self.warning_active:
            self.warning_active = True
            self.warning_crossings += 1
            return WarningCrossed(self.dealer_id, self.warning_crossings, usage or 0,
                                  self.warning_threshold_permille, self.limit_fen, self.exposure_fen)
        if not over and self.warning_active:
            self.warning_active = False
        return None


FINANCE_DECIDERS = (Role.FINANCE, Role.ADMIN)  # change terms, approve changes, override overdue
OVERRIDE_REASON_MAX = 500


def admit(account: CreditAccount, amount_fen: int, *, contract_no: str, action: str,
          overdue: OverdueSummary | None = None, override_reason: str | None = None,
          actor: Principal | None = None) -> str | None:
    """THE credit rule: may ``amount_fen`` more exposure be taken on ``account`` (0: may the
    current exposure still be relied on, the gate's question)?

    Frozen → refused (``credit.account_frozen``); overdue receivables (``overdue``, as of the
    business day) → refused (``credit.overdue``) unless ``actor`` is finance and gives an
    ``override_reason``; over the limit → refused (``credit.limit_exceeded``). Every path that
    adds exposure or releases unpaid vehicles goes through here (RELIABILITY.md invariant 1).

    Returns the stripped override reason when overdue receivables were overridden (the caller
    records it), ``None`` when nothing was overridden. Pure: reads and changes nothing else.
    """
    account.ensure_active(action)
    reason = (override_reason or "").strip()
    if overdue is not None and not reason:
        raise BusinessRuleViolation(
            f"经销商有逾期应收款{yuan(overdue.overdue_fen)}（最早到期日{overdue.oldest_due_on.isoformat()}，"
            f"已逾期{overdue.max_days_overdue}天），须先回款，或由财务注明原因后放行",
            code="credit.overdue", dealer_id=account.dealer_id, contract_no=contract_no,
            overdue_fen=overdue.overdue_fen, oldest_due_on=overdue.oldest_due_on.isoformat(),
            days_overdue=overdue.max_days_overdue, action=action,
        )
    if overdue is not None:
        if actor is None or actor.role not in FINANCE_DECIDERS:
            raise PermissionDenied("当前角色无权执行此操作", code="auth.forbidden",
                                   role=actor.role.value if actor is not None else None)
        if len(reason) > OVERRIDE_REASON_MAX:
            raise InvalidValue("override_reason", "放行原因不超过500字", code="credit.reason_too_long")
    account.ensure_room(amount_fen, contract_no=contract_no, action=action)
    return reason if overdue is not None else None


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


# ---------------------------------------------------------------------------------------------
# Commitment: the credit context's own record of one approved contract


@attrs.define(slots=False, eq=False)
class Commitment:
    """Credit reserved for one contract (by its stable contract number), written by the credit
    rule inside the finance approval's own transaction."""

    contract_no: str
    dealer_id: int
    amount_fen: int
    reserved_at: dt.datetime
    invoiced_fen: int = 0
    state: CommitmentState = CommitmentState.RESERVED
    updated_at: dt.datetime | None = None
    cancel_reason: str | None = None
    dunning_level: int = 0  # highest dunning level sent for the current overdue episode
    dunning_due_on: dt.date | None = None  # the oldest overdue due date that episode is about
    reminded_due_on: dt.date | None = None  # due date of the last due-soon reminder
    id: int | None = None
    version: int = 1

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.contract_no, str) or not 1 <= len(self.contract_no.strip()) <= 40:
            raise InvalidValue("contract_no", "合同号须为1到40个字符", code="credit.contract_no_invalid")
        _positive_fen("amount_fen", self.amount_fen)

    @property
    def is_active(self) -> bool:
        return self.state is not CommitmentState.CANCELLED

    @property
    def uninvoiced_fen(self) -> int:
        return self.amount_fen - self.invoiced_fen if self.is_active else 0

    def _settle_state(self) -> None:
        if self.state is CommitmentState.CANCELLED:
            return
        if self.invoiced_fen == 0:
            self.state = CommitmentState.RESERVED
        elif self.invoiced_fen < self.amount_fen:
            self.state = CommitmentState.INVOICED_PART
        else:
            self.state = CommitmentState.RELEASED

    def _require_active(self, action: str) -> None:
        if not self.is_active:
            raise IllegalTransition("credit_commitment", self.state.value, action,
                                    f"合同{self.contract_no}已取消，不能{_ACTION_LABEL.get(action, action)}")

    def adjust(self, new_amount_fen: int, now: dt.datetime) -> int:
        """New contract value; returns the change of uninvoiced value (+ needs admission)."""
        self._require_active("adjust")
        _positive_fen("new_amount_fen", new_amount_fen)
        if new_amount_fen < self.invoiced_fen:
            raise BusinessRuleViolation(
                f"合同金额不能低于已开票金额{yuan(self.invoiced_fen)}", code="credit.amount_below_invoiced",
                contract_no=self.contract_no, invoiced_fen=self.invoiced_fen,
            )
        delta = new_amount_fen - self.amount_fen
        self.amount_fen = new_amount_fen
        self.updated_at = now
        self._settle_state()
        return delta

    def invoice(self, amount_fen: int, now: dt.datetime) -> None:
        self._require_active("invoice")
        _positive_fen("amount_fen", amount_fen)
        if amount_fen > self.uninvoiced_fen:
            raise BusinessRuleViolation(
                f"开票金额超过合同未开票金额{yuan(self.uninvoiced_fen)}", code="credit.invoice_exceeds_contract",
                contract_no=self.contract_no, uninvoiced_fen=self.uninvoiced_fen, requested_fen=amount_fen,
            )
        self.invoiced_fen += amount_fen
        self.updated_at = now
        self._settle_state()

    def invoice_voided(self, amount_fen: int, now: dt.datetime) -> None:
        if amount_fen > self.invoiced_fen:
            raise _inconsistent("invoiced")
        self.invoiced_fen -= amount_fen
        self.updated_at = now
        self._settle_state()

    def needs_dunning(self, level: int, oldest_due_on: dt.date) -> bool:
        """A notice at ``level`` is due unless this overdue episode already reached it."""
        return self.dunning_due_on != oldest_due_on or level > self.dunning_level

    def dunned(self, level: int, oldest_due_on: dt.date) -> None:
        self.dunning_level = level
        self.dunning_due_on = oldest_due_on

    def needs_due_soon_reminder(self, due_on: dt.date) -> bool:
        return self.reminded_due_on != due_on

    def reminded(self, due_on: dt.date) -> None:
        self.reminded_due_on = due_on

    def cancel(self, reason: str | None, now: dt.datetime) -> int:
        """Returns the uninvoiced value released."""
        self._require_active("cancel")
        released = self.uninvoiced_fen
        self.state = CommitmentState.CANCELLED
        self.cancel_reason = (reason or "").strip() or None
        self.updated_at = now
        return released

    def reopen(self, now: dt.datetime, amount_fen: int | None = None) -> int:
        """Back to active (optionally at a new value); returns the value to reserve again."""
        if self.is_active:
            raise IllegalTransition("credit_commitment", self.state.value, "reopen",
                                    f"合同{self.contract_no}未取消，无需重新启用")
        if amount_fen is not None:
            _positive_fen("amount_fen", amount_fen)
            if amount_fen < self.invoiced_fen:
                raise BusinessRuleViolation(
                    f"合同金额不能低于已开票金额{yuan(self.invoiced_fen)}", code="credit.amount_below_invoiced",
                    contract_no=self.contract_no, invoiced_fen=self.invoiced_fen,
                )
            self.amount_fen = amount_fen
        self.state = CommitmentState.RESERVED
        self.cancel_reason = None
        self.updated_at = now
        self._settle_state()
        return self.amount_fen - self.invoiced_fen


_ACTION_LABEL = {"adjust": "变更金额", "invoice": "开票", "cancel": "取消", "reserve": "占用额度"}


# ---------------------------------------------------------------------------------------------
# Invoices, payments, allocations


@attrs.define(slots=False, eq=False)
class Invoice:
    """开票: per contract, optionally naming the vehicles (VINs) it covers."""

    invoice_no: str
    dealer_id: int
    contract_no: str
    amount_fen: int
    issued_on: dt.date
    due_on: dt.date
    issued_at: dt.datetime
    issued_by: str
    vins: list[str] = attrs.field(factory=list)
    state: InvoiceState = InvoiceState.ISSUED
    paid_fen: int = 0
    open_fen: int = 0
    settled_on: dt.date | None = None
    vehicle_count: int = 0  # 0: a per-contract invoice naming no vehicle
    voided_at: dt.datetime | None = None
    voided_by: str | None = None
    void_reason: str | None = None
    id: int | None = None
    version: int = 1

    def __attrs_post_init__(self) -> None:
        _positive_fen("amount_fen", self.amount_fen)
        self.vehicle_count = len(self.vins)
        if self.due_on < self.issued_on:
            raise InvalidValue("due_on", "到期日不能早于开票日", code="credit.due_before_issue")
        if self.state is InvoiceState.ISSUED and self.paid_fen == 0 and self.open_fen == 0:
            self.open_fen = self.amount_fen

    @property
    def is_open(self) -> bool:
        return self.state is InvoiceState.ISSUED and self.open_fen > 0

    @property
    def vehicle_status(self) -> VehicleInvoiceStatus:
        if self.state is InvoiceState.VOIDED:
            return VehicleInvoiceStatus.NOT_INVOICED
        return VehicleInvoiceStatus.INVOICED_UNPAID if self.open_fen > 0 else VehicleInvoiceStatus.INVOICED_PAID

    def days_overdue(self, today: dt.date) -> int:
        return max(0, (today - self.due_on).days) if self.is_open else 0

    def apply(self, amount_fen: int, on: dt.date) -> None:
        if self.state is not InvoiceState.ISSUED:
            raise IllegalTransition("credit_invoice", self.state.value, "apply_payment")
        if amount_fen <= 0 or amount_fen > self.open_fen:
            raise _inconsistent("invoice open amount")
        self.paid_fen += amount_fen
        self.open_fen -= amount_fen
        if self.open_fen == 0:
            self.settled_on = on

    def void(self, reason: str, by: str, now: dt.datetime) -> tuple[int, int]:
        """Returns (open, paid) at the moment of voiding."""
        if self.state is not InvoiceState.ISSUED:
            raise IllegalTransition("credit_invoice", self.state.value, "void", "发票已作废")
        if not reason or not reason.strip():
            raise InvalidValue("reason", "作废发票须说明原因", code="credit.reason_required")
        open_fen, paid_fen = self.open_fen, self.paid_fen
        self.state = InvoiceState.VOIDED
        self.open_fen = 0
        self.paid_fen = 0
        self.settled_on = None
        self.voided_at = now
        self.voided_by = by
        self.void_reason = reason.strip()
        return open_fen, paid_fen


@attrs.define(slots=False, eq=False)
class Payment:
    """收款: money from a dealer, optionally naming the contract it is for (earmark)."""

    payment_no: str
    dealer_id: int
    amount_fen: int
    received_on: dt.date
    method: PaymentMethod
    source: PaymentSource
    recorded_at: dt.datetime
    recorded_by: str
    contract_no: str | None = None
    reference: str | None = None
    erp_payment_id: str | None = None
    note: str | None = None
    unapplied_fen: int = -1
    id: int | None = None
    version: int = 1

    def __attrs_post_init__(self) -> None:
        _positive_fen("amount_fen", self.amount_fen)
        if self.unapplied_fen == -1:
            self.unapplied_fen = self.amount_fen

    def allocate(self, amount_fen: int) -> None:
        if amount_fen <= 0 or amount_fen > self.unapplied_fen:
            raise _inconsistent("payment unapplied amount")
        self.unapplied_fen -= amount_fen

    def unallocate(self, amount_fen: int) -> None:
        if amount_fen <= 0 or self.unapplied_fen + amount_fen > self.amount_fen:
            raise _inconsistent("payment unapplied amount")
        self.unapplied_fen += amount_fen


@attrs.define(slots=False, eq=False)
class Allocation:
    """Part of a payment applied to an invoice (核销). Reversed when the invoice is voided."""

    payment_id: int
    invoice_id: int
    dealer_id: int
    contract_no: str
    amount_fen: int
    allocated_at: dt.datetime
    allocated_by: str
    reversed_at: dt.datetime | None = None
    id: int | None = None


@attrs.frozen
class PlannedAllocation:
    payment: Payment
    invoice: Invoice
    amount_fen: int


def plan_allocations(payments: list[Payment], invoices: list[Invoice],
                     limit_fen: int | None = None) -> list[PlannedAllocation]:
    """Oldest due first: walk the invoices in the order given (callers sort by due date) and
    fill each from the payments in the order given, up to ``limit_fen`` in total."""
    plan: list[PlannedAllocation] = []
    left = {id(p): p.unapplied_fen for p in payments}
    budget = limit_fen
    for inv in invoices:
        need = inv.open_fen - sum(a.amount_fen for a in plan if a.invoice is inv)
        for p in payments:
            if need <= 0 or budget == 0:
                break
            take = min(need, left[id(p)], budget if budget is not None else need)
            if take <= 0:
                continue
            plan.append(PlannedAllocation(p, inv, take))
            left[id(p)] -= take
            need -= take
            if budget is not None:
                budget -= take
    return plan


# ---------------------------------------------------------------------------------------------
# Change requests (four eyes)


@attrs.define(slots=False, eq=False)
class CreditChangeRequest:
    """A proposed change of a dealer's credit terms; takes effect only when a *second* finance
    or admin user approves it. Who asked, who decided, why, and old → new are kept."""

    request_no: str
    dealer_id: int
    changes: dict[str, Any]
    reason: str
    requested_by_id: int | None
    requested_by: str
    requested_at: dt.datetime
    state: ChangeRequestState = ChangeRequestState.PENDING
    previous: dict[str, Any] | None = None
    decided_by_id: int | None = None
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    decision_note: str | None = None
    id: int | None = None
    version: int = 1

    def __attrs_post_init__(self) -> None:
        if not self.reason or not self.reason.strip():
            raise InvalidValue("reason", "须说明调整原因", code="credit.reason_required")
        typed = validate_term_changes(self.changes)
        self.changes = {k: _plain(v) for k, v in typed.items()}

    def _decide(self, action: str, by_id: int | None, by: str, now: dt.datetime) -> None:
        if self.state is not ChangeRequestState.PENDING:
            raise IllegalTransition("credit_change_request", self.state.value, action)
        same_person = by_id == self.requested_by_id if by_id is not None else by == self.requested_by
        if same_person:
            raise BusinessRuleViolation("申请人不能审批自己的信用调整申请（须由另一位财务或管理员审批）",
                                        code="credit.four_eyes", requested_by=self.requested_by)
        self.decided_by_id = by_id
        self.decided_by = by
        self.decided_at = now

    def approve(self, account: CreditAccount, by_id: int | None, by: str, now: dt.datetime,
                note: str | None = None) -> None:
        self._decide("approve", by_id, by, now)
        self.previous = account.change_terms(dict(self.changes))
        self.state = ChangeRequestState.APPROVED
        self.decision_note = (note or "").strip() or None

    def reject(self, by_id: int | None, by: str, now: dt.datetime, reason: str) -> None:
        if not reason or not reason.strip():
            raise InvalidValue("reason", "驳回须说明原因", code="credit.reason_required")
        self._decide("reject", by_id, by, now)
        self.state = ChangeRequestState.REJECTED
        self.decision_note = reason.strip()

    @property
    def is_grade_proposal(self) -> bool:
        """Filed by the value analysis (the system, no person), naming only the credit grade."""
        return self.requested_by_id is None and set(self.changes) == {"credit_grade"}

    def supersede(self, by_id: int | None, by: str, now: dt.datetime, successor_no: str) -> None:
        """Finance files its own change while the value analysis' grade proposal waits: the proposal
        gives way (a person's request is never blocked by the system's). Any other pending request
        blocks a second one (``credit.change_pending``): it is decided first."""
        if self.state is not ChangeRequestState.PENDING:
            raise IllegalTransition("credit_change_request", self.state.value, "supersede")
        if not self.is_grade_proposal:
            raise BusinessRuleViolation("该经销商已有待审批的信用调整申请", code="credit.change_pending",
                                        dealer_id=self.dealer_id, request_no=self.request_no)
        self.state = ChangeRequestState.SUPERSEDED
        self.decided_by_id, self.decided_by, self.decided_at = by_id, by, now
        self.decision_note = f"已由信用调整申请 {successor_no} 取代；下次价值评估时重新建议"


GRADE_PROPOSAL_QUIET_DAYS = 90  # a grade finance rejected is not proposed again for a quarter


def grade_proposal_due(grade: str, current_grade: str | None, last_proposal: CreditChangeRequest | None,
                       now: dt.datetime) -> bool:
    """Whether the value analysis should propose ``grade``: not when the account has it, not while a
    request is pending, and not again within :data:`GRADE_PROPOSAL_QUIET_DAYS` of finance rejecting
    the same grade (the daily evaluation would otherwise re-file it every morning)."""
    if grade == current_grade:
        return False
    if last_proposal is None:
        return True
    if last_proposal.state is ChangeRequestState.PENDING:
        return False
    rejected_at = last_proposal.decided_at if last_proposal.state is ChangeRequestState.REJECTED else None
    if rejected_at is None or last_proposal.changes.get("credit_grade") != grade:
        return True
    return now - rejected_at >= dt.timedelta(days=GRADE_PROPOSAL_QUIET_DAYS)


# ---------------------------------------------------------------------------------------------
# Overrides, evaluations


@attrs.define(slots=False, eq=False)
class CreditOverride:
    """Finance let a contract through although the dealer has overdue receivables — with a reason."""

    dealer_id: int
    contract_no: str
    action: str
    reason: str
    overdue_fen: int
    oldest_due_on: dt.date
    actor_id: int | None
    actor: str
    at: dt.datetime
    id: int | None = None


@attrs.frozen
class EvaluationInputs:
    """What a credit score is computed from (all stored with the score)."""

    period_start: dt.date
    period_end: dt.date
    due_invoices: int
    due_fen: int  # invoice value that fell due in the period
    on_time_fen: int  # of which settled on or before its due date
    overdue_fen: int  # open and past due at period end
    max_days_overdue: int
    weighted_days_overdue: int  # amount-weighted mean days overdue of the open overdue invoices
    limit_fen: int
    exposure_fen: int


@attrs.frozen
class CreditScore:
    score: int
    grade: str
    punctuality_points: int
    overdue_points: int
    utilisation_points: int
    punctuality_permille: int | None
    utilisation_permille: int | None


FORMULA = ("score = punctuality (0–50: 50 × on-time share of value due in the last 12 months; 40 without history) "
           "+ overdue (0–30: 30 − max days overdue ÷ 3, floored at 0) "
           "+ utilisation (0–20: 20 up to 50 % usage, falling linearly to 0 at 100 %); "
           "grade A ≥ 85, B ≥ 70, C ≥ 55, else D")


def score_credit(i: EvaluationInputs) -> CreditScore:
    if i.due_fen > 0:
        punctual = i.on_time_fen * 1000 // i.due_fen
        p_points = punctual * 50 // 1000
    else:
        punctual = None
        p_points = 40
    o_points = max(0, 30 - i.max_days_overdue // 3)
    if i.limit_fen > 0:
        util = max(0, i.exposure_fen) * 1000 // i.limit_fen
        u_points = 20 if util <= 500 else max(0, 20 - (util - 500) * 20 // 500)
    else:
        util = None
        u_points = 20 if i.exposure_fen <= 0 else 0
    score = p_points + o_points + u_points
    grade = "A" if score >= 85 else "B" if score >= 70 else "C" if score >= 55 else "D"
    return CreditScore(score, grade, p_points, o_points, u_points, punctual, util)


@attrs.define(slots=False, eq=False)
class CreditEvaluation:
    dealer_id: int
    evaluated_at: dt.datetime
    score: int
    grade: str
    inputs: dict[str, Any]
    breakdown: dict[str, Any]
    formula: str
    id: int | None = None


# ---------------------------------------------------------------------------------------------
# Receivables: ageing and reminders

AGEING_BUCKETS = ("0_30", "31_60", "61_90", "over_90")
AGEING_LABELS = {"0_30": "0–30天", "31_60": "31–60天", "61_90": "61–90天", "over_90": "90天以上"}
DUE_SOON_DAYS = 7
# days overdue at which each dunning level starts (1: friendly, 2: formal, 3: final)
DUNNING_LEVELS = ((30, 3), (15, 2), (1, 1))


def ageing_bucket(age_days: int) -> str:
    """账龄 bucket of a receivable aged ``age_days`` since its invoice date."""
    if age_days <= 30:
        return "0_30"
    if age_days <= 60:
        return "31_60"
    if age_days <= 90:
        return "61_90"
    return "over_90"


def dunning_level(days_overdue: int) -> int | None:
    for start, level in DUNNING_LEVELS:
        if days_overdue >= start:
            return level
    return None
