"""经销商注册: the public self-registration form (no login) and the applicant's status page.

A prospective dealer fills in the company, its address and contact and chooses a login; the
registration goes to review at once (the applicant is logged in and the dealer submitted, as the
API's register + submit), and the applicant follows the review on ``/registration``. The
regional manager decides on 经销商注册审核. A rejected (or not yet submitted) registration can be
corrected on ``/registration/edit`` — what a dealer may change itself (short name, address,
business licence number, the primary contact) — and then submitted again."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import State
from litestar.response import Redirect, Template

from dealercrm.application import channel as ch
from dealercrm.application.ports.sessions import WebSessionStore
from dealercrm.application.services.channel import ChannelService
from dealercrm.application.services.identity import IdentityService
from dealercrm.application.services.regions import RegionsService
from dealercrm.domain.channel import DealerStatus
from dealercrm.domain.errors import Conflict, InvalidValue, NotFound, RateLimited
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.http.security import public, requires
from dealercrm.entrypoints.web.layout import page
from dealercrm.entrypoints.web.sessions import over_tls, session_cookie

FIELDS = ("legal_name", "short_name", "uscc", "region", "province", "city", "address_detail", "contact_name",
          "contact_title", "contact_phone", "contact_email", "license_no", "applicant_username")
#: the service's field names → the form's
FORM_FIELD = {"detail": "address_detail", "contact.name": "contact_name", "contact.title": "contact_title",
              "contact.phone": "contact_phone", "contact.email": "contact_email", "phone": "contact_phone",
              "email": "contact_email", "password": "applicant_password", "username": "applicant_username",
              "qualifications": "license_no"}
RESUBMITTABLE = (DealerStatus.REGISTERED.value, DealerStatus.REJECTED.value)
#: what the applicant may correct before submitting again, with the stored lengths
EDITABLE = {"short_name": 60, "province": 20, "city": 40, "address_detail": 200, "license_no": 60,
            "contact_name": 60, "contact_title": 60, "contact_phone": 30, "contact_email": 200}
EDIT_FIELD = {"short_name": "short_name", "address.province": "province", "address.city": "city",
              "address.detail": "address_detail", "province": "province", "city": "city", "detail": "address_detail",
              "name": "contact_name", "title": "contact_title", "phone": "contact_phone", "email": "contact_email",
              "qualifications": "license_no"}
LICENCE = "营业执照"


def _primary_contact(dealer: dict[str, Any]) -> dict[str, Any] | None:
    contacts = dealer["contacts"]
    return next((c for c in contacts if c["is_primary"]), contacts[0] if contacts else None)


def _edit_values(dealer: dict[str, Any]) -> dict[str, str]:
    contact = _primary_contact(dealer) or {}
    licence = next((q["number"] for q in dealer["qualifications"] if q["kind"] == LICENCE), "")
    phone = contact.get("phone")
    return {"short_name": dealer["short_name"] or "", "province": dealer["province"], "city": dealer["city"],
            "address_detail": dealer["address_detail"], "license_no": licence,
            "contact_name": contact.get("name", ""), "contact_title": contact.get("title", ""),
            "contact_phone": str(getattr(phone, "value", phone or "")), "contact_email": contact.get("email") or ""}


def _resubmittable(dealer: dict[str, Any]) -> bool:
    return str(getattr(dealer["status"], "value", dealer["status"])) in RESUBMITTABLE


def _form_page(request: Request[Any, Any, Any], values: dict[str, str], errors: dict[str, str],
               regions: list[str], status_code: int = 200) -> Template:
    """The form; ``regions`` are the active regions it offers (``RegionsService.active_names``)."""
    return page(request, "register.html", title="经销商注册", section="register", crumbs=(("经销商注册", None),),
                values=values, errors=errors, regions=regions, status_code=status_code)


def _command(v: dict[str, str], password: str) -> ch.RegisterDealer:
    required = {"legal_name": "请填写企业名称", "uscc": "请填写统一社会信用代码", "region": "请选择所属大区",
                "province": "请填写省份", "city": "请填写城市", "address_detail": "请填写详细地址",
                "contact_name": "请填写联系人姓名", "contact_phone": "请填写联系电话",
                "applicant_username": "请设置登录用户名"}
    for name, message in required.items():
        if not v[name]:
            raise InvalidValue(name, message, code="registration.field_required")
    return ch.RegisterDealer(
        legal_name=v["legal_name"], uscc=v["uscc"].upper(), region=v["region"],
        address=ch.AddressIn(v["province"], v["city"], v["address_detail"]),
        contact=ch.ContactIn(v["contact_name"], v["contact_title"] or "负责人", v["contact_phone"],
                             kind="management", email=v["contact_email"] or None),
        applicant_username=v["applicant_username"], applicant_password=password,
        short_name=v["short_name"] or None,
        qualifications=(ch.QualificationIn("营业执照", v["license_no"]),) if v["license_no"] else (),
    )


class RegistrationPages(Controller):
    path = "/"

    @get("/register", guards=[public])
    async def register_form(self, request: Request[Any, Any, Any], regions: RegionsService) -> Any:
        if isinstance(request.scope.get("user"), Principal):
            return Redirect(path="/", status_code=303)
        return _form_page(request, {name: "" for name in FIELDS}, {}, await sync_to_thread(regions.active_names))

    @post("/register", guards=[public], status_code=303)
    async def register(self, request: Request[Any, Any, Any], state: State, channel: ChannelService,
                       identity: IdentityService, web_sessions: WebSessionStore, regions: RegionsService) -> Any:
        form = await request.form()
        values = {name: str(form.get(name) or "").strip()[:200] for name in FIELDS}
        password = str(form.get("applicant_password") or "")[:256]
        errors: dict[str, str] = {}
        if password != str(form.get("confirm_password") or ""):
            errors["confirm_password"] = "两次输入的密码不一致"
        try:
            if errors:
                raise InvalidValue("confirm_password", errors["confirm_password"], code="password.mismatch")
            cmd = _command(values, password)
            client = request.client.host if request.client else "?"
            state.register_limiter.hit(f"ip:{client}")
            registered = await sync_to_thread(channel.register_dealer, cmd)
        except (InvalidValue, Conflict) as exc:
            field = getattr(exc, "field", "") or str(exc.details.get("field") or "")
            errors[FORM_FIELD.get(field, field) if FORM_FIELD.get(field, field) in
                   (*FIELDS, "applicant_password", "confirm_password") else "form"] = exc.message
            return _form_page(request, values, errors, await sync_to_thread(regions.active_names),
                              status_code=409 if isinstance(exc, Conflict) else 422)
        except RateLimited as exc:
            return _form_page(request, values, {"form": exc.message}, await sync_to_thread(regions.active_names),
                              status_code=429)
        login = await sync_to_thread(identity.login, cmd.applicant_username, password)
        await sync_to_thread(channel.submit, login.principal, registered.dealer_id)
        token = await sync_to_thread(web_sessions.open, registered.user_id)
        return Redirect(path="/registration?done=1", status_code=303, cookies=[
            session_cookie(token, secure=over_tls(request), max_age=int(web_sessions.ttl.total_seconds()))])

    @get("/registration", guards=[requires(Role.DEALER)], sync_to_thread=True)
    def status(self, request: Request[Principal, Any, Any], channel: ChannelService) -> Template:
        return self._status_page(request, channel)

    def _status_page(self, request: Request[Principal, Any, Any], channel: ChannelService, *,
                     notice: str | None = None, status_code: int = 200) -> Template:
        dealer = channel.dealer_detail(request.user, request.user.dealer_id or 0)
        status = DealerStatus(str(getattr(dealer["status"], "value", dealer["status"])))
        flash = "注册资料已提交，大区经理审核后会以邮件通知您。" if request.query_params.get("done") else None
        if request.query_params.get("edited"):
            flash = "注册资料已保存。确认无误后请提交审核。"
        return page(request, "registration.html", title="注册状态", section="registration",
                    crumbs=(("注册状态", None),), dealer=dealer, status=status, flash=flash, notice=notice,
                    can_submit=status.value in RESUBMITTABLE, status_code=status_code)

    @get("/registration/edit", guards=[requires(Role.DEALER)], sync_to_thread=True)
    def edit_form(self, request: Request[Principal, Any, Any], channel: ChannelService) -> Any:
        dealer = channel.dealer_detail(request.user, request.user.dealer_id or 0)
        if not _resubmittable(dealer):
            return Redirect(path="/registration", status_code=303)
        return self._edit_page(request, dealer, _edit_values(dealer), {})

    def _edit_page(self, request: Request[Principal, Any, Any], dealer: dict[str, Any], values: dict[str, str],
                   errors: dict[str, str], status_code: int = 200) -> Template:
        return page(request, "registration_edit.html", title="修改注册资料", section="registration",
                    crumbs=(("注册状态", "/registration"), ("修改注册资料", None)), dealer=dealer, values=values,
                    errors=errors, uscc=str(getattr(dealer["uscc"], "value", dealer["uscc"])), status_code=status_code)

    @post("/registration/edit", guards=[requires(Role.DEALER)], status_code=303)
    async def edit(self, request: Request[Principal, Any, Any], channel: ChannelService) -> Any:
        dealer_id = request.user.dealer_id or 0
        dealer = await sync_to_thread(channel.dealer_detail, request.user, dealer_id)
        if not _resubmittable(dealer):
            return await sync_to_thread(lambda: self._status_page(
                request, channel, notice="注册资料审核中或已准入，不能在这里修改。", status_code=409))
        form = await request.form()
        values = {name: str(form.get(name) or "").strip()[:size] for name, size in EDITABLE.items()}
        contact = _primary_contact(dealer)
        try:
            for name, message in {"province": "请填写省份", "city": "请填写城市", "address_detail": "请填写详细地址",
                                  "contact_name": "请填写联系人姓名", "contact_phone": "请填写联系电话"}.items():
                if not values[name]:
                    raise InvalidValue(name, message, code="registration.field_required")
            others = tuple(ch.QualificationIn(q["kind"], q["number"], q["valid_until"])
                           for q in dealer["qualifications"] if q["kind"] != LICENCE)
            licence = (ch.QualificationIn(LICENCE, values["license_no"]),) if values["license_no"] else ()
            person = ch.ContactIn(values["contact_name"], values["contact_title"] or "负责人", values["contact_phone"],
                                  kind=str(getattr(contact["kind"], "value", contact["kind"])) if contact else "management",
                                  email=values["contact_email"] or None, is_primary=True,
                                  birthday=contact["birthday"] if contact else None)
            await sync_to_thread(channel.correct_registration, request.user, ch.CorrectRegistration(
                dealer_id=dealer_id, short_name=values["short_name"],
                address=ch.AddressIn(values["province"], values["city"], values["address_detail"]),
                qualifications=licence + others, contact=person, contact_id=contact["id"] if contact else None))
        except (InvalidValue, Conflict, NotFound) as exc:
            field = EDIT_FIELD.get(str(getattr(exc, "field", "") or ""), "form")
            status = 422 if isinstance(exc, InvalidValue) else 409 if isinstance(exc, Conflict) else 404
            return self._edit_page(request, dealer, values, {field: exc.message}, status_code=status)
        return Redirect(path="/registration?edited=1", status_code=303)

    @post("/registration/submit", guards=[requires(Role.DEALER)], status_code=303)
    async def submit(self, request: Request[Principal, Any, Any], channel: ChannelService) -> Any:
        try:
            await sync_to_thread(channel.submit, request.user, request.user.dealer_id or 0)
        except Conflict as exc:
            notice = exc.message
            return await sync_to_thread(lambda: self._status_page(request, channel, notice=notice,
                                                                  status_code=409))
        return Redirect(path="/registration?done=1", status_code=303)
