"""A change request on an approved order (订单变更, seed 000 §3.5).

The dealer (or sales on its behalf) asks for a change; the technical department reviews it.
What an approved change does depends on how far the order has gone:

* **before technical design** — the order has not been released to the ERP yet (the factory's
  technical design starts with the ERP plan): 退单. The order returns to the dealer for
  editing, its contract is voided and the credit reserved for it is released;
* **after** — the ERP owns the order: the change is forwarded to the ERP (idempotent by the
  change number), whose change records then show read-only in the order's history.

    pending ──approve (before release)──▶ returned
       │   ──approve (after release)───▶ forwarding ──ERP acknowledged──▶ forwarded
       ├──reject──▶ rejected
       └──withdraw──▶ withdrawn
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs

from dealercrm.domain.errors import IllegalTransition, InvalidValue

MAX_DESCRIPTION = 1000


class ChangeStatus(enum.StrEnum):
    PENDING = "pending"
    RETURNED = "returned"
    FORWARDING = "forwarding"
    FORWARDED = "forwarded"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return {"pending": "审核中", "returned": "已退单", "forwarding": "待转ERP", "forwarded": "已转ERP",
                "rejected": "已驳回", "withdrawn": "已撤回"}[self.value]


@attrs.define(slots=False, eq=False)
class OrderChangeRequest:
    change_no: str
    order_id: int
    dealer_id: int
    description: str
    requested_at: dt.datetime
    requested_by: str
    contract_no: str | None = None
    status: ChangeStatus = ChangeStatus.PENDING
    decided_at: dt.datetime | None = None
    decision_reason: str | None = None
    erp_tracking_no: str | None = None
    erp_change_id: str | None = None
    forwarded_at: dt.datetime | None = None
    id: int | None = None
    version: int = 1

    def __attrs_post_init__(self) -> None:
        text = (self.description or "").strip()
        if not text:
            raise InvalidValue("description", "变更内容不能为空", code="value.required")
        if len(text) > MAX_DESCRIPTION:
            raise InvalidValue("description", f"变更内容不能超过{MAX_DESCRIPTION}字", code="value.too_long")
        self.description = text

    @property
    def erp_key(self) -> str:
        """The idempotency key of the change in the ERP."""
        return f"change:{self.change_no}"

    def _require(self, action: str, *allowed: ChangeStatus) -> None:
        if self.status not in allowed:
            raise IllegalTransition("order_change", self.status.value, action,
                                    f"变更申请当前状态为「{self.status.label}」，不能执行此操作")

    def returned(self, now: dt.datetime) -> None:
        self._require("approve", ChangeStatus.PENDING)
        self.status, self.decided_at = ChangeStatus.RETURNED, now

    def forward(self, tracking_no: str, now: dt.datetime) -> None:
        self._require("approve", ChangeStatus.PENDING)
        self.status, self.decided_at, self.erp_tracking_no = ChangeStatus.FORWARDING, now, tracking_no

    def revoke_in_erp(self, tracking_no: str) -> bool:
        """The release of the contract this change voided reached the ERP anyway (it was on its way
        when the change returned the order): the change goes to the ERP as well, naming that ERP
        order, so the ERP cancels it. The change stays 已退单. A repeat is a no-op (False)."""
        self._require("revoke_in_erp", ChangeStatus.RETURNED)
        if self.erp_tracking_no == tracking_no:
            return False
        if self.erp_tracking_no is not None:
            raise IllegalTransition("order_change", self.status.value, "revoke_in_erp",
                                    f"变更已关联ERP订单 {self.erp_tracking_no}")
        self.erp_tracking_no = tracking_no
        return True

    @property
    def revokes_erp_order(self) -> bool:
        """A 退单 sent to the ERP to cancel an order released from the voided contract."""
        return self.status is ChangeStatus.RETURNED and self.erp_tracking_no is not None

    def forwarded(self, erp_change_id: str, now: dt.datetime) -> bool:
        """The ERP acknowledged. A repeat with the same id is a no-op (False)."""
        if self.erp_change_id == erp_change_id and (self.status is ChangeStatus.FORWARDED or self.revokes_erp_order):
            return False
        if self.revokes_erp_order:
            self.erp_change_id, self.forwarded_at = erp_change_id, now
            return True
        self._require("forwarded", ChangeStatus.FORWARDING)
        self.status, self.erp_change_id, self.forwarded_at = ChangeStatus.FORWARDED, erp_change_id, now
        return True

    def reject(self, reason: str, now: dt.datetime) -> None:
        self._require("reject", ChangeStatus.PENDING)
        self.status, self.decided_at, self.decision_reason = ChangeStatus.REJECTED, now, (reason or "").strip() or None

    def withdraw(self, now: dt.datetime, reason: str | None = None) -> None:
        self._require("withdraw", ChangeStatus.PENDING)
        self.status, self.decided_at, self.decision_reason = ChangeStatus.WITHDRAWN, now, reason
