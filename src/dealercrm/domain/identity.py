"""Who may do what: users, roles and device credentials.

A user belongs to the factory (a staff role, optionally scoped to sales regions), to one dealer
or to one service station. A device credential is not a person: it authenticates the kiosk and
gatehouse agents and reaches only the kiosk routes.
"""

from __future__ import annotations

import datetime as dt
import enum
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
