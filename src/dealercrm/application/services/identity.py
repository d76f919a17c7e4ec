"""Identity with its dependencies bound: login, users, device keys, and what the HTTP
authentication middleware re-checks on every request (token claims, the user's current status)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from dealercrm.application import identity
from dealercrm.application.access import require_role
from dealercrm.application.form_once import once_per_form
from dealercrm.application.ports.persistence import (
    Clock,
    DealerQueries,
    PasswordHasher,
    TokenService,
    UnitOfWorkFactory,
)
from dealercrm.application.services.channel import ANONYMOUS
from dealercrm.domain.errors import AuthenticationFailed, NotFound
from dealercrm.domain.identity import Principal, Role


@attrs.define
class IdentityService:
    """Identity and access (身份与权限): login, users, roles, device keys and staff badges, and what the
    authentication middleware re-checks on every request (token claims, the user's current status)."""
    _uow: UnitOfWorkFactory
    _clock: Clock
    _hasher: PasswordHasher
    _tokens: TokenService
    _queries: DealerQueries

    def login(self, username: str, password: str) -> identity.LoginResult:
        """Sign a user in with username and password; anyone. Returns ``LoginResult`` (bearer token and the
        principal); ``AuthenticationFailed`` on a wrong password, an unknown or a deactivated user."""
        return identity.login(username, password, self._uow(ANONYMOUS), self._hasher, self._tokens)

    def create_user(self, actor: Principal, cmd: identity.CreateUser) -> int:
        """Create a login (用户) with a role, and a dealer or regions where the role needs them; admin only.
        Returns the user id; ``InvalidValue`` (unknown role or dealer, weak password), ``Conflict`` (username
        taken), ``PermissionDenied``."""
        return identity.create_user(cmd, self._uow(actor), self._clock, self._hasher)

    def change_password(self, actor: Principal, current_password: str, new_password: str) -> None:
        """The signed-in user replaces their own password, giving the current one. ``AuthenticationFailed``
        (user gone or inactive), ``InvalidValue`` (current password wrong, new one unchanged or too weak)."""
        if actor.user_id is None:
            raise AuthenticationFailed("账号不存在或已停用", code="auth.user_inactive")
        identity.change_password(actor.user_id, current_password, new_password, self._uow(actor), self._hasher)

    def deactivate_user(self, actor: Principal, user_id: int) -> None:
        """Deactivate a user (停用): their tokens and sessions stop working at once; admin only.
        ``PermissionDenied``, ``NotFound``."""
        identity.deactivate_user(user_id, self._uow(actor))

    def reactivate_user(self, actor: Principal, user_id: int) -> None:
        """Let a deactivated user sign in again; admin only. ``PermissionDenied``, ``NotFound``."""
        identity.reactivate_user(user_id, self._uow(actor))

    def change_role(self, actor: Principal, user_id: int, role: str, regions: tuple[str, ...]) -> None:
        """Give a user another role (and regions for region-scoped roles); admin only. ``InvalidValue``
        (unknown role), ``PermissionDenied``, ``NotFound``."""
        identity.change_role(user_id, role, regions, self._uow(actor))

    def issue_device_key(self, actor: Principal, name: str, location: str) -> identity.IssuedDeviceKey:
        """Issue an API key for a gate kiosk or edge agent (设备凭证); admin only. Returns ``IssuedDeviceKey``
        with the key in clear, shown this once (only its hash is stored). ``InvalidValue`` (blank name), ``PermissionDenied``."""
        return identity.issue_device_credential(name, location, self._uow(actor), self._clock)

    def issue_device_key_once(self, actor: Principal, name: str, location: str, *,
                              form_token: str) -> identity.IssuedDeviceKey | int:
        """``issue_device_key`` once per form token of this user (the client-event ledger). The
        first post gets the key; a repeated post gets the id of the credential the first one
        issued, never the key again (the ledger keeps no secrets: lost, it is revoked and reissued)."""
        require_role(actor, Role.ADMIN)
        identity.check_device_name(name)
        issued: list[identity.IssuedDeviceKey] = []

        def work(uow: Any) -> dict[str, Any]:
            issued.append(identity.new_device_credential(uow, name, location, self._clock()))
            return {"credential_id": issued[0].credential_id}

        answer = once_per_form(lambda: self._uow(actor), self._clock, roles=(Role.ADMIN,), form_token=form_token,
                               kind="device.issue", request=(name.strip(), location.strip()), work=work)
        first = int(answer["credential_id"])
        return issued[0] if issued and issued[0].credential_id == first else first

    def revoke_device_key(self, actor: Principal, credential_id: int) -> None:
        """Revoke a device key; the device is refused from its next call. Admin only; ``PermissionDenied``, ``NotFound``."""
        identity.revoke_device_credential(credential_id, self._uow(actor), self._clock)

    def enrol_badge(self, actor: Principal, user_id: int, badge_uid: str, purpose: str) -> dict[str, Any]:
        """Give a user a staff badge (工牌, purpose ``guard`` or ``maintenance``); admin only. Returns the
        badge view; ``InvalidValue`` (purpose), ``Conflict`` (the UID belongs to another user), ``PermissionDenied``, ``NotFound``."""
        return identity.enrol_badge(user_id, badge_uid, purpose, self._uow(actor), self._clock)

    def revoke_badge(self, actor: Principal, user_id: int) -> dict[str, Any]:
        """Take a user's badge away; gate devices drop it at their next badge-book refresh. Admin only;
        returns the badge view. ``PermissionDenied``, ``NotFound``."""
        return identity.revoke_badge(user_id, self._uow(actor))

    def badge_book(self, device: Principal) -> dict[str, Any]:
        """The calling gate device's badge book (digests keyed by its own secret)."""
        return identity.badge_book(self._uow(device), self._clock)

    def record_device_status(self, device: Principal, report: dict[str, Any]) -> dict[str, Any]:
        """Keep the calling gate device's status report (device states, journal backlog, last replay),
        replacing the previous one; kiosk principals only. Returns the stored report; ``InvalidValue`` (too large), ``PermissionDenied``."""
        return identity.record_device_status(report, self._uow(device), self._clock)

    def list_devices(self, actor: Principal) -> list[dict[str, Any]]:
        """Every device credential with its last status report (admin)."""
        require_role(actor, Role.ADMIN)
        return self._queries.list_devices()

    def authenticate_device(self, api_key: str) -> Principal:
        """The kiosk principal of a device API key, for the kiosk API; anyone holding a key.
        ``AuthenticationFailed`` when the key is unknown or revoked."""
        return identity.authenticate_device(api_key, self._uow(Principal.system()))

    def verify_token(self, token: str) -> dict[str, Any]:
        """The claims of a valid bearer token (``AuthenticationFailed`` otherwise)."""
        return self._tokens.verify(token)

    def user_status(self, user_id: int) -> dict[str, Any] | None:
        """The user's role, scope and active flag, as the authentication middleware re-checks it."""
        return self._queries.user_status(user_id)

    def ping(self) -> None:
        """Reach the database (readiness probe)."""
        self._queries.ping()

    def list_users(self, actor: Principal, after_id: int | None = None, limit: int = 50, *,
                   role: str | None = None, active: bool | None = None,
                   text: str | None = None) -> list[dict[str, Any]]:
        """Users by id (keyset), optionally of one role, active or not, matching a name or username."""
        require_role(actor, Role.ADMIN)
        return self._queries.list_users(after_id=after_id, limit=limit, role=role, active=active, text=text)

    def now(self) -> dt.datetime:
        """The service's clock (pages say how long ago a device was heard from)."""
        return self._clock()

    def user(self, actor: Principal, user_id: int) -> dict[str, Any]:
        """One user's row as the admin list shows it (``NotFound`` when there is none)."""
        require_role(actor, Role.ADMIN)
        rows = self._queries.list_users(after_id=user_id - 1, limit=1)
        if not rows or rows[0]["id"] != user_id:
            raise NotFound("用户不存在", code="user.not_found")
        return rows[0]
