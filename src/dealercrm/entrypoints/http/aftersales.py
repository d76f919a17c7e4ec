"""HTTP API of after-sales (售后服务): stations, warranty, service requests, repair records,
settlement claims, station parts stock, major repairs and repair reports.

After-sales staff see everything; a station user sees only its own station's requests, records,
claims and stock (anything else is 404); a dealer user sees the requests on its own vehicles;
finance reads claims, settlements and stock and decides the finance step of a claim.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dealercrm.application import aftersales as af
from dealercrm.application.services.aftersales import AftersalesService
from dealercrm.application.services.parts_supply import PartsSupplyService
from dealercrm.domain.aftersales import (
    REQUEST_TRANSITIONS,
    ClaimState,
    FaultCategory,
    MovementKind,
    PartUse,
    QualificationLevel,
    RequestState,
    StationStatus,
    WarrantyCheck,
    WarrantyState,
    format_hours,
    parse_hours,
)
from dealercrm.domain.channel import ProductLine
from dealercrm.domain.claim_risk import RULE_LABELS, RiskConfig
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.media import MediaKind
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.service_network import GeoPoint
from dealercrm.domain.values import check_coordinates
from dealercrm.entrypoints.http import aftersales_schemas as s
from dealercrm.entrypoints.http.controllers import decode_cursor, encode_cursor
from dealercrm.entrypoints.http.customers import contract_check_out
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.http.schemas import Page

STAFF = (Role.AFTER_SALES, Role.ADMIN)
WORKERS = (Role.AFTER_SALES, Role.ADMIN, Role.STATION)
READERS = (Role.AFTER_SALES, Role.ADMIN, Role.FINANCE, Role.STATION)
REQUEST_READERS = (*READERS, Role.DEALER)
DECIDERS = (Role.AFTER_SALES, Role.FINANCE, Role.ADMIN)

Limit = Annotated[int, Parameter(ge=1, le=200, description="page size")]
User = Request[Principal, Any, Any]


def _v(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


def _station(r: dict[str, Any], quality: dict[str, Any] | None = None) -> s.StationOut:
    q, st = QualificationLevel(_v(r["qualification"])), StationStatus(_v(r["status"]))
    return s.StationOut(r["id"], r["code"], r["name"], r["uscc"], r["region"], r["province"], r["city"], r["address"],
                        r["contact_name"], r["contact_phone"], list(r["product_lines"]), r["labour_rate_fen"], q.value,
                        q.label, r["capacity"], st, st.label,
                        msgspec.convert(quality, s.StationQuality) if quality else None, r.get("latitude"),
                        r.get("longitude"))


def _check(c: WarrantyCheck) -> s.WarrantyCheckOut:
    return s.WarrantyCheckOut(c.state, c.state.label, c.in_warranty, c.ends_on, c.km_limit, c.warning)


def _warranty_record(r: dict[str, Any] | None) -> s.WarrantyRecordOut | None:
    return msgspec.convert(r, s.WarrantyRecordOut, strict=False) if r else None


def _request_row(r: dict[str, Any]) -> s.RequestRow:
    d = {k: _v(v) for k, v in r.items()}
    d["fault_category_label"] = FaultCategory(d["fault_category"]).label
    d["state_label"] = RequestState(d["state"]).label
    d.setdefault("station_name", None)
    return msgspec.convert(d, s.RequestRow, strict=False)


def _claim(r: dict[str, Any]) -> s.ClaimOut:
    d = {k: _v(v) for k, v in r.items()}
    d["state_label"] = ClaimState(d["state"]).label
    d["labour_hours"] = format_hours(d["labour_centihours"])
    return msgspec.convert(d, s.ClaimOut, strict=False)


def _risk_config(c: RiskConfig) -> s.RiskConfigOut:
    d = c.as_dict()
    return s.RiskConfigOut(**d, rules=dict(RULE_LABELS))


def _record(r: dict[str, Any]) -> s.RecordOut:
    d = {k: _v(v) for k, v in r.items() if k not in ("parts", "claims", "media")}
    d["labour_hours"] = format_hours(d["labour_centihours"])
    d["parts"] = [s.PartUsedOut(p["part_no"], p["part_name"], p["quantity"], _v(p["use"]), PartUse(_v(p["use"])).label,
                                p["unit_cost_fen"], p["unit_price_fen"]) for p in r["parts"]]
    d["claims"] = [_claim(c) for c in r["claims"]]
    d["media"] = [media_out(m) for m in r.get("media", [])]
    return msgspec.convert(d, s.RecordOut, strict=False)


def _point(latitude: float | None, longitude: float | None) -> GeoPoint | None:
    """Where the vehicle stands, from both coordinates or neither (422 naming the missing one)."""
    lat, lng = check_coordinates(latitude, longitude)
    return GeoPoint(lat, lng) if lat is not None and lng is not None else None


def media_out(m: dict[str, Any]) -> s.MediaOut:
    """A media row as the API answers it, with the URLs its content is served at."""
    kind = MediaKind(_v(m["kind"]))
    stored = m["sha256"] is not None
    return s.MediaOut(m["id"], _v(m["owner_type"]), m["owner_id"], kind, kind.label, m["content_type"],
                      m["size_bytes"], m["width"], m["height"], m["caption"], m["legacy_ref"], m["uploaded_at"],
                      m["uploaded_by"], m["sha256"], f"/api/v1/media/{m['id']}/content" if stored else None,
                      f"/api/v1/media/{m['id']}/thumbnail" if m["thumbnail_sha256"] else None,
                      m.get("duration_ms"))


def _plain(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: _v(v) for k, v in row.items()} for row in rows]


def _context(ctx: dict[str, Any]) -> s.CustomerContextOut:
    check = ctx.get("warranty_check")
    return s.CustomerContextOut(ctx["vehicle"], _warranty_record(ctx["warranty"]), _check(check) if check else None,
                                _plain(ctx["other_vehicles"]), _plain(ctx["previous_requests"]))


def _station_cmd(d: s.StationBody) -> af.StationIn:
    return af.StationIn(d.name, d.uscc, d.region, d.province, d.city, d.address, d.contact_name, d.contact_phone,
                        tuple(d.product_lines), d.labour_rate_fen, d.qualification, d.capacity, d.latitude,
                        d.longitude)


def _enum_filter(field: str, value: str | None, enum_cls: Any) -> None:
    if value is not None and value not in {e.value for e in enum_cls}:
        raise InvalidValue(field, f"{field} 取值不正确", code="aftersales.filter_invalid")


class AftersalesController(Controller):
    path = "/api/v1/aftersales"
    tags = ["after-sales 售后服务"]

    # -- stations (§4.1) ---------------------------------------------------------------------------

    @post("/stations", guards=[requires(*STAFF)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="新建服务站档案 Register a contracted service station")
    def create_station(self, data: s.StationBody, request: User, aftersales: AftersalesService) -> s.StationOut:
        sid = aftersales.create_station(request.user, _station_cmd(data))
        return _station(aftersales.station(request.user, sid))

    @get("/stations", guards=[requires(*READERS)], sync_to_thread=True,
         summary="服务站列表 Stations (filter region, product line, status; a station sees itself)")
    def stations(self, request: User, aftersales: AftersalesService, region: str | None = None, product_line: str | None = None,
                 status: str | None = None, cursor: str | None = None, limit: Limit = 50) -> s.StationList:
        _enum_filter("product_line", product_line, ProductLine)
        _enum_filter("status", status, StationStatus)
        rows = aftersales.list_stations(request.user, region=region, product_line=product_line,
                                                        status=status, after_id=decode_cursor(cursor),
                                                        limit=limit + 1)
        nxt = encode_cursor(rows[limit - 1]["id"]) if len(rows) > limit else None
        return s.StationList([_station(r) for r in rows[:limit]], nxt)

    @get("/stations/{station_id:int}", guards=[requires(*READERS)], sync_to_thread=True,
         summary="服务站详情与服务质量指标 Station with its quality indicators")
    def station(self, station_id: int, request: User, aftersales: AftersalesService) -> s.StationOut:
        r = aftersales.station(request.user, station_id)
        return _station(r, r["quality"])

    @put("/stations/{station_id:int}", guards=[requires(*STAFF)], sync_to_thread=True,
         summary="修改服务站档案 Update a station's profile, capabilities, rate")
    def update_station(self, station_id: int, data: s.StationBody, request: User, aftersales: AftersalesService) -> s.StationOut:
        aftersales.update_station(request.user, station_id, _station_cmd(data))
        r = aftersales.station(request.user, station_id)
        return _station(r, r["quality"])

    @post("/stations/{station_id:int}/{action:str}", guards=[requires(*STAFF)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="暂停/恢复/解约 suspend | reactivate | terminate a station")
    def station_status(self, station_id: int, action: str, request: User, aftersales: AftersalesService) -> s.StationOut:
        aftersales.station_status(request.user, station_id, action)
        return _station(aftersales.station(request.user, station_id))

    @get("/stations/{station_id:int}/stock-movements", guards=[requires(*READERS)], sync_to_thread=True,
         summary="配件出入库明细 A station's stock movements (newest first)")
    def movements(self, station_id: int, request: User, aftersales: AftersalesService, part_no: str | None = None,
                  cursor: str | None = None, limit: Limit = 100) -> Page[s.MovementOut]:
        rows = aftersales.movements(request.user, station_id, part_no=part_no,
                                                    before_id=decode_cursor(cursor), limit=limit)
        return Page([s.MovementOut(m["id"], m["part_no"], _v(m["kind"]), MovementKind(_v(m["kind"])).label, m["delta"],
                                   m["balance_after"], m["at"], m["actor"], m["reference"], m["note"]) for m in rows],
                    encode_cursor(rows[-1]["id"]) if len(rows) == limit else None)

    # -- warranty ----------------------------------------------------------------------------------

    @get("/warranty-policies", guards=[requires(*READERS)], sync_to_thread=True,
         summary="保修政策 Warranty policies per product line / template")
    def policies(self, request: User, aftersales: AftersalesService) -> Page[s.PolicyOut]:
        return Page([msgspec.convert(p, s.PolicyOut, strict=False)
                     for p in aftersales.policies(request.user)], None)

    @put("/warranty-policies", guards=[requires(*STAFF)], sync_to_thread=True,
         summary="设置保修政策 Create or change the policy of a product line (or of one template)")
    def put_policy(self, data: s.PolicyBody, request: User, aftersales: AftersalesService) -> Page[s.PolicyOut]:
        aftersales.put_policy(request.user, af.PolicyIn(data.product_line, data.months, data.km, data.model_code,
                                               data.description))
        return Page([msgspec.convert(p, s.PolicyOut, strict=False) for p in aftersales.policies(request.user)], None)

    @post("/warranties", guards=[requires(*STAFF)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="登记保修记录 Start a VIN's warranty from its delivery to the end customer")
    def record_warranty(self, data: s.WarrantyBody, request: User, aftersales: AftersalesService) -> s.WarrantyOut:
        aftersales.record_warranty(request.user, af.WarrantyIn(data.vin, data.customer_name, data.customer_phone,
                                                      data.sold_on, data.product_line))
        return self._warranty(aftersales, request.user, data.vin, None)

    @staticmethod
    def _warranty(c: Any, user: Principal, vin: str, odometer_km: int | None) -> s.WarrantyOut:
        w = c.check_warranty(user, vin, odometer_km)
        return s.WarrantyOut(w["vin"], _check(w["check"]), _warranty_record(w["record"]))

    @get("/warranties/{vin:str}", guards=[requires(*READERS)], sync_to_thread=True,
         summary="保修状态 Is the VIN in warranty today (optionally at an odometer reading)?")
    def warranty(self, vin: str, request: User, aftersales: AftersalesService,
                 odometer_km: Annotated[int | None, Parameter(ge=0, le=10_000_000)] = None) -> s.WarrantyOut:
        return self._warranty(aftersales, request.user, vin, odometer_km)

    @get("/customer-context", guards=[requires(*WORKERS)], sync_to_thread=True,
         summary="客户信息提示 Purchase, order, warranty and earlier requests of a VIN / phone")
    def customer_context(self, request: User, aftersales: AftersalesService, vin: Annotated[str, Parameter(max_length=17)],
                         phone: Annotated[str | None, Parameter(max_length=30)] = None) -> s.CustomerContextOut:
        return _context(aftersales.customer_context(request.user, vin, phone))

    # -- service requests (§4.2.1) -------------------------------------------------------------------

    @post("/requests", guards=[requires(*WORKERS)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="登记客户服务请求 Record a request; answers the warranty check and the customer's history")
    def create_request(self, data: s.ServiceRequestBody, request: User, aftersales: AftersalesService) -> s.RequestCreatedOut:
        out = aftersales.create_request(request.user, af.RequestIn(
            data.vin, data.customer_name, data.customer_phone, data.fault_category, data.description, data.province,
            data.city, data.location, data.region, data.odometer_km))
        detail = aftersales.request(request.user, out.request_id)
        return s.RequestCreatedOut(out.request_id, out.number, _v(detail["state"]), _check(out.warranty),
                                   _context(detail["context"]), contract_check_out(out.contract))

    @get("/requests", guards=[requires(*REQUEST_READERS)], sync_to_thread=True,
         summary="服务请求列表 Requests in scope (state=a,b; station_id; vin; phone; warranty_state)")
    def requests(self, request: User, aftersales: AftersalesService, status: str | None = None, station_id: int | None = None,
                 vin: Annotated[str | None, Parameter(max_length=17)] = None,
                 phone: Annotated[str | None, Parameter(max_length=30)] = None, warranty_state: WarrantyState | None = None,
                 cursor: str | None = None, limit: Limit = 50) -> s.RequestList:
        states = [x for x in (status or "").split(",") if x]
        for x in states:
            _enum_filter("status", x, RequestState)
        rows = aftersales.list_requests(
            request.user, state=states or None, station_id=station_id, vin=vin.strip().upper() if vin else None,
            phone=phone, warranty_state=warranty_state, before_id=decode_cursor(cursor), limit=limit + 1)
        nxt = encode_cursor(rows[limit - 1]["id"]) if len(rows) > limit else None
        return s.RequestList([_request_row(r) for r in rows[:limit]], nxt)

    @get("/requests/states", guards=[requires(*REQUEST_READERS)], sync_to_thread=True,
         summary="服务请求状态与迁移表 States and the transition table")
    def request_states(self) -> dict[str, Any]:
        return {"states": [{"code": st.value, "label": st.label} for st in RequestState],
                "transitions": [{"from": f.value, "action": a, "to": t.value}
                                for (f, a), t in REQUEST_TRANSITIONS.items()]}

    @get("/requests/{request_id:int}", guards=[requires(*REQUEST_READERS)], sync_to_thread=True,
         summary="服务请求详情 Request with history, repair record and customer context")
    def request_detail(self, request_id: int, request: User, aftersales: AftersalesService) -> s.RequestDetail:
        d = aftersales.request(request.user, request_id)
        return s.RequestDetail(
            _request_row(d),
            [msgspec.convert({k: _v(v) for k, v in e.items()}, s.RequestEventOut, strict=False) for e in d["history"]],
            _record(d["record"]) if d.get("record") else None,
            _context(d["context"]) if d.get("context") else None)

    @get("/requests/{request_id:int}/suggestions", guards=[requires(*STAFF)], sync_to_thread=True,
         summary="推荐服务站 Stations ranked by proximity (by distance with lat & lng), capability and load")
    def suggestions(self, request_id: int, request: User, aftersales: AftersalesService,
                    lat: Annotated[float | None, Parameter(ge=-90, le=90, description="where the vehicle stands")] = None,
                    lng: Annotated[float | None, Parameter(ge=-180, le=180)] = None) -> Page[s.SuggestionOut]:
        return Page([s.SuggestionOut(x.station_id, x.name, x.score, list(x.reasons), x.open_requests, x.capacity)
                     for x in aftersales.suggest(request.user, request_id, _point(lat, lng))], None)

    def _state(self, aftersales: AftersalesService, user: Principal, request_id: int) -> s.StateOut:
        d = aftersales.request(user, request_id, with_context=False)
        st = RequestState(_v(d["state"]))
        return s.StateOut(request_id, st.value, st.label, d["station_id"])

    @post("/requests/{request_id:int}/assign", guards=[requires(*STAFF)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="派单 Dispatch to a station (omit station_id: automatic)")
    def assign(self, request_id: int, data: s.AssignBody, request: User, aftersales: AftersalesService) -> s.StateOut:
        aftersales.assign(request.user, request_id, data.station_id, data.technician_id,
                          _point(data.latitude, data.longitude))
        return self._state(aftersales, request.user, request_id)

    @post("/requests/{request_id:int}/accept", guards=[requires(*WORKERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="服务站接单 The station accepts")
    def accept(self, request_id: int, request: User, aftersales: AftersalesService) -> s.StateOut:
        aftersales.accept(request.user, request_id)
        return self._state(aftersales, request.user, request_id)

    @post("/requests/{request_id:int}/refuse", guards=[requires(*WORKERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="服务站拒单 The station refuses with a reason (back to dispatch)")
    def refuse(self, request_id: int, data: s.ReasonBody, request: User, aftersales: AftersalesService) -> s.StateOut:
        new_state = aftersales.refuse(request.user, request_id, data.reason)
        st = RequestState(new_state)
        return s.StateOut(request_id, st.value, st.label, None)

    @post("/requests/{request_id:int}/resolve", guards=[requires(*STAFF)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="热线解决 Solved on the hotline")
    def resolve(self, request_id: int, data: s.ResolveBody, request: User, aftersales: AftersalesService) -> s.StateOut:
        aftersales.resolve(request.user, request_id, data.resolution)
        return self._state(aftersales, request.user, request_id)

    @post("/requests/{request_id:int}/cancel", guards=[requires(*STAFF)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="取消 Cancel with a reason")
    def cancel(self, request_id: int, data: s.ReasonBody, request: User, aftersales: AftersalesService) -> s.StateOut:
        aftersales.cancel(request.user, request_id, data.reason)
        return self._state(aftersales, request.user, request_id)

    @post("/requests/{request_id:int}/close", guards=[requires(*STAFF)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="关闭 Close a confirmed request (a claim approval closes it too)")
    def close(self, request_id: int, request: User, aftersales: AftersalesService) -> s.StateOut:
        aftersales.close(request.user, request_id)
        return self._state(aftersales, request.user, request_id)

    # -- repair records (§4.3) ------------------------------------------------------------------------

    @post("/requests/{request_id:int}/repair-record", guards=[requires(*WORKERS)], status_code=HTTP_201_CREATED,
          sync_to_thread=True, summary="填写维修记录 Record the repair; its parts leave the station's stock")
    def record_repair(self, request_id: int, data: s.RepairBody, request: User, aftersales: AftersalesService) -> s.RecordOut:
        record_id, _ = aftersales.record_repair(request.user, request_id, af.RepairIn(
            data.problem, data.solution, data.place, data.started_at, data.finished_at,
            parse_hours("labour_hours", data.labour_hours), data.result,
            tuple(af.PartIn(p.part_no, p.quantity, p.use) for p in data.parts), data.operation_code))
        return _record(aftersales.record(request.user, record_id))

    @get("/records/{record_id:int}", guards=[requires(*READERS)], sync_to_thread=True,
         summary="维修记录 A repair record with its parts and claims")
    def record(self, record_id: int, request: User, aftersales: AftersalesService) -> s.RecordOut:
        return _record(aftersales.record(request.user, record_id))

    @post("/records/{record_id:int}/confirm", guards=[requires(*WORKERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="客户确认 The end customer's confirmation and satisfaction")
    def confirm(self, record_id: int, data: s.ConfirmBody, request: User, aftersales: AftersalesService) -> s.RecordOut:
        aftersales.confirm_repair(request.user, record_id, af.ConfirmIn(data.customer_name, data.satisfaction, data.comment))
        return _record(aftersales.record(request.user, record_id))

    @post("/records/{record_id:int}/major", guards=[requires(*STAFF)], status_code=HTTP_200_OK, sync_to_thread=True,
          summary="重大维修 Flag as a major repair with agreement, compensation and summary")
    def major(self, record_id: int, data: s.MajorBody, request: User, aftersales: AftersalesService) -> s.RecordOut:
        aftersales.flag_major(request.user, record_id, data.agreement, data.compensation_fen, data.summary)
        return _record(aftersales.record(request.user, record_id))

    @post("/records/{record_id:int}/claims", guards=[requires(*WORKERS)], status_code=HTTP_201_CREATED,
          sync_to_thread=True, summary="申请结算 Claim labour and warranty parts (after-sales, then finance review)")
    def submit_claim(self, record_id: int, request: User, aftersales: AftersalesService) -> s.ClaimOut:
        claim_id, _ = aftersales.submit_claim(request.user, record_id)
        return _claim(aftersales.claim(request.user, claim_id))

    @post("/records/{record_id:int}/bill", guards=[requires(*WORKERS)], status_code=HTTP_201_CREATED,
          sync_to_thread=True, summary="结算本次维修 Bill this repair: a settlement claim in warranty, "
                                       "the customer's paid-repair bill outside it")
    def bill_repair(self, record_id: int, request: User, parts_supply: PartsSupplyService,
                    data: s.BillRepairBody | None = None) -> s.BillingOut:
        made = parts_supply.bill_repair(request.user, record_id, data.customer_name if data else None)
        url = (f"/api/v1/aftersales/claims/{made.id}" if made.kind == "claim"
               else f"/api/v1/parts-supply/bills/{made.id}")
        return s.BillingOut(made.kind, made.id, made.number, url)

    # -- claims and settlement ----------------------------------------------------------------------

    @get("/claims", guards=[requires(*READERS)], sync_to_thread=True,
         summary="结算申请 Claims (filter state, station, settlement month)")
    def claims(self, request: User, aftersales: AftersalesService, status: str | None = None, station_id: int | None = None,
               month: Annotated[str | None, Parameter(max_length=7)] = None, cursor: str | None = None,
               limit: Limit = 50) -> s.ClaimList:
        _enum_filter("status", status, ClaimState)
        rows = aftersales.list_claims(request.user, state=status, station_id=station_id, month=month,
                                                      before_id=decode_cursor(cursor), limit=limit + 1)
        nxt = encode_cursor(rows[limit - 1]["id"]) if len(rows) > limit else None
        return s.ClaimList([_claim(r) for r in rows[:limit]], nxt)

    @get("/claims/{claim_id:int}", guards=[requires(*READERS)], sync_to_thread=True, summary="结算申请详情")
    def claim(self, claim_id: int, request: User, aftersales: AftersalesService) -> s.ClaimOut:
        return _claim(aftersales.claim(request.user, claim_id))

    @post("/claims/{claim_id:int}/{decision:str}", guards=[requires(*DECIDERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="审核结算 approve | reject the caller's step (after-sales, then finance)")
    def decide(self, claim_id: int, decision: str, data: s.DecisionBody, request: User, aftersales: AftersalesService) -> s.ClaimOut:
        if decision not in ("approve", "reject"):
            raise InvalidValue("decision", "审批结论须为 approve 或 reject", code="workflow.decision_unknown")
        aftersales.decide_claim(request.user, claim_id, decision, data.reason)
        return _claim(aftersales.claim(request.user, claim_id))

    @get("/settlements", guards=[requires(*READERS)], sync_to_thread=True,
         summary="服务结算单 Approved claims of a month (YYYY-MM, by approval date) per station")
    def settlements(self, request: User, aftersales: AftersalesService, month: Annotated[str, Parameter(max_length=7)],
                    station_id: int | None = None) -> s.SettlementOut:
        rows = aftersales.settlement(request.user, month, station_id)
        stations = [s.SettlementStation(r["station_id"], r["code"], r["name"], r["region"], r["claims"],
                                        format_hours(r["labour_centihours"]), r["labour_fen"], r["parts_fen"],
                                        r["total_fen"], [_claim(x) for x in r["items"]]) for r in rows]
        return s.SettlementOut(month, stations, sum(x.total_fen for x in stations))

    # -- claim risk (issue 18 §1): repair operations, the configuration, the per-station report ----

    @get("/repair-operations", guards=[requires(*READERS)], sync_to_thread=True,
         summary="维修作业 Repair operations with their standard hours")
    def operations(self, request: User, aftersales: AftersalesService) -> Page[s.OperationOut]:
        return Page([s.OperationOut(o["code"], o["name"], format_hours(o["standard_centihours"]))
                     for o in aftersales.operations(request.user)], None)

    @put("/repair-operations", guards=[requires(*STAFF)], sync_to_thread=True,
         summary="维护维修作业 Create or change a repair operation and its standard hours")
    def put_operation(self, data: s.OperationBody, request: User, aftersales: AftersalesService) -> s.OperationOut:
        code = aftersales.put_operation(request.user, af.OperationIn(
            data.code, data.name, parse_hours("standard_hours", data.standard_hours)))
        return next(s.OperationOut(o["code"], o["name"], format_hours(o["standard_centihours"]))
                    for o in aftersales.operations(request.user) if o["code"] == code)

    @get("/risk-config", guards=[requires(*READERS)], sync_to_thread=True,
         summary="索赔风控配置 The claim risk rules' weights and thresholds")
    def risk_config(self, request: User, aftersales: AftersalesService) -> s.RiskConfigOut:
        return _risk_config(aftersales.risk_config(request.user))

    @put("/risk-config", guards=[requires(*STAFF)], sync_to_thread=True,
         summary="修改索赔风控配置 Replace the configuration (left-out fields and weights take their defaults)")
    def put_risk_config(self, data: s.RiskConfigBody, request: User, aftersales: AftersalesService
                        ) -> s.RiskConfigOut:
        body = msgspec.structs.asdict(data)
        weights = msgspec.structs.asdict(data.weights) if data.weights is not None else {}
        body["weights"] = {k: v for k, v in weights.items() if v is not None}
        return _risk_config(aftersales.put_risk_config(request.user, body))

    @get("/reports/claim-risk", guards=[requires(*READERS)], sync_to_thread=True,
         summary="索赔风险报告 Per station: claims, flagged share, average risk score, top reasons")
    def claim_risk_report(self, request: User, aftersales: AftersalesService, date_from: dt.date, date_to: dt.date,
                          station_id: int | None = None) -> s.RiskReport:
        rows = aftersales.risk_report(request.user, date_from=date_from, date_to=date_to, station_id=station_id)
        return s.RiskReport(date_from, date_to, [
            s.RiskReportRow(r.station_id, r.station_code, r.station_name, r.region, r.claims, r.flagged,
                            r.flagged_percent, r.average_score,
                            [s.RiskReasonCount(code, label, n) for code, label, n in r.top_reasons])
            for r in rows])

    # -- parts and stock (§4.4) ---------------------------------------------------------------------

    @get("/parts", guards=[requires(*READERS)], sync_to_thread=True, summary="配件目录 Parts catalogue")
    def parts(self, request: User, aftersales: AftersalesService) -> Page[s.PartOut]:
        return Page([msgspec.convert(p, s.PartOut, strict=False) for p in aftersales.parts(request.user)], None)

    @put("/parts", guards=[requires(*STAFF)], sync_to_thread=True,
         summary="维护配件 Create or change a part (standard cost, retail price)")
    def put_part(self, data: s.PartBody, request: User, aftersales: AftersalesService) -> s.PartOut:
        part_no = aftersales.put_part(request.user, af.PartCatalogIn(data.part_no, data.name, data.standard_cost_fen,
                                                            data.retail_price_fen, data.unit))
        return next(msgspec.convert(p, s.PartOut, strict=False) for p in aftersales.parts(request.user)
                    if p["part_no"] == part_no)

    @post("/stock/movements", guards=[requires(*WORKERS)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="配件出入库/盘点 Receipt, issue by use, or stocktake at a station (never below zero)")
    def book(self, data: s.MovementBody, request: User, aftersales: AftersalesService) -> s.BalanceOut:
        balance = aftersales.book_stock(request.user, af.StockIn(
            data.station_id, data.part_no, data.kind, data.quantity, data.reference, data.note))
        return s.BalanceOut(data.station_id, data.part_no.strip().upper(), balance)

    @post("/stock/transfers", guards=[requires(*STAFF)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="配件调拨 Transfer parts between stations")
    def transfer(self, data: s.TransferBody, request: User, aftersales: AftersalesService) -> s.TransferOut:
        left, arrived = aftersales.transfer(request.user, data.from_station_id, data.to_station_id,
                                                            data.part_no, data.quantity, data.note)
        return s.TransferOut(data.from_station_id, left, data.to_station_id, arrived)

    @get("/stock", guards=[requires(*READERS)], sync_to_thread=True,
         summary="服务站配件库存报表 Stock across stations, valued at standard cost, with totals per part")
    def stock(self, request: User, aftersales: AftersalesService, station_id: int | None = None,
              part_no: Annotated[str | None, Parameter(max_length=40)] = None,
              region: Annotated[str | None, Parameter(max_length=8)] = None,
              include_zero: bool = False) -> s.StockReport:
        rows = aftersales.stock_report(request.user, station_id=station_id,
                                                       part_no=part_no.strip().upper() if part_no else None,
                                                       region=region, include_zero=include_zero)
        out = [msgspec.convert(r, s.StockRow, strict=False) for r in rows]
        totals: dict[str, s.StockPartTotal] = {}
        for r in out:
            t = totals.get(r.part_no) or s.StockPartTotal(r.part_no, r.part_name, 0, 0, 0)
            totals[r.part_no] = s.StockPartTotal(r.part_no, r.part_name, t.stations + 1, t.quantity + r.quantity,
                                                 t.value_fen + r.value_fen)
        return s.StockReport(out, list(totals.values()), sum(r.value_fen for r in out))

    # -- major repairs and reports (§4.5, §4 6)) --------------------------------------------------------

    @get("/major-repairs", guards=[requires(*READERS)], sync_to_thread=True,
         summary="重大维修案例库 Major repairs with agreement, compensation and summary")
    def major_repairs(self, request: User, aftersales: AftersalesService) -> Page[s.MajorRepairOut]:
        return Page([msgspec.convert({k: _v(v) for k, v in r.items()}, s.MajorRepairOut, strict=False)
                     for r in aftersales.major_repairs(request.user)], None)

    @get("/reports/repairs", guards=[requires(*READERS)], sync_to_thread=True,
         summary="维修报告 Repairs by fault_category | vin | model_code | product_line | station | month")
    def repair_report(self, request: User, aftersales: AftersalesService, date_from: dt.date, date_to: dt.date,
                      group_by: str = "fault_category", product_line: str | None = None,
                      fault_category: str | None = None,
                      model_code: Annotated[str | None, Parameter(max_length=40)] = None,
                      vin: Annotated[str | None, Parameter(max_length=17)] = None) -> s.RepairReport:
        _enum_filter("product_line", product_line, ProductLine)
        _enum_filter("fault_category", fault_category, FaultCategory)
        rows = aftersales.repair_report(
            request.user, group_by=group_by, date_from=date_from, date_to=date_to, product_line=product_line,
            fault_category=fault_category, model_code=model_code, vin=vin.strip().upper() if vin else None)

        def label(key: str | None) -> str | None:
            if key is None:
                return None
            if group_by == "fault_category":
                return FaultCategory(key).label
            if group_by == "product_line":
                return ProductLine(key).label
            return key

        return s.RepairReport(group_by, date_from, date_to, [
            s.ReportRow(r["key"], label(r["key"]), r["repairs"], r["vehicles"], format_hours(r["labour_centihours"]),
                        r["warranty_parts_fen"], r["parts_quantity"], r["major_repairs"], r["in_warranty"],
                        r["settled_fen"]) for r in rows])
