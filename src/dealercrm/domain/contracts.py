"""The e-contract (电子合同) of an approved order, from generation to its release to ERP.

    awaiting_acceptance ──accept──▶ awaiting_finance ──finance_approve──▶ approved ──released──▶ released
            │                          │        ▲
            │                   finance_reject  resubmit_to_finance
            │                          ▼        │
            │                      finance_rejected
            └────────────── void (any state but voided) ──────────────▶ voided

The document's SHA-256 is fixed at generation; acceptance records who, when and from where.
Finance approval is where the credit rule reserves exposure (the application layer calls it in
the same transaction). Release to ERP is keyed by ``erp_key`` so a retried release can never
create a second ERP order. Large modification orders (大委改) have no e-contract at all.
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs

from dealercrm.domain.errors import IllegalTransition, InvalidValue


class ContractStatus(enum.StrEnum):
    AWAITING_ACCEPTANCE = "awaiting_acceptance"
    AWAITING_FINANCE = "awaiting_finance"
    FINANCE_REJECTED = "finance_rejected"
    APPROVED = "approved"
    RELEASED = "released"
    VOIDED = "voided"

    @property
    def label(self) -> str:
        return CONTRACT_STATUS_LABELS[self]


CONTRACT_STATUS_LABELS = {
    ContractStatus.AWAITING_ACCEPTANCE: "待经销商确认",
    ContractStatus.AWAITING_FINANCE: "待财务审核",
    ContractStatus.FINANCE_REJECTED: "财务驳回",
    ContractStatus.APPROVED: "财务已审核",
    ContractStatus.RELEASED: "已下达ERP",
    ContractStatus.VOIDED: "已作废",
}


@attrs.define(slots=False, eq=False)
class Contract:
    contract_no: str
    order_id: int
    dealer_id: int
    amount_fen: int
    document_sha256: str
    generated_at: dt.datetime
    status: ContractStatus = ContractStatus.AWAITING_ACCEPTANCE
    accepted_by_user_id: int | None = None
    accepted_at: dt.datetime | None = None
    accepted_from_ip: str | None = None
    accepted_user_agent: str | None = None
    finance_by_user_id: int | None = None
    finance_at: dt.datetime | None = None
    finance_reason: str | None = None
    credit_override_reason: str | None = None
    erp_tracking_no: str | None = None
    released_at: dt.datetime | None = None
    voided_at: dt.datetime | None = None
    void_reason: str | None = None
    id: int | None = None
    version: int = 1

    def __attrs_post_init__(self) -> None:
        if self.amount_fen <= 0:
            raise InvalidValue("amount_fen", "合同金额必须大于零", code="contract.amount_invalid")
        if len(self.document_sha256) != 64:
            raise InvalidValue("document_sha256", "合同摘要必须是SHA-256", code="contract.digest_invalid")

    @property
    def erp_key(self) -> str:
        """The idempotency key of this contract's ERP sales order."""
        return f"contract:{self.contract_no}"

    def _require(self, action: str, *allowed: ContractStatus) -> None:
        if self.status not in allowed:
            raise IllegalTransition("contract", self.status.value, action,
                                    f"合同当前状态为「{self.status.label}」，不能执行此操作（{action}）")

    def accept(self, user_id: int, at: dt.datetime, ip: str | None, user_agent: str | None) -> None:
        self._require("accept", ContractStatus.AWAITING_ACCEPTANCE)
        self.status = ContractStatus.AWAITING_FINANCE
        self.accepted_by_user_id, self.accepted_at = user_id, at
        self.accepted_from_ip = (ip or "")[:64] or None
        self.accepted_user_agent = (user_agent or "")[:300] or None

    def finance_approve(self, user_id: int, at: dt.datetime, credit_override_reason: str | None = None) -> None:
        self._require("finance_approve", ContractStatus.AWAITING_FINANCE)
        self.status = ContractStatus.APPROVED
        self.finance_by_user_id, self.finance_at, self.finance_reason = user_id, at, None
        self.credit_override_reason = (credit_override_reason or "").strip() or None

    def finance_reject(self, user_id: int, at: dt.datetime, reason: str) -> None:
        if not reason or not reason.strip():
            raise InvalidValue("reason", "驳回必须填写原因", code="contract.reason_required")
        self._require("finance_reject", ContractStatus.AWAITING_FINANCE)
        self.status = ContractStatus.FINANCE_REJECTED
        self.finance_by_user_id, self.finance_at, self.finance_reason = user_id, at, reason.strip()

    def resubmit_to_finance(self) -> None:
        self._require("resubmit_to_finance", ContractStatus.FINANCE_REJECTED)
        self.status = ContractStatus.AWAITING_FINANCE

    def mark_released(self, tracking_no: str, at: dt.datetime) -> bool:
        """Record the ERP tracking number. A repeat with the same number is a no-op (False)."""
        if self.status is ContractStatus.RELEASED and self.erp_tracking_no == tracking_no:
            return False
        self._require("release", ContractStatus.APPROVED)
        if not tracking_no.strip():
            raise InvalidValue("tracking_no", "ERP流转单号不能为空", code="contract.tracking_no_missing")
        self.status = ContractStatus.RELEASED
        self.erp_tracking_no, self.released_at = tracking_no.strip(), at
        return True

    def void(self, reason: str, at: dt.datetime) -> None:
        if not reason or not reason.strip():
            raise InvalidValue("reason", "作废必须填写原因", code="contract.reason_required")
        if self.status is ContractStatus.VOIDED:
            raise IllegalTransition("contract", self.status.value, "void", "合同已作废")
        self.status = ContractStatus.VOIDED
        self.voided_at, self.void_reason = at, reason.strip()

    @property
    def holds_credit(self) -> bool:
        """Finance approval reserved credit for it and it has not been voided."""
        return self.status in (ContractStatus.APPROVED, ContractStatus.RELEASED)
