"""Read side of after-sales: Core queries returning plain dicts, scoped in SQL by the caller's
service scope (a station's query only ever touches its own rows; a dealer's only requests on
its own vehicles)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql import Select

from dealercrm.adapters.db.aftersales_tables import (
    service_claims,
    service_maintenance_plans,
    service_media,
    service_technicians,
    service_parts,
    service_repair_operations,
    service_repair_parts,
    service_repair_records,
    service_request_events,
    service_requests,
    service_stations,
    service_stock,
    service_stock_movements,
    service_warranties,
    service_warranty_policies,
)
from dealercrm.adapters.db.gate_tables import vehicles
from dealercrm.adapters.db.orm import dealers
from dealercrm.application.access import ServiceScope
from dealercrm.domain.aftersales import OPEN_AT_STATION, ClaimState
from dealercrm.domain.service_network import BoundingBox
from dealercrm.domain.values import SHANGHAI

REPORT_DIMENSIONS = {
    "fault_category": service_repair_records.c.fault_category,
    "vin": service_repair_records.c.vin,
    "model_code": service_repair_records.c.model_code,
    "product_line": service_repair_records.c.product_line,
    "station": service_repair_records.c.station_id,
    "month": None,  # computed in Python (Beijing month of the finish time), portable across engines
}


class SqlAftersalesQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _all(self, q: Select[Any]) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [{str(k): v for k, v in r._mapping.items()} for r in conn.execute(q)]

    def _one(self, q: Select[Any]) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
            return {str(k): v for k, v in row._mapping.items()} if row else None

    # -- stations ------------------------------------------------------------------------------

    def list_stations(self, scope: ServiceScope, *, region: str | None = None, product_line: str | None = None,
                      status: str | None = None, after_id: int | None = None,
                      limit: int = 50) -> list[dict[str, Any]]:
        s = service_stations.c
        q = select(service_stations).order_by(s.id).limit(limit if product_line is None else 10_000)
        if scope.station_id is not None:
            q = q.where(s.id == scope.station_id)
        if region:
            q = q.where(s.region == region)
        if status:
            q = q.where(s.status == status)
        if after_id is not None:
            q = q.where(s.id > after_id)
        rows = self._all(q)
        if product_line is not None:  # JSON membership, filtered portably
            rows = [r for r in rows if product_line in (r["product_lines"] or [])][:limit]
        return rows

    def station(self, station_id: int) -> dict[str, Any] | None:
        return self._one(select(service_stations).where(service_stations.c.id == station_id))

    def station_quality(self, station_id: int) -> dict[str, Any]:
        """服务质量指标, computed from the records: dispatches, refusals, response time, repairs,
        duration, confirmations, satisfaction, repeat repairs (same VIN again within 30 days),
        major repairs and approved settlement."""
        e, r, rr, c = service_request_events.c, service_requests.c, service_repair_records.c, service_claims.c
        with self.engine.connect() as conn:
            events = conn.execute(
                select(e.request_id, e.action, e.at).where(e.station_id == station_id,
                                                           e.action.in_(["assign", "accept", "refuse"]))
                .order_by(e.id)).all()
            open_now = conn.execute(select(func.count()).where(
                r.station_id == station_id, r.state.in_([s.value for s in OPEN_AT_STATION]))).scalar_one()
            records = conn.execute(
                select(rr.vin, rr.started_at, rr.finished_at, rr.confirmed_at, rr.satisfaction, rr.is_major)
                .where(rr.station_id == station_id)).all()
            vins = sorted({x.vin for x in records})
            later = conn.execute(select(rr.vin, rr.finished_at).where(rr.vin.in_(vins))).all() if vins else []
            approved = conn.execute(select(func.coalesce(func.sum(c.total_fen), 0), func.count()).where(
                c.station_id == station_id, c.state == ClaimState.APPROVED.value)).one()
        assigned = [x for x in events if x.action == "assign"]
        refused = [x for x in events if x.action == "refuse"]
        assign_at: dict[int, dt.datetime] = {}
        response_hours = []
        for x in events:
            if x.action == "assign":
                assign_at[x.request_id] = x.at
            elif x.action == "accept" and x.request_id in assign_at:
                response_hours.append((x.at - assign_at.pop(x.request_id)).total_seconds() / 3600)
        durations = [(x.finished_at - x.started_at).total_seconds() / 3600 for x in records]
        confirmed = [x for x in records if x.confirmed_at is not None]
        sats = [x.satisfaction for x in confirmed if x.satisfaction is not None]
        by_vin: dict[str, list[dt.datetime]] = defaultdict(list)
        for v, f in later:
            by_vin[v].append(f)
        repeats = sum(1 for x in records
                      if any(x.finished_at < f <= x.finished_at + dt.timedelta(days=30) for f in by_vin[x.vin]))

        def avg(xs: list[float]) -> float | None:
            return round(sum(xs) / len(xs), 1) if xs else None

        def permille(n: int, d: int) -> int | None:
            return n * 1000 // d if d else None

        return {
            "dispatched": len(assigned), "refused": len(refused),
            "refusal_rate_permille": permille(len(refused), len(assigned)),
            "avg_response_hours": avg(response_hours), "open_requests": int(open_now),
            "repairs": len(records), "avg_repair_hours": avg(durations),
            "confirmed": len(confirmed), "confirmation_rate_permille": permille(len(confirmed), len(records)),
            "avg_satisfaction": avg([float(s) for s in sats]),
            "repeat_repairs_30d": repeats, "repeat_rate_permille": permille(repeats, len(records)),
            "major_repairs": sum(1 for x in records if x.is_major),
            "approved_claims": int(approved[1]), "approved_settlement_fen": int(approved[0]),
        }

    # -- warranty ------------------------------------------------------------------------------

    def policies(self) -> list[dict[str, Any]]:
        p = service_warranty_policies.c
        return self._all(select(service_warranty_policies).order_by(p.product_line, p.model_code.is_not(None),
                                                                    p.model_code))

    def warranty(self, vin: str) -> dict[str, Any] | None:
        return self._one(select(service_warranties).where(service_warranties.c.vin == vin))

    def customer_context(self, vin: str, phone: str | None, exclude_request_id: int | None = None
                         ) -> dict[str, Any]:
        """客户信息提示: the vehicle's purchase (dealer, order, contract, state), its warranty,
        the customer's other vehicles under warranty records, and earlier requests on the VIN or
        from the same phone."""
        v, d, w, r = vehicles.c, dealers.c, service_warranties.c, service_requests.c
        vehicle = self._one(
            select(v.vin, v.state, v.product_line, v.model_code, v.order_no, v.contract_no, v.erp_tracking_no,
                   v.received_at, d.id.label("dealer_id"), d.legal_name.label("dealer_name"), d.region)
            .select_from(vehicles.outerjoin(dealers, d.id == v.dealer_id)).where(v.vin == vin))
        if vehicle is not None:
            vehicle["vin"] = str(vehicle["vin"])
            vehicle["state"] = str(vehicle["state"])
        warranty = self.warranty(vin)
        phones = {p for p in (phone, warranty["customer_phone"] if warranty else None) if p}
        others = self._all(select(w.vin, w.product_line, w.model_code, w.starts_on, w.ends_on, w.customer_name)
                           .where(w.customer_phone.in_(sorted(phones)), w.vin != vin).order_by(w.starts_on)
                           ) if phones else []
        cond = r.vin == vin
        if phones:
            cond = or_(cond, r.customer_phone.in_(sorted(phones)))
        q = (select(r.id, r.number, r.vin, r.fault_category, r.state, r.created_at, r.station_id, r.description)
             .where(cond).order_by(r.id.desc()).limit(50))
        if exclude_request_id is not None:
            q = q.where(r.id != exclude_request_id)
        return {"vehicle": vehicle, "warranty": warranty, "other_vehicles": others, "previous_requests": self._all(q)}

    # -- requests ------------------------------------------------------------------------------

    def _request_scope(self, q: Select[Any], scope: ServiceScope) -> Select[Any]:
        r = service_requests.c
        if scope.station_id is not None:
            q = q.where(r.station_id == scope.station_id)
        if scope.dealer_id is not None:
            q = q.where(r.dealer_id == scope.dealer_id)
        return q

    def list_requests(self, scope: ServiceScope, *, state: list[str] | None = None, station_id: int | None = None,
                      vin: str | None = None, phone: str | None = None, warranty_state: str | None = None,
                      before_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        r, s = service_requests.c, service_stations.c
        q = (select(service_requests, s.name.label("station_name"))
             .select_from(service_requests.outerjoin(service_stations, s.id == r.station_id))
             .order_by(r.id.desc()).limit(limit))
        q = self._request_scope(q, scope)
        if state:
            q = q.where(r.state.in_(state))
        if station_id is not None:
            q = q.where(r.station_id == station_id)
        if vin:
            q = q.where(r.vin == vin)
        if phone:
            q = q.where(r.customer_phone == phone)
        if warranty_state:
            q = q.where(r.warranty_state == warranty_state)
        if before_id is not None:
            q = q.where(r.id < before_id)
        return self._all(q)

    def request_detail(self, scope: ServiceScope, request_id: int) -> dict[str, Any] | None:
        r, s = service_requests.c, service_stations.c
        q = (select(service_requests, s.name.label("station_name"))
             .select_from(service_requests.outerjoin(service_stations, s.id == r.station_id))
             .where(r.id == request_id))
        row = self._one(self._request_scope(q, scope))
        if row is None:
            return None
        e = service_request_events.c
        row["history"] = self._all(select(service_request_events).where(e.request_id == request_id).order_by(e.id))
        if scope.dealer_id is None:
            rec = self._one(select(service_repair_records.c.id).where(
                service_repair_records.c.request_id == request_id))
            row["record"] = self.record(rec["id"]) if rec else None
        else:
            row["record"] = None  # dealers see the request's progress, not the station's record
        return row

    # -- records and claims --------------------------------------------------------------------

    def record(self, record_id: int) -> dict[str, Any] | None:
        row = self._one(select(service_repair_records).where(service_repair_records.c.id == record_id))
        if row is None:
            return None
        p = service_repair_parts.c
        row["parts"] = self._all(select(service_repair_parts).where(p.record_id == record_id).order_by(p.id))
        c = service_claims.c
        row["claims"] = self._all(select(service_claims).where(c.record_id == record_id).order_by(c.id))
        row["media"] = self.media_of("repair_record", record_id)
        return row

    def record_scoped(self, scope: ServiceScope, record_id: int) -> dict[str, Any] | None:
        row = self.record(record_id)
        if row is None or scope.dealer_id is not None:
            return None
        if scope.station_id is not None and row["station_id"] != scope.station_id:
            return None
        return row

    def list_claims(self, scope: ServiceScope, *, state: str | None = None, station_id: int | None = None,
                    month: str | None = None, before_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        c, s, rr = service_claims.c, service_stations.c, service_repair_records.c
        q = (select(service_claims, s.name.label("station_name"), rr.number.label("record_no"), rr.vin)
             .select_from(service_claims.join(service_stations, s.id == c.station_id)
                          .join(service_repair_records, rr.id == c.record_id))
             .order_by(c.id.desc()).limit(limit))
        if scope.dealer_id is not None:
            return []
        if scope.station_id is not None:
            q = q.where(c.station_id == scope.station_id)
        if state:
            q = q.where(c.state == state)
        if station_id is not None:
            q = q.where(c.station_id == station_id)
        if month:
            q = q.where(c.settlement_month == month)
        if before_id is not None:
            q = q.where(c.id < before_id)
        return self._all(q)

    def claim(self, scope: ServiceScope, claim_id: int) -> dict[str, Any] | None:
        rows = [r for r in self.list_claims(scope, limit=1, before_id=claim_id + 1) if r["id"] == claim_id]
        return rows[0] if rows else None

    def settlement_statement(self, scope: ServiceScope, month: str, station_id: int | None = None
                             ) -> list[dict[str, Any]]:
        """服务结算单: approved claims of the month (Beijing, by approval date) per station."""
        c, s = service_claims.c, service_stations.c
        q = (select(s.id.label("station_id"), s.code, s.name, s.region, func.count().label("claims"),
                    func.sum(c.labour_centihours).label("labour_centihours"),
                    func.sum(c.labour_fen).label("labour_fen"), func.sum(c.parts_fen).label("parts_fen"),
                    func.sum(c.total_fen).label("total_fen"))
             .select_from(service_claims.join(service_stations, s.id == c.station_id))
             .where(c.state == ClaimState.APPROVED.value, c.settlement_month == month)
             .group_by(s.id, s.code, s.name, s.region).order_by(s.id))
        if scope.dealer_id is not None:
            return []
        if scope.station_id is not None:
            q = q.where(c.station_id == scope.station_id)
        if station_id is not None:
            q = q.where(c.station_id == station_id)
        rows = self._all(q)
        for row in rows:
            for k in ("labour_centihours", "labour_fen", "parts_fen", "total_fen"):
                row[k] = int(row[k] or 0)
            row["items"] = [x for x in self.list_claims(scope, state=ClaimState.APPROVED.value,
                                                        station_id=row["station_id"], month=month, limit=10_000)]
        return rows

    # -- stock ---------------------------------------------------------------------------------

    def stock_report(self, scope: ServiceScope, *, station_id: int | None = None, part_no: str | None = None,
                     region: str | None = None, include_zero: bool = False) -> list[dict[str, Any]]:
        """配件库存统计: each station's balance per part, valued at standard cost."""
        k, s, p = service_stock.c, service_stations.c, service_parts.c
        q = (select(k.station_id, s.code.label("station_code"), s.name.label("station_name"), s.region,
                    k.part_no, p.name.label("part_name"), p.unit, k.quantity, p.standard_cost_fen,
                    (k.quantity * p.standard_cost_fen).label("value_fen"), k.updated_at)
             .select_from(service_stock.join(service_stations, s.id == k.station_id)
                          .join(service_parts, p.part_no == k.part_no))
             .order_by(k.part_no, k.station_id))
        if scope.dealer_id is not None:
            return []
        if scope.station_id is not None:
            q = q.where(k.station_id == scope.station_id)
        if station_id is not None:
            q = q.where(k.station_id == station_id)
        if part_no:
            q = q.where(k.part_no == part_no)
        if region:
            q = q.where(s.region == region)
        if not include_zero:
            q = q.where(k.quantity > 0)
        return self._all(q)

    def movements(self, scope: ServiceScope, station_id: int, part_no: str | None = None,
                  before_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        m = service_stock_movements.c
        if scope.dealer_id is not None or (scope.station_id is not None and scope.station_id != station_id):
            return []
        q = select(service_stock_movements).where(m.station_id == station_id).order_by(m.id.desc()).limit(limit)
        if part_no:
            q = q.where(m.part_no == part_no)
        if before_id is not None:
            q = q.where(m.id < before_id)
        return self._all(q)

    def parts(self) -> list[dict[str, Any]]:
        return self._all(select(service_parts).order_by(service_parts.c.part_no))

    # -- major repairs and reports ---------------------------------------------------------

    def major_repairs(self, scope: ServiceScope) -> list[dict[str, Any]]:
        rr, s = service_repair_records.c, service_stations.c
        q = (select(rr.id, rr.number, rr.vin, rr.station_id, s.name.label("station_name"), rr.fault_category,
                    rr.product_line, rr.model_code, rr.problem, rr.solution, rr.finished_at, rr.major_agreement,
                    rr.major_compensation_fen, rr.major_summary, rr.major_flagged_at)
             .select_from(service_repair_records.join(service_stations, s.id == rr.station_id))
             .where(rr.is_major.is_(True)).order_by(rr.finished_at.desc()))
        if scope.dealer_id is not None:
            return []
        if scope.station_id is not None:
            q = q.where(rr.station_id == scope.station_id)
        return self._all(q)

    def repair_report(self, scope: ServiceScope, *, group_by: str, start: dt.datetime, end: dt.datetime,
                      product_line: str | None = None, fault_category: str | None = None,
                      model_code: str | None = None, vin: str | None = None) -> list[dict[str, Any]]:
        """维修报告: repairs finished in [start, end) grouped by one dimension, with labour hours,
        warranty part cost, major repairs and the approved settlement."""
        rr, rp, c = service_repair_records.c, service_repair_parts.c, service_claims.c
        warranty_parts = (select(rp.record_id, func.sum(case((rp.use == "warranty", rp.quantity * rp.unit_cost_fen),
                                                             else_=0)).label("wp"),
                                 func.sum(rp.quantity).label("qty"))
                          .group_by(rp.record_id).subquery())
        approved = (select(c.record_id, func.sum(c.total_fen).label("settled"))
                    .where(c.state == ClaimState.APPROVED.value).group_by(c.record_id).subquery())
        q = (select(rr.id, rr.vin, rr.fault_category, rr.model_code, rr.product_line, rr.station_id,
                    rr.finished_at, rr.labour_centihours, rr.is_major, rr.in_warranty,
                    func.coalesce(warranty_parts.c.wp, 0).label("wp"), func.coalesce(warranty_parts.c.qty, 0)
                    .label("qty"), func.coalesce(approved.c.settled, 0).label("settled"))
             .select_from(service_repair_records
                          .outerjoin(warranty_parts, warranty_parts.c.record_id == rr.id)
                          .outerjoin(approved, approved.c.record_id == rr.id))
             .where(and_(rr.finished_at >= start, rr.finished_at < end)))
        if scope.dealer_id is not None:
            return []
        if scope.station_id is not None:
            q = q.where(rr.station_id == scope.station_id)
        for col, value in ((rr.product_line, product_line), (rr.fault_category, fault_category),
                           (rr.model_code, model_code), (rr.vin, vin)):
            if value:
                q = q.where(col == value)
        groups: dict[Any, dict[str, Any]] = {}
        for row in self._all(q):
            if group_by == "month":
                key = row["finished_at"].astimezone(SHANGHAI).strftime("%Y-%m")
            elif group_by == "station":
                key = row["station_id"]
            else:
                key = row[group_by]
            key = str(key.value if hasattr(key, "value") else key) if key is not None else None
            g = groups.setdefault(key, {"key": key, "repairs": 0, "vehicles": set(), "labour_centihours": 0,
                                        "warranty_parts_fen": 0, "parts_quantity": 0, "major_repairs": 0,
                                        "in_warranty": 0, "settled_fen": 0})
            g["repairs"] += 1
            g["vehicles"].add(row["vin"])
            g["labour_centihours"] += row["labour_centihours"]
            g["warranty_parts_fen"] += int(row["wp"])
            g["parts_quantity"] += int(row["qty"])
            g["major_repairs"] += 1 if row["is_major"] else 0
            g["in_warranty"] += 1 if row["in_warranty"] else 0
            g["settled_fen"] += int(row["settled"])
        out = []
        for g in sorted(groups.values(), key=lambda x: (-x["repairs"], x["key"] or "")):
            g["vehicles"] = len(g["vehicles"])
            out.append(g)
        return out

    # -- the service network -------------------------------------------------------------------

    def stations_in_box(self, box: BoundingBox, *, product_line: str | None = None) -> list[dict[str, Any]]:
        """Active stations with coordinates inside the box: the index on (latitude, longitude)
        narrows by latitude, the longitude test is a plain range (two when the box crosses the
        antimeridian). Product line membership is JSON, filtered here portably."""
        s = service_stations.c
        q = select(service_stations).where(s.status == "active", s.latitude.is_not(None),
                                            s.latitude.between(box.min_lat, box.max_lat))
        if not box.all_longitudes:
            if box.min_lng <= box.max_lng:
                q = q.where(s.longitude.between(box.min_lng, box.max_lng))
            else:
                q = q.where(or_(s.longitude >= box.min_lng, s.longitude <= box.max_lng))
        rows = self._all(q.order_by(s.id))
        if product_line is not None:
            rows = [r for r in rows if product_line in (r["product_lines"] or [])]
        return rows

    def technicians(self, station_id: int, *, include_inactive: bool = False) -> list[dict[str, Any]]:
        t = service_technicians.c
        q = select(service_technicians).where(t.station_id == station_id).order_by(t.id)
        if not include_inactive:
            q = q.where(t.active.is_(True))
        return self._all(q)

    def technician(self, technician_id: int) -> dict[str, Any] | None:
        return self._one(select(service_technicians).where(service_technicians.c.id == technician_id))

    def plans(self, *, vin: str | None = None, station_id: int | None = None, dealer_id: int | None = None,
              include_inactive: bool = False) -> list[dict[str, Any]]:
        p = service_maintenance_plans.c
        q = select(service_maintenance_plans).order_by(p.id)
        if vin is not None:
            q = q.where(p.vin == vin)
        if station_id is not None:
            q = q.where(p.station_id == station_id)
        if dealer_id is not None:
            q = q.where(p.dealer_id == dealer_id)
        if not include_inactive:
            q = q.where(p.active.is_(True))
        return self._all(q.limit(500))

    def plan(self, plan_id: int) -> dict[str, Any] | None:
        return self._one(select(service_maintenance_plans).where(service_maintenance_plans.c.id == plan_id))

    # -- media ---------------------------------------------------------------------------------

    def media_of(self, owner_type: str, owner_id: int) -> list[dict[str, Any]]:
        m = service_media.c
        return self._all(select(service_media).where(m.owner_type == owner_type, m.owner_id == owner_id)
                         .order_by(m.id))

    def media(self, media_id: int) -> dict[str, Any] | None:
        return self._one(select(service_media).where(service_media.c.id == media_id))

    def part_no_of_id(self, part_id: int) -> str | None:
        if not 0 < part_id < 2**63:
            return None
        row = self._one(select(service_parts.c.part_no).where(service_parts.c.id == part_id))
        return str(row["part_no"]) if row else None

    # -- claim risk (issue 18 §1) ----------------------------------------------------------------

    def operations(self) -> list[dict[str, Any]]:
        o = service_repair_operations.c
        return self._all(select(o.code, o.name, o.standard_centihours).order_by(o.code))

    def risk_report(self, scope: ServiceScope, *, start: dt.datetime, end: dt.datetime,
                    station_id: int | None = None) -> list[dict[str, Any]]:
        """Per station, the claims submitted in [start, end) with their risk: how many, how many
        flagged, the scores' sum over the scored ones, and how many claims named each reason."""
        if scope.dealer_id is not None:
            return []
        c, s = service_claims.c, service_stations.c
        q = (select(c.station_id, s.code, s.name, s.region, c.risk_score, c.risk_flagged, c.risk_reasons)
             .select_from(service_claims.join(service_stations, s.id == c.station_id))
             .where(c.submitted_at >= start, c.submitted_at < end).order_by(c.station_id, c.id))
        if scope.station_id is not None:
            q = q.where(c.station_id == scope.station_id)
        if station_id is not None:
            q = q.where(c.station_id == station_id)
        out: dict[int, dict[str, Any]] = {}
        for r in self._all(q):
            row = out.setdefault(r["station_id"], {
                "station_id": r["station_id"], "station_code": r["code"], "station_name": r["name"],
                "region": r["region"], "claims": 0, "flagged": 0, "scored": 0, "score_sum": 0,
                "reason_counts": defaultdict(int)})
            row["claims"] += 1
            row["flagged"] += 1 if r["risk_flagged"] else 0
            if r["risk_score"] is not None:
                row["scored"] += 1
                row["score_sum"] += int(r["risk_score"])
            for code in {x["code"] for x in r["risk_reasons"] or []}:
                row["reason_counts"][code] += 1
        for row in out.values():
            row["reason_counts"] = dict(row["reason_counts"])
        return list(out.values())
