"""An ERP event the sync could not apply (``application.erp_sync`` records it), and a person
marking it handled.

The sync records what it refused — an unknown tracking number, an event it could not read, a
status that went backwards, a fact the target refused — so nothing the ERP said is lost. Someone
in the factory looks at it (fixes the order in the ERP, links it by hand, or decides it needs
nothing) and resolves it with a note: who, when, what was done. Resolving is once only.

    open ──resolve(by, note)──▶ resolved
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs

from dealercrm.domain.errors import IllegalTransition, InvalidValue

MAX_NOTE = 500


class RejectionStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"

    @property
    def label(self) -> str:
        return {"open": "待处理", "resolved": "已处理"}[self.value]

    @classmethod
    def of(cls, resolved_at: dt.datetime | None) -> RejectionStatus:
        return cls.OPEN if resolved_at is None else cls.RESOLVED


class AlreadyResolved(IllegalTransition):
    """Resolving an event someone already resolved. Carries who, when and their note."""

    code = "erp_rejected.already_resolved"

    def __init__(self, rejection: ErpRejection) -> None:
        super().__init__(
            "erp_rejected_event", RejectionStatus.RESOLVED.value, "resolve",
            f"该ERP拒收事件已由 {rejection.resolved_by} 处理，不能重复处理",
            code="erp_rejected.already_resolved",
        )
        at = rejection.resolved_at
        self.details.update(id=rejection.id, resolved_at=at.isoformat() if at else None,
                            resolved_by=rejection.resolved_by, resolution_note=rejection.resolution_note)


def resolution_note(note: str | None) -> str:
    """The note, trimmed; required and at most :data:`MAX_NOTE` characters."""
    text = (note or "").strip()
    if not text:
        raise InvalidValue("note", "处理说明不能为空", code="value.required")
    if len(text) > MAX_NOTE:
        raise InvalidValue("note", f"处理说明不能超过{MAX_NOTE}字", code="value.too_long")
    return text


@attrs.define(slots=False, eq=False)
class ErpRejection:
    """One rejected ERP event (a row the sync wrote); only its resolution ever changes."""

    event_id: str
    seq: int
    type: str
    code: str
    reason: str
    at: dt.datetime
    tracking_no: str | None = None
    resolved_at: dt.datetime | None = None
    resolved_by: str | None = None
    resolution_note: str | None = None
    id: int | None = None

    @property
    def status(self) -> RejectionStatus:
        return RejectionStatus.of(self.resolved_at)

    def resolve(self, by: str, note: str | None, now: dt.datetime) -> None:
        if self.resolved_at is not None:
            raise AlreadyResolved(self)
        text = resolution_note(note)
        self.resolved_at, self.resolved_by, self.resolution_note = now, by, text
