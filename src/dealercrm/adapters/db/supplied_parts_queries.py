"""Read side of the supplied-parts ledger, and the open orders by delivery date that the
delivery reminders read inside the scheduler's unit of work."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from dealercrm.adapters.db.orders_tables import order_supplied_parts, orders
from dealercrm.adapters.db.orm import dealers
from dealercrm.adapters.db.supplied_parts_tables import (
    supplied_part_items,
    supplied_part_movements,
    supplied_part_photos,
    supplied_parts_ledgers,
)
from dealercrm.application.ports.supplied_parts import DueOrder

o, d = orders.c, dealers.c


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") and not isinstance(value, (str, int)) else value


def _rows(result: Any) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in r._mapping.items()} for r in result]


class SqlSuppliedPartsQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ledger(self, order_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            return self._ledger(conn, order_id)

    @staticmethod
    def _ledger(conn: Connection, order_id: int) -> dict[str, Any] | None:
        order = conn.execute(
            select(o.id, o.order_no, o.state, o.dealer_id, d.region)
            .select_from(orders.join(dealers, d.id == o.dealer_id)).where(o.id == order_id)).first()
        if order is None:
            return None
        p = order_supplied_parts.c
        declared = _rows(conn.execute(select(p.line_no, p.kind, p.description, p.quantity, p.serial)
                                      .where(p.order_id == order_id).order_by(p.line_no)))
        lg = supplied_parts_ledgers.c
        ledger = conn.execute(select(lg.id, lg.version, lg.updated_at).where(lg.order_id == order_id)).first()
        items: list[dict[str, Any]] = []
        movements: list[dict[str, Any]] = []
        if ledger is not None:
            i, m = supplied_part_items.c, supplied_part_movements.c
            items = _rows(conn.execute(
                select(i.line_no, i.kind, i.description, i.expected_quantity, i.serial, i.order_line_no,
                       i.unit_index, i.withdrawn).where(i.ledger_id == ledger.id).order_by(i.line_no)))
            movements = _rows(conn.execute(
                select(m.id, m.line_no, m.movement, m.quantity, m.at, m.by_user_id, m.by_name, m.location, m.note,
                       m.serial, m.photo_sha256).where(m.ledger_id == ledger.id).order_by(m.id)))
        return {
            "order": {k: _plain(v) for k, v in order._mapping.items()},
            "declared": declared,
            "ledger": dict(ledger._mapping) if ledger is not None else None,
            "items": items,
            "movements": movements,
        }

    def photo(self, order_id: int, sha256: str) -> dict[str, Any] | None:
        ph = supplied_part_photos.c
        with self.engine.connect() as conn:
            row = conn.execute(select(ph.sha256, ph.content_type, ph.size_bytes, ph.uploaded_at)
                               .where(ph.order_id == order_id, ph.sha256 == sha256)).first()
        return dict(row._mapping) if row else None


class SqlAlchemyDeliveryDeadlines:
    """Open orders by the date they must be delivered: the agreed date (合同交货期) once there
    is one, else the requested date. Runs on the unit of work's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def due_by(self, last_day: dt.date, states: tuple[str, ...]) -> list[DueOrder]:
        due = func.coalesce(o.agreed_delivery_date, o.requested_delivery_date)
        q = (select(o.id, o.order_no, o.dealer_id, d.legal_name, d.short_name, d.region, o.state,
                    o.agreed_delivery_date, o.requested_delivery_date, o.template_name, o.quantity, o.contract_no,
                    d.sales_rep_id)
             .select_from(orders.join(dealers, d.id == o.dealer_id))
             .where(o.state.in_(states), due <= last_day).order_by(o.id))
        out = []
        for r in self.session.execute(q):
            out.append(DueOrder(
                order_id=r.id, order_no=r.order_no, dealer_id=r.dealer_id, dealer_name=r.short_name or r.legal_name,
                region=r.region, state=_plain(r.state), due_on=r.agreed_delivery_date or r.requested_delivery_date,
                agreed=r.agreed_delivery_date is not None, template_name=r.template_name, quantity=r.quantity,
                contract_no=r.contract_no, sales_rep_id=r.sales_rep_id))
        return out
