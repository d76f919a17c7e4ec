"""Persistence port of the dealers' stock (经销商库存): its repository on the unit of work.

Dealer stock is the gate's vehicles after they left the factory, so its unit of work is the
gate's plus ``stock``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from dealercrm.application.ports.gate import GateUnitOfWork
from dealercrm.domain.dealer_stock import AgeingPolicy, OpeningStockRow, RetailSale, StockLimit


class DealerStockRepository(Protocol):
    def add_sale(self, sale: RetailSale) -> None: ...

    def sale(self, sale_id: int) -> RetailSale | None: ...

    def add_limit(self, limit: StockLimit) -> None: ...

    def limit(self, dealer_id: int, model_code: str) -> StockLimit | None: ...

    def all_limits(self) -> list[StockLimit]: ...

    def units_by_dealer_and_model(self) -> dict[tuple[int, str], int]:
        """Vehicles in dealer stock, counted per (dealer, model code)."""

    def dealer_stock_entries(self) -> list[tuple[int, str, str | None, dt.datetime, dt.datetime]]:
        """(dealer id, VIN, model code, stock-in time, state entered at) of every vehicle in dealer stock."""

    def template_lines(self, model_codes: Sequence[str]) -> dict[str, str]:
        """model code → product line, for the templates that exist."""

    def ageing_policy(self) -> AgeingPolicy: ...

    def set_ageing_policy(self, policy: AgeingPolicy, at: dt.datetime, by: str) -> None: ...

    def has_import(self, dealer_id: int) -> bool: ...

    def existing_vins(self, vins: Sequence[str]) -> set[str]: ...

    def insert_opening_stock(self, dealer_id: int, rows: Sequence[OpeningStockRow], *, import_no: str,
                             file_sha256: str, at: dt.datetime, actor: str) -> None:
        """The import record, then every vehicle and its ``initial_stock`` event, with Core
        ``executemany`` on the unit of work's connection (same transaction)."""


class DealerStockUnitOfWork(GateUnitOfWork, Protocol):
    stock: DealerStockRepository
