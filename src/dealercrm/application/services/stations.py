"""The service-network service (``crm.stations``): the nearest stations to a point, the
technicians of a station, dispatch to a technician, and periodic maintenance plans.

Reads are scoped like the rest of after-sales: a station sees its own technicians and the
plans it serves, a dealer the plans of its own vehicles; anything else is 404. The nearest
station query is for the hotline, dealers (to send a customer on) and sales staff.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from dealercrm.application import service_network as sn
from dealercrm.application.access import not_found, require_role
from dealercrm.application.aftersales import WORKERS
from dealercrm.application.ports.aftersales import AftersalesQueries, AftersalesUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.domain.channel import ProductLine
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.service_network import GeoPoint, bounding_box, check_radius, rank_by_distance
from dealercrm.domain.values import Vin

AftersalesUnitOfWorkFactory = Callable[[Principal], AftersalesUnitOfWork]

NEAREST_READERS = (Role.AFTER_SALES, Role.ADMIN, Role.DEALER, Role.SALES, Role.REGION_MANAGER)
TECHNICIAN_READERS = (Role.AFTER_SALES, Role.ADMIN, Role.STATION)
PLAN_READERS = (Role.AFTER_SALES, Role.ADMIN, Role.STATION, Role.DEALER)


class StationsService:
    """The service network (服务网络): the nearest stations to a point, a station's technicians (技师),
    dispatch to a technician (派工) and periodic maintenance plans (保养计划); scoped as the module says."""
    def __init__(self, uow: AftersalesUnitOfWorkFactory, clock: Clock, queries: AftersalesQueries) -> None:
        self._u: AftersalesUnitOfWorkFactory = uow
        self._clock: Clock = clock
        self.queries: AftersalesQueries = queries

    # nearest stations (seed §6.4)
    def nearest(self, actor: Principal, latitude: float, longitude: float, *, radius_km: float = 200.0,
                product_line: str | None = None, limit: int = 10) -> list[dict[str, Any]]:
        """Active stations within ``radius_km`` of the point, nearest first, each with its
        ``distance_km`` (great circle). SQL picks the bounding box; the exact distance is here."""
        require_role(actor, *NEAREST_READERS)
        centre = GeoPoint(latitude, longitude)
        radius = check_radius(radius_km)
        if product_line is not None and product_line not in {p.value for p in ProductLine}:
            raise InvalidValue("product_line", "产品线须为 tanker、dump_truck 或 semi_trailer",
                               code="aftersales.product_line_unknown")
        if not 1 <= limit <= 100:
            raise InvalidValue("limit", "条数须为1到100", code="geo.limit_invalid")
        rows = {r["id"]: r for r in self.queries.stations_in_box(bounding_box(centre, radius),
                                                                 product_line=product_line)}
        ranked = rank_by_distance(centre, [(sid, r["latitude"], r["longitude"]) for sid, r in rows.items()],
                                  radius_km=radius, limit=limit)
        return [{**rows[n.station_id], "distance_km": n.distance_km} for n in ranked]

    # technicians
    def _station_visible(self, actor: Principal, station_id: int) -> None:
        if (actor.role is Role.STATION and actor.station_id != station_id) or self.queries.station(station_id) is None:
            raise not_found("service_station", "服务站")

    def add_technician(self, actor: Principal, station_id: int, cmd: sn.TechnicianIn) -> int:
        """Add a technician to a station; after-sales, admin, or that station itself. Returns the technician
        id; ``InvalidValue``, ``PermissionDenied``, ``NotFound`` (station missing or another station's)."""
        return sn.add_technician(station_id, cmd, self._u(actor), self._clock)

    def add_technician_once(self, actor: Principal, station_id: int, cmd: sn.TechnicianIn, *, form_token: str) -> int:
        """``add_technician`` once per form token of this user (a double-submitted form adds one
        technician; the repeat gets its id). ``InvalidValue``, ``PermissionDenied``, ``NotFound``."""
        return sn.add_technician_once(station_id, cmd, lambda: self._u(actor), self._clock, form_token=form_token)

    def update_technician(self, actor: Principal, technician_id: int, cmd: sn.TechnicianIn) -> None:
        """Change a technician's name, phone and skills; after-sales, admin or the technician's station.
        ``InvalidValue``, ``PermissionDenied``, ``NotFound``."""
        sn.update_technician(technician_id, cmd, self._u(actor))

    def set_availability(self, actor: Principal, technician_id: int, status: str) -> str:
        """Set a technician's availability (状态, one of the technician statuses); after-sales, admin or its station. Returns the
        new status; ``InvalidValue`` (unknown status), ``PermissionDenied``, ``NotFound``."""
        return sn.set_availability(technician_id, status, self._u(actor))

    def deactivate_technician(self, actor: Principal, technician_id: int) -> None:
        """Deactivate a technician (no more dispatch); after-sales, admin or its station.
        ``PermissionDenied``, ``NotFound``."""
        sn.deactivate_technician(technician_id, self._u(actor))

    def technicians(self, actor: Principal, station_id: int, *, include_inactive: bool = False
                    ) -> list[dict[str, Any]]:
        """A station's technicians (active only unless ``include_inactive``); after-sales, admin or that
        station. ``PermissionDenied``, ``NotFound`` (another station's, or missing)."""
        require_role(actor, *TECHNICIAN_READERS)
        self._station_visible(actor, station_id)
        return self.queries.technicians(station_id, include_inactive=include_inactive)

    def technician(self, actor: Principal, technician_id: int) -> dict[str, Any]:
        """One technician; after-sales, admin or its station. ``PermissionDenied``, ``NotFound``."""
        require_role(actor, *TECHNICIAN_READERS)
        row = self.queries.technician(technician_id)
        if row is None or (actor.role is Role.STATION and row["station_id"] != actor.station_id):
            raise not_found("technician", "技师")
        return row

    def dispatch(self, actor: Principal, request_id: int, technician_id: int) -> int:
        """Dispatch a service request to one technician of the station holding it (派工): the technician
        must have the skill and be available. After-sales, admin or that station; returns the technician
        id. ``InvalidValue`` (technician unknown, unskilled, unavailable), ``PermissionDenied``, ``NotFound``."""
        return sn.dispatch_to_technician(request_id, technician_id, self._u(actor), self._clock)

    # maintenance plans
    def create_plan(self, actor: Principal, cmd: sn.PlanIn) -> int:
        """A periodic maintenance plan (保养计划) for a vehicle; after-sales, admin, or a station for a plan it
        serves. Returns the plan id; ``InvalidValue`` (start date, interval, station), ``PermissionDenied``, ``NotFound`` (vehicle)."""
        return sn.create_plan(cmd, self._u(actor), self._clock)

    def record_service(self, actor: Principal, plan_id: int, done_on: dt.date, odometer_km: int | None
                       ) -> dt.date | None:
        """Record a maintenance done on a plan: the next due date (and km) count from it and its reminder
        resolves on the scheduler's next pass. After-sales, admin or the plan's station; returns the next due date.
        ``InvalidValue``, ``PermissionDenied``, ``NotFound``."""
        return sn.record_plan_service(plan_id, done_on, odometer_km, self._u(actor), self._clock)

    def deactivate_plan(self, actor: Principal, plan_id: int) -> None:
        """Stop a maintenance plan; after-sales, admin or the plan's station. ``PermissionDenied``, ``NotFound``."""
        sn.deactivate_plan(plan_id, self._u(actor))

    def plans(self, actor: Principal, *, vin: str | None = None, include_inactive: bool = False
              ) -> list[dict[str, Any]]:
        """Plans in the caller's scope (staff: all; a station: those it serves; a dealer: its
        vehicles'), optionally of one VIN."""
        require_role(actor, *PLAN_READERS)
        if vin is not None:
            vin = Vin(vin.strip().upper()).value
        return self.queries.plans(vin=vin, include_inactive=include_inactive,
                                  station_id=(actor.station_id or -1) if actor.role is Role.STATION else None,
                                  dealer_id=(actor.dealer_id or -1) if actor.role is Role.DEALER else None)

    def plan(self, actor: Principal, plan_id: int) -> dict[str, Any]:
        """One maintenance plan; after-sales, admin, its station or the vehicle's dealer.
        ``PermissionDenied``, ``NotFound``."""
        require_role(actor, *PLAN_READERS)
        row = self.queries.plan(plan_id)
        if row is None or (actor.role is Role.STATION and row["station_id"] != actor.station_id) \
                or (actor.role is Role.DEALER and row["dealer_id"] != actor.dealer_id):
            raise not_found("maintenance_plan", "保养计划")
        return row


__all__ = ["NEAREST_READERS", "PLAN_READERS", "TECHNICIAN_READERS", "WORKERS", "StationsService"]
