"""Read side of the order flow: an order's e-contract (with its document) and its PDF bytes, the
order's ERP change records and change requests, and the ERP events the sync rejected."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, select

from dealercrm.adapters.db.orderflow_tables import (
    contract_documents,
    contracts,
    erp_change_records,
    erp_rejected_events,
    order_change_requests,
)
from dealercrm.adapters.db.orders_tables import orders
from dealercrm.adapters.db.orm import users
from dealercrm.application.erp_rejections import MAX_PAGE
from dealercrm.domain.contracts import ContractStatus
from dealercrm.domain.erp_rejections import RejectionStatus
from dealercrm.domain.order_changes import ChangeStatus

c, d = contracts.c, contract_documents.c
rj = erp_rejected_events.c

_REJECTED = (select(rj, orders.c.id.label("order_id"), orders.c.order_no)
             .select_from(erp_rejected_events.outerjoin(orders, orders.c.erp_tracking_no == rj.tracking_no)))


class SqlOrderFlowQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def contracts_of_order(self, order_id: int) -> list[dict[str, Any]]:
        """The order's contracts, newest first (voided ones after a 退单 included)."""
        q = (select(c, d.media_type, d.document, users.c.username.label("accepted_by"))
             .select_from(contracts.join(contract_documents, d.contract_id == c.id)
                          .outerjoin(users, users.c.id == c.accepted_by_user_id))
             .where(c.order_id == order_id).order_by(c.id.desc()))
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
        for row in rows:
            status = ContractStatus(str(row["status"]))
            row["status"], row["status_label"] = status.value, status.label
        return rows

    def contract_pdf(self, contract_id: int) -> tuple[str, bytes] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(d.media_type, d.content).where(d.contract_id == contract_id)).first()
        return (row.media_type, bytes(row.content)) if row else None

    def erp_changes_of_order(self, order_id: int) -> list[dict[str, Any]]:
        q = (select(erp_change_records).where(erp_change_records.c.order_id == order_id)
             .order_by(erp_change_records.c.occurred_at))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def changes_of_order(self, order_id: int) -> list[dict[str, Any]]:
        t = order_change_requests
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(
                select(t).where(t.c.order_id == order_id).order_by(t.c.id.desc()))]
        for row in rows:
            status = ChangeStatus(str(row["status"]))
            row["status"], row["status_label"] = status.value, status.label
        return rows

    def rejected_erp_events(self, *, status: str | None = "open", code: str | None = None,
                            tracking_no: str | None = None, at_from: dt.datetime | None = None,
                            at_before: dt.datetime | None = None, before_id: int | None = None,
                            limit: int = 50) -> dict[str, Any]:
        """ERP events the sync did not apply, newest first: ``{"items": [...], "next_before_id"}``
        (keyset: ids below ``before_id``; ``limit`` capped at :data:`MAX_PAGE`; ``next_before_id``
        is None on the last page). ``status`` open (unresolved, the default), resolved, or None
        for all; ``at_from`` ≤ ``at`` < ``at_before``. Each row names its order when the tracking
        number is one of ours (a status regression, a refused stock-in)."""
        limit = max(1, min(limit, MAX_PAGE))
        q = _REJECTED
        if status == RejectionStatus.OPEN:
            q = q.where(rj.resolved_at.is_(None))
        elif status == RejectionStatus.RESOLVED:
            q = q.where(rj.resolved_at.is_not(None))
        if code is not None:
            q = q.where(rj.code == code)
        if tracking_no is not None:
            q = q.where(rj.tracking_no == tracking_no)
        if at_from is not None:
            q = q.where(rj.at >= at_from)
        if at_before is not None:
            q = q.where(rj.at < at_before)
        if before_id is not None:
            q = q.where(rj.id < before_id)
        with self.engine.connect() as conn:
            rows = [_rejected_row(r._mapping) for r in conn.execute(q.order_by(rj.id.desc()).limit(limit + 1))]
        more = len(rows) > limit
        rows = rows[:limit]
        return {"items": rows, "next_before_id": rows[-1]["id"] if more else None}

    def rejected_erp_event(self, rejection_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(_REJECTED.where(rj.id == rejection_id)).first()
        return _rejected_row(row._mapping) if row is not None else None


def _rejected_row(mapping: Any) -> dict[str, Any]:
    row = dict(mapping)
    status = RejectionStatus.of(row["resolved_at"])
    row["status"], row["status_label"] = status.value, status.label
    return row
