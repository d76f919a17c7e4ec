"""One order creation + submission in process (the service call ``POST /orders?submit=true``
makes, no HTTP), with the realistic staff of ``order_submit.py``: the statements it runs, its CPU
ms per order, or a cProfile of it.

    .venv/bin/python benchmarks/order_submit_profile.py [--orders 300] [--profile]

CPU is this process's ``time.process_time`` over the orders, best of three; on a loaded machine
compare two trees run alternately, never a figure with one from another time.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from order_submit import OPTIONS, seed  # noqa: E402
from sqlalchemy import event  # noqa: E402

import dealercrm  # noqa: E402
from dealercrm.application.orders import EndCustomerIn, OrderDraftIn  # noqa: E402
from dealercrm.config import load_settings  # noqa: E402
from dealercrm.domain.identity import Principal, Role  # noqa: E402


class WriteTransactionTimer:
    """CPU time of this thread from each ``BEGIN IMMEDIATE`` to its ``COMMIT``: the work done while
    SQLite's one writer slot is taken (on an idle machine about the time it is held; CPU, not wall
    time, so that a loaded machine does not blur it)."""

    def __init__(self) -> None:
        self.total = 0.0
        self.began: float | None = None

    def statement(self, _conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("BEGIN IMMEDIATE"):
            self.began = time.thread_time()

    def commit(self, _conn: object) -> None:
        if self.began is not None:
            self.total += time.thread_time() - self.began
            self.began = None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=300)
    ap.add_argument("--profile", action="store_true", help="print a cProfile of the orders instead of timing them")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dealercrm-profile-"))
    settings = load_settings({}, database_url=f"sqlite:///{tmp / 'bench.db'}", log_level="WARNING",
                             jwt_secret="b" * 48, sqlite_synchronous="NORMAL")
    crm = dealercrm.bootstrap(settings)
    dealer_id, template_id = seed(crm)
    with crm.uow(Principal.system()) as uow:
        user = uow.users.by_username("bench_dealer")
        dealer = Principal(user_id=user.id, username=user.username, role=Role.DEALER, dealer_id=dealer_id)
    draft = OrderDraftIn(template_id=template_id, options=tuple(OPTIONS), quantity=1,
                         requested_delivery_date=dt.date.today() + dt.timedelta(days=60),
                         delivery_method="self_pickup", end_customer=EndCustomerIn("中石化河南石油分公司", None, "成品油运输"),
                         remarks="基准测试")
    for _ in range(20):  # the process's caches (template content, review staff, compiled statements)
        crm.orders.create(dealer, draft, True)

    seen: list[str] = []

    def log(_conn: object, _cursor: object, statement: str, _params: object, _context: object, many: bool) -> None:
        seen.append(("many " if many else "     ") + " ".join(statement.split())[:110])

    event.listen(crm.engine, "before_cursor_execute", log)
    event.listen(crm.engine, "commit", lambda *_: seen.append("     COMMIT"))
    crm.orders.create(dealer, draft, True)
    event.remove(crm.engine, "before_cursor_execute", log)
    print(f"{len(seen)} statements per order:", *seen, sep="\n  ")

    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.orders):
            crm.orders.create(dealer, draft, True)
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(60)
    else:
        held = WriteTransactionTimer()
        event.listen(crm.engine, "before_cursor_execute", held.statement)
        event.listen(crm.engine, "commit", held.commit)
        runs, inside = [], []
        for _ in range(3):
            t0, held.total = time.process_time(), 0.0
            for _ in range(args.orders):
                crm.orders.create(dealer, draft, True)
            runs.append((time.process_time() - t0) * 1000 / args.orders)
            inside.append(held.total * 1000 / args.orders)
        print("CPU ms per order in process:", " ".join(f"{r:.2f}" for r in runs), f"(best {min(runs):.2f})")
        print("CPU ms per order inside the write transaction (BEGIN IMMEDIATE to COMMIT):",
              " ".join(f"{r:.2f}" for r in inside), f"(best {min(inside):.2f})")
    crm.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
