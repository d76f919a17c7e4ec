"""Ports of parts supply (issue 18 §5): paid-repair bills, parts orders to the central
warehouse, transfers between stations and per-station stock levels. Stock moves through the
after-sales repository (``lock_stock`` / ``add_movement``), so the unit of work is the
after-sales one plus this repository."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from dealercrm.application.ports.aftersales import AftersalesUnitOfWork
from dealercrm.domain.parts_supply import (
    PartsOrder,
    RepairBill,
    StockLevel,
    StockTransfer,
)


class PartsSupplyRepository(Protocol):
    def add(self, obj: object) -> None: ...
    def bill(self, bill_id: int) -> RepairBill | None: ...
    def bill_of_record(self, record_id: int) -> RepairBill | None: ...

    def order(self, order_id: int) -> PartsOrder | None:
        """The order, locked for this transaction (two receipts cannot both book stock)."""

    def transfer(self, transfer_id: int) -> StockTransfer | None:
        """The transfer, locked for this transaction."""

    def set_levels(self, station_id: int, part_no: str, min_qty: int, max_qty: int) -> None: ...


class PartsSupplyUnitOfWork(AftersalesUnitOfWork, Protocol):
    parts_supply: PartsSupplyRepository


class PartsSupplyQueries(Protocol):
    def bills(self, *, station_id: int | None, state: str | None, after: int | None, limit: int
              ) -> list[dict[str, Any]]: ...
    def bill(self, bill_id: int) -> dict[str, Any] | None: ...
    def orders(self, *, station_id: int | None, state: str | None, after: int | None, limit: int
               ) -> list[dict[str, Any]]: ...
    def order(self, order_id: int) -> dict[str, Any] | None: ...

    def transfers(self, *, station_id: int | None, after: int | None, limit: int) -> list[dict[str, Any]]:
        """Transfers sent or received by ``station_id`` (all when ``None``), newest first."""

    def transfer(self, transfer_id: int) -> dict[str, Any] | None: ...

    def stock_levels(self, station_id: int) -> list[StockLevel]:
        """Every part the station stocks or has levels for, with the quantity on open orders
        (submitted, confirmed or shipped, not yet received)."""

    def usage(self, station_id: int, since: dt.datetime) -> dict[str, int]:
        """Parts issued (三包, 销售, 维修 and transfers out) by the station since ``since``."""

    def income(self, start: dt.datetime, end: dt.datetime, month: str, *, station_id: int | None
               ) -> list[dict[str, Any]]:
        """Per station: paid-repair bills issued and paid in [start, end) and warranty claims
        approved with settlement month ``month``, in fen."""
