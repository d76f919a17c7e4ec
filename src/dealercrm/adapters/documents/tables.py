"""Table writers for exports: XLSX through XlsxWriter and CSV through the standard library.

XLSX is written in XlsxWriter's ``constant_memory`` mode: each row goes to a temporary file as
it arrives, so a 100 000-row export keeps flat memory; the finished workbook is then read back
in chunks. Money (integer fen) becomes a number in yuan with a ¥ format, dates and times are
real Excel dates, the header row is frozen and bold, and columns have widths.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence

import xlsxwriter

from dealercrm.application.ports.exports import ColumnKind, Table

CHUNK = 64 * 1024
MONEY_FORMAT = '"¥"#,##0.00;-"¥"#,##0.00'
FORMATS = {
    ColumnKind.MONEY: MONEY_FORMAT,
    ColumnKind.DATE: "yyyy-mm-dd",
    ColumnKind.DATETIME: "yyyy-mm-dd hh:mm",
    ColumnKind.INTEGER: "0",
}
FORMULA_STARTS = ("=", "+", "-", "@")
MAX_SHEET_NAME = 31  # Excel's limit
FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})


def sheet_name(name: str) -> str:
    return (name.translate(FORBIDDEN) or "Sheet1")[:MAX_SHEET_NAME]


class XlsxTableWriter:
    """``.xlsx`` files (Excel, WPS, LibreOffice)."""

    extension = "xlsx"
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def write(self, table: Table, rows: Iterable[Sequence[object]]) -> Iterator[bytes]:
        handle, path = tempfile.mkstemp(suffix=".xlsx", prefix="dealercrm-export-")
        os.close(handle)
        try:
            self._fill(path, table, rows)
            with open(path, "rb") as f:
                while chunk := f.read(CHUNK):
                    yield chunk
        finally:
            os.unlink(path)

    @staticmethod
    def _fill(path: str, table: Table, rows: Iterable[Sequence[object]]) -> None:
        book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_numbers": False,
                                          "strings_to_formulas": False, "strings_to_urls": False})
        try:
            sheet = book.add_worksheet(sheet_name(table.name))
            header = book.add_format({"bold": True, "bg_color": "#F2F4F7", "border": 1})
            formats = {kind: book.add_format({"num_format": pattern}) for kind, pattern in FORMATS.items()}
            for i, column in enumerate(table.columns):
                sheet.set_column(i, i, column.width, formats.get(column.kind))
            sheet.freeze_panes(1, 0)
            sheet.write_row(0, 0, [c.label for c in table.columns], header)
            for r, row in enumerate(rows, start=1):
                for i, (column, value) in enumerate(zip(table.columns, row, strict=True)):
                    _write_cell(sheet, r, i, column.kind, value, formats.get(column.kind))
        finally:
            book.close()


def _write_cell(sheet: xlsxwriter.worksheet.Worksheet, r: int, i: int, kind: ColumnKind, value: object,
                fmt: xlsxwriter.format.Format | None) -> None:
    if value is None:
        return
    if kind is ColumnKind.MONEY and isinstance(value, int):
        sheet.write_number(r, i, value / 100, fmt)
    elif kind is ColumnKind.INTEGER and isinstance(value, int):
        sheet.write_number(r, i, value, fmt)
    elif kind in (ColumnKind.DATE, ColumnKind.DATETIME) and isinstance(value, (dt.date, dt.datetime)):
        sheet.write_datetime(r, i, value, fmt)
    else:
        sheet.write_string(r, i, str(value))


class CsvTableWriter:
    """``.csv`` in UTF-8 with a byte-order mark, so Excel opens the Chinese text correctly;
    money as plain yuan numbers (``1234.50``), times as ``YYYY-MM-DD HH:MM``."""

    extension = "csv"
    media_type = "text/csv; charset=utf-8"
    BATCH = 500

    def write(self, table: Table, rows: Iterable[Sequence[object]]) -> Iterator[bytes]:
        buffer = io.StringIO()
        out = csv.writer(buffer)
        out.writerow([c.label for c in table.columns])
        yield codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")
        kinds = [c.kind for c in table.columns]
        pending = 0
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            out.writerow([_text(kind, value) for kind, value in zip(kinds, row, strict=True)])
            pending += 1
            if pending >= self.BATCH:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
                pending = 0
        if pending:
            yield buffer.getvalue().encode("utf-8")


def _text(kind: ColumnKind, value: object) -> str:
    if value is None:
        return ""
    if kind is ColumnKind.MONEY and isinstance(value, int):
        sign = "-" if value < 0 else ""
        yuan, fen = divmod(abs(value), 100)
        return f"{sign}{yuan}.{fen:02d}"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    # a text starting like a formula is kept as text in spreadsheet programs (CSV injection)
    return "'" + text if kind is ColumnKind.TEXT and text[:1] in FORMULA_STARTS else text
