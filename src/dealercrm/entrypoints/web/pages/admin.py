"""系统管理: users and roles (with staff badges) and the kiosks' device keys with each kiosk's last
reported status. Every page is the administrator's; the rules (who may hold which badge, which
role needs a dealer) stay in the identity use cases, and their errors sit beside the field."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import State
from litestar.params import Parameter
from litestar.response import Redirect, Stream, Template

from dealercrm.application.exports import Column, ColumnKind, Exporter, Table
from dealercrm.application.identity import CreateUser
from dealercrm.application.services.identity import IdentityService
from dealercrm.domain.errors import Conflict, DomainError, InvalidValue, NotFound
from dealercrm.domain.identity import (
    HUMAN_ROLES,
    ROLE_LABELS,
    Principal,
    Role,
    mask_badge_uid,
)
from dealercrm.entrypoints.http.downloads import download
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.filters import since
from dealercrm.entrypoints.web.layout import page

ADMINS = (Role.ADMIN,)
PAGE_SIZE = 50
BADGE_PURPOSES = (("guard", "门卫签到"), ("maintenance", "终端维护"))
ACTIVE_FILTERS = (("active", "在用"), ("inactive", "已停用"))
USER_FIELDS = ("username", "display_name", "role", "password", "dealer_id", "station_id", "regions", "phone",
               "email", "department")
CRUMB_USERS = ("用户与角色", "/admin/users")
EXPORT_BATCH = 500
_T, _D = ColumnKind.TEXT, ColumnKind.DATETIME
USERS_TABLE = Table("用户", (
    Column("username", "用户名", _T, 16), Column("display_name", "姓名", _T, 16), Column("role_label", "角色", _T, 12),
    Column("regions_text", "区域", _T, 16), Column("department", "部门", _T, 12), Column("phone", "手机", _T, 14),
    Column("badge_text", "工牌", _T, 18), Column("state_text", "状态", _T, 8), Column("created_at", "创建时间", _D, 18),
))
DEVICES_TABLE = Table("设备凭证", (
    Column("id", "编号", ColumnKind.INTEGER, 8), Column("name", "名称", _T, 20), Column("location", "位置", _T, 20),
    Column("key_state", "凭证", _T, 10), Column("last_seen", "最后联系", _D, 18), Column("state", "运行状态", _T, 12),
    Column("faulty_text", "故障外设", _T, 20), Column("pending", "离线积压", ColumnKind.INTEGER, 10),
    Column("replay_at", "最近补传", _D, 18),
))
CRUMB_DEVICES = ("自助终端", "/admin/devices")


def role_choices() -> list[tuple[str, str]]:
    return [(r.value, ROLE_LABELS[r]) for r in HUMAN_ROLES]


def _regions(raw: str) -> tuple[str, ...]:
    parts = [p.strip() for p in raw.replace("，", ",").replace("、", ",").split(",")]
    regions = tuple(p for p in parts if p)
    if len(regions) > 50 or any(len(r) > 40 for r in regions):
        raise InvalidValue("regions", "区域最多50个，每个不超过40字", code="regions.invalid")
    return regions


def _optional_id(raw: str, field: str, label: str) -> int | None:
    text = raw.strip()
    if not text:
        return None
    if not text.isdigit() or not 0 < int(text) < 2**63:
        raise InvalidValue(field, f"{label}须为正整数编号", code=f"{field}.invalid")
    return int(text)


def _field_of(exc: DomainError, fields: tuple[str, ...], default: str = "form") -> str:
    field = getattr(exc, "field", None) or exc.details.get("field")
    return str(field) if field in fields else default


def _user_view(row: dict[str, Any]) -> dict[str, Any]:
    role = row["role"] if isinstance(row["role"], Role) else Role(str(row["role"]))
    purpose = row.get("badge_purpose")
    purpose = None if purpose is None else str(getattr(purpose, "value", purpose))
    uid = row.get("badge_uid")
    return {**row, "role_value": role.value, "role_label": ROLE_LABELS[role], "regions": list(row["regions"] or []),
            "badge_masked": mask_badge_uid(uid) if uid else None,
            "badge_purpose_label": dict(BADGE_PURPOSES).get(purpose or "", None)}


def _mapping(value: Any) -> dict[str, Any]:
    """A part of a kiosk's report as a dict (reports are kept as the agent sent them)."""
    return value if isinstance(value, dict) else {}


def device_view(row: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """A kiosk as the admins read it: its key state, when it was last heard from and what its last
    status report said (faulty devices, offline backlog, last replay)."""
    report = _mapping(row.get("report"))
    times = [t for t in (row.get("last_used_at"), row.get("reported_at")) if isinstance(t, dt.datetime)]
    last_seen = max(times) if times else None
    journal = _mapping(report.get("journal"))
    replay = _mapping(report.get("replay"))
    devices = _mapping(report.get("devices"))
    faulty = [str(name) for name, d in devices.items() if isinstance(d, dict) and d.get("state") != "ok"]
    replay_at = None
    if isinstance(replay.get("at"), str):
        try:
            replay_at = dt.datetime.fromisoformat(replay["at"])
        except ValueError:
            replay_at = None
    return {
        **row, "active": row.get("revoked_at") is None, "last_seen": last_seen,
        "seen_ago": since(last_seen, now) if last_seen else None,
        "state": str(report.get("state") or "") or None, "device_count": len(devices), "faulty": faulty,
        "pending": journal.get("pending") if isinstance(journal.get("pending"), int) else None,
        "replay_at": replay_at, "replay_ago": since(replay_at, now) if replay_at else None,
        "replay_answered": replay.get("answered"),
        "link": _mapping(report.get("server")).get("link"),
    }


class AdminPages(Controller):
    path = "/admin"
    guards = (requires(*ADMINS),)

    # -- users (用户与角色) --------------------------------------------------------------------

    @get("/users", sync_to_thread=True)
    def users(self, request: Request[Principal, Any, Any], identity: IdentityService,
              role: Annotated[str | None, Parameter(max_length=30)] = None,
              status: Annotated[str | None, Parameter(max_length=10)] = None,
              q: Annotated[str | None, Parameter(max_length=40)] = None,
              after: Annotated[int | None, Parameter(ge=0, le=2**63 - 1)] = None) -> Template:
        errors: dict[str, str] = {}
        if role and role not in {r.value for r in HUMAN_ROLES}:
            errors["role"] = "请选择列表中的角色"
        if status and status not in dict(ACTIVE_FILTERS):
            errors["status"] = "请选择在用或已停用"
        rows: list[dict[str, Any]] = []
        if not errors:
            rows = identity.list_users(request.user, after, PAGE_SIZE + 1, role=role or None,
                                       active=None if not status else status == "active", text=(q or "").strip() or None)
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        filters = {"role": role or "", "status": status or "", "q": q or ""}
        next_query = urlencode({**{k: v for k, v in filters.items() if v}, "after": rows[-1]["id"]}) if more else None
        return page(request, "admin_users.html", title="用户与角色", section="admin_users", crumbs=(("用户与角色", None),),
                    rows=[_user_view(r) for r in rows], roles=role_choices(), statuses=ACTIVE_FILTERS,
                    filters=filters, errors=errors, next_query=next_query,
                    export_query=urlencode({k: v for k, v in filters.items() if v}),
                    status_code=422 if errors else 200)

    @get("/users/export", sync_to_thread=True)
    def users_export(self, request: Request[Principal, Any, Any], identity: IdentityService, exports: Exporter,
                     file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx",
                     role: Annotated[str | None, Parameter(max_length=30)] = None,
                     status: Annotated[str | None, Parameter(max_length=10)] = None,
                     q: Annotated[str | None, Parameter(max_length=40)] = None) -> Stream:
        """Every user matching the list's filters, read in keyset batches (a large export streams)."""
        exports.check_format(file_format)
        if role and role not in {r.value for r in HUMAN_ROLES}:
            raise InvalidValue("role", "请选择列表中的角色", code="role.unknown")
        if status and status not in dict(ACTIVE_FILTERS):
            raise InvalidValue("status", "请选择在用或已停用", code="status.unknown")
        actor = request.user

        def rows() -> Iterator[dict[str, Any]]:
            after = None
            while True:
                batch = identity.list_users(actor, after, EXPORT_BATCH, role=role or None,
                                            active=None if not status else status == "active",
                                            text=(q or "").strip() or None)
                for r in batch:
                    u = _user_view(r)
                    yield {**u, "regions_text": "、".join(u["regions"]),
                           "badge_text": f"{u['badge_purpose_label']} {u['badge_masked']}" if u["badge_masked"] else "",
                           "state_text": "在用" if u["is_active"] else "已停用"}
                if len(batch) < EXPORT_BATCH:
                    return
                after = batch[-1]["id"]

        return download(exports.download(file_format, "users", USERS_TABLE, rows()))

    @get("/users/new", sync_to_thread=True)
    def new_user(self, request: Request[Principal, Any, Any]) -> Template:
        return self._new_user_page(request, values={"role": Role.SALES.value}, errors={})

    def _new_user_page(self, request: Request[Principal, Any, Any], *, values: dict[str, str], errors: dict[str, str],
                       status_code: int = 200) -> Template:
        return page(request, "admin_user_new.html", title="新建用户", section="admin_users",
                    crumbs=(CRUMB_USERS, ("新建用户", None)), values=values, errors=errors, roles=role_choices(),
                    status_code=status_code)

    @post("/users", status_code=303)
    async def create_user(self, request: Request[Principal, Any, Any], identity: IdentityService) -> Any:
        form = await request.form()
        values = {k: str(form.get(k) or "")[:200] for k in USER_FIELDS}
        try:
            if not values["username"].strip():
                raise InvalidValue("username", "请填写用户名", code="username.required")
            cmd = CreateUser(
                values["username"].strip(), values["display_name"].strip(), values["role"], values["password"],
                _optional_id(values["dealer_id"], "dealer_id", "经销商编号"),
                _optional_id(values["station_id"], "station_id", "服务站编号"), _regions(values["regions"]),
                values["phone"].strip() or None, values["email"].strip() or None,
                values["department"].strip() or None)
            user_id = await sync_to_thread(identity.create_user, request.user, cmd)
        except DomainError as exc:
            values["password"] = ""  # never echoed back into the page
            errors = {_field_of(exc, USER_FIELDS): exc.message}
            code = 409 if isinstance(exc, Conflict) else 422
            return await sync_to_thread(lambda: self._new_user_page(request, values=values, errors=errors,
                                                                    status_code=code))
        return Redirect(path=f"/admin/users/{user_id}?done=created", status_code=303)

    @get("/users/{user_id:int}", sync_to_thread=True)
    def user(self, user_id: int, request: Request[Principal, Any, Any], identity: IdentityService,
             done: Annotated[str | None, Parameter(max_length=20)] = None) -> Template:
        return self._user_page(request, identity, user_id, errors={}, values={}, done=done)

    def _user_page(self, request: Request[Principal, Any, Any], identity: IdentityService, user_id: int, *,
                   errors: dict[str, str], values: dict[str, str], done: str | None = None,
                   notice: str | None = None, status_code: int = 200) -> Template:
        row = _user_view(identity.user(request.user, user_id))
        values = {"role": row["role_value"], "regions": "，".join(row["regions"]), "purpose": "maintenance",
                  **values}
        return page(request, "admin_user.html", title=f"用户：{row['display_name']}", section="admin_users",
                    crumbs=(CRUMB_USERS, (row["username"], None)), u=row, roles=role_choices(),
                    purposes=BADGE_PURPOSES, errors=errors, values=values, done=DONE.get(done or ""),
                    notice=notice, is_self=user_id == request.user.user_id, status_code=status_code)

    async def _act(self, request: Request[Principal, Any, Any], identity: IdentityService, state: State,
                   user_id: int, action: Any, *, done: str, values: dict[str, str], fields: tuple[str, ...],
                   default_field: str) -> Any:
        try:
            await sync_to_thread(action)
        except NotFound:
            raise
        except DomainError as exc:
            conflict = isinstance(exc, Conflict)
            stale = conflict and exc.code == "state.illegal_transition"
            errors = {} if stale else {_field_of(exc, fields, default_field): exc.message}
            notice = "已被他人修改，以下是当前状态，请确认后再操作" if stale else None
            return await sync_to_thread(lambda: self._user_page(request, identity, user_id, errors=errors,
                                                                values=values, notice=notice,
                                                                status_code=409 if conflict else 422))
        finally:
            state.principal_cache.invalidate(user_id)
        return Redirect(path=f"/admin/users/{user_id}?done={done}", status_code=303)

    @post("/users/{user_id:int}/role", status_code=303)
    async def change_role(self, user_id: int, request: Request[Principal, Any, Any], identity: IdentityService,
                          state: State) -> Any:
        form = await request.form()
        values = {"role": str(form.get("role") or "")[:30], "regions": str(form.get("regions") or "")[:2000]}

        def act() -> None:
            if user_id == request.user.user_id and values["role"] != Role.ADMIN.value:
                raise InvalidValue("role", "不能取消自己的管理员角色", code="role.self_demotion")
            identity.change_role(request.user, user_id, values["role"], _regions(values["regions"]))

        return await self._act(request, identity, state, user_id, act, done="role", values=values,
                               fields=("role", "regions"), default_field="role")

    @post("/users/{user_id:int}/deactivate", status_code=303)
    async def deactivate(self, user_id: int, request: Request[Principal, Any, Any], identity: IdentityService,
                         state: State) -> Any:
        def act() -> None:
            if user_id == request.user.user_id:
                raise InvalidValue("active", "不能停用自己的账号", code="user.self_deactivation")
            identity.deactivate_user(request.user, user_id)

        return await self._act(request, identity, state, user_id, act, done="deactivated", values={},
                               fields=("active",), default_field="active")

    @post("/users/{user_id:int}/reactivate", status_code=303)
    async def reactivate(self, user_id: int, request: Request[Principal, Any, Any], identity: IdentityService,
                         state: State) -> Any:
        return await self._act(request, identity, state, user_id,
                               lambda: identity.reactivate_user(request.user, user_id), done="reactivated",
                               values={}, fields=("active",), default_field="active")

    @post("/users/{user_id:int}/badge", status_code=303)
    async def enrol_badge(self, user_id: int, request: Request[Principal, Any, Any], identity: IdentityService,
                          state: State) -> Any:
        form = await request.form()
        values = {"badge_uid": str(form.get("badge_uid") or "")[:64].strip(),
                  "purpose": str(form.get("purpose") or "")[:20]}

        def act() -> None:
            if not values["badge_uid"]:
                raise InvalidValue("badge_uid", "请刷卡或输入工牌卡号", code="badge.uid_required")
            identity.enrol_badge(request.user, user_id, values["badge_uid"], values["purpose"])

        return await self._act(request, identity, state, user_id, act, done="badge", values=values,
                               fields=("badge_uid", "purpose"), default_field="badge_uid")

    @post("/users/{user_id:int}/badge/revoke", status_code=303)
    async def revoke_badge(self, user_id: int, request: Request[Principal, Any, Any], identity: IdentityService,
                           state: State) -> Any:
        return await self._act(request, identity, state, user_id, lambda: identity.revoke_badge(request.user, user_id),
                               done="badge_revoked", values={}, fields=("badge_uid",), default_field="badge_uid")

    # -- device keys (自助终端) -----------------------------------------------------------------

    @get("/devices", sync_to_thread=True)
    def devices(self, request: Request[Principal, Any, Any], identity: IdentityService,
                done: Annotated[str | None, Parameter(max_length=20)] = None) -> Template:
        return self._devices_page(request, identity, values={}, errors={}, done=DONE.get(done or ""))

    @get("/devices/export", sync_to_thread=True)
    def devices_export(self, request: Request[Principal, Any, Any], identity: IdentityService, exports: Exporter,
                       file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx") -> Stream:
        exports.check_format(file_format)
        now = identity.now()
        rows = [{**d, "key_state": "有效" if d["active"] else "已吊销", "faulty_text": "、".join(d["faulty"])}
                for d in (device_view(r, now) for r in identity.list_devices(request.user))]
        return download(exports.download(file_format, "devices", DEVICES_TABLE, rows))

    def _devices_page(self, request: Request[Principal, Any, Any], identity: IdentityService, *,
                      values: dict[str, str], errors: dict[str, str], issued: Any = None, done: str | None = None,
                      issued_before: int | None = None, status_code: int = 200) -> Template:
        now = identity.now()
        rows = [device_view(r, now) for r in identity.list_devices(request.user)]
        return page(request, "admin_devices.html", title="自助终端与设备凭证", section="admin_devices",
                    crumbs=(("自助终端", None),), rows=rows, values=values, errors=errors, issued=issued, done=done,
                    issued_before=issued_before, form_token=uuid.uuid4().hex, status_code=status_code)

    @post("/devices", status_code=200)
    async def issue_device(self, request: Request[Principal, Any, Any], identity: IdentityService) -> Template:
        form = await request.form()
        values = {"name": str(form.get("name") or "")[:200], "location": str(form.get("location") or "")[:200]}
        try:
            if len(values["name"].strip()) > 100 or len(values["location"].strip()) > 100:
                raise InvalidValue("name" if len(values["name"].strip()) > 100 else "location", "不超过100字",
                                   code="device.too_long")
            token = str(form.get("form_token") or "")[:64]
            if token:  # booked once per form: a double submit issues one key
                issued = await sync_to_thread(lambda: identity.issue_device_key_once(
                    request.user, values["name"].strip(), values["location"].strip(), form_token=token))
            else:
                issued = await sync_to_thread(identity.issue_device_key, request.user, values["name"].strip(),
                                              values["location"].strip())
        except DomainError as exc:
            errors = {_field_of(exc, ("name", "location"), "name"): exc.message}
            return await sync_to_thread(lambda: self._devices_page(request, identity, values=values, errors=errors,
                                                                   status_code=422))
        if isinstance(issued, int):
            return await sync_to_thread(lambda: self._devices_page(request, identity, values={}, errors={},
                                                                   issued_before=issued))
        return await sync_to_thread(lambda: self._devices_page(request, identity, values={}, errors={},
                                                               issued=issued))

    @post("/devices/{device_id:int}/revoke", status_code=303)
    async def revoke_device(self, device_id: int, request: Request[Principal, Any, Any],
                            identity: IdentityService) -> Any:
        try:
            await sync_to_thread(identity.revoke_device_key, request.user, device_id)
        except NotFound:
            raise
        except DomainError as exc:
            errors = {f"revoke_{device_id}": exc.message}
            return await sync_to_thread(lambda: self._devices_page(
                request, identity, values={}, errors=errors,
                done="已被他人修改，以下是当前状态", status_code=409))
        return Redirect(path="/admin/devices?done=revoked", status_code=303)


DONE = {
    "created": "用户已创建。", "role": "角色与区域已保存。", "deactivated": "用户已停用，其登录会话立即失效。",
    "reactivated": "用户已恢复使用。", "badge": "工牌已登记。", "badge_revoked": "工牌已注销。",
    "revoked": "设备凭证已吊销，该终端将无法再调用系统。",
}
