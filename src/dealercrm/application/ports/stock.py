"""Read side of dealer stock (dealer-held vehicles, retail sales): Core queries scoped in SQL by
the caller's dealer scope, returning plain rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, Protocol

from dealercrm.application.access import DealerScope
from dealercrm.domain.dealer_stock import AgeingPolicy


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
