"""The vehicles & gate read side: plain rows straight from SQL, filtered by the caller's
``DealerScope`` in the query (what the scope does not admit is simply not there)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from dealercrm.application.access import DealerScope


class GateQueries(Protocol):
    def list_vehicles(self, scope: DealerScope, *, state: str | None = None, dealer_id: int | None = None,
                      contract_no: str | None = None, product_line: str | None = None,
                      erp_tracking_no: str | None = None, region: str | None = None,
                      after_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]: ...

    def vehicle_detail(self, scope: DealerScope, vin: str) -> dict[str, Any] | None: ...

    def list_authorizations(self, scope: DealerScope, *, status: str | None = None, after_id: int | None = None,
                            limit: int = 50) -> list[dict[str, Any]]: ...

    def authorization_detail(self, scope: DealerScope, authorization_id: int) -> dict[str, Any] | None: ...

    def pass_book(self, valid_after: dt.datetime, limit: int = 20_000) -> list[dict[str, Any]]:
        """Passes a gate may still be shown (valid after ``valid_after``) in a state a device can
        rely on offline."""

    def list_passes(self, scope: DealerScope, *, status: str | None = None, after_id: int | None = None,
                    limit: int = 50) -> list[dict[str, Any]]: ...

    def pass_detail(self, scope: DealerScope, gate_pass_id: int) -> dict[str, Any] | None: ...

    def list_shipments(self, scope: DealerScope, *, status: str | None = None, after_id: int | None = None,
                       limit: int = 50) -> list[dict[str, Any]]: ...

    def shipment_detail(self, scope: DealerScope, shipment_id: int) -> dict[str, Any] | None: ...

    def list_receipts(self, scope: DealerScope, *, after_id: int | None = None,
                      limit: int = 50) -> list[dict[str, Any]]:
        """Dealers' receipts of shipments (回执), newest first, each with its shipment and lines."""

    def list_pickup_receipts(self, scope: DealerScope, *, after_id: int | None = None,
                             limit: int = 50) -> list[dict[str, Any]]:
        """Dealers' receipts of self-picked-up vehicles (自提回执), newest first, each with its gate
        pass and lines."""
