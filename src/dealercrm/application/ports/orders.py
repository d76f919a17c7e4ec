"""Persistence ports of the catalog and orders contexts.

``OrdersUnitOfWork`` is the shared unit of work seen with the three repositories this context
adds (``catalog``, ``price_tiers``, ``orders``); ``OrderFlowUnitOfWork`` adds what contracts,
order changes and the ERP release use (``contracts``, ``order_changes``, ``credit``);
``ErpRejectionsUnitOfWork`` names only ``erp_rejections``. The SQL unit of work exposes them
all; the memory one has twins of the first three.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

import attrs

from dealercrm.application.ports.credit import CreditRepository
from dealercrm.application.ports.gate import ClientEventLog
from dealercrm.application.ports.persistence import (
    Clock,
    DocumentNumbering,
    Transaction,
    UnitOfWork,
)
from dealercrm.application.reads.orders import (
    OrderSummaryRow,
    PriceTierRow,
    QuoteRequestRow,
    TimelineRow,
)
from dealercrm.domain.catalog import (
    DealerPriceTier,
    PublishedVersion,
    TemplateStatus,
    Tier,
    VehicleTemplate,
)
from dealercrm.domain.contracts import Contract
from dealercrm.domain.erp_rejections import ErpRejection
from dealercrm.domain.order_changes import OrderChangeRequest
from dealercrm.domain.orders import Order


@attrs.frozen
class OrderableVersion:
    """A template's status, its latest version number and the version asked for."""

    status: TemplateStatus
    latest_version: int
    version: PublishedVersion


@attrs.frozen
class DealerTerms:
    """What ordering needs to know about a dealer, read in one query without loading the
    aggregate: scope, status, the product lines its valid agreements cover, its tier."""

    dealer_id: int
    code: str
    region: str
    can_trade: bool
    product_lines: frozenset[str]  # covered by an agreement valid on the day asked about
    tier: Tier | None = None  # for the product line asked about, if any


@attrs.frozen
class OrderingRead:
    """What creating an order reads (``OrderRepository.ordering``): the template version and the
    ordering dealer's terms (``None``: no dealer asked, or an unknown one). ``seen`` is the
    repository's own note of what it read, for ``next_number_checking`` to re-check; the use case
    never looks inside (``None``: nothing to re-check, read again)."""

    found: OrderableVersion | None
    terms: DealerTerms | None
    seen: Any = None


class CatalogRepository(Protocol):
    def add(self, template: VehicleTemplate) -> None: ...

    def get(self, template_id: int) -> VehicleTemplate | None:
        """Load for change (locked ``FOR UPDATE`` on PostgreSQL)."""

    def by_model_code(self, model_code: str) -> VehicleTemplate | None: ...

    def add_version(self, version: PublishedVersion) -> None:
        """Store a newly published version (never updated afterwards)."""

    def orderable(self, template_id: int, version: int | None) -> OrderableVersion | None:
        """The template's status and the given version (``None`` = the latest published one)."""


class PriceTierRepository(Protocol):
    def add(self, tier: DealerPriceTier) -> None: ...

    def get(self, dealer_id: int, product_line: str) -> DealerPriceTier | None: ...


class OrderRepository(Protocol):
    def add(self, order: Order) -> None: ...

    def get(self, order_id: int) -> Order | None:
        """Load for change (locked ``FOR UPDATE`` on PostgreSQL)."""

    def by_tracking_no(self, tracking_no: str) -> Order | None: ...

    def next_number(self, year: int) -> str:
        """The next human order number, ``SO-2026-000123``."""

    def next_number_checking(self, year: int, read: OrderingRead) -> tuple[str, bool]:
        """``next_number``, and whether what ``read`` saw (the template's status and latest
        version; the dealer's status, region, valid agreements and tier) is still so in this
        transaction, answered by the number's own statement. ``False``: read again before use."""

    def dealer_terms(self, dealer_id: int, day: dt.date, product_line: str | None = None) -> DealerTerms | None:
        """The dealer's terms on ``day`` (with its tier for ``product_line``); ``None`` if unknown."""

    def ordering(self, template_id: int, version: int | None, dealer_id: int | None,
                 day: dt.date) -> OrderingRead:
        """``CatalogRepository.orderable`` and ``dealer_terms`` (with the tier for that version's
        product line) at once: what creating an order reads (``dealer_id`` ``None``: no terms)."""

    def region_of(self, dealer_id: int) -> str | None: ...


class OrdersUnitOfWork(UnitOfWork, Protocol):
    catalog: CatalogRepository
    price_tiers: PriceTierRepository
    orders: OrderRepository
    client_events: ClientEventLog  # a form posted twice answers the first order


class ContractRepository(Protocol):
    def add(self, contract: Contract, *, document: dict[str, Any], content: bytes, media_type: str) -> None: ...

    def current_of_order(self, order_id: int) -> Contract | None:
        """The order's contract that is not voided (at most one), locked for change."""

    def by_no(self, contract_no: str) -> Contract | None: ...


class OrderChangeRepository(Protocol):
    def add(self, change: OrderChangeRequest) -> None: ...

    def get(self, change_id: int) -> OrderChangeRequest | None: ...

    def returned_on_contract(self, order_id: int, contract_no: str) -> OrderChangeRequest | None:
        """The change that returned the order (退单) and voided ``contract_no``, if any."""

    def pending_of_order(self, order_id: int) -> OrderChangeRequest | None: ...


class ErpRejectionRepository(Protocol):
    def get(self, rejection_id: int) -> ErpRejection | None:
        """The event, locked for change on PostgreSQL (SQLite's write transaction is exclusive)."""


class OrderFlowUnitOfWork(OrdersUnitOfWork, Protocol):
    """After the review: contracts, order changes and finance, whose approval reserves the
    dealer's credit in the same transaction (``uow.credit``)."""

    contracts: ContractRepository
    order_changes: OrderChangeRepository
    credit: CreditRepository
    numbers: DocumentNumbering
    clock: Clock
    erp_rejections: ErpRejectionRepository  # a returned order settles its ERP rejection


class ErpRejectionsUnitOfWork(Transaction, Protocol):
    erp_rejections: ErpRejectionRepository


class QuoteRequestQueries(Protocol):
    """The special configurations awaiting the factory's price (待核价), scoped in SQL."""

    def quote_requests(self, *, dealer_id: int | None, regions: tuple[str, ...] | None,
                       limit: int) -> list[QuoteRequestRow]:
        """Orders awaiting the factory's price in the scope, the longest waiting first."""

    def count_quote_requests(self, *, dealer_id: int | None, regions: tuple[str, ...] | None) -> int:
        """How many orders await the factory's price in the scope."""


class OrderQueries(QuoteRequestQueries, Protocol):
    """Read side of catalog and orders: plain dicts from SQL, scoped by the caller's dealer scope."""

    def list_orders(self, *, dealer_id: int | None, regions: tuple[str, ...] | None,
                    filters: dict[str, Any], before_id: int | None, limit: int) -> list[OrderSummaryRow]: ...

    def order_detail(self, order_id: int) -> dict[str, Any] | None: ...

    def timeline(self, order_id: int) -> list[TimelineRow]: ...

    def list_templates(self, *, product_line: str | None, published_only: bool) -> list[dict[str, Any]]: ...

    def template_detail(self, template_id: int) -> dict[str, Any] | None: ...

    def template_version(self, template_id: int, version: int) -> dict[str, Any] | None: ...

    def list_price_tiers(self, *, dealer_id: int | None, regions: tuple[str, ...] | None,
                         filter_dealer_id: int | None = None) -> list[PriceTierRow]: ...

    def order_scope(self, order_id: int) -> tuple[int, str] | None:
        """(dealer_id, dealer region) of an order, for visibility checks."""


class OrderFlowQueries(Protocol):
    """Read side of the order flow after submission: contracts, change requests and the ERP
    events the sync rejected (plain rows from SQL; the caller checks who may see the order)."""

    def contracts_of_order(self, order_id: int) -> list[dict[str, Any]]:
        """The order's contracts, current first (after a 退单 the voided ones)."""

    def contract_pdf(self, contract_id: int) -> tuple[str, bytes] | None:
        """(media type, the exact stored bytes) of a contract's PDF."""

    def changes_of_order(self, order_id: int) -> list[dict[str, Any]]: ...

    def rejected_erp_events(self, *, status: str | None = "open", code: str | None = None,
                            tracking_no: str | None = None, at_from: dt.datetime | None = None,
                            at_before: dt.datetime | None = None, before_id: int | None = None,
                            limit: int = 50) -> dict[str, Any]:
        """``{"items": [...], "next_before_id"}``, newest first (``at_from`` ≤ at < ``at_before``)."""

    def rejected_erp_event(self, rejection_id: int) -> dict[str, Any] | None: ...
