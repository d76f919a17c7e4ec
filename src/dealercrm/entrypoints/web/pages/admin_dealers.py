"""经销商与协议 for the administrators: the dealer list by region, status and text, and a dealer's
page with its region, sales territory and agreements (product lines, validity), where an
administrator signs a new agreement, terminates one, or sets the territory — the same channel use
cases the API calls, their errors beside the field."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import Parameter
from litestar.response import Redirect, Template

from dealercrm.application.channel import AddAgreement
from dealercrm.application.services.channel import ChannelService
from dealercrm.application.services.regions import RegionsService
from dealercrm.domain.channel import DealerStatus, ProductLine, SettlementMethod
from dealercrm.domain.errors import (
    BusinessRuleViolation,
    Conflict,
    DomainError,
    InvalidValue,
    NotFound,
)
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.layout import page

ADMINS = (Role.ADMIN,)
PAGE_SIZE = 50
AGREEMENT_FIELDS = ("product_lines", "territory", "settlement_method", "valid_from", "valid_to")
DONE = {"agreement": "经销协议已签订。", "terminated": "协议已终止。", "territory": "销售区域已保存。"}


def _text(value: Any) -> Any:
    return getattr(value, "label", None) or getattr(value, "value", value)


def _list(raw: str, field: str) -> list[str]:
    items = [p.strip() for p in raw.replace("，", ",").replace("、", ",").split(",") if p.strip()]
    if len(items) > 50 or any(len(i) > 40 for i in items):
        raise InvalidValue(field, "最多50项，每项不超过40字", code=f"{field}.invalid")
    return items


def _day(raw: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidValue(field, "请选择日期", code="date.invalid") from None


class AdminDealerPages(Controller):
    path = "/admin/dealers"
    guards = (requires(*ADMINS),)

    @get("/", sync_to_thread=True)
    def dealers(self, request: Request[Principal, Any, Any], channel: ChannelService, regions: RegionsService,
                region: Annotated[str | None, Parameter(max_length=40)] = None,
                status: Annotated[str | None, Parameter(max_length=20)] = None,
                q: Annotated[str | None, Parameter(max_length=100)] = None,
                after: Annotated[int | None, Parameter(ge=0, le=2**63 - 1)] = None,
                at: Annotated[int, Parameter(ge=0, le=100_000)] = 0) -> Template:
        errors: dict[str, str] = {}
        ranked = bool(q and q.strip())  # a search is ranked: its pages go by offset, not by id
        if status and status not in DealerStatus.__members__.values():
            errors["status"] = "请选择列表中的状态"
        rows: list[dict[str, Any]] = []
        if not errors:
            rows = channel.list_dealers(request.user, status=status or None, region=(region or "").strip() or None,
                                        text=(q or "").strip() or None, after_id=None if ranked else after,
                                        offset=at, limit=PAGE_SIZE + 1)
        more = len(rows) > PAGE_SIZE
        rows = [{**r, "status_label": _text(DealerStatus(str(_text_value(r["status"]))))} for r in rows[:PAGE_SIZE]]
        filters = {"region": region or "", "status": status or "", "q": q or ""}
        page_at = {"at": at + PAGE_SIZE} if ranked else {"after": rows[-1]["id"] if rows else 0}
        next_query = urlencode({**{k: v for k, v in filters.items() if v}, **page_at}) if more else None
        return page(request, "admin_dealers.html", title="经销商与协议", section="admin_dealers",
                    crumbs=(("经销商与协议", None),), rows=rows, filters=filters, errors=errors,
                    statuses=[(s.value, s.label) for s in DealerStatus], next_query=next_query,
                    region_names=regions.active_names(), status_code=422 if errors else 200)

    @get("/{dealer_id:int}", sync_to_thread=True)
    def dealer(self, dealer_id: int, request: Request[Principal, Any, Any], channel: ChannelService,
               done: Annotated[str | None, Parameter(max_length=20)] = None) -> Template:
        return self._dealer_page(request, channel, dealer_id, values={}, errors={}, done=DONE.get(done or ""))

    def _dealer_page(self, request: Request[Principal, Any, Any], channel: ChannelService, dealer_id: int, *,
                     values: dict[str, Any], errors: dict[str, str], done: str | None = None,
                     notice: str | None = None, status_code: int = 200) -> Template:
        d = channel.dealer_detail(request.user, dealer_id)
        agreements = [{**a, "status_value": str(_text_value(a["status"])), "status_label": _text(a["status"]),
                       "settlement_label": _text(SettlementMethod(str(_text_value(a["settlement_method"])))),
                       "line_labels": [ProductLine(p).label if p in ProductLine.__members__.values() else p
                                       for p in a["product_lines"]]} for a in d["agreements"]]
        today = channel.today()
        values = {"product_lines": [], "territory": d.get("region") or "", "settlement_method": "prepayment",
                  "valid_from": today.isoformat(), "valid_to": today.replace(year=today.year + 1).isoformat()
                  if not (today.month == 2 and today.day == 29) else today.isoformat(),
                  "regions": "，".join(d.get("territory_regions") or []),
                  "industries": "，".join(d.get("territory_industries") or []), **values}
        return page(request, "admin_dealer.html", title=f"经销商：{d['legal_name']}", section="admin_dealers",
                    crumbs=(("经销商与协议", "/admin/dealers"), (d["legal_name"], None)), d=d,
                    status_label=_text(DealerStatus(str(_text_value(d["status"])))), agreements=agreements,
                    lines=[(p.value, p.label) for p in ProductLine],
                    methods=[(m.value, m.label) for m in SettlementMethod], values=values, errors=errors,
                    done=done, notice=notice, status_code=status_code)

    @post("/{dealer_id:int}/agreements", status_code=303)
    async def add_agreement(self, dealer_id: int, request: Request[Principal, Any, Any],
                            channel: ChannelService) -> Any:
        form = await request.form()
        values: dict[str, Any] = {k: str(form.get(k) or "")[:500] for k in AGREEMENT_FIELDS}
        values["product_lines"] = [str(v)[:20] for v in form.getall("product_lines", [])][:10]
        try:
            cmd = AddAgreement(dealer_id, tuple(values["product_lines"]), tuple(_list(values["territory"], "territory")),
                               values["settlement_method"], _day(values["valid_from"], "valid_from"),
                               _day(values["valid_to"], "valid_to"))
            await sync_to_thread(channel.add_agreement, request.user, cmd)
        except NotFound:
            raise
        except DomainError as exc:
            field = getattr(exc, "field", None) or exc.details.get("field")
            if isinstance(exc, BusinessRuleViolation):
                field = "valid_from"  # an overlapping agreement: the window is what to change
            errors = {str(field) if field in AGREEMENT_FIELDS else "agreement": exc.message}
            code = 409 if isinstance(exc, Conflict) else 422
            return await sync_to_thread(lambda: self._dealer_page(request, channel, dealer_id, values=values,
                                                                  errors=errors, status_code=code))
        return Redirect(path=f"/admin/dealers/{dealer_id}?done=agreement", status_code=303)

    @post("/{dealer_id:int}/agreements/{agreement_id:int}/terminate", status_code=303)
    async def terminate_agreement(self, dealer_id: int, agreement_id: int, request: Request[Principal, Any, Any],
                                  channel: ChannelService) -> Any:
        try:
            await sync_to_thread(channel.terminate_agreement, request.user, dealer_id, agreement_id)
        except NotFound:
            raise
        except DomainError as exc:
            stale = isinstance(exc, Conflict) and exc.code == "state.illegal_transition"
            notice = "已被他人修改，以下是当前状态" if stale else exc.message
            return await sync_to_thread(lambda: self._dealer_page(request, channel, dealer_id, values={}, errors={},
                                                                  notice=notice, status_code=409))
        return Redirect(path=f"/admin/dealers/{dealer_id}?done=terminated", status_code=303)

    @post("/{dealer_id:int}/territory", status_code=303)
    async def set_territory(self, dealer_id: int, request: Request[Principal, Any, Any],
                            channel: ChannelService) -> Any:
        form = await request.form()
        values = {"regions": str(form.get("regions") or "")[:2000], "industries": str(form.get("industries") or "")[:2000]}
        try:
            await sync_to_thread(channel.set_territory, request.user, dealer_id, _list(values["regions"], "regions"),
                                 _list(values["industries"], "industries"))
        except NotFound:
            raise
        except DomainError as exc:
            field = getattr(exc, "field", None)
            errors = {str(field) if field in ("regions", "industries") else "regions": exc.message}
            code = 409 if isinstance(exc, Conflict) else 422
            return await sync_to_thread(lambda: self._dealer_page(request, channel, dealer_id, values=values,
                                                                  errors=errors, status_code=code))
        return Redirect(path=f"/admin/dealers/{dealer_id}?done=territory", status_code=303)


def _text_value(value: Any) -> Any:
    return getattr(value, "value", value)
