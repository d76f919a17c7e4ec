"""Exports of lists and reports: the caller names the columns, the rows stream through a
``TableWriter`` (XLSX or CSV) into a download. Values are normalised here, once, for every
format: times in Beijing wall-clock time, money in integer fen, dates as dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from dealercrm.application.ports.exports import Column, ColumnKind, Table, TableWriter
from dealercrm.application.ports.persistence import Clock
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.values import SHANGHAI

EXPORT_FORMATS = ("xlsx", "csv")
EXPORT_MAX_ROWS = 100_000
PAGE = 1000

__all__ = ["Column", "ColumnKind", "Download", "Exporter", "Table", "keyset_rows"]


@attrs.frozen
class Download:
    """A file to send: its name, media type and content in chunks (lazy: rows are read as the
    chunks are sent)."""

    filename: str
    media_type: str
    chunks: Iterator[bytes]

    def read(self) -> bytes:
        """All chunks joined (tests and small files)."""
        return b"".join(self.chunks)


def _field(row: Any, key: str) -> Any:
    if isinstance(row, Mapping):
        return row.get(key)
    return getattr(row, key, None)


def cell(value: Any, kind: ColumnKind) -> Any:
    """One value as the column's kind wants it (``None`` stays empty)."""
    if value is None or value == "":
        return None
    if kind is ColumnKind.MONEY:
        return int(value)
    if kind is ColumnKind.INTEGER:
        return int(value)
    if kind is ColumnKind.DATETIME:
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if isinstance(value, dt.datetime):
            aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
            return aware.astimezone(SHANGHAI).replace(tzinfo=None, microsecond=0)
        return value
    if kind is ColumnKind.DATE:
        if isinstance(value, dt.datetime):
            aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
            return aware.astimezone(SHANGHAI).date()
        if isinstance(value, str):
            return dt.date.fromisoformat(value[:10])
        return value
    return value if isinstance(value, str) else str(value)


def keyset_rows(fetch: Callable[[Any], Sequence[Any]], key: Callable[[Any], Any], *,
                page: int = PAGE, max_rows: int = EXPORT_MAX_ROWS) -> Iterator[Any]:
    """Every row of a keyset-paged read, a page at a time (``fetch(cursor)`` answers up to
    ``page`` rows after ``cursor``; the first call gets ``None``), so a long list streams
    without being held in memory. The first page is read now, so access and filter errors
    raise before a download starts."""
    first = fetch(None)
    return _pages(first, fetch, key, page, max_rows)


def _pages(rows: Sequence[Any], fetch: Callable[[Any], Sequence[Any]], key: Callable[[Any], Any],
           page: int, max_rows: int) -> Iterator[Any]:
    sent = 0
    while True:
        yield from rows[:max_rows - sent]
        sent += len(rows)
        if len(rows) < page or sent >= max_rows:
            return
        rows = fetch(key(rows[-1]))


class Exporter:
    """The export formats this installation writes, by code (``xlsx``, ``csv``)."""

    def __init__(self, writers: Mapping[str, TableWriter], clock: Clock) -> None:
        self._writers = dict(writers)
        self._clock = clock

    @property
    def formats(self) -> tuple[str, ...]:
        return tuple(self._writers)

    def check_format(self, fmt: str) -> TableWriter:
        writer = self._writers.get(fmt)
        if writer is None:
            raise InvalidValue("format", "导出格式须为 " + " 或 ".join(self._writers), code="export.format_unknown")
        return writer

    def download(self, fmt: str, stem: str, table: Table, rows: Iterable[Any]) -> Download:
        """``rows`` (mappings or objects with the columns' keys as attributes) as a file named
        ``<stem>-<Beijing time>.<ext>``; an unknown ``fmt`` is ``InvalidValue`` before anything is read."""
        writer = self.check_format(fmt)
        stamp = self._clock().astimezone(SHANGHAI).strftime("%Y%m%d-%H%M")
        cells = ([cell(_field(r, c.key), c.kind) for c in table.columns] for r in rows)
        return Download(f"{stem}-{stamp}.{writer.extension}", writer.media_type, writer.write(table, cells))
