"""Catalog, discount tiers and configured orders (issue 4) with their dependencies bound; each
write is one transaction. Reads are scoped by the caller (``application.catalog`` and
``application.orders`` hold the checks): another dealer's order or tier answers 404."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs

from dealercrm.application import catalog, orders
from dealercrm.application.ports.orders import OrderQueries, OrdersUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.ports.reads import ReadModelUnavailable
from dealercrm.application.reads.orders import (
    OrderSummaryRow,
    PriceTierRow,
    TimelineRow,
)
from dealercrm.domain.catalog import PriceEstimate
from dealercrm.domain.identity import Principal


@attrs.define
class OrdersService:
    _uow: Callable[[Principal], OrdersUnitOfWork]
    _clock: Clock
    _queries: OrderQueries | None

    @property
    def queries(self) -> OrderQueries:
        if self._queries is None:
            raise ReadModelUnavailable("订单")
        return self._queries

    # catalog and tiers
    def create_template(self, actor: Principal, cmd: catalog.CreateTemplate) -> catalog.TemplateRef:
        return catalog.create_template(cmd, self._uow(actor), self._clock)

    def revise_template(self, actor: Principal, template_id: int, content: catalog.TemplateContentIn,
                        expected_lock_version: int | None = None) -> catalog.TemplateRef:
        return catalog.revise_template(template_id, content, self._uow(actor), self._clock, expected_lock_version)

    def publish_template(self, actor: Principal, template_id: int) -> catalog.TemplateRef:
        return catalog.publish_template(template_id, self._uow(actor), self._clock)

    def retire_template(self, actor: Principal, template_id: int) -> catalog.TemplateRef:
        return catalog.retire_template(template_id, self._uow(actor), self._clock)

    def set_price_tier(self, actor: Principal, cmd: catalog.SetPriceTier) -> int:
        return catalog.set_price_tier(cmd, self._uow(actor), self._clock)

    def list_templates(self, actor: Principal, product_line: str | None = None) -> list[dict[str, Any]]:
        return catalog.list_templates(actor, self.queries, product_line)

    def template_detail(self, actor: Principal, template_id: int) -> dict[str, Any]:
        return catalog.template_detail(actor, self.queries, template_id)

    def template_version(self, actor: Principal, template_id: int, version: int) -> dict[str, Any]:
        return catalog.template_version(actor, self.queries, template_id, version)

    def list_price_tiers(self, actor: Principal, dealer_id: int | None = None) -> list[PriceTierRow]:
        return catalog.list_price_tiers(actor, self.queries, dealer_id)

    # orders
    def estimate(self, actor: Principal, cmd: orders.EstimateIn) -> PriceEstimate:
        return orders.estimate(cmd, self._uow(actor), self._clock)

    def create(self, actor: Principal, cmd: orders.OrderDraftIn, submit: bool = False) -> orders.OrderRef:
        return orders.create_order(cmd, self._uow(actor), self._clock, submit=submit)

    def check_configuration(self, actor: Principal, cmd: orders.EstimateIn) -> orders.ConfigurationCheck:
        return orders.check_configuration(cmd, self._uow(actor), self._clock)

    def create_once(self, actor: Principal, cmd: orders.OrderDraftIn, *, submit: bool,
                    form_token: str) -> orders.OrderRef:
        """``create`` once per form token (a double-clicked submit creates one order)."""
        return orders.create_order_once(cmd, lambda: self._uow(actor), self._clock, submit=submit,
                                        form_token=form_token)

    def update(self, actor: Principal, order_id: int, cmd: orders.OrderDraftIn,
               expected_version: int | None = None) -> orders.OrderRef:
        return orders.update_order(order_id, cmd, self._uow(actor), self._clock, expected_version)

    def submit(self, actor: Principal, order_id: int, expected_version: int | None = None) -> orders.OrderRef:
        return orders.submit_order(order_id, self._uow(actor), self._clock, expected_version)

    def withdraw(self, actor: Principal, order_id: int) -> orders.OrderRef:
        return orders.withdraw_order(order_id, self._uow(actor), self._clock)

    def cancel(self, actor: Principal, order_id: int, reason: str | None = None) -> orders.OrderRef:
        return orders.cancel_order(order_id, reason, self._uow(actor), self._clock)

    def request_quote(self, actor: Principal, order_id: int, note: str | None = None) -> orders.OrderRef:
        return orders.request_quote(order_id, note, self._uow(actor), self._clock)

    def issue_quote(self, actor: Principal, order_id: int, unit_price_fen: int, note: str | None,
                    valid_until: dt.date) -> orders.OrderRef:
        return orders.issue_quote(order_id, unit_price_fen, note, valid_until, self._uow(actor), self._clock)

    def accept_quote(self, actor: Principal, order_id: int) -> orders.OrderRef:
        return orders.accept_quote(order_id, self._uow(actor), self._clock)

    def decline_quote(self, actor: Principal, order_id: int, reason: str | None = None) -> orders.OrderRef:
        return orders.decline_quote(order_id, reason, self._uow(actor), self._clock)

    def start_review(self, actor: Principal, order_id: int) -> orders.OrderRef:
        return orders.start_review(order_id, self._uow(actor), self._clock)

    def record_review_outcome(self, actor: Principal, order_id: int, passed: bool,
                              reasons: tuple[str, ...] = ()) -> orders.OrderRef:
        return orders.record_review_outcome(order_id, passed, reasons, self._uow(actor), self._clock)

    # reads, scoped by the caller (another dealer's order answers 404)
    def list_orders(self, actor: Principal, filters: dict[str, Any] | None = None, before_id: int | None = None,
                    limit: int = 50) -> list[OrderSummaryRow]:
        return orders.list_orders(actor, self.queries, filters or {}, before_id, limit)

    def detail(self, actor: Principal, order_id: int) -> dict[str, Any]:
        return orders.order_detail(actor, self.queries, order_id)

    def timeline(self, actor: Principal, order_id: int) -> list[TimelineRow]:
        return orders.order_timeline(actor, self.queries, order_id)
