"""Read queries of parts supply (SQLAlchemy Core → plain rows): bills, parts orders, transfers,
the stock levels and usage behind replenishment suggestions, and the service-income report."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Engine

from dealercrm.adapters.db.aftersales_tables import (
    service_claims,
    service_stations,
    service_stock,
    service_stock_movements,
)
from dealercrm.adapters.db.parts_supply_tables import (
    parts_orders,
    parts_stock_levels,
    parts_transfers,
    service_repair_bills,
)
from dealercrm.domain.aftersales import ClaimState, MovementKind
from dealercrm.domain.parts_supply import (
    BillState,
    OrderState,
    StockLevel,
    TransferState,
)

_OPEN = (OrderState.SUBMITTED, OrderState.CONFIRMED, OrderState.SHIPPED)
_USED = (MovementKind.ISSUE_WARRANTY, MovementKind.ISSUE_SALE, MovementKind.ISSUE_REPAIR, MovementKind.TRANSFER_OUT)


def _row(r: Any, state_enum: Any) -> dict[str, Any]:
    d = dict(r._mapping)
    d["state"] = str(d["state"].value if hasattr(d["state"], "value") else d["state"])
    d["state_label"] = state_enum(d["state"]).label
    return d


class SqlPartsSupplyQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _page(self, q: Any, state_enum: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [_row(r, state_enum) for r in conn.execute(q)]

    # bills
    def bills(self, *, station_id: int | None, state: str | None, after: int | None, limit: int
              ) -> list[dict[str, Any]]:
        b = service_repair_bills.c
        q = (select(service_repair_bills, service_stations.c.name.label("station_name"))
             .join(service_stations, service_stations.c.id == b.station_id).order_by(b.id.desc()).limit(limit))
        if station_id is not None:
            q = q.where(b.station_id == station_id)
        if state is not None:
            q = q.where(b.state == BillState(state))
        if after is not None:
            q = q.where(b.id < after)
        return self._page(q, BillState)

    def bill(self, bill_id: int) -> dict[str, Any] | None:
        b = service_repair_bills.c
        q = (select(service_repair_bills, service_stations.c.name.label("station_name"))
             .join(service_stations, service_stations.c.id == b.station_id).where(b.id == bill_id))
        rows = self._page(q, BillState)
        return rows[0] if rows else None

    # orders
    def orders(self, *, station_id: int | None, state: str | None, after: int | None, limit: int
               ) -> list[dict[str, Any]]:
        o = parts_orders.c
        q = (select(parts_orders, service_stations.c.name.label("station_name"))
             .join(service_stations, service_stations.c.id == o.station_id).order_by(o.id.desc()).limit(limit))
        if station_id is not None:
            q = q.where(o.station_id == station_id)
        if state is not None:
            q = q.where(o.state == OrderState(state))
        if after is not None:
            q = q.where(o.id < after)
        return self._page(q, OrderState)

    def order(self, order_id: int) -> dict[str, Any] | None:
        o = parts_orders.c
        q = (select(parts_orders, service_stations.c.name.label("station_name"))
             .join(service_stations, service_stations.c.id == o.station_id).where(o.id == order_id))
        rows = self._page(q, OrderState)
        return rows[0] if rows else None

    # transfers
    def _transfers(self) -> Any:
        src, dst = service_stations.alias("src"), service_stations.alias("dst")
        t = parts_transfers.c
        return (select(parts_transfers, src.c.name.label("from_station_name"), dst.c.name.label("to_station_name"))
                .join(src, src.c.id == t.from_station_id).join(dst, dst.c.id == t.to_station_id))

    def transfers(self, *, station_id: int | None, after: int | None, limit: int) -> list[dict[str, Any]]:
        t = parts_transfers.c
        q = self._transfers().order_by(t.id.desc()).limit(limit)
        if station_id is not None:
            q = q.where(or_(t.from_station_id == station_id, t.to_station_id == station_id))
        if after is not None:
            q = q.where(t.id < after)
        return self._page(q, TransferState)

    def transfer(self, transfer_id: int) -> dict[str, Any] | None:
        rows = self._page(self._transfers().where(parts_transfers.c.id == transfer_id), TransferState)
        return rows[0] if rows else None

    # replenishment inputs
    def stock_levels(self, station_id: int) -> list[StockLevel]:
        s, lv, o = service_stock.c, parts_stock_levels.c, parts_orders.c
        with self.engine.connect() as conn:
            on_hand = dict(conn.execute(select(s.part_no, s.quantity).where(s.station_id == station_id)).all())
            levels = {r.part_no: (r.min_qty, r.max_qty) for r in conn.execute(
                select(lv.part_no, lv.min_qty, lv.max_qty).where(lv.station_id == station_id))}
            on_order: dict[str, int] = {}
            for (lines,) in conn.execute(select(o.lines).where(o.station_id == station_id, o.state.in_(_OPEN))):
                for line in lines:
                    on_order[line["part_no"]] = on_order.get(line["part_no"], 0) + int(line["quantity"])
        parts = set(on_hand) | set(levels) | set(on_order)
        return [StockLevel(p, on_hand.get(p, 0), on_order.get(p, 0), *levels.get(p, (0, 0))) for p in sorted(parts)]

    def usage(self, station_id: int, since: dt.datetime) -> dict[str, int]:
        m = service_stock_movements.c
        q = (select(m.part_no, func.sum(-m.delta)).where(m.station_id == station_id, m.at >= since,
                                                           m.kind.in_(_USED)).group_by(m.part_no))
        with self.engine.connect() as conn:
            return {part_no: int(total) for part_no, total in conn.execute(q)}

    # service income
    def income(self, start: dt.datetime, end: dt.datetime, month: str, *, station_id: int | None
               ) -> list[dict[str, Any]]:
        b, c, st = service_repair_bills.c, service_claims.c, service_stations.c
        billed = (select(b.station_id, func.count(), func.sum(b.total_fen))
                  .where(b.issued_at >= start, b.issued_at < end).group_by(b.station_id))
        paid = (select(b.station_id, func.count(), func.sum(b.total_fen))
                .where(b.state == BillState.PAID, b.paid_at >= start, b.paid_at < end).group_by(b.station_id))
        claims = (select(c.station_id, func.count(), func.sum(c.total_fen))
                  .where(c.state == ClaimState.APPROVED, c.settlement_month == month).group_by(c.station_id))
        if station_id is not None:
            billed, paid, claims = (q.where(q.selected_columns[0] == station_id) for q in (billed, paid, claims))
        out: dict[int, dict[str, Any]] = {}

        def row(sid: int) -> dict[str, Any]:
            return out.setdefault(sid, {"month": month, "station_id": sid, "bills": 0, "billed_fen": 0,
                                        "paid_bills": 0, "paid_fen": 0, "claims": 0, "claim_fen": 0})

        with self.engine.connect() as conn:
            for sid, n, total in conn.execute(billed):
                row(sid).update(bills=n, billed_fen=int(total))
            for sid, n, total in conn.execute(paid):
                row(sid).update(paid_bills=n, paid_fen=int(total))
            for sid, n, total in conn.execute(claims):
                row(sid).update(claims=n, claim_fen=int(total))
            names = dict(conn.execute(select(st.id, st.name).where(st.id.in_(list(out)))).all()) if out else {}
        for sid, r in out.items():
            r["station_name"] = names.get(sid, "")
            r["income_fen"] = r["paid_fen"] + r["claim_fen"]
        return sorted(out.values(), key=lambda r: r["station_id"])
