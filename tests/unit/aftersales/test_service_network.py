"""The service network's rules without a database: great-circle distance and the bounding box
that prefilters it, ranking by distance, technicians and the dispatch checks, maintenance plans
and their reminder rule, and the nearest-station service on a fake read side."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dealercrm.adapters.memory import memory_uow_factory
from dealercrm.application import aftersales as af
from dealercrm.application import service_network as sn
from dealercrm.application.alerts import RuleContext
from dealercrm.application.services.stations import StationsService
from dealercrm.application.workflow import WorkflowHandlers
from dealercrm.domain.aftersales import FaultCategory, RequestState, ServiceRequest, WarrantyState
from dealercrm.domain.errors import BusinessRuleViolation, IllegalTransition, InvalidValue, NotFound
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.service_network import (
    GeoPoint,
    MaintenancePlan,
    Technician,
    TechnicianStatus,
    bounding_box,
    check_dispatch,
    haversine_km,
    rank_by_distance,
)
from dealercrm.domain.values import Uscc, Vin, check_coordinates

NOW = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 10)
VIN = Vin.build("LZZ", "1CSVC", "T", "A", "000888").value
STAFF = Principal(1, "shouhou", Role.AFTER_SALES)
ZHENGZHOU = GeoPoint(34.7466, 113.6254)
LUOYANG = GeoPoint(34.6197, 112.4540)
JINAN = GeoPoint(36.6512, 117.1201)


def clock() -> dt.datetime:
    return NOW


# -- distance -------------------------------------------------------------------------------------


def test_one_degree_of_longitude_on_the_equator_is_about_111_km():
    d = haversine_km(GeoPoint(0, 0), GeoPoint(0, 1))

    assert d == pytest.approx(111.195, abs=0.01)


def test_zhengzhou_to_luoyang_is_about_108_km_and_symmetric():
    there, back = haversine_km(ZHENGZHOU, LUOYANG), haversine_km(LUOYANG, ZHENGZHOU)

    assert there == pytest.approx(108.0, abs=2.0)
    assert there == pytest.approx(back)


@pytest.mark.parametrize("centre", [ZHENGZHOU, GeoPoint(0, 0), GeoPoint(60, 179.9), GeoPoint(-45, -179.5)])
def test_every_point_within_the_radius_lies_inside_the_bounding_box(centre):
    radius = 150.0
    box = bounding_box(centre, radius)
    inside = 0

    for dlat in range(-30, 31, 3):
        for dlng in range(-30, 31, 3):
            lat = max(-90.0, min(90.0, centre.latitude + dlat / 10))
            lng = (centre.longitude + dlng / 10 + 180) % 360 - 180
            p = GeoPoint(lat, lng)
            if haversine_km(centre, p) <= radius:
                inside += 1
                assert box.min_lat <= lat <= box.max_lat
                if not box.all_longitudes:
                    in_lng = (box.min_lng <= lng <= box.max_lng if box.min_lng <= box.max_lng
                              else lng >= box.min_lng or lng <= box.max_lng)
                    assert in_lng, (centre, p)
    assert inside > 10


def test_a_box_across_the_antimeridian_wraps_its_longitudes():
    box = bounding_box(GeoPoint(10, 179.8), 100)

    assert box.min_lng > box.max_lng


def test_ranking_keeps_the_radius_and_orders_nearest_first():
    candidates = [(3, JINAN.latitude, JINAN.longitude), (2, LUOYANG.latitude, LUOYANG.longitude),
                  (1, ZHENGZHOU.latitude + 0.1, ZHENGZHOU.longitude)]

    ranked = rank_by_distance(ZHENGZHOU, candidates, radius_km=200, limit=10)

    assert [n.station_id for n in ranked] == [1, 2]
    assert ranked[0].distance_km == pytest.approx(11.12, abs=0.02)


@pytest.mark.parametrize("lat,lng,field", [(91, 113, "latitude"), (34, 181, "longitude"), (None, 113, "latitude"),
                                           (float("nan"), 113, "latitude")])
def test_coordinates_out_of_range_or_half_given_are_refused_naming_the_field(lat, lng, field):
    with pytest.raises(InvalidValue) as e:
        check_coordinates(lat, lng)

    assert e.value.details["field"] == field


# -- technicians and dispatch ---------------------------------------------------------------------


def _request(state: RequestState = RequestState.ACCEPTED, station_id: int | None = 1,
             fault: FaultCategory = FaultCategory.HYDRAULIC) -> ServiceRequest:
    return ServiceRequest(number="FW-1", vin=VIN, customer_name="赵", customer_phone="13700001111",
                          fault_category=fault, description="举升无力", province="河南省", city="郑州市",
                          location="物流园", region=None, product_line="dump_truck", model_code=None, dealer_id=None,
                          odometer_km=None, warranty_state=WarrantyState.IN_WARRANTY, warranty_warning=None,
                          created_at=NOW, created_by="s", state=state, station_id=station_id)


def _tech(station_id: int = 1, skills=("hydraulic", "brake"), status=TechnicianStatus.AVAILABLE) -> Technician:
    return Technician(station_id, "王师傅", "13912345678", list(skills), status=status, id=9)


def test_an_available_skilled_technician_of_the_holding_station_may_take_the_request():
    req = _request()

    check_dispatch(req, _tech())
    req.dispatch_to_technician(9, "王师傅", NOW, "s")

    assert req.technician_id == 9
    assert req.history[-1].action == "dispatch_technician"


@pytest.mark.parametrize("tech,code", [
    (_tech(station_id=2), "aftersales.technician_other_station"),
    (_tech(skills=("engine",)), "aftersales.technician_lacks_skill"),
    (_tech(status=TechnicianStatus.BUSY), "aftersales.technician_unavailable"),
    (_tech(status=TechnicianStatus.OFF_DUTY), "aftersales.technician_unavailable"),
])
def test_dispatch_to_a_technician_checks_station_skill_and_availability(tech, code):
    with pytest.raises(BusinessRuleViolation) as e:
        check_dispatch(_request(), tech)

    assert e.value.code == code


def test_an_open_request_cannot_go_to_a_technician_before_a_station_holds_it():
    with pytest.raises(IllegalTransition):
        check_dispatch(_request(RequestState.OPEN, station_id=None), _tech())


def test_an_unknown_skill_is_refused():
    with pytest.raises(InvalidValue) as e:
        _tech(skills=("welding",))

    assert e.value.code == "technician.skill_unknown"


# -- maintenance plans ----------------------------------------------------------------------------


def _plan(**kw: Any) -> MaintenancePlan:
    fields: dict[str, Any] = dict(vin=VIN, title="底盘润滑保养", interval_days=90, interval_km=10_000,
                                  last_done_on=dt.date(2026, 1, 1), last_done_km=50_000, created_at=NOW,
                                  created_by="s", remind_days_ahead=7, id=5)
    fields.update(kw)
    return MaintenancePlan(**fields)


def test_a_plan_is_due_by_days_or_by_km_from_its_last_service():
    plan = _plan()

    assert (plan.next_due_on, plan.next_due_km) == (dt.date(2026, 4, 1), 60_000)
    assert plan.due_reasons(dt.date(2026, 3, 24), None) == ()
    assert plan.due_reasons(dt.date(2026, 3, 25), None)
    assert plan.due_reasons(dt.date(2026, 3, 1), 59_600)  # within 5 % of the interval
    assert plan.due_reasons(dt.date(2026, 3, 1), 59_400) == ()


def test_recording_a_service_moves_the_next_due_date_and_km():
    plan = _plan()

    plan.record_service(dt.date(2026, 3, 5), 58_000, TODAY)

    assert (plan.next_due_on, plan.next_due_km) == (dt.date(2026, 6, 3), 68_000)


@pytest.mark.parametrize("kw,code", [
    (dict(interval_days=None, interval_km=None), "maintenance.interval_required"),
    (dict(interval_km=10_000, last_done_km=None), "maintenance.start_km_required"),
    (dict(interval_days=0), "maintenance.interval_days_invalid"),
])
def test_a_plan_needs_a_valid_interval(kw, code):
    with pytest.raises(InvalidValue) as e:
        _plan(**kw)

    assert e.value.code == code


def test_a_service_odometer_going_backwards_is_refused():
    with pytest.raises(InvalidValue) as e:
        _plan().record_service(dt.date(2026, 3, 5), 49_000, TODAY)

    assert e.value.code == "maintenance.km_backwards"


# -- use cases on the memory unit of work --------------------------------------------------------


def _uscc(n: int) -> str:
    body = f"91{440000 + n:06d}MA{n:07d}"
    return body + Uscc.check_char(body)


@pytest.fixture
def uow():
    return memory_uow_factory(clock=clock, workflow_handlers=WorkflowHandlers.of(af.CLAIM_REVIEW_HANDLERS))


@pytest.fixture
def world(uow):
    ids = []
    for n in (1, 2):
        ids.append(af.create_station(af.StationIn(
            f"服务站{n}", _uscc(n), "华中", "河南省", "郑州市", "经开区", "李", "13912345678", ("dump_truck",), 8000,
            "class_2", latitude=34.7 + n / 10, longitude=113.6), uow(STAFF), clock))
    with uow(STAFF) as u:
        u.aftersales.put_vehicle(VIN, dealer_id=7, product_line="dump_truck")
        u.commit()
    created = af.create_request(af.RequestIn(VIN, "赵", "13700001111", "hydraulic", "举升无力", "河南省", "郑州市",
                                             "物流园"), uow(STAFF), clock)
    return {"stations": ids, "request": created.request_id,
            "users": [Principal(10 + i, f"zhan{i}", Role.STATION, station_id=s) for i, s in enumerate(ids)]}


def test_staff_dispatch_straight_to_a_technician_sends_the_request_to_the_technicians_station(uow, world):
    s1, s2 = world["stations"]
    tech = sn.add_technician(s2, sn.TechnicianIn("王师傅", "13912345678", ("hydraulic",)), uow(STAFF), clock)

    station = af.assign_request(world["request"], None, uow(STAFF), clock, technician_id=tech)

    with uow(STAFF) as u:
        req = u.aftersales.request(world["request"])
        assert (station, req.station_id, req.technician_id, req.state) == (s2, s2, tech, RequestState.ASSIGNED)


def test_a_station_cannot_dispatch_another_stations_request_or_technician(uow, world):
    s1, s2 = world["stations"]
    u1, u2 = world["users"]
    af.assign_request(world["request"], s1, uow(STAFF), clock)
    own = sn.add_technician(s1, sn.TechnicianIn("王师傅", "13912345678", ("hydraulic",)), uow(u1), clock)
    other = sn.add_technician(s2, sn.TechnicianIn("刘师傅", "13912345679", ("hydraulic",)), uow(u2), clock)

    with pytest.raises(NotFound):
        sn.dispatch_to_technician(world["request"], own, uow(u2), clock)
    with pytest.raises(InvalidValue):
        sn.dispatch_to_technician(world["request"], other, uow(u1), clock)
    with pytest.raises(NotFound):
        sn.add_technician(s2, sn.TechnicianIn("张", "13912345670", ("brake",)), uow(u1), clock)
    assert sn.dispatch_to_technician(world["request"], own, uow(u1), clock) == own


def test_the_maintenance_rule_reminds_when_due_and_stops_after_the_service(uow, world):
    plan_id = sn.create_plan(sn.PlanIn(VIN, "换液压油", 30, None, dt.date(2026, 2, 10),
                                       station_id=world["stations"][0]), uow(STAFF), clock)
    rule = sn.MaintenanceDueRule()

    with uow(Principal.system()) as u:
        due = rule.evaluate(RuleContext(NOW, u))
    sn.record_plan_service(plan_id, TODAY, None, uow(STAFF), clock)
    with uow(Principal.system()) as u:
        after = rule.evaluate(RuleContext(NOW, u))

    assert [c.subject_id for c in due] == [str(plan_id)]
    assert due[0].audience.station_ids == (world["stations"][0],)
    assert due[0].audience.dealer_ids == (7,)
    assert after == []


class FakeStationRows:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.boxes: list[Any] = []

    def stations_in_box(self, box: Any, *, product_line: str | None = None) -> list[dict[str, Any]]:
        self.boxes.append(box)
        return [r for r in self.rows if box.min_lat <= r["latitude"] <= box.max_lat
                and (product_line is None or product_line in r["product_lines"])]


def test_nearest_stations_come_with_their_distance_nearest_first():
    rows = [{"id": 1, "latitude": JINAN.latitude, "longitude": JINAN.longitude, "product_lines": ["tanker"]},
            {"id": 2, "latitude": LUOYANG.latitude, "longitude": LUOYANG.longitude, "product_lines": ["tanker"]},
            {"id": 3, "latitude": 34.75, "longitude": 113.7, "product_lines": ["dump_truck"]}]
    svc = StationsService(memory_uow_factory(clock=clock), clock, FakeStationRows(rows))  # type: ignore[arg-type]

    near = svc.nearest(STAFF, ZHENGZHOU.latitude, ZHENGZHOU.longitude, radius_km=500)
    tankers = svc.nearest(STAFF, ZHENGZHOU.latitude, ZHENGZHOU.longitude, radius_km=150, product_line="tanker")

    assert [(r["id"], round(r["distance_km"])) for r in near] == [(3, 7), (2, 108), (1, 380)]
    assert [r["id"] for r in tankers] == [2]


def test_nearest_refuses_a_bad_radius_and_roles_that_may_not_ask():
    svc = StationsService(memory_uow_factory(clock=clock), clock, FakeStationRows([]))  # type: ignore[arg-type]

    with pytest.raises(InvalidValue) as e:
        svc.nearest(STAFF, 34.7, 113.6, radius_km=0)
    assert e.value.details["field"] == "radius_km"
    from dealercrm.domain.errors import PermissionDenied
    with pytest.raises(PermissionDenied):
        svc.nearest(Principal(3, "zhan", Role.STATION, station_id=1), 34.7, 113.6)
