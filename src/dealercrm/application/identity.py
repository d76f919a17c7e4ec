"""Use cases of identity and access: login, users, device credentials.

Passwords are hashed by the ``PasswordHasher`` port (Argon2id in production). Login answers the
same error for an unknown user and a wrong password, and spends the same hashing time on both,
so usernames cannot be probed. Device keys are random, shown once, stored as SHA-256 hashes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from typing import Any

import attrs

from dealercrm.application.access import not_found, require_role
from dealercrm.application.ports.persistence import Clock, PasswordHasher, TokenService, UnitOfWork
from dealercrm.domain.errors import AuthenticationFailed, Conflict, InvalidValue, InvariantBroken
from dealercrm.domain.identity import (
    BadgePurpose,
    DeviceCredential,
    Principal,
    Role,
    User,
    badge_digest,
    mask_badge_uid,
    normalize_badge_uid,
    validate_password,
)
from dealercrm.domain.regions import require_known_regions

_DUMMY_HASH_INPUT = "timing-equaliser-0"


@attrs.frozen
class LoginResult:
    token: str
    expires_at: str
    principal: Principal


def principal_of(user: User) -> Principal:
    if user.id is None:
        raise InvariantBroken("user has no id: not flushed")
    return Principal(
        user_id=user.id,
        username=user.username,
        role=user.role,
        dealer_id=user.dealer_id,
        station_id=user.station_id,
        regions=tuple(user.regions),
        department=user.department,
    )


def login(username: str, password: str, uow: UnitOfWork, hasher: PasswordHasher, tokens: TokenService) -> LoginResult:
    with uow:
        user = uow.users.by_username(username)
        if user is None:
            hasher.verify(hasher.hash(_DUMMY_HASH_INPUT), password)
            raise AuthenticationFailed("用户名或密码错误", code="auth.invalid_credentials")
        if not hasher.verify(user.password_hash, password):
            raise AuthenticationFailed("用户名或密码错误", code="auth.invalid_credentials")
        if not user.is_active:
            raise AuthenticationFailed("账号已停用", code="auth.user_inactive")
        if hasher.needs_rehash(user.password_hash):
            user.password_hash = hasher.hash(password)
            uow.commit()
        principal = principal_of(user)
    token, expires = tokens.issue(principal)
    return LoginResult(token, expires.isoformat(), principal)


def principal_from_claims(claims: dict[str, Any], uow: UnitOfWork) -> Principal:
    """Re-check the user on every request: a deactivated user's token stops working at once."""
    with uow:
        user = uow.users.get(int(claims["sub"]))
        if user is None or not user.is_active:
            raise AuthenticationFailed("账号不存在或已停用", code="auth.user_inactive")
        return principal_of(user)


def change_password(user_id: int, current_password: str, new_password: str, uow: UnitOfWork,
                    hasher: PasswordHasher) -> None:
    """A user replaces their own password; the current one must be given (a borrowed session alone
    cannot lock its owner out)."""
    validate_password(new_password)
    with uow:
        user = uow.users.get(user_id)
        if user is None or not user.is_active:
            raise AuthenticationFailed("账号不存在或已停用", code="auth.user_inactive")
        if not hasher.verify(user.password_hash, current_password):
            raise InvalidValue("current_password", "当前密码不正确", code="password.current_wrong")
        if current_password == new_password:
            raise InvalidValue("new_password", "新密码不能与当前密码相同", code="password.unchanged")
        user.password_hash = hasher.hash(new_password)
        uow.commit()


@attrs.frozen
class CreateUser:
    username: str
    display_name: str
    role: str
    password: str
    dealer_id: int | None = None
    station_id: int | None = None
    regions: tuple[str, ...] = ()
    phone: str | None = None
    email: str | None = None
    department: str | None = None


def create_user(cmd: CreateUser, uow: UnitOfWork, clock: Clock, hasher: PasswordHasher) -> int:
    require_role(uow.actor, Role.ADMIN)
    try:
        role = Role(cmd.role)
    except ValueError:
        raise InvalidValue("role", f"未知角色：{cmd.role}", code="role.unknown") from None
    validate_password(cmd.password)
    user = User(
        username=cmd.username,
        display_name=cmd.display_name.strip() or cmd.username,
        role=role,
        password_hash=hasher.hash(cmd.password),
        dealer_id=cmd.dealer_id,
        station_id=cmd.station_id,
        regions=list(cmd.regions),
        phone=cmd.phone,
        email=cmd.email,
        created_at=clock(),
        department=cmd.department,
    )
    with uow:
        if uow.users.by_username(cmd.username) is not None:
            raise Conflict("用户名已被占用", code="user.username_taken", field="username")
        if cmd.dealer_id is not None and uow.dealers.get(cmd.dealer_id) is None:
            raise InvalidValue("dealer_id", "经销商不存在", code="dealer.not_found")
        if cmd.regions:  # a staff member's regions are among the active ones (domain.regions)
            require_known_regions(cmd.regions, uow.regions.active_names())
        uow.users.add(user)
        uow.flush()
        if user.id is None:
            raise InvariantBroken("user has no id: not flushed")
        user_id = user.id
        uow.commit()
    return user_id


def deactivate_user(user_id: int, uow: UnitOfWork) -> None:
    require_role(uow.actor, Role.ADMIN)
    with uow:
        user = uow.users.get(user_id)
        if user is None:
            raise not_found("user", "用户")
        user.deactivate()
        uow.commit()


def reactivate_user(user_id: int, uow: UnitOfWork) -> None:
    """Let a deactivated user sign in again (their sessions and tokens were refused meanwhile)."""
    require_role(uow.actor, Role.ADMIN)
    with uow:
        user = uow.users.get(user_id)
        if user is None:
            raise not_found("user", "用户")
        user.reactivate()
        uow.commit()


def change_role(user_id: int, role: str, regions: tuple[str, ...], uow: UnitOfWork) -> None:
    require_role(uow.actor, Role.ADMIN)
    try:
        new_role = Role(role)
    except ValueError:
        raise InvalidValue("role", f"未知角色：{role}", code="role.unknown") from None
    with uow:
        user = uow.users.get(user_id)
        if user is None:
            raise not_found("user", "用户")
        User(  # validate the combination before changing anything
            username=user.username, display_name=user.display_name, role=new_role,
            password_hash=user.password_hash, dealer_id=user.dealer_id, station_id=user.station_id,
        )
        if regions and list(regions) != user.regions:
            require_known_regions(regions, uow.regions.active_names())
        user.role = new_role
        user.regions = list(regions)
        uow.commit()


# ---------------------------------------------------------------------------------------------
# Device credentials: "dk_<prefix>_<secret>"; the prefix finds the row, the hash proves the key


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@attrs.frozen
class IssuedDeviceKey:
    credential_id: int
    api_key: str


def issue_device_credential(name: str, location: str, uow: UnitOfWork, clock: Clock) -> IssuedDeviceKey:
    require_role(uow.actor, Role.ADMIN)
    check_device_name(name)
    with uow:
        issued = new_device_credential(uow, name, location, clock())
        uow.commit()
    return issued


def check_device_name(name: str) -> None:
    if not name.strip():
        raise InvalidValue("name", "设备名称不能为空", code="device.name_blank")


def new_device_credential(uow: UnitOfWork, name: str, location: str, now: dt.datetime) -> IssuedDeviceKey:
    """A new device key inside the caller's unit of work (not committed); only its hash is stored."""
    prefix = secrets.token_hex(6)
    key = f"dk_{prefix}_{secrets.token_urlsafe(32)}"
    credential = DeviceCredential(
        name=name.strip(), key_prefix=prefix, key_hash=_hash_key(key), location=location.strip(), created_at=now,
    )
    uow.devices.add(credential)
    uow.flush()
    if credential.id is None:
        raise InvariantBroken("credential has no id: not flushed")
    return IssuedDeviceKey(credential.id, key)


def revoke_device_credential(credential_id: int, uow: UnitOfWork, clock: Clock) -> None:
    require_role(uow.actor, Role.ADMIN)
    with uow:
        credential = uow.devices.get(credential_id)
        if credential is None:
            raise not_found("device", "设备凭证")
        credential.revoke(clock())
        uow.commit()


def authenticate_device(api_key: str, uow: UnitOfWork) -> Principal:
    parts = api_key.split("_", 2)
    if len(parts) != 3 or parts[0] != "dk":
        raise AuthenticationFailed("设备凭证无效", code="auth.device_key_invalid")
    with uow:
        credential = uow.devices.by_prefix(parts[1])
        if credential is None or not hmac.compare_digest(credential.key_hash, _hash_key(api_key)):
            raise AuthenticationFailed("设备凭证无效", code="auth.device_key_invalid")
        if not credential.is_active:
            raise AuthenticationFailed("设备凭证已吊销", code="auth.device_key_revoked")
        if credential.id is None:
            raise InvariantBroken("credential has no id: not flushed")
        return Principal(user_id=None, username=f"device:{credential.name}", role=Role.KIOSK,
                         device_id=credential.id)


# ---------------------------------------------------------------------------------------------
# Staff badges: enrolled by an admin, shipped to the gate devices as keyed digests


def enrol_badge(user_id: int, uid: str, purpose: str, uow: UnitOfWork, clock: Clock) -> dict[str, Any]:
    """Give a user a staff badge (one per user; a UID belongs to one user: 409 naming the holder).
    The change is audited by the unit of work (the UID itself is masked in the trail)."""
    require_role(uow.actor, Role.ADMIN)
    try:
        badge_purpose = BadgePurpose(purpose)
    except ValueError:
        raise InvalidValue("purpose", f"未知工牌用途：{purpose}（guard 或 maintenance）",
                           code="badge.purpose_unknown") from None
    normal = normalize_badge_uid(uid)
    with uow:
        user = uow.users.get(user_id)
        if user is None:
            raise not_found("user", "用户")
        holder = uow.users.by_badge(normal)
        if holder is not None and holder.id != user_id:
            raise Conflict(f"该工牌已登记给 {holder.display_name}（{holder.username}）", code="badge.taken",
                           field="badge_uid", holder={"user_id": holder.id, "username": holder.username,
                                                      "display_name": holder.display_name})
        changed = user.enrol_badge(normal, badge_purpose, clock())
        answer = _badge_view(user)
        if changed:
            uow.commit()
    return answer


def revoke_badge(user_id: int, uow: UnitOfWork) -> dict[str, Any]:
    """Take a user's badge away; the gate devices drop it at their next badge-book refresh."""
    require_role(uow.actor, Role.ADMIN)
    with uow:
        user = uow.users.get(user_id)
        if user is None:
            raise not_found("user", "用户")
        uid = user.revoke_badge()
        uow.commit()
    return {"user_id": user_id, "badge": mask_badge_uid(uid), "revoked": True}


def _badge_view(user: User) -> dict[str, Any]:
    return {"user_id": user.id, "username": user.username, "display_name": user.display_name,
            "badge": mask_badge_uid(user.badge_uid) if user.badge_uid else None,
            "purpose": user.badge_purpose.value if user.badge_purpose else None,
            "enrolled_at": user.badge_enrolled_at.isoformat() if user.badge_enrolled_at else None}


def _device_secret(uow: UnitOfWork) -> str:
    """The calling device's badge key: the SHA-256 of its API key (see ``badge_digest``)."""
    require_role(uow.actor, Role.KIOSK)
    device_id = uow.actor.device_id
    credential = uow.devices.get(device_id) if device_id is not None else None
    if credential is None:
        raise InvariantBroken("a device principal without its credential")
    return credential.key_hash


def badge_book(uow: UnitOfWork, clock: Clock) -> dict[str, Any]:
    """The gate device's offline badge book: each active user's badge as a digest keyed by this
    device's secret, with its purpose and the holder's name (shown when the guard signs in)."""
    with uow:
        secret = _device_secret(uow)
        badges = [{"digest": badge_digest(secret, u.badge_uid), "purpose": purpose.value,
                   "user_id": u.id, "name": u.display_name}
                  for u in uow.users.with_badges()
                  if u.badge_uid is not None and (purpose := u.badge_in_force) is not None]
    return {"as_of": clock().isoformat(), "badges": badges}


def guard_of_badge(digest: str | None, uow: UnitOfWork) -> User | None:
    """The active guard whose badge the calling device names by ``digest`` (None: nobody known)."""
    if not digest:
        return None
    secret = _device_secret(uow)
    for user in uow.users.with_badges():
        if user.badge_uid and user.badge_in_force is BadgePurpose.GUARD \
                and hmac.compare_digest(badge_digest(secret, user.badge_uid), digest.lower()):
            return user
    return None


# ---------------------------------------------------------------------------------------------
# Agents report in: the last status of each gate device

MAX_REPORT_BYTES = 32_000


def record_device_status(report: dict[str, Any], uow: UnitOfWork, clock: Clock) -> dict[str, Any]:
    """Keep the calling device's status report (its devices' states and last errors, the journal
    backlog, the last replay), replacing the one before."""
    require_role(uow.actor, Role.KIOSK)
    if len(json.dumps(report, ensure_ascii=False, default=str)) > MAX_REPORT_BYTES:
        raise InvalidValue("report", f"状态报告过大（上限 {MAX_REPORT_BYTES} 字节）", code="device.report_too_large")
    device_id = uow.actor.device_id
    if device_id is None:
        raise InvariantBroken("a device principal without a device id")
    now = clock()
    with uow:
        uow.device_reports.put(device_id, now, json.loads(json.dumps(report, default=str)))
        uow.commit()
    return {"device_id": device_id, "reported_at": now.isoformat()}
