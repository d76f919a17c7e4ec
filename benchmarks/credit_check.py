"""Credit check + reservation: a dealer with 100 historical contracts vs one with 100 000.

    .venv/bin/python benchmarks/credit_check.py [--small 100] [--large 100000] [--ops 300] [--rounds 5]
                                                [--database-url postgresql+psycopg://…]

Target (PERFORMANCE.md): the cost at 100 000 historical contracts ≤ 1.5× the cost at 100. Each
measured operation is exactly what the orders' finance review does: open a unit of work, call
``reserve_for_contract`` (lock the account, overdue lookup, limit check, write the commitment,
update the account, audit trail), commit. History is fully invoiced and paid contracts (one
invoice, one payment, one allocation each), so the overdue lookup has history to skip.

Printed beside it, in the same run and on the same database:
* baseline — a raw ``sqlite3`` transaction doing the bare minimum by hand (BEGIN IMMEDIATE, read
  the account, insert the commitment, update the account, COMMIT) — SQLite only;
* what a naive check would cost: exposure summed from the facts (a scan of the dealer's history).

Measurements of the two dealers are interleaved in rounds so drift on a shared machine hits both;
the median per operation is reported. Exits non-zero only if it could not run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import cpu_note  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

import dealercrm  # noqa: E402
from dealercrm.adapters.db.credit_tables import (  # noqa: E402
    credit_accounts,
    credit_allocations,
    credit_commitments,
    credit_invoices,
    credit_payments,
    new_account_row,
)
from dealercrm.adapters.db.orm import dealers  # noqa: E402
from dealercrm.application.credit import reserve_for_contract  # noqa: E402
from dealercrm.config import load_settings  # noqa: E402
from dealercrm.domain.identity import Principal, Role  # noqa: E402
from dealercrm.domain.values import Uscc  # noqa: E402

FINANCE = Principal(user_id=1, username="bench_finance", role=Role.FINANCE)
PRICE = 38_000_000  # ¥380,000.00
NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def add_dealer(crm, n: int) -> int:  # type: ignore[no-untyped-def]
    body = f"91{420000 + n:06d}MA{n:07d}"
    with crm.engine.begin() as conn:
        dealer_id = conn.execute(insert(dealers).values(
            code=f"DL-B{n:05d}", legal_name=f"基准测试专用车销售有限公司{n}", region="华中", province="河南省",
            city="郑州市", address_detail=f"经开区{n}号", uscc=body + Uscc.check_char(body), status="approved",
            territory_regions=[], territory_industries=[], version=1,
        ).returning(dealers.c.id)).scalar_one()
        conn.execute(insert(credit_accounts).values(
            **{**new_account_row(dealer_id, NOW), "limit_fen": 10**13, "warning_threshold_permille": 1000}))
    return dealer_id


def seed_history(crm, dealer_id: int, contracts: int, tag: str) -> None:  # type: ignore[no-untyped-def]
    """``contracts`` closed contracts: invoiced in full, paid in full, over the last two years."""
    batch = 5_000
    day0 = dt.date(2024, 1, 1)
    with crm.engine.begin() as conn:
        next_id = {t: (conn.execute(select(t.c.id).order_by(t.c.id.desc()).limit(1)).scalar() or 0) + 1
                   for t in (credit_invoices, credit_payments)}
        for start in range(0, contracts, batch):
            rows_c, rows_i, rows_p, rows_a = [], [], [], []
            for k in range(start, min(start + batch, contracts)):
                no = f"H{tag}-{k:07d}"
                issued = day0 + dt.timedelta(days=k % 700)
                due = issued + dt.timedelta(days=30)
                inv_id, pay_id = next_id[credit_invoices] + k, next_id[credit_payments] + k
                rows_c.append(dict(contract_no=no, dealer_id=dealer_id, amount_fen=PRICE, invoiced_fen=PRICE,
                                   state="released", reserved_at=NOW, dunning_level=0, version=1))
                rows_i.append(dict(id=inv_id, invoice_no=f"FP{tag}-{k:07d}", dealer_id=dealer_id, contract_no=no,
                                   amount_fen=PRICE, issued_on=issued, due_on=due, issued_at=NOW, issued_by="bench",
                                   vins=[], vehicle_count=0, state="issued", paid_fen=PRICE, open_fen=0,
                                   settled_on=due, version=1))
                rows_p.append(dict(id=pay_id, payment_no=f"SK{tag}-{k:07d}", dealer_id=dealer_id, amount_fen=PRICE,
                                   received_on=due, method="bank_transfer", source="erp", recorded_at=NOW,
                                   recorded_by="bench", contract_no=no, unapplied_fen=0, version=1))
                rows_a.append(dict(payment_id=pay_id, invoice_id=inv_id, dealer_id=dealer_id, contract_no=no,
                                   amount_fen=PRICE, allocated_at=NOW, allocated_by="bench"))
            conn.execute(insert(credit_commitments), rows_c)
            conn.execute(insert(credit_invoices), rows_i)
            conn.execute(insert(credit_payments), rows_p)
            conn.execute(insert(credit_allocations), rows_a)
    if crm.engine.dialect.name == "postgresql":
        with crm.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with crm.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")


def reserve_once(crm, dealer_id: int, contract_no: str) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    with crm.uow(FINANCE) as uow:
        reserve_for_contract(uow, dealer_id, contract_no, PRICE, now=NOW)
        uow.commit()
    return time.perf_counter() - started


def raw_once(conn: sqlite3.Connection, dealer_id: int, contract_no: str) -> float:
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    limit_fen, rec, uninv, pre = conn.execute(
        "SELECT limit_fen, receivable_fen, uninvoiced_fen, prepayment_fen FROM credit_accounts WHERE dealer_id = ?",
        (dealer_id,)).fetchone()
    if PRICE > limit_fen - (rec + uninv - pre):
        raise RuntimeError("baseline ran out of credit")
    conn.execute(
        "INSERT INTO credit_commitments (contract_no, dealer_id, amount_fen, invoiced_fen, state, reserved_at, "
        "dunning_level, version) VALUES (?, ?, ?, 0, 'reserved', ?, 0, 1)",
        (contract_no, dealer_id, PRICE, NOW.replace(tzinfo=None).isoformat(" ")))
    conn.execute("UPDATE credit_accounts SET uninvoiced_fen = uninvoiced_fen + ?, version = version + 1 "
                 "WHERE dealer_id = ?", (PRICE, dealer_id))
    conn.execute("COMMIT")
    return time.perf_counter() - started


def naive_once(crm, dealer_id: int) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    with crm.uow(FINANCE) as uow:
        uow.credit.exposure_from_facts(dealer_id)
    return time.perf_counter() - started


def us(seconds: float) -> str:
    return f"{seconds * 1e6:>10.0f}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", type=int, default=100)
    ap.add_argument("--large", type=int, default=100_000)
    ap.add_argument("--ops", type=int, default=300, help="reservations per dealer per round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--database-url", default=None, help="default: a fresh SQLite file (WAL, synchronous=NORMAL)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="dealercrm-credit-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    settings = load_settings({}, database_url=url, log_level="WARNING", jwt_secret="b" * 48,
                             sqlite_synchronous="NORMAL")
    crm = dealercrm.bootstrap(settings, clock=lambda: NOW)
    small, large = add_dealer(crm, 1), add_dealer(crm, 2)
    t0 = time.perf_counter()
    seed_history(crm, small, args.small, "S")
    seed_history(crm, large, args.large, "L")
    print(f"credit check + reservation; {crm.engine.dialect.name}; history {args.small} vs {args.large} closed "
          f"contracts (+ as many invoices, payments, allocations), seeded in {time.perf_counter() - t0:.1f} s; "
          f"{args.rounds} rounds × {args.ops} reservations per dealer; {cpu_note()}")

    raw = sqlite3.connect(url.split("///", 1)[1], isolation_level=None) if crm.engine.dialect.name == "sqlite" else None
    if raw is not None:
        raw.execute("PRAGMA synchronous=NORMAL")
    samples: dict[str, list[float]] = {k: [] for k in ("small", "large", "raw_small", "raw_large")}
    seq = 0
    for _ in range(max(1, args.ops // 20)):  # warm-up
        seq += 1
        reserve_once(crm, small, f"W-{seq}")
        reserve_once(crm, large, f"W-{seq}x")
    for _ in range(args.rounds):
        for label, dealer_id in (("small", small), ("large", large)):
            for _ in range(args.ops):
                seq += 1
                samples[label].append(reserve_once(crm, dealer_id, f"B-{seq}"))
            if raw is not None:
                for _ in range(args.ops):
                    seq += 1
                    samples[f"raw_{label}"].append(raw_once(raw, dealer_id, f"R-{seq}"))
    naive = {label: statistics.median(naive_once(crm, d) for _ in range(5)) for label, d in
             (("small", small), ("large", large))}

    med = {k: statistics.median(v) for k, v in samples.items() if v}
    print(f"{'':<44}{'µs/op @' + str(args.small):>14}{'µs/op @' + str(args.large):>16}{'large/small':>13}")
    print(f"{'dealercrm reserve_for_contract (median)':<44}{us(med['small']):>14}{us(med['large']):>16}"
          f"{med['large'] / med['small']:>12.2f}×")
    if raw is not None:
        print(f"{'baseline: raw sqlite3 transaction (median)':<44}{us(med['raw_small']):>14}{us(med['raw_large']):>16}"
              f"{med['raw_large'] / med['raw_small']:>12.2f}×")
        print(f"{'dealercrm vs baseline':<44}{med['small'] / med['raw_small']:>13.1f}×"
              f"{med['large'] / med['raw_large']:>15.1f}×")
    print(f"{'naive: exposure summed from the facts':<44}{us(naive['small']):>14}{us(naive['large']):>16}"
          f"{naive['large'] / naive['small']:>12.2f}×")
    ratio = med["large"] / med["small"]
    print(f"target: cost at {args.large} ≤ 1.5× cost at {args.small} → {ratio:.2f}× "
          f"({'met' if ratio <= 1.5 else 'NOT met'})")
    crm.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
