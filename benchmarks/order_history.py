"""A historical order book for benchmarks: N past orders (default 100 000) written straight into a
migrated SQLite database with raw ``sqlite3`` ``executemany``, so the write and read benchmarks
(order submission, the back-office dashboards) run against tables and indexes of a realistic size.

    .venv/bin/python benchmarks/order_history.py DB_PATH --dealer-id 1 --template-id 1 [--orders 100000]

or from a benchmark: ``build_order_history(db_path, dealer_ids=[…], template_id=…)``.

Per order: the order row (state drawn from a fixed mix, created over the past two years, Beijing
office hours), its timeline (created, estimated, and submitted for every order past the draft), an
``order_review`` workflow with its four steps and history for every submitted order, the audit rows
of the order and the workflow, and the sent review e-mails in the outbox (12 per submitted order,
as with 3 review staff per role and region). The numbers use their own prefixes (``HIST-``,
``HISTWF-``), so they never collide with what the application numbers. Deterministic: a seeded
``random.Random``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sqlite3
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

#: (state, weight): most of the book is finished business, a little is still moving.
STATE_MIX = (("completed", 40), ("in_production", 10), ("released", 5), ("approved", 5), ("in_review", 5),
             ("submitted", 5), ("returned", 3), ("draft", 12), ("cancelled", 10), ("stocked", 5))
REVIEW_STEPS = (("procurement", "采购评审", "role", "procurement"), ("technical", "技术评审", "role", "technical"),
                ("production", "生产评审", "role", "production"), ("sales", "销售评审", "region", "华中"))
MAILS_PER_ORDER = 12
BATCH = 5_000
TABLES = ("orders", "order_events", "workflows", "workflow_steps", "workflow_history", "audit_log",
          "notification_outbox")


def _estimate(options: Sequence[str]) -> str:
    return json.dumps({"lines": [{"kind": "option", "code": o, "label": o, "amount_fen": 120_000, "group": "g",
                                  "special": False} for o in options], "unit_fen": 45_000_000}, ensure_ascii=False)


def build_order_history(db: str | Path, *, dealer_ids: Sequence[int], template_id: int, orders: int = 100_000,
                        options: Sequence[str] = ("AXLE-FUWA13", "TYRE-12R225", "RIM-STEEL"), seed: int = 20,
                        now: dt.datetime | None = None, cache_mb: int = 1024) -> float:
    """Write ``orders`` historical orders (and their timelines, review workflows, audit and sent
    mails) into ``db``; returns the seconds it took. ``db`` must be migrated and hold the dealers
    and the template."""
    rng = random.Random(seed)
    now = now or dt.datetime(2026, 12, 1, 2, 0)
    states = [s for s, w in STATE_MIX for _ in range(w)]
    estimate = _estimate(options)
    options_doc = json.dumps(list(options))
    started = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    # a page cache that holds the unique indexes' working set (the outbox's random uuid keys
    # touch every page of theirs): with SQLite's default 2 MB, a million orders' 10 M outbox rows
    # spend their time re-reading index pages from the OS
    conn.execute(f"PRAGMA cache_size={-cache_mb * 1024}")
    # the plain indexes are dropped while the rows go in and built again from sorted keys after
    # (the same definitions, read back from sqlite_master); unique ones stay, so keys stay checked
    names = ", ".join("?" * len(TABLES))
    indexes = conn.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                           f"AND sql NOT LIKE 'CREATE UNIQUE%' AND tbl_name IN ({names})", TABLES).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    try:
        order_id = conn.execute("SELECT coalesce(max(id), 0) FROM orders").fetchone()[0]
        workflow_id = conn.execute("SELECT coalesce(max(id), 0) FROM workflows").fetchone()[0]
        for start in range(0, orders, BATCH):
            o_rows, e_rows, w_rows, s_rows, h_rows, a_rows, m_rows = [], [], [], [], [], [], []
            for n in range(start, min(orders, start + BATCH)):
                order_id += 1
                state = rng.choice(states)
                created = now - dt.timedelta(days=rng.randrange(730), minutes=rng.randrange(600))
                at = created.isoformat(" ")
                dealer = dealer_ids[n % len(dealer_ids)]
                order_no = f"HIST-{n:08d}"
                quantity = rng.randint(1, 5)
                submitted = state != "draft"
                o_rows.append((order_id, order_no, dealer, template_id, options_doc, quantity,
                               (created.date() + dt.timedelta(days=60)).isoformat(), estimate, 45_000_000,
                               45_000_000 * quantity, state, at, at, at, at if submitted else None,
                               1 if submitted else 0))
                e_rows += [(order_id, at, "created", None, "draft", "创建订单"),
                           (order_id, at, "price_estimated", None, None, "自动测算")]
                a_rows.append((at, "order", order_id, order_id, "create", '{"state": "draft"}'))
                if not submitted:
                    continue
                e_rows.append((order_id, at, "submit", "draft", "submitted", "提交订单"))
                workflow_id += 1
                finished = state not in ("submitted", "in_review")
                w_rows.append((workflow_id, f"HISTWF-{n:08d}", order_id, order_no, dealer,
                               "running" if not finished else ("rejected" if state == "returned" else "approved"),
                               at, at if finished else None))
                step_status = "open" if not finished else "approved"
                s_rows += [(workflow_id, key, name, kind, value, step_status, at, at)
                           for key, name, kind, value in REVIEW_STEPS]
                h_rows += [(workflow_id, at, "started", None, None)] + [
                    (workflow_id, at, "step_opened", key, name) for key, name, _, _ in REVIEW_STEPS]
                a_rows.append((at, "workflow", workflow_id, order_id, "create", '{"status": "running"}'))
                m_rows += [(str(uuid.UUID(int=rng.getrandbits(128))), f"hist:{n}:{k}", f"staff{k}@example.com",
                            f"【待审批】订单评审 {order_no}", "您有一项订单评审待处理。", "sent", at, at)
                           for k in range(MAILS_PER_ORDER)]
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO orders (id, order_no, dealer_id, template_id, template_version, model_code, product_line, "
                "template_name, options, quantity, requested_delivery_date, delivery_method, estimate, requires_quote, "
                "unit_price_fen, total_fen, price_source, state, state_changed_at, created_at, created_by_name, "
                "updated_at, submitted_at, submission_count, release_round, return_reasons, is_major_modification, "
                "version) VALUES (?, ?, ?, ?, 1, 'HTL9400GYY', 'tanker', '历史订单', ?, ?, ?, 'self_pickup', ?, 0, ?, "
                "?, 'estimate', ?, ?, ?, 'history', ?, ?, ?, 1, '[]', 0, 1)", o_rows)
            conn.executemany(
                "INSERT INTO order_events (order_id, at, kind, from_state, to_state, actor_name, actor_role, summary, "
                "data) VALUES (?, ?, ?, ?, ?, 'history', 'dealer', ?, '{}')", e_rows)
            conn.executemany(
                "INSERT INTO workflows (id, number, definition_code, definition_name, subject_type, subject_id, "
                "subject_no, title, dealer_id, region, submitted_by_name, status, current_stage, stage_count, "
                "started_at, finished_at, version) VALUES (?, ?, 'order_review', '订单评审', 'order', ?, ?, '订单评审', "
                "?, '华中', 'history', ?, 1, 1, ?, ?, 1)", w_rows)
            conn.executemany(
                "INSERT INTO workflow_steps (workflow_id, stage_no, stage_name, key, name, assignee_kind, "
                "assignee_value, due_in_days, status, opened_at, due_at) VALUES (?, 1, '订单评审', ?, ?, ?, ?, 2, ?, "
                "?, ?)", s_rows)
            conn.executemany(
                "INSERT INTO workflow_history (workflow_id, at, action, actor_name, step_key, step_name, detail) "
                "VALUES (?, ?, ?, 'history', ?, ?, '{}')", h_rows)
            conn.executemany(
                "INSERT INTO audit_log (at, actor_name, actor_role, entity, entity_id, root_entity, root_id, action, "
                "changes) VALUES (?, 'history', 'dealer', ?, ?, 'order', ?, ?, ?)", a_rows)
            conn.executemany(
                "INSERT INTO notification_outbox (id, idempotency_key, channel, recipient, subject, body, "
                "template_code, status, attempts, next_attempt_at, created_at, sent_at) VALUES (?, ?, 'email', ?, ?, "
                "?, 'workflow.task_assigned', ?, 1, ?, ?, ?)", [(*m, m[-1]) for m in m_rows])
            conn.execute("COMMIT")
    finally:
        for _, sql in indexes:
            conn.execute(sql)
        conn.execute("ANALYZE")
        conn.close()
    return time.perf_counter() - started


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db")
    ap.add_argument("--dealer-id", type=int, action="append", required=True)
    ap.add_argument("--template-id", type=int, required=True)
    ap.add_argument("--orders", type=int, default=100_000)
    args = ap.parse_args()
    seconds = build_order_history(args.db, dealer_ids=args.dealer_id, template_id=args.template_id,
                                  orders=args.orders)
    print(f"{args.orders} historical orders written in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
