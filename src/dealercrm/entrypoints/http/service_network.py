"""HTTP API of the service network (issue 18 §3): the nearest stations to a point, technicians
per station (skills, availability), dispatching a request to a technician, and periodic
maintenance plans per VIN (their reminders come from the alert scheduler).

A station user manages its own technicians and dispatches its own requests; another station's
are 404. Bad coordinates, radius or skills are 422 naming the field; a technician of another
station, without the skill or not available is 409 with the reason's code.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dealercrm.application import service_network as sn
from dealercrm.application.services.aftersales import AftersalesService
from dealercrm.application.services.stations import (
    NEAREST_READERS,
    PLAN_READERS,
    TECHNICIAN_READERS,
    StationsService,
)
from dealercrm.domain.aftersales import FaultCategory, RequestState
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.service_network import TechnicianStatus
from dealercrm.entrypoints.http import aftersales_schemas as s
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.http.schemas import Page

WORKERS = (Role.AFTER_SALES, Role.ADMIN, Role.STATION)
STAFF = (Role.AFTER_SALES, Role.ADMIN)
User = Request[Principal, Any, Any]


def _v(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


def _technician(r: dict[str, Any]) -> s.TechnicianOut:
    skills = list(r["skills"] or [])
    st = TechnicianStatus(_v(r["status"]))
    return s.TechnicianOut(r["id"], r["station_id"], r["name"], r["phone"], skills,
                           [FaultCategory(x).label for x in skills], st, st.label, bool(r["active"]))


def _plan(r: dict[str, Any]) -> s.PlanOut:
    return msgspec.convert({k: _v(v) for k, v in r.items()}, s.PlanOut, strict=False)


def _cmd(d: s.TechnicianBody) -> sn.TechnicianIn:
    return sn.TechnicianIn(d.name, d.phone, tuple(d.skills))


class ServiceNetworkController(Controller):
    path = "/api/v1/aftersales"
    tags = ["after-sales 售后服务"]

    @get("/stations/nearest", guards=[requires(*NEAREST_READERS)], sync_to_thread=True,
         summary="附近服务站 Active stations nearest to a point, with the great-circle distance in km")
    def nearest(self, request: User, stations: StationsService,
                lat: Annotated[float, Parameter(ge=-90, le=90, description="latitude, degrees")],
                lng: Annotated[float, Parameter(ge=-180, le=180, description="longitude, degrees")],
                radius_km: Annotated[float, Parameter(gt=0, le=5000)] = 200.0, product_line: str | None = None,
                limit: Annotated[int, Parameter(ge=1, le=100)] = 10) -> Page[s.NearbyStationOut]:
        rows = stations.nearest(request.user, lat, lng, radius_km=radius_km, product_line=product_line, limit=limit)
        return Page([msgspec.convert(r, s.NearbyStationOut, strict=False) for r in rows], None)

    # -- technicians ------------------------------------------------------------------------------

    @get("/stations/{station_id:int}/technicians", guards=[requires(*TECHNICIAN_READERS)], sync_to_thread=True,
         summary="服务站技师 Technicians of a station with skills and availability")
    def technicians(self, station_id: int, request: User, stations: StationsService,
                    include_inactive: bool = False) -> Page[s.TechnicianOut]:
        return Page([_technician(r) for r in stations.technicians(request.user, station_id,
                                                                  include_inactive=include_inactive)], None)

    @post("/stations/{station_id:int}/technicians", guards=[requires(*WORKERS)], status_code=HTTP_201_CREATED,
          sync_to_thread=True, summary="登记技师 Add a technician (skills = fault categories)")
    def add_technician(self, station_id: int, data: s.TechnicianBody, request: User,
                       stations: StationsService) -> s.TechnicianOut:
        tech_id = stations.add_technician(request.user, station_id, _cmd(data))
        return _technician(stations.technician(request.user, tech_id))

    @get("/technicians/{technician_id:int}", guards=[requires(*TECHNICIAN_READERS)], sync_to_thread=True,
         summary="技师详情 A technician")
    def technician(self, technician_id: int, request: User, stations: StationsService) -> s.TechnicianOut:
        return _technician(stations.technician(request.user, technician_id))

    @put("/technicians/{technician_id:int}", guards=[requires(*WORKERS)], sync_to_thread=True,
         summary="修改技师 Change a technician's name, phone, skills")
    def update_technician(self, technician_id: int, data: s.TechnicianBody, request: User,
                          stations: StationsService) -> s.TechnicianOut:
        stations.update_technician(request.user, technician_id, _cmd(data))
        return _technician(stations.technician(request.user, technician_id))

    @post("/technicians/{technician_id:int}/availability", guards=[requires(*WORKERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="技师状态 available | busy | off_duty")
    def availability(self, technician_id: int, data: s.AvailabilityBody, request: User,
                     stations: StationsService) -> s.TechnicianOut:
        stations.set_availability(request.user, technician_id, data.status)
        return _technician(stations.technician(request.user, technician_id))

    @post("/technicians/{technician_id:int}/deactivate", guards=[requires(*WORKERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="停用技师 Deactivate a technician (kept in the history)")
    def deactivate_technician(self, technician_id: int, request: User, stations: StationsService) -> s.TechnicianOut:
        stations.deactivate_technician(request.user, technician_id)
        return _technician(stations.technician(request.user, technician_id))

    @post("/requests/{request_id:int}/technician", guards=[requires(*WORKERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="派工到人 Dispatch the request to a technician of the station holding it")
    def dispatch(self, request_id: int, data: s.TechnicianDispatchBody, request: User, stations: StationsService,
                 aftersales: AftersalesService) -> s.StateOut:
        stations.dispatch(request.user, request_id, data.technician_id)
        d = aftersales.request(request.user, request_id, with_context=False)
        st = RequestState(_v(d["state"]))
        return s.StateOut(request_id, st.value, st.label, d["station_id"])

    # -- maintenance plans ------------------------------------------------------------------------

    @get("/maintenance-plans", guards=[requires(*PLAN_READERS)], sync_to_thread=True,
         summary="定期保养计划 Plans in scope (optionally of one VIN)")
    def plans(self, request: User, stations: StationsService,
              vin: Annotated[str | None, Parameter(max_length=17)] = None,
              include_inactive: bool = False) -> Page[s.PlanOut]:
        return Page([_plan(r) for r in stations.plans(request.user, vin=vin, include_inactive=include_inactive)], None)

    @post("/maintenance-plans", guards=[requires(*WORKERS)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="新建保养计划 A plan by days and/or km from a start; reminders via the alert scheduler")
    def create_plan(self, data: s.PlanBody, request: User, stations: StationsService) -> s.PlanOut:
        plan_id = stations.create_plan(request.user, sn.PlanIn(
            data.vin, data.title, data.interval_days, data.interval_km, data.start_on, data.start_km,
            data.station_id, data.remind_days_ahead))
        return _plan(stations.plan(request.user, plan_id))

    @get("/maintenance-plans/{plan_id:int}", guards=[requires(*PLAN_READERS)], sync_to_thread=True,
         summary="保养计划详情")
    def plan(self, plan_id: int, request: User, stations: StationsService) -> s.PlanOut:
        return _plan(stations.plan(request.user, plan_id))

    @post("/maintenance-plans/{plan_id:int}/service", guards=[requires(*WORKERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="记录保养 A maintenance done: the next one counts from it")
    def record_service(self, plan_id: int, data: s.PlanServiceBody, request: User,
                       stations: StationsService) -> s.PlanOut:
        stations.record_service(request.user, plan_id, data.done_on, data.odometer_km)
        return _plan(stations.plan(request.user, plan_id))

    @post("/maintenance-plans/{plan_id:int}/deactivate", guards=[requires(*WORKERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="停用保养计划")
    def deactivate_plan(self, plan_id: int, request: User, stations: StationsService) -> s.PlanOut:
        stations.deactivate_plan(request.user, plan_id)
        return _plan(stations.plan(request.user, plan_id))


SERVICE_NETWORK_CONTROLLERS = [ServiceNetworkController]
