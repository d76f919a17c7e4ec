"""The demo loads after-sales data through the use cases: stations in several regions,
warranty policies, an open request waiting for dispatch, a claim in the after-sales review, a
major repair, and a station login that sees only its own station."""

from __future__ import annotations

import dealercrm
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.demo import load_demo


def test_demo_has_stations_policies_an_open_request_and_a_claim_in_review(sqlite_url):
    settings = load_settings({}, database_url=sqlite_url, log_level="WARNING", jwt_secret="d" * 48)
    crm = dealercrm.bootstrap(settings)
    try:
        logins = load_demo(crm, dealers=9)
        staff = Principal(None, "aftersales", Role.AFTER_SALES)
        svc = crm.aftersales

        stations = svc.list_stations(staff, limit=50)
        states = {r["state"].value for r in svc.list_requests(staff, limit=50)}
        claims = svc.list_claims(staff)
        zz = next(u for u, _, _ in logins if u == "station_zz")
        with crm.uow(Principal.system()) as uow:
            user = uow.users.by_username(zz)
            station_user = Principal(user.id, zz, Role.STATION, station_id=user.station_id)

        assert len({s["region"] for s in stations}) >= 6
        assert {p["product_line"] for p in svc.policies(staff)} == {"tanker", "dump_truck", "semi_trailer"}
        assert {"open", "assigned", "confirmed", "repaired"} <= states
        assert [c["state"].value for c in claims] == ["in_review", "in_review"]
        flagged, clean = claims  # newest first
        assert flagged["risk_flagged"] and not clean["risk_flagged"]
        assert [r["code"] for r in flagged["risk_reasons"]] == ["repeat_part", "labour_over_standard", "photo_reused"]
        assert len(svc.major_repairs(staff)) == 1
        assert {r["station_id"] for r in svc.list_requests(station_user)} == {station_user.station_id}
        assert svc.stock_report(staff, part_no="HC-1180")
        claimed = svc.record(staff, clean["record_id"])
        assert [m["kind"] for m in claimed["media"]] == ["photo"]
        assert crm.media.content(staff, claimed["media"][0]["id"], thumbnail=True)[0] == "image/jpeg"
        assert svc.request(staff, claimed["request_id"])["technician_id"] is not None
        nearest = crm.stations.nearest(staff, 34.75, 113.63, radius_km=150)
        assert [r["name"] for r in nearest][:2] == ["郑州宏运专用车服务站", "洛阳顺达汽车维修服务站"]
        assert crm.stations.plans(staff)
        assert load_demo(crm, dealers=9) == []
    finally:
        crm.close()
