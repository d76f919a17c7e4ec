"""Benchmark: apply 10 000 ERP status events to the database (``SqlErpSyncTarget``).

    .venv/bin/python benchmarks/erp_sync_sql.py [--events 10000] [--page-size 500]
                                                [--database-url postgresql+psycopg://…]

Target (issue 4): syncing 10 000 ERP status events in ≤ 5 s. The feed is the one of
``benchmarks/erp_sync.py`` (each order climbs scheduled → in production 10…100 % → inspected →
stocked; orders interleave), applied page by page exactly as the sync job does: one unit of
work per page — seen-event check, the order's last progress, the progress row, the order's
``production_progressed`` with its timeline entry and audit trail, commit with the cursor. The
orders are created through the library, then marked released with a tracking number.
Exits non-zero only if it could not run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import cpu_note  # noqa: E402
from erp_sync import _events, orders_for  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402

import dealercrm  # noqa: E402
from dealercrm.adapters.db.erp_sync_target import SqlErpSyncTarget  # noqa: E402
from dealercrm.adapters.db.orders_tables import order_events, orders  # noqa: E402
from dealercrm.application import channel as ch  # noqa: E402
from dealercrm.application import orders as app  # noqa: E402
from dealercrm.application.catalog import CreateTemplate  # noqa: E402
from dealercrm.application.erp_sync import ErpEventApplier  # noqa: E402
from dealercrm.application.ports.erp import ErpEventPage  # noqa: E402
from dealercrm.config import load_settings  # noqa: E402
from dealercrm.domain.identity import Principal  # noqa: E402
from dealercrm.domain.values import Uscc  # noqa: E402
from dealercrm.entrypoints.demo_orders import FUEL_TANKER  # noqa: E402

SYSTEM = Principal.system()
OPTIONS = ("AXLE-FUWA13", "TYRE-12R225", "RIM-STEEL", "SUSP-MECH", "ABS-4S2M", "TANK-5182", "COMP-4",
           "PUMP-GRAVITY", "LEG-STD")


def setup(crm, count: int) -> None:  # type: ignore[no-untyped-def]
    body = "91410100MA0000001"
    reg = crm.channel.register_dealer(ch.RegisterDealer(
        legal_name="基准专用车销售有限公司", uscc=body + Uscc.check_char(body), region="华中",
        address=ch.AddressIn("河南省", "郑州市", "经开区1号"),
        contact=ch.ContactIn(name="王建国", title="总经理", phone="13800138000"),
        applicant_username="bench", applicant_password="Passw0rd123"))
    crm.channel.submit(SYSTEM, reg.dealer_id)
    crm.channel.approve(SYSTEM, reg.dealer_id)
    year = dt.date.today().year
    crm.channel.add_agreement(SYSTEM, ch.AddAgreement(reg.dealer_id, ("tanker",), ("河南省",), "credit",
                                                      dt.date(year - 1, 1, 1), dt.date(year + 2, 12, 31)))
    template_id = crm.orders.create_template(SYSTEM, CreateTemplate("HTL9400GYY", "tanker", FUEL_TANKER, True)).id
    delivery = dt.date.today() + dt.timedelta(days=90)
    for _ in range(orders_for(count)):
        crm.orders.create(SYSTEM, app.OrderDraftIn(template_id, OPTIONS, 1, delivery, "self_pickup",
                                                   dealer_id=reg.dealer_id))
    with crm.engine.begin() as conn:
        ids = conn.execute(select(orders.c.id).order_by(orders.c.id)).scalars().all()
        for n, order_id in enumerate(ids):
            conn.execute(update(orders).where(orders.c.id == order_id).values(
                state="released", erp_tracking_no=f"JH2026{n:06d}", contract_no=f"HT-2026-{n:06d}"))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        crm = dealercrm.bootstrap(load_settings({}, database_url=url, log_level="WARNING"))
        setup(crm, args.events)
        events = _events(args.events, seed=7)
        pages = [ErpEventPage(tuple(events[i:i + args.page_size]), str(i + args.page_size),
                              i + args.page_size < len(events)) for i in range(0, len(events), args.page_size)]
        with crm.engine.connect() as conn:
            before = conn.execute(select(func.count()).select_from(order_events)).scalar_one()
        started = time.perf_counter()
        applied = 0
        with SqlErpSyncTarget(crm.uow, crm.clock) as target:
            applier = ErpEventApplier(target)
            for page in pages:
                applied += applier.apply_page(page).applied
        elapsed = time.perf_counter() - started
        with crm.engine.connect() as conn:
            entries = conn.execute(select(func.count()).select_from(order_events)).scalar_one() - before
            states = dict(conn.execute(select(orders.c.state, func.count()).group_by(orders.c.state)).all())
        crm.close()
    print(f"ERP sync into {url.split(':')[0]}: {len(events)} status events, {orders_for(args.events)} orders, "
          f"page size {args.page_size}")
    print(f"  applied {applied}, timeline entries written {entries}, order states {states}")
    print(f"  {elapsed:.2f} s  ({len(events) / elapsed:,.0f} events/s)  target ≤ 5 s: "
          f"{'met' if elapsed <= 5 else 'NOT met'}")
    print(f"  {cpu_note()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
