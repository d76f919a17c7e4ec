"""Benchmark: apply 10 000 ERP status events through ErpEventApplier (in-memory target).

Target (issue 4): syncing 10 000 ERP status events in ≤ 5 s. This measures the applier's own
cost — dedup, ordering, dispatch — with the in-memory target; the SQL-backed target is
measured separately once it exists. Run: ``.venv/bin/python benchmarks/erp_sync.py``.
Exits non-zero only if the benchmark could not run.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timedelta, timezone


LADDER = [("scheduled", 0)] + [("in_production", p) for p in range(10, 101, 10)] + [
    ("inspected", 100), ("stocked", 100)]


def orders_for(count: int) -> int:
    return -(-count // len(LADDER))


def _events(count: int, seed: int) -> list:  # type: ignore[type-arg]
    """A valid feed: each order climbs the full production ladder once; orders interleave."""
    from dealercrm.application.ports.erp import ErpStatusChanged

    rng = random.Random(seed)
    t0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    orders = orders_for(count)
    turns = [o for o in range(orders) for _ in LADDER]
    rng.shuffle(turns)
    position = dict.fromkeys(range(orders), 0)
    events = []
    for seq, order in enumerate(turns[:count], start=1):
        status, percent = LADDER[position[order]]
        position[order] += 1
        events.append(ErpStatusChanged(
            event_id=f"ev-{seq}", seq=seq, tracking_no=f"JH2026{order:06d}", contract_no=f"HT-2026-{order:06d}",
            order_seq=position[order], occurred_at=t0 + timedelta(seconds=seq), status=status, percent=percent))
    return events


def run(count: int, page_size: int, duplicates: float, shuffle: bool, seed: int) -> dict[str, float]:
    from dealercrm.application.erp_sync import ErpEventApplier, InMemoryErpSyncTarget
    from dealercrm.application.ports.erp import ErpEventPage

    import attrs

    events = _events(count, seed)
    orders = orders_for(count)
    rng = random.Random(seed + 1)
    if duplicates:
        extra = [attrs.evolve(e, seq=count + i + 1) for i, e in enumerate(rng.sample(events, int(count * duplicates)))]
        events += extra
    if shuffle:
        rng.shuffle(events)
    pages = [ErpEventPage(tuple(events[i:i + page_size]), str(i + page_size), i + page_size < len(events))
             for i in range(0, len(events), page_size)]
    target = InMemoryErpSyncTarget()
    for order in range(orders):
        target.add_order(f"HT-2026-{order:06d}", f"JH2026{order:06d}")
    applier = ErpEventApplier(target)

    started = time.perf_counter()
    applied = stale = dup = rejected = 0
    for page in pages:
        report = applier.apply_page(page)
        applied, stale, dup, rejected = (applied + report.applied, stale + report.stale,
                                         dup + report.duplicates, rejected + report.rejected)
    seconds = time.perf_counter() - started
    return {"events": len(events), "seconds": seconds, "per_second": len(events) / seconds if seconds else 0.0,
            "applied": applied, "stale": stale, "duplicates": dup, "rejected": rejected}


def run_through_gateway(count: int, page_size: int, source: str) -> dict[str, float]:
    """Fetch + decode + apply: the simulated ERP produces the feed (orders created and advanced
    to stocked until ``count`` events exist), then ``sync_erp_events`` drains it."""
    from dealercrm.adapters.erp.http_gateway import HttpErpGateway
    from dealercrm.adapters.erp.memory import InMemoryErpGateway
    from dealercrm.adapters.erp.simulator import start_erp_simulator
    from dealercrm.application.erp_sync import InMemoryErpSyncTarget, sync_erp_events
    from dealercrm.application.ports.erp import ErpOrderLine, ErpSalesOrder
    from dealercrm.domain.values import Money

    twin = InMemoryErpGateway(seed=3)
    target = InMemoryErpSyncTarget()
    n = 0
    while twin.engine.event_count() < count:
        n += 1
        order = ErpSalesOrder(f"HT-2026-{n:06d}", f"SO-2026-{n:06d}", "D001",
                              (ErpOrderLine(1, "semi_trailer", "BG-13", 1, Money(12_000_000)),))
        twin.create_sales_order(order, order.contract_no)
        target.add_order(order.contract_no)
        if n % 50 == 0:
            twin.advance(until="stocked")
    twin.advance(until="stocked")
    events = twin.engine.event_count()
    running = None
    gateway = twin
    if source == "http":
        running = start_erp_simulator(engine=twin.engine)
        gateway = HttpErpGateway(running.base_url, "erp-sim-key", timeout=30.0)
    try:
        started = time.perf_counter()
        report = sync_erp_events(gateway, target, page_size=page_size, max_pages=10_000)
        seconds = time.perf_counter() - started
    finally:
        if running is not None:
            gateway.close()
            running.close()
    return {"events": events, "seconds": seconds, "per_second": events / seconds if seconds else 0.0,
            "applied": report.applied, "stale": report.stale, "duplicates": report.duplicates,
            "rejected": report.rejected}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--duplicates", type=float, default=0.0, help="fraction re-emitted under a new seq")
    parser.add_argument("--shuffle", action="store_true", help="serve the feed in random order")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--source", choices=["events", "memory-twin", "http"], default="events",
                        help="events: applier only (default); memory-twin / http: fetch + decode + apply from "
                             "the simulated ERP (in-process twin, or the simulator over HTTP on 127.0.0.1)")
    args = parser.parse_args(argv)
    try:
        if args.source == "events":
            result = run(args.events, args.page_size, args.duplicates, args.shuffle, args.seed)
        else:
            result = run_through_gateway(args.events, args.page_size, args.source)
    except Exception as exc:  # report, do not hide: the benchmark could not run
        print(f"erp_sync benchmark failed: {exc!r}", file=sys.stderr)
        return 1
    print(f"erp_sync ({args.source} → in-memory target): {result['events']:,} events in {result['seconds']:.3f} s "
          f"= {result['per_second']:,.0f} events/s "
          f"(applied {result['applied']:,}, stale {result['stale']:,}, duplicates {result['duplicates']:,}, "
          f"rejected {result['rejected']:,}; target ≤ 5 s for 10,000)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
