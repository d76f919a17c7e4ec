"""Order creation + submission over HTTP on SQLite vs raw-sqlite3 inserts of the same rows,
same server, same run, as in real use: 3 review staff per role and region (12 addressees, so 12
review e-mails per order) and a history of 100 000 orders (``order_history.py``) in the tables.

    .venv/bin/python benchmarks/order_submit.py [--seconds 5] [--connections 16] [--synchronous NORMAL]
                                                [--history 100000]

Measured, each with wrk -t1 against one uvicorn worker:

* ``POST /api/v1/orders/?submit=true`` — one call: authenticate, load the template version and
  the dealer's terms and tier, validate the configuration, estimate, number, insert the order,
  its timeline (created, estimated, submitted) and audit rows, commit;
* ``POST /api/v1/orders/`` then ``POST /api/v1/orders/{id}/submit`` — the two-call path a
  dealer's browser takes (a wrk Lua script submits each id it created);
* baseline: a handler with its own ``sqlite3`` connection that parses the same JSON body and
  does the same writes in one ``BEGIN IMMEDIATE`` transaction — order number, order row, three
  timeline rows, the review workflow (number, row, four parallel steps, five history lines) and
  the audit rows, and the 12 review e-mails in the outbox (one ``executemany``, with the same
  time-ordered ids) — with no validation, no pricing, no addressee lookup, no rendering, no ORM.

For each path it prints orders/s (counted in the database after the run), CPU ms per order (this
process's utime + stime from ``/proc/self/stat``: the server runs in a thread of this process, wrk
in its own), SQL statements per order (every cursor execution, ``BEGIN`` and ``COMMIT`` included;
an ``executemany`` is one) and audit bytes per order, and the ratio to the raw baseline.

Targets (PERFORMANCE.md, issue 20): ≥ 35 % of the raw baseline's orders/s, ≥ 250 orders/s on an
idle machine, ≤ 12 statements and ≤ 1 KB of audit per order.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import _LAT, Result, cpu_note, free_port, serve  # noqa: E402
from order_history import build_order_history  # noqa: E402
from sqlalchemy import event  # noqa: E402
from litestar import post  # noqa: E402
from litestar.response import Response  # noqa: E402

import dealercrm  # noqa: E402
from dealercrm.application import channel as ch  # noqa: E402
from dealercrm.application.outbox import new_ids  # noqa: E402
from dealercrm.application.catalog import CreateTemplate, SetPriceTier  # noqa: E402
from dealercrm.application.identity import CreateUser  # noqa: E402
from dealercrm.config import load_settings  # noqa: E402
from dealercrm.domain.identity import Principal  # noqa: E402
from dealercrm.domain.values import Uscc  # noqa: E402
from dealercrm.entrypoints.demo_orders import FUEL_TANKER  # noqa: E402
from dealercrm.entrypoints.http.app import create_app  # noqa: E402

PASSWORD = "Bench2026pass"
REVIEW_STEPS = [("procurement", "采购评审", "role", "procurement"), ("technical", "技术评审", "role", "technical"),
                ("production", "生产评审", "role", "production"), ("sales", "销售评审", "region", "华中")]
OPTIONS = ["AXLE-FUWA13", "TYRE-12R225", "RIM-STEEL", "SUSP-MECH", "ABS-4S2M", "TANK-5182", "COMP-4", "PUMP-STD",
           "LEG-STD", "VAPOR", "OVERFILL"]


def seed(crm) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    system = Principal.system()
    body = "91410100MA0000001"
    reg = crm.channel.register_dealer(ch.RegisterDealer(
        legal_name="郑州宏达专用车销售有限公司", uscc=body + Uscc.check_char(body), region="华中",
        address=ch.AddressIn("河南省", "郑州市", "经开区88号"),
        contact=ch.ContactIn(name="王建国", title="总经理", phone="13800138000"),
        applicant_username="bench_dealer", applicant_password=PASSWORD))
    crm.channel.submit(system, reg.dealer_id)
    crm.channel.approve(system, reg.dealer_id)
    year = dt.date.today().year
    crm.channel.add_agreement(system, ch.AddAgreement(reg.dealer_id, ("tanker",), ("河南省",), "credit",
                                                      dt.date(year, 1, 1), dt.date(year + 1, 12, 31)))
    crm.orders.set_price_tier(system, SetPriceTier(reg.dealer_id, "tanker", "B", 300))
    template = crm.orders.create_template(system, CreateTemplate("HTL9400GYY", "tanker", FUEL_TANKER, True))
    seed_review_staff(crm)
    return reg.dealer_id, template.id


#: 3 review staff per review role, and 3 sales staff of the dealer's region: 12 addressees.
STAFF = [(role, f"bench_{role}_{n}", None) for role in ("procurement", "technical", "production") for n in range(3)] + [
    ("sales", f"bench_sales_{n}", ("华中",)) for n in range(3)]


def seed_review_staff(crm) -> None:  # type: ignore[no-untyped-def]
    system = Principal.system()
    for role, username, regions in STAFF:
        crm.identity.create_user(system, CreateUser(username=username, display_name=username, role=role,
                                                    password=PASSWORD, regions=regions or (),
                                                    email=f"{username}@example.com"))


def cpu_seconds() -> float:
    """This process's CPU time (user + system) from /proc/self/stat."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class StatementCounter:
    """Counts the cursor executions of an engine (an executemany is one)."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, *_args: object) -> None:
        self.n += 1


def bump(conn: sqlite3.Connection, name: str) -> tuple[int]:
    """The raw baseline's document number: the same UPDATE … RETURNING as DocumentNumbers."""
    row = conn.execute("UPDATE document_sequences SET next_value = next_value + 1 WHERE name = ? "
                       "RETURNING next_value", (name,)).fetchone()
    if row is None:
        conn.execute("INSERT INTO document_sequences (name, next_value) VALUES (?, 2)", (name,))
        return (2,)
    return (int(row[0]),)


def wrk_script(url: str, script: str, *, name: str, connections: int, seconds: int) -> Result:
    exe = shutil.which("wrk")
    if exe is None:
        print("wrk not found: apt-get install wrk", file=sys.stderr)
        raise SystemExit(2)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run([exe, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", f.name, url],
                         capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = {pct: float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[u] for pct, v, u in _LAT.findall(out)}
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return Result(name, rps, lat.get("50", 0.0), lat.get("99", 0.0), int(m.group(1)) if m else 0)


def _lua(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def one_call_script(token: str, body: str, path: str) -> str:
    return f"""
wrk.method = "POST"
wrk.path = {_lua(path)}
wrk.body = {_lua(body)}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = {_lua("Bearer " + token)}
"""


def two_call_script(token: str, body: str) -> str:
    return f"""
local ids = {{}}
local create_headers = {{["Content-Type"] = "application/json", ["Authorization"] = {_lua("Bearer " + token)}}}
local submit_headers = {{["Authorization"] = {_lua("Bearer " + token)}}}
local body = {_lua(body)}
request = function()
  if #ids > 0 then
    local id = table.remove(ids, 1)
    return wrk.format("POST", "/api/v1/orders/" .. id .. "/submit", submit_headers, nil)
  end
  return wrk.format("POST", "/api/v1/orders/", create_headers, body)
end
response = function(status, headers, body)
  if status == 201 then
    local id = body:match('"id":(%d+)')
    if id then table.insert(ids, id) end
  end
end
"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--synchronous", default="NORMAL", choices=["NORMAL", "FULL"])
    ap.add_argument("--only", choices=["raw", "one", "two"], help="run one path (e.g. under a profiler)")
    ap.add_argument("--history", type=int, default=100_000, help="historical orders in the tables (0: none)")
    ap.add_argument("--plain-uvicorn", action="store_true", help="h11 + asyncio instead of httptools + uvloop")
    ap.add_argument("--cache", action="store_true",
                    help="keep the seeded database with its history in the temp directory and start from a copy "
                         "of it next time (building 100k orders takes a minute or two)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="dealercrm-bench-"))
    db = tmp / "bench.db"
    settings = load_settings({}, database_url=f"sqlite:///{db}", log_level="WARNING", jwt_secret="b" * 48,
                             principal_cache_seconds=30, sqlite_synchronous=args.synchronous)
    from alembic.script import ScriptDirectory

    from dealercrm.adapters.db import migrate

    head = ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head()
    cached = Path(tempfile.gettempdir()) / f"dealercrm-bench-orders-{head}-{args.history}.db"
    if args.cache and cached.exists():
        shutil.copyfile(cached, db)
        crm = dealercrm.bootstrap(settings)
        with sqlite3.connect(db) as c:
            dealer_id = c.execute("SELECT id FROM dealers ORDER BY id LIMIT 1").fetchone()[0]
            template_id = c.execute("SELECT id FROM catalog_templates ORDER BY id LIMIT 1").fetchone()[0]
        print(f"history: {args.history} orders, from {cached}")
    else:
        crm = dealercrm.bootstrap(settings)
        dealer_id, template_id = seed(crm)
        if args.history:
            took = build_order_history(db, dealer_ids=[dealer_id], template_id=template_id, orders=args.history)
            print(f"history: {args.history} orders written in {took:.1f} s")
        if args.cache:
            with sqlite3.connect(db) as c:
                c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            shutil.copyfile(db, cached)
    statements = StatementCounter()
    event.listen(crm.engine, "before_cursor_execute", statements)
    event.listen(crm.engine, "commit", statements)  # COMMIT is a DBAPI call, not a cursor execution
    raw_statements = StatementCounter()
    delivery = (dt.date.today() + dt.timedelta(days=60)).isoformat()
    order_body = json.dumps({"template_id": template_id, "options": OPTIONS, "quantity": 1,
                       "requested_delivery_date": delivery, "delivery_method": "self_pickup",
                       "end_customer": {"name": "中石化河南石油分公司", "industry": "成品油运输"},
                       "remarks": "基准测试"}, ensure_ascii=False)

    local = threading.local()
    mail_subject = "【待审批】订单评审 SO-2026-000001：HTL9400GYY 油罐车 × 1"
    mail_body = "您好：\n\n您有一项订单评审待处理。" + "审批链接 https://dealer.example.com/approve/" + "x" * 400
    estimate_doc = json.dumps({"note": "a precomputed estimate of the same size as the real one", "lines": [
        {"kind": "option", "code": o, "label": o, "amount_fen": 0, "group": "g", "special": False} for o in OPTIONS]})

    @post("/api/bench/raw/orders", sync_to_thread=True, include_in_schema=False, exclude_from_auth=True)
    def raw(body: bytes) -> Response[bytes]:  # pragma: no cover - benchmark only
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA synchronous={args.synchronous}")
            conn.execute("PRAGMA busy_timeout=30000")
        data = json.loads(body)
        moment = dt.datetime.now(dt.UTC)
        now = moment.replace(tzinfo=None).isoformat(" ")
        raw_statements.n += 12  # BEGIN, 2 numbers, 8 inserts (5 of them executemany), COMMIT
        conn.execute("BEGIN IMMEDIATE")
        try:
            n = bump(conn, "RAW")
            cur = conn.execute(
                "INSERT INTO orders (order_no, dealer_id, template_id, template_version, model_code, product_line, "
                "template_name, options, quantity, requested_delivery_date, delivery_method, end_customer_name, "
                "end_customer_industry, remarks, estimate, requires_quote, unit_price_fen, total_fen, price_source, "
                "state, state_changed_at, created_at, created_by_name, updated_at, submitted_at, submission_count, "
                "return_reasons, is_major_modification, version) VALUES "
                "(?, ?, ?, 1, 'HTL9400GYY', 'tanker', 'x', ?, ?, ?, ?, ?, ?, ?, ?, 0, 1, 1, 'estimate', 'submitted', "
                "?, ?, 'bench', ?, ?, 1, '[]', 0, 1)",
                (f"RAW-{n[0] - 1:09d}", dealer_id, data["template_id"], json.dumps(data["options"]), data["quantity"],
                 data["requested_delivery_date"], data["delivery_method"], data["end_customer"]["name"],
                 data["end_customer"]["industry"], data["remarks"], estimate_doc, now, now, now, now))
            order_id = cur.lastrowid
            conn.executemany(
                "INSERT INTO order_events (order_id, at, kind, from_state, to_state, actor_name, actor_role, summary, "
                "data) VALUES (?, ?, ?, ?, ?, 'bench', 'dealer', ?, '{}')",
                [(order_id, now, "created", None, "draft", "创建订单"), (order_id, now, "price_estimated", None, None,
                                                                        "自动测算"),
                 (order_id, now, "submit", "draft", "submitted", "提交订单")])
            conn.execute("INSERT INTO audit_log (at, actor_name, actor_role, entity, entity_id, root_entity, root_id, "
                         "action, changes) VALUES (?, 'bench', 'dealer', 'order', ?, 'order', ?, 'create', '{}')",
                         (now, order_id, order_id))
            # the review the submission starts: a numbered workflow, its four parallel steps,
            # five history lines (started + four opened), the audit of workflow and steps
            w = bump(conn, "RAWWF")
            workflow_id = conn.execute(
                "INSERT INTO workflows (number, definition_code, definition_name, subject_type, subject_id, subject_no, "
                "title, dealer_id, region, submitted_by_name, status, current_stage, stage_count, started_at, version) "
                "VALUES (?, 'order_review', '订单评审', 'order_raw', ?, ?, '订单评审', ?, '华中', 'bench', 'running', 1, 1, "
                "?, 1)", (f"RAWWF-{w[0] - 1:09d}", order_id, f"RAW-{n[0] - 1:09d}", dealer_id, now)).lastrowid
            conn.executemany(
                "INSERT INTO workflow_steps (workflow_id, stage_no, stage_name, key, name, assignee_kind, assignee_value, "
                "due_in_days, status, opened_at, due_at) VALUES (?, 1, '订单评审', ?, ?, ?, ?, 2, 'open', ?, ?)",
                [(workflow_id, key, name, kind, value, now, now) for key, name, kind, value in REVIEW_STEPS])
            conn.executemany(
                "INSERT INTO workflow_history (workflow_id, at, action, actor_name, step_key, step_name, detail) "
                "VALUES (?, ?, ?, 'bench', ?, ?, '{}')",
                [(workflow_id, now, "started", None, None)] + [(workflow_id, now, "step_opened", key, name)
                                                              for key, name, _, _ in REVIEW_STEPS])
            conn.executemany(
                "INSERT INTO audit_log (at, actor_name, actor_role, entity, entity_id, root_entity, root_id, action, "
                "changes) VALUES (?, 'bench', 'dealer', ?, ?, 'order', ?, 'create', '{}')",
                [(now, "workflow", workflow_id, order_id)] + [(now, "workflow_step", workflow_id, order_id)] * 4)
            conn.executemany(
                "INSERT INTO notification_outbox (id, idempotency_key, channel, recipient, subject, body, "
                "template_code, status, attempts, next_attempt_at, created_at) VALUES (?, ?, 'email', ?, ?, ?, "
                "'workflow.task_assigned', 'pending', 0, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING",
                [(message_id, f"raw:{workflow_id}:{username}", f"{username}@example.com", mail_subject,
                  mail_body, now, now)
                 for message_id, (_, username, _) in zip(new_ids(len(STAFF), moment), STAFF, strict=True)])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return Response(json.dumps({"id": order_id}).encode(), media_type="application/json", status_code=201)

    app = create_app(settings, container=crm, extra_route_handlers=[raw])
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def count(where: str) -> int:
        with sqlite3.connect(db) as c:
            return c.execute(f"SELECT count(*) FROM orders WHERE {where}").fetchone()[0]

    def audit_mark() -> tuple[int, int]:
        with sqlite3.connect(db) as c:
            return c.execute("SELECT coalesce(max(id), 0), coalesce(sum(length(CAST(changes AS BLOB))), 0) FROM audit_log").fetchone()

    with serve(app, port, plain=args.plain_uvicorn):
        import httpx

        token = httpx.post(f"{base}/api/v1/auth/login",
                           json={"username": "bench_dealer", "password": PASSWORD}).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        check = httpx.post(f"{base}/api/v1/orders/?submit=true", content=order_body.encode(), headers=auth)
        assert check.status_code == 201 and check.json()["state"] == "submitted", check.text
        assert httpx.post(f"{base}/api/bench/raw/orders", content=order_body.encode(),
                          headers={"Content-Type": "application/json"}).status_code == 201
        server = "uvicorn (h11, asyncio)" if args.plain_uvicorn else "uvicorn[standard] (httptools, uvloop)"
        print(f"order creation + submission, SQLite WAL synchronous={args.synchronous}, {server}, "
              f"wrk -t1 -c{args.connections} -d{args.seconds}s; {cpu_note()}")
        c = args.connections
        wrk_script(base, one_call_script(token, order_body, "/api/v1/orders/?submit=true"), name="warm-up",
                   connections=4, seconds=1)
        figures: list[tuple[Result, float, float, float, float]] = []
        runs = [
            ("raw", "baseline: raw sqlite3 inserts", one_call_script("-", order_body, "/api/bench/raw/orders"),
             "order_no LIKE 'RAW-%'", raw_statements),
            ("one", "POST /orders?submit=true", one_call_script(token, order_body, "/api/v1/orders/?submit=true"),
             "state = 'submitted' AND order_no LIKE 'SO-%'", statements),
            ("two", "POST /orders + POST /{id}/submit", two_call_script(token, order_body),
             "state = 'submitted' AND order_no LIKE 'SO-%'", statements),
        ]
        for key, name, script, where, counter in runs:
            if args.only and key != args.only:
                continue
            before, cpu0, n0, (_, audit0) = count(where), cpu_seconds(), counter.n, audit_mark()
            result = wrk_script(base, script, name=name, connections=c, seconds=args.seconds)
            cpu1, n1, (_, audit1) = cpu_seconds(), counter.n, audit_mark()
            orders = max(1, count(where) - before)
            figures.append((result, orders / args.seconds, (cpu1 - cpu0) * 1000 / orders, (n1 - n0) / orders,
                            (audit1 - audit0) / orders))

        base_orders = figures[0][1]
        print(f"{'path':<36}{'req/s':>8}{'orders/s':>10}{'p50 ms':>8}{'p99 ms':>8}{'non-2xx':>8}"
              f"{'CPU ms/order':>13}{'stmts/order':>12}{'audit B/order':>14}{'vs raw':>8}{'CPU vs raw':>11}")
        base_cpu = figures[0][2]
        for r, orders_per_s, cpu_ms, stmts, audit_bytes in figures:
            ratio = orders_per_s / base_orders if base_orders else 0.0
            print(f"{r.name:<36}{r.rps:>8.0f}{orders_per_s:>10.0f}{r.p50_ms:>8.2f}{r.p99_ms:>8.2f}{r.errors:>8}"
                  f"{cpu_ms:>13.2f}{stmts:>12.1f}{audit_bytes:>14.0f}{ratio:>8.0%}{base_cpu / cpu_ms:>11.0%}")
        print("vs raw: orders/s against the baseline's in this run; CPU vs raw: the baseline's CPU per order over "
              "this path's (steadier on a busy machine: it does not depend on what else runs on the cores)")
        print("targets: >= 35 % of raw and >= 250 orders/s (idle machine), <= 12 statements and <= 1 KB audit per "
              "order (issue 20)")
    crm.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
