"""Ports of end customers and service contracts: the repository on the unit of work, and the
read side of the customer 360 view."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

import attrs

from dealercrm.application.ports.aftersales import AftersalesRepository
from dealercrm.application.ports.persistence import DocumentNumbering, UnitOfWork
from dealercrm.domain.customers import CustomerVehicle, EndCustomer, ServiceContract


class CustomerRepository(Protocol):
    def add(self, obj: object) -> None: ...
    def customer(self, customer_id: int) -> EndCustomer | None: ...

    def owner_of(self, vin: str) -> CustomerVehicle | None:
        """Who owns the VIN now (one owner per VIN), or ``None``."""

    def contract(self, contract_id: int) -> ServiceContract | None: ...
    def contracts_of_vin(self, vin: str) -> list[ServiceContract]: ...


class CustomersUnitOfWork(UnitOfWork, Protocol):
    """Customers and contracts, with the after-sales repository for the vehicle lookup and
    document numbers (``KH-…`` customers, ``WX-…`` contracts)."""

    customers: CustomerRepository
    aftersales: AftersalesRepository
    numbers: DocumentNumbering


@attrs.frozen
class CustomerVisibility:
    """Which customers a reader sees: a dealer its own (``dealer_id``), a station those owning a
    vehicle with a request at the station (``station_id``), staff all (neither)."""

    dealer_id: int | None = None
    station_id: int | None = None


class CustomerQueries(Protocol):
    """Read side, scoped in SQL by :class:`CustomerVisibility`."""

    def list_customers(self, seen: CustomerVisibility, *, q: str | None = None, after_id: int | None = None,
                       offset: int = 0, limit: int = 50) -> list[dict[str, Any]]:
        """Without ``q``: customers by id ascending after ``after_id``. With ``q`` (its Chinese words in the
        name or place, a phone number's digits, a number or an owned VIN): ranked best first, from ``offset``."""

    def customer(self, seen: CustomerVisibility, customer_id: int) -> dict[str, Any] | None: ...

    def vehicles(self, customer_id: int, today: dt.date) -> list[dict[str, Any]]:
        """The customer's vehicles with order, state and warranty (``warranty_ends_on``, ``in_warranty``)."""

    def contracts(self, *, customer_id: int | None = None, vin: str | None = None, status: str | None = None,
                  seen: CustomerVisibility | None = None, after_id: int | None = None,
                  limit: int = 200) -> list[dict[str, Any]]: ...

    def contract(self, seen: CustomerVisibility, contract_id: int) -> dict[str, Any] | None: ...

    def requests(self, customer_id: int, *, station_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Service requests on the customer's vehicles, newest first (a station: its own only)."""

    def claims(self, customer_id: int, *, station_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Settlement claims of repairs on the customer's vehicles, newest first."""

    def care(self, customer_id: int, *, limit: int = 50) -> list[dict[str, Any]]:
        """Care tasks (客户关怀) addressed to the customer's phone or vehicles, newest first."""
