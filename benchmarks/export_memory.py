"""Export memory: 100 000 order-like rows through the export port as XLSX and as CSV, the rows
made lazily, the file written to /dev/null chunk by chunk. Prints the peak RSS of this process
before and after each export: with XlsxWriter's constant_memory mode and the streamed chunks it
stays flat (a few MB over the interpreter), where building the file in memory would grow with
the row count.

    PYTHONPATH=src python benchmarks/export_memory.py [rows]
"""

from __future__ import annotations

import datetime as dt
import resource
import sys
import time

from dealercrm.adapters.documents.tables import CsvTableWriter, XlsxTableWriter
from dealercrm.application.exports import Column, ColumnKind, Exporter, Table

NOW = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
TABLE = Table("订单", (
    Column("order_no", "订单号", ColumnKind.TEXT, 18), Column("dealer_name", "经销商", ColumnKind.TEXT, 28),
    Column("quantity", "数量", ColumnKind.INTEGER, 6), Column("total_fen", "金额", ColumnKind.MONEY, 18),
    Column("due", "要求交期", ColumnKind.DATE, 12), Column("created_at", "下单时间", ColumnKind.DATETIME, 17),
))


def rows(n: int):
    for i in range(n):
        yield {"order_no": f"SO-2026-{i:06d}", "dealer_name": f"经销商{i % 500:03d}有限公司", "quantity": i % 9 + 1,
               "total_fen": 24_348_500 + i, "due": dt.date(2027, 1, 1) + dt.timedelta(days=i % 90),
               "created_at": NOW - dt.timedelta(minutes=i)}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    exporter = Exporter({"xlsx": XlsxTableWriter(), "csv": CsvTableWriter()}, lambda: NOW)
    for fmt in ("csv", "xlsx"):
        before, started, size = peak_mb(), time.perf_counter(), 0
        with open("/dev/null", "wb") as sink:
            for chunk in exporter.download(fmt, "orders", TABLE, rows(n)).chunks:
                size += len(chunk)
                sink.write(chunk)
        print(f"{fmt}: {n} rows, {size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s; "
              f"peak RSS {before:.0f} MB before, {peak_mb():.0f} MB after")


if __name__ == "__main__":
    main()
