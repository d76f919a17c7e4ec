"""Jinja filters: how people read money, times and states (the domain keeps fen and UTC)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dealercrm.domain.values import SHANGHAI


def money(fen: int | None) -> str:
    """12345678901 → ``¥123,456,789.01``; None → ``—``."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


def beijing(value: dt.datetime | dt.date | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An aware datetime shown in Beijing time; a date as is; None → ``—``."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(SHANGHAI).strftime(fmt)
    return value.strftime("%Y-%m-%d")


def age(seconds: float | int | None) -> str:
    """How long something has waited, in words: 3分钟, 5小时, 2天."""
    if seconds is None:
        return "—"
    s = max(0, int(seconds))
    if s < 3600:
        return f"{max(1, s // 60)}分钟"
    if s < 86400:
        return f"{s // 3600}小时"
    return f"{s // 86400}天"


def since(value: dt.datetime | None, now: dt.datetime) -> str:
    return "—" if value is None else age((now - value).total_seconds())


FILTERS: dict[str, Any] = {"money": money, "beijing": beijing, "age": age}
