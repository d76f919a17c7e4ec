"""The ERP events the sync could not apply (``application.erp_sync`` records them as rejected:
``erp.unknown_tracking_no``, ``erp.event_unreadable``, ``erp.status_regression``, a fact the
target refused …): listing them for the factory staff who follow them up, and marking one
handled with a note.

Only staff who act on ERP facts see them (admin, finance, production, dispatch). Resolving is
one transaction: the event is loaded and locked through the unit of work, so the audit trail
records who resolved it, and a second resolution answers 409 with the first one's who/when/note.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from dealercrm.application.access import not_found, require_role
from dealercrm.application.ports.orders import ErpRejectionsUnitOfWork, OrderFlowQueries
from dealercrm.application.ports.persistence import Clock
from dealercrm.domain.erp_rejections import ErpRejection, RejectionStatus
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import SHANGHAI

ERP_REJECTION_ROLES = (Role.ADMIN, Role.FINANCE, Role.PRODUCTION, Role.DISPATCH)
STATUS_FILTERS = ("open", "resolved", "all")
MAX_PAGE = 200
_MAX_ID = 2**63 - 1


@attrs.frozen
class RejectionFilter:
    """What a list asks for: ``status`` open (default) / resolved / all, the stable ``code``, the
    ERP tracking number, and Beijing calendar days ``date_from``..``date_to`` (both inclusive)
    on the time the sync rejected the event."""

    status: str = "open"
    code: str | None = None
    tracking_no: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def query_args(self) -> dict[str, Any]:
        """Checked and turned into the read query's arguments (UTC instants, a half-open range)."""
        if self.status not in STATUS_FILTERS:
            raise InvalidValue("status", "状态须为 open（待处理）、resolved（已处理）或 all（全部）",
                               code="value.invalid", allowed=list(STATUS_FILTERS))
        if self.date_from is not None and self.date_to is not None and self.date_to < self.date_from:
            raise InvalidValue("to", "结束日期不能早于开始日期", code="value.invalid_range")
        return {
            "status": None if self.status == "all" else RejectionStatus(self.status).value,
            "code": self.code or None,
            "tracking_no": self.tracking_no or None,
            "at_from": _day_start(self.date_from) if self.date_from else None,
            "at_before": _day_start(self.date_to + dt.timedelta(days=1)) if self.date_to else None,
        }


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), SHANGHAI).astimezone(dt.UTC)


def list_rejected_events(actor: Principal, queries: OrderFlowQueries, flt: RejectionFilter, *, before_id: int | None = None,
                         limit: int = 50) -> dict[str, Any]:
    """Rejected events, newest first: ``{"items": [...], "next_before_id": id | None}`` (keyset
    pagination by id; at most :data:`MAX_PAGE` a page)."""
    require_role(actor, *ERP_REJECTION_ROLES)
    args = flt.query_args()
    return queries.rejected_erp_events(**args, before_id=before_id, limit=max(1, min(limit, MAX_PAGE)))


def rejected_event(actor: Principal, queries: OrderFlowQueries, rejection_id: int) -> dict[str, Any]:
    require_role(actor, *ERP_REJECTION_ROLES)
    row = queries.rejected_erp_event(rejection_id) if 0 < rejection_id <= _MAX_ID else None
    if row is None:
        raise not_found("erp_rejected", "ERP拒收事件")
    return row


@attrs.frozen
class Resolved:
    id: int
    status: str
    resolved_at: dt.datetime
    resolved_by: str
    resolution_note: str


def resolve_rejected_event(rejection_id: int, note: str, uow: ErpRejectionsUnitOfWork, clock: Clock) -> Resolved:
    """Mark a rejected event handled (who: the unit of work's actor; when; the note, required,
    ≤ 500 characters). Already resolved → 409 ``erp_rejected.already_resolved`` with the
    resolution that stands; unknown id → 404."""
    actor: Principal = uow.actor
    require_role(actor, *ERP_REJECTION_ROLES)
    with uow:
        rejection: ErpRejection | None = uow.erp_rejections.get(rejection_id) if 0 < rejection_id <= _MAX_ID else None
        if rejection is None:
            raise not_found("erp_rejected", "ERP拒收事件")
        now = clock()
        rejection.resolve(actor.username, note, now)
        uow.commit()
        return Resolved(rejection_id, rejection.status.value, now, actor.username, rejection.resolution_note or "")
