"""The 分析 dashboards on the benchmark data: each page's server time beside the report query it
shows, in the same run; and a 100 000-row export streamed with flat memory.

    .venv/bin/python benchmarks/dashboards.py [--vehicles 1000000] [--orders 100000] [--dealers 600]
                                              [--rounds 5] [--keep PATH]

The data: ``--dealers`` (600) dealers and 1 000 000 vehicles from ``dealer_stock.py`` (``add_dealers``,
``build_vehicles``), the 100 000-order book from ``order_history.py`` (``build_order_history``),
and, built here on top of them, a gate release event for every vehicle that left the factory (one
gate pass per three vehicles) and every dealer's credit: eight contracts, each with three
invoices issued over the last five months (some part paid, many overdue), and an account whose
running totals agree with them (receivables = the open invoices). SQLite WAL, one file.

For the four dashboards of the seed's statistics (``build_seed_statistics``; a kept database gets
them once), sizes of a special-vehicle maker with 600 dealers:
* 信用评价分析: a credit evaluation per dealer and month for two years (14 400);
* 培训效果分析: eight trainings a month for two years (192, one in twelve cancelled) to dealers,
  sales staff or stations, 60 invitations each (11 520: 70 % confirmed, 10 % declined), two
  names per confirmed invitation to a held training (about 14 700 participants, 85 % attended,
  most of them rating it);
* 满意度分析: a dealer survey a quarter (8, four in five dealers answer: about 3 800 answers) and
  60 000 repair requests with their records over two years at 400 service stations (two per three
  dealers; about 75 repairs a station a year), seven in ten rated 1–5 by the customer;
* 配件库存统计: a catalogue of 4 000 parts, each station holding 250 of them (100 000 stock rows,
  60 000 with a minimum level) and 1 000 stock moves a station over the last year (400 000).

Per dashboard (orders, credit, stock ageing, dealer stock, gate, credit evaluation, training,
satisfaction, parts stock), median of ``--rounds``, interleaved:
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
floor against its query ("page − floor"). The credit page shows the first 50 dealers of its
exposure table (the chart the 20 largest) with the totals and the ageing of all of them: its
query is those statements; a line after the table sets the page beside the whole report's
statements (every dealer's row, as the API answers). The after-sales quality and campaign
dashboards read claims and campaigns this data set does not fill, so they are not measured here.

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
import random
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
from dealer_stock import LINES, REGIONS, add_dealers, build_vehicles  # noqa: E402
from export_memory import peak_mb  # noqa: E402
from order_history import build_order_history  # noqa: E402

import dealercrm  # noqa: E402
from dealercrm.application.identity import CreateUser  # noqa: E402
from dealercrm.application.services.analytics import SLOW_MOVER_DAYS, Period  # noqa: E402
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


# -- the four seed-statistics dashboards' data ----------------------------------------------------------


EVALUATION_MONTHS = 24  # a credit evaluation per dealer and month, two years back
TRAININGS_PER_MONTH, TRAINING_INVITES, TRAINING_NAMES = 8, 60, 2  # per training / per confirmed invitation
SURVEYS, SURVEY_ANSWER_PERMILLE = 8, 800  # a survey a quarter for two years, four in five dealers answer
REPAIRS = 60_000  # repair records over two years (about 75 per station a year), seven in ten rated
PARTS, PARTS_HELD, PARTS_WITH_LEVELS, MOVES_PER_STATION = 4_000, 250, 150, 1_000  # per station, moves a year


def _grade(score: int) -> str:
    return "A" if score >= 85 else "B" if score >= 70 else "C" if score >= 55 else "D"


def build_seed_statistics(path: str) -> tuple[float, dict[str, int]]:
    """The tables of 信用评价分析, 培训效果分析, 满意度分析 and 配件库存统计, with the sizes of a
    manufacturer of 600 dealers (see the module docstring); raw ``sqlite3`` rows, as the credit above.
    Skipped when a kept database has them already."""
    started = time.perf_counter()
    rnd = random.Random(12)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    if conn.execute("SELECT count(*) FROM credit_evaluations").fetchone()[0]:
        conn.close()
        return 0.0, {}
    dealers = conn.execute("SELECT id, region FROM dealers ORDER BY id").fetchall()
    today = NOW.astimezone(SHANGHAI).date()
    first = (today.replace(day=1) - dt.timedelta(days=EVALUATION_MONTHS * 31)).replace(day=1)

    def month_start(k: int) -> dt.date:  # the k-th month from ``first``
        y, m = divmod(first.month - 1 + k, 12)
        return dt.date(first.year + y, m + 1, 1)

    def at(day: dt.date, minutes: int = 0) -> str:  # a Beijing day's 09:00 plus minutes, as stored (UTC)
        return _ts(dt.datetime.combine(day, dt.time(9), SHANGHAI) + dt.timedelta(minutes=minutes))

    # 信用评价: each dealer evaluated on the first working days of every month
    evaluations = []
    for k in range(EVALUATION_MONTHS):
        day = month_start(k) + dt.timedelta(days=2)
        for n, (dealer_id, _) in enumerate(dealers):
            score = max(30, min(99, int(rnd.gauss(76, 11))))
            evaluations.append((dealer_id, at(day, n), score, _grade(score), "{}", "{}", "bench"))
    conn.executemany("INSERT INTO credit_evaluations (dealer_id, evaluated_at, score, grade, inputs, breakdown, "
                     "formula) VALUES (?, ?, ?, ?, ?, ?, ?)", evaluations)

    # service stations (two for every three dealers) and their parts
    stations = []
    for n in range(len(dealers) * 2 // 3):
        stations.append((n + 1, f"SS-B{n:05d}", f"基准服务站{n}", f"91{520000 + n:06d}SS{n:06d}",
                         REGIONS[n % len(REGIONS)], "河南省", "郑州市", f"经开区服务路{n}号", "站长", "13800000000",
                         '["tanker", "dump_truck", "semi_trailer"]', 12_000, "class_2", 12, "active", 1))
    conn.executemany("INSERT INTO service_stations (id, code, name, uscc, region, province, city, address, "
                     "contact_name, contact_phone, product_lines, labour_rate_fen, qualification, capacity, status, "
                     "version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", stations)
    station_ids = [s[0] for s in stations]

    # 培训: eight a month for two years, to dealers, sales staff or stations; invitations and who came
    trainings, invitations, participants = [], [], []
    audiences = ("dealers", "sales", "stations")
    for k in range(EVALUATION_MONTHS):
        for j in range(TRAININGS_PER_MONTH):
            t_id = len(trainings) + 1
            day = month_start(k) + dt.timedelta(days=3 * j + 1)
            starts = dt.datetime.combine(day, dt.time(9), SHANGHAI)
            audience = audiences[j % 3]
            done = starts < NOW
            status = "cancelled" if t_id % 12 == 0 else "completed" if done else "scheduled"
            trainings.append((t_id, f"TR-B{t_id:05d}", f"{LINES[j % 3]} 产品与服务培训 {t_id}", "产品知识",
                              LINES[j % 3] if j % 4 else None, audience, _ts(starts), _ts(starts + dt.timedelta(hours=6)),
                              j % 2, "郑州培训中心", "bench", "marketing", status, "none", 0, 0,
                              _ts(starts - dt.timedelta(days=14)), 1))
            kind, pool = (("dealer", [d for d, _ in dealers]) if audience == "dealers"
                          else ("station", station_ids) if audience == "stations" else ("user", list(range(1, 200))))
            for invitee in rnd.sample(pool, min(TRAINING_INVITES, len(pool))):
                i_id = len(invitations) + 1
                draw = rnd.random()
                response = "confirmed" if draw < 0.7 else "declined" if draw < 0.8 else "pending"
                invitations.append((i_id, t_id, kind, invitee, f"受邀方{invitee}",
                                    invitee if kind == "dealer" else None, response,
                                    None if response == "pending" else _ts(starts - dt.timedelta(days=5))))
                if response == "confirmed" and status == "completed":
                    for name in range(TRAINING_NAMES):
                        came = rnd.random() < 0.85
                        participants.append((t_id, i_id, f"学员{name}", came,
                                             rnd.choice((3, 4, 4, 5, 5)) if came and rnd.random() < 0.8 else None,
                                             _ts(starts + dt.timedelta(hours=6))))
    conn.executemany("INSERT INTO trainings (id, training_no, title, topic, product_line, audience, starts_at, ends_at, "
                     "online, location, organizer_name, organizer_role, status, meeting_status, meeting_attempts, "
                     "meeting_generation, created_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                     "?, ?)", trainings)
    conn.executemany("INSERT INTO training_invitations (id, training_id, invitee_kind, invitee_id, invitee_name, "
                     "dealer_id, response, responded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", invitations)
    conn.executemany("INSERT INTO training_participants (training_id, invitation_id, name, attended, feedback_score, "
                     "recorded_at) VALUES (?, ?, ?, ?, ?, ?)", participants)

    # 满意度: a dealer survey a quarter (four in five dealers answer), and the customers' scores on repairs
    surveys, responses = [], []
    for s in range(SURVEYS):
        sent = month_start(3 * s + 1)
        surveys.append((s + 1, f"经销商满意度调查 {s + 1}", "季度调查",
                        '[{"key": "q1", "kind": "score"}, {"key": "q2", "kind": "score"}, {"key": "q3", "kind": "text"}]',
                        3, "closed" if month_start(3 * s + 2) < today else "sent", _ts(dt.datetime.combine(
                            sent, dt.time(9), SHANGHAI)), "bench"))
        for n, (dealer_id, _) in enumerate(dealers):
            if rnd.randrange(1000) >= SURVEY_ANSWER_PERMILLE:
                continue
            q1, q2 = rnd.choice((2, 3, 4, 4, 5, 5, 5)), rnd.choice((1, 3, 4, 5, 5))
            text = "交付周期太长" if min(q1, q2) < 3 else "满意"
            responses.append((s + 1, dealer_id, f'{{"q1": {q1}, "q2": {q2}, "q3": "{text}"}}', min(q1, q2),
                              at(sent + dt.timedelta(days=n % 20), n), "bench"))
    conn.executemany("INSERT INTO surveys (id, title, description, questions, threshold, status, created_at, "
                     "created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", surveys)
    conn.executemany("INSERT INTO survey_responses (survey_id, dealer_id, answers, min_score, answered_at, answered_by) "
                     "VALUES (?, ?, ?, ?, ?, ?)", responses)
    requests, records = [], []
    faults = ("engine", "chassis", "brake", "electrical", "hydraulic", "tank_body")
    for n in range(REPAIRS):
        dealer_id, region = dealers[rnd.randrange(len(dealers))]
        station = station_ids[rnd.randrange(len(station_ids))]
        opened = NOW - dt.timedelta(minutes=rnd.randrange(2 * 365 * 24 * 60))
        finished = opened + dt.timedelta(hours=rnd.randrange(4, 72))
        vin = f"LZZB{n:013d}"
        fault, line = faults[n % len(faults)], LINES[n % 3]
        rated = rnd.random() < 0.7 and finished < NOW
        score = rnd.choice((1, 2, 3, 4, 4, 5, 5, 5, 5, 5)) if rated else None
        requests.append((n + 1, f"SR-B{n:07d}", vin, "客户", "13900000000", fault, "故障", "河南省", "郑州市", "路边",
                         region, line, dealer_id, "in_warranty", "confirmed" if rated else "repaired", station, "[]",
                         "none", _ts(opened), "bench", 1))
        records.append((f"RR-B{n:07d}", n + 1, station, vin, fault, line, 1, "故障", "维修", "站内", _ts(opened),
                        _ts(finished), 150, _ts(finished), "bench", _ts(finished + dt.timedelta(days=1)) if rated else None,
                        score, "等待配件时间太长" if score is not None and score < 3 else None, 0, 1))
    conn.executemany("INSERT INTO service_requests (id, number, vin, customer_name, customer_phone, fault_category, "
                     "description, province, city, location, region, product_line, dealer_id, warranty_state, state, "
                     "station_id, refused_station_ids, contract_state, created_at, created_by, version) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", requests)
    conn.executemany("INSERT INTO service_repair_records (number, request_id, station_id, vin, fault_category, "
                     "product_line, in_warranty, problem, solution, place, started_at, finished_at, labour_centihours, "
                     "recorded_at, recorded_by, confirmed_at, satisfaction, customer_comment, is_major, version) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", records)

    # 配件库存: 4 000 parts; each station holds 250 of them (150 with a minimum level) and moves them a year long
    parts = [(f"P-B{p:05d}", f"配件{p}", "件", 500 + (p * 37) % 200_000, 800 + (p * 37) % 260_000, 1)
             for p in range(PARTS)]
    conn.executemany("INSERT INTO service_parts (part_no, name, unit, standard_cost_fen, retail_price_fen, version) "
                     "VALUES (?, ?, ?, ?, ?, ?)", parts)
    stock, levels, moves = [], [], []
    out_kinds = ("issue_repair", "issue_repair", "issue_warranty", "issue_sale", "transfer_out")
    for station in station_ids:
        held = rnd.sample(range(PARTS), PARTS_HELD)
        for i, p in enumerate(held):
            stock.append((station, f"P-B{p:05d}", 0 if rnd.random() < 0.1 else rnd.randrange(1, 40), 1))
            if i < PARTS_WITH_LEVELS:
                low = rnd.randrange(2, 10)
                levels.append((station, f"P-B{p:05d}", low, low + 20))
        for _ in range(MOVES_PER_STATION):
            p = held[min(int(rnd.expovariate(1 / 60)), PARTS_HELD - 1)]  # a few parts move most
            kind = "receipt" if rnd.random() < 0.4 else out_kinds[rnd.randrange(len(out_kinds))]
            delta = rnd.randrange(1, 10)
            moves.append((station, f"P-B{p:05d}", kind, delta if kind == "receipt" else -delta, rnd.randrange(0, 40),
                          _ts(NOW - dt.timedelta(minutes=rnd.randrange(365 * 24 * 60))), "bench"))
    conn.executemany("INSERT INTO service_stock (station_id, part_no, quantity, version) VALUES (?, ?, ?, ?)", stock)
    conn.executemany("INSERT INTO parts_stock_levels (station_id, part_no, min_qty, max_qty) VALUES (?, ?, ?, ?)",
                     levels)
    moves.sort(key=lambda m: m[5])
    conn.executemany("INSERT INTO service_stock_movements (station_id, part_no, kind, delta, balance_after, at, actor) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", moves)
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - started, {
        "credit evaluations": len(evaluations), "trainings": len(trainings), "invitations": len(invitations),
        "participants": len(participants), "survey answers": len(responses), "repair records": len(records),
        "stations": len(stations), "stock rows": len(stock), "stock moves": len(moves)}


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
# the credit page's first page of the exposure table (50 rows; the chart's 20 are its first), the totals, the ageing
CREDIT_SQL = """
SELECT a.dealer_id, d.code, d.legal_name, d.region, a.limit_fen,
       a.receivable_fen + a.uninvoiced_fen - a.prepayment_fen AS exposure_fen,
       a.limit_fen - (a.receivable_fen + a.uninvoiced_fen - a.prepayment_fen)
  FROM credit_accounts a JOIN dealers d ON d.id = a.dealer_id ORDER BY exposure_fen DESC, d.code LIMIT 50"""
CREDIT_TOTALS_SQL = """
SELECT count(*), sum(a.limit_fen), sum(a.receivable_fen + a.uninvoiced_fen - a.prepayment_fen)
  FROM credit_accounts a JOIN dealers d ON d.id = a.dealer_id"""
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

# 信用评价分析: each dealer's latest evaluation up to the period's end, and the period's evaluations by month
EVALUATION_LATEST_SQL = """
SELECT e.dealer_id, d.code, d.legal_name, d.region, e.score, e.grade, e.evaluated_at
  FROM credit_evaluations e
  JOIN (SELECT max(id) AS id FROM credit_evaluations WHERE evaluated_at < ? GROUP BY dealer_id) l ON l.id = e.id
  JOIN dealers d ON d.id = e.dealer_id
 ORDER BY e.score, d.code"""
EVALUATION_MONTHS_SQL = """
SELECT strftime('%Y-%m', e.evaluated_at, '+8 hours') AS month, count(*), sum(e.score),
       sum(e.grade = 'A'), sum(e.grade = 'B'), sum(e.grade = 'C'), sum(e.grade = 'D')
  FROM credit_evaluations e JOIN dealers d ON d.id = e.dealer_id
 WHERE e.evaluated_at >= ? AND e.evaluated_at < ? GROUP BY month ORDER BY month"""
# 培训效果分析: the period's trainings with their invitations by answer and their participants
TRAINING_SQL = """
SELECT t.id, t.training_no, t.title, t.audience, t.status, t.product_line,
       strftime('%Y-%m-%d', t.starts_at, '+8 hours'), coalesce(i.invited, 0), coalesce(i.confirmed, 0),
       coalesce(i.declined, 0), coalesce(p.registered, 0), coalesce(p.attended, 0), coalesce(p.rated, 0),
       coalesce(p.feedback_sum, 0)
  FROM trainings t
  LEFT JOIN (SELECT training_id, count(*) AS invited, sum(response = 'confirmed') AS confirmed,
                    sum(response = 'declined') AS declined
               FROM training_invitations GROUP BY training_id) i ON i.training_id = t.id
  LEFT JOIN (SELECT training_id, count(*) AS registered, sum(attended) AS attended,
                    sum(attended AND feedback_score IS NOT NULL) AS rated,
                    sum(CASE WHEN attended AND feedback_score IS NOT NULL THEN feedback_score ELSE 0 END) AS feedback_sum
               FROM training_participants GROUP BY training_id) p ON p.training_id = t.id
 WHERE t.starts_at >= ? AND t.starts_at < ? AND t.status != 'cancelled'
 ORDER BY t.starts_at, t.id"""
# 满意度分析: the two score distributions, the dealers' figures and the low ones' reasons
REPAIRS_RATED = """service_repair_records r JOIN service_requests q ON q.id = r.request_id JOIN dealers d ON d.id = q.dealer_id
 WHERE r.confirmed_at >= ? AND r.confirmed_at < ? AND r.satisfaction IS NOT NULL"""
ANSWERS = """survey_responses a JOIN surveys s ON s.id = a.survey_id JOIN dealers d ON d.id = a.dealer_id
 WHERE a.answered_at >= ? AND a.answered_at < ?"""
SATISFACTION_SQL = (
    f"SELECT r.satisfaction, count(*) FROM {REPAIRS_RATED} GROUP BY r.satisfaction",
    f"SELECT a.min_score, count(*) FROM {ANSWERS} AND a.min_score IS NOT NULL GROUP BY a.min_score",
    f"""SELECT d.id, d.code, d.legal_name, d.region, coalesce(sv.n, 0), sv.lowest, coalesce(sv.low, 0),
       coalesce(rp.n, 0), rp.total, coalesce(rp.low, 0)
  FROM dealers d
  LEFT JOIN (SELECT a.dealer_id, count(*) AS n, min(a.min_score) AS lowest, sum(a.min_score < s.threshold) AS low
               FROM {ANSWERS} GROUP BY a.dealer_id) sv ON sv.dealer_id = d.id
  LEFT JOIN (SELECT q.dealer_id, count(*) AS n, sum(r.satisfaction) AS total, sum(r.satisfaction < 3) AS low
               FROM {REPAIRS_RATED} GROUP BY q.dealer_id) rp ON rp.dealer_id = d.id
 WHERE sv.dealer_id IS NOT NULL OR rp.dealer_id IS NOT NULL ORDER BY d.code""",
    f"SELECT q.dealer_id, r.customer_comment FROM {REPAIRS_RATED} AND r.satisfaction < 3 "
    f"AND r.customer_comment IS NOT NULL ORDER BY r.id",
    f"SELECT a.dealer_id, a.answers FROM {ANSWERS} AND a.min_score < s.threshold ORDER BY a.id")
# 配件库存统计: per station its stock at standard cost, below-minimum parts and slow movers
PARTS_STOCK_SQL = """
SELECT s.id, s.code, s.name, s.region, sum(st.quantity > 0), coalesce(sum(st.quantity), 0),
       sum(CASE WHEN st.quantity > 0 THEN st.quantity * p.standard_cost_fen ELSE 0 END),
       sum(lv.min_qty IS NOT NULL AND st.quantity < lv.min_qty), sum(st.quantity > 0 AND i.part_no IS NULL),
       sum(CASE WHEN st.quantity > 0 AND i.part_no IS NULL THEN st.quantity * p.standard_cost_fen ELSE 0 END)
  FROM service_stock st JOIN service_stations s ON s.id = st.station_id JOIN service_parts p ON p.part_no = st.part_no
  LEFT JOIN parts_stock_levels lv ON lv.station_id = st.station_id AND lv.part_no = st.part_no
  LEFT JOIN (SELECT DISTINCT station_id, part_no FROM service_stock_movements
              WHERE kind IN ('issue_warranty', 'issue_sale', 'issue_repair', 'transfer_out') AND at >= ?) i
         ON i.station_id = st.station_id AND i.part_no = st.part_no
 GROUP BY s.id, s.code, s.name, s.region"""

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
        raw.execute(CREDIT_TOTALS_SQL).fetchall()
        raw.execute(CREDIT_AGEING_SQL, (d30, d30, d60, d60, d90, d90, today.isoformat())).fetchall()
        return len(rows)

    def credit_sheet() -> int:  # what the API answers (and the page wrote before it paged): every dealer's row
        rows = raw.execute(CREDIT_SQL.replace(" LIMIT 50", "")).fetchall()
        raw.execute(CREDIT_AGEING_SQL, (d30, d30, d60, d60, d90, d90, today.isoformat())).fetchall()
        return len(rows)

    def evaluations() -> int:
        rows = raw.execute(EVALUATION_LATEST_SQL, (end,)).fetchall()
        raw.execute(EVALUATION_MONTHS_SQL, (start, end)).fetchall()
        return len(rows)

    def satisfaction() -> int:
        found = [raw.execute(sql, (start, end) * sql.count("dealers d ON")).fetchall() for sql in SATISFACTION_SQL]
        return len(found[2])

    idle_since = _ts(NOW - dt.timedelta(days=SLOW_MOVER_DAYS))
    return {
        "orders": orders,
        "credit": credit,
        "stock": lambda: len(raw.execute(STOCK_SQL, (yellow, yellow, red, red)).fetchall()),
        "dealer-stock": lambda: len(raw.execute(DEALER_STOCK_SQL).fetchall()),
        "gate": lambda: len(raw.execute(GATE_SQL, (start, end)).fetchall()),
        "credit-evaluation": evaluations,
        "training": lambda: len(raw.execute(TRAINING_SQL, (start, end)).fetchall()),
        "satisfaction": satisfaction,
        "parts-stock": lambda: len(raw.execute(PARTS_STOCK_SQL, (idle_since,)).fetchall()),
        "credit-sheet": credit_sheet,
    }


def use_cases(crm, actor: Principal) -> dict[str, Callable[[], object]]:  # type: ignore[no-untyped-def]
    a = crm.analytics
    return {
        "orders": lambda: a.orders_report(actor, PERIOD),
        "credit": lambda: a.credit_page(actor, at=0, limit=50),
        "stock": lambda: a.stock_report(actor),
        "dealer-stock": lambda: a.dealer_stock_report(actor),
        "gate": lambda: a.gate_throughput(actor, PERIOD),
        "credit-evaluation": lambda: a.credit_evaluation_report(actor, PERIOD),
        "training": lambda: a.training_report(actor, PERIOD),
        "satisfaction": lambda: a.satisfaction_report(actor, PERIOD),
        "parts-stock": lambda: a.parts_stock_report(actor),
    }


PERIOD_QUERY = f"?from={PERIOD.date_from.isoformat()}&to={PERIOD.date_to.isoformat()}"
PAGES = {"orders": "/analytics/orders" + PERIOD_QUERY, "credit": "/analytics/credit", "stock": "/analytics/stock",
         "dealer-stock": "/analytics/dealer-stock", "gate": "/analytics/gate" + PERIOD_QUERY,
         "credit-evaluation": "/analytics/credit-evaluation" + PERIOD_QUERY,
         "training": "/analytics/training" + PERIOD_QUERY, "satisfaction": "/analytics/satisfaction" + PERIOD_QUERY,
         "parts-stock": "/analytics/parts-stock",
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
    credit_sheet = queries.pop("credit-sheet")
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
        print(f"{'dashboard':<18}{'rows':>6}{'query':>16}{'use case':>16}{'page':>16}{'floor':>16}"
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
            print(f"{code:<18}{rows:>6}{cells}{mu / mq:>15.2f}×{mp / mq:>11.2f}×{(mp - mf) / mq:>19.2f}×{note}",
                  flush=True)
        sheet = [(_ms(credit_sheet), _ms(page("credit"))) for _ in range(rounds)]
        ms, mp = statistics.median(q[0] for q, _ in sheet), statistics.median(p[0] for _, p in sheet)
        print(f"the credit page beside the statements of the whole credit report (every dealer's row and the ageing, "
              f"as /api/v1/reports/credit answers): {mp:.1f} ÷ {ms:.1f} CPU ms = {mp / ms:.2f}×", flush=True)
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
    seconds, sizes = build_seed_statistics(path)
    if sizes:
        print(f"built the seed statistics' data in {seconds:.1f} s: "
              + ", ".join(f"{n:,} {what}" for what, n in sizes.items()), flush=True)
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
