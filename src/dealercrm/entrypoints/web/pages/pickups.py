"""提货委托 (the dealer's pickup authorizations, seed §3): the dealer names who collects which
vehicles of one contract at the gate — name, ID number, phone, validity — and may revoke it;
dispatch then issues the gate pass when the collector's ID matches (``pages/dispatch.py``).
The vehicles offered are the dealer's own in factory stock; an ID number is shown masked once
stored."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import Parameter
from litestar.response import Redirect, Stream, Template

from dealercrm.application import gate as gu
from dealercrm.application.exports import Exporter
from dealercrm.application.services.gate import GateService
from dealercrm.application.services.stock import StockService
from dealercrm.domain.errors import Conflict, InvalidValue, NotFound
from dealercrm.domain.gate import AuthorizationStatus, GatePassStatus
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import SHANGHAI
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.layout import page
from dealercrm.entrypoints.web.forms import beijing_moment
from dealercrm.entrypoints.web.pages.dispatch import authorization_export, authorization_list, decorate

DEALERS = (Role.DEALER,)
FIELDS = ("vins", "person_name", "id_number", "phone", "valid_from", "valid_to")
DEFAULT_DAYS = 3


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


class PickupPages(Controller):
    path = "/pickups"

    @get("/", guards=[requires(*DEALERS)], sync_to_thread=True)
    def index(self, request: Request[Principal, Any, Any], gate: GateService,
              status: Annotated[str | None, Parameter(max_length=20)] = None,
              after: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None,
              done: Annotated[str | None, Parameter(max_length=20)] = None) -> Template:
        return page(request, "pickups.html", title="提货委托", section="pickups", crumbs=(("提货委托", None),),
                    done=done, **authorization_list(gate, request.user, status, after))

    @get("/export", guards=[requires(*DEALERS)], sync_to_thread=True)
    def export(self, request: Request[Principal, Any, Any], gate: GateService, exports: Exporter,
               file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx",
               status: Annotated[str | None, Parameter(max_length=20)] = None) -> Stream:
        return authorization_export(gate, exports, request.user, file_format, status)

    @get("/new", guards=[requires(*DEALERS)], sync_to_thread=True)
    def new(self, request: Request[Principal, Any, Any], gate: GateService, stock: StockService) -> Template:
        now = gate.now()
        values = {"valid_from": _local(now), "valid_to": _local(now + dt.timedelta(days=DEFAULT_DAYS))}
        return self._form(request, stock, values=values, chosen=set(), errors={})

    def _form(self, request: Request[Principal, Any, Any], stock: StockService, *, values: dict[str, str],
              chosen: set[str], errors: dict[str, str], status_code: int = 200) -> Template:
        vehicles = stock.list_stock(request.user, where="factory", states=["in_factory_stock"], limit=500)
        return page(request, "pickup_new.html", title="新建提货委托", section="pickups",
                    crumbs=(("提货委托", "/pickups/"), ("新建", None)), vehicles=vehicles, values=values,
                    chosen=chosen, errors=errors, status_code=status_code)

    @post("/", guards=[requires(*DEALERS)], status_code=303)
    async def create(self, request: Request[Principal, Any, Any], gate: GateService, stock: StockService) -> Any:
        form = await request.form()
        values = {name: str(form.get(name) or "").strip()[:40] for name in FIELDS if name != "vins"}
        chosen = {str(v).strip().upper() for v in form.getall("vins", []) if str(v).strip()}
        try:
            if not chosen:
                raise InvalidValue("vins", "请至少选择一台车辆", code="vins.required")
            vehicles = {v["vin"]: v for v in await sync_to_thread(
                stock.list_stock, request.user, where="factory", states=["in_factory_stock"], limit=500)}
            contracts = {vehicles[v]["contract_no"] for v in chosen if v in vehicles}
            if len(contracts) > 1:
                raise InvalidValue("vins", "一张提货委托只能包含同一合同的车辆", code="vins.several_contracts")
            if not contracts or any(v not in vehicles for v in chosen):
                raise InvalidValue("vins", "所选车辆不在可提车的成品库存中，请刷新后重选", code="vins.not_available")
            cmd = gu.RegisterAuthorization(
                contract_no=contracts.pop(), vins=tuple(sorted(chosen)), person_name=values["person_name"],
                id_number=values["id_number"].upper(), phone=values["phone"],
                valid_from=beijing_moment(values["valid_from"], "valid_from"), valid_to=beijing_moment(values["valid_to"], "valid_to"))
            created = await sync_to_thread(gate.register_authorization, request.user, cmd)
        except (InvalidValue, Conflict, NotFound) as exc:
            field = exc.field if isinstance(exc, InvalidValue) and exc.field in FIELDS else "form"
            status = 422 if isinstance(exc, InvalidValue) else 409 if isinstance(exc, Conflict) else 404
            errors = {field: exc.message}
            return await sync_to_thread(lambda: self._form(request, stock, values=values, chosen=chosen,
                                                           errors=errors, status_code=status))
        return Redirect(path=f"/pickups/{created.id}?done=created", status_code=303)

    @get("/{authorization_id:int}", guards=[requires(*DEALERS)], sync_to_thread=True)
    def detail(self, authorization_id: int, request: Request[Principal, Any, Any], gate: GateService,
               done: Annotated[str | None, Parameter(max_length=20)] = None) -> Template:
        return self._detail(request, gate, authorization_id, errors={}, done=done)

    def _detail(self, request: Request[Principal, Any, Any], gate: GateService, authorization_id: int, *,
                errors: dict[str, str], done: str | None = None, status_code: int = 200) -> Template:
        auth = decorate(gate.authorization(request.user, authorization_id), AuthorizationStatus)
        passes = [decorate(dict(p), GatePassStatus) for p in auth.get("gate_passes") or ()]
        return page(request, "pickup.html", title=f"提货委托 {auth['number']}", section="pickups",
                    crumbs=(("提货委托", "/pickups/"), (auth["number"], None)), auth=auth, passes=passes,
                    errors=errors, done=done, status_code=status_code,
                    revocable=str(auth["status"]) == AuthorizationStatus.ACTIVE.value)

    @post("/{authorization_id:int}/revoke", guards=[requires(*DEALERS)], status_code=303)
    async def revoke(self, authorization_id: int, request: Request[Principal, Any, Any], gate: GateService) -> Any:
        form = await request.form()
        reason = str(form.get("reason") or "").strip()
        try:
            if not reason:
                raise InvalidValue("reason", "请填写撤销原因", code="reason.required")
            await sync_to_thread(gate.revoke_authorization, request.user, authorization_id, reason[:500])
        except (InvalidValue, Conflict) as exc:
            status = 422 if isinstance(exc, InvalidValue) else 409
            errors = {"reason" if isinstance(exc, InvalidValue) else "form": exc.message}
            return await sync_to_thread(lambda: self._detail(request, gate, authorization_id,
                                                             errors=errors, status_code=status))
        return Redirect(path=f"/pickups/{authorization_id}?done=revoked", status_code=303)
