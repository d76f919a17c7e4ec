"""Form values every web page reads the same way."""

from __future__ import annotations

import datetime as dt

from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.values import SHANGHAI


def beijing_moment(raw: str, field: str, label: str = "日期和时间") -> dt.datetime:
    """A ``datetime-local`` value, typed in Beijing time (an explicit offset is kept), as an aware
    UTC datetime; anything else is a 422 naming ``field``."""
    try:
        local = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidValue(field, f"请选择{label}", code="time.invalid") from None
    return (local if local.tzinfo else local.replace(tzinfo=SHANGHAI)).astimezone(dt.UTC)


def optional_beijing_moment(raw: str, field: str, label: str = "日期和时间") -> dt.datetime | None:
    """As :func:`beijing_moment`; a blank field is no moment."""
    return beijing_moment(raw, field, label) if raw.strip() else None
