"""Persistence port of the dealers' stock (经销商库存): its repository on the unit of work.

Dealer stock is the gate's vehicles after they left the factory, so its unit of work is the
gate's plus ``stock``.

Read side of dealer stock (dealer-held vehicles, retail sales): Core queries scoped in SQL by
the caller's dealer scope, returning plain rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from dealercrm.application.access import DealerScope
from dealercrm.application.ports.gate import GateUnitOfWork
from dealercrm.domain.dealer_stock import (
    AgeingPolicy,
    OpeningStockRow,
    RetailSale,
    StockLimit,
)


class StockQueries(Protocol):
    def ageing_policy(self) -> AgeingPolicy:
        """The stored ageing bands (the default policy before one is set)."""

    def dealer_region(self, dealer_id: int) -> str | None:
        """The dealer's region; ``None`` if there is no such dealer."""

    def list_stock(self, scope: DealerScope, now: dt.datetime, **filters: Any) -> list[dict[str, Any]]:
        """One page of vehicles with their status words, live sale and ageing band at ``now``."""

    def iter_stock(self, scope: DealerScope, now: dt.datetime, *, max_rows: int, **filters: Any
                   ) -> Iterator[dict[str, Any]]:
        """Every matching row (for exports), in id order, at most ``max_rows``."""

    def summary(self, scope: DealerScope, now: dt.datetime, *, dealer_id: int | None = None,
                region: str | None = None) -> list[dict[str, Any]]:
        """Units in dealer stock per (dealer, template) with min/max and the count per ageing band."""

    def movements(self, scope: DealerScope, since: dt.datetime, until: dt.datetime, *,
                  dealer_id: int | None = None, region: str | None = None, product_line: str | None = None,
                  model_code: str | None = None) -> Iterator[tuple[dt.datetime, str, str]]:
        """(moment, action, to_state) of the vehicle moves the statistics count, in the window."""

    def list_sales(self, scope: DealerScope, *, status: str | None = None, dealer_id: int | None = None,
                   vin: str | None = None, before_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        ...

    def sale_detail(self, scope: DealerScope, sale_id: int) -> dict[str, Any] | None:
        """The sale if the scope admits it; else ``None``."""


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
