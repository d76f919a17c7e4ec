"""Workbench changes announced live (issue 21 §3): while a transaction flushes, note whose
workbench gains an item — a workflow step that opens (its assignee) or is handed to someone (the
delegate), a shipment that departs (its dealer's people: a receipt to confirm) — and once the
transaction has committed, tell their browsers through the unit of work's ``live`` relay
(``LiveRelay.workbench_changed``). A transaction that rolls back forgets what it noted and
announces nothing. The use cases themselves are untouched: this watches what they write."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from dealercrm.domain.shipping import Shipment, ShipmentStatus
from dealercrm.domain.workflow import StepStatus, WorkflowStep

log = structlog.get_logger(__name__)

_NOTED = "live_workbench"
RELAY = "live"  # session.info key of the relay the unit of work carries (absent: nothing announced)


def _became(obj: Any, name: str, value: Any, is_new: bool) -> bool:
    if is_new:
        return bool(getattr(obj, name) == value)
    return value in inspect(obj).attrs[name].history.added


def _audience(obj: Any, is_new: bool) -> list[tuple[str, str]]:
    if isinstance(obj, WorkflowStep):
        found = []
        if _became(obj, "status", StepStatus.OPEN, is_new):
            found.append((obj.assignee_kind.value, obj.assignee_value))
        delegate = obj.delegate_user_id
        if delegate is not None and (is_new or delegate in inspect(obj).attrs["delegate_user_id"].history.added):
            found.append(("user", str(delegate)))
        return found
    if isinstance(obj, Shipment) and _became(obj, "status", ShipmentStatus.DEPARTED, is_new):
        return [("dealer", str(obj.dealer_id))]
    return []


def _after_flush(session: Session, _context: Any) -> None:
    if session.info.get(RELAY) is None:
        return
    noted: set[tuple[str, str]] = session.info.setdefault(_NOTED, set())
    for obj in session.new:
        noted.update(_audience(obj, True))
    for obj in session.dirty:
        noted.update(_audience(obj, False))


def note_created(session: Session, objects: Sequence[Any]) -> None:
    """``_after_flush`` for objects inserted without a flush (``adapters.db.new_rows``)."""
    if session.info.get(RELAY) is None:
        return
    noted: set[tuple[str, str]] = session.info.setdefault(_NOTED, set())
    for obj in objects:
        noted.update(_audience(obj, True))


def _after_commit(session: Session) -> None:
    noted = session.info.pop(_NOTED, None)
    relay = session.info.get(RELAY)
    if not noted or relay is None:
        return
    try:
        relay.workbench_changed(sorted(noted))
    except RuntimeError:  # the web app's loop is gone (shutting down): browsers catch up on reload
        log.warning("live_workbench_not_sent", addressees=len(noted))


def _forget(session: Session, _previous_transaction: Any = None) -> None:
    if not session.in_transaction():
        session.info.pop(_NOTED, None)


def install() -> None:
    for name, listener in (("after_flush", _after_flush), ("after_commit", _after_commit),
                           ("after_soft_rollback", _forget)):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


__all__ = ["RELAY", "install", "note_created"]
