"""Scoring one warranty claim (issue 18 §1, 三包索赔风控) against the repair history: the
application's scoring, in process, beside hand-written ``sqlite3`` queries that compute the same
features for the same claim, in the same run.

    .venv/bin/python benchmarks/claim_risk.py [--lines 1000000] [--claims 200] [--keep PATH]

The data (built here with raw ``sqlite3`` on a migrated file; no other benchmark fills the
after-sales tables): ``--lines`` historical repair part lines (about two per repair record, one
service request per record), over vehicles that each come back about four times between their sale
(2019–2025) and the benchmark's "now" (2026-12-01); 300 service stations; 2 000 parts, 24 models
with their fitment (配件装配数量); 80 repair operations with standard hours; a warranty per VIN
(three years from the sale, with its customer's phone; fleet phones hold dozens of VINs); claims on
most warranty repairs (approved, in review, rejected, withdrawn); one or two photos per record and
some per claim, a few of them re-used content. Odometer slips, repairs outside the warranty dates,
labour over standard, quantities over fitment and repeated parts occur at realistic rates, so a
scored claim runs every rule's query against full indexes, and the run prints how often each
rule fired on the sampled claims.

Per sampled live claim (``--claims`` of them, at random), interleaved:
* **application**: what ``application.aftersales.submit_claim`` does to score a claim — a unit of
  work from the container (``crm.uow``), the repair record, the stored risk configuration,
  ``claim_evidence`` (the SQLAlchemy repository's queries) and ``domain.claim_risk.assess``;
* **hand-written SQL**: the same features with ``sqlite3`` on the same file — the record with its
  request's phone, warranty and operation in one statement, then the warranty parts, the earlier
  claims' parts of the VIN, the odometer readings, the phone's VINs, the model's fitment, the
  re-used photos and the stations' window statistics — rows fetched as tuples.
The evidence the second builds from its rows is asserted equal to the application's (and so are
the two assessments) for every sampled claim, before any timing: the two sides compute the same
thing. Printed: ms per claim (median and p95, wall and CPU of this process) of both and the ratio
(target ≤ 2×), the data size. Exits non-zero only if it could not run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import cpu_note
from dashboards import settings_for

import dealercrm
from dealercrm.application.aftersales import claim_evidence
from dealercrm.domain.claim_risk import (
    RULE_CODES,
    ClaimedPart,
    ClaimEvidence,
    OdometerReading,
    PriorClaimPart,
    ReusedPhoto,
    RiskConfig,
    StationStat,
    assess,
)
from dealercrm.domain.identity import Principal

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
STATIONS, PARTS, MODELS, OPERATIONS = 300, 2_000, 24, 80
FAULTS = ("engine", "chassis", "brake", "electrical", "hydraulic", "tank_body")
REGIONS = ("华北", "华东", "华南", "华中", "西南", "西北", "东北")


def _ts(moment: dt.datetime) -> str:
    """A UTC instant as ``UtcDateTime`` stores it in SQLite (naive UTC, microseconds)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sha(rng: random.Random) -> str:
    return hashlib.sha256(rng.randbytes(16)).hexdigest()


# -- the data ---------------------------------------------------------------------------------------


def build(path: str, lines: int, seed: int = 18) -> dict[str, int]:
    """Fill the after-sales tables of the migrated file at ``path``; returns the row counts."""
    rng = random.Random(seed)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    created = _ts(dt.datetime(2019, 1, 1, tzinfo=dt.UTC))
    conn.executemany(
        "INSERT INTO service_stations (id, code, name, uscc, region, province, city, address, contact_name, "
        "contact_phone, product_lines, labour_rate_fen, qualification, capacity, status, created_at, version) "
        "VALUES (?, ?, ?, ?, ?, '湖北省', '武汉市', '工业园路1号', '站长', ?, '[\"tanker\"]', ?, ?, 10, 'active', ?, 1)",
        [(s, f"ST{s:04d}", f"服务站{s}", f"91420100BENCH{s:05d}", REGIONS[s % len(REGIONS)], f"027{s:08d}",
          rng.choice((8000, 10000, 12000)), "class_1" if s % 3 else "class_2", created)
         for s in range(1, STATIONS + 1)])
    conn.executemany(
        "INSERT INTO service_parts (part_no, name, unit, standard_cost_fen, retail_price_fen, version) "
        "VALUES (?, ?, '件', ?, ?, 1)",
        [(f"P{p:05d}", f"配件{p}", 1000 + p * 37 % 90000, 1500 + p * 53 % 120000) for p in range(PARTS)])
    # Each model carries 60 parts in known quantities; its repairs draw from those and 20 it lacks.
    fitment: dict[str, dict[str, int]] = {}
    pools: dict[str, list[str]] = {}
    for m in range(MODELS):
        code = f"MX{m:03d}"
        parts = rng.sample(range(PARTS), 80)
        fitment[code] = {f"P{p:05d}": rng.choice((1, 1, 1, 2, 2, 4, 6, 8)) for p in parts[:60]}
        pools[code] = [f"P{p:05d}" for p in parts]
    conn.executemany("INSERT INTO template_parts (model_code, part_no, quantity) VALUES (?, ?, ?)",
                     [(m, p, q) for m, fit in fitment.items() for p, q in fit.items()])
    standards = {f"OP{o:03d}": rng.randrange(50, 1200, 25) for o in range(OPERATIONS)}
    conn.executemany("INSERT INTO service_repair_operations (code, name, standard_centihours, version) "
                     "VALUES (?, ?, ?, 1)", [(c, f"作业{c}", h) for c, h in standards.items()])
    conn.commit()

    counts = {"lines": 0, "records": 0, "claims": 0, "media": 0, "vins": 0, "fleet_phones": 60}
    warranties: list[tuple] = []
    requests: list[tuple] = []
    records: list[tuple] = []
    part_rows: list[tuple] = []
    claims: list[tuple] = []
    media: list[tuple] = []
    seen_hashes: list[str] = []

    def flush() -> None:
        conn.executemany(
            "INSERT INTO service_warranties (vin, product_line, model_code, customer_name, customer_phone, "
            "starts_on, ends_on, km_limit, recorded_at, version) VALUES (?, 'tanker', ?, ?, ?, ?, ?, 300000, ?, 1)",
            warranties)
        conn.executemany(
            "INSERT INTO service_requests (id, number, vin, customer_name, customer_phone, fault_category, "
            "description, province, city, location, region, product_line, model_code, odometer_km, warranty_state, "
            "state, station_id, assignment_mode, refused_station_ids, created_at, created_by, closed_at, version) "
            "VALUES (?, ?, ?, ?, ?, ?, '故障报修', '湖北省', '武汉市', '高速服务区', ?, 'tanker', ?, ?, ?, 'closed', ?, "
            "'auto', '[]', ?, 'bench', ?, 1)", requests)
        conn.executemany(
            "INSERT INTO service_repair_records (id, number, request_id, station_id, vin, fault_category, "
            "product_line, model_code, in_warranty, problem, solution, place, started_at, finished_at, "
            "labour_centihours, recorded_at, recorded_by, confirmed_at, confirmed_by, is_major, version, "
            "operation_code) VALUES (?, ?, ?, ?, ?, ?, 'tanker', ?, ?, '故障', '更换配件', '站内', ?, ?, ?, ?, "
            "'bench', ?, '客户', 0, 1, ?)", records)
        conn.executemany(
            "INSERT INTO service_repair_parts (record_id, part_no, part_name, quantity, use, unit_cost_fen, "
            "unit_price_fen) VALUES (?, ?, ?, ?, ?, ?, ?)", part_rows)
        conn.executemany(
            "INSERT INTO service_claims (id, number, record_id, station_id, labour_centihours, labour_rate_fen, "
            "labour_fen, parts_fen, total_fen, state, submitted_at, submitted_by, decided_at, version, "
            "risk_score, risk_flagged, risk_reasons, risk_skipped) "
            "VALUES (?, ?, ?, ?, ?, 10000, ?, ?, ?, ?, ?, 'bench', ?, 1, 0, 0, '[]', '[]')", claims)
        conn.executemany(
            "INSERT INTO service_media (owner_type, owner_id, kind, sha256, content_type, size_bytes, width, height, "
            "uploaded_at, uploaded_by) VALUES (?, ?, 'photo', ?, 'image/jpeg', ?, 1600, 1200, ?, 'bench')", media)
        conn.commit()
        for batch in (warranties, requests, records, part_rows, claims, media):
            batch.clear()

    fleet = [f"139{n:08d}" for n in range(counts["fleet_phones"])]
    sale_first, sale_span = dt.datetime(2019, 6, 1, tzinfo=dt.UTC), (dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
                                                                     - dt.datetime(2019, 6, 1, tzinfo=dt.UTC))
    record_id = claim_id = 0
    v = 0
    while counts["lines"] < lines:
        v += 1
        vin = f"LBENCH{v:011d}"
        model = f"MX{rng.randrange(MODELS):03d}"
        sold = sale_first + sale_span * rng.random()
        phone = rng.choice(fleet) if rng.random() < 0.03 else f"138{v:08d}"
        warranties.append((vin, model, f"客户{v}", phone, sold.astimezone(dt.UTC).date().isoformat(),
                           (sold + dt.timedelta(days=3 * 365)).date().isoformat(), _ts(sold)))
        visits = sorted(sold + (NOW - sold) * rng.random() for _ in range(rng.choice((1, 2, 3, 4, 5, 6, 7))))
        if rng.random() < 0.01:  # a repair dated before the sale
            visits[0] = sold - dt.timedelta(days=rng.randrange(2, 60))
        km_per_day = rng.uniform(150, 600)
        for at in visits:
            record_id += 1
            counts["records"] += 1
            km = max(0, int((at - sold).days * km_per_day))
            if rng.random() < 0.01:  # a rolled-back odometer
                km = km // 3
            station = rng.randrange(1, STATIONS + 1)
            finished = at + dt.timedelta(hours=rng.randrange(2, 30))
            in_warranty = sold <= at <= sold + dt.timedelta(days=3 * 365) or rng.random() < 0.05  # 5 % claimed anyway
            op = f"OP{rng.randrange(OPERATIONS):03d}" if rng.random() < 0.8 else None
            share = rng.choice((80, 90, 100, 100, 100, 100, 110, 115, 150, 200))  # % of the standard hours
            labour = max(25, (standards[op] if op else 300) * share // 100)
            requests.append((record_id, f"FW{record_id:010d}", vin, f"客户{v}", phone, rng.choice(FAULTS),
                             REGIONS[station % len(REGIONS)], model, km, "in_warranty" if in_warranty else "expired",
                             station, _ts(at), _ts(finished + dt.timedelta(days=1))))
            records.append((record_id, f"WX{record_id:010d}", record_id, station, vin, rng.choice(FAULTS), model,
                            in_warranty, _ts(at), _ts(finished), labour, _ts(finished), _ts(finished), op))
            parts_fen = 0
            for part in rng.sample(pools[model][:30] if rng.random() < 0.7 else pools[model], rng.choice((1, 2, 2, 3))):
                cost = 1000 + int(part[1:]) * 37 % 90000
                qty = fitment[model].get(part, 1) + (rng.randrange(1, 3) if rng.random() < 0.03 else 0)
                qty = max(1, qty if rng.random() < 0.5 else qty // 2)
                use = "warranty" if in_warranty else rng.choice(("repair", "sale"))
                part_rows.append((record_id, part, f"配件{part[1:]}", qty, use, cost, cost * 3 // 2))
                parts_fen += cost * qty if use == "warranty" else 0
                counts["lines"] += 1
            for _ in range(rng.choice((1, 1, 2))):
                h = rng.choice(seen_hashes) if seen_hashes and rng.random() < 0.005 else _sha(rng)
                if len(seen_hashes) < 5000:
                    seen_hashes.append(h)
                media.append(("repair_record", record_id, h, rng.randrange(200_000, 3_000_000), _ts(finished)))
                counts["media"] += 1
            if in_warranty and rng.random() < 0.85:
                claim_id += 1
                counts["claims"] += 1
                labour_fen = labour * 100
                submitted = finished + dt.timedelta(hours=rng.randrange(2, 96))
                if station <= 10:  # ten stations claim far more per repair than their peers
                    parts_fen *= 4
                state = rng.choices(("approved", "in_review", "rejected", "withdrawn"), (70, 12, 12, 6))[0]
                decided = _ts(submitted + dt.timedelta(days=3)) if state != "in_review" else None
                claims.append((claim_id, f"JS{claim_id:010d}", record_id, station, labour, labour_fen, parts_fen,
                               labour_fen + parts_fen, state, _ts(submitted), decided))
                if rng.random() < 0.3:
                    h = rng.choice(seen_hashes) if rng.random() < 0.01 else _sha(rng)
                    media.append(("claim", claim_id, h, rng.randrange(200_000, 3_000_000), _ts(submitted)))
                    counts["media"] += 1
        if len(part_rows) >= 50_000:
            flush()
    flush()
    counts["vins"] = v
    conn.execute("ANALYZE")
    conn.close()
    return counts


# -- the application's scoring ------------------------------------------------------------------------


def score_in_app(crm, actor: Principal, record_id: int, claim_id: int):  # type: ignore[no-untyped-def]
    """What ``submit_claim`` does to score a claim, minus its writes: a unit of work, the record,
    the stored configuration, the evidence from the repository, the rules."""
    uow = crm.uow(actor)
    with uow:
        rec = uow.aftersales.record(record_id)
        config = uow.aftersales.risk_config()
        evidence = claim_evidence(uow, rec, claim_id, config, NOW)
        return evidence, assess(evidence, config)


# -- the same features, by hand ------------------------------------------------------------------------

RECORD_SQL = """
SELECT rr.vin, rr.station_id, date(rr.finished_at, '+8 hours'), rr.labour_centihours, rr.model_code,
       q.customer_phone, o.code, o.standard_centihours, w.starts_on, w.ends_on
  FROM service_repair_records rr
  JOIN service_requests q ON q.id = rr.request_id
  LEFT JOIN service_repair_operations o ON o.code = upper(trim(rr.operation_code))
  LEFT JOIN service_warranties w ON w.vin = rr.vin
 WHERE rr.id = ?"""
PARTS_SQL = "SELECT part_no, part_name, quantity FROM service_repair_parts WHERE record_id = ? AND use = 'warranty' ORDER BY id"
PRIOR_SQL = """
SELECT c.number, rp.part_no, date(rr.finished_at, '+8 hours')
  FROM service_claims c
  JOIN service_repair_records rr ON rr.id = c.record_id
  JOIN service_repair_parts rp ON rp.record_id = rr.id
 WHERE rr.vin = ? AND rr.id != ? AND rp.use = 'warranty' AND c.state IN ('in_review', 'approved')
 ORDER BY c.id, rp.id"""
ODOMETER_SQL = ("SELECT number, date(created_at, '+8 hours'), odometer_km FROM service_requests "
                "WHERE vin = ? AND odometer_km IS NOT NULL ORDER BY id")
PHONE_SQL = ("SELECT vin FROM service_requests WHERE customer_phone = ? "
             "UNION SELECT vin FROM service_warranties WHERE customer_phone = ?")
FITMENT_SQL = "SELECT part_no, quantity FROM template_parts WHERE model_code = ?"
PHOTOS_SQL = """
SELECT m.sha256, m.owner_type, coalesce(rr.number, c.number)
  FROM service_media m
  LEFT JOIN service_repair_records rr ON m.owner_type = 'repair_record' AND rr.id = m.owner_id
  LEFT JOIN service_claims c ON m.owner_type = 'claim' AND c.id = m.owner_id
 WHERE m.sha256 IN (SELECT sha256 FROM service_media
                     WHERE ((owner_type = 'repair_record' AND owner_id = ?) OR (owner_type = 'claim' AND owner_id = ?))
                       AND kind = 'photo' AND sha256 IS NOT NULL)
   AND NOT ((m.owner_type = 'repair_record' AND m.owner_id = ?) OR (m.owner_type = 'claim' AND m.owner_id = ?))
   AND m.owner_type IN ('repair_record', 'claim')
 ORDER BY m.id"""
STATION_RECORDS_SQL = "SELECT station_id, count(*) FROM service_repair_records WHERE finished_at >= ? GROUP BY station_id"
STATION_CLAIMS_SQL = ("SELECT station_id, count(*), coalesce(sum(total_fen), 0) FROM service_claims "
                      "WHERE submitted_at >= ? AND state != 'withdrawn' GROUP BY station_id")


def features_by_hand(conn: sqlite3.Connection, record_id: int, claim_id: int, since: str) -> tuple:
    """The rows of every feature of the claim, as tuples."""
    rec = conn.execute(RECORD_SQL, (record_id,)).fetchone()
    vin, phone, model = rec[0], rec[5], rec[4]
    return (
        rec,
        conn.execute(PARTS_SQL, (record_id,)).fetchall(),
        conn.execute(PRIOR_SQL, (vin, record_id)).fetchall(),
        conn.execute(ODOMETER_SQL, (vin,)).fetchall(),
        conn.execute(PHONE_SQL, (phone, phone)).fetchall() if phone else [],
        conn.execute(FITMENT_SQL, (model,)).fetchall() if model else None,
        conn.execute(PHOTOS_SQL, (record_id, claim_id, record_id, claim_id)).fetchall(),
        conn.execute(STATION_RECORDS_SQL, (since,)).fetchall(),
        conn.execute(STATION_CLAIMS_SQL, (since,)).fetchall(),
    )


def as_evidence(rows: tuple) -> ClaimEvidence:
    """The hand-written rows as the domain's evidence (outside the timing: only to prove sameness)."""
    rec, parts, prior, odometer, phone_vins, fitment, photos, st_records, st_claims = rows
    day = dt.date.fromisoformat
    records = dict(st_records)
    by_station = {sid: (n, total) for sid, n, total in st_claims}
    return ClaimEvidence(
        vin=rec[0], station_id=rec[1], repaired_on=day(rec[2]),
        parts=tuple(ClaimedPart(*p) for p in parts), labour_centihours=rec[3],
        prior_claim_parts=tuple(PriorClaimPart(n, p, day(d)) for n, p, d in prior),
        odometer_readings=tuple(OdometerReading(n, day(d), km) for n, d, km in odometer),
        warranty_starts_on=day(rec[8]) if rec[8] else None, warranty_ends_on=day(rec[9]) if rec[9] else None,
        customer_phone=rec[5], phone_vins=tuple(sorted(v for (v,) in phone_vins)),
        fitment=dict(fitment) if fitment else None, operation_code=rec[6], standard_centihours=rec[7],
        reused_photos=tuple(ReusedPhoto(h, n or f"{t}#?") for h, t, n in photos),
        station_stats=tuple(StationStat(s, records.get(s, 0), *by_station.get(s, (0, 0)))
                            for s in sorted(set(records) | set(by_station))),
    )


# -- the run -------------------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _timed(fn) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Wall and CPU milliseconds of one call."""
    c0, w0 = time.process_time(), time.perf_counter()
    fn()
    return (time.perf_counter() - w0) * 1000, (time.process_time() - c0) * 1000


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000, help="historical repair part lines")
    ap.add_argument("--claims", type=int, default=200, help="claims scored (each by both sides)")
    ap.add_argument("--keep", help="build (or reuse) the data at this path instead of a temporary file")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="claim-risk-bench-"))
    path = args.keep or str(tmp / "bench.db")
    settings = settings_for(path)
    reuse = os.path.exists(path)
    dealercrm.bootstrap(settings, clock=lambda: NOW).close()  # the schema (migrations)
    if not reuse:
        t0 = time.perf_counter()
        counts = build(path, args.lines)
        print(f"built {counts['lines']:,} repair lines ({counts['records']:,} records and requests, "
              f"{counts['vins']:,} VINs, {counts['claims']:,} claims, {counts['media']:,} photos, "
              f"{STATIONS} stations, {PARTS:,} parts, {counts['fleet_phones']} fleet phones) "
              f"in {time.perf_counter() - t0:.1f} s", flush=True)
    crm = dealercrm.bootstrap(settings, clock=lambda: NOW)
    raw = sqlite3.connect(path)
    try:
        lines = raw.execute("SELECT count(*) FROM service_repair_parts").fetchone()[0]
        size_mb = os.path.getsize(path) / 1e6
        rng = random.Random(42)
        live = raw.execute("SELECT id, record_id FROM service_claims WHERE state IN ('in_review', 'approved')").fetchall()
        sample = [(r, c) for c, r in rng.sample(live, min(args.claims, len(live)))]
        since = _ts(NOW - dt.timedelta(days=RiskConfig().outlier_window_days))
        actor = Principal.system()

        fired = dict.fromkeys(RULE_CODES, 0)
        for record_id, claim_id in sample:  # same features, same verdict — and a warm-up of both sides
            evidence, risk = score_in_app(crm, actor, record_id, claim_id)
            by_hand = as_evidence(features_by_hand(raw, record_id, claim_id, since))
            if by_hand != evidence or assess(by_hand, RiskConfig()) != risk:
                print(f"claim {claim_id}: the hand-written features differ from the application's:\n"
                      f"  application: {evidence}\n  by hand:     {by_hand}", file=sys.stderr)
                return 1
            for r in risk.reasons:
                fired[r.code] += 1

        app_wall, app_cpu, sql_wall, sql_cpu, window_wall = [], [], [], [], []
        for i, (record_id, claim_id) in enumerate(sample):
            sides = [(app_wall, app_cpu, lambda r=record_id, c=claim_id: score_in_app(crm, actor, r, c)),
                     (sql_wall, sql_cpu, lambda r=record_id, c=claim_id: features_by_hand(raw, r, c, since))]
            for wall, cpu, fn in sides if i % 2 else reversed(sides):
                w, c = _timed(fn)
                wall.append(w)
                cpu.append(c)
            window_wall.append(_timed(lambda: (raw.execute(STATION_RECORDS_SQL, (since,)).fetchall(),
                                               raw.execute(STATION_CLAIMS_SQL, (since,)).fetchall()))[0])
    finally:
        raw.close()
        crm.close()

    print(f"claim risk scoring, {len(sample)} live claims against {lines:,} repair lines "
          f"({size_mb:.0f} MB SQLite file); {cpu_note()}")
    print("rules fired on the sample: " + ", ".join(f"{code} {n}" for code, n in fired.items()))
    print(f"{'ms per claim':<26}{'wall p50':>10}{'wall p95':>10}{'CPU p50':>10}{'CPU p95':>10}")
    for name, wall, cpu in (("hand-written SQL", sql_wall, sql_cpu), ("application (uow+assess)", app_wall, app_cpu)):
        print(f"{name:<26}{statistics.median(wall):>10.2f}{_pct(wall, 0.95):>10.2f}"
              f"{statistics.median(cpu):>10.2f}{_pct(cpu, 0.95):>10.2f}")
    print(f"of which the stations' {RiskConfig().outlier_window_days}-day statistics (the same for every claim; "
          f"two aggregates over the window): {statistics.median(window_wall):.2f} ms wall p50 by hand")
    wall_ratio = statistics.median(app_wall) / statistics.median(sql_wall)
    cpu_ratio = statistics.median(app_cpu) / statistics.median(sql_cpu)
    print(f"ratio application / SQL: wall {wall_ratio:.2f}×, CPU {cpu_ratio:.2f}× (target ≤ 2×)")
    shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
