"""The audit trail: who changed what, when, old → new — in the same transaction as the change.

Installed as a Session ``after_flush`` listener, so no use case can forget it: every insert,
update and delete of an audited entity flushed through a unit of work writes a row to
``audit_log`` on the same connection, and commits or rolls back with it. The actor comes from
``session.info["actor"]`` (set by the unit of work), the request id from the request context.
Secrets are never copied into the trail.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import event, inspect, insert
from sqlalchemy.orm import Session

from dealercrm.context import request_id_var
from dealercrm.domain.channel import Agreement, Contact, Dealer, Qualification
from dealercrm.domain.identity import DeviceCredential, Principal, User

_SECRET_FIELDS = {"password_hash", "key_hash"}

# entity name, and how to find the aggregate root the change belongs to
_AUDITED: dict[type, tuple[str, Any]] = {
    Dealer: ("dealer", lambda o: ("dealer", o.id)),
    Contact: ("dealer_contact", lambda o: ("dealer", o.dealer_id)),
    Qualification: ("dealer_qualification", lambda o: ("dealer", o.dealer_id)),
    Agreement: ("dealer_agreement", lambda o: ("dealer", o.dealer_id)),
    User: ("user", lambda o: ("user", o.id)),
    DeviceCredential: ("device_credential", lambda o: ("device_credential", o.id)),
}


def register_audited(cls: type, entity: str, root: Any) -> None:
    """Later contexts add their aggregates here (entity name, ``obj -> (root_entity, root_id)``)."""
    _AUDITED[cls] = (entity, root)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str, float)):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "value"):
        return _plain(value.value)
    return str(value)


def _changes(state: Any, action: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if action == "create":  # every column set: straight from the instance's dict, no history
        values = state.dict
        for key in _column_keys(state.mapper):
            value = values.get(key)
            if value is not None:
                out[key] = "***" if key in _SECRET_FIELDS else _plain(value)
        return out
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in ("version",):
            continue
        hist = state.attrs[key].history
        if action == "delete":
            value = hist.unchanged[0] if hist.unchanged else (hist.deleted[0] if hist.deleted else None)
            out[key] = "***" if key in _SECRET_FIELDS else _plain(value)
        elif hist.has_changes():
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if _plain(old) == _plain(new):
                continue
            out[key] = {"old": "***", "new": "***"} if key in _SECRET_FIELDS else {"old": _plain(old), "new": _plain(new)}
    return out


_COLUMN_KEYS: dict[Any, tuple[str, ...]] = {}


def _column_keys(mapper: Any) -> tuple[str, ...]:
    keys = _COLUMN_KEYS.get(mapper)
    if keys is None:
        keys = _COLUMN_KEYS[mapper] = tuple(a.key for a in mapper.column_attrs if a.key != "version")
    return keys


def _after_flush(session: Session, _flush_context: Any) -> None:
    actor: Principal | None = session.info.get("actor")
    if actor is None:
        return
    now = session.info.get("clock", lambda: dt.datetime.now(dt.UTC))()
    rows: list[dict[str, Any]] = []
    for action, objects in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            spec = _AUDITED.get(type(obj))
            if spec is None:
                continue
            if action == "update" and not session.is_modified(obj, include_collections=False):
                continue
            state = inspect(obj)
            changes = _changes(state, action)
            if action == "update" and not changes:
                continue
            entity, root = spec
            root_entity, root_id = root(obj)
            rows.append(
                {
                    "at": now,
                    "actor_id": actor.user_id,
                    "actor_name": actor.username,
                    "actor_role": actor.role.value,
                    "request_id": request_id_var.get(),
                    "entity": entity,
                    "entity_id": state.identity[0] if state.identity else 0,
                    "root_entity": root_entity,
                    "root_id": root_id or 0,
                    "action": action,
                    "changes": changes,
                }
            )
    if rows:
        from dealercrm.adapters.db.orm import audit_log

        session.connection().execute(insert(audit_log), rows)


def install() -> None:
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
