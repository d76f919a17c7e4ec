"""Self-pickup at the factory gate: the authorization letter (介绍信) and the gate pass (出门证).

Seed 000 §3.6: the dealer registers who will collect which vehicles of which contract and when
(:class:`PickupAuthorization`); at the factory the person's ID card must match; dispatch then
submits a :class:`GatePass`, finance approves it after checking payment and credit, dispatch
hands the vehicles over, and the guard confirms the exit — once. The approved pass carries a
signed QR token (see ``application/gate.py``) the gate can verify offline.

The person's ID number is never stored in clear here: the application hands in a keyed digest
(for matching and kiosk lookup) and the masked number (for people to read).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections.abc import Sequence
from typing import Any

import attrs

from dealercrm.domain.errors import BusinessRuleViolation, IllegalTransition, InvalidValue
from dealercrm.domain.printing import PrintDocument, layout_gate_pass
from dealercrm.domain.values import SHANGHAI, Phone, Vin, stored_id

MAX_VEHICLES_PER_LETTER = 50
MAX_AUTHORIZATION_DAYS = 31
ID_CHECK_VALID_FOR = dt.timedelta(hours=12)  # a kiosk card check counts for dispatch this long
HANDOVER_SKEW = dt.timedelta(minutes=2)  # clock drift allowed between the desk and a gate device


# ---------------------------------------------------------------------------------------------
# Errors with reasons the gate screens can show


class GatePassRefused(BusinessRuleViolation):
    """A pass cannot be used for what was asked (expired, voided, not approved …). → 409"""

    code = "gate_pass.refused"


class AlreadyExited(IllegalTransition):
    """The pass has already been used for its one exit. Carries when."""

    code = "gate_pass.already_exited"

    def __init__(self, pass_no: str, exited_at: dt.datetime) -> None:
        super().__init__(
            "gate_pass", GatePassStatus.EXITED.value, "exit",
            f"出门证 {pass_no} 已于 {_beijing(exited_at)} 出门，不能重复使用",
            code="gate_pass.already_exited",
        )
        self.details.update(pass_no=pass_no, exited_at=exited_at.isoformat())


def _beijing(moment: dt.datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------------------------------------
# Pickup authorization (介绍信)


class AuthorizationStatus(enum.StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"  # lapsed: its window ended before every vehicle left
    COMPLETED = "completed"  # every vehicle left the gate

    @property
    def label(self) -> str:
        return {"active": "有效", "revoked": "已撤销", "expired": "已过期", "completed": "已提车"}[self.value]


def check_window(valid_from: dt.datetime, valid_to: dt.datetime) -> None:
    for name, moment in (("valid_from", valid_from), ("valid_to", valid_to)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise InvalidValue(name, "时间必须带时区", code="time.naive")
    if valid_to <= valid_from:
        raise InvalidValue("valid_to", "有效期截止时间须晚于开始时间", code="validity.inverted")


def clean_vins(vins: Sequence[str]) -> list[str]:
    if not vins:
        raise InvalidValue("vins", "至少选择一台车辆", code="vins.empty")
    if len(vins) > MAX_VEHICLES_PER_LETTER:
        raise InvalidValue("vins", f"一次最多{MAX_VEHICLES_PER_LETTER}台车辆", code="vins.too_many")
    out: list[str] = []
    for raw in vins:
        vin = Vin(raw).value
        if vin in out:
            raise InvalidValue("vins", f"车架号 {vin} 重复", code="vins.duplicate")
        out.append(vin)
    return out


@attrs.define(slots=False, eq=False)
class PickupAuthorization:
    number: str
    dealer_id: int
    contract_no: str
    person_name: str
    id_digest: str  # keyed digest of the ID number (application/gate.py IdDigester)
    id_masked: str
    phone: Phone
    vins: list[str]
    valid_from: dt.datetime
    valid_to: dt.datetime
    created_at: dt.datetime
    created_by: str
    status: AuthorizationStatus = AuthorizationStatus.ACTIVE
    status_reason: str | None = None
    status_changed_at: dt.datetime | None = None
    id_checked_at: dt.datetime | None = None
    id_checked_via: str | None = None
    version: int = 1
    id: int | None = None

    def __attrs_post_init__(self) -> None:
        name = self.person_name.strip()
        if not name or len(name) > 30:
            raise InvalidValue("person_name", "提车人姓名须为1到30个字", code="person_name.invalid")
        self.person_name = name
        contract = self.contract_no.strip()
        if not contract or len(contract) > 40:
            raise InvalidValue("contract_no", "合同号不能为空且不超过40位", code="contract_no.invalid")
        self.contract_no = contract
        check_window(self.valid_from, self.valid_to)
        if self.valid_to - self.valid_from > dt.timedelta(days=MAX_AUTHORIZATION_DAYS):
            raise InvalidValue("valid_to", f"介绍信有效期不超过{MAX_AUTHORIZATION_DAYS}天", code="validity.too_long")
        self.vins = clean_vins(self.vins)

    @classmethod
    def register(cls, *, number: str, dealer_id: int, contract_no: str, person_name: str, id_digest: str,
                 id_masked: str, phone: Phone, vins: Sequence[str], valid_from: dt.datetime,
                 valid_to: dt.datetime, now: dt.datetime, by: str) -> PickupAuthorization:
        if valid_to <= now:
            raise InvalidValue("valid_to", "有效期截止时间须晚于当前时间", code="validity.in_past")
        return cls(number=number, dealer_id=dealer_id, contract_no=contract_no, person_name=person_name,
                   id_digest=id_digest, id_masked=id_masked, phone=phone, vins=list(vins), valid_from=valid_from,
                   valid_to=valid_to, created_at=now, created_by=by)

    # -- rules ---------------------------------------------------------------------------------

    def effective_status(self, now: dt.datetime) -> AuthorizationStatus:
        if self.status is AuthorizationStatus.ACTIVE and now >= self.valid_to:
            return AuthorizationStatus.EXPIRED
        return self.status

    def require_usable(self, now: dt.datetime, action: str) -> None:
        """Active and inside its window, else a refusal naming why."""
        status = self.effective_status(now)
        if status is not AuthorizationStatus.ACTIVE:
            raise IllegalTransition(
                "pickup_authorization", status.value, action,
                f"介绍信 {self.number} {status.label}，不能办理", code=f"pickup_authorization.{status.value}",
            )
        if now < self.valid_from:
            raise BusinessRuleViolation(f"介绍信 {self.number} 尚未到有效期（自 {_beijing(self.valid_from)} 起）",
                                        code="pickup_authorization.not_yet_valid",
                                        valid_from=self.valid_from.isoformat())

    def matches(self, id_digest: str) -> bool:
        return bool(id_digest) and id_digest == self.id_digest

    def record_id_check(self, via: str, at: dt.datetime) -> None:
        self.id_checked_at = at
        self.id_checked_via = via

    def has_recent_id_check(self, now: dt.datetime) -> bool:
        return self.id_checked_at is not None and now - self.id_checked_at <= ID_CHECK_VALID_FOR

    # -- life cycle ----------------------------------------------------------------------------

    def _end(self, status: AuthorizationStatus, action: str, at: dt.datetime, reason: str | None) -> None:
        if self.status is not AuthorizationStatus.ACTIVE:
            raise IllegalTransition("pickup_authorization", self.status.value, action,
                                    f"介绍信 {self.number} {self.status.label}，不能{_AUTH_ACTIONS[action]}",
                                    code="pickup_authorization.illegal_transition")
        self.status = status
        self.status_reason = reason
        self.status_changed_at = at

    def revoke(self, reason: str, at: dt.datetime) -> None:
        if not reason or not reason.strip():
            raise InvalidValue("reason", "撤销须填写原因", code="reason.required")
        self._end(AuthorizationStatus.REVOKED, "revoke", at, reason.strip())

    def lapse(self, at: dt.datetime) -> None:
        self._end(AuthorizationStatus.EXPIRED, "lapse", at, "有效期已过")

    def complete(self, at: dt.datetime) -> None:
        self._end(AuthorizationStatus.COMPLETED, "complete", at, None)


_AUTH_ACTIONS = {"revoke": "撤销", "lapse": "置为过期", "complete": "完成提车"}


# ---------------------------------------------------------------------------------------------
# Gate pass (出门证)


def masked_holder(name: str | None) -> str | None:
    """The collector's name as a guard screen shows it: 王建国 → 王*国, 王明 → 王*, 欧阳小明 → 欧**明.
    Enough to match the face and the ID card in front of the guard, not to identify anyone from
    a screenshot or a cached book."""
    name = (name or "").strip()
    if not name:
        return None
    if len(name) <= 2:
        return name[0] + "*" * (len(name) - 1)
    return name[0] + "*" * (len(name) - 2) + name[-1]


def qr_digest(qr_payload: str) -> str:
    """How the pass book names the QR a pass carries now (a reissue gives a new one)."""
    return hashlib.sha256(qr_payload.strip().encode("utf-8")).hexdigest()


class GatePassStatus(enum.StrEnum):
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    HANDED_OVER = "handed_over"
    EXITED = "exited"
    VOIDED = "voided"

    @property
    def label(self) -> str:
        return GATE_PASS_STATUS_LABELS[self]

    @property
    def is_live(self) -> bool:
        return self in (GatePassStatus.PENDING_APPROVAL, GatePassStatus.APPROVED, GatePassStatus.HANDED_OVER)


GATE_PASS_STATUS_LABELS = {
    GatePassStatus.PENDING_APPROVAL: "待财务审核",
    GatePassStatus.APPROVED: "财务已审核",
    GatePassStatus.REJECTED: "财务已驳回",
    GatePassStatus.HANDED_OVER: "已交车待出门",
    GatePassStatus.EXITED: "已出门",
    GatePassStatus.VOIDED: "已作废",
}

P = GatePassStatus
_PASS_TRANSITIONS: dict[str, tuple[frozenset[GatePassStatus], GatePassStatus]] = {
    "approve": (frozenset({P.PENDING_APPROVAL}), P.APPROVED),
    "reject": (frozenset({P.PENDING_APPROVAL}), P.REJECTED),
    "hand_over": (frozenset({P.APPROVED}), P.HANDED_OVER),
    "exit": (frozenset({P.HANDED_OVER}), P.EXITED),
    "void": (frozenset({P.PENDING_APPROVAL, P.APPROVED, P.HANDED_OVER}), P.VOIDED),
}
_PASS_ACTIONS = {"approve": "审核通过", "reject": "驳回", "hand_over": "交车", "exit": "出门", "void": "作废"}

ID_SOURCES = ("card", "desk")  # the number came from a card reader, or was typed at the desk


@attrs.define(slots=False, eq=False)
class GatePass:
    pass_no: str
    authorization_id: int
    dealer_id: int
    contract_no: str
    vins: list[str]
    person_name: str
    id_digest: str
    id_masked: str
    id_verified_via: str
    id_verified_at: dt.datetime
    valid_from: dt.datetime
    valid_to: dt.datetime
    created_at: dt.datetime
    created_by: str
    status: GatePassStatus = GatePassStatus.PENDING_APPROVAL
    approved_at: dt.datetime | None = None
    approved_by: str | None = None
    rejected_reason: str | None = None
    handed_over_at: dt.datetime | None = None
    handed_over_by: str | None = None
    exited_at: dt.datetime | None = None
    exited_by: str | None = None
    voided_at: dt.datetime | None = None
    void_reason: str | None = None
    qr_payload: str | None = None
    key_id: str | None = None
    print_count: int = 0
    last_printed_at: dt.datetime | None = None
    version: int = 1
    id: int | None = None

    def __attrs_post_init__(self) -> None:
        check_window(self.valid_from, self.valid_to)
        self.vins = clean_vins(self.vins)
        if self.id_verified_via not in ID_SOURCES:
            raise InvalidValue("id_source", "身份核验来源须为 card 或 desk", code="gate_pass.id_source")

    @classmethod
    def for_authorization(cls, auth: PickupAuthorization, *, pass_no: str, vins: Sequence[str],
                          id_digest: str, id_via: str, id_checked_at: dt.datetime,
                          valid_to: dt.datetime | None, now: dt.datetime, by: str) -> GatePass:
        """Dispatch's pass for (some of) the vehicles of an authorization, after the ID matched."""
        auth.require_usable(now, "create_gate_pass")
        if not auth.matches(id_digest):
            raise InvalidValue("id_number", "提车人身份证号与介绍信登记的不一致", code="gate_pass.id_mismatch")
        chosen = clean_vins(vins) if vins else list(auth.vins)
        foreign = [v for v in chosen if v not in auth.vins]
        if foreign:
            raise InvalidValue("vins", f"车辆不在介绍信 {auth.number} 中：{'、'.join(foreign)}",
                               code="gate_pass.vin_not_authorized")
        until = auth.valid_to if valid_to is None else min(valid_to, auth.valid_to)
        if until <= now:
            raise InvalidValue("valid_to", "有效期截止时间须晚于当前时间", code="validity.in_past")
        return cls(pass_no=pass_no, authorization_id=stored_id(auth.id), dealer_id=auth.dealer_id,
                   contract_no=auth.contract_no, vins=chosen, person_name=auth.person_name, id_digest=auth.id_digest,
                   id_masked=auth.id_masked, id_verified_via=id_via, id_verified_at=id_checked_at,
                   valid_from=max(auth.valid_from, now), valid_to=until, created_at=now, created_by=by)

    # -- life cycle ----------------------------------------------------------------------------

    def require_action(self, action: str) -> None:
        """Raise ``IllegalTransition`` (with the current state) unless ``action`` is allowed now."""
        allowed, _target = _PASS_TRANSITIONS[action]
        if self.status not in allowed:
            raise IllegalTransition(
                "gate_pass", self.status.value, action,
                f"出门证 {self.pass_no} 当前状态为“{self.status.label}”，不能{_PASS_ACTIONS[action]}",
                code="gate_pass.illegal_transition",
            )

    def _move(self, action: str) -> None:
        self.require_action(action)
        self.status = _PASS_TRANSITIONS[action][1]

    def approve(self, at: dt.datetime, by: str, qr_payload: str, key_id: str) -> None:
        self.require_within_validity(at, "approve")
        self._move("approve")
        self.approved_at, self.approved_by = at, by
        self.qr_payload, self.key_id = qr_payload, key_id

    def reject(self, reason: str, at: dt.datetime, by: str) -> None:
        if not reason or not reason.strip():
            raise InvalidValue("reason", "驳回须填写原因", code="reason.required")
        self._move("reject")
        self.rejected_reason = reason.strip()
        self.approved_at, self.approved_by = at, by

    def hand_over(self, at: dt.datetime, by: str) -> None:
        self.require_within_validity(at, "hand_over")
        self._move("hand_over")
        self.handed_over_at, self.handed_over_by = at, by

    def exit(self, at: dt.datetime, by: str) -> None:
        """The guard confirms the vehicles left. ``at`` is when (the scan time for offline replays)."""
        refusal = self.exit_refusal(at)
        if refusal is not None:
            raise refusal
        self._move("exit")
        self.exited_at, self.exited_by = at, by

    def void(self, reason: str, at: dt.datetime, by: str) -> None:
        if not reason or not reason.strip():
            raise InvalidValue("reason", "作废须填写原因", code="reason.required")
        self._move("void")
        self.voided_at, self.void_reason = at, f"{reason.strip()}（{by}）"

    def record_print(self, at: dt.datetime) -> bool:
        """Count a successful print; True when it was a reprint."""
        refusal = self.print_refusal(at)
        if refusal is not None:
            raise refusal
        self.print_count += 1
        self.last_printed_at = at
        return self.print_count > 1

    # -- validity ------------------------------------------------------------------------------

    def require_within_validity(self, at: dt.datetime, action: str) -> None:
        if at < self.valid_from:
            raise GatePassRefused(f"出门证 {self.pass_no} 尚未生效（自 {_beijing(self.valid_from)} 起）",
                                  code="gate_pass.not_yet_valid", pass_no=self.pass_no,
                                  valid_from=self.valid_from.isoformat())
        if at >= self.valid_to:
            raise GatePassRefused(f"出门证 {self.pass_no} 已过期（至 {_beijing(self.valid_to)} 止）",
                                  code="gate_pass.expired", pass_no=self.pass_no, valid_to=self.valid_to.isoformat())

    def exit_refusal(self, at: dt.datetime) -> GatePassRefused | AlreadyExited | None:
        """Why this pass may not let the vehicles out at ``at`` (None: it may)."""
        if self.status is P.EXITED and self.exited_at is not None:
            return AlreadyExited(self.pass_no, self.exited_at)
        if self.status is not P.HANDED_OVER:
            code = _REFUSAL_OF_STATUS[self.status]
            return GatePassRefused(_REFUSAL_MESSAGES[code].format(pass_no=self.pass_no), code=f"gate_pass.{code}",
                                   pass_no=self.pass_no, current_state=self.status.value)
        if self.handed_over_at is not None and at < self.handed_over_at - HANDOVER_SKEW:
            # a replayed offline scan from before the handover cannot be this pass's exit
            return GatePassRefused(_REFUSAL_MESSAGES["not_handed_over"].format(pass_no=self.pass_no),
                                   code="gate_pass.not_handed_over", pass_no=self.pass_no,
                                   handed_over_at=self.handed_over_at.isoformat())
        try:
            self.require_within_validity(at, "exit")
        except GatePassRefused as refusal:
            return refusal
        return None

    def print_refusal(self, at: dt.datetime) -> GatePassRefused | AlreadyExited | None:
        """Why the kiosk may not print this pass now (None: it may). Printing ahead of
        ``valid_from`` is fine; printing an expired or unusable pass is not."""
        if self.status is P.EXITED and self.exited_at is not None:
            return AlreadyExited(self.pass_no, self.exited_at)
        if self.status not in (P.APPROVED, P.HANDED_OVER) or self.qr_payload is None:
            code = _REFUSAL_OF_STATUS.get(self.status, "not_approved")
            return GatePassRefused(_REFUSAL_MESSAGES[code].format(pass_no=self.pass_no), code=f"gate_pass.{code}",
                                   pass_no=self.pass_no, current_state=self.status.value)
        if at >= self.valid_to:
            return GatePassRefused(f"出门证 {self.pass_no} 已过期（至 {_beijing(self.valid_to)} 止）",
                                   code="gate_pass.expired", pass_no=self.pass_no, valid_to=self.valid_to.isoformat())
        return None

    def document(self) -> PrintDocument:
        """The slip the kiosk prints (Beijing time, the signed QR)."""
        if self.qr_payload is None or self.approved_at is None:
            raise GatePassRefused(f"出门证 {self.pass_no} 尚未审核，不能打印", code="gate_pass.not_approved")
        return layout_gate_pass(self.pass_no, self.person_name, self.vins, self.valid_from, self.valid_to,
                                self.qr_payload, self.approved_at)

    def summary(self) -> dict[str, Any]:
        return {"pass_no": self.pass_no, "status": self.status.value, "vins": list(self.vins)}


_REFUSAL_OF_STATUS = {
    P.PENDING_APPROVAL: "not_approved",
    P.REJECTED: "rejected",
    P.APPROVED: "not_handed_over",
    P.VOIDED: "voided",
    P.EXITED: "already_exited",
}
_REFUSAL_MESSAGES = {
    "not_approved": "出门证 {pass_no} 尚未通过财务审核",
    "rejected": "出门证 {pass_no} 已被财务驳回",
    "not_handed_over": "出门证 {pass_no} 的车辆尚未交接，请先到发车处办理交车",
    "voided": "出门证 {pass_no} 已作废",
    "already_exited": "出门证 {pass_no} 已使用",
}


@attrs.define(slots=False, eq=False)
class GateExit:
    """The one exit of a gate pass (unique per pass in the database: a vehicle leaves once)."""

    gate_pass_id: int
    pass_no: str
    vins: list[str]
    exited_at: dt.datetime
    recorded_at: dt.datetime
    source: str  # "kiosk" (a gate device, maybe replaying offline) or "desk"
    actor: str
    client_event_id: str | None = None
    guard_user_id: int | None = None  # the guard signed in at the gate device by badge
    guard_badge: str | None = None  # the badge digest the device sent (kept when it matched nobody)
    id: int | None = None
