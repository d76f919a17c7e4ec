"""The simulated factory ERP's book: orders, production progress, vehicles, changes, payments
and the event feed, kept in SQLite (a file for the simulator server, ``:memory:`` for the
in-memory twin).

It speaks the wire shapes of docs/erp-api.md (plain dicts) and raises :class:`SimApiError`
carrying the HTTP status and error code the API documents, so the HTTP server is a thin shell
and the in-memory twin decodes exactly what a real client would.

Faults are state of the book, too: the HTTP shell (or the twin) asks ``take_error_500()`` and
``take_timeout_after_commit()`` around each call; duplicate and reordered events are produced
here, when events are written and when a page is read.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import attrs

from dealercrm.domain.values import SHANGHAI, Vin, beijing_date


WMI = "LA9"  # GB 16735 prefix for small-series manufacturers (special vehicles)
PLANT_CODE = "B"
VDS_BY_PRODUCT_LINE = {
    "tanker": "GJY9A",  # 罐式车
    "dump_truck": "ZZX3D",  # 自卸车
    "semi_trailer": "9GB4C",  # 半挂车
}
_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"  # 2010 … 2039

STATUSES = ("scheduled", "in_production", "inspected", "stocked")
MAX_PAGE = 1000
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,64}$")
_TRACKING_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class SimApiError(Exception):
    """An answer of the ERP API other than success: HTTP status + documented error code."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def _invalid(field: str, message: str) -> SimApiError:
    return SimApiError(422, "validation_failed", message, field=field)


@attrs.define
class SimFaults:
    """What the simulated ERP does wrong, on purpose."""

    timeout_after_commit: int = 0  # next N order/change creations commit, then never answer
    timeout_mode: str = "hang"  # "hang": answer after hang_seconds; "drop": close the socket
    hang_seconds: float = 5.0
    error_500_next: int = 0  # next N API calls answer 500 and do nothing
    error_500_rate: float = 0.0  # probability that an API call answers 500 and does nothing
    duplicate_events: float = 0.0  # probability that a new event is re-emitted later, new seq
    reorder_events: bool = False  # each events page is served shuffled

    def update(self, changes: Any) -> None:
        if not isinstance(changes, dict):
            raise _invalid("faults", "faults must be an object")
        known = attrs.fields_dict(SimFaults)
        for key, value in changes.items():
            if key not in known:
                raise _invalid(key, f"unknown fault {key!r}")
            if key in ("timeout_after_commit", "error_500_next"):
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise _invalid(key, "must be a non-negative integer")
            elif key in ("error_500_rate", "duplicate_events"):
                if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                    raise _invalid(key, "must be a probability between 0 and 1")
            elif key == "hang_seconds":
                if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 600:
                    raise _invalid(key, "must be seconds between 0 and 600")
            elif key == "timeout_mode":
                if value not in ("hang", "drop"):
                    raise _invalid(key, "must be 'hang' or 'drop'")
            elif key == "reorder_events" and not isinstance(value, bool):
                raise _invalid(key, "must be true or false")
        for key, value in changes.items():
            setattr(self, key, value)

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    tracking_no TEXT PRIMARY KEY,
    idem_key TEXT NOT NULL UNIQUE,
    body_hash TEXT NOT NULL,
    contract_no TEXT NOT NULL UNIQUE,
    order_no TEXT NOT NULL,
    dealer_code TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    percent INTEGER NOT NULL,
    quantity INTEGER NOT NULL,
    order_seq INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS vehicles (
    vin TEXT PRIMARY KEY,
    tracking_no TEXT NOT NULL REFERENCES orders(tracking_no),
    line_no INTEGER NOT NULL,
    stocked_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS vehicles_by_order ON vehicles(tracking_no);
CREATE TABLE IF NOT EXISTS changes (
    change_id TEXT PRIMARY KEY,
    tracking_no TEXT NOT NULL REFERENCES orders(tracking_no),
    idem_key TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    change_no TEXT NOT NULL,
    description TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    UNIQUE (tracking_no, idem_key)
);
CREATE TABLE IF NOT EXISTS payments (
    erp_payment_id TEXT PRIMARY KEY,
    dealer_code TEXT NOT NULL,
    contract_no TEXT,
    tracking_no TEXT,
    amount_fen INTEGER NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    tracking_no TEXT,
    contract_no TEXT,
    order_seq INTEGER,
    occurred_at TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


def _now() -> datetime:
    return datetime.now(SHANGHAI)


def body_hash(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class ErpSimEngine:
    """The simulated ERP. Thread-safe; every public method is one SQLite transaction."""

    def __init__(self, path: str = ":memory:", *, faults: SimFaults | None = None,
                 seed: int | None = None, clock: Callable[[], datetime] = _now) -> None:
        self.faults = faults or SimFaults()
        self._rng = random.Random(seed)
        self._clock = clock
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._pending: list[dict[str, Any]] = []

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- transactions ---------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._pending = []
            try:
                yield self._db
                self._emit_duplicates()
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _next(self, name: str) -> int:
        row = self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        value = (row["value"] if row else 0) + 1
        self._db.execute(
            "INSERT INTO counters(name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value", (name, value))
        return value

    def _event_id(self) -> str:
        return f"ev-{uuid.UUID(int=self._rng.getrandbits(128), version=4).hex}"

    def _append(self, kind: str, tracking_no: str | None, contract_no: str | None,
                data: dict[str, Any], *, at: datetime) -> None:
        order_seq = None
        if tracking_no is not None and kind != "payment_received":
            order_seq = self._db.execute(
                "UPDATE orders SET order_seq = order_seq + 1 WHERE tracking_no = ? RETURNING order_seq",
                (tracking_no,)).fetchone()["order_seq"]
        row = {"event_id": self._event_id(), "type": kind, "tracking_no": tracking_no,
               "contract_no": contract_no, "order_seq": order_seq, "occurred_at": at.isoformat(),
               "data": json.dumps(data, ensure_ascii=False)}
        self._insert_event(row)
        self._pending.append(row)

    def _insert_event(self, row: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO events(event_id, type, tracking_no, contract_no, order_seq, occurred_at, data) "
            "VALUES (:event_id, :type, :tracking_no, :contract_no, :order_seq, :occurred_at, :data)", row)

    def _emit_duplicates(self) -> None:
        """The ``duplicate_events`` fault: re-emit some of this transaction's events at its end,
        after later events, under the same event_id and a new seq."""
        rate = self.faults.duplicate_events
        if rate <= 0:
            return
        for row in list(self._pending):
            if self._rng.random() < rate:
                self._insert_event(row)

    # -- faults ---------------------------------------------------------------------------

    def take_error_500(self) -> bool:
        with self._lock:
            if self.faults.error_500_next > 0:
                self.faults.error_500_next -= 1
                return True
            return self.faults.error_500_rate > 0 and self._rng.random() < self.faults.error_500_rate

    def take_timeout_after_commit(self) -> str | None:
        """The misbehaviour to show after a committed creation, if one is armed."""
        with self._lock:
            if self.faults.timeout_after_commit > 0:
                self.faults.timeout_after_commit -= 1
                return self.faults.timeout_mode
            return None

    def set_faults(self, changes: Any) -> dict[str, Any]:
        with self._lock:
            self.faults.update(changes)
            return self.faults.to_dict()

    # -- sales orders ---------------------------------------------------------------------

    def create_sales_order(self, idempotency_key: str | None, body: Any) -> tuple[bool, dict[str, Any]]:
        """Returns (created, ack). The same key with the same body returns the first ack."""
        key = _check_key(idempotency_key)
        order = _validate_order(body)
        digest = body_hash(body)
        with self._tx() as db:
            row = db.execute("SELECT * FROM orders WHERE idem_key = ?", (key,)).fetchone()
            if row is not None:
                if row["body_hash"] != digest:
                    raise SimApiError(422, "idempotency_key_reused",
                                      "此幂等键已用于内容不同的订单", tracking_no=row["tracking_no"])
                return False, _ack(row)
            other = db.execute("SELECT tracking_no FROM orders WHERE contract_no = ?",
                               (order["contract_no"],)).fetchone()
            if other is not None:
                raise SimApiError(409, "contract_already_released", "该合同已下达ERP",
                                  tracking_no=other["tracking_no"])
            now = self._clock()
            tracking_no = f"JH{beijing_date(now).year}{self._next('tracking_no'):06d}"
            quantity = sum(line["quantity"] for line in order["lines"])
            db.execute(
                "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, 'scheduled', 0, ?, 0, ?, ?)",
                (tracking_no, key, digest, order["contract_no"], order["order_no"], order["dealer_code"],
                 json.dumps(body, ensure_ascii=False), quantity, now.isoformat(), now.isoformat()))
            self._append("status_changed", tracking_no, order["contract_no"],
                         {"status": "scheduled", "percent": 0}, at=now)
            row = db.execute("SELECT * FROM orders WHERE tracking_no = ?", (tracking_no,)).fetchone()
            return True, _ack(row)

    def get_order(self, tracking_no: str) -> dict[str, Any]:
        with self._lock:
            row = self._order_row(tracking_no)
            vins = [r["vin"] for r in self._db.execute(
                "SELECT vin FROM vehicles WHERE tracking_no = ? ORDER BY rowid", (tracking_no,))]
            changes = [dict(r) for r in self._db.execute(
                "SELECT change_id, change_no, description, recorded_at FROM changes "
                "WHERE tracking_no = ? ORDER BY change_id", (tracking_no,))]
            return {
                "tracking_no": row["tracking_no"], "contract_no": row["contract_no"],
                "order_no": row["order_no"], "dealer_code": row["dealer_code"],
                "status": row["status"], "percent": row["percent"], "quantity": row["quantity"],
                "stocked_quantity": len(vins), "vins": vins, "changes": changes,
                "created_at": row["created_at"], "updated_at": row["updated_at"],
            }

    def list_orders(self, contract_no: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            if contract_no is None:
                rows = self._db.execute("SELECT tracking_no FROM orders ORDER BY tracking_no").fetchall()
            else:
                rows = self._db.execute("SELECT tracking_no FROM orders WHERE contract_no = ? "
                                        "ORDER BY tracking_no", (contract_no,)).fetchall()
            return [self.get_order(r["tracking_no"]) for r in rows]

    def _order_row(self, tracking_no: str) -> sqlite3.Row:
        row = None
        if isinstance(tracking_no, str) and _TRACKING_RE.match(tracking_no):
            row = self._db.execute("SELECT * FROM orders WHERE tracking_no = ?", (tracking_no,)).fetchone()
        if row is None:
            raise SimApiError(404, "order_not_found", "内部流转单号不存在", tracking_no=str(tracking_no)[:40])
        return row

    # -- changes --------------------------------------------------------------------------

    def record_change(self, tracking_no: str, idempotency_key: str | None, body: Any) -> tuple[bool, dict[str, Any]]:
        key = _check_key(idempotency_key)
        if not isinstance(body, dict):
            raise _invalid("body", "body must be an object")
        change_no = body.get("change_no")
        description = body.get("description")
        if not isinstance(change_no, str) or not change_no.strip() or len(change_no) > 64:
            raise _invalid("change_no", "change_no is required (≤ 64 characters)")
        if not isinstance(description, str) or not description.strip() or len(description) > 4000:
            raise _invalid("description", "description is required (≤ 4000 characters)")
        unknown = set(body) - {"change_no", "description"}
        if unknown:
            raise _invalid(sorted(unknown)[0], "unknown field")
        digest = body_hash(body)
        with self._tx() as db:
            order = self._order_row(tracking_no)
            row = db.execute("SELECT * FROM changes WHERE tracking_no = ? AND idem_key = ?",
                             (tracking_no, key)).fetchone()
            if row is not None:
                if row["body_hash"] != digest:
                    raise SimApiError(422, "idempotency_key_reused", "此幂等键已用于内容不同的变更",
                                      change_id=row["change_id"])
                return False, _change_ack(row)
            if order["status"] == "stocked":
                raise SimApiError(409, "order_closed", "订单已入库，不能再变更",
                                  tracking_no=tracking_no, current_status="stocked")
            now = self._clock()
            change_id = f"BG{self._next('change_id'):08d}"
            db.execute("INSERT INTO changes VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (change_id, tracking_no, key, digest, change_no, description, now.isoformat()))
            self._append("change_recorded", tracking_no, order["contract_no"],
                         {"change_id": change_id, "change_no": change_no, "description": description},
                         at=now)
            row = db.execute("SELECT * FROM changes WHERE change_id = ?", (change_id,)).fetchone()
            return True, _change_ack(row)

    # -- progress -------------------------------------------------------------------------

    def advance(self, steps: int = 1, tracking_no: str | None = None, until: str | None = None) -> dict[str, Any]:
        """Move production forward. One step moves every unfinished order (or just
        ``tracking_no``) one stage: scheduled → in_production 10–20 % → +10–30 % … 100 % →
        inspected → stocked (with one ``vehicle_stocked_in`` per vehicle). With ``until`` it
        steps until the orders reach that status (at most 100 steps)."""
        if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps <= 1000:
            raise _invalid("steps", "steps must be an integer between 0 and 1000")
        if until is not None and until not in STATUSES:
            raise _invalid("until", f"until must be one of {', '.join(STATUSES)}")
        target_rank = STATUSES.index(until) if until is not None else None
        done = 0
        with self._tx() as db:
            if tracking_no is not None:
                self._order_row(tracking_no)
            for _ in range(100 if target_rank is not None else steps):
                query = "SELECT * FROM orders WHERE status != 'stocked'"
                args: tuple[Any, ...] = ()
                if tracking_no is not None:
                    query += " AND tracking_no = ?"
                    args = (tracking_no,)
                rows = db.execute(query + " ORDER BY tracking_no", args).fetchall()
                if target_rank is not None:
                    rows = [r for r in rows if STATUSES.index(r["status"]) < target_rank]
                if not rows:
                    break
                for row in rows:
                    self._step(row)
                done += 1
            query = "SELECT tracking_no, status, percent FROM orders"
            args = ()
            if tracking_no is not None:
                query += " WHERE tracking_no = ?"
                args = (tracking_no,)
            orders = [dict(r) for r in db.execute(query + " ORDER BY tracking_no", args)]
        return {"steps": done, "orders": orders}

    def _step(self, row: sqlite3.Row) -> None:
        status, percent = row["status"], row["percent"]
        if status == "scheduled":
            status, percent = "in_production", self._rng.choice((10, 20))
        elif status == "in_production" and percent < 100:
            percent = min(100, percent + self._rng.choice((10, 10, 20, 30)))
        elif status == "in_production":
            status = "inspected"
        else:
            status = "stocked"
        now = self._clock()
        tracking_no, contract_no = row["tracking_no"], row["contract_no"]
        if status == "stocked":
            self._stock_in(row, now)
        self._db.execute("UPDATE orders SET status = ?, percent = ?, updated_at = ? WHERE tracking_no = ?",
                         (status, percent, now.isoformat(), tracking_no))
        self._append("status_changed", tracking_no, contract_no, {"status": status, "percent": percent}, at=now)

    def _stock_in(self, row: sqlite3.Row, now: datetime) -> None:
        body = json.loads(row["body"])
        year_code = _YEAR_CODES[(beijing_date(now).year - 2010) % len(_YEAR_CODES)]
        for line in body["lines"]:
            vds = VDS_BY_PRODUCT_LINE[line["product_line"]]
            for _ in range(line["quantity"]):
                serial = f"{self._next('vin_serial'):06d}"
                vin = Vin.build(WMI, vds, year_code, PLANT_CODE, serial).value
                self._db.execute("INSERT INTO vehicles VALUES (?, ?, ?, ?)",
                                 (vin, row["tracking_no"], line["line_no"], now.isoformat()))
                self._append("vehicle_stocked_in", row["tracking_no"], row["contract_no"],
                             {"vin": vin, "line_no": line["line_no"], "stocked_at": now.isoformat()}, at=now)

    # -- payments -------------------------------------------------------------------------

    def record_payment(self, body: Any) -> tuple[bool, dict[str, Any]]:
        """The ERP's finance booked a receipt (test control: ``POST /erp/v1/_sim/payments``)."""
        if not isinstance(body, dict):
            raise _invalid("body", "body must be an object")
        dealer_code = body.get("dealer_code")
        contract_no = body.get("contract_no")
        amount = body.get("amount_fen")
        payment_id = body.get("erp_payment_id")
        if not isinstance(dealer_code, str) or not dealer_code.strip():
            raise _invalid("dealer_code", "dealer_code is required")
        if contract_no is not None and not isinstance(contract_no, str):
            raise _invalid("contract_no", "contract_no must be a string or null")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise _invalid("amount_fen", "amount_fen must be a positive integer (fen)")
        if payment_id is not None and (not isinstance(payment_id, str) or not _KEY_RE.match(payment_id)):
            raise _invalid("erp_payment_id", "erp_payment_id must be 1–64 printable characters")
        received_at = body.get("received_at")
        if received_at is not None:
            try:
                when = datetime.fromisoformat(str(received_at))
            except ValueError:
                raise _invalid("received_at", "received_at must be an ISO 8601 time") from None
            if when.tzinfo is None:
                raise _invalid("received_at", "received_at needs a UTC offset")
        with self._tx() as db:
            if payment_id is not None:
                row = db.execute("SELECT * FROM payments WHERE erp_payment_id = ?", (payment_id,)).fetchone()
                if row is not None:
                    return False, dict(row)
            now = self._clock()
            payment_id = payment_id or f"SK{self._next('payment_id'):08d}"
            when_s = received_at or now.isoformat()
            order = None
            if contract_no is not None:
                order = db.execute("SELECT tracking_no FROM orders WHERE contract_no = ?", (contract_no,)).fetchone()
            tracking_no = order["tracking_no"] if order else None
            db.execute("INSERT INTO payments VALUES (?, ?, ?, ?, ?, ?)",
                       (payment_id, dealer_code, contract_no, tracking_no, amount, when_s))
            self._append("payment_received", tracking_no, contract_no,
                         {"erp_payment_id": payment_id, "dealer_code": dealer_code,
                          "amount_fen": amount, "received_at": when_s}, at=now)
            return True, dict(db.execute("SELECT * FROM payments WHERE erp_payment_id = ?",
                                         (payment_id,)).fetchone())

    # -- feed -----------------------------------------------------------------------------

    def events(self, after: str | None, limit: Any = 100) -> dict[str, Any]:
        if after in (None, ""):
            after_seq = 0
        elif isinstance(after, str) and after.isdigit() and len(after) < 19:
            after_seq = int(after)
        else:
            raise SimApiError(400, "invalid_cursor", "游标无效", cursor=str(after)[:40])
        if isinstance(limit, str):
            limit = int(limit) if limit.isdigit() and len(limit) < 6 else -1
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
            raise SimApiError(400, "invalid_limit", f"limit 须为 1 到 {MAX_PAGE}", max=MAX_PAGE)
        with self._lock:
            rows = self._db.execute("SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                                    (after_seq, limit + 1)).fetchall()
            has_more = len(rows) > limit
            rows = rows[:limit]
            events = [_event(r) for r in rows]
            if self.faults.reorder_events:
                self._rng.shuffle(events)
        next_cursor = str(rows[-1]["seq"]) if rows else str(after_seq)
        return {"events": events, "next_cursor": next_cursor, "has_more": has_more}

    def event_count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM events").fetchone()[0]

    # -- control --------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything (orders, vehicles, events, counters); faults back to none."""
        with self._tx() as db:
            for table in ("vehicles", "changes", "payments", "events", "orders", "counters"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            db.execute("DELETE FROM sqlite_sequence WHERE name = 'events'")
            self.faults = SimFaults()


# ---------------------------------------------------------------------------------------------
# validation and shapes


def _check_key(key: str | None) -> str:
    if key is None or key == "":
        raise SimApiError(400, "idempotency_key_missing", "缺少 Idempotency-Key 请求头")
    if not _KEY_RE.match(key):
        raise SimApiError(400, "idempotency_key_invalid", "Idempotency-Key 须为1到64个可见ASCII字符")
    return key


def _text(obj: dict[str, Any], key: str, where: str, *, required: bool = True, max_len: int = 200) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > max_len:
        raise _invalid(f"{where}{key}", f"{key} must be a non-empty string of at most {max_len} characters")
    return value


def _int(obj: dict[str, Any], key: str, where: str, low: int, high: int) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _invalid(f"{where}{key}", f"{key} must be an integer between {low} and {high}")
    return value


_ORDER_FIELDS = {"contract_no", "order_no", "dealer_code", "end_customer", "agreed_delivery_date",
                 "remarks", "total_amount_fen", "lines"}
_LINE_FIELDS = {"line_no", "product_line", "template_code", "description", "quantity", "unit_price_fen",
                "options"}


def _validate_order(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _invalid("body", "body must be an object")
    unknown = set(body) - _ORDER_FIELDS
    if unknown:
        raise _invalid(sorted(unknown)[0], "unknown field")
    _text(body, "contract_no", "", max_len=64)
    _text(body, "order_no", "", max_len=64)
    _text(body, "dealer_code", "", max_len=64)
    _text(body, "end_customer", "", required=False)
    remarks = body.get("remarks")
    if remarks is not None and (not isinstance(remarks, str) or len(remarks) > 4000):
        raise _invalid("remarks", "remarks must be a string of at most 4000 characters")
    if body.get("agreed_delivery_date") is not None:
        try:
            date.fromisoformat(body["agreed_delivery_date"])
        except (TypeError, ValueError):
            raise _invalid("agreed_delivery_date", "agreed_delivery_date must be YYYY-MM-DD") from None
    lines = body.get("lines")
    if not isinstance(lines, list) or not 1 <= len(lines) <= 50:
        raise _invalid("lines", "lines must be a list of 1 to 50 lines")
    total = 0
    seen: set[int] = set()
    for i, line in enumerate(lines):
        where = f"lines[{i}]."
        if not isinstance(line, dict):
            raise _invalid(f"lines[{i}]", "a line must be an object")
        unknown = set(line) - _LINE_FIELDS
        if unknown:
            raise _invalid(f"{where}{sorted(unknown)[0]}", "unknown field")
        line_no = _int(line, "line_no", where, 1, 999)
        if line_no in seen:
            raise _invalid(f"{where}line_no", "duplicate line_no")
        seen.add(line_no)
        if line.get("product_line") not in VDS_BY_PRODUCT_LINE:
            raise _invalid(f"{where}product_line", f"product_line must be one of {', '.join(VDS_BY_PRODUCT_LINE)}")
        _text(line, "template_code", where, max_len=64)
        description = line.get("description")
        if description is not None and (not isinstance(description, str) or len(description) > 2000):
            raise _invalid(f"{where}description", "description must be a string of at most 2000 characters")
        options = line.get("options", [])
        if not isinstance(options, list) or not all(isinstance(o, str) for o in options) or len(options) > 200:
            raise _invalid(f"{where}options", "options must be a list of strings")
        quantity = _int(line, "quantity", where, 1, 500)
        price = _int(line, "unit_price_fen", where, 0, 10**13)
        total += quantity * price
    if body.get("total_amount_fen") != total:
        raise _invalid("total_amount_fen", f"total_amount_fen must equal the sum of the lines ({total})")
    return body


def _ack(row: sqlite3.Row) -> dict[str, Any]:
    return {"tracking_no": row["tracking_no"], "status": row["status"], "contract_no": row["contract_no"],
            "created_at": row["created_at"]}


def _change_ack(row: sqlite3.Row) -> dict[str, Any]:
    return {"tracking_no": row["tracking_no"], "change_id": row["change_id"], "change_no": row["change_no"],
            "status": "recorded", "recorded_at": row["recorded_at"]}


def _event(row: sqlite3.Row) -> dict[str, Any]:
    event = {"seq": row["seq"], "event_id": row["event_id"], "type": row["type"],
             "tracking_no": row["tracking_no"], "contract_no": row["contract_no"],
             "occurred_at": row["occurred_at"], "data": json.loads(row["data"])}
    if row["order_seq"] is not None:
        event["order_seq"] = row["order_seq"]
    return event
