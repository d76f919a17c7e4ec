"""Use cases of identity and access: login, users, device credentials.

Passwords are hashed by the ``PasswordHasher`` port (Argon2id in production). Login answers the
same error for an unknown user and a wrong password, and spends the same hashing time on both,
so usernames cannot be probed. Device keys are random, shown once, stored as SHA-256 hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import attrs

from dealercrm.application.access import not_found, require_role
from dealercrm.application.ports.persistence import Clock, PasswordHasher, TokenService, UnitOfWork
from dealercrm.domain.errors import AuthenticationFailed, Conflict, InvalidValue, InvariantBroken
from dealercrm.domain.identity import DeviceCredential, Principal, Role, User, validate_password

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


def principal_from_claims(claims: dict, uow: UnitOfWork) -> Principal:
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
    if not name.strip():
        raise InvalidValue("name", "设备名称不能为空", code="device.name_blank")
    prefix = secrets.token_hex(6)
    key = f"dk_{prefix}_{secrets.token_urlsafe(32)}"
    credential = DeviceCredential(
        name=name.strip(), key_prefix=prefix, key_hash=_hash_key(key), location=location.strip(),
        created_at=clock(),
    )
    with uow:
        uow.devices.add(credential)
        uow.flush()
        if credential.id is None:
            raise InvariantBroken("credential has no id: not flushed")
        issued = IssuedDeviceKey(credential.id, key)
        uow.commit()
    return issued


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
