"""发运与门卫办公室: pickup authorizations (介绍信) and the gate passes dispatch issues from them
(issue, hand over, void, reissue), the exit log, and outbound shipments (carrier, driver, truck,
vehicles; depart, cancel). Every list has its XLSX/CSV export."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import Parameter
from litestar.response import Redirect, Stream, Template

from dealercrm.application import gate as gu
from dealercrm.application import shipping as sh
from dealercrm.application.exports import Column, ColumnKind, Exporter, Table, keyset_rows
from dealercrm.application.services.gate import GateService
from dealercrm.domain.errors import Conflict, InvalidValue
from dealercrm.domain.gate import AuthorizationStatus, GatePassStatus
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.shipping import ShipmentStatus
from dealercrm.entrypoints.http.downloads import download
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.forms import beijing_moment
from dealercrm.entrypoints.web.layout import page

DISPATCHERS = (Role.DISPATCH, Role.ADMIN)
EXIT_READERS = (Role.DISPATCH, Role.ADMIN, Role.GUARD, Role.FINANCE)
PAGE_SIZE = 50
EXPORT_PAGE = 1000
_T, _I, _DT = ColumnKind.TEXT, ColumnKind.INTEGER, ColumnKind.DATETIME
PASS_TABLE = Table("出门证", (
    Column("pass_no", "出门证号", _T, 18), Column("status_label", "状态", _T, 12), Column("dealer_code", "经销商编号", _T, 12),
    Column("dealer_name", "经销商", _T, 28), Column("contract_no", "合同编号", _T, 18),
    Column("authorization_no", "介绍信", _T, 18), Column("vin_list", "车架号", _T, 40), Column("vehicle_count", "台数", _I, 6),
    Column("person_name", "提车人", _T, 10), Column("created_at", "开具时间", _DT, 17),
    Column("approved_at", "审核时间", _DT, 17), Column("handed_over_at", "交车时间", _DT, 17),
    Column("exited_at", "出门时间", _DT, 17), Column("valid_to", "有效期至", _DT, 17),
))
AUTH_TABLE = Table("提车介绍信", (
    Column("number", "介绍信编号", _T, 18), Column("status_label", "状态", _T, 8), Column("dealer_code", "经销商编号", _T, 12),
    Column("dealer_name", "经销商", _T, 28), Column("contract_no", "合同编号", _T, 18),
    Column("person_name", "提车人", _T, 10), Column("id_masked", "身份证号", _T, 20), Column("vin_list", "车架号", _T, 40),
    Column("vehicle_count", "台数", _I, 6), Column("valid_from", "有效期自", _DT, 17), Column("valid_to", "有效期至", _DT, 17),
))
SHIPMENT_TABLE = Table("发运单", (
    Column("shipment_no", "发运单号", _T, 18), Column("status_label", "状态", _T, 8),
    Column("dealer_name", "经销商", _T, 28), Column("contract_no", "合同编号", _T, 18), Column("carrier", "承运商", _T, 24),
    Column("driver_name", "司机", _T, 10), Column("truck_plate", "车牌", _T, 12), Column("vin_list", "车架号", _T, 40),
    Column("vehicle_count", "台数", _I, 6), Column("planned_departure", "计划发车", _DT, 17),
    Column("departed_at", "实际发车", _DT, 17), Column("expected_arrival", "预计到达", _DT, 17),
    Column("receipt_no", "回执单号", _T, 18),
))


def _choice(value: str | None, enum: Any, field: str) -> str | None:
    if not value:
        return None
    if value not in {m.value for m in enum}:
        raise InvalidValue(field, "未知的状态", code="status.unknown")
    return value


def decorate(row: dict[str, Any], enum: Any) -> dict[str, Any]:
    row["status_label"] = enum(str(row["status"])).label
    row["vin_list"] = "、".join(row.get("vins") or ())
    row["vehicle_count"] = len(row.get("vins") or ())
    return row


def _all(fetch: Any, enum: Any) -> Any:
    return (decorate(r, enum) for r in keyset_rows(fetch, lambda r: r["id"], page=EXPORT_PAGE))


def _reason(form: Any, name: str = "reason", label: str = "原因") -> str:
    value = str(form.get(name) or "").strip()
    if not value:
        raise InvalidValue(name, f"请填写{label}", code="reason.required")
    if len(value) > 500:
        raise InvalidValue(name, "内容不能超过500字", code="reason.too_long")
    return value


def _id_number(form: Any) -> str | None:
    value = str(form.get("id_number") or "").strip().upper()
    return value or None


def authorization_list(gate: GateService, actor: Principal, status: str | None,
                       after: int | None) -> dict[str, Any]:
    """One page of the pickup authorizations ``actor`` may see (dispatch: all; a dealer: its own),
    as the list templates take it: rows, the filter's error, the next page."""
    error = None
    rows: list[dict[str, Any]] = []
    try:
        chosen = _choice(status, AuthorizationStatus, "status")
        rows = [decorate(r, AuthorizationStatus) for r in
                gate.list_authorizations(actor, status=chosen, after_id=after, limit=PAGE_SIZE + 1)]
    except InvalidValue as exc:
        error = {"field": exc.field, "message": exc.message}
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return {"rows": rows, "status": status or "", "error": error,
            "statuses": [(s.value, s.label) for s in AuthorizationStatus],
            "next_after": rows[-1]["id"] if more and rows else None,
            "export_query": urlencode({"status": status} if status else {})}


def authorization_export(gate: GateService, exports: Exporter, actor: Principal, file_format: str,
                         status: str | None) -> Stream:
    exports.check_format(file_format)
    chosen = _choice(status, AuthorizationStatus, "status")
    rows = _all(lambda after: gate.list_authorizations(actor, status=chosen, after_id=after, limit=EXPORT_PAGE),
                AuthorizationStatus)
    return download(exports.download(file_format, "pickup-authorizations", AUTH_TABLE, rows))


class DispatchPages(Controller):
    path = "/dispatch"

    # -- pickup authorizations (介绍信) -----------------------------------------------------------

    @get("/authorizations", guards=[requires(*DISPATCHERS)], sync_to_thread=True)
    def authorizations(self, request: Request[Principal, Any, Any], gate: GateService,
                       status: Annotated[str | None, Parameter(max_length=20)] = "active",
                       after: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None) -> Template:
        return page(request, "dispatch_authorizations.html", title="提车介绍信", section="dispatch_auth",
                    crumbs=(("提车介绍信", None),), **authorization_list(gate, request.user, status, after))

    @get("/authorizations/export", guards=[requires(*DISPATCHERS)], sync_to_thread=True)
    def authorizations_export(self, request: Request[Principal, Any, Any], gate: GateService, exports: Exporter,
                              file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx",
                              status: Annotated[str | None, Parameter(max_length=20)] = None) -> Stream:
        return authorization_export(gate, exports, request.user, file_format, status)

    @get("/authorizations/{authorization_id:int}", guards=[requires(*DISPATCHERS)], sync_to_thread=True)
    def authorization(self, authorization_id: int, request: Request[Principal, Any, Any],
                      gate: GateService) -> Template:
        return self._authorization_page(request, gate, authorization_id, errors={}, values={})

    def _authorization_page(self, request: Request[Principal, Any, Any], gate: GateService, authorization_id: int,
                            *, errors: dict[str, str], values: dict[str, str], status_code: int = 200) -> Template:
        auth = decorate(gate.authorization(request.user, authorization_id), AuthorizationStatus)
        passes = [decorate(p, GatePassStatus) for p in gate.list_passes(request.user, limit=200)
                  if p["authorization_id"] == authorization_id]
        return page(request, "dispatch_authorization.html", title=f"介绍信 {auth['number']}", section="dispatch_auth",
                    crumbs=(("提车介绍信", "/dispatch/authorizations"), (auth["number"], None)), auth=auth,
                    passes=passes, errors=errors, values=values, status_code=status_code,
                    usable=str(auth["status"]) == AuthorizationStatus.ACTIVE.value)

    @post("/authorizations/{authorization_id:int}/passes", guards=[requires(*DISPATCHERS)], status_code=303)
    async def issue_pass(self, authorization_id: int, request: Request[Principal, Any, Any], gate: GateService) -> Any:
        """出门证: issued once the collector's ID matched the letter (typed at the desk, or the
        card check the kiosk recorded)."""
        form = await request.form()
        values = {"id_number": str(form.get("id_number") or "")[:18]}
        try:
            cmd = gu.CreateGatePass(authorization_id, id_number=_id_number(form), id_source="desk")
            created = await sync_to_thread(gate.create_pass, request.user, cmd)
        except (InvalidValue, Conflict) as exc:
            field = exc.field if isinstance(exc, InvalidValue) and exc.field in ("id_number",) else "form"
            if exc.code.startswith("id_number") or "id_not_verified" in exc.code:
                field = "id_number"
            errors, status = {field: exc.message}, 422 if isinstance(exc, InvalidValue) else 409
            return await sync_to_thread(lambda: self._authorization_page(
                request, gate, authorization_id, errors=errors, values=values, status_code=status))
        return Redirect(path=f"/dispatch/passes/{created.id}?issued=1", status_code=303)

    # -- gate passes (出门证) --------------------------------------------------------------------

    @get("/passes", guards=[requires(*DISPATCHERS)], sync_to_thread=True)
    def passes(self, request: Request[Principal, Any, Any], gate: GateService,
               status: Annotated[str | None, Parameter(max_length=20)] = None,
               after: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None) -> Template:
        error = None
        rows: list[dict[str, Any]] = []
        try:
            chosen = _choice(status, GatePassStatus, "status")
            rows = [decorate(r, GatePassStatus) for r in
                    gate.list_passes(request.user, status=chosen, after_id=after, limit=PAGE_SIZE + 1)]
        except InvalidValue as exc:
            error = {"field": exc.field, "message": exc.message}
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        return page(request, "dispatch_passes.html", title="出门证", section="dispatch_passes",
                    crumbs=(("出门证", None),), rows=rows, status=status or "", error=error,
                    statuses=[(s.value, s.label) for s in GatePassStatus],
                    next_after=rows[-1]["id"] if more and rows else None,
                    export_query=urlencode({"status": status} if status else {}))

    @get("/passes/export", guards=[requires(*DISPATCHERS)], sync_to_thread=True)
    def passes_export(self, request: Request[Principal, Any, Any], gate: GateService, exports: Exporter,
                      file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx",
                      status: Annotated[str | None, Parameter(max_length=20)] = None) -> Stream:
        exports.check_format(file_format)
        chosen = _choice(status, GatePassStatus, "status")
        rows = _all(lambda after: gate.list_passes(request.user, status=chosen, after_id=after, limit=EXPORT_PAGE),
                    GatePassStatus)
        return download(exports.download(file_format, "gate-passes", PASS_TABLE, rows))

    @get("/passes/{gate_pass_id:int}", guards=[requires(*DISPATCHERS)], sync_to_thread=True)
    def gate_pass(self, gate_pass_id: int, request: Request[Principal, Any, Any], gate: GateService) -> Template:
        return self._pass_page(request, gate, gate_pass_id, errors={}, values={})

    def _pass_page(self, request: Request[Principal, Any, Any], gate: GateService, gate_pass_id: int, *,
                   errors: dict[str, str], values: dict[str, str], status_code: int = 200) -> Template:
        row = decorate(gate.gate_pass(request.user, gate_pass_id), GatePassStatus)
        status = GatePassStatus(str(row["status"]))
        flash = "出门证已开具，等待财务审核。" if request.query_params.get("issued") else None
        return page(request, "dispatch_pass.html", title=f"出门证 {row['pass_no']}", section="dispatch_passes",
                    crumbs=(("出门证", "/dispatch/passes"), (row["pass_no"], None)), gate_pass=row,
                    can_hand_over=status is GatePassStatus.APPROVED, live=status.is_live, errors=errors,
                    values=values, flash=flash, status_code=status_code)

    @post("/passes/{gate_pass_id:int}/{action:str}", guards=[requires(*DISPATCHERS)], status_code=303)
    async def pass_action(self, gate_pass_id: int, action: str, request: Request[Principal, Any, Any],
                          gate: GateService) -> Any:
        """交车 (hand over), 作废 (void) or 重新开具 (reissue: void and issue anew in one step)."""
        form = await request.form()
        values = {"reason": str(form.get("reason") or "")[:500], "id_number": str(form.get("id_number") or "")[:18]}
        target = gate_pass_id
        try:
            if action == "handover":
                await sync_to_thread(gate.hand_over, request.user, gate_pass_id)
            elif action == "void":
                reason = _reason(form, label="作废原因")
                await sync_to_thread(gate.void_pass, request.user, gate_pass_id, reason)
            elif action == "reissue":
                reason = _reason(form, label="重新开具原因")
                number = _id_number(form)
                cmd = gu.CreateGatePass(0, id_number=number, id_source="desk") if number else None
                created = await sync_to_thread(lambda: gate.reissue_pass(request.user, gate_pass_id, reason, cmd))
                target = created.id
            else:
                raise InvalidValue("action", "未知的操作", code="action.unknown")
        except (InvalidValue, Conflict) as exc:
            field = exc.field if isinstance(exc, InvalidValue) and exc.field in values else "form"
            if "id_not_verified" in exc.code or exc.code.startswith("id_number"):
                field = "id_number"
            errors, status = {field: exc.message}, 422 if isinstance(exc, InvalidValue) else 409
            return await sync_to_thread(lambda: self._pass_page(
                request, gate, gate_pass_id, errors=errors, values=values, status_code=status))
        return Redirect(path=f"/dispatch/passes/{target}", status_code=303)

    # -- the exit log (出门记录) -----------------------------------------------------------------

    @get("/exits", guards=[requires(*EXIT_READERS)], sync_to_thread=True)
    def exits(self, request: Request[Principal, Any, Any], gate: GateService,
              after: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None) -> Template:
        rows = [decorate(r, GatePassStatus) for r in gate.list_passes(
            request.user, status=GatePassStatus.EXITED.value, after_id=after, limit=PAGE_SIZE + 1)]
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        return page(request, "dispatch_exits.html", title="出门记录", section="dispatch_exits",
                    crumbs=(("出门记录", None),), rows=rows, next_after=rows[-1]["id"] if more and rows else None,
                    export_query="")

    @get("/exits/export", guards=[requires(*EXIT_READERS)], sync_to_thread=True)
    def exits_export(self, request: Request[Principal, Any, Any], gate: GateService, exports: Exporter,
                     file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx") -> Stream:
        exports.check_format(file_format)
        rows = _all(lambda after: gate.list_passes(request.user, status=GatePassStatus.EXITED.value, after_id=after,
                                                   limit=EXPORT_PAGE), GatePassStatus)
        return download(exports.download(file_format, "gate-exits", PASS_TABLE, rows))

    # -- shipments (外送) ------------------------------------------------------------------------

    @get("/shipments", guards=[requires(*DISPATCHERS)], sync_to_thread=True)
    def shipments(self, request: Request[Principal, Any, Any], gate: GateService,
                  status: Annotated[str | None, Parameter(max_length=20)] = None,
                  after: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None) -> Template:
        error = None
        rows: list[dict[str, Any]] = []
        try:
            chosen = _choice(status, ShipmentStatus, "status")
            rows = [decorate(r, ShipmentStatus) for r in
                    gate.list_shipments(request.user, status=chosen, after_id=after, limit=PAGE_SIZE + 1)]
        except InvalidValue as exc:
            error = {"field": exc.field, "message": exc.message}
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        return page(request, "dispatch_shipments.html", title="发运单", section="dispatch_shipments",
                    crumbs=(("发运单", None),), rows=rows, status=status or "", error=error,
                    statuses=[(s.value, s.label) for s in ShipmentStatus],
                    next_after=rows[-1]["id"] if more and rows else None,
                    export_query=urlencode({"status": status} if status else {}))

    @get("/shipments/export", guards=[requires(*DISPATCHERS)], sync_to_thread=True)
    def shipments_export(self, request: Request[Principal, Any, Any], gate: GateService, exports: Exporter,
                         file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx",
                         status: Annotated[str | None, Parameter(max_length=20)] = None) -> Stream:
        exports.check_format(file_format)
        chosen = _choice(status, ShipmentStatus, "status")
        rows = _all(lambda after: gate.list_shipments(request.user, status=chosen, after_id=after,
                                                      limit=EXPORT_PAGE), ShipmentStatus)
        return download(exports.download(file_format, "shipments", SHIPMENT_TABLE, rows))

    @get("/shipments/new", guards=[requires(*DISPATCHERS)], sync_to_thread=True)
    def shipment_form(self, request: Request[Principal, Any, Any]) -> Template:
        return self._shipment_form(request, values={}, errors={})

    def _shipment_form(self, request: Request[Principal, Any, Any], *, values: dict[str, str],
                       errors: dict[str, str], status_code: int = 200) -> Template:
        return page(request, "dispatch_shipment_new.html", title="登记外送", section="dispatch_shipments",
                    crumbs=(("发运单", "/dispatch/shipments"), ("登记外送", None)), values=values, errors=errors,
                    status_code=status_code)

    @post("/shipments", guards=[requires(*DISPATCHERS)], status_code=303)
    async def create_shipment(self, request: Request[Principal, Any, Any], gate: GateService) -> Any:
        form = await request.form()
        names = ("vins", "carrier", "driver_name", "driver_id_number", "driver_phone", "truck_plate",
                 "planned_departure", "expected_arrival", "contract_no")
        values = {k: str(form.get(k) or "")[:2000 if k == "vins" else 100] for k in names}
        try:
            vins = tuple(v for v in (p.strip().upper() for p in values["vins"].replace("，", ",").replace("\n", ",")
                                     .split(",")) if v)
            if not vins:
                raise InvalidValue("vins", "请填写至少一个车架号", code="shipment.vins_required")
            cmd = sh.CreateShipment(
                vins=vins, carrier=values["carrier"].strip(), driver_name=values["driver_name"].strip(),
                driver_id_number=values["driver_id_number"].strip().upper(),
                driver_phone=values["driver_phone"].strip(), truck_plate=values["truck_plate"].strip(),
                planned_departure=beijing_moment(values["planned_departure"], "planned_departure"),
                expected_arrival=beijing_moment(values["expected_arrival"], "expected_arrival"),
                contract_no=values["contract_no"].strip() or None)
            created = await sync_to_thread(gate.create_shipment, request.user, cmd)
        except (InvalidValue, Conflict) as exc:
            field = exc.field if isinstance(exc, InvalidValue) and exc.field else "form"
            field = field.split("[")[0]
            errors = {field if field in values else "form": exc.message}
            return self._shipment_form(request, values=values, errors=errors,
                                       status_code=422 if isinstance(exc, InvalidValue) else 409)
        return Redirect(path=f"/dispatch/shipments/{created.id}", status_code=303)

    @get("/shipments/{shipment_id:int}", guards=[requires(*DISPATCHERS)], sync_to_thread=True)
    def shipment(self, shipment_id: int, request: Request[Principal, Any, Any], gate: GateService) -> Template:
        return self._shipment_page(request, gate, shipment_id, errors={}, values={})

    def _shipment_page(self, request: Request[Principal, Any, Any], gate: GateService, shipment_id: int, *,
                       errors: dict[str, str], values: dict[str, str], status_code: int = 200) -> Template:
        row = decorate(gate.shipment(request.user, shipment_id), ShipmentStatus)
        return page(request, "dispatch_shipment.html", title=f"发运单 {row['shipment_no']}",
                    section="dispatch_shipments", crumbs=(("发运单", "/dispatch/shipments"), (row["shipment_no"], None)),
                    shipment=row, planned=str(row["status"]) == ShipmentStatus.PLANNED.value, errors=errors,
                    values=values, status_code=status_code)

    @post("/shipments/{shipment_id:int}/{action:str}", guards=[requires(*DISPATCHERS)], status_code=303)
    async def shipment_action(self, shipment_id: int, action: str, request: Request[Principal, Any, Any],
                              gate: GateService) -> Any:
        form = await request.form()
        values = {"reason": str(form.get("reason") or "")[:500]}
        try:
            if action == "depart":
                await sync_to_thread(gate.depart_shipment, request.user, shipment_id)
            elif action == "cancel":
                reason = _reason(form, label="取消原因")
                await sync_to_thread(gate.cancel_shipment, request.user, shipment_id, reason)
            else:
                raise InvalidValue("action", "未知的操作", code="action.unknown")
        except (InvalidValue, Conflict) as exc:
            field = exc.field if isinstance(exc, InvalidValue) and exc.field in values else "form"
            errors, status = {field: exc.message}, 422 if isinstance(exc, InvalidValue) else 409
            return await sync_to_thread(lambda: self._shipment_page(
                request, gate, shipment_id, errors=errors, values=values, status_code=status))
        return Redirect(path=f"/dispatch/shipments/{shipment_id}", status_code=303)
