"""Column types that keep the domain's guarantees at the database boundary."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from typing import Any

import attrs
from sqlalchemy import DateTime, String
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware datetimes on every engine: stored as UTC, returned aware (UTC).

    A naive datetime is a bug upstream, so it is refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused; use an aware datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)

    # On SQLite a timestamp is text, ``2026-12-07 08:30:00.000000`` (SQLAlchemy's storage format).
    # The two steps a TypeDecorator chains there — our UTC conversion, then the dialect's
    # formatting with a ``%`` template, and on the way back a regular expression, then ours — are
    # done as one: the same text written, the same datetimes read, in about half the time (an
    # order's submission binds about 40 timestamps; a list page reads hundreds).

    def bind_processor(self, dialect: Any) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        utc = dt.UTC

        def process(value: dt.datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime refused; use an aware datetime")
            return value.astimezone(utc).replace(tzinfo=None).isoformat(" ", "microseconds")

        return process

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        fallback = super().result_processor(dialect, coltype)  # text in another spelling (hand-written SQL)
        if fallback is None:
            raise TypeError("expected SQLite's DateTime result processor")
        parse, utc = dt.datetime.fromisoformat, dt.UTC

        def process(value: str | None) -> dt.datetime | None:
            if value is None:
                return None
            try:
                moment = parse(value)
            except (TypeError, ValueError):
                return fallback(value)
            return moment.replace(tzinfo=utc) if moment.tzinfo is None else moment.astimezone(utc)

        return process


class StrEnumType(TypeDecorator[enum.Enum]):
    """A ``StrEnum`` stored as its value (a short string), portable and readable in SQL."""

    impl = String(32)
    cache_ok = True

    def __init__(self, enum_cls: type[enum.Enum], length: int = 32) -> None:
        super().__init__(length)
        self.enum_cls = enum_cls

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return self.enum_cls(value).value

    def process_result_value(self, value: str | None, dialect: Any) -> enum.Enum | None:
        return None if value is None else self.enum_cls(value)


class ValueObjectType(TypeDecorator[Any]):
    """A single-string value object (``Uscc``, ``Phone``, ``Vin``) stored as its string.

    Values are validated on the way in (a value object was validated when it was made; a string
    goes through the constructor), and not again on the way out: what the column holds came in
    through here, and re-checking the check character of every USCC, ID number and VIN on each
    read was a measurable share of the dealer detail (issue 20 §4, benchmarks/dealer_reads.py).
    """

    impl = String(32)
    cache_ok = True

    def __init__(self, vo_cls: type, length: int = 32) -> None:
        super().__init__(length)
        self.vo_cls = vo_cls
        self._load = _stored_value_loader(vo_cls)

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return value.value if isinstance(value, self.vo_cls) else str(self.vo_cls(value).value)

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else self._load(value)


def _stored_value_loader(vo_cls: type) -> Callable[[str], Any]:
    """Makes ``vo_cls`` from a value it already accepted, without its converter and validators:
    for an attrs class whose one field is ``value`` (the value objects of ``domain.values``);
    any other class is constructed as usual."""
    if not attrs.has(vo_cls) or [f.name for f in attrs.fields(vo_cls)] != ["value"]:
        return vo_cls

    def load(value: str) -> Any:
        made = object.__new__(vo_cls)
        object.__setattr__(made, "value", value)  # frozen: attrs' own __setattr__ refuses
        return made

    return load
