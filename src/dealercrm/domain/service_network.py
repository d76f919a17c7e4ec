"""The service network in space and people (issue 18 §3): where stations are, which station is
nearest to a broken-down vehicle (seed §6.4), the technicians of each station with their skills
and availability, the rule for dispatching a request to one technician, and the periodic
maintenance plans of a vehicle (定期保养计划).

Distances are great-circle distances (haversine on a sphere of the mean Earth radius): exact
enough to rank stations, and a bounding box around the point lets SQL pick the candidates
first on any engine.
"""

from __future__ import annotations

import datetime as dt
import enum
import math

import attrs

from dealercrm.domain.aftersales import FaultCategory, RequestState, ServiceRequest
from dealercrm.domain.errors import BusinessRuleViolation, IllegalTransition, InvalidValue
from dealercrm.domain.values import Phone, check_coordinates

EARTH_RADIUS_KM = 6371.0088


# ---------------------------------------------------------------------------------------------
# Coordinates and distance


@attrs.frozen
class GeoPoint:
    latitude: float
    longitude: float

    def __attrs_post_init__(self) -> None:
        check_coordinates(self.latitude, self.longitude)


def haversine_km(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance between two points, in kilometres."""
    la1, la2 = math.radians(a.latitude), math.radians(b.latitude)
    dla, dlo = la2 - la1, math.radians(b.longitude - a.longitude)
    h = math.sin(dla / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin(dlo / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@attrs.frozen
class BoundingBox:
    """Every point within ``radius_km`` of the centre lies inside (a prefilter, not the answer).
    ``min_lng > max_lng`` when the box crosses the antimeridian."""

    min_lat: float
    max_lat: float
    min_lng: float
    max_lng: float
    all_longitudes: bool = False


def bounding_box(centre: GeoPoint, radius_km: float) -> BoundingBox:
    dlat = math.degrees(radius_km / EARTH_RADIUS_KM)
    min_lat, max_lat = centre.latitude - dlat, centre.latitude + dlat
    if min_lat <= -90 or max_lat >= 90:  # the box holds a pole: every longitude qualifies
        return BoundingBox(max(min_lat, -90.0), min(max_lat, 90.0), -180.0, 180.0, True)
    dlng = math.degrees(math.asin(min(1.0, math.sin(radius_km / EARTH_RADIUS_KM) /
                                      math.cos(math.radians(centre.latitude)))))
    if dlng >= 180:
        return BoundingBox(min_lat, max_lat, -180.0, 180.0, True)
    min_lng, max_lng = centre.longitude - dlng, centre.longitude + dlng
    if min_lng < -180:
        min_lng += 360
    if max_lng > 180:
        max_lng -= 360
    return BoundingBox(min_lat, max_lat, min_lng, max_lng)


@attrs.frozen
class NearbyStation:
    station_id: int
    distance_km: float


def rank_by_distance(centre: GeoPoint, candidates: list[tuple[int, float, float]], *, radius_km: float,
                     limit: int) -> list[NearbyStation]:
    """The candidates (id, latitude, longitude) within ``radius_km`` of ``centre``, nearest
    first (ties by id), at most ``limit``; distances rounded to 0.01 km."""
    found = []
    for station_id, lat, lng in candidates:
        d = haversine_km(centre, GeoPoint(lat, lng))
        if d <= radius_km:
            found.append((d, station_id))
    found.sort()
    return [NearbyStation(sid, round(d, 2)) for d, sid in found[:limit]]


def check_radius(radius_km: float) -> float:
    if isinstance(radius_km, bool) or not isinstance(radius_km, (int, float)) or not math.isfinite(radius_km) \
            or not 0 < radius_km <= 5000:
        raise InvalidValue("radius_km", "搜索半径须大于0且不超过5000公里", code="geo.radius_invalid")
    return float(radius_km)


# ---------------------------------------------------------------------------------------------
# Technicians


class TechnicianStatus(enum.StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    OFF_DUTY = "off_duty"

    @property
    def label(self) -> str:
        return {"available": "空闲可派", "busy": "忙碌", "off_duty": "休息/请假"}[self.value]


def _skills(values: list[str]) -> list[str]:
    out = set()
    for v in values:
        try:
            out.add(FaultCategory(v).value)
        except ValueError:
            raise InvalidValue("skills", f"技能须为故障类别之一：{'、'.join(f.value for f in FaultCategory)}",
                               code="technician.skill_unknown", skill=v) from None
    if not out:
        raise InvalidValue("skills", "技师至少须有一项技能", code="technician.skills_required")
    return sorted(out)


@attrs.define(slots=False, eq=False)
class Technician:
    """A technician (维修技师) of one station: skills are the fault categories they repair."""

    station_id: int
    name: str
    phone: str
    skills: list[str]
    status: TechnicianStatus = TechnicianStatus.AVAILABLE
    active: bool = True
    created_at: dt.datetime | None = None
    version: int = 1
    id: int | None = None

    def __attrs_post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        name = (self.name or "").strip()
        if not name or len(name) > 60:
            raise InvalidValue("name", "技师姓名须为1到60字", code="technician.name_invalid")
        self.name = name
        self.phone = Phone(self.phone).value
        self.skills = _skills(list(self.skills))
        self.status = TechnicianStatus(self.status)

    def update(self, *, name: str, phone: str, skills: list[str]) -> None:
        self.name, self.phone, self.skills = name, phone, skills
        self.validate()

    def set_status(self, status: str) -> None:
        try:
            self.status = TechnicianStatus(status)
        except ValueError:
            raise InvalidValue("status", "状态须为 available、busy 或 off_duty",
                               code="technician.status_unknown") from None

    def deactivate(self) -> None:
        if not self.active:
            raise IllegalTransition("technician", "inactive", "deactivate")
        self.active = False


DISPATCHABLE = (RequestState.ASSIGNED, RequestState.ACCEPTED)


def check_dispatch(request: ServiceRequest, technician: Technician) -> None:
    """A request goes to a technician only while its station holds it (assigned or accepted),
    and only to an active technician of that station who has the skill of the request's fault
    category and is available."""
    if request.state not in DISPATCHABLE:
        raise IllegalTransition("service_request", request.state.value, "dispatch_technician")
    if technician.station_id != request.station_id:
        raise BusinessRuleViolation("该技师不属于承接此请求的服务站", code="aftersales.technician_other_station",
                                    technician_id=technician.id, station_id=request.station_id)
    if not technician.active:
        raise BusinessRuleViolation("该技师已停用", code="aftersales.technician_inactive", technician_id=technician.id)
    if request.fault_category.value not in technician.skills:
        raise BusinessRuleViolation(f"该技师不具备“{request.fault_category.label}”维修技能",
                                    code="aftersales.technician_lacks_skill", technician_id=technician.id,
                                    required_skill=request.fault_category.value, skills=list(technician.skills))
    if technician.status is not TechnicianStatus.AVAILABLE:
        raise BusinessRuleViolation(f"该技师当前{technician.status.label}，不能派工",
                                    code="aftersales.technician_unavailable", technician_id=technician.id,
                                    status=technician.status.value)


# ---------------------------------------------------------------------------------------------
# Periodic maintenance plans


@attrs.define(slots=False, eq=False)
class MaintenancePlan:
    """定期保养计划 of one vehicle: every ``interval_days`` and/or every ``interval_km`` from the
    last service (at first: from the plan's start). Due when either is reached."""

    vin: str
    title: str
    interval_days: int | None
    interval_km: int | None
    last_done_on: dt.date
    last_done_km: int | None
    created_at: dt.datetime
    created_by: str
    dealer_id: int | None = None
    station_id: int | None = None
    remind_days_ahead: int = 7
    active: bool = True
    next_due_on: dt.date | None = None
    next_due_km: int | None = None
    version: int = 1
    id: int | None = None

    def __attrs_post_init__(self) -> None:
        title = (self.title or "").strip()
        if not title or len(title) > 100:
            raise InvalidValue("title", "保养项目须为1到100字", code="maintenance.title_invalid")
        self.title = title
        if self.interval_days is None and self.interval_km is None:
            raise InvalidValue("interval_days", "保养周期须至少规定天数或里程之一", code="maintenance.interval_required")
        if self.interval_days is not None and not 1 <= self.interval_days <= 3650:
            raise InvalidValue("interval_days", "保养间隔天数须为1到3650", code="maintenance.interval_days_invalid")
        if self.interval_km is not None and not 100 <= self.interval_km <= 1_000_000:
            raise InvalidValue("interval_km", "保养间隔里程须为100到1000000公里", code="maintenance.interval_km_invalid")
        if self.interval_km is not None and self.last_done_km is None:
            raise InvalidValue("start_km", "按里程保养须填写起始里程", code="maintenance.start_km_required")
        if self.last_done_km is not None and not 0 <= self.last_done_km <= 10_000_000:
            raise InvalidValue("start_km", "里程须为0到10000000公里", code="maintenance.km_invalid")
        if not 0 <= self.remind_days_ahead <= 90:
            raise InvalidValue("remind_days_ahead", "提前提醒天数须为0到90", code="maintenance.remind_invalid")
        self._schedule()

    def _schedule(self) -> None:
        self.next_due_on = (self.last_done_on + dt.timedelta(days=self.interval_days)
                            if self.interval_days is not None else None)
        self.next_due_km = (self.last_done_km + self.interval_km
                            if self.interval_km is not None and self.last_done_km is not None else None)

    def record_service(self, on: dt.date, odometer_km: int | None, today: dt.date) -> None:
        """A maintenance was done: the next one counts from here."""
        if not self.active:
            raise IllegalTransition("maintenance_plan", "inactive", "record_service")
        if on > today:
            raise InvalidValue("done_on", "保养日期不能晚于今天", code="maintenance.done_on_future")
        if on < self.last_done_on:
            raise InvalidValue("done_on", "保养日期不能早于上次保养", code="maintenance.done_on_before_last")
        if self.interval_km is not None and odometer_km is None:
            raise InvalidValue("odometer_km", "按里程保养须填写本次里程", code="maintenance.km_required")
        if odometer_km is not None and self.last_done_km is not None and odometer_km < self.last_done_km:
            raise InvalidValue("odometer_km", "里程不能小于上次保养里程", code="maintenance.km_backwards")
        self.last_done_on = on
        self.last_done_km = odometer_km if odometer_km is not None else self.last_done_km
        self._schedule()

    def deactivate(self) -> None:
        if not self.active:
            raise IllegalTransition("maintenance_plan", "inactive", "deactivate")
        self.active = False

    def due_reasons(self, today: dt.date, odometer_km: int | None) -> tuple[str, ...]:
        """Why the plan should be reminded now (empty: not yet): its date within
        ``remind_days_ahead`` days, or the last known odometer within 5 % of the interval."""
        if not self.active:
            return ()
        reasons = []
        if self.next_due_on is not None and today >= self.next_due_on - dt.timedelta(days=self.remind_days_ahead):
            reasons.append(f"{'已逾期' if today > self.next_due_on else '将到期'}：应于{self.next_due_on.isoformat()}保养")
        if self.next_due_km is not None and self.interval_km is not None and odometer_km is not None \
                and odometer_km >= self.next_due_km - self.interval_km // 20:
            reasons.append(f"里程{odometer_km}公里，应于{self.next_due_km}公里保养")
        return tuple(reasons)
