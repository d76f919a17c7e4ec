"""Read side of the order flow: an order's e-contract (with its document) and its PDF bytes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from dealercrm.adapters.db.orderflow_tables import (
    contract_documents,
    contracts,
    erp_change_records,
    order_change_requests,
)
from dealercrm.adapters.db.orm import users
from dealercrm.domain.contracts import ContractStatus
from dealercrm.domain.order_changes import ChangeStatus

c, d = contracts.c, contract_documents.c


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
