"""HTTP controllers: decode a struct, call a use case, encode the answer. Nothing else."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post, put
from litestar.datastructures import State
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from dealercrm.application import channel as ch
from dealercrm.application.identity import CreateUser
from dealercrm.domain.channel import DealerStatus, GrowthPlan
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import ROLE_LABELS, Principal, Role, mask_badge_uid
from dealercrm.entrypoints.http import schemas as s
from dealercrm.entrypoints.http.openapi import problem_response
from dealercrm.entrypoints.http.security import ANY_USER, STAFF, public, requires
from dealercrm.application.services.channel import ChannelService
from dealercrm.application.services.identity import IdentityService

DEALER_MANAGERS = (Role.ADMIN, Role.SALES, Role.REGION_MANAGER)
DEALER_DECIDERS = (Role.ADMIN, Role.REGION_MANAGER)
DEALER_SELF_SERVICE = (*DEALER_MANAGERS, Role.DEALER)
DEALER_READERS = (*STAFF, Role.DEALER)

Limit = Annotated[int, Parameter(ge=1, le=200, description="page size")]


def encode_cursor(last_id: int | None, kind: str = "id") -> str | None:
    """An opaque page cursor: ``id`` — the last id seen (keyset pages); ``at`` — the offset of the
    next page (ranked search results, whose order is not by id)."""
    return None if last_id is None else base64.urlsafe_b64encode(f"{kind}:{last_id}".encode()).decode().rstrip("=")


def query_day(value: str | None, field: str) -> dt.date | None:
    """A calendar day given in a query string as ``YYYY-MM-DD`` (blank: none); the field is named
    as the client wrote it, since ``from``/``to`` are Python keywords."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidValue(field, "日期格式应为 YYYY-MM-DD", code="value.invalid_date") from None


def decode_cursor(cursor: str | None, kind: str = "id") -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        found, _, value = raw.partition(":")
        if found != kind or not value.isascii() or not value.isdigit() or int(value) > 2**53:
            raise ValueError
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise InvalidValue("cursor", "分页游标无效", code="cursor.invalid") from None


def _address(a: s.AddressBody) -> ch.AddressIn:
    return ch.AddressIn(a.province, a.city, a.detail)


def _bank(b: s.BankAccountBody | None) -> ch.BankAccountIn | None:
    return None if b is None else ch.BankAccountIn(b.bank_name, b.account_name, b.account_no)


def _contact(c: s.ContactBody) -> ch.ContactIn:
    return ch.ContactIn(
        name=c.name, title=c.title, phone=c.phone, kind=c.kind, email=c.email, birthday=c.birthday,
        is_primary=c.is_primary, id_number=c.id_number, share_permille=c.share_permille,
        abilities=tuple(c.abilities),
    )


def _status(dealer_id: int, status: str) -> s.StatusOut:
    return s.StatusOut(dealer_id, status, DealerStatus(status).label)


def _dealer_detail(row: dict[str, Any]) -> s.DealerDetail:
    bank = None
    if row["bank_account_no"]:
        bank = s.BankAccountOut(row["bank_name"], row["bank_account_name"], row["bank_account_no"])
    status = str(row["status"].value if hasattr(row["status"], "value") else row["status"])
    return s.DealerDetail(
        id=row["id"], code=row["code"], legal_name=row["legal_name"], short_name=row["short_name"],
        uscc=str(row["uscc"]), region=row["region"],
        address=s.AddressOut(row["province"], row["city"], row["address_detail"]), bank_account=bank,
        status=status, status_label=DealerStatus(status).label, status_reason=row["status_reason"],
        territory_regions=row["territory_regions"], territory_industries=row["territory_industries"],
        registered_at=row["registered_at"], approved_at=row["approved_at"], version=row["version"],
        contacts=[
            s.ContactOut(c["id"], c["name"], str(c["kind"]), c["title"], str(c["phone"]), c["email"],
                         c["birthday"], c["is_primary"], c["id_number"].masked if c["id_number"] else None,
                         c.get("share_permille"), list(c.get("abilities") or []))
            for c in row["contacts"]
        ],
        qualifications=[s.QualificationOut(q["id"], q["kind"], q["number"], q["valid_until"])
                        for q in row["qualifications"]],
        agreements=[
            s.AgreementOut(a["id"], a["number"], a["product_lines"], a["territory"], str(a["settlement_method"]),
                           a["valid_from"], a["valid_to"], str(a["status"]))
            for a in row["agreements"]
        ],
    )


def _summary(r: dict[str, Any]) -> s.DealerSummary:
    status = str(r["status"])
    return s.DealerSummary(
        r["id"], r["code"], r["legal_name"], r["short_name"], r["region"], r["province"], r["city"], status,
        DealerStatus(status).label, r["registered_at"],
    )


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth 认证"]

    @post("/login", guards=[public], status_code=HTTP_200_OK, sync_to_thread=True,
          responses={401: problem_response(401, "auth.invalid_credentials", "Wrong username or password")},
          summary="登录 Log in with username and password; returns a bearer token")
    def login(self, data: s.LoginIn, request: Request[Any, Any, Any], state: State, identity: IdentityService) -> s.LoginOut:
        client = request.client.host if request.client else "?"
        state.login_limiter.hit(f"ip:{client}")
        state.login_limiter.hit(f"user:{data.username.lower()}")
        result = identity.login(data.username, data.password)
        p = result.principal
        return s.LoginOut(result.token, "Bearer", result.expires_at, p.role.value, p.dealer_id)

    @get("/me", guards=[requires(*ANY_USER)], summary="当前身份 The authenticated user (devices: /api/v1/kiosk/whoami)")
    async def me(self, request: Request[Principal, Any, Any]) -> s.MeOut:
        p = request.user
        return s.MeOut(p.user_id, p.username, p.role.value, p.dealer_id, list(p.regions), p.device_id)


class DealerController(Controller):
    path = "/api/v1/dealers"
    tags = ["dealers 经销商"]

    @post("/register", guards=[public], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="经销商自助注册 Public dealer self-registration")
    def register(self, data: s.RegisterIn, request: Request[Any, Any, Any], state: State, channel: ChannelService) -> s.RegisterOut:
        client = request.client.host if request.client else "?"
        state.register_limiter.hit(f"ip:{client}")
        cmd = ch.RegisterDealer(
            legal_name=data.legal_name, uscc=data.uscc, region=data.region, address=_address(data.address),
            contact=_contact(data.contact), applicant_username=data.applicant_username,
            applicant_password=data.applicant_password, short_name=data.short_name,
            bank_account=_bank(data.bank_account),
            qualifications=tuple(ch.QualificationIn(q.kind, q.number, q.valid_until) for q in data.qualifications),
        )
        r = channel.register_dealer(cmd)
        return s.RegisterOut(r.dealer_id, r.dealer_code, r.user_id, DealerStatus.REGISTERED.value)

    @get("/", guards=[requires(*DEALER_READERS)], sync_to_thread=True,
         summary="经销商列表 Dealer list (keyset pagination; q: ranked Chinese full-text search of name and place, or code/USCC)")
    def list_dealers(
        self, request: Request[Principal, Any, Any], channel: ChannelService, status: str | None = None,
        region: str | None = None, product_line: str | None = None,
        q: Annotated[str | None, Parameter(max_length=100)] = None, cursor: str | None = None, limit: Limit = 50,
    ) -> s.Page[s.DealerSummary]:
        if status is not None and status not in DealerStatus.__members__.values():
            raise InvalidValue("status", "未知的经销商状态", code="dealer.status_unknown")
        ranked = bool(q and q.strip())  # a search is ranked: its cursor is the offset of the next page
        offset = (decode_cursor(cursor, "at") or 0) if ranked else 0
        rows = channel.list_dealers(
            request.user, status=status, region=region, product_line=product_line, text=q,
            after_id=None if ranked else decode_cursor(cursor), offset=offset, limit=limit + 1,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        if ranked:
            return s.Page([_summary(r) for r in rows], encode_cursor(offset + limit, "at") if more else None)
        return s.Page([_summary(r) for r in rows], encode_cursor(rows[-1]["id"]) if more and rows else None)

    @get("/{dealer_id:int}", guards=[requires(*DEALER_READERS)], sync_to_thread=True, summary="经销商详情 Dealer detail")
    def detail(self, dealer_id: int, request: Request[Principal, Any, Any], channel: ChannelService) -> s.DealerDetail:
        return _dealer_detail(channel.dealer_detail(request.user, dealer_id))

    @get("/assessment-rules", guards=[requires(*DEALER_MANAGERS)], sync_to_thread=True,
         summary="考核规则 The registration assessment checklist in force")
    def assessment_rules(self, request: Request[Principal, Any, Any], channel: ChannelService) -> dict[str, Any]:
        return channel.assessment_rules(request.user)

    @put("/assessment-rules", guards=[requires(Role.ADMIN)], sync_to_thread=True,
         summary="设置考核规则 Set a new version of the assessment checklist")
    def set_assessment_rules(self, data: s.AssessmentRulesBody, request: Request[Principal, Any, Any],
                             channel: ChannelService) -> dict[str, Any]:
        items = [{"code": i.code, "label": i.label, "required": i.required} for i in data.items]
        return {"items": channel.set_assessment_rules(request.user, items)}

    @get("/{dealer_id:int}/assessment", guards=[requires(*DEALER_MANAGERS)], sync_to_thread=True,
         summary="准入考核 A registration's checklist with each finding and what is missing")
    def assessment(self, dealer_id: int, request: Request[Principal, Any, Any], channel: ChannelService
                   ) -> dict[str, Any]:
        return channel.assessment(request.user, dealer_id)

    @put("/{dealer_id:int}/assessment", guards=[requires(*DEALER_DECIDERS)], sync_to_thread=True,
         summary="记录考核结果 Record findings on checklist items (approval needs every required item passed)")
    def assess(self, dealer_id: int, data: s.AssessmentBody, request: Request[Principal, Any, Any],
               channel: ChannelService) -> dict[str, Any]:
        return channel.assess(request.user, dealer_id, {r.code: (r.passed, r.note) for r in data.results})

    @put("/{dealer_id:int}/growth-plans/{year:int}", guards=[requires(*DEALER_MANAGERS)], sync_to_thread=True,
         summary="经销商增长计划 Set a year's growth targets and actions")
    def set_growth_plan(self, dealer_id: int, year: int, data: s.GrowthPlanBody,
                        request: Request[Principal, Any, Any], channel: ChannelService) -> dict[str, Any]:
        return channel.set_growth_plan(request.user, dealer_id, GrowthPlan(
            year, data.vehicles, data.amount_fen, data.retail_vehicles, tuple(data.actions)))

    @get("/{dealer_id:int}/growth-plans/{year:int}", guards=[requires(*DEALER_READERS)], sync_to_thread=True,
         summary="增长计划与进度 A year's growth plan with the progress so far")
    def growth_plan(self, dealer_id: int, year: int, request: Request[Principal, Any, Any],
                    channel: ChannelService) -> dict[str, Any]:
        return channel.growth_plan(request.user, dealer_id, year)

    @get("/{dealer_id:int}/360", guards=[requires(*DEALER_READERS)], sync_to_thread=True,
         summary="经销商360°视图 The dealer with its team, shareholders and agreements beside its orders, stock, "
                 "retail sales, credit, value, forecast, service, leads and trainings")
    def view_360(self, dealer_id: int, request: Request[Principal, Any, Any], channel: ChannelService,
                 days: int = 365) -> dict[str, Any]:
        view = channel.dealer_360(request.user, dealer_id, days=days)
        detail = _dealer_detail(view["dealer"])
        by_id = {c.id: c for c in detail.contacts}
        team = {k: [by_id[c["id"]] for c in rows] for k, rows in view["team"].items()}
        return {**view, "dealer": detail, "team": team}

    @get("/{dealer_id:int}/history", guards=[requires(*DEALER_READERS)], sync_to_thread=True,
         summary="变更记录 Audit history of a dealer")
    def history(self, dealer_id: int, request: Request[Principal, Any, Any], channel: ChannelService) -> s.Page[s.AuditEntry]:
        rows = channel.audit_history(request.user, dealer_id)
        return s.Page([
            s.AuditEntry(r["id"], r["at"], r["actor_name"], r["actor_role"], r["request_id"], r["entity"],
                         r["entity_id"], r["action"], r["changes"])
            for r in rows
        ], None)

    @post("/{dealer_id:int}/submit", guards=[requires(*DEALER_SELF_SERVICE)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="提交审核 Submit for review")
    def submit(self, dealer_id: int, request: Request[Principal, Any, Any], channel: ChannelService) -> s.StatusOut:
        return _status(dealer_id, channel.submit(request.user, dealer_id))

    @post("/{dealer_id:int}/approve", guards=[requires(*DEALER_DECIDERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="审核通过 Approve")
    def approve(self, dealer_id: int, request: Request[Principal, Any, Any], channel: ChannelService) -> s.StatusOut:
        return _status(dealer_id, channel.approve(request.user, dealer_id))

    @post("/{dealer_id:int}/reject", guards=[requires(*DEALER_DECIDERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="驳回 Reject with a reason")
    def reject(self, dealer_id: int, data: s.ReasonIn, request: Request[Principal, Any, Any], channel: ChannelService) -> s.StatusOut:
        return _status(dealer_id, channel.reject(request.user, dealer_id, data.reason))

    @post("/{dealer_id:int}/suspend", guards=[requires(*DEALER_DECIDERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="暂停 Suspend")
    def suspend(self, dealer_id: int, data: s.ReasonIn, request: Request[Principal, Any, Any], channel: ChannelService) -> s.StatusOut:
        return _status(dealer_id, channel.suspend(request.user, dealer_id, data.reason))

    @post("/{dealer_id:int}/reactivate", guards=[requires(*DEALER_DECIDERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="恢复 Reactivate")
    def reactivate(self, dealer_id: int, request: Request[Principal, Any, Any], channel: ChannelService) -> s.StatusOut:
        return _status(dealer_id, channel.reactivate(request.user, dealer_id))

    @post("/{dealer_id:int}/terminate", guards=[requires(*DEALER_DECIDERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="终止合作 Terminate")
    def terminate(self, dealer_id: int, data: s.ReasonIn, request: Request[Principal, Any, Any], state: State, channel: ChannelService) -> s.StatusOut:
        status = channel.terminate(request.user, dealer_id, data.reason)
        state.principal_cache.invalidate()
        return _status(dealer_id, status)

    @patch("/{dealer_id:int}/profile", guards=[requires(*DEALER_SELF_SERVICE)], sync_to_thread=True,
           summary="修改档案 Update the profile")
    def update_profile(self, dealer_id: int, data: s.ProfileIn, request: Request[Principal, Any, Any],
                       channel: ChannelService) -> s.DealerDetail:
        cmd = ch.UpdateProfile(
            dealer_id=dealer_id, legal_name=data.legal_name, short_name=data.short_name, uscc=data.uscc,
            address=_address(data.address) if data.address else None, bank_account=_bank(data.bank_account),
            qualifications=None if data.qualifications is None else tuple(
                ch.QualificationIn(q.kind, q.number, q.valid_until) for q in data.qualifications
            ),
        )
        channel.update_profile(request.user, cmd)
        return self.detail.fn(self, dealer_id, request, channel)

    @post("/{dealer_id:int}/contacts", guards=[requires(*DEALER_SELF_SERVICE)], status_code=HTTP_201_CREATED,
          sync_to_thread=True, summary="新增联系人 Add a contact or management member")
    def add_contact(self, dealer_id: int, data: s.ContactBody, request: Request[Principal, Any, Any],
                    channel: ChannelService) -> s.CreatedOut:
        return s.CreatedOut(channel.add_contact(request.user, dealer_id, _contact(data)))

    @put("/{dealer_id:int}/contacts/{contact_id:int}", guards=[requires(*DEALER_SELF_SERVICE)],
         sync_to_thread=True, summary="修改联系人 Replace a contact")
    def update_contact(self, dealer_id: int, contact_id: int, data: s.ContactBody,
                       request: Request[Principal, Any, Any], channel: ChannelService) -> s.CreatedOut:
        channel.update_contact(request.user, dealer_id, contact_id, _contact(data))
        return s.CreatedOut(contact_id)

    @delete("/{dealer_id:int}/contacts/{contact_id:int}", guards=[requires(*DEALER_SELF_SERVICE)],
            status_code=HTTP_204_NO_CONTENT, sync_to_thread=True, summary="删除联系人 Remove a contact")
    def remove_contact(self, dealer_id: int, contact_id: int, request: Request[Principal, Any, Any],
                       channel: ChannelService) -> None:
        channel.remove_contact(request.user, dealer_id, contact_id)

    @put("/{dealer_id:int}/territory", guards=[requires(*DEALER_MANAGERS)], sync_to_thread=True,
         summary="销售区域 Set the sales territory")
    def territory(self, dealer_id: int, data: s.TerritoryIn, request: Request[Principal, Any, Any],
                  channel: ChannelService) -> s.DealerDetail:
        channel.set_territory(request.user, dealer_id, list(data.regions), list(data.industries))
        return self.detail.fn(self, dealer_id, request, channel)

    @post("/{dealer_id:int}/agreements", guards=[requires(*DEALER_MANAGERS)], status_code=HTTP_201_CREATED,
          sync_to_thread=True, summary="签订协议 Add an agreement")
    def add_agreement(self, dealer_id: int, data: s.AgreementIn, request: Request[Principal, Any, Any],
                      channel: ChannelService) -> s.CreatedOut:
        agreement_id, number = channel.add_agreement(
            request.user,
            ch.AddAgreement(dealer_id, tuple(data.product_lines), tuple(data.territory), data.settlement_method,
                            data.valid_from, data.valid_to),
        )
        return s.CreatedOut(agreement_id, number)

    @post("/{dealer_id:int}/agreements/{agreement_id:int}/terminate", guards=[requires(*DEALER_DECIDERS)],
          status_code=HTTP_200_OK, sync_to_thread=True, summary="终止协议 Terminate an agreement")
    def terminate_agreement(self, dealer_id: int, agreement_id: int, request: Request[Principal, Any, Any],
                            channel: ChannelService) -> s.CreatedOut:
        channel.terminate_agreement(request.user, dealer_id, agreement_id)
        return s.CreatedOut(agreement_id)


def _user_out(r: dict[str, Any]) -> s.UserOut:
    return s.UserOut(r["id"], r["username"], r["display_name"], str(r["role"]), r["dealer_id"], r["station_id"],
                     list(r["regions"] or []), r["phone"], r["email"], r["is_active"], r["created_at"],
                     r.get("department"), mask_badge_uid(r["badge_uid"]) if r.get("badge_uid") else None,
                     _enum_text(r.get("badge_purpose")))


def _enum_text(value: Any) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


class AdminController(Controller):
    path = "/api/v1/admin"
    tags = ["admin 系统管理"]
    guards = [requires(Role.ADMIN)]

    @get("/roles", summary="角色列表 Roles")
    async def roles(self) -> s.Page[s.RoleOut]:
        return s.Page([s.RoleOut(r.value, ROLE_LABELS[r]) for r in Role], None)

    @get("/users", sync_to_thread=True, summary="用户列表 Users")
    def users(self, request: Request[Principal, Any, Any], identity: IdentityService, cursor: str | None = None,
              limit: Limit = 50) -> s.UserPage:
        rows = identity.list_users(request.user, decode_cursor(cursor), limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return s.UserPage([_user_out(r) for r in rows], encode_cursor(rows[-1]["id"]) if more and rows else None)

    @post("/users", status_code=HTTP_201_CREATED, sync_to_thread=True, summary="创建用户 Create a user")
    def create_user(self, data: s.UserIn, request: Request[Principal, Any, Any], identity: IdentityService) -> s.CreatedOut:
        user_id = identity.create_user(
            request.user,
            CreateUser(data.username, data.display_name, data.role, data.password, data.dealer_id, data.station_id,
                       tuple(data.regions), data.phone, data.email, data.department),
        )
        return s.CreatedOut(user_id)

    @put("/users/{user_id:int}/role", sync_to_thread=True, summary="修改角色 Change a user's role")
    def change_role(self, user_id: int, data: s.RoleIn, request: Request[Principal, Any, Any],
                    state: State, identity: IdentityService) -> s.CreatedOut:
        identity.change_role(request.user, user_id, data.role, tuple(data.regions))
        state.principal_cache.invalidate(user_id)
        return s.CreatedOut(user_id)

    @post("/users/{user_id:int}/deactivate", status_code=HTTP_200_OK, sync_to_thread=True,
          summary="停用用户 Deactivate a user")
    def deactivate(self, user_id: int, request: Request[Principal, Any, Any], state: State, identity: IdentityService) -> s.CreatedOut:
        identity.deactivate_user(request.user, user_id)
        state.principal_cache.invalidate(user_id)
        return s.CreatedOut(user_id)

    @post("/users/{user_id:int}/badge", status_code=HTTP_200_OK, sync_to_thread=True,
          summary="登记工牌 Enrol the user's staff badge (guard sign-in or kiosk maintenance)")
    def enrol_badge(self, user_id: int, data: s.BadgeIn, request: Request[Principal, Any, Any],
                    identity: IdentityService) -> s.BadgeOut:
        return msgspec.convert(identity.enrol_badge(request.user, user_id, data.badge_uid, data.purpose), s.BadgeOut)

    @delete("/users/{user_id:int}/badge", status_code=HTTP_200_OK, sync_to_thread=True,
            summary="注销工牌 Revoke the user's staff badge")
    def revoke_badge(self, user_id: int, request: Request[Principal, Any, Any],
                     identity: IdentityService) -> s.BadgeRevokedOut:
        return msgspec.convert(identity.revoke_badge(request.user, user_id), s.BadgeRevokedOut)

    @get("/devices", sync_to_thread=True,
         summary="设备列表 Device credentials with each agent's last status report")
    def devices(self, request: Request[Principal, Any, Any], identity: IdentityService) -> s.Page[s.DeviceOut]:
        return s.Page([msgspec.convert(r, s.DeviceOut) for r in identity.list_devices(request.user)], None)

    @post("/devices", status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="签发设备凭证 Issue a device API key (shown once)")
    def issue_device(self, data: s.DeviceIn, request: Request[Principal, Any, Any], identity: IdentityService) -> s.DeviceKeyOut:
        issued = identity.issue_device_key(request.user, data.name, data.location)
        return s.DeviceKeyOut(issued.credential_id, issued.api_key, "密钥只显示一次，请妥善保存 The key is shown once")

    @post("/devices/{device_id:int}/revoke", status_code=HTTP_200_OK, sync_to_thread=True,
          summary="吊销设备凭证 Revoke a device key")
    def revoke_device(self, device_id: int, request: Request[Principal, Any, Any], identity: IdentityService) -> s.CreatedOut:
        identity.revoke_device_key(request.user, device_id)
        return s.CreatedOut(device_id)
