"""Form values every web page reads the same way."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

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


def new_form_token() -> str:
    """A fresh once-per-form token for a form's hidden ``form_token`` field (its page renders it;
    the use case books the post once per token through the client-event ledger)."""
    return uuid.uuid4().hex


def posted_form_token(form: Any) -> str:
    """The ``form_token`` a form posted back; a missing or malformed one is ``InvalidValue`` on
    ``form`` (the page has expired: reload it)."""
    token = str(form.get("form_token") or "")[:64]
    if not token.isalnum() or len(token) < 16:
        raise InvalidValue("form", "表单已失效，请刷新页面后重新填写", code="form_token.invalid")
    return token
