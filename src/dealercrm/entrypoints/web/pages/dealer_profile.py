"""经销商门户 · 我的经销商 (the dealer's own side): its profile with what a dealer may change itself
(short name, address, bank account — the legal name and USCC are the sales rep's), its contacts
and management team, and its distribution agreements (经销协议, read only: sales management signs
them). All through ``ChannelService``, which owns the checks: a dealer reaches only its own
dealer, and another dealer's contact is the 404 page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.response import Redirect, Template

from dealercrm.application import channel as ch
from dealercrm.application.services.channel import ChannelService
from dealercrm.domain.channel import (
    AgreementStatus,
    ContactKind,
    DealerStatus,
    ProductLine,
    SettlementMethod,
)
from dealercrm.domain.errors import Conflict, DomainError, InvalidValue, NotFound
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.layout import page
from dealercrm.entrypoints.web.pages.dealer_depth import growth_view, team_rows

DEALERS = (Role.DEALER,)
#: the form's fields with their stored lengths (longer input is cut there, as the inputs' maxlength does)
PROFILE_FIELDS = {"short_name": 60, "province": 20, "city": 40, "address_detail": 200, "bank_name": 100,
                  "account_name": 200, "account_no": 40}
#: the service's field names → the profile form's
PROFILE_FIELD = {"address.province": "province", "address.city": "city", "address.detail": "address_detail",
                 "province": "province", "city": "city", "detail": "address_detail",
                 "bank_account.bank_name": "bank_name", "bank_account.account_name": "account_name",
                 "bank_account.account_no": "account_no", "bank_account": "bank_name", "short_name": "short_name"}
CONTACT_FIELDS = {"name": 60, "title": 60, "phone": 30, "email": 200, "kind": 20, "birthday": 10}
CONTACT_KINDS = ((ContactKind.MANAGEMENT.value, "管理团队"), (ContactKind.CONTACT.value, "业务联系人"))
DONE = {"profile": "档案已保存。", "contact": "联系人已保存。", "removed": "联系人已删除。"}


def _text(value: Any) -> str:
    """A value object or enum (Phone, Uscc, a status) as the text people read."""
    inner = getattr(value, "value", value)
    return "" if inner is None else str(inner)


def _label(enum: Any, value: Any) -> str:
    try:
        return str(enum(_text(value)).label)
    except (ValueError, AttributeError):
        return _text(value)


def own_dealer(channel: ChannelService, actor: Principal) -> dict[str, Any]:
    """The signed-in dealer's own record (a dealer login without a dealer is the 404 page)."""
    return channel.dealer_detail(actor, actor.dealer_id or 0)


def agreement_rows(dealer: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**a, "status_label": "生效" if _text(a["status"]) == AgreementStatus.ACTIVE.value else "已终止",
             "active": _text(a["status"]) == AgreementStatus.ACTIVE.value,
             "settlement_label": _label(SettlementMethod, a["settlement_method"]),
             "product_line_labels": [_label(ProductLine, p) for p in a["product_lines"]]}
            for a in dealer["agreements"]]


def contact_rows(dealer: dict[str, Any]) -> list[dict[str, Any]]:
    """The contacts a dealer keeps itself: its shareholders are the sales rep's (shown read-only)."""
    kinds = dict(CONTACT_KINDS)
    return [{**c, "phone": _text(c["phone"]), "kind": _text(c["kind"]), "kind_label": kinds.get(_text(c["kind"]), "")}
            for c in dealer["contacts"] if _text(c["kind"]) != ContactKind.SHAREHOLDER.value]


def _profile_values(d: dict[str, Any]) -> dict[str, str]:
    return {"short_name": d["short_name"] or "", "province": d["province"] or "", "city": d["city"] or "",
            "address_detail": d["address_detail"] or "", "bank_name": d["bank_name"] or "",
            "account_name": d["bank_account_name"] or "", "account_no": d["bank_account_no"] or ""}


def _contact_values(c: dict[str, Any] | None) -> dict[str, str]:
    if c is None:
        return {"name": "", "title": "", "phone": "", "email": "", "kind": ContactKind.CONTACT.value, "birthday": "",
                "is_primary": ""}
    return {"name": c["name"], "title": c["title"] or "", "phone": _text(c["phone"]), "email": c["email"] or "",
            "kind": _text(c["kind"]), "birthday": c["birthday"].isoformat() if c["birthday"] else "",
            "is_primary": "1" if c["is_primary"] else ""}


def _contact_in(v: dict[str, str]) -> ch.ContactIn:
    if not v["name"]:
        raise InvalidValue("name", "请填写联系人姓名", code="contact.name_blank")
    if not v["title"]:
        raise InvalidValue("title", "请填写职务", code="contact.title_blank")
    if not v["phone"]:
        raise InvalidValue("phone", "请填写联系电话", code="phone.required")
    birthday = None
    if v["birthday"]:
        try:
            birthday = dt.date.fromisoformat(v["birthday"])
        except ValueError:
            raise InvalidValue("birthday", "请选择生日（年-月-日）", code="contact.birthday_invalid") from None
    return ch.ContactIn(v["name"], v["title"], v["phone"], kind=v["kind"], email=v["email"] or None,
                        birthday=birthday, is_primary=bool(v["is_primary"]))


def _contact_error(exc: DomainError) -> tuple[str, str]:
    field = str(getattr(exc, "field", "") or "")
    return (field if field in CONTACT_FIELDS else "form"), exc.message


class DealerProfilePages(Controller):
    path = "/dealer"

    # -- profile and agreements ------------------------------------------------------------------

    @get("/", guards=[requires(*DEALERS)], sync_to_thread=True)
    def profile(self, request: Request[Principal, Any, Any], channel: ChannelService) -> Template:
        dealer = own_dealer(channel, request.user)
        done = DONE.get(str(request.query_params.get("done") or ""))
        return self._profile(request, channel, dealer, values=_profile_values(dealer), errors={}, flash=done)

    def _profile(self, request: Request[Principal, Any, Any], channel: ChannelService, dealer: dict[str, Any], *,
                 values: dict[str, str],
                 errors: dict[str, str], flash: str | None = None, status_code: int = 200) -> Template:
        status = DealerStatus(_text(dealer["status"]))
        holders, managers = team_rows(dealer)
        year = channel.today().year
        return page(request, "dealer_profile.html", title="经销商档案", section="dealer_profile",
                    holders=holders, managers=managers, growth_year=year,
                    growth=growth_view(channel, request.user, dealer["id"], year),
                    crumbs=(("经销商档案", None),), dealer=dealer, status=status, uscc=_text(dealer["uscc"]),
                    values=values, errors=errors, flash=flash, status_code=status_code,
                    editable=status is not DealerStatus.TERMINATED,
                    agreements=[a for a in agreement_rows(dealer) if a["active"]])

    @post("/profile", guards=[requires(*DEALERS)], status_code=303)
    async def save_profile(self, request: Request[Principal, Any, Any], channel: ChannelService) -> Any:
        form = await request.form()
        values = {name: str(form.get(name) or "").strip()[:size] for name, size in PROFILE_FIELDS.items()}
        try:
            bank = (ch.BankAccountIn(values["bank_name"], values["account_name"], values["account_no"])
                    if any(values[k] for k in ("bank_name", "account_name", "account_no")) else None)
            cmd = ch.UpdateProfile(
                dealer_id=request.user.dealer_id or 0, short_name=values["short_name"],
                address=ch.AddressIn(values["province"], values["city"], values["address_detail"]), bank_account=bank)
            await sync_to_thread(channel.update_profile, request.user, cmd)
        except (InvalidValue, Conflict) as exc:
            field = PROFILE_FIELD.get(str(getattr(exc, "field", "") or ""), "form")
            errors = {field: exc.message}
            dealer = await sync_to_thread(own_dealer, channel, request.user)
            code = 409 if isinstance(exc, Conflict) else 422
            return await sync_to_thread(lambda: self._profile(request, channel, dealer, values=values, errors=errors,
                                                              status_code=code))
        return Redirect(path="/dealer/?done=profile", status_code=303)

    @get("/agreements", guards=[requires(*DEALERS)], sync_to_thread=True)
    def agreements(self, request: Request[Principal, Any, Any], channel: ChannelService) -> Template:
        dealer = own_dealer(channel, request.user)
        return page(request, "dealer_agreements.html", title="经销协议", section="dealer_profile",
                    crumbs=(("经销商档案", "/dealer/"), ("经销协议", None)), dealer=dealer,
                    agreements=agreement_rows(dealer), territory=dealer["territory_regions"],
                    industries=dealer["territory_industries"])

    # -- contacts --------------------------------------------------------------------------------

    @get("/contacts", guards=[requires(*DEALERS)], sync_to_thread=True)
    def contacts(self, request: Request[Principal, Any, Any], channel: ChannelService) -> Template:
        dealer = own_dealer(channel, request.user)
        done = DONE.get(str(request.query_params.get("done") or ""))
        return self._contacts(request, dealer, values=_contact_values(None), errors={}, flash=done)

    def _contacts(self, request: Request[Principal, Any, Any], dealer: dict[str, Any], *, values: dict[str, str],
                  errors: dict[str, str], flash: str | None = None, status_code: int = 200) -> Template:
        return page(request, "dealer_contacts.html", title="联系人", section="dealer_profile",
                    crumbs=(("经销商档案", "/dealer/"), ("联系人", None)), contacts=contact_rows(dealer),
                    values=values, errors=errors, kinds=CONTACT_KINDS, flash=flash, status_code=status_code)

    @post("/contacts", guards=[requires(*DEALERS)], status_code=303)
    async def add_contact(self, request: Request[Principal, Any, Any], channel: ChannelService) -> Any:
        values = await _contact_form(request)
        try:
            await sync_to_thread(channel.add_contact, request.user, request.user.dealer_id or 0, _contact_in(values))
        except (InvalidValue, Conflict) as exc:
            field, message = _contact_error(exc)
            dealer = await sync_to_thread(own_dealer, channel, request.user)
            return self._contacts(request, dealer, values=values, errors={field: message},
                                  status_code=409 if isinstance(exc, Conflict) else 422)
        return Redirect(path="/dealer/contacts?done=contact", status_code=303)

    def _contact(self, channel: ChannelService, actor: Principal, contact_id: int) -> dict[str, Any]:
        for c in contact_rows(own_dealer(channel, actor)):
            if c["id"] == contact_id:
                return c
        raise NotFound("联系人不存在", code="contact.not_found")

    @get("/contacts/{contact_id:int}", guards=[requires(*DEALERS)], sync_to_thread=True)
    def contact(self, contact_id: int, request: Request[Principal, Any, Any], channel: ChannelService) -> Template:
        c = self._contact(channel, request.user, contact_id)
        return self._contact_page(request, c, values=_contact_values(c), errors={})

    def _contact_page(self, request: Request[Principal, Any, Any], c: dict[str, Any], *, values: dict[str, str],
                      errors: dict[str, str], status_code: int = 200) -> Template:
        return page(request, "dealer_contact.html", title=f"联系人：{c['name']}", section="dealer_profile",
                    crumbs=(("经销商档案", "/dealer/"), ("联系人", "/dealer/contacts"), (c["name"], None)),
                    contact=c, values=values, errors=errors, kinds=CONTACT_KINDS, status_code=status_code)

    @post("/contacts/{contact_id:int}", guards=[requires(*DEALERS)], status_code=303)
    async def update_contact(self, contact_id: int, request: Request[Principal, Any, Any],
                             channel: ChannelService) -> Any:
        c = await sync_to_thread(self._contact, channel, request.user, contact_id)
        values = await _contact_form(request)
        try:
            contact = _contact_in(values)
            if values["kind"] == ContactKind.MANAGEMENT.value:  # the abilities the sales rep recorded stay
                contact = attrs.evolve(contact, abilities=tuple(c.get("abilities") or ()))
            await sync_to_thread(channel.update_contact, request.user, request.user.dealer_id or 0, contact_id, contact)
        except (InvalidValue, Conflict) as exc:
            field, message = _contact_error(exc)
            return self._contact_page(request, c, values=values, errors={field: message},
                                      status_code=409 if isinstance(exc, Conflict) else 422)
        return Redirect(path="/dealer/contacts?done=contact", status_code=303)

    @post("/contacts/{contact_id:int}/remove", guards=[requires(*DEALERS)], status_code=303)
    async def remove_contact(self, contact_id: int, request: Request[Principal, Any, Any],
                             channel: ChannelService) -> Any:
        await sync_to_thread(channel.remove_contact, request.user, request.user.dealer_id or 0, contact_id)
        return Redirect(path="/dealer/contacts?done=removed", status_code=303)


async def _contact_form(request: Request[Principal, Any, Any]) -> dict[str, str]:
    form = await request.form()
    values = {name: str(form.get(name) or "").strip()[:size] for name, size in CONTACT_FIELDS.items()}
    values["is_primary"] = "1" if form.get("is_primary") else ""
    if values["kind"] not in dict(CONTACT_KINDS):
        values["kind"] = ContactKind.CONTACT.value
    return values
