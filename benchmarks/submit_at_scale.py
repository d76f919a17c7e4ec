"""Order submission cost against a small and a large order history, in alternating runs.

    .venv/bin/python benchmarks/submit_at_scale.py [--small 10000] [--large 1000000] [--pairs 3] [--seconds 8]

Each run is ``order_submit.py --history N --only one --cache`` in a process of its own (the one-call
create+submit path, on a copy of the seeded database with N historical orders from
``order_history.py``; a history is built once and kept in the temp directory: about 12 minutes and
7 GB for a million orders on the shared 2-vCPU machine). The runs alternate small, large, small,
large… so drift in the machine's load hits both alike; each pair's ratio is the large history's
server CPU per order over the small one's, and the median of the pairs is printed.

Target (PERFORMANCE.md, issue 20): submission cost at 1 M historical orders ≤ 1.2× at 10 k.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROW = "POST /orders?submit=true"


def run(history: int, seconds: int) -> tuple[float, float]:
    """(orders/s, server CPU ms per order) of one order_submit.py run."""
    out = subprocess.run([sys.executable, str(HERE / "order_submit.py"), "--history", str(history), "--only", "one",
                          "--cache", "--seconds", str(seconds)], capture_output=True, text=True, check=True,
                         env=os.environ.copy()).stdout
    line = next(row for row in out.splitlines() if row.startswith(ROW))
    fields = line[len(ROW):].split()  # req/s, orders/s, p50, p99, non-2xx, CPU ms/order, …
    return float(fields[1]), float(fields[5])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=10_000)
    ap.add_argument("--large", type=int, default=1_000_000)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=8)
    args = ap.parse_args()
    print(f"order create+submit (one call), history {args.small} vs {args.large} orders, {args.pairs} alternating "
          f"pairs of {args.seconds} s runs; server CPU ms per order from /proc")
    print(f"{'pair':<6}{'small orders/s':>16}{'small CPU ms':>14}{'large orders/s':>16}{'large CPU ms':>14}"
          f"{'large/small':>13}")
    ratios = []
    for n in range(1, args.pairs + 1):
        small_rate, small_cpu = run(args.small, args.seconds)
        large_rate, large_cpu = run(args.large, args.seconds)
        ratios.append(large_cpu / small_cpu)
        print(f"{n:<6}{small_rate:>16.0f}{small_cpu:>14.2f}{large_rate:>16.0f}{large_cpu:>14.2f}{ratios[-1]:>12.2f}×",
              flush=True)
    print(f"median large/small CPU per order: {statistics.median(ratios):.2f}× (target <= 1.2×, issue 20)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
