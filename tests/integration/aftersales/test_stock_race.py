"""Concurrent issues of the last units of a part at one station, on SQLite and PostgreSQL: as
many succeed as there were units, the others are refused (409) and wrote nothing, the balance
ends at zero and the movement ledger sums to it."""

from __future__ import annotations


from sqlalchemy import func, select

from dealercrm.adapters.db.aftersales_tables import service_stock_movements
from dealercrm.application import aftersales as af
from dealercrm.domain.errors import Conflict
from tests.fakes import race


def test_concurrent_issues_never_overdraw_a_stations_stock(kit, crm):
    kit.parts()
    sid = kit.station(31)
    user = kit.station_user(sid)
    kit.svc.book_stock(user, af.StockIn(sid, "FV-2301", "receipt", 5))

    def issue(_: int) -> str:
        kit.svc.book_stock(user, af.StockIn(sid, "FV-2301", "issue_sale", 1))
        return "ok"

    results = [o.code if isinstance(o, Conflict) else o for o in race(8, issue, catch=(Conflict,))]

    assert results.count("ok") == 5
    assert all(r in ("aftersales.stock_insufficient", "db.retry", "db.busy", "db.stale_version")
               for r in results if r != "ok")
    [row] = kit.svc.stock_report(kit.staff, station_id=sid, include_zero=True)
    assert row["quantity"] == 0
    with crm.engine.connect() as conn:
        total = conn.execute(select(func.sum(service_stock_movements.c.delta))
                             .where(service_stock_movements.c.station_id == sid)).scalar_one()
    assert total == 0
