"""The export writers: XLSX through XlsxWriter (opened back with openpyxl: typed cells, the ¥
money format, a frozen header, column widths) and CSV with a BOM; rows stream through lazily."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from dealercrm.adapters.documents.tables import MONEY_FORMAT, CsvTableWriter, XlsxTableWriter
from dealercrm.application.exports import Column, ColumnKind, Exporter, Table, keyset_rows
from dealercrm.domain.errors import InvalidValue

NOW = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
TABLE = Table("订单", (
    Column("order_no", "订单号", ColumnKind.TEXT, 18), Column("quantity", "数量", ColumnKind.INTEGER, 6),
    Column("total_fen", "金额", ColumnKind.MONEY, 16), Column("due", "交期", ColumnKind.DATE, 12),
    Column("created_at", "下单时间", ColumnKind.DATETIME, 17),
))
ROWS = [
    {"order_no": "SO-2026-000001", "quantity": 2, "total_fen": 123456789, "due": dt.date(2026, 12, 31),
     "created_at": dt.datetime(2026, 12, 6, 17, 30, tzinfo=dt.UTC)},
    {"order_no": "=HYPERLINK(1)", "quantity": None, "total_fen": -5, "due": None, "created_at": None},
]
EXPORTER = Exporter({"xlsx": XlsxTableWriter(), "csv": CsvTableWriter()}, lambda: NOW)


def test_an_xlsx_export_has_typed_cells_money_format_frozen_header_and_widths():
    file = EXPORTER.download("xlsx", "orders", TABLE, ROWS)

    sheet = openpyxl.load_workbook(io.BytesIO(file.read())).active

    assert file.filename == "orders-20261207-1000.xlsx"
    assert sheet.title == "订单" and sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == ["订单号", "数量", "金额", "交期", "下单时间"]
    assert sheet["B2"].value == 2 and sheet["C2"].value == 1234567.89
    assert sheet["C2"].number_format == MONEY_FORMAT and "¥" in sheet["C2"].number_format
    assert sheet["D2"].value == dt.datetime(2026, 12, 31) and sheet["D2"].is_date
    assert sheet["E2"].value == dt.datetime(2026, 12, 7, 1, 30)  # Beijing time
    assert sheet["A3"].value == "=HYPERLINK(1)" and sheet["A3"].data_type == "s"
    assert sheet["C3"].value == -0.05 and sheet["B3"].value is None
    assert sheet.column_dimensions["A"].width > 18 and sheet.column_dimensions["C"].width > 16


def test_a_csv_export_is_utf8_with_a_bom_money_in_yuan_and_beijing_times():
    file = EXPORTER.download("csv", "orders", TABLE, ROWS)

    content = file.read()
    lines = content.decode("utf-8-sig").splitlines()

    assert content.startswith(b"\xef\xbb\xbf") and file.media_type == "text/csv; charset=utf-8"
    assert lines[0] == "订单号,数量,金额,交期,下单时间"
    assert lines[1] == "SO-2026-000001,2,1234567.89,2026-12-31,2026-12-07 01:30"
    assert lines[2] == "'=HYPERLINK(1),,-0.05,,"


def test_rows_are_read_only_as_the_file_is_sent():
    read: list[int] = []

    def rows():
        for i in range(3000):
            read.append(i)
            yield {"order_no": f"SO-{i}", "quantity": i, "total_fen": i, "due": None, "created_at": None}

    file = EXPORTER.download("csv", "orders", TABLE, rows())
    assert read == []
    first = next(file.chunks)
    assert read == [] and first.startswith(b"\xef\xbb\xbf")
    rest = b"".join(file.chunks)

    assert len(read) == 3000 and rest.count(b"\n") == 3000


def test_an_unknown_format_is_refused_before_any_row_is_read():
    with pytest.raises(InvalidValue) as refused:
        EXPORTER.download("pdf", "orders", TABLE, iter(()))

    assert (refused.value.code, refused.value.field) == ("export.format_unknown", "format")


def test_keyset_rows_pages_through_a_read_until_a_short_page():
    data = list(range(1, 2501))
    cursors = []

    def fetch(after):
        cursors.append(after)
        return [n for n in data if after is None or n > after][:1000]

    rows = keyset_rows(fetch, lambda n: n)
    first_read = list(cursors)
    out = list(rows)

    assert first_read == [None]
    assert out == data and cursors == [None, 1000, 2000]
