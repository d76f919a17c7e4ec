"""Dealer stock on SQLite: a filtered, paginated stock query over 1 000 000 vehicles, and a
100 000-vehicle opening-stock import — each beside its hand-written baseline in the same run.

    .venv/bin/python benchmarks/dealer_stock.py [--vehicles 1000000] [--import-rows 100000]
                                                [--pages 20] [--rounds 5] [--keep PATH]

Targets (PERFORMANCE.md):
* stock query ≤ 2× the same hand-written SQL. Measured: ``SqlStockQueries.list_stock`` — what
  ``GET /api/v1/stock/vehicles`` calls — for dealer stock in one region and product line, page
  after page by keyset cursor (50 rows + 1): one statement with the invoice-status, live
  retail-sale and ageing-threshold lookups, then the status words and ageing band in Python;
  baseline: the same statement written by hand and run with the ``sqlite3`` module, rows
  fetched as tuples.
* import ≤ 3× Core ``executemany``. Measured: ``import_opening_stock`` — parse the CSV, check
  every row (VIN check digit, template, dates, duplicates in the file and in the database),
  insert the vehicles *and* their ``initial_stock`` events and the import record, commit;
  baseline: one SQLAlchemy Core ``executemany`` of the same vehicle rows in one transaction.

The 1M vehicles are generated with raw ``sqlite3`` ``executemany``. Prints figures and ratios;
exits non-zero only if it could not run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import cpu_note  # noqa: E402
from sqlalchemy import insert  # noqa: E402

import dealercrm  # noqa: E402
from dealercrm.adapters.db.gate_tables import vehicles  # noqa: E402
from dealercrm.adapters.db.orm import dealers  # noqa: E402
from dealercrm.application.access import DealerScope  # noqa: E402
from dealercrm.application.catalog import CreateTemplate  # noqa: E402
from dealercrm.application.dealer_stock import import_opening_stock  # noqa: E402
from dealercrm.config import load_settings  # noqa: E402
from dealercrm.domain.identity import Principal, Role  # noqa: E402
from dealercrm.domain.values import Uscc, Vin  # noqa: E402
from dealercrm.entrypoints.demo_orders import FUEL_TANKER  # noqa: E402

REGIONS = ("华北", "东北", "华东", "华中", "华南", "西南", "西北")
LINES = ("tanker", "dump_truck", "semi_trailer")
MODELS = [f"HZZ{n:03d}{line[:2].upper()}" for line in LINES for n in range(10)]
NOW = dt.datetime(2026, 6, 1, 4, 0, tzinfo=dt.UTC)
ADMIN = Principal(user_id=1, username="bench_admin", role=Role.ADMIN)
STATES = ("in_factory_stock",) * 3 + ("in_dealer_stock",) * 4 + ("sold",) * 3


def _sqlite_ts(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")


def add_dealers(crm, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    ids = []
    with crm.engine.begin() as conn:
        for n in range(count):
            body = f"91{430000 + n:06d}MA{n:07d}"
            ids.append(conn.execute(insert(dealers).values(
                code=f"DL-S{n:05d}", legal_name=f"库存基准专用车销售有限公司{n}", region=REGIONS[n % len(REGIONS)],
                province="河南省", city="郑州市", address_detail=f"经开区{n}号", uscc=body + Uscc.check_char(body),
                status="approved", territory_regions=[], territory_industries=[], version=1,
            ).returning(dealers.c.id)).scalar_one())
    for i, model in enumerate(MODELS):
        crm.orders.create_template(Principal.system(), CreateTemplate(model, LINES[i // 10], FUEL_TANKER, True))
    return ids


def vin_of(plant: str, n: int) -> str:
    return Vin.build("LZZ", "1CLVB", "T", plant, f"{n:06d}").value


def build_vehicles(path: str, dealer_ids: list[int], count: int) -> float:
    rnd = random.Random(7)
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    batch = 50_000
    for start in range(0, count, batch):
        rows = []
        for n in range(start, min(start + batch, count)):
            state = STATES[rnd.randrange(len(STATES))]
            model = rnd.randrange(len(MODELS))
            stocked = NOW - dt.timedelta(days=rnd.randrange(1, 400))
            received = stocked + dt.timedelta(days=10) if state != "in_factory_stock" else None
            rows.append((vin_of("A", n) if n < 1_000_000 else vin_of("B", n - 1_000_000), state,
                         dealer_ids[rnd.randrange(len(dealer_ids))], f"HT-2026-{n:07d}", f"ERP-{n:08d}",
                         LINES[model // 10], MODELS[model], (stocked + dt.timedelta(days=30)).date().isoformat(),
                         _sqlite_ts(stocked), _sqlite_ts(received) if received else None,
                         _sqlite_ts(received or stocked)))
        conn.executemany(
            "INSERT INTO vehicles (vin, state, dealer_id, contract_no, erp_tracking_no, product_line, model_code, "
            "agreed_delivery_date, stocked_at, received_at, state_changed_at, version) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)", rows)
        conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - started


# The same question asked by hand: the page with the seed's invoice words (the vehicle's own
# invoice, else the invoices of a fully invoiced contract), the live retail sale of a sold
# vehicle and the ageing thresholds, as correlated lookups for the page's rows.
BASELINE_SQL = """
SELECT v.id, v.vin, v.state, v.dealer_id, d.code, d.legal_name, d.region, v.product_line, v.model_code,
       v.order_no, v.contract_no, v.erp_tracking_no, v.agreed_delivery_date, v.stocked_at, v.released_at,
       v.received_at, v.state_changed_at,
       coalesce((SELECT cvi.status FROM credit_vehicle_invoices cvi WHERE cvi.vin = v.vin),
                (SELECT CASE WHEN max(ci.open_fen) > 0 THEN 'invoiced_unpaid' ELSE 'invoiced_paid' END
                   FROM credit_invoices ci
                  WHERE ci.contract_no = v.contract_no AND ci.state = 'issued' AND ci.vehicle_count = 0
                    AND EXISTS (SELECT 1 FROM credit_commitments cc
                                 WHERE cc.contract_no = v.contract_no AND cc.state = 'released')
                 HAVING count(*) > 0),
                'not_invoiced') AS invoice_status,
       CASE WHEN v.state = 'sold' THEN (SELECT rs.id FROM retail_sales rs WHERE rs.vin = v.vin
                                          AND rs.status IN ('unconfirmed', 'confirmed') ORDER BY rs.id DESC LIMIT 1)
       END AS sale_id,
       CASE WHEN v.state = 'sold' THEN (SELECT rs.status FROM retail_sales rs WHERE rs.vin = v.vin
                                          AND rs.status IN ('unconfirmed', 'confirmed') ORDER BY rs.id DESC LIMIT 1)
       END AS sale_status,
       (SELECT yellow_from_days FROM stock_ageing_policy WHERE id = 1),
       (SELECT red_from_days FROM stock_ageing_policy WHERE id = 1)
  FROM vehicles v LEFT OUTER JOIN dealers d ON d.id = v.dealer_id
 WHERE v.state = ? AND d.region = ? AND v.product_line = ? AND v.id > ?
 ORDER BY v.id LIMIT ?"""


def bench_query(crm, path: str, pages: int, rounds: int) -> None:  # type: ignore[no-untyped-def]
    from dealercrm.adapters.db.stock_queries import SqlStockQueries

    queries = SqlStockQueries(crm.engine)
    raw = sqlite3.connect(path)
    scope = DealerScope()
    filters = {"where": "dealer", "region": "华中", "product_line": "tanker"}

    def ours() -> int:
        after, seen = None, 0
        for _ in range(pages):
            rows = queries.list_stock(scope, NOW, **filters, after_id=after, limit=51)
            seen += len(rows[:50])
            after = rows[49]["id"]
        return seen

    def baseline() -> int:
        after, seen = 0, 0
        for _ in range(pages):
            rows = raw.execute(BASELINE_SQL, ("in_dealer_stock", "华中", "tanker", after, 51)).fetchall()
            seen += len(rows[:50])
            after = rows[49][0]
        return seen

    assert ours() == baseline() == pages * 50
    mine, base = [], []
    for _ in range(rounds):  # interleaved, so drift on a shared machine hits both
        t = time.perf_counter()
        ours()
        mine.append((time.perf_counter() - t) / pages)
        t = time.perf_counter()
        baseline()
        base.append((time.perf_counter() - t) / pages)
    m, b = statistics.median(mine), statistics.median(base)
    print(f"stock query, dealer stock in 华中 / tanker, {pages} pages of 50 by keyset cursor (median of {rounds}):")
    print(f"  dealercrm list_stock (page + invoice status + sales + ageing) {m * 1000:8.2f} ms/page")
    print(f"  hand-written SQL, sqlite3                                    {b * 1000:8.2f} ms/page")
    print(f"  ratio {m / b:.2f}×  (target ≤ 2×)")
    raw.close()


def bench_import(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings({}, database_url=f"sqlite:///{tmp}/import.db", jwt_secret="b" * 40,
                                 log_level="WARNING")
        crm = dealercrm.bootstrap(settings, clock=lambda: NOW)
        dealer_ids = add_dealers(crm, 2)
        day = (NOW - dt.timedelta(days=30)).date().isoformat()
        model = MODELS[0]
        lines = ["vin,model_code,stocked_in_on,contract_no,erp_tracking_no,agreed_delivery_date"]
        lines += [f"{vin_of('C', n)},{model},{day},HT-OLD-{n:06d},ERP-OLD-{n:06d},{day}" for n in range(rows)]
        content = ("\n".join(lines) + "\n").encode("utf-8")
        received = dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
        baseline_rows = [
            {"vin": Vin(vin_of("D", n)), "state": "in_dealer_stock", "dealer_id": dealer_ids[0], "order_no": None,
             "contract_no": f"HT-OLD-{n:06d}", "erp_tracking_no": f"ERP-OLD-{n:06d}", "erp_line_no": None,
             "product_line": "tanker", "model_code": model, "configuration": None,
             "agreed_delivery_date": received.date(), "stocked_at": None, "released_at": None,
             "received_at": received, "pickup_authorization_id": None, "state_changed_at": received, "version": 1}
            for n in range(rows)]

        t = time.perf_counter()
        with crm.engine.begin() as conn:
            conn.execute(insert(vehicles), baseline_rows)
        base = time.perf_counter() - t
        t = time.perf_counter()
        result = import_opening_stock(dealer_ids[1], content, crm.uow(ADMIN), lambda: NOW)
        mine = time.perf_counter() - t
        assert result.rows == rows
        crm.close()
    print(f"import of {rows} vehicles into a dealer's opening stock:")
    print(f"  dealercrm import_opening_stock (CSV, checks, vehicles + events) {mine:7.2f} s  "
          f"({rows / mine:,.0f} rows/s)")
    print(f"  Core executemany of the same vehicle rows                     {base:7.2f} s  "
          f"({rows / base:,.0f} rows/s)")
    print(f"  ratio {mine / base:.2f}×  (target ≤ 3×)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vehicles", type=int, default=1_000_000)
    ap.add_argument("--import-rows", type=int, default=100_000)
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--keep", help="build (or reuse) the 1M-vehicle database at this path")
    args = ap.parse_args()
    print(cpu_note())

    tmp = tempfile.TemporaryDirectory()
    path = args.keep or f"{tmp.name}/stock.db"
    reuse = bool(args.keep) and Path(path).exists()
    settings = load_settings({}, database_url=f"sqlite:///{path}", jwt_secret="b" * 40, log_level="WARNING")
    crm = dealercrm.bootstrap(settings, clock=lambda: NOW)
    if not reuse:
        dealer_ids = add_dealers(crm, 210)
        seconds = build_vehicles(path, dealer_ids, args.vehicles)
        print(f"built {args.vehicles:,} vehicles with sqlite3 executemany in {seconds:.1f} s")
    bench_query(crm, path, args.pages, args.rounds)
    crm.close()
    tmp.cleanup()
    bench_import(args.import_rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
