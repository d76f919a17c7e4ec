"""渠道深度 for the factory staff, beside 经销商与协议: a dealer's shareholders (股东) with their share
and abilities, the registration assessment checklist (考核规则) and a registration's findings (准入考核,
approval is refused until every required item passes), the credit grade the value analysis proposes
(信用等级, filed as a credit change request finance approves) and the dealer's growth plan of a year
(增长计划) with its progress. The same channel, care and credit use cases the API calls, with the
API's roles; errors beside the field, input kept, a record changed meanwhile shown as 已被他人修改."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import Parameter
from litestar.response import Redirect, Stream, Template

from dealercrm.application import care as ca
from dealercrm.application import channel as ch
from dealercrm.application import credit as cr
from dealercrm.application.exports import Column, ColumnKind, Exporter, Table
from dealercrm.application.services.care import CareService
from dealercrm.application.services.channel import ChannelService
from dealercrm.domain.channel import MAX_GROWTH_ACTIONS, ContactKind, DealerStatus, GrowthPlan
from dealercrm.domain.dealer_value import CLASS_LABELS
from dealercrm.domain.errors import DomainError, IllegalTransition, InvalidValue, NotFound
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.http.controllers import DEALER_DECIDERS, DEALER_MANAGERS
from dealercrm.entrypoints.http.downloads import download
from dealercrm.entrypoints.http.security import STAFF, requires
from dealercrm.entrypoints.web.forms import new_form_token, posted_form_token
from dealercrm.entrypoints.web.layout import page
from dealercrm.entrypoints.web.pages.dealer_stock import yuan_to_fen

GROWTH_READERS = STAFF
GRADE_PROPOSERS = ca.VALUE_RUNNERS
CHANGE_READERS = cr.CREDIT_READERS
STALE = "已被他人修改，以下是当前状态"
SHAREHOLDER_FIELDS = {"name": 60, "title": 60, "phone": 30, "email": 200, "share": 8, "abilities": 400}
#: the service's field names → the shareholder form's
SHAREHOLDER_FIELD = {"share_permille": "share", "share": "share", "name": "name", "title": "title", "phone": "phone", "email": "email",
                     "abilities": "abilities"}
GROWTH_FIELDS = {"vehicles": 8, "amount": 20, "retail_vehicles": 8, "actions": 4200}
GROWTH_FIELD = {"amount_fen": "amount", "vehicles": "vehicles", "retail_vehicles": "retail_vehicles",
                "actions": "actions", "year": "year"}
RULE_ROWS_EXTRA = 3
DONE = {"shareholder": "股东已保存。", "removed": "股东已删除。", "assessment": "考核结果已记录。",
        "rules": "考核规则已保存（新版本）。", "growth": "增长计划已保存。"}
SHAREHOLDER_TABLE = Table("股东", (
    Column("name", "股东", ColumnKind.TEXT, 16), Column("title", "职务", ColumnKind.TEXT, 14),
    Column("share_pct", "持股比例（%）", ColumnKind.TEXT, 12), Column("abilities_text", "能力", ColumnKind.TEXT, 36),
    Column("phone", "电话", ColumnKind.TEXT, 16), Column("email", "电子邮箱", ColumnKind.TEXT, 24),
))


def _text(value: Any) -> str:
    inner = getattr(value, "value", value)
    return "" if inner is None else str(inner)


def _share_pct(permille: int | None) -> str:
    return "" if permille is None else f"{Decimal(permille) / 10:f}".rstrip("0").rstrip(".")


def _abilities(raw: str) -> tuple[str, ...]:
    return tuple(a.strip() for a in raw.replace("，", ",").replace("、", ",").split(",") if a.strip())


def _permille(raw: str) -> int:
    """A share typed in per cent (``35`` or ``12.5``) as ‰; anything else is a 422 on ``share``."""
    try:
        pct = Decimal(raw.strip().rstrip("%％"))
    except InvalidOperation:
        raise InvalidValue("share", "请填写持股比例（0.1–100，单位%）", code="contact.share_invalid") from None
    permille = pct * 10
    if not pct.is_finite() or permille != permille.to_integral_value() or not 1 <= permille <= 1000:
        raise InvalidValue("share", "请填写持股比例（0.1–100，单位%，最多一位小数）", code="contact.share_invalid")
    return int(permille)


def _count(raw: str, field: str, label: str) -> int:
    if not raw.strip().isdigit() or len(raw.strip()) > 6:
        raise InvalidValue(field, f"{label}须为0到100000之间的整数", code="growth_plan.target_invalid")
    return int(raw.strip())


def _amount(raw: str) -> int:
    """The order amount target in 元 (0 is no amount target)."""
    return 0 if raw.strip() in ("0", "0.0", "0.00") else yuan_to_fen(raw, "amount")


def team_rows(dealer: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The dealer's shareholders (largest share first) and management team, as the pages show them."""
    rows = [{**c, "kind": _text(c["kind"]), "phone": _text(c["phone"]), "share_pct": _share_pct(c.get("share_permille")),
             "abilities": list(c.get("abilities") or []), "abilities_text": "、".join(c.get("abilities") or [])}
            for c in dealer["contacts"]]
    holders = sorted((r for r in rows if r["kind"] == ContactKind.SHAREHOLDER.value),
                     key=lambda r: (-(r.get("share_permille") or 0), r["name"]))
    return holders, [r for r in rows if r["kind"] == ContactKind.MANAGEMENT.value]


def growth_view(channel: ChannelService, actor: Principal, dealer_id: int, year: int) -> dict[str, Any] | None:
    """The growth plan of ``year`` with its progress, ``None`` when the dealer has none that year."""
    try:
        plan = channel.growth_plan(actor, dealer_id, year)
    except NotFound as exc:
        if exc.code != "growth_plan.not_found":
            raise
        return None
    rows = [{"label": label, "money": key == "amount_fen", **plan["progress"][key]}
            for key, label in (("vehicles", "订车台数"), ("amount_fen", "订单金额"), ("retail_vehicles", "零售台数"))]
    return {**plan, "rows": rows}


def _year(raw: int | None, today: dt.date) -> int:
    return today.year if raw is None else raw


class DealerDepthPages(Controller):
    path = "/admin/dealers"

    def _crumbs(self, d: dict[str, Any], here: str, user: Principal) -> tuple[tuple[str, str | None], ...]:
        if user.role is Role.ADMIN:
            return (("经销商与协议", "/admin/dealers"), (d["legal_name"], f"/admin/dealers/{d['id']}"), (here, None))
        return (("我的经销商", "/my-dealers"), (d["legal_name"], f"/my-dealers/{d['id']}"), (here, None))

    # -- shareholders ------------------------------------------------------------------------------

    def _shareholders(self, request: Request[Principal, Any, Any], channel: ChannelService, dealer_id: int, *,
                      values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                      done: str | None = None, notice: str | None = None, status_code: int = 200) -> Template:
        d = channel.dealer_detail(request.user, dealer_id)
        holders, managers = team_rows(d)
        total = sum(h.get("share_permille") or 0 for h in holders)
        return page(request, "dealer_shareholders.html", title=f"股东与管理团队：{d['legal_name']}",
                    section="admin_dealers" if request.user.role is Role.ADMIN else "my_dealers",
                    crumbs=self._crumbs(d, "股东与管理团队", request.user), d=d, holders=holders, managers=managers,
                    total_pct=_share_pct(total), left_pct=_share_pct(1000 - total),
                    editable=_text(d["status"]) != DealerStatus.TERMINATED.value,
                    values=values or {"name": "", "title": "股东", "phone": "", "email": "", "share": "",
                                      "abilities": ""},
                    errors=errors or {}, form_token=new_form_token(), done=done, notice=notice,
                    export_href=f"/admin/dealers/{dealer_id}/shareholders/export", export_query="",
                    status_code=status_code)

    @get("/{dealer_id:int}/shareholders", guards=[requires(*DEALER_MANAGERS)], sync_to_thread=True)
    def shareholders(self, dealer_id: int, request: Request[Principal, Any, Any], channel: ChannelService,
                     done: Annotated[str | None, Parameter(max_length=20)] = None) -> Template:
        return self._shareholders(request, channel, dealer_id, done=DONE.get(done or ""))

    @get("/{dealer_id:int}/shareholders/export", guards=[requires(*DEALER_MANAGERS)], sync_to_thread=True)
    def shareholders_export(self, dealer_id: int, request: Request[Principal, Any, Any], channel: ChannelService,
                            exports: Exporter,
                            file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx") -> Stream:
        exports.check_format(file_format)
        holders, _ = team_rows(channel.dealer_detail(request.user, dealer_id))
        return download(exports.download(file_format, f"shareholders-{dealer_id}", SHAREHOLDER_TABLE, iter(holders)))

    @post("/{dealer_id:int}/shareholders", guards=[requires(*DEALER_MANAGERS)], status_code=303)
    async def add_shareholder(self, dealer_id: int, request: Request[Principal, Any, Any],
                              channel: ChannelService) -> Any:
        form = await request.form()
        values = {k: str(form.get(k) or "").strip()[:n] for k, n in SHAREHOLDER_FIELDS.items()}
        try:
            if not values["name"]:
                raise InvalidValue("name", "请填写股东姓名或名称", code="contact.name_blank")
            if not values["title"]:
                raise InvalidValue("title", "请填写职务（如 股东、董事长）", code="contact.title_blank")
            if not values["phone"]:
                raise InvalidValue("phone", "请填写联系电话", code="phone.required")
            contact = ch.ContactIn(values["name"], values["title"], values["phone"],
                                   kind=ContactKind.SHAREHOLDER.value, email=values["email"] or None,
                                   share_permille=_permille(values["share"]), abilities=_abilities(values["abilities"]))
            token = posted_form_token(form)
            await sync_to_thread(lambda: channel.add_contact_once(request.user, dealer_id, contact, form_token=token))
        except NotFound:
            raise
        except DomainError as exc:
            field = SHAREHOLDER_FIELD.get(str(getattr(exc, "field", "") or ""), "form")
            errors, code = {field: exc.message}, 409 if isinstance(exc, IllegalTransition) else 422
            return await sync_to_thread(lambda: self._shareholders(
                request, channel, dealer_id, values=values, errors=errors, status_code=code))
        return Redirect(path=f"/admin/dealers/{dealer_id}/shareholders?done=shareholder", status_code=303)

    @post("/{dealer_id:int}/shareholders/{contact_id:int}", guards=[requires(*DEALER_MANAGERS)], status_code=303)
    async def change_shareholder(self, dealer_id: int, contact_id: int, request: Request[Principal, Any, Any],
                                 channel: ChannelService) -> Any:
        """A shareholder's share and abilities, or a manager's abilities; a member removed meanwhile
        is shown as 已被他人修改."""
        form = await request.form()
        values = {"share": str(form.get("share") or "").strip()[:8],
                  "abilities": str(form.get("abilities") or "").strip()[:400]}
        d = await sync_to_thread(channel.dealer_detail, request.user, dealer_id)
        c = next((c for c in d["contacts"] if c["id"] == contact_id), None)
        if c is None:
            return await sync_to_thread(lambda: self._shareholders(request, channel, dealer_id, notice=STALE,
                                                                   status_code=409))
        kind = _text(c["kind"])
        try:
            if kind == ContactKind.CONTACT.value:
                raise InvalidValue("abilities", "能力只记录股东与管理团队成员", code="contact.abilities_not_team")
            contact = ch.ContactIn(c["name"], c["title"] or "", _text(c["phone"]), kind=kind, email=c["email"],
                                   birthday=c["birthday"], is_primary=c["is_primary"],
                                   id_number=c["id_number"].value if c["id_number"] else None,
                                   share_permille=_permille(values["share"]) if kind == ContactKind.SHAREHOLDER.value
                                   else None, abilities=_abilities(values["abilities"]))
            await sync_to_thread(channel.update_contact, request.user, dealer_id, contact_id, contact)
        except NotFound as exc:
            if exc.code != "contact.not_found":
                raise
            return await sync_to_thread(lambda: self._shareholders(request, channel, dealer_id, notice=STALE,
                                                                   status_code=409))
        except DomainError as exc:
            field = SHAREHOLDER_FIELD.get(str(getattr(exc, "field", "") or ""), "abilities")
            errors, code = {f"{field}_{contact_id}": exc.message}, 409 if isinstance(exc, IllegalTransition) else 422
            return await sync_to_thread(lambda: self._shareholders(request, channel, dealer_id, errors=errors,
                                                                   status_code=code))
        return Redirect(path=f"/admin/dealers/{dealer_id}/shareholders?done=shareholder", status_code=303)

    @post("/{dealer_id:int}/shareholders/{contact_id:int}/remove", guards=[requires(*DEALER_MANAGERS)],
          status_code=303)
    async def remove_shareholder(self, dealer_id: int, contact_id: int, request: Request[Principal, Any, Any],
                                 channel: ChannelService) -> Any:
        try:
            await sync_to_thread(channel.remove_contact, request.user, dealer_id, contact_id)
        except NotFound as exc:
            if exc.code != "contact.not_found":
                raise
            return await sync_to_thread(lambda: self._shareholders(request, channel, dealer_id, notice=STALE,
                                                                   status_code=409))
        except IllegalTransition as exc:
            notice = exc.message
            return await sync_to_thread(lambda: self._shareholders(request, channel, dealer_id, notice=notice,
                                                                   status_code=409))
        return Redirect(path=f"/admin/dealers/{dealer_id}/shareholders?done=removed", status_code=303)

    # -- the assessment checklist ------------------------------------------------------------------

    def _rules(self, request: Request[Principal, Any, Any], channel: ChannelService, *,
               rows: list[dict[str, Any]] | None = None, errors: dict[str, str] | None = None,
               done: str | None = None, notice: str | None = None, status_code: int = 200) -> Template:
        rules = channel.assessment_rules(request.user)
        if rows is None:
            rows = [{"code": i["code"], "label": i["label"], "required": bool(i.get("required", True))}
                    for i in rules["items"]]
            rows += [{"code": "", "label": "", "required": True} for _ in range(RULE_ROWS_EXTRA)]
        return page(request, "assessment_rules.html", title="考核规则", section="assessment_rules",
                    crumbs=(("考核规则", None),), rules=rules, rows=rows, errors=errors or {},
                    version=str(rules.get("created_at") or ""), may_edit=request.user.role is Role.ADMIN,
                    done=done, notice=notice, status_code=status_code)

    @get("/assessment-rules", guards=[requires(*DEALER_MANAGERS)], sync_to_thread=True)
    def assessment_rules(self, request: Request[Principal, Any, Any], channel: ChannelService,
                         done: Annotated[str | None, Parameter(max_length=20)] = None) -> Template:
        return self._rules(request, channel, done=DONE.get(done or ""))

    @post("/assessment-rules", guards=[requires(Role.ADMIN)], status_code=303)
    async def set_assessment_rules(self, request: Request[Principal, Any, Any], channel: ChannelService) -> Any:
        form = await request.form()
        rows, kept = [], []
        for n in range(40):
            code, label = str(form.get(f"code_{n}") or "").strip()[:40], str(form.get(f"label_{n}") or "").strip()[:60]
            if f"code_{n}" not in form and f"label_{n}" not in form:
                continue
            rows.append({"code": code, "label": label, "required": bool(form.get(f"required_{n}"))})
            if code or label:
                kept.append(len(rows) - 1)
        current = await sync_to_thread(channel.assessment_rules, request.user)
        if str(form.get("version") or "") != str(current.get("created_at") or ""):
            return await sync_to_thread(lambda: self._rules(request, channel, notice=STALE, status_code=409))
        try:
            await sync_to_thread(channel.set_assessment_rules, request.user, [rows[i] for i in kept])
        except InvalidValue as exc:
            errors = {"form": exc.message}
            if exc.field.startswith("items[") and "]." in exc.field:
                index, name = exc.field[6:].split("].", 1)
                if index.isdigit() and int(index) < len(kept):
                    errors = {f"{name}_{kept[int(index)]}": exc.message}
            return await sync_to_thread(lambda: self._rules(request, channel, rows=rows, errors=errors,
                                                            status_code=422))
        return Redirect(path="/admin/dealers/assessment-rules?done=rules", status_code=303)

    def _assessment(self, request: Request[Principal, Any, Any], channel: ChannelService, dealer_id: int, *,
                    values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                    done: str | None = None, notice: str | None = None, status_code: int = 200) -> Template:
        d = channel.dealer_detail(request.user, dealer_id)
        view = channel.assessment(request.user, dealer_id)
        status = DealerStatus(_text(view["status"]))
        missing = set(view["missing"])
        items = [{**i, "missing": i["code"] in missing,
                  "at": dt.datetime.fromisoformat(i["at"]) if i.get("at") else None} for i in view["items"]]
        return page(request, "dealer_assessment.html", title=f"准入考核：{d['legal_name']}",
                    section="admin_dealers" if request.user.role is Role.ADMIN else "my_dealers",
                    crumbs=self._crumbs(d, "准入考核", request.user), d=d, items=items, status=status,
                    missing=[i for i in items if i["missing"]],
                    open=status in (DealerStatus.REGISTERED, DealerStatus.UNDER_REVIEW, DealerStatus.REJECTED),
                    may_assess=request.user.role in DEALER_DECIDERS, values=values or {}, errors=errors or {},
                    done=done, notice=notice, status_code=status_code)

    @get("/{dealer_id:int}/assessment", guards=[requires(*DEALER_MANAGERS)], sync_to_thread=True)
    def assessment(self, dealer_id: int, request: Request[Principal, Any, Any], channel: ChannelService,
                   done: Annotated[str | None, Parameter(max_length=20)] = None) -> Template:
        return self._assessment(request, channel, dealer_id, done=DONE.get(done or ""))

    @post("/{dealer_id:int}/assessment", guards=[requires(*DEALER_DECIDERS)], status_code=303)
    async def assess(self, dealer_id: int, request: Request[Principal, Any, Any], channel: ChannelService) -> Any:
        form = await request.form()
        values: dict[str, str] = {}
        results: dict[str, tuple[bool, str]] = {}
        for key in list(form.keys())[:80]:
            if key.startswith("passed_") and len(key) <= 47:
                code = key[7:]
                values[key] = str(form.get(key) or "")[:1]
                values[f"note_{code}"] = str(form.get(f"note_{code}") or "").strip()[:300]
                if values[key] in ("1", "0"):
                    results[code] = (values[key] == "1", values[f"note_{code}"])
        try:
            await sync_to_thread(channel.assess, request.user, dealer_id, results)
        except NotFound:
            raise
        except IllegalTransition:
            return await sync_to_thread(lambda: self._assessment(request, channel, dealer_id, notice=STALE,
                                                                 status_code=409))
        except InvalidValue as exc:
            parts = exc.field.split(".")
            field = f"note_{parts[1]}" if len(parts) == 3 else f"passed_{parts[1]}" if len(parts) == 2 else "form"
            errors = {field: exc.message}
            return await sync_to_thread(lambda: self._assessment(request, channel, dealer_id, values=values,
                                                                 errors=errors, status_code=422))
        return Redirect(path=f"/admin/dealers/{dealer_id}/assessment?done=assessment", status_code=303)

    # -- the credit grade proposed by the value analysis -------------------------------------------

    def _grade(self, request: Request[Principal, Any, Any], channel: ChannelService, care: CareService,
               dealer_id: int, *, done: str | None = None, request_id: int | None = None) -> Template:
        view = channel.dealer_360(request.user, dealer_id, days=30)
        d = view["dealer"]
        evaluations = [{**e, "class_label": CLASS_LABELS.get(str(e["value_class"]), e["value_class"])}
                       for e in care.history(request.user, dealer_id)[:10]]
        return page(request, "dealer_credit_grade.html", title=f"信用等级：{d['legal_name']}",
                    section="admin_dealers" if request.user.role is Role.ADMIN else "credit_changes",
                    crumbs=self._crumbs(d, "信用等级", request.user) if request.user.role is Role.ADMIN
                    else (("信用等级", None),),
                    d=d, credit=view["credit"], value=view["value"], evaluations=evaluations,
                    class_labels=CLASS_LABELS, done=done, request_id=request_id,
                    may_read_changes=request.user.role in CHANGE_READERS)

    @get("/{dealer_id:int}/credit-grade", guards=[requires(*GRADE_PROPOSERS)], sync_to_thread=True)
    def credit_grade(self, dealer_id: int, request: Request[Principal, Any, Any], channel: ChannelService,
                     care: CareService, done: Annotated[str | None, Parameter(max_length=20)] = None,
                     request_id: Annotated[int | None, Parameter(query="request", ge=1, le=2**63 - 1)] = None
                     ) -> Template:
        flash = {"filed": "已评估，信用等级调整申请已提交财务审批。",
                 "same": "已评估：建议等级与当前信用等级相同，或已有待审批的调整申请，未重复提交。",
                 "no_account": "已评估：该经销商尚无信用账户，不提交信用等级调整。"}.get(done or "")
        return self._grade(request, channel, care, dealer_id, done=flash, request_id=request_id)

    @post("/{dealer_id:int}/credit-grade", guards=[requires(*GRADE_PROPOSERS)], status_code=303)
    async def propose_grade(self, dealer_id: int, request: Request[Principal, Any, Any], channel: ChannelService,
                            care: CareService) -> Any:
        out = await sync_to_thread(care.evaluate, request.user, dealer_id)
        rid = out.get("credit_change_request_id")
        if rid:
            return Redirect(path=f"/admin/dealers/{dealer_id}/credit-grade?done=filed&request={rid}", status_code=303)
        view = await sync_to_thread(lambda: channel.dealer_360(request.user, dealer_id, days=7))
        done = "same" if view["credit"] is not None else "no_account"
        return Redirect(path=f"/admin/dealers/{dealer_id}/credit-grade?done={done}", status_code=303)

    # -- growth plans -----------------------------------------------------------------------------

    def _growth(self, request: Request[Principal, Any, Any], channel: ChannelService, dealer_id: int, year: int, *,
                values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                done: str | None = None, status_code: int = 200) -> Template:
        d = channel.dealer_detail(request.user, dealer_id)
        plan = growth_view(channel, request.user, dealer_id, year) if 2000 <= year <= 2100 else None
        if values is None:
            targets = {r: (plan["progress"][r]["target"] if plan else 0)
                       for r in ("vehicles", "amount_fen", "retail_vehicles")}
            values = {"vehicles": str(targets["vehicles"]) if plan else "",
                      "amount": f"{Decimal(targets['amount_fen']) / 100:.2f}" if plan else "",
                      "retail_vehicles": str(targets["retail_vehicles"]) if plan else "",
                      "actions": "\n".join(plan["actions"]) if plan else ""}
        today = channel.today()
        return page(request, "dealer_growth_plan.html", title=f"增长计划：{d['legal_name']}",
                    section="admin_dealers" if request.user.role is Role.ADMIN else "my_dealers",
                    crumbs=self._crumbs(d, f"{year}年增长计划", request.user), d=d, year=year, plan=plan,
                    years=sorted({*range(today.year - 2, today.year + 3), year}), values=values, errors=errors or {},
                    may_edit=request.user.role in DEALER_MANAGERS, max_actions=MAX_GROWTH_ACTIONS, done=done,
                    status_code=status_code)

    @get("/{dealer_id:int}/growth-plans", guards=[requires(*GROWTH_READERS)], sync_to_thread=True)
    def growth_plan(self, dealer_id: int, request: Request[Principal, Any, Any], channel: ChannelService,
                    year: Annotated[int | None, Parameter(ge=2000, le=2100)] = None,
                    done: Annotated[str | None, Parameter(max_length=20)] = None) -> Template:
        return self._growth(request, channel, dealer_id, _year(year, channel.today()), done=DONE.get(done or ""))

    @post("/{dealer_id:int}/growth-plans/{year:int}", guards=[requires(*DEALER_MANAGERS)], status_code=303)
    async def set_growth_plan(self, dealer_id: int, year: int, request: Request[Principal, Any, Any],
                              channel: ChannelService) -> Any:
        form = await request.form()
        values = {k: str(form.get(k) or "").strip()[:n] for k, n in GROWTH_FIELDS.items()}
        try:
            actions = tuple(a.strip() for a in values["actions"].splitlines() if a.strip())
            plan = GrowthPlan(year, _count(values["vehicles"], "vehicles", "订车目标"), _amount(values["amount"]),
                              _count(values["retail_vehicles"] or "0", "retail_vehicles", "零售目标"), actions)
            await sync_to_thread(channel.set_growth_plan, request.user, dealer_id, plan)
        except NotFound:
            raise
        except DomainError as exc:
            field = GROWTH_FIELD.get(str(getattr(exc, "field", "") or ""), "form")
            if field == "year":
                field = "form"
            errors, code = {field: exc.message}, 409 if isinstance(exc, IllegalTransition) else 422
            return await sync_to_thread(lambda: self._growth(request, channel, dealer_id, year, values=values,
                                                             errors=errors, status_code=code))
        return Redirect(path=f"/admin/dealers/{dealer_id}/growth-plans?year={year}&done=growth", status_code=303)
