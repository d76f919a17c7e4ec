"""Who may do what: users, roles and device credentials.

A user belongs to the factory (a staff role, optionally scoped to sales regions), to one dealer
or to one service station. A device credential is not a person: it authenticates the kiosk and
gatehouse agents and reaches only the kiosk routes.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import re

import attrs

from dealercrm.domain.errors import IllegalTransition, InvalidValue


class Role(enum.StrEnum):
    ADMIN = "admin"
    SALES = "sales"
    REGION_MANAGER = "region_manager"
    PROCUREMENT = "procurement"
    TECHNICAL = "technical"
    PRODUCTION = "production"
    FINANCE = "finance"
    INVOICING = "invoicing"  # 开票: the invoicing desk (credit warnings, invoices)
    DISPATCH = "dispatch"
    GUARD = "guard"
    AFTER_SALES = "after_sales"
    MARKETING = "marketing"
    DEALER = "dealer"
    STATION = "station"
    KIOSK = "kiosk"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]

    @property
    def is_staff(self) -> bool:
        return self not in (Role.DEALER, Role.STATION, Role.KIOSK)


ROLE_LABELS = {
    Role.ADMIN: "系统管理员",
    Role.SALES: "销售",
    Role.REGION_MANAGER: "大区经理",
    Role.PROCUREMENT: "采购评审",
    Role.TECHNICAL: "技术评审",
    Role.PRODUCTION: "生产评审",
    Role.FINANCE: "财务",
    Role.INVOICING: "开票",
    Role.DISPATCH: "发车",
    Role.GUARD: "门卫",
    Role.AFTER_SALES: "售后服务",
    Role.MARKETING: "市场",
    Role.DEALER: "经销商用户",
    Role.STATION: "服务站用户",
    Role.KIOSK: "自助终端",
}

HUMAN_ROLES = tuple(r for r in Role if r is not Role.KIOSK)


class BadgePurpose(enum.StrEnum):
    """What a staff badge does at the gate: a guard signs in at the guard station; a
    maintenance badge puts a kiosk into maintenance (print test, paper status). There is no
    maintenance role, so the badge carries its purpose."""

    GUARD = "guard"
    MAINTENANCE = "maintenance"

    @property
    def label(self) -> str:
        return {BadgePurpose.GUARD: "门卫签到", BadgePurpose.MAINTENANCE: "设备维护"}[self]


_BADGE_UID_RE = re.compile(r"^(?:[0-9A-F]{2}){4,10}$")


def normalize_badge_uid(raw: str) -> str:
    """A card UID as the reader reports it (``04:a1:b2:c3``, ``04 A1 B2 C3``, ``04a1b2c3``) →
    ``04A1B2C3``: 4 to 10 bytes in hex (ISO 14443 single, double and triple size UIDs)."""
    uid = re.sub(r"[\s:\-]", "", raw or "").upper()
    if not _BADGE_UID_RE.match(uid):
        raise InvalidValue("badge_uid", "工牌卡号须为4到10字节的十六进制（如 04A1B2C3）", code="badge.uid_malformed")
    return uid


def badge_digest(device_secret: str, uid: str) -> str:
    """The keyed digest by which a gate device knows a badge without holding the UID list:
    HMAC-SHA256 over the normalised UID, keyed by the device's secret (the SHA-256 hex of its
    API key, which the server stores and the agent can compute). A badge book copied off one
    device tells nothing on its own and does not work on another device."""
    return hmac.new(device_secret.encode("ascii"), b"badge:" + normalize_badge_uid(uid).encode("ascii"),
                    hashlib.sha256).hexdigest()


_USERNAME_RE = re.compile(r"^[a-zA-Z0-9_.\-]{3,40}$")


@attrs.define(slots=False, eq=False)
class User:
    username: str
    display_name: str
    role: Role
    password_hash: str
    dealer_id: int | None = None
    station_id: int | None = None
    regions: list[str] = attrs.field(factory=list)
    phone: str | None = None
    email: str | None = None
    is_active: bool = True
    created_at: dt.datetime | None = None
    department: str | None = None  # 部门 (e.g. 技术部): approval steps may be addressed to it
    badge_uid: str | None = None  # the staff badge (one per user; a UID belongs to one user)
    badge_purpose: BadgePurpose | None = None
    badge_enrolled_at: dt.datetime | None = None
    id: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.department is not None:
            self.department = self.department.strip() or None
        if self.department is not None and len(self.department) > 60:
            raise InvalidValue("department", "部门名称不能超过60字", code="user.department_too_long")
        if not _USERNAME_RE.match(self.username):
            raise InvalidValue("username", "用户名须为3到40位字母、数字、点、下划线或连字符", code="username.malformed")
        if self.role is Role.KIOSK:
            raise InvalidValue("role", "自助终端使用设备凭证，不能作为用户角色", code="role.device_only")
        if self.role is Role.DEALER and self.dealer_id is None:
            raise InvalidValue("dealer_id", "经销商用户必须归属于一个经销商", code="user.dealer_required")
        if self.role is not Role.DEALER and self.dealer_id is not None:
            raise InvalidValue("dealer_id", "只有经销商用户可以归属经销商", code="user.dealer_not_allowed")
        if self.role is Role.STATION and self.station_id is None:
            raise InvalidValue("station_id", "服务站用户必须归属于一个服务站", code="user.station_required")

    def deactivate(self) -> None:
        if not self.is_active:
            raise IllegalTransition("user", "inactive", "deactivate")
        self.is_active = False

    def reactivate(self) -> None:
        if self.is_active:
            raise IllegalTransition("user", "active", "reactivate")
        self.is_active = True

    def enrol_badge(self, uid: str, purpose: BadgePurpose, now: dt.datetime) -> bool:
        """Give the user a staff badge; False when it is already this badge for this purpose.
        A guard badge needs the guard role; any active staff member may hold a maintenance one."""
        uid = normalize_badge_uid(uid)
        if not self.is_active:
            raise IllegalTransition("user", "inactive", "enrol_badge", "用户已停用，不能登记工牌",
                                    code="badge.user_inactive")
        if purpose is BadgePurpose.GUARD and self.role is not Role.GUARD:
            raise InvalidValue("purpose", "门卫签到工牌只能登记给门卫角色的用户", code="badge.guard_role_required")
        if not self.role.is_staff:
            raise InvalidValue("purpose", "工牌只能登记给厂内员工", code="badge.staff_only")
        if self.badge_uid == uid and self.badge_purpose is purpose:
            return False
        if self.badge_uid is not None:
            raise IllegalTransition("user", "badge_enrolled", "enrol_badge",
                                    f"该用户已登记工牌（{mask_badge_uid(self.badge_uid)}），请先注销",
                                    code="badge.user_has_badge")
        self.badge_uid = uid
        self.badge_purpose = purpose
        self.badge_enrolled_at = now
        return True

    @property
    def badge_in_force(self) -> BadgePurpose | None:
        """What the user's badge does at the gate now: nothing once the user is deactivated, and a
        guard badge stops signing in when its holder is no longer a guard (a role change)."""
        if not self.is_active or self.badge_uid is None or self.badge_purpose is None:
            return None
        if self.badge_purpose is BadgePurpose.GUARD and self.role is not Role.GUARD:
            return None
        return self.badge_purpose

    def revoke_badge(self) -> str:
        """Take the badge away; returns the UID it had."""
        if self.badge_uid is None:
            raise IllegalTransition("user", "no_badge", "revoke_badge", "该用户没有登记工牌", code="badge.not_enrolled")
        uid = self.badge_uid
        self.badge_uid = None
        self.badge_purpose = None
        self.badge_enrolled_at = None
        return uid


def mask_badge_uid(uid: str) -> str:
    """``04A1B2C3D4E5F6`` → ``****E5F6``: enough to tell badges apart on a page or in a log."""
    return "****" + uid[-4:]


def validate_password(password: str) -> None:
    """At least 10 characters with letters and digits; long passphrases welcome."""
    if len(password) < 10 or not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        raise InvalidValue("password", "密码至少10位，且须同时包含字母和数字", code="password.weak")
    if len(password) > 256:
        raise InvalidValue("password", "密码过长", code="password.too_long")


@attrs.define(slots=False, eq=False)
class DeviceCredential:
    """An API key for an edge agent. Only the key's hash is stored; the key is shown once."""

    name: str
    key_prefix: str
    key_hash: str
    location: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None
    id: int | None = None

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def revoke(self, now: dt.datetime) -> None:
        if self.revoked_at is not None:
            raise IllegalTransition("device_credential", "revoked", "revoke")
        self.revoked_at = now


@attrs.frozen
class Principal:
    """The authenticated caller, as every use case sees it."""

    user_id: int | None
    username: str
    role: Role
    dealer_id: int | None = None
    station_id: int | None = None
    regions: tuple[str, ...] = ()
    device_id: int | None = None
    department: str | None = None

    @property
    def is_device(self) -> bool:
        return self.device_id is not None

    @classmethod
    def system(cls) -> Principal:
        return cls(user_id=None, username="system", role=Role.ADMIN)
