"""售后: the service-station directory with the nearest stations and their distances (the
browser's location over HTTPS, else a chosen city), service requests and their assignment to a
station and a technician, repair records with photos and videos from a phone's camera, claims
review and the monthly settlements. Stations see only their own work; anything else is 404."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from litestar import Controller, Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import UploadFile
from litestar.params import Parameter
from litestar.response import Redirect, Stream, Template

from dealercrm.application import aftersales as af
from dealercrm.application.exports import (
    Column,
    ColumnKind,
    Exporter,
    Table,
    keyset_rows,
)
from dealercrm.application.services.aftersales import AftersalesService
from dealercrm.application.services.media import MediaService
from dealercrm.application.services.parts_supply import BILL_READERS, PartsSupplyService
from dealercrm.application.services.stations import StationsService
from dealercrm.application.services.workflow import WorkflowService
from dealercrm.domain.aftersales import (
    ClaimState,
    FaultCategory,
    PartUse,
    QualificationLevel,
    RequestState,
    StationStatus,
    parse_hours,
)
from dealercrm.domain.channel import ProductLine
from dealercrm.domain.errors import (
    BusinessRuleViolation,
    Conflict,
    DomainError,
    InvalidValue,
    PermissionDenied,
)
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.service_network import TechnicianStatus
from dealercrm.domain.workflow import StepStatus
from dealercrm.entrypoints.http.downloads import download
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.forms import beijing_moment
from dealercrm.entrypoints.web.layout import page

READERS = (Role.AFTER_SALES, Role.ADMIN, Role.FINANCE, Role.STATION)
STAFF = (Role.AFTER_SALES, Role.ADMIN)
WORKERS = (*STAFF, Role.STATION)
NEAREST_READERS = (Role.AFTER_SALES, Role.ADMIN, Role.DEALER, Role.SALES, Role.REGION_MANAGER)
CLAIM_DECIDERS = (Role.AFTER_SALES, Role.FINANCE, Role.ADMIN)
PAGE_SIZE = 50
EXPORT_PAGE = 1000
UPLOAD_CEILING = 512 * 1024 * 1024
_CACHE = {"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"}


def media_file(media: MediaService, user: Principal, media_id: int, *, thumbnail: bool = False) -> Response[bytes]:
    """A media file (or its thumbnail) for a page, to whoever may see its owner (404 otherwise)."""
    content_type, data = media.content(user, media_id, thumbnail=thumbnail)
    return Response(data, media_type=content_type, headers=_CACHE)

#: Where a person without a location service may say they are (WGS-84, city centres).
CITIES: dict[str, tuple[float, float]] = {
    "北京市": (39.9042, 116.4074), "天津市": (39.0842, 117.2009), "石家庄市": (38.0428, 114.5149),
    "太原市": (37.8706, 112.5489), "济南市": (36.6512, 117.1201), "青岛市": (36.0671, 120.3826),
    "郑州市": (34.7466, 113.6254), "洛阳市": (34.6197, 112.4540), "西安市": (34.3416, 108.9398),
    "武汉市": (30.5928, 114.3055), "南京市": (32.0603, 118.7969), "上海市": (31.2304, 121.4737),
    "杭州市": (30.2741, 120.1551), "合肥市": (31.8206, 117.2272), "长沙市": (28.2282, 112.9388),
    "成都市": (30.5728, 104.0668), "重庆市": (29.5630, 106.5516), "广州市": (23.1291, 113.2644),
    "沈阳市": (41.8057, 123.4315), "乌鲁木齐市": (43.8256, 87.6168),
}
RADII = (50, 100, 200, 500, 1000)

_T, _M, _I, _DT = ColumnKind.TEXT, ColumnKind.MONEY, ColumnKind.INTEGER, ColumnKind.DATETIME
STATION_TABLE = Table("服务站", (
    Column("code", "编号", _T, 12), Column("name", "服务站", _T, 28), Column("region", "区域", _T, 8),
    Column("province", "省份", _T, 10), Column("city", "城市", _T, 10), Column("address", "地址", _T, 30),
    Column("contact_name", "联系人", _T, 10), Column("contact_phone", "电话", _T, 14),
    Column("lines_label", "产品线", _T, 20), Column("qualification_label", "资质", _T, 10),
    Column("status_label", "状态", _T, 8),
))
CLAIM_TABLE = Table("服务结算申请", (
    Column("number", "结算单号", _T, 18), Column("station_name", "服务站", _T, 28), Column("record_no", "维修记录", _T, 18),
    Column("vin", "车架号", _T, 20), Column("labour_fen", "工时费", _M, 14), Column("parts_fen", "三包配件", _M, 14),
    Column("total_fen", "合计", _M, 14), Column("state_label", "状态", _T, 8), Column("submitted_at", "提交时间", _DT, 17),
    Column("settlement_month", "结算月份", _T, 10),
))


SETTLEMENT_TABLE = Table("服务结算单", (
    Column("code", "服务站编号", _T, 12), Column("name", "服务站", _T, 28), Column("region", "区域", _T, 8),
    Column("claims", "单数", _I, 8), Column("labour_fen", "工时费", _M, 14), Column("parts_fen", "三包配件", _M, 14),
    Column("total_fen", "合计", _M, 16),
))

STOCK_TABLE = Table("服务站配件库存", (
    Column("station_code", "服务站编号", _T, 12), Column("station_name", "服务站", _T, 28), Column("region", "区域", _T, 8),
    Column("part_no", "配件编号", _T, 12), Column("part_name", "配件名称", _T, 20), Column("unit", "单位", _T, 6),
    Column("quantity", "数量", _I, 8), Column("standard_cost_fen", "标准成本", _M, 14), Column("value_fen", "金额", _M, 16),
))


# -- small helpers ------------------------------------------------------------------------------

def _choice(value: str | None, enum: Any, field: str, message: str) -> str | None:
    if not value:
        return None
    if value not in {m.value for m in enum}:
        raise InvalidValue(field, message, code=f"{field}.unknown")
    return value


def _station_row(row: dict[str, Any]) -> dict[str, Any]:
    lines = [ProductLine(x).label for x in (row.get("product_lines") or []) if x in {p.value for p in ProductLine}]
    row["lines_label"] = "、".join(lines)
    row["status_label"] = StationStatus(str(row["status"])).label
    row["qualification_label"] = QualificationLevel(str(row["qualification"])).label
    lat, lng = row.get("latitude"), row.get("longitude")
    if lat is not None and lng is not None:
        name = quote(str(row["name"]))
        row["geo_uri"] = f"geo:{lat},{lng}?q={lat},{lng}({name})"
        row["amap_uri"] = (f"https://uri.amap.com/marker?position={lng},{lat}&name={name}&coordinate=wgs84"
                           "&callnative=1")
        row["baidu_uri"] = (f"baidumap://map/marker?location={lat},{lng}&title={name}&coord_type=wgs84"
                            "&src=dealercrm")
    return row


def _request_row(row: dict[str, Any]) -> dict[str, Any]:
    row["state_label"] = RequestState(str(row["state"])).label
    row["fault_label"] = FaultCategory(str(row["fault_category"])).label
    return row


def _technician_row(row: dict[str, Any]) -> dict[str, Any]:
    faults = {f.value: f.label for f in FaultCategory}
    row["skills_label"] = "、".join(faults[x] for x in row.get("skills") or [] if x in faults)
    row["status_label"] = TechnicianStatus(str(row["status"])).label
    return row


def _claim_row(row: dict[str, Any]) -> dict[str, Any]:
    row["state_label"] = ClaimState(str(row["state"])).label
    return row


def _text(form: Any, name: str, label: str, max_len: int = 500, *, required: bool = True) -> str:
    value = str(form.get(name) or "").strip()
    if required and not value:
        raise InvalidValue(name, f"请填写{label}", code=f"{name}.required")
    if len(value) > max_len:
        raise InvalidValue(name, f"{label}不能超过{max_len}字", code=f"{name}.too_long")
    return value


def _int_field(raw: str, field: str, message: str) -> int:
    text = raw.strip()
    if not text.isdigit() or len(text) > 18:
        raise InvalidValue(field, message, code=f"{field}.invalid")
    return int(text)


def _claim_seen(claim: dict[str, Any], review: dict[str, Any] | None) -> str:
    """What the decision form saw: the claim's and its review's versions (a change means someone
    else decided meanwhile)."""
    return f"{claim['version']}:{claim['state']}:{review['version'] if review else 0}"


def _page_rows(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


class AftersalesPages(Controller):
    path = "/aftersales"

    # -- 服务站 directory -----------------------------------------------------------------------

    @get("/stations", guards=[requires(*READERS)], sync_to_thread=True)
    def stations(self, request: Request[Principal, Any, Any], aftersales: AftersalesService,
                 region: Annotated[str | None, Parameter(max_length=20)] = None,
                 product_line: Annotated[str | None, Parameter(max_length=20)] = None,
                 status: Annotated[str | None, Parameter(max_length=20)] = None,
                 after: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None) -> Template:
        errors: dict[str, str] = {}
        rows: list[dict[str, Any]] = []
        try:
            line = _choice(product_line, ProductLine, "product_line", "未知的产品线")
            chosen = _choice(status, StationStatus, "status", "未知的状态")
            rows = [_station_row(r) for r in aftersales.list_stations(
                request.user, region=region or None, product_line=line, status=chosen, after_id=after,
                limit=PAGE_SIZE + 1)]
        except InvalidValue as exc:
            errors[exc.field or "form"] = exc.message
        rows, more = _page_rows(rows)
        filters = {k: v for k, v in (("region", region), ("product_line", product_line), ("status", status)) if v}
        return page(request, "aftersales_stations.html", title="服务站", section="as_stations",
                    crumbs=(("服务站", None),), rows=rows, errors=errors, values=filters,
                    lines=[(p.value, p.label) for p in ProductLine],
                    statuses=[(s.value, s.label) for s in StationStatus],
                    next_query=urlencode({**filters, "after": rows[-1]["id"]}) if more and rows else None,
                    export_query=urlencode(filters), can_nearest=request.user.role in NEAREST_READERS,
                    status_code=422 if errors else 200)

    @get("/stations/export", guards=[requires(*READERS)], sync_to_thread=True)
    def stations_export(self, request: Request[Principal, Any, Any], aftersales: AftersalesService,
                        exports: Exporter,
                        file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx",
                        region: Annotated[str | None, Parameter(max_length=20)] = None,
                        product_line: Annotated[str | None, Parameter(max_length=20)] = None,
                        status: Annotated[str | None, Parameter(max_length=20)] = None) -> Stream:
        exports.check_format(file_format)
        line = _choice(product_line, ProductLine, "product_line", "未知的产品线")
        chosen = _choice(status, StationStatus, "status", "未知的状态")
        rows = (_station_row(r) for r in keyset_rows(
            lambda after: aftersales.list_stations(request.user, region=region or None, product_line=line,
                                                   status=chosen, after_id=after, limit=EXPORT_PAGE),
            lambda r: r["id"], page=EXPORT_PAGE))
        return download(exports.download(file_format, "service-stations", STATION_TABLE, rows))

    @get("/stations/nearest", guards=[requires(*NEAREST_READERS)], sync_to_thread=True)
    def nearest(self, request: Request[Principal, Any, Any], stations: StationsService,
                city: Annotated[str | None, Parameter(max_length=20)] = None,
                lat: Annotated[str | None, Parameter(max_length=20)] = None,
                lng: Annotated[str | None, Parameter(max_length=20)] = None,
                radius: Annotated[str | None, Parameter(max_length=6)] = None,
                product_line: Annotated[str | None, Parameter(max_length=20)] = None) -> Template:
        values = {"city": city or "", "lat": lat or "", "lng": lng or "", "radius": radius or "200",
                  "product_line": product_line or ""}
        errors: dict[str, str] = {}
        rows: list[dict[str, Any]] | None = None
        origin = None
        try:
            line = _choice(product_line, ProductLine, "product_line", "未知的产品线")
            radius_km = float(_int_field(values["radius"], "radius", "请选择搜索半径"))
            if lat or lng:
                try:
                    point = (float(lat or ""), float(lng or ""))
                except ValueError:
                    raise InvalidValue("city", "无法识别当前位置，请选择城市", code="geo.point_invalid") from None
                origin = "当前位置"
            elif city:
                if city not in CITIES:
                    raise InvalidValue("city", "请从列表中选择城市", code="geo.city_unknown")
                point, origin = CITIES[city], city
            else:
                point = None
            if point is not None:
                rows = [_station_row(r) for r in stations.nearest(request.user, point[0], point[1],
                                                                  radius_km=radius_km, product_line=line)]
        except InvalidValue as exc:
            field = exc.field if exc.field in values else "city"
            errors[field] = exc.message
        return page(request, "aftersales_nearest.html", title="附近的服务站", section="as_stations",
                    crumbs=(("服务站", "/aftersales/stations"), ("附近的服务站", None)), rows=rows, origin=origin,
                    values=values, errors=errors, cities=list(CITIES), radii=RADII,
                    lines=[(p.value, p.label) for p in ProductLine], secure=request.url.scheme == "https",
                    status_code=422 if errors else 200)

    @get("/stations/{station_id:int}", guards=[requires(*READERS)], sync_to_thread=True)
    def station(self, station_id: int, request: Request[Principal, Any, Any], aftersales: AftersalesService,
                stations: StationsService) -> Template:
        row = _station_row(aftersales.station(request.user, station_id))
        technicians = stations.technicians(request.user, station_id) if request.user.role is not Role.FINANCE \
            else []
        technicians = [_technician_row(t) for t in technicians]
        return page(request, "aftersales_station.html", title=str(row["name"]), section="as_stations",
                    crumbs=(("服务站", "/aftersales/stations"), (row["name"], None)), station=row,
                    quality=row.get("quality") or {}, technicians=technicians)

    # -- 服务请求 --------------------------------------------------------------------------------

    @get("/requests", guards=[requires(*READERS)], sync_to_thread=True)
    def requests(self, request: Request[Principal, Any, Any], aftersales: AftersalesService,
                 status: Annotated[str | None, Parameter(max_length=20)] = None,
                 vin: Annotated[str | None, Parameter(max_length=17)] = None,
                 before: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None) -> Template:
        errors: dict[str, str] = {}
        rows: list[dict[str, Any]] = []
        try:
            chosen = _choice(status, RequestState, "status", "未知的状态")
            rows = [_request_row(r) for r in aftersales.list_requests(
                request.user, state=[chosen] if chosen else None, vin=(vin or "").strip().upper() or None,
                before_id=before, limit=PAGE_SIZE + 1)]
        except InvalidValue as exc:
            errors[exc.field if exc.field in ("status", "vin") else "status"] = exc.message
        rows, more = _page_rows(rows)
        filters = {k: v for k, v in (("status", status), ("vin", vin)) if v}
        return page(request, "aftersales_requests.html", title="服务请求", section="as_requests",
                    crumbs=(("服务请求", None),), rows=rows, errors=errors, values=filters,
                    statuses=[(s.value, s.label) for s in RequestState],
                    next_query=urlencode({**filters, "before": rows[-1]["id"]}) if more and rows else None,
                    status_code=422 if errors else 200)

    @get("/requests/{request_id:int}", guards=[requires(*READERS)], sync_to_thread=True)
    def request_detail(self, request_id: int, request: Request[Principal, Any, Any], aftersales: AftersalesService,
                       stations: StationsService) -> Template:
        return self._request_page(request, aftersales, stations, request_id, errors={}, values={})

    def _request_page(self, request: Request[Principal, Any, Any], aftersales: AftersalesService,
                      stations: StationsService, request_id: int, *, errors: dict[str, str], values: dict[str, str],
                      status_code: int = 200) -> Template:
        user = request.user
        row = _request_row(aftersales.request(user, request_id))
        state = RequestState(str(row["state"]))
        staff = user.role in STAFF
        choices: list[dict[str, Any]] = []
        technicians: list[dict[str, Any]] = []
        suggestions: list[Any] = []
        can_dispatch = user.role is Role.STATION and state in (RequestState.ASSIGNED, RequestState.ACCEPTED)
        if can_dispatch:
            technicians = stations.technicians(user, int(row["station_id"]))
        if staff and state in (RequestState.OPEN, RequestState.ASSIGNED, RequestState.ACCEPTED):
            choices = [_station_row(s) for s in aftersales.list_stations(user, status="active", limit=200)]
            if state is RequestState.OPEN:
                suggestions = aftersales.suggest(user, request_id)
            seen: set[int] = set()
            for sid in [row.get("station_id"), *(s.station_id for s in suggestions[:3])]:
                if sid and sid not in seen:
                    seen.add(sid)
                    technicians += stations.technicians(user, int(sid))
        technicians = [_technician_row(t) for t in technicians]
        defaults = {"place": str(row.get("location") or ""), "labour_hours": "", "part_use": "warranty"}
        return page(request, "aftersales_request.html", title=f"服务请求 {row['number']}", section="as_requests",
                    crumbs=(("服务请求", "/aftersales/requests"), (row["number"], None)), req=row,
                    staff=staff, station_user=user.role is Role.STATION,
                    can_assign=staff and state in (RequestState.OPEN, RequestState.ASSIGNED, RequestState.ACCEPTED),
                    can_accept=user.role in WORKERS and state is RequestState.ASSIGNED, can_dispatch=can_dispatch,
                    can_record=user.role in WORKERS and state is RequestState.ACCEPTED,
                    choices=choices, technicians=technicians, suggestions=suggestions,
                    part_uses=[(u.value, u.label) for u in PartUse], errors=errors,
                    values={**defaults, **values}, status_code=status_code)

    @post("/requests/{request_id:int}/assign", guards=[requires(*STAFF)], status_code=303)
    async def assign(self, request_id: int, request: Request[Principal, Any, Any], aftersales: AftersalesService,
                     stations: StationsService) -> Any:
        form = await request.form()
        values = {"station_id": str(form.get("station_id") or "")[:20],
                  "technician_id": str(form.get("technician_id") or "")[:20]}
        try:
            station_id = _int_field(values["station_id"], "station_id", "请选择服务站") if values["station_id"] else None
            tech_id = (_int_field(values["technician_id"], "technician_id", "请选择技师")
                       if values["technician_id"] else None)
            await sync_to_thread(lambda: aftersales.assign(request.user, request_id, station_id, tech_id))
        except (InvalidValue, Conflict, BusinessRuleViolation) as exc:
            field = exc.field if isinstance(exc, InvalidValue) and exc.field in values else "station_id"
            if "technician" in exc.code:
                field = "technician_id"
            status = 422 if isinstance(exc, InvalidValue) else 409
            errors = {field: exc.message}
            return await sync_to_thread(lambda: self._request_page(
                request, aftersales, stations, request_id, errors=errors, values=values, status_code=status))
        return Redirect(path=f"/aftersales/requests/{request_id}", status_code=303)

    @post("/requests/{request_id:int}/accept", guards=[requires(*WORKERS)], status_code=303)
    async def accept(self, request_id: int, request: Request[Principal, Any, Any], aftersales: AftersalesService,
                     stations: StationsService) -> Any:
        try:
            await sync_to_thread(aftersales.accept, request.user, request_id)
        except (Conflict, BusinessRuleViolation) as exc:
            errors = {"accept": exc.message}
            return await sync_to_thread(lambda: self._request_page(
                request, aftersales, stations, request_id, errors=errors, values={}, status_code=409))
        return Redirect(path=f"/aftersales/requests/{request_id}", status_code=303)

    @post("/requests/{request_id:int}/dispatch", guards=[requires(*WORKERS)], status_code=303)
    async def dispatch(self, request_id: int, request: Request[Principal, Any, Any], aftersales: AftersalesService,
                       stations: StationsService) -> Any:
        """派工: the station sends the request it holds to one of its technicians."""
        form = await request.form()
        values = {"technician_id": str(form.get("technician_id") or "")[:20]}
        try:
            tech_id = _int_field(values["technician_id"], "technician_id", "请选择技师")
            await sync_to_thread(stations.dispatch, request.user, request_id, tech_id)
        except (InvalidValue, Conflict, BusinessRuleViolation) as exc:
            errors, status = {"technician_id": exc.message}, 422 if isinstance(exc, InvalidValue) else 409
            return await sync_to_thread(lambda: self._request_page(
                request, aftersales, stations, request_id, errors=errors, values=values, status_code=status))
        return Redirect(path=f"/aftersales/requests/{request_id}", status_code=303)

    # -- 维修记录 --------------------------------------------------------------------------------

    @post("/requests/{request_id:int}/repair", guards=[requires(*WORKERS)], status_code=303)
    async def record_repair(self, request_id: int, request: Request[Principal, Any, Any],
                            aftersales: AftersalesService, stations: StationsService) -> Any:
        form = await request.form()
        names = ("problem", "solution", "place", "started_at", "finished_at", "labour_hours", "result",
                 "part_no", "part_quantity", "part_use")
        values = {k: str(form.get(k) or "")[:1000] for k in names}
        try:
            parts: tuple[af.PartIn, ...] = ()
            if values["part_no"].strip():
                qty = _int_field(values["part_quantity"] or "1", "part_quantity", "配件数量须为正整数")
                parts = (af.PartIn(values["part_no"].strip().upper(), qty, values["part_use"] or "warranty"),)
            started = beijing_moment(values["started_at"], "started_at", "开始时间")
            finished = beijing_moment(values["finished_at"], "finished_at", "完成时间")
            if finished < started:
                raise InvalidValue("finished_at", "完成时间不能早于开始时间", code="repair.period_invalid")
            cmd = af.RepairIn(
                problem=_text(form, "problem", "故障原因"), solution=_text(form, "solution", "处理方法"),
                place=_text(form, "place", "维修地点", 200), started_at=started, finished_at=finished,
                labour_centihours=parse_hours("labour_hours", values["labour_hours"].strip() or "x"),
                result=_text(form, "result", "维修结果", required=False) or None, parts=parts)
            record_id, _ = await sync_to_thread(aftersales.record_repair, request.user, request_id, cmd)
        except (InvalidValue, Conflict, BusinessRuleViolation) as exc:
            field = exc.field if isinstance(exc, InvalidValue) and exc.field else "repair"
            field = {"parts.use": "part_use", "part_no": "part_no", "labour_centihours": "labour_hours"}.get(
                field, field)
            if exc.code.startswith("aftersales.stock"):
                field = "part_no"
            errors = {field if field in values else "repair": exc.message}
            status = 422 if isinstance(exc, InvalidValue) else 409
            return await sync_to_thread(lambda: self._request_page(
                request, aftersales, stations, request_id, errors=errors, values=values, status_code=status))
        return Redirect(path=f"/aftersales/records/{record_id}?recorded=1", status_code=303)

    @get("/records/{record_id:int}", guards=[requires(*READERS)], sync_to_thread=True)
    def record(self, record_id: int, request: Request[Principal, Any, Any], aftersales: AftersalesService,
               media: MediaService, parts_supply: PartsSupplyService) -> Template:
        return self._record_page(request, aftersales, media, parts_supply, record_id, errors={}, values={})

    def _record_page(self, request: Request[Principal, Any, Any], aftersales: AftersalesService, media: MediaService,
                     parts_supply: PartsSupplyService, record_id: int, *, errors: dict[str, str], values: dict[str, str], status_code: int = 200,
                     flash: str | None = None) -> Template:
        user = request.user
        row = aftersales.record(user, record_id)
        files = media.of_owner(user, "repair_record", record_id)
        for p in row.get("parts") or []:
            p["use_label"] = PartUse(str(p["use"])).label
        claims = [_claim_row(c) for c in row.get("claims") or []]
        live_claim = any(str(c["state"]) in (ClaimState.IN_REVIEW.value, ClaimState.APPROVED.value) for c in claims)
        if flash is None and request.query_params.get("recorded"):
            flash = "维修记录已保存。请上传维修照片或视频，并请客户确认。"
        elif flash is None and request.query_params.get("uploaded"):
            flash = "已上传。"
        elif flash is None and request.query_params.get("billed"):
            flash = "已开具有偿维修收费单。"
        limits = media.limits
        bill = parts_supply.bill_of_record(user, record_id) if user.role in BILL_READERS else None
        return page(request, "aftersales_record.html", title=f"维修记录 {row['number']}", section="as_requests",
                    crumbs=(("服务请求", "/aftersales/requests"), (row["number"], None)), record=row, files=files,
                    claims=claims, can_write=user.role in WORKERS,
                    can_confirm=user.role in WORKERS and row.get("confirmed_at") is None,
                    can_claim=user.role in WORKERS and row.get("confirmed_at") is not None and row.get("in_warranty")
                    and not live_claim,
                    bill=bill, can_bill=user.role in WORKERS and not row.get("in_warranty") and bill is None,
                    max_photo_mb=limits.max_photo_bytes // (1024 * 1024),
                    max_video_mb=limits.max_video_bytes // (1024 * 1024),
                    errors=errors, values=values, flash=flash, status_code=status_code)

    @post("/records/{record_id:int}/media", guards=[requires(*WORKERS)], status_code=303,
          request_max_body_size=UPLOAD_CEILING)
    async def upload(self, record_id: int, request: Request[Principal, Any, Any], aftersales: AftersalesService,
                     media: MediaService, parts_supply: PartsSupplyService) -> Any:
        values: dict[str, str] = {}
        try:
            limit = media.limits.max_upload_bytes
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit + 64 * 1024:
                raise InvalidValue("file", f"文件不能超过{limit // (1024 * 1024)}MB", code="media.too_large")
            if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
                raise InvalidValue("file", "请选择要上传的照片或视频", code="media.file_missing")
            form = await request.form()
            values["caption"] = str(form.get("caption") or "")[:200] if isinstance(form.get("caption"), str) else ""
            upload = form.get("file")
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise InvalidValue("file", "请选择要上传的照片或视频", code="media.file_missing")
            data = await upload.read(limit + 1)
            await upload.close()
            await sync_to_thread(lambda: media.upload(request.user, "repair_record", record_id, data,
                                                      upload.content_type, values["caption"].strip() or None))
        except (InvalidValue, Conflict) as exc:
            field = "caption" if isinstance(exc, InvalidValue) and exc.field == "caption" else "file"
            errors, status = {field: exc.message}, 422 if isinstance(exc, InvalidValue) else 409
            return await sync_to_thread(lambda: self._record_page(
                request, aftersales, media, parts_supply, record_id, errors=errors, values=values, status_code=status))
        return Redirect(path=f"/aftersales/records/{record_id}?uploaded=1#media", status_code=303)

    @post("/records/{record_id:int}/confirm", guards=[requires(*WORKERS)], status_code=303)
    async def confirm(self, record_id: int, request: Request[Principal, Any, Any], aftersales: AftersalesService,
                      media: MediaService, parts_supply: PartsSupplyService) -> Any:
        form = await request.form()
        values = {k: str(form.get(k) or "")[:500] for k in ("customer_name", "satisfaction", "comment")}
        try:
            name = _text(form, "customer_name", "客户签字人", 50)
            score = _int_field(values["satisfaction"], "satisfaction", "请选择满意度")
            cmd = af.ConfirmIn(name, score, _text(form, "comment", "客户意见", required=False) or None)
            await sync_to_thread(aftersales.confirm_repair, request.user, record_id, cmd)
        except (InvalidValue, Conflict, BusinessRuleViolation) as exc:
            field = exc.field if isinstance(exc, InvalidValue) and exc.field in values else "customer_name"
            errors, status = {field: exc.message}, 422 if isinstance(exc, InvalidValue) else 409
            return await sync_to_thread(lambda: self._record_page(
                request, aftersales, media, parts_supply, record_id, errors=errors, values=values, status_code=status))
        return Redirect(path=f"/aftersales/records/{record_id}", status_code=303)

    @post("/records/{record_id:int}/claim", guards=[requires(*WORKERS)], status_code=303)
    async def submit_claim(self, record_id: int, request: Request[Principal, Any, Any],
                           aftersales: AftersalesService, media: MediaService, parts_supply: PartsSupplyService) -> Any:
        try:
            claim_id, _ = await sync_to_thread(aftersales.submit_claim, request.user, record_id)
        except (Conflict, BusinessRuleViolation) as exc:
            errors = {"claim": exc.message}
            return await sync_to_thread(lambda: self._record_page(
                request, aftersales, media, parts_supply, record_id, errors=errors, values={}, status_code=409))
        return Redirect(path=f"/aftersales/claims/{claim_id}?submitted=1", status_code=303)

    @post("/records/{record_id:int}/bill", guards=[requires(*WORKERS)], status_code=303)
    async def bill_repair(self, record_id: int, request: Request[Principal, Any, Any], aftersales: AftersalesService,
                          media: MediaService, parts_supply: PartsSupplyService) -> Any:
        """结算本次维修: a claim in warranty, the customer's paid-repair bill outside it."""
        form = await request.form()
        name = str(form.get("customer_name") or "").strip()[:100] or None
        try:
            made = await sync_to_thread(parts_supply.bill_repair, request.user, record_id, name)
        except (InvalidValue, Conflict, BusinessRuleViolation) as exc:
            errors, status = {"bill": exc.message}, 422 if isinstance(exc, InvalidValue) else 409
            return await sync_to_thread(lambda: self._record_page(
                request, aftersales, media, parts_supply, record_id, errors=errors,
                values={"customer_name": name or ""}, status_code=status))
        if made.kind == "claim":
            return Redirect(path=f"/aftersales/claims/{made.id}?submitted=1", status_code=303)
        return Redirect(path=f"/aftersales/records/{record_id}?billed=1#billing", status_code=303)

    @get("/media/{media_id:int}", guards=[requires(*READERS)], sync_to_thread=True)
    def media_content(self, media_id: int, request: Request[Principal, Any, Any], media: MediaService) -> Response[bytes]:
        return media_file(media, request.user, media_id)

    @get("/media/{media_id:int}/thumbnail", guards=[requires(*READERS)], sync_to_thread=True)
    def media_thumbnail(self, media_id: int, request: Request[Principal, Any, Any],
                        media: MediaService) -> Response[bytes]:
        return media_file(media, request.user, media_id, thumbnail=True)

    @get("/major-repairs", guards=[requires(*READERS)], sync_to_thread=True)
    def major_repairs(self, request: Request[Principal, Any, Any], aftersales: AftersalesService,
                      media: MediaService) -> Template:
        """重大维修案例: the agreement, compensation and analysis kept with each flagged record."""
        rows = [{**r, "fault_label": FaultCategory(str(r["fault_category"])).label}
                for r in aftersales.major_repairs(request.user)]
        for r in rows:
            r["photos"] = [m for m in media.of_owner(request.user, "major_repair", int(r["id"]))
                           if m["kind"] == "photo" and m["thumbnail_sha256"]]
        return page(request, "aftersales_major.html", title="重大维修案例", section="as_major",
                    crumbs=(("重大维修案例", None),), rows=rows)

    # -- 配件库存 and the parts catalogue ---------------------------------------------------------

    @get("/stock", guards=[requires(*READERS)], sync_to_thread=True)
    def stock(self, request: Request[Principal, Any, Any], aftersales: AftersalesService,
              part_no: Annotated[str | None, Parameter(max_length=30)] = None,
              region: Annotated[str | None, Parameter(max_length=20)] = None) -> Template:
        filters = {k: v.strip() for k, v in (("part_no", part_no), ("region", region)) if v and v.strip()}
        rows = aftersales.stock_report(request.user, part_no=filters.get("part_no", "").upper() or None,
                                       region=filters.get("region"))
        return page(request, "aftersales_stock.html", title="配件库存", section="as_stock", crumbs=(("配件库存", None),),
                    rows=rows, parts=aftersales.parts(request.user), values=filters,
                    total_fen=sum(int(r["value_fen"] or 0) for r in rows), export_query=urlencode(filters))

    @get("/stock/export", guards=[requires(*READERS)], sync_to_thread=True)
    def stock_export(self, request: Request[Principal, Any, Any], aftersales: AftersalesService, exports: Exporter,
                     file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx",
                     part_no: Annotated[str | None, Parameter(max_length=30)] = None,
                     region: Annotated[str | None, Parameter(max_length=20)] = None) -> Stream:
        exports.check_format(file_format)
        rows = aftersales.stock_report(request.user, part_no=(part_no or "").strip().upper() or None,
                                       region=(region or "").strip() or None)
        return download(exports.download(file_format, "station-parts-stock", STOCK_TABLE, rows))

    # -- 索赔审核 and settlements ----------------------------------------------------------------

    @get("/claims", guards=[requires(*READERS)], sync_to_thread=True)
    def claims(self, request: Request[Principal, Any, Any], aftersales: AftersalesService,
               status: Annotated[str | None, Parameter(max_length=20)] = None,
               before: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None) -> Template:
        errors: dict[str, str] = {}
        rows: list[dict[str, Any]] = []
        try:
            chosen = _choice(status, ClaimState, "status", "未知的状态")
            rows = [_claim_row(r) for r in aftersales.list_claims(request.user, state=chosen, before_id=before,
                                                                   limit=PAGE_SIZE + 1)]
        except InvalidValue as exc:
            errors["status"] = exc.message
        rows, more = _page_rows(rows)
        filters = {"status": status} if status else {}
        return page(request, "aftersales_claims.html", title="索赔审核", section="as_claims",
                    crumbs=(("索赔审核", None),), rows=rows, errors=errors, values=filters,
                    statuses=[(s.value, s.label) for s in ClaimState],
                    next_query=urlencode({**filters, "before": rows[-1]["id"]}) if more and rows else None,
                    export_query=urlencode(filters), status_code=422 if errors else 200)

    @get("/claims/export", guards=[requires(*READERS)], sync_to_thread=True)
    def claims_export(self, request: Request[Principal, Any, Any], aftersales: AftersalesService, exports: Exporter,
                      file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx",
                      status: Annotated[str | None, Parameter(max_length=20)] = None) -> Stream:
        exports.check_format(file_format)
        chosen = _choice(status, ClaimState, "status", "未知的状态")
        rows = (_claim_row(r) for r in keyset_rows(
            lambda before: aftersales.list_claims(request.user, state=chosen, before_id=before, limit=EXPORT_PAGE),
            lambda r: r["id"], page=EXPORT_PAGE))
        return download(exports.download(file_format, "service-claims", CLAIM_TABLE, rows))

    @get("/claims/{claim_id:int}", guards=[requires(*READERS)], sync_to_thread=True)
    def claim(self, claim_id: int, request: Request[Principal, Any, Any], aftersales: AftersalesService,
              workflow: WorkflowService) -> Template:
        flash = ("结算申请已提交，等待售后服务部审核。" if request.query_params.get("submitted")
                 else "审核意见已提交。" if request.query_params.get("decided") else None)
        return self._claim_page(request, aftersales, workflow, claim_id, errors={}, values={}, flash=flash)

    @staticmethod
    def _review(workflow: WorkflowService, user: Principal, claim_id: int) -> dict[str, Any] | None:
        """The claim's latest review workflow with its steps (None for those who may not see it)."""
        runs = workflow.of_subject(user, af.CLAIM_SUBJECT, claim_id)
        if not runs:
            return None
        detail = workflow.detail(user, int(runs[0]["id"]))
        for step in detail["steps"]:
            step["status_label"] = StepStatus(str(step["status"])).label
        return detail

    def _claim_page(self, request: Request[Principal, Any, Any], aftersales: AftersalesService,
                    workflow: WorkflowService, claim_id: int, *, errors: dict[str, str], values: dict[str, str],
                    notice: str | None = None, flash: str | None = None, status_code: int = 200) -> Template:
        user = request.user
        row = _claim_row(aftersales.claim(user, claim_id))
        record = aftersales.record(user, int(row["record_id"]))
        review = self._review(workflow, user, claim_id) if user.role is not Role.STATION else None
        open_steps = [st for st in (review or {}).get("steps", []) if str(st["status"]) == StepStatus.OPEN.value]
        mine = [st for st in open_steps if user.role is Role.ADMIN
                or (str(st["assignee_kind"]) == "role" and st["assignee_value"] == user.role.value)]
        return page(request, "aftersales_claim.html", title=f"结算申请 {row['number']}", section="as_claims",
                    crumbs=(("索赔审核", "/aftersales/claims"), (row["number"], None)), claim=row, record=record,
                    review=review, waiting_for=[st["name"] for st in open_steps],
                    decidable=user.role in CLAIM_DECIDERS and str(row["state"]) == ClaimState.IN_REVIEW.value
                    and bool(mine),
                    seen=_claim_seen(row, review), errors=errors, values=values, notice=notice, flash=flash,
                    form_token=uuid.uuid4().hex,
                    status_code=status_code)

    @post("/claims/{claim_id:int}/decide", guards=[requires(*CLAIM_DECIDERS)], status_code=303)
    async def decide_claim(self, claim_id: int, request: Request[Principal, Any, Any],
                           aftersales: AftersalesService, workflow: WorkflowService) -> Any:
        form = await request.form()
        decision = str(form.get("decision") or "")
        values = {"reason": str(form.get("reason") or "")[:500]}
        seen = str(form.get("seen") or "")[:60]
        token = str(form.get("form_token") or "")[:64]

        def still_current() -> None:
            current = aftersales.claim(request.user, claim_id)
            if seen and seen != _claim_seen(current, self._review(workflow, request.user, claim_id)):
                raise Conflict("已被他人修改", code="claim.stale")

        try:
            if decision not in ("approve", "reject"):
                raise InvalidValue("decision", "请选择批准或驳回", code="decision.unknown")
            reason = _text(form, "reason", "驳回原因") if decision == "reject" else None
            if token:  # booked once per form: a double submit gets the first one's answer
                await sync_to_thread(lambda: aftersales.decide_claim_once(
                    request.user, claim_id, decision, reason, form_token=token, precondition=still_current))
            else:
                await sync_to_thread(still_current)
                await sync_to_thread(aftersales.decide_claim, request.user, claim_id, decision, reason)
        except InvalidValue as exc:
            errors = {exc.field if exc.field in ("reason",) else "decision": exc.message}
            notice = exc.message if exc.field == "form_token" else None  # shown even when no form is left
            return await sync_to_thread(lambda: self._claim_page(request, aftersales, workflow, claim_id,
                                                                 errors=errors, values=values, notice=notice,
                                                                 status_code=422))
        except (Conflict, BusinessRuleViolation, PermissionDenied) as exc:
            # the step was decided meanwhile (by someone else, or by the first of a double click)
            stale = "stale" in exc.code or "transition" in exc.code or exc.code == "workflow.not_your_step"
            notice = "已被他人修改，以下是当前状态，请确认后再操作" if stale else exc.message
            return await sync_to_thread(lambda: self._claim_page(
                request, aftersales, workflow, claim_id, errors={}, values=values, notice=notice, status_code=409))
        return Redirect(path=f"/aftersales/claims/{claim_id}?decided=1", status_code=303)

    @get("/settlements", guards=[requires(*READERS)], sync_to_thread=True)
    def settlements(self, request: Request[Principal, Any, Any], aftersales: AftersalesService,
                    month: Annotated[str | None, Parameter(max_length=7)] = None) -> Template:
        errors: dict[str, str] = {}
        chosen = month or ""
        if not chosen:  # the latest month with an approved claim
            latest = aftersales.list_claims(request.user, state=ClaimState.APPROVED.value, limit=1)
            chosen = str(latest[0]["settlement_month"] or "") if latest else ""
        rows: list[dict[str, Any]] = []
        if chosen:
            try:
                rows = aftersales.settlement(request.user, chosen)
            except DomainError as exc:
                errors["month"] = exc.message
        for r in rows:
            for item in r.get("items") or []:
                _claim_row(item)
        return page(request, "aftersales_settlements.html", title="服务结算", section="as_settlements",
                    crumbs=(("服务结算", None),), rows=rows, month=chosen, errors=errors,
                    total_fen=sum(int(r["total_fen"]) for r in rows), export_query=urlencode({"month": chosen}),
                    status_code=422 if errors else 200)

    @get("/settlements/export", guards=[requires(*READERS)], sync_to_thread=True)
    def settlements_export(self, request: Request[Principal, Any, Any], aftersales: AftersalesService,
                           exports: Exporter, month: Annotated[str, Parameter(max_length=7)],
                           file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx") -> Stream:
        exports.check_format(file_format)
        rows = aftersales.settlement(request.user, month)
        return download(exports.download(file_format, f"service-settlement-{month}", SETTLEMENT_TABLE, rows))
