"""The 分析 dashboards on the benchmark data: each page's server time beside the report query it
shows, in the same run; and a 100 000-row export streamed with flat memory.

    .venv/bin/python benchmarks/dashboards.py [--vehicles 1000000] [--orders 100000] [--rounds 5]
                                              [--keep PATH] [--export-rows 100000]

The data: ``--dealers`` (600) dealers and 1 000 000 vehicles from ``dealer_stock.py`` (``add_dealers``,
``build_vehicles``), the 100 000-order book from ``order_history.py`` (``build_order_history``),
and, built here on top of them, a gate release event for every vehicle that left the factory (one
gate pass per three vehicles) and every dealer's credit: eight contracts, each with three
invoices issued over the last five months (some part paid, many overdue), and an account whose
running totals agree with them (receivables = the open invoices). SQLite WAL, one file.

Per dashboard (orders, credit, stock ageing, dealer stock, gate), median of ``--rounds``, interleaved:
* **query**: the report's statement written by hand, run with ``sqlite3`` on the same file (rows
  fetched as tuples) — the floor;
* **use case**: ``AnalyticsService.<report>`` called in-process (the SQLAlchemy query, the typed
  rows, the report built from them);
* **page**: ``GET /analytics/<code>`` over HTTP from a real server (uvicorn[standard], one worker,
  as ``web_pages.py``), signed in through the login form: the report, the dealer filter list, the
  table and the embedded chart data rendered.
and the ratio page / query (PERFORMANCE.md: a dashboard's server time ≤ 2× the report query it
shows). Beside them, in the same run, **the floor**: ``GET /analytics`` — a page with the same
layout, navigation, session, CSRF and middleware and no report — and each page's time over that
floor against its query ("page − floor"). The after-sales quality and campaign dashboards read tables this data set does not fill,
so they are not measured here.

The export: ``GET /orders/export`` (CSV, then XLSX) of the 100 000 orders, read chunk by chunk by a
client in a fresh process with the server in it: its resident set at the start and the most seen
while the chunks arrive (``VmRSS``), and its peak RSS before and after (``ru_maxrss``, as
``export_memory.py`` prints it). Flat memory: a few MB over the start, whatever the row count.

Prints figures and ratios; exits non-zero only if it could not run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import cpu_note, free_port, serve  # noqa: E402
from dealer_stock import add_dealers, build_vehicles  # noqa: E402
from export_memory import peak_mb  # noqa: E402
from order_history import build_order_history  # noqa: E402

import dealercrm  # noqa: E402
from dealercrm.application.identity import CreateUser  # noqa: E402
from dealercrm.application.services.analytics import Period  # noqa: E402
from dealercrm.config import load_settings  # noqa: E402
from dealercrm.domain.identity import Principal, Role  # noqa: E402
from dealercrm.domain.values import SHANGHAI  # noqa: E402
from dealercrm.entrypoints.http.app import create_app  # noqa: E402

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)  # the order book's "now"; the vehicles age up to it
PERIOD = Period(dt.date(2025, 12, 1), dt.date(2026, 11, 30))
USERNAME, PASSWORD = "bench_analyst", "Bench2026pass"
CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')


def _ts(moment: dt.datetime) -> str:
    """A UTC instant as SQLAlchemy stores it in SQLite."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")


def settings_for(path: str):  # type: ignore[no-untyped-def]
    return load_settings({}, database_url=f"sqlite:///{path}", log_level="WARNING", jwt_secret="b" * 48,
                         session_secret="s" * 48, login_rate_per_minute=10_000, sqlite_synchronous="NORMAL")


# -- the data ---------------------------------------------------------------------------------------


CONTRACTS, INVOICES = 8, 3  # per dealer, per contract
INVOICE_FEN, CONTRACT_FEN = 50_000_000, 200_000_000


def build_gate_and_credit(path: str) -> float:
    """On top of the vehicles: the release event of every vehicle that left the factory (a gate
    pass per three vehicles, five days after it was stocked), and each dealer's credit: contracts
    (part invoiced), their invoices issued 0 to 150 days ago (30-day terms, the first of each
    contract half paid) and the account with the receivables and uninvoiced value they add up to."""
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute(
        "INSERT INTO vehicle_events (vehicle_id, seq, action, at, from_state, to_state, actor, reference) "
        "SELECT id, 1, 'release', datetime(stocked_at, '+5 days'), 'in_factory_stock', 'released', 'bench', "
        "'GP-' || (id / 3) FROM vehicles WHERE state != 'in_factory_stock' AND stocked_at IS NOT NULL")
    today = NOW.astimezone(SHANGHAI).date()
    dealer_ids = [r[0] for r in conn.execute(
        "SELECT id FROM dealers WHERE id NOT IN (SELECT dealer_id FROM credit_accounts) ORDER BY id")]
    contracts, invoices, accounts = [], [], []
    for d in dealer_ids:
        receivable = 0
        for c in range(CONTRACTS):
            contract_no = f"BC-{d:05d}-{c}"
            contracts.append((contract_no, d, CONTRACT_FEN, INVOICES * INVOICE_FEN, "invoiced_part",
                              _ts(NOW - dt.timedelta(days=160))))
            for k in range(INVOICES):
                issued = today - dt.timedelta(days=(d * 7 + c * 13 + k * 29) % 150)
                paid = INVOICE_FEN // 2 if k == 0 else 0
                receivable += INVOICE_FEN - paid
                invoices.append((f"BI-{d:05d}-{c}-{k}", d, contract_no, INVOICE_FEN, issued.isoformat(),
                                 (issued + dt.timedelta(days=30)).isoformat(), _ts(NOW - dt.timedelta(days=1)),
                                 paid, INVOICE_FEN - paid))
        accounts.append((d, receivable, CONTRACTS * (CONTRACT_FEN - INVOICES * INVOICE_FEN)))
    conn.executemany(
        "INSERT INTO credit_commitments (contract_no, dealer_id, amount_fen, invoiced_fen, state, reserved_at, "
        "dunning_level, version) VALUES (?, ?, ?, ?, ?, ?, 0, 1)", contracts)
    conn.executemany(
        "INSERT INTO credit_invoices (invoice_no, dealer_id, contract_no, amount_fen, issued_on, due_on, issued_at, "
        "issued_by, vins, vehicle_count, state, paid_fen, open_fen, version) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 'bench', '[]', 0, 'issued', ?, ?, 1)", invoices)
    conn.executemany(
        "INSERT INTO credit_accounts (dealer_id, limit_fen, term_days, payment_cycle, warning_threshold_permille, "
        "status, receivable_fen, uninvoiced_fen, prepayment_fen, warning_active, warning_crossings, opened_at, "
        "version) VALUES (?, 5000000000, 30, 'monthly', 800, 'active', ?, ?, 0, 0, 0, '2025-01-01 00:00:00', 1)",
        accounts)
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - started


def build(path: str, vehicles: int, orders: int, dealers: int) -> None:
    crm = dealercrm.bootstrap(settings_for(path), clock=lambda: NOW)
    try:
        dealer_ids = add_dealers(crm, dealers)
        crm.identity.create_user(Principal.system(), CreateUser(USERNAME, USERNAME, Role.ADMIN.value, PASSWORD))
    finally:
        crm.close()
    with sqlite3.connect(path) as conn:
        template_id = conn.execute("SELECT min(id) FROM catalog_templates").fetchone()[0]
    vehicle_s = build_vehicles(path, dealer_ids, vehicles)
    order_s = build_order_history(path, dealer_ids=dealer_ids, template_id=template_id, orders=orders,
                                  now=NOW.replace(tzinfo=None))
    print(f"built {dealers:,} dealers, {vehicles:,} vehicles in {vehicle_s:.1f} s, {orders:,} orders in "
          f"{order_s:.1f} s, gate events and credit (accounts, contracts, invoices) in "
          f"{build_gate_and_credit(path):.1f} s", flush=True)


# -- the report queries, written by hand --------------------------------------------------------------

ORDERS_SQL = """
SELECT strftime('%Y-%m', o.created_at, '+8 hours') AS month, d.region, o.template_name,
       count(*), sum(o.quantity), sum(o.total_fen)
  FROM orders o JOIN dealers d ON d.id = o.dealer_id
 WHERE o.created_at >= ? AND o.created_at < ? AND o.state NOT IN ('draft', 'cancelled')
 GROUP BY 1, 2, 3"""
# the forecast vs actual of the period's last month (the forecasts are per dealer and product line)
FORECAST_SQL = """
SELECT f.dealer_id, l.product_line, sum(l.quantity)
  FROM sales_forecasts f JOIN sales_forecast_lines l ON l.forecast_id = f.id JOIN dealers d ON d.id = f.dealer_id
 WHERE f.month = ? GROUP BY 1, 2"""
ACTUAL_SQL = """
SELECT o.dealer_id, o.product_line, sum(o.quantity)
  FROM orders o JOIN dealers d ON d.id = o.dealer_id
 WHERE o.submitted_at >= ? AND o.submitted_at < ? AND o.state NOT IN ('draft', 'awaiting_quote', 'quoted', 'cancelled')
 GROUP BY 1, 2"""
CREDIT_SQL = """
SELECT a.dealer_id, d.code, d.legal_name, d.region, a.limit_fen,
       a.receivable_fen + a.uninvoiced_fen - a.prepayment_fen AS exposure_fen,
       a.limit_fen - (a.receivable_fen + a.uninvoiced_fen - a.prepayment_fen)
  FROM credit_accounts a JOIN dealers d ON d.id = a.dealer_id ORDER BY exposure_fen DESC, d.code"""
CREDIT_AGEING_SQL = """
SELECT coalesce(sum(CASE WHEN i.issued_on >= ? THEN i.open_fen ELSE 0 END), 0),
       coalesce(sum(CASE WHEN i.issued_on < ? AND i.issued_on >= ? THEN i.open_fen ELSE 0 END), 0),
       coalesce(sum(CASE WHEN i.issued_on < ? AND i.issued_on >= ? THEN i.open_fen ELSE 0 END), 0),
       coalesce(sum(CASE WHEN i.issued_on < ? THEN i.open_fen ELSE 0 END), 0),
       coalesce(sum(CASE WHEN i.due_on < ? THEN i.open_fen ELSE 0 END), 0)
  FROM credit_invoices i JOIN dealers d ON d.id = i.dealer_id WHERE i.open_fen > 0"""
STOCK_SQL = """
SELECT v.dealer_id, d.code, d.legal_name, d.region, count(*),
       sum(CASE WHEN coalesce(v.received_at, v.state_changed_at) > ? THEN 1 ELSE 0 END),
       sum(CASE WHEN coalesce(v.received_at, v.state_changed_at) <= ?
                 AND coalesce(v.received_at, v.state_changed_at) > ? THEN 1 ELSE 0 END),
       sum(CASE WHEN coalesce(v.received_at, v.state_changed_at) <= ? THEN 1 ELSE 0 END)
  FROM vehicles v JOIN dealers d ON d.id = v.dealer_id
 WHERE v.state = 'in_dealer_stock'
 GROUP BY v.dealer_id, d.code, d.legal_name, d.region"""
DEALER_STOCK_SQL = """
SELECT v.dealer_id, d.code, d.legal_name, d.region,
       sum(CASE WHEN v.state = 'in_dealer_stock' AND v.product_line = 'tanker' THEN 1 ELSE 0 END),
       sum(CASE WHEN v.state = 'in_dealer_stock' AND v.product_line = 'dump_truck' THEN 1 ELSE 0 END),
       sum(CASE WHEN v.state = 'in_dealer_stock' AND v.product_line = 'semi_trailer' THEN 1 ELSE 0 END),
       sum(CASE WHEN v.state = 'in_dealer_stock' THEN 1 ELSE 0 END),
       sum(CASE WHEN v.state IN ('released', 'in_transit') THEN 1 ELSE 0 END),
       sum(CASE WHEN v.state = 'sold' THEN 1 ELSE 0 END)
  FROM vehicles v JOIN dealers d ON d.id = v.dealer_id
 GROUP BY v.dealer_id, d.code, d.legal_name, d.region"""
GATE_SQL = """
SELECT strftime('%Y-%m-%d', e.at, '+8 hours') AS day, count(DISTINCT e.reference), count(*)
  FROM vehicle_events e JOIN vehicles v ON v.id = e.vehicle_id JOIN dealers d ON d.id = v.dealer_id
 WHERE e.action = 'release' AND e.at >= ? AND e.at < ?
 GROUP BY day"""


def hand_written(raw: sqlite3.Connection, yellow_days: int, red_days: int) -> dict[str, Callable[[], int]]:
    start, end = _ts(PERIOD.start), _ts(PERIOD.end)
    yellow, red = _ts(NOW - dt.timedelta(days=yellow_days)), _ts(NOW - dt.timedelta(days=red_days))
    today = NOW.astimezone(SHANGHAI).date()
    d30, d60, d90 = ((today - dt.timedelta(days=n)).isoformat() for n in (30, 60, 90))

    month = PERIOD.date_to.replace(day=1)
    month_start = dt.datetime.combine(month, dt.time(), SHANGHAI)
    month_end = dt.datetime.combine((month + dt.timedelta(days=32)).replace(day=1), dt.time(), SHANGHAI)

    def orders() -> int:
        rows = raw.execute(ORDERS_SQL, (start, end)).fetchall()
        raw.execute(FORECAST_SQL, (month.isoformat(),)).fetchall()
        raw.execute(ACTUAL_SQL, (_ts(month_start), _ts(month_end))).fetchall()
        return len(rows)

    def credit() -> int:
        rows = raw.execute(CREDIT_SQL).fetchall()
        raw.execute(CREDIT_AGEING_SQL, (d30, d30, d60, d60, d90, d90, today.isoformat())).fetchall()
        return len(rows)

    return {
        "orders": orders,
        "credit": credit,
        "stock": lambda: len(raw.execute(STOCK_SQL, (yellow, yellow, red, red)).fetchall()),
        "dealer-stock": lambda: len(raw.execute(DEALER_STOCK_SQL).fetchall()),
        "gate": lambda: len(raw.execute(GATE_SQL, (start, end)).fetchall()),
    }


def use_cases(crm, actor: Principal) -> dict[str, Callable[[], object]]:  # type: ignore[no-untyped-def]
    a = crm.analytics
    return {
        "orders": lambda: a.orders_report(actor, PERIOD),
        "credit": lambda: a.credit_report(actor),
        "stock": lambda: a.stock_report(actor),
        "dealer-stock": lambda: a.dealer_stock_report(actor),
        "gate": lambda: a.gate_throughput(actor, PERIOD),
    }


PERIOD_QUERY = f"?from={PERIOD.date_from.isoformat()}&to={PERIOD.date_to.isoformat()}"
PAGES = {"orders": "/analytics/orders" + PERIOD_QUERY, "credit": "/analytics/credit", "stock": "/analytics/stock",
         "dealer-stock": "/analytics/dealer-stock", "gate": "/analytics/gate" + PERIOD_QUERY,
         "empty": "/analytics/credit?region=none", "floor": "/analytics"}


def signed_in(base: str):  # type: ignore[no-untyped-def]
    """An httpx client signed in through the login form, as a browser."""
    import httpx

    client = httpx.Client(base_url=base, timeout=600)
    form = client.get("/login")
    token = CSRF_INPUT.search(form.text).group(1)  # type: ignore[union-attr]
    r = client.post("/login", data={"username": USERNAME, "password": PASSWORD, "_csrf_token": token})
    if r.status_code != 303:
        raise RuntimeError(f"login failed: {r.status_code}")
    return client


def _ms(fn: Callable[[], object]) -> tuple[float, float]:
    """(CPU ms of this process, wall ms) of one call. The server runs in a thread of this process,
    so a page's CPU time is the server's (plus the small client): on a shared, loaded machine CPU
    time drifts far less than wall time."""
    c, t = time.process_time(), time.perf_counter()
    fn()
    return (time.process_time() - c) * 1000, (time.perf_counter() - t) * 1000


def bench_dashboards(path: str, rounds: int) -> None:
    settings = settings_for(path)
    crm = dealercrm.bootstrap(settings, clock=lambda: NOW)
    actor = crm.identity.login(USERNAME, PASSWORD).principal
    raw = sqlite3.connect(path)
    policy = crm.stock.ageing_policy()
    queries = hand_written(raw, policy.yellow_from_days, policy.red_from_days)
    cases = use_cases(crm, actor)
    app = create_app(settings, container=crm)
    port = free_port()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with serve(app, port):
        client = signed_in(f"http://127.0.0.1:{port}")

        def page(code: str) -> Callable[[], object]:
            def get() -> object:
                r = client.get(PAGES[code])
                if r.status_code != 200:
                    raise RuntimeError(f"{PAGES[code]} answered {r.status_code}")
                return r
            return get

        print(f"dashboards, CPU ms per call (wall ms in brackets), median of {rounds} rounds, query, use case, "
              f"page and the floor page (GET /analytics: same layout and middleware, no report) interleaved; "
              f"{cpu_note()}")
        print(f"{'dashboard':<14}{'rows':>6}{'query':>16}{'use case':>16}{'page':>16}{'floor':>16}"
              f"{'use case/query':>16}{'page/query':>12}{'(page-floor)/query':>20}")
        page("floor")()
        for code in queries:
            rows = queries[code]()
            page(code)()  # warm: templates compiled, caches filled
            q, u, p, f = [], [], [], []
            for _ in range(rounds):
                q.append(_ms(queries[code]))
                u.append(_ms(cases[code]))
                p.append(_ms(page(code)))
                f.append(_ms(page("floor")))
            (mq, wq), (mu, wu), (mp, wp), (mf, wf) = (
                (statistics.median(c for c, _ in xs), statistics.median(w for _, w in xs)) for xs in (q, u, p, f))
            note = "" if mp <= 2 * mq else "  over 2×"
            cells = "".join(f"{f'{c:.1f} ({w:.1f})':>16}" for c, w in ((mq, wq), (mu, wu), (mp, wp), (mf, wf)))
            print(f"{code:<14}{rows:>6}{cells}{mu / mq:>15.2f}×{mp / mq:>11.2f}×{(mp - mf) / mq:>19.2f}×{note}",
                  flush=True)
        empty = [_ms(page("empty")) for _ in range(rounds)]
        print(f"the credit dashboard filtered to a region with no dealer (its queries run, no rows): "
              f"{statistics.median(c for c, _ in empty):.1f} CPU ms ({statistics.median(w for _, w in empty):.1f} "
              f"wall ms). The floor is what any page of this layout costs over HTTP (uvicorn, the session "
              f"lookup, CSRF, nav, template, and the HTTP client in this process; about 1 ms of it is the app): "
              f"page ≤ 2× query needs the page's own work (page − floor) ≤ 2× query − floor.")
        client.close()
    raw.close()
    crm.close()


def rss_mb() -> float:
    """This process's resident set now (``VmRSS``): the peak (``ru_maxrss``) may come from start-up."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def bench_export(path: str) -> None:
    """In this (fresh) process: the server, and a client reading the order export chunk by chunk."""

    settings = settings_for(path)
    crm = dealercrm.bootstrap(settings, clock=lambda: NOW)
    app = create_app(settings, container=crm)
    port = free_port()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with serve(app, port):
        client = signed_in(f"http://127.0.0.1:{port}")
        client.get("/orders")  # warm
        for fmt in ("csv", "xlsx"):
            before, now, started, size, chunks = peak_mb(), rss_mb(), time.perf_counter(), 0, 0
            highest = now
            with client.stream("GET", f"/orders/export?format={fmt}") as r:
                if r.status_code != 200:
                    raise RuntimeError(f"export answered {r.status_code}")
                for chunk in r.iter_raw():
                    size, chunks = size + len(chunk), chunks + 1
                    if chunks % 16 == 0:
                        highest = max(highest, rss_mb())
            print(f"export {fmt}: {size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s; RSS {now:.0f} MB "
                  f"at the start, at most {highest:.0f} MB while streaming; peak RSS {before:.0f} MB before, "
                  f"{peak_mb():.0f} MB after", flush=True)
        client.close()
    crm.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vehicles", type=int, default=1_000_000)
    ap.add_argument("--orders", type=int, default=100_000)
    ap.add_argument("--dealers", type=int, default=600)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--keep", help="build (or reuse) the benchmark database at this path")
    ap.add_argument("--export-only", metavar="PATH", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.export_only:
        bench_export(args.export_only)
        return 0

    tmp = tempfile.TemporaryDirectory(prefix="dealercrm-bench-dash-")
    path = args.keep or f"{tmp.name}/dashboards.db"
    if not (args.keep and Path(path).exists()):
        build(path, args.vehicles, args.orders, args.dealers)
    with sqlite3.connect(path) as conn:
        counts = conn.execute("SELECT (SELECT count(*) FROM vehicles), (SELECT count(*) FROM orders), "
                              "(SELECT count(*) FROM credit_accounts), (SELECT count(*) FROM credit_invoices "
                              "WHERE open_fen > 0)").fetchone()
    print(f"data: {counts[0]:,} vehicles, {counts[1]:,} orders, {counts[2]:,} dealers with a credit account, "
          f"{counts[3]:,} open invoices")
    bench_dashboards(path, args.rounds)
    print(f"order export of {counts[1]:,} rows (max 100 000), streamed to a client in a fresh process:", flush=True)
    subprocess.run([sys.executable, __file__, "--export-only", path], check=True)
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
