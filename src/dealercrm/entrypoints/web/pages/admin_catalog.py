"""产品模板: the catalog's templates with their published versions, and an editor that adds an
option to a template's draft and publishes it (dealers' configurators offer the latest published
version). The draft is revised through the catalog use case with the template's lock version, so
a draft changed meanwhile is shown as 已被他人修改; a constraint error sits beside its field."""

from __future__ import annotations

import re
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import Parameter
from litestar.response import Redirect, Template

from dealercrm.application import catalog
from dealercrm.application.services.orders import OrdersService
from dealercrm.domain.catalog import ChoiceMode, TemplateStatus
from dealercrm.domain.channel import ProductLine
from dealercrm.domain.errors import Conflict, DomainError, InvalidValue, NotFound
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.layout import page

EDITORS = catalog.CATALOG_MANAGERS
OPTION_FIELDS = ("group", "code", "name", "price", "requires", "excludes", "description")
STATUS_LABELS = {TemplateStatus.DRAFT.value: "草稿（未发布）", TemplateStatus.ACTIVE.value: "在售",
                 TemplateStatus.RETIRED.value: "停售"}
_PATH = re.compile(r"^content\.option_groups\[(\d+)\]\.options\[(\d+)\]\.(\w+)$")
_FORM_FIELD = {"code": "code", "name": "name", "price_delta_fen": "price", "requires": "requires",
               "excludes": "excludes", "description": "description"}
DONE = {"option": "选装项已加入草稿。发布后经销商下单时即可选择。", "published": "已发布新版本，经销商的选配页现在提供它。"}


def _line_label(value: Any) -> str:
    try:
        return ProductLine(str(getattr(value, "value", value))).label
    except (ValueError, AttributeError):
        return str(value)


def _codes(raw: str, field: str) -> tuple[str, ...]:
    codes = tuple(c for c in (p.strip() for p in raw.replace("，", ",").replace("、", ",").split(",")) if c)
    if len(codes) > 40:
        raise InvalidValue(field, "最多40个选装项编码", code="catalog.too_many_codes")
    return codes


def _price_fen(raw: str) -> int:
    text = raw.strip().replace(",", "").replace("¥", "")
    sign = -1 if text.startswith("-") else 1
    whole, _, cents = text.lstrip("-").partition(".")
    if not whole.isdigit() or len(whole) > 12 or (cents and (not cents.isdigit() or len(cents) > 2)):
        raise InvalidValue("price", "请输入加价金额（元），最多两位小数；减价用负数", code="money.invalid")
    return sign * (int(whole) * 100 + int((cents or "0").ljust(2, "0")))


def content_in(draft: dict[str, Any]) -> catalog.TemplateContentIn:
    """The draft as the catalog use case takes it back (read model → command)."""
    return catalog.TemplateContentIn(
        name=draft["name"], base_price_fen=draft["base_price_fen"], special=draft.get("special", False),
        description=draft.get("description", ""),
        spec_fields=tuple(catalog.SpecFieldIn(s["key"], s["label"], s["value"], s.get("unit", ""), s.get("kind", "text"))
                          for s in draft.get("spec_fields", ())),
        option_groups=tuple(catalog.OptionGroupIn(g["code"], g["name"], g["mode"], g["required"], tuple(
            catalog.OptionIn(o["code"], o["name"], o["price_delta_fen"], o.get("special", False),
                             tuple(o.get("requires", ())), tuple(o.get("excludes", ())), o.get("description", ""))
            for o in g["options"])) for g in draft.get("option_groups", ())))


def with_option(draft: dict[str, Any], group_code: str, option: catalog.OptionIn) -> tuple[catalog.TemplateContentIn,
                                                                                         int, int]:
    """The draft with ``option`` appended to group ``group_code``; also its (group, option) index."""
    content = content_in(draft)
    for gi, group in enumerate(content.option_groups):
        if group.code == group_code:
            grown = catalog.OptionGroupIn(group.code, group.name, group.mode, group.required,
                                          (*group.options, option))
            groups = (*content.option_groups[:gi], grown, *content.option_groups[gi + 1:])
            return (catalog.TemplateContentIn(content.name, content.base_price_fen, content.spec_fields, groups,
                                              content.special, content.description), gi, len(group.options))
    raise InvalidValue("group", "请选择选装组", code="catalog.group_unknown")


def error_field(exc: InvalidValue, gi: int, oi: int) -> str:
    """The form field an error of the new option belongs to (another path: the whole form)."""
    found = _PATH.match(exc.field or "")
    if found and (int(found.group(1)), int(found.group(2))) == (gi, oi):
        return _FORM_FIELD.get(found.group(3), "form")
    if (exc.field or "").startswith(f"content.option_groups[{gi}]") and exc.code.endswith("duplicate"):
        return "code"
    return exc.field if exc.field in OPTION_FIELDS else "form"


class CatalogPages(Controller):
    path = "/admin/catalog"
    guards = (requires(*EDITORS),)

    @get("/", sync_to_thread=True)
    def templates(self, request: Request[Principal, Any, Any], orders: OrdersService,
                  line: Annotated[str | None, Parameter(max_length=20)] = None) -> Template:
        error = None
        rows: list[dict[str, Any]] = []
        try:
            rows = orders.list_templates(request.user, line or None)
        except InvalidValue as exc:
            error = exc.message
        for r in rows:
            r["status_label"] = STATUS_LABELS.get(str(getattr(r["status"], "value", r["status"])), str(r["status"]))
            r["line_label"] = _line_label(r["product_line"])
        return page(request, "admin_catalog.html", title="产品模板", section="admin_catalog",
                    crumbs=(("产品模板", None),), rows=rows, line=line or "", error=error,
                    lines=[(p.value, p.label) for p in ProductLine], status_code=422 if error else 200)

    @get("/{template_id:int}", sync_to_thread=True)
    def template(self, template_id: int, request: Request[Principal, Any, Any], orders: OrdersService,
                 done: Annotated[str | None, Parameter(max_length=20)] = None) -> Template:
        return self._template_page(request, orders, template_id, values={}, errors={}, done=DONE.get(done or ""))

    def _template_page(self, request: Request[Principal, Any, Any], orders: OrdersService, template_id: int, *,
                       values: dict[str, str], errors: dict[str, str], done: str | None = None,
                       notice: str | None = None, status_code: int = 200) -> Template:
        t = orders.template_detail(request.user, template_id)
        status = str(getattr(t["status"], "value", t["status"]))
        groups = t["draft"]["option_groups"]
        for g in groups:
            g["mode_label"] = ChoiceMode(g["mode"]).label
        values = {"group": groups[0]["code"] if groups else "", **values}
        return page(request, "admin_catalog_template.html", title=f"产品模板：{t['model_code']} {t['draft']['name']}",
                    section="admin_catalog", crumbs=(("产品模板", "/admin/catalog"), (t["model_code"], None)),
                    t=t, status_label=STATUS_LABELS.get(status, status), line_label=_line_label(t["product_line"]),
                    groups=groups, retired=status == TemplateStatus.RETIRED.value, values=values, errors=errors,
                    done=done, notice=notice, status_code=status_code)

    @post("/{template_id:int}/options", status_code=303)
    async def add_option(self, template_id: int, request: Request[Principal, Any, Any], orders: OrdersService) -> Any:
        form = await request.form()
        values = {k: str(form.get(k) or "")[:500] for k in OPTION_FIELDS}
        values["special"] = "on" if form.get("special") else ""
        try:
            lock = int(str(form.get("lock_version") or ""))
        except ValueError:
            lock = None
        try:
            if lock is None:
                raise InvalidValue("form", "表单已失效，请刷新页面后重新填写", code="catalog.lock_version_missing")
            option = catalog.OptionIn(values["code"].strip(), values["name"].strip(), _price_fen(values["price"]),
                                      bool(values["special"]), _codes(values["requires"], "requires"),
                                      _codes(values["excludes"], "excludes"), values["description"].strip())

            def revise() -> None:
                draft = orders.template_detail(request.user, template_id)["draft"]
                content, gi, oi = with_option(draft, values["group"], option)
                try:
                    orders.revise_template(request.user, template_id, content, lock)
                except InvalidValue as exc:
                    raise InvalidValue(error_field(exc, gi, oi), exc.message, code=exc.code) from None

            await sync_to_thread(revise)
        except NotFound:
            raise
        except InvalidValue as exc:
            errors = {exc.field if exc.field in OPTION_FIELDS else "form": exc.message}
            return await sync_to_thread(lambda: self._template_page(request, orders, template_id, values=values,
                                                                    errors=errors, status_code=422))
        except (Conflict, DomainError) as exc:
            stale = isinstance(exc, Conflict) and "stale" in exc.code
            notice = "已被他人修改，以下是当前草稿，请确认后再添加" if stale else exc.message
            return await sync_to_thread(lambda: self._template_page(request, orders, template_id, values=values,
                                                                    errors={}, notice=notice, status_code=409))
        return Redirect(path=f"/admin/catalog/{template_id}?done=option", status_code=303)

    @post("/{template_id:int}/publish", status_code=303)
    async def publish(self, template_id: int, request: Request[Principal, Any, Any], orders: OrdersService) -> Any:
        try:
            await sync_to_thread(orders.publish_template, request.user, template_id)
        except NotFound:
            raise
        except DomainError as exc:
            notice = exc.message
            return await sync_to_thread(lambda: self._template_page(request, orders, template_id, values={},
                                                                    errors={}, notice=notice, status_code=409))
        return Redirect(path=f"/admin/catalog/{template_id}?done=published", status_code=303)
