"""The service network on SQLite and PostgreSQL: the nearest-station query (bounding box in SQL,
great-circle distance after), technicians and dispatch to a technician with its checks,
maintenance plans reminded through the alert scheduler on the injected clock, and the
migration that turns the repair records' old text photo references into link media."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest
from sqlalchemy import MetaData, insert, select

from dealercrm.adapters.db import migrate
from dealercrm.adapters.db.engine import make_engine
from dealercrm.application import service_network as sn
from dealercrm.application.alerts import RuleRegistry, Scheduler
from dealercrm.domain.errors import BusinessRuleViolation, NotFound
from dealercrm.domain.identity import Principal

from .conftest import station_in, vin

ZHENGZHOU = (34.7466, 113.6254)
COORDS = {1: (34.7472, 113.6249), 2: (34.6197, 112.4540), 3: (36.6512, 117.1201)}


def _stations(kit) -> dict[int, int]:
    ids = {n: kit.svc.create_station(kit.staff, attrs.evolve(
        station_in(n, lines=("dump_truck",) if n == 2 else ("tanker", "dump_truck")), latitude=lat, longitude=lng))
        for n, (lat, lng) in COORDS.items()}
    ids[4] = kit.station(4)  # no coordinates: never in a nearest answer
    return ids


def test_nearest_stations_are_ranked_by_great_circle_distance(kit):
    ids = _stations(kit)

    near = kit.crm.stations.nearest(kit.staff, *ZHENGZHOU, radius_km=500)
    close = kit.crm.stations.nearest(kit.staff, *ZHENGZHOU, radius_km=50)
    tankers = kit.crm.stations.nearest(kit.staff, *ZHENGZHOU, radius_km=500, product_line="tanker")

    assert [(r["id"], round(r["distance_km"])) for r in near] == [(ids[1], 0), (ids[2], 108), (ids[3], 380)]
    assert [r["id"] for r in close] == [ids[1]]
    assert [r["id"] for r in tankers] == [ids[1], ids[3]]  # Luoyang repairs dump trucks only


def test_a_request_goes_to_an_available_skilled_technician_of_its_station(kit):
    kit.policies()
    ids = _stations(kit)
    v = kit.vehicle(41, kit.dealer())
    req = kit.request(v, fault_category="hydraulic")
    user = kit.station_user(ids[1])
    stations = kit.crm.stations
    skilled = stations.add_technician(user, ids[1], sn.TechnicianIn("王师傅", "13912345678", ("hydraulic",)))
    unskilled = stations.add_technician(user, ids[1], sn.TechnicianIn("刘师傅", "13912345679", ("brake",)))
    elsewhere = stations.add_technician(kit.staff, ids[3], sn.TechnicianIn("张师傅", "13912345670", ("hydraulic",)))
    kit.svc.assign(kit.staff, req.request_id, ids[1])

    with pytest.raises(BusinessRuleViolation) as lacking:
        stations.dispatch(kit.staff, req.request_id, unskilled)
    with pytest.raises(BusinessRuleViolation) as other:
        stations.dispatch(kit.staff, req.request_id, elsewhere)
    stations.set_availability(user, skilled, "off_duty")
    with pytest.raises(BusinessRuleViolation) as away:
        stations.dispatch(user, req.request_id, skilled)
    stations.set_availability(user, skilled, "available")
    stations.dispatch(user, req.request_id, skilled)

    assert (lacking.value.code, other.value.code, away.value.code) == (
        "aftersales.technician_lacks_skill", "aftersales.technician_other_station", "aftersales.technician_unavailable")
    detail = kit.svc.request(kit.staff, req.request_id)
    assert detail["technician_id"] == skilled
    assert detail["history"][-1]["action"] == "dispatch_technician"
    assert [t["id"] for t in stations.technicians(user, ids[1])] == [skilled, unskilled]
    with pytest.raises(NotFound):
        stations.technicians(user, ids[3])


def test_maintenance_plans_are_reminded_by_the_scheduler_and_resolved_by_the_service(kit, crm, clock):
    dealer = kit.dealer()
    v = kit.vehicle(42, dealer)
    station = kit.station(5)
    today = dt.date(2026, 3, 10)
    plan_id = crm.stations.create_plan(kit.staff, sn.PlanIn(v, "液压系统保养", 30, None, today - dt.timedelta(days=20),
                                                          station_id=station, remind_days_ahead=7))
    scheduler = Scheduler(crm.uow, RuleRegistry((sn.MaintenanceDueRule(),)))

    quiet = scheduler.run_once(clock())
    clock.advance(days=4)
    raised = scheduler.run_once(clock())
    crm.stations.record_service(kit.station_user(station), plan_id, dt.date(2026, 3, 14), None)
    resolved = scheduler.run_once(clock())

    assert (quiet.raised, raised.raised, resolved.resolved) == (0, 1, 1)
    assert crm.stations.plan(kit.staff, plan_id)["next_due_on"] == dt.date(2026, 4, 13)
    with crm.uow(Principal.system()) as uow:
        alert = uow.alerts.by_key("aftersales.maintenance_due", f"maintenance-{plan_id}-2026-03-20-")
        assert alert is not None and alert.audience.station_ids == (station,)


def test_the_migration_keeps_old_photo_references_as_link_media(db_url):
    engine = make_engine(db_url)
    try:
        migrate.downgrade(engine, "0018")
        meta = MetaData()
        meta.reflect(engine, only=["service_stations", "service_requests", "service_repair_records"])
        st, rq, rr = (meta.tables[n] for n in ("service_stations", "service_requests", "service_repair_records"))
        at = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
        cmd = station_in(77)
        with engine.begin() as conn:
            sid = conn.execute(insert(st).values(
                code="FWZ-0077", name=cmd.name, uscc=cmd.uscc, region=cmd.region, province=cmd.province, city=cmd.city,
                address=cmd.address, contact_name=cmd.contact_name, contact_phone=cmd.contact_phone,
                product_lines=["tanker"], labour_rate_fen=8000, qualification="class_2", capacity=5, status="active",
                version=1).returning(st.c.id)).scalar_one()
            rid = conn.execute(insert(rq).values(
                number="FW-2026-000077", vin=vin(77), customer_name="赵", customer_phone="13700001111",
                fault_category="brake", description="d", province="河南省", city="郑州市", location="l",
                warranty_state="in_warranty", state="repaired", station_id=sid, refused_station_ids=[],
                created_at=at, created_by="s", version=1).returning(rq.c.id)).scalar_one()
            rec = conn.execute(insert(rr).values(
                number="WX-2026-000077", request_id=rid, station_id=sid, vin=vin(77), fault_category="brake",
                in_warranty=True, problem="p", solution="s", place="x", started_at=at, finished_at=at,
                labour_centihours=100, photos=["oss://repairs/old-1.jpg", "oss://repairs/old-2.jpg"],
                recorded_at=at, recorded_by="zhan", is_major=False, version=1).returning(rr.c.id)).scalar_one()

        migrate.upgrade(engine)

        from dealercrm.adapters.db.aftersales_tables import service_media
        with engine.connect() as conn:
            rows = conn.execute(select(service_media.c.owner_type, service_media.c.owner_id, service_media.c.kind,
                                       service_media.c.legacy_ref, service_media.c.uploaded_by)
                                .order_by(service_media.c.id)).all()
    finally:
        engine.dispose()

    assert [tuple(r) for r in rows] == [("repair_record", rec, "link", "oss://repairs/old-1.jpg", "zhan"),
                                        ("repair_record", rec, "link", "oss://repairs/old-2.jpg", "zhan")]
