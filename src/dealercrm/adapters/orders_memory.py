"""In-memory twins of the catalog, price-tier and order repositories (``uow.catalog``,
``uow.price_tiers``, ``uow.orders`` on ``MemoryUnitOfWork``).

Same semantics as the SQL repositories for one process: the rows live in the memory unit of
work's working copy, so nothing is visible to others before ``commit()`` and a rollback discards
everything. On flush an order's new timeline entries are stored (``OrdersMemoryState.timeline``)
and a changed order gets ``version + 1``, as the SQL mapping does. ``dealer_terms`` reads the
channel's dealers from the same working copy (status, valid agreements) and the dealer's tier.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from dealercrm.adapters.memory_tables import MemoryTable, MemoryWorkspace
from dealercrm.application.ports.orders import DealerTerms, OrderableVersion, OrderingRead
from dealercrm.domain.catalog import (
    DealerPriceTier,
    PublishedVersion,
    Tier,
    VehicleTemplate,
)
from dealercrm.domain.channel import Dealer, DealerStatus
from dealercrm.domain.orders import Order, OrderEvent


@attrs.define
class OrdersMemoryState:
    templates: MemoryTable[VehicleTemplate] = attrs.field(
        factory=lambda: MemoryTable(children=("events",), version_attr="lock_version"))
    versions: dict[tuple[int, int], PublishedVersion] = attrs.field(factory=dict)
    price_tiers: MemoryTable[DealerPriceTier] = attrs.field(factory=lambda: MemoryTable(versioned=False))
    orders: MemoryTable[Order] = attrs.field(
        factory=lambda: MemoryTable(children=("supplied_parts", "quotes", "events")))
    timeline: dict[int, list[OrderEvent]] = attrs.field(factory=dict)  # order id → stored entries


def orders_state(uow: MemoryWorkspace) -> OrdersMemoryState:
    working = uow.working
    if not hasattr(working, "orders_context"):
        working.orders_context = OrdersMemoryState()
    return working.orders_context  # type: ignore[no-any-return]


def _next_id(uow: MemoryWorkspace) -> Any:
    return lambda: next(uow.working.ids)


class MemoryCatalogRepository:
    def __init__(self, uow: MemoryWorkspace) -> None:
        self.uow = uow

    def add(self, template: VehicleTemplate) -> None:
        orders_state(self.uow).templates.add(template, _next_id(self.uow))

    def get(self, template_id: int) -> VehicleTemplate | None:
        return orders_state(self.uow).templates.get(template_id)

    def by_model_code(self, model_code: str) -> VehicleTemplate | None:
        return next((t for t in orders_state(self.uow).templates if t.model_code == model_code), None)

    def add_version(self, version: PublishedVersion) -> None:
        orders_state(self.uow).versions[(version.template_id, version.version)] = version

    def orderable(self, template_id: int, version: int | None) -> OrderableVersion | None:
        s = orders_state(self.uow)
        template = s.templates.get(template_id)
        if template is None:
            return None
        found = s.versions.get((template_id, template.latest_version if version is None else version))
        if found is None:
            return None
        return OrderableVersion(template.status, template.latest_version, found)


class MemoryPriceTierRepository:
    def __init__(self, uow: MemoryWorkspace) -> None:
        self.uow = uow

    def add(self, tier: DealerPriceTier) -> None:
        orders_state(self.uow).price_tiers.add(tier, _next_id(self.uow))

    def get(self, dealer_id: int, product_line: str) -> DealerPriceTier | None:
        return next((t for t in orders_state(self.uow).price_tiers
                     if t.dealer_id == dealer_id and t.product_line == product_line), None)


class MemoryOrderRepository:
    def __init__(self, uow: MemoryWorkspace) -> None:
        self.uow = uow

    def add(self, order: Order) -> None:
        orders_state(self.uow).orders.add(order, _next_id(self.uow))

    def get(self, order_id: int) -> Order | None:
        return orders_state(self.uow).orders.get(order_id)

    def by_tracking_no(self, tracking_no: str) -> Order | None:
        return next((o for o in orders_state(self.uow).orders if o.erp_tracking_no == tracking_no), None)

    def next_number(self, year: int) -> str:
        seq = self.uow.working.sequences
        name = f"SO-{year}"
        seq[name] = seq.get(name, 0) + 1
        return f"{name}-{seq[name]:06d}"

    def _dealer(self, dealer_id: int) -> Dealer | None:
        found = self.uow.working.dealers.get(dealer_id)
        if found is None:  # added in this transaction, not flushed yet
            found = next((o for t, o in self.uow.pending if t == "dealers" and o.id == dealer_id), None)
        return found  # type: ignore[no-any-return]

    def dealer_terms(self, dealer_id: int, day: dt.date, product_line: str | None = None) -> DealerTerms | None:
        dealer = self._dealer(dealer_id)
        if dealer is None:
            return None
        tier = self.uow.price_tiers.get(dealer_id, product_line) if product_line else None
        return DealerTerms(dealer_id, dealer.code, dealer.region, dealer.status is DealerStatus.APPROVED,
                           frozenset(dealer.active_product_lines(day)),
                           Tier(tier.tier_code, tier.discount_bp) if tier is not None else None)

    def ordering(self, template_id: int, version: int | None, dealer_id: int | None,
                 day: dt.date) -> OrderingRead:
        found = self.uow.catalog.orderable(template_id, version)
        if dealer_id is None:
            return OrderingRead(found, None)
        terms = self.dealer_terms(dealer_id, day, found.version.product_line.value if found else None)
        return OrderingRead(found, terms, ((template_id, version, dealer_id, day), (found, terms)))

    def next_number_checking(self, year: int, read: OrderingRead) -> tuple[str, bool]:
        if read.seen is None:
            return self.next_number(year), False
        asked, seen = read.seen
        again = self.ordering(*asked)
        return self.next_number(year), (again.found, again.terms) == seen

    def region_of(self, dealer_id: int) -> str | None:
        dealer = self._dealer(dealer_id)
        return dealer.region if dealer is not None else None

    def timeline(self, order_id: int) -> list[OrderEvent]:
        """The order's stored timeline (what the SQL adapter writes to ``order_events``)."""
        return list(orders_state(self.uow).timeline.get(order_id, []))

    def flush(self) -> None:
        """Store new timeline entries, give children ids and bump the versions of changed rows."""
        s = orders_state(self.uow)
        for order in s.orders:
            for child in (*order.supplied_parts, *order.quotes):
                if getattr(child, "id", None) is None and hasattr(child, "id"):
                    child.id = next(self.uow.working.ids)
            if order.events:
                s.timeline.setdefault(order.id, []).extend(order.events)  # type: ignore[arg-type]
                order.events.clear()
        for template in s.templates:
            template.events.clear()
        s.templates.flush()
        s.orders.flush()
