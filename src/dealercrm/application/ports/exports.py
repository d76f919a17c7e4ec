"""The export port: a table (typed columns, then rows) written as a file people open in Excel.

Exports of lists and reports can be large (100 000 rows), so a writer takes the rows as an
iterable and yields the file in chunks: neither side holds the whole result in memory."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

import attrs


class ColumnKind(enum.StrEnum):
    """How a column's cells are typed in the file (values arrive already normalised by
    ``application.exports``: money as integer fen, times as naive Beijing datetimes)."""

    TEXT = "text"
    INTEGER = "integer"
    MONEY = "money"  # integer fen, shown as yuan with a ¥ number format
    DATE = "date"
    DATETIME = "datetime"  # Beijing wall-clock time


@attrs.frozen
class Column:
    key: str
    label: str
    kind: ColumnKind = ColumnKind.TEXT
    width: int = 14  # in characters (a CJK character counts as two)


@attrs.frozen
class Table:
    """A sheet's name and its columns, in order."""

    name: str
    columns: tuple[Column, ...]


class TableWriter(Protocol):
    """One file format (XLSX, CSV …) for exported tables."""

    extension: str
    media_type: str

    def write(self, table: Table, rows: Iterable[Sequence[object]]) -> Iterator[bytes]:
        """The file in chunks; each row has one cell per column, typed as its column says
        (``None`` is an empty cell). Rows are consumed lazily, as the chunks are."""
        ...
