"""售后 · 服务网络维护: after-sales staff create and edit a service station's profile (region,
address, contact, product lines, labour rate, qualification, capacity, coordinates); after-sales
or the station itself add and edit its technicians (name, phone, skills, availability) and
deactivate one. Each form is one call of the service, so a refused form writes nothing; the
errors sit beside their fields in Chinese and the form keeps what was typed."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.response import Redirect, Template

from dealercrm.application import aftersales as af
from dealercrm.application import service_network as sn
from dealercrm.application.services.aftersales import AftersalesService
from dealercrm.application.services.regions import RegionsService
from dealercrm.application.services.stations import StationsService
from dealercrm.domain.aftersales import FaultCategory, QualificationLevel
from dealercrm.domain.channel import ProductLine
from dealercrm.domain.errors import Conflict, DomainError, InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.service_network import TechnicianStatus
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.forms import new_form_token, posted_form_token
from dealercrm.entrypoints.web.layout import page
from dealercrm.entrypoints.web.pages.dealer_stock import yuan_to_fen

STATION_EDITORS = (Role.AFTER_SALES, Role.ADMIN)
TECHNICIAN_EDITORS = (Role.AFTER_SALES, Role.ADMIN, Role.STATION)
STATION_FIELDS = ("name", "uscc", "region", "province", "city", "address", "contact_name", "contact_phone",
                  "labour_rate", "qualification", "capacity", "latitude", "longitude")
# the domain's field names → the form's
FIELD_OF = {"phone": "contact_phone", "labour_rate_fen": "labour_rate", "product_line": "product_lines"}
STALE = "已被他人修改，以下是当前内容，请确认后重新保存"
DUPLICATE = "未保存：该统一社会信用代码已登记为其他服务站"


def _station_values(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {k: str(form.get(k) or "").strip()[:300] for k in STATION_FIELDS}
    values["product_lines"] = [str(v)[:20] for v in form.getall("product_lines", [])][:10]
    return values


def _coordinate(raw: str, field: str, low: float, high: float) -> float | None:
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InvalidValue(field, "请输入十进制度数，如 30.5728", code="geo.coordinate_invalid") from None
    if not low <= value <= high:
        raise InvalidValue(field, f"须在{low:g}到{high:g}之间", code="geo.coordinate_invalid")
    return value


def _station_in(values: dict[str, Any]) -> af.StationIn:
    """The form as the service's command; a malformed number is ``InvalidValue`` naming its field."""
    capacity = values["capacity"] or "5"
    if not capacity.isdigit() or len(capacity) > 6:
        raise InvalidValue("capacity", "接单能力须为1到1000的整数", code="aftersales.capacity_invalid")
    if values["qualification"] not in {q.value for q in QualificationLevel}:
        raise InvalidValue("qualification", "请选择资质等级", code="aftersales.qualification_unknown")
    return af.StationIn(
        name=values["name"], uscc=values["uscc"].upper(), region=values["region"], province=values["province"],
        city=values["city"], address=values["address"], contact_name=values["contact_name"],
        contact_phone=values["contact_phone"], product_lines=tuple(values["product_lines"]),
        labour_rate_fen=yuan_to_fen(values["labour_rate"], "labour_rate"), qualification=values["qualification"],
        capacity=int(capacity), latitude=_coordinate(values["latitude"], "latitude", -90, 90),
        longitude=_coordinate(values["longitude"], "longitude", -180, 180))


def _station_form_values(row: dict[str, Any]) -> dict[str, Any]:
    fen = int(row["labour_rate_fen"])
    values: dict[str, Any] = {k: "" if row.get(k) is None else str(row[k]) for k in STATION_FIELDS if k in row}
    values.update(labour_rate=f"{fen // 100}.{fen % 100:02d}", qualification=str(row["qualification"]),
                  product_lines=[str(p) for p in row.get("product_lines") or ()])
    return values


def _technician_values(form: Any) -> dict[str, Any]:
    return {"name": str(form.get("name") or "").strip()[:100], "phone": str(form.get("phone") or "").strip()[:30],
            "status": str(form.get("status") or "").strip()[:20],
            "skills": [str(v)[:30] for v in form.getall("skills", [])][:20]}


def _error_field(exc: InvalidValue, fields: tuple[str, ...]) -> str:
    field = FIELD_OF.get(exc.field, exc.field)
    return field if field in fields else "form"


class StationAdminPages(Controller):
    path = "/aftersales"

    # -- 服务站档案 ------------------------------------------------------------------------------

    def _station_form(self, request: Request[Principal, Any, Any], *, values: dict[str, Any], errors: dict[str, str],
                      station: dict[str, Any] | None, regions: list[str], notice: str | None = None,
                      status_code: int = 200) -> Template:
        title = f"编辑服务站 {station['name']}" if station else "新增服务站"
        crumbs: tuple[tuple[str, str | None], ...] = (("服务站", "/aftersales/stations"),)
        if station:
            crumbs += ((str(station["name"]), f"/aftersales/stations/{station['id']}"),)
        return page(request, "aftersales_station_form.html", title=title, section="as_stations",
                    crumbs=(*crumbs, ("编辑" if station else "新增", None)), values=values, errors=errors,
                    station=station, notice=notice, regions=regions, lines=[(p.value, p.label) for p in ProductLine],
                    qualifications=[(q.value, q.label) for q in QualificationLevel],
                    form_token=None if station else new_form_token(), status_code=status_code)

    @get("/stations/new", guards=[requires(*STATION_EDITORS)], sync_to_thread=True)
    def new_station(self, request: Request[Principal, Any, Any], regions: RegionsService) -> Template:
        values: dict[str, Any] = {k: "" for k in STATION_FIELDS}
        values.update(capacity="5", qualification=QualificationLevel.CLASS_2.value, product_lines=[])
        return self._station_form(request, values=values, errors={}, station=None, regions=regions.active_names())

    @post("/stations/new", guards=[requires(*STATION_EDITORS)], status_code=303)
    async def create_station(self, request: Request[Principal, Any, Any], aftersales: AftersalesService,
                             regions: RegionsService) -> Any:
        form = await request.form()
        values = _station_values(form)
        try:
            cmd = _station_in(values)
            station_id = await sync_to_thread(lambda: aftersales.create_station_once(
                request.user, cmd, form_token=posted_form_token(form)))
        except InvalidValue as exc:
            return self._station_form(request, values=values, errors={_error_field(exc, (*STATION_FIELDS,
                                      "product_lines")): exc.message}, station=None,
                                      regions=await sync_to_thread(regions.active_names), status_code=422)
        except Conflict as exc:  # the only unique field a form can collide on is the USCC
            errors = {"uscc": DUPLICATE} if exc.code == "db.integrity_conflict" else {"form": exc.message}
            return self._station_form(request, values=values, errors=errors, station=None,
                                      regions=await sync_to_thread(regions.active_names), status_code=409)
        return Redirect(path=f"/aftersales/stations/{station_id}", status_code=303)

    @get("/stations/{station_id:int}/edit", guards=[requires(*STATION_EDITORS)], sync_to_thread=True)
    def edit_station(self, station_id: int, request: Request[Principal, Any, Any],
                     aftersales: AftersalesService, regions: RegionsService) -> Template:
        station = aftersales.station(request.user, station_id)
        return self._station_form(request, values=_station_form_values(station), errors={}, station=station,
                                  regions=regions.active_names())

    @post("/stations/{station_id:int}/edit", guards=[requires(*STATION_EDITORS)], status_code=303)
    async def update_station(self, station_id: int, request: Request[Principal, Any, Any],
                             aftersales: AftersalesService, regions: RegionsService) -> Any:
        station = await sync_to_thread(aftersales.station, request.user, station_id)
        names = await sync_to_thread(regions.active_names)
        values = _station_values(await request.form())
        try:
            await sync_to_thread(aftersales.update_station, request.user, station_id, _station_in(values))
        except InvalidValue as exc:
            errors = {_error_field(exc, (*STATION_FIELDS, "product_lines")): exc.message}
            return self._station_form(request, values=values, errors=errors, station=station, regions=names,
                                      status_code=422)
        except Conflict as exc:
            if exc.code == "db.integrity_conflict":
                return self._station_form(request, values=values, errors={"uscc": DUPLICATE}, station=station,
                                          regions=names, status_code=409)
            current = await sync_to_thread(aftersales.station, request.user, station_id)
            return self._station_form(request, values=_station_form_values(current), errors={}, station=current,
                                      regions=names, notice=STALE, status_code=409)
        return Redirect(path=f"/aftersales/stations/{station_id}?saved=1", status_code=303)

    # -- 技师 ----------------------------------------------------------------------------------

    def _technician_form(self, request: Request[Principal, Any, Any], *, station: dict[str, Any],
                         technician: dict[str, Any] | None, values: dict[str, Any], errors: dict[str, str],
                         status_code: int = 200) -> Template:
        title = f"编辑技师 {technician['name']}" if technician else "新增技师"
        return page(request, "aftersales_technician_form.html", title=title, section="as_stations",
                    crumbs=(("服务站", "/aftersales/stations"), (str(station["name"]), f"/aftersales/stations/{station['id']}"),
                            (title, None)), station=station, technician=technician, values=values, errors=errors,
                    skills=[(f.value, f.label) for f in FaultCategory],
                    statuses=[(s.value, s.label) for s in TechnicianStatus],
                    form_token=None if technician else new_form_token(), status_code=status_code)

    @get("/stations/{station_id:int}/technicians/new", guards=[requires(*TECHNICIAN_EDITORS)], sync_to_thread=True)
    def new_technician(self, station_id: int, request: Request[Principal, Any, Any], aftersales: AftersalesService,
                       stations: StationsService) -> Template:
        stations.technicians(request.user, station_id)  # 404 for another station's user
        station = aftersales.station(request.user, station_id)
        return self._technician_form(request, station=station, technician=None, errors={},
                                     values={"name": "", "phone": "", "skills": [], "status": "available"})

    @post("/stations/{station_id:int}/technicians/new", guards=[requires(*TECHNICIAN_EDITORS)], status_code=303)
    async def add_technician(self, station_id: int, request: Request[Principal, Any, Any],
                             aftersales: AftersalesService, stations: StationsService) -> Any:
        station = await sync_to_thread(aftersales.station, request.user, station_id)
        form = await request.form()
        values = _technician_values(form)
        try:
            cmd = sn.TechnicianIn(values["name"], values["phone"], tuple(values["skills"]))
            await sync_to_thread(lambda: stations.add_technician_once(request.user, station_id, cmd,
                                                                      form_token=posted_form_token(form)))
        except InvalidValue as exc:
            return self._technician_form(request, station=station, technician=None, values=values, status_code=422,
                                         errors={_error_field(exc, ("name", "phone", "skills")): exc.message})
        return Redirect(path=f"/aftersales/stations/{station_id}?saved=1", status_code=303)

    @get("/technicians/{technician_id:int}/edit", guards=[requires(*TECHNICIAN_EDITORS)], sync_to_thread=True)
    def edit_technician(self, technician_id: int, request: Request[Principal, Any, Any],
                        aftersales: AftersalesService, stations: StationsService) -> Template:
        tech = stations.technician(request.user, technician_id)
        station = aftersales.station(request.user, int(tech["station_id"]))
        values = {"name": tech["name"], "phone": tech["phone"], "skills": list(tech.get("skills") or ()),
                  "status": str(tech["status"])}
        return self._technician_form(request, station=station, technician=tech, values=values, errors={})

    @post("/technicians/{technician_id:int}/edit", guards=[requires(*TECHNICIAN_EDITORS)], status_code=303)
    async def update_technician(self, technician_id: int, request: Request[Principal, Any, Any],
                                aftersales: AftersalesService, stations: StationsService) -> Any:
        tech = await sync_to_thread(stations.technician, request.user, technician_id)
        station = await sync_to_thread(aftersales.station, request.user, int(tech["station_id"]))
        values = _technician_values(await request.form())
        try:
            if values["status"] not in {s.value for s in TechnicianStatus}:  # checked before anything is written
                raise InvalidValue("status", "请选择技师状态", code="technician.status_unknown")
            cmd = sn.TechnicianIn(values["name"], values["phone"], tuple(values["skills"]))
            await sync_to_thread(stations.update_technician, request.user, technician_id, cmd)
            if values["status"] != str(tech["status"]):
                await sync_to_thread(stations.set_availability, request.user, technician_id, values["status"])
        except InvalidValue as exc:
            return self._technician_form(request, station=station, technician=tech, values=values, status_code=422,
                                         errors={_error_field(exc, ("name", "phone", "skills", "status")): exc.message})
        except DomainError as exc:  # e.g. deactivated meanwhile
            return self._technician_form(request, station=station, technician=tech, values=values, status_code=409,
                                         errors={"form": exc.message})
        return Redirect(path=f"/aftersales/stations/{station['id']}?saved=1", status_code=303)

    @post("/technicians/{technician_id:int}/deactivate", guards=[requires(*TECHNICIAN_EDITORS)], status_code=303)
    async def deactivate_technician(self, technician_id: int, request: Request[Principal, Any, Any],
                                    stations: StationsService) -> Redirect:
        tech = await sync_to_thread(stations.technician, request.user, technician_id)
        await sync_to_thread(stations.deactivate_technician, request.user, technician_id)
        return Redirect(path=f"/aftersales/stations/{tech['station_id']}?saved=1", status_code=303)
