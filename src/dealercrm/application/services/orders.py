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
    QuoteRequestRow,
    TimelineRow,
)
from dealercrm.domain.catalog import PriceEstimate
from dealercrm.domain.identity import Principal


@attrs.define
class OrdersService:
    """Catalog, discount tiers and configured orders (车型模板、价格等级、订单, issue 4); each write is one
    transaction, reads are scoped by the caller (another dealer's order or tier answers 404)."""
    _uow: Callable[[Principal], OrdersUnitOfWork]
    _clock: Clock
    _queries: OrderQueries | None

    def now(self) -> dt.datetime:
        """The service's clock (an aware datetime); pages use it for ages."""
        return self._clock()

    @property
    def queries(self) -> OrderQueries:
        """The order read port; ``ReadModelUnavailable`` when the container was built without one."""
        if self._queries is None:
            raise ReadModelUnavailable("订单")
        return self._queries

    # catalog and tiers
    def create_template(self, actor: Principal, cmd: catalog.CreateTemplate) -> catalog.TemplateRef:
        """A new vehicle template (车型模板) in ``draft``, with ``publish`` its first version published at once;
        admin, technical or region manager. Returns ``TemplateRef``; ``InvalidValue`` (field path in the
        content), ``Conflict`` (model code taken), ``PermissionDenied``."""
        return catalog.create_template(cmd, self._uow(actor), self._clock)

    def revise_template(self, actor: Principal, template_id: int, content: catalog.TemplateContentIn,
                        expected_lock_version: int | None = None) -> catalog.TemplateRef:
        """Replace a template's draft content, optionally checking ``expected_lock_version``; admin, technical
        or region manager. Returns ``TemplateRef``; ``InvalidValue``, ``Conflict`` (stale), ``PermissionDenied``, ``NotFound``."""
        return catalog.revise_template(template_id, content, self._uow(actor), self._clock, expected_lock_version)

    def publish_template(self, actor: Principal, template_id: int) -> catalog.TemplateRef:
        """Freeze the draft as the next immutable version (发布); orders already priced keep theirs. Admin,
        technical or region manager; ``PermissionDenied``, ``NotFound``, ``IllegalTransition``."""
        return catalog.publish_template(template_id, self._uow(actor), self._clock)

    def retire_template(self, actor: Principal, template_id: int) -> catalog.TemplateRef:
        """Retire a template (停售): no new orders on it. Admin, technical or region manager; returns
        ``TemplateRef``. ``PermissionDenied``, ``NotFound``, ``IllegalTransition``."""
        return catalog.retire_template(template_id, self._uow(actor), self._clock)

    def set_price_tier(self, actor: Principal, cmd: catalog.SetPriceTier) -> int:
        """Create or change a dealer's discount tier (价格等级) for one product line; admin or region manager.
        Returns the tier id; ``InvalidValue``, ``PermissionDenied``, ``NotFound`` (dealer)."""
        return catalog.set_price_tier(cmd, self._uow(actor), self._clock)

    def list_templates(self, actor: Principal, product_line: str | None = None) -> list[dict[str, Any]]:
        """The templates the caller may order from: dealers see published, active ones; staff all; stations
        and kiosks none. ``InvalidValue`` for an unknown product line."""
        return catalog.list_templates(actor, self.queries, product_line)

    def template_detail(self, actor: Principal, template_id: int) -> dict[str, Any]:
        """One template with its draft and published version (a dealer: the published version of an active
        template only). ``NotFound`` when missing or not visible."""
        return catalog.template_detail(actor, self.queries, template_id)

    def template_version(self, actor: Principal, template_id: int, version: int) -> dict[str, Any]:
        """One frozen version of a template (dealers: of active templates only). ``NotFound`` otherwise."""
        return catalog.template_version(actor, self.queries, template_id, version)

    def list_price_tiers(self, actor: Principal, dealer_id: int | None = None) -> list[PriceTierRow]:
        """The discount tiers the caller may see (a dealer its own, regional staff their regions), optionally of one dealer."""
        return catalog.list_price_tiers(actor, self.queries, dealer_id)

    # orders
    def estimate(self, actor: Principal, cmd: orders.EstimateIn) -> PriceEstimate:
        """The automatic price estimate (报价估算) for a configuration, saving nothing; dealers and order staff
        (admin, sales, region manager). Returns ``PriceEstimate`` in fen; ``InvalidValue``,
        ``BusinessRuleViolation`` (dealer cannot trade, line not contracted, template retired), ``PermissionDenied``, ``NotFound``."""
        return orders.estimate(cmd, self._uow(actor), self._clock)

    def create(self, actor: Principal, cmd: orders.OrderDraftIn, submit: bool = False) -> orders.OrderRef:
        """A new draft order (订单草稿) on the template's latest version, with ``submit`` submitted at once;
        dealers (for themselves) and order staff (naming the dealer). Returns ``OrderRef``; the errors of
        ``estimate`` and ``Conflict`` (outdated template version)."""
        return orders.create_order(cmd, self._uow(actor), self._clock, submit=submit)

    def check_configuration(self, actor: Principal, cmd: orders.EstimateIn) -> orders.ConfigurationCheck:
        """What a configurator shows while the user picks: excluded options, missing choices and the
        estimate; dealers and order staff. Returns ``ConfigurationCheck``; the errors of ``estimate``."""
        return orders.check_configuration(cmd, self._uow(actor), self._clock)

    def create_once(self, actor: Principal, cmd: orders.OrderDraftIn, *, submit: bool,
                    form_token: str) -> orders.OrderRef:
        """``create`` once per form token (a double-clicked submit creates one order)."""
        return orders.create_order_once(cmd, lambda: self._uow(actor), self._clock, submit=submit,
                                        form_token=form_token)

    def update(self, actor: Principal, order_id: int, cmd: orders.OrderDraftIn,
               expected_version: int | None = None) -> orders.OrderRef:
        """Replace a draft's (or a returned order's) terms, optionally checking ``expected_version``; dealers
        and order staff. Returns ``OrderRef``; ``InvalidValue``, ``Conflict`` (stale), ``IllegalTransition``,
        ``PermissionDenied``, ``NotFound``."""
        return orders.update_order(order_id, cmd, self._uow(actor), self._clock, expected_version)

    def submit(self, actor: Principal, order_id: int, expected_version: int | None = None) -> orders.OrderRef:
        """Submit a draft or returned order (提交) to the four-department review; dealers and order staff.
        Returns ``OrderRef``; ``IllegalTransition`` (a second submit: 409 with the state), ``Conflict``,
        ``PermissionDenied``, ``NotFound``."""
        return orders.submit_order(order_id, self._uow(actor), self._clock, expected_version)

    def withdraw(self, actor: Principal, order_id: int) -> orders.OrderRef:
        """Take a submitted order (no review decision yet) or one awaiting a quote back to draft (撤回), its
        review workflow withdrawn with it; dealers and order staff. ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return orders.withdraw_order(order_id, self._uow(actor), self._clock)

    def cancel(self, actor: Principal, order_id: int, reason: str | None = None) -> orders.OrderRef:
        """Cancel an order (取消) with an optional reason; dealers and order staff. Returns ``OrderRef``;
        ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return orders.cancel_order(order_id, reason, self._uow(actor), self._clock)

    def request_quote(self, actor: Principal, order_id: int, note: str | None = None) -> orders.OrderRef:
        """Ask sales management for a manual price (申请核价) on a special configuration; dealers and order staff.
        Returns ``OrderRef``; ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return orders.request_quote(order_id, note, self._uow(actor), self._clock)

    def issue_quote(self, actor: Principal, order_id: int, unit_price_fen: int, note: str | None,
                    valid_until: dt.date) -> orders.OrderRef:
        """Give the manual price (核价) in fen, valid until a date; admin or region manager. Returns
        ``OrderRef``; ``InvalidValue`` (price), ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return orders.issue_quote(order_id, unit_price_fen, note, valid_until, self._uow(actor), self._clock)

    def issue_quote_once(self, actor: Principal, order_id: int, unit_price_fen: int, note: str | None,
                         valid_until: dt.date, *, form_token: str, expected_version: int | None) -> orders.OrderRef:
        """``issue_quote`` once per form token, at the order version the form showed (a double click issues
        one quote); ``Conflict`` (``order.stale_version``) when the order changed meanwhile."""
        return orders.issue_quote_once(order_id, unit_price_fen, note, valid_until, lambda: self._uow(actor),
                                       self._clock, form_token=form_token, expected_version=expected_version)

    def quote_requests(self, actor: Principal, limit: int = 200) -> list[QuoteRequestRow]:
        """The special configurations waiting for the factory's price (待核价) in the caller's scope, the
        longest waiting first; admin or region manager (``PermissionDenied`` otherwise)."""
        return orders.quote_requests(actor, self.queries, limit)

    def accept_quote(self, actor: Principal, order_id: int) -> orders.OrderRef:
        """Accept the issued quote; dealers and order staff. Returns ``OrderRef``; ``IllegalTransition``
        (none issued, or expired), ``PermissionDenied``, ``NotFound``."""
        return orders.accept_quote(order_id, self._uow(actor), self._clock)

    def decline_quote(self, actor: Principal, order_id: int, reason: str | None = None) -> orders.OrderRef:
        """Decline the issued quote with an optional reason; dealers and order staff. Returns ``OrderRef``;
        ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return orders.decline_quote(order_id, reason, self._uow(actor), self._clock)

    def start_review(self, actor: Principal, order_id: int) -> orders.OrderRef:
        """Move a submitted order into review (评审中); admin, sales, region manager, procurement, technical
        or production. Returns ``OrderRef``; ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return orders.start_review(order_id, self._uow(actor), self._clock)

    def record_review_outcome(self, actor: Principal, order_id: int, passed: bool,
                              reasons: tuple[str, ...] = ()) -> orders.OrderRef:
        """Record the four-department review (四部门评审): ``passed`` approves, otherwise the order returns with
        reasons; with a review workflow its steps are decided instead. Same roles as ``start_review``;
        ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return orders.record_review_outcome(order_id, passed, reasons, self._uow(actor), self._clock)

    # reads, scoped by the caller (another dealer's order answers 404)
    def list_orders(self, actor: Principal, filters: dict[str, Any] | None = None, before_id: int | None = None,
                    limit: int = 50) -> list[OrderSummaryRow]:
        """The caller's visible orders, newest first, filtered (unknown filters are ``InvalidValue``) and
        keyset-paged by ``before_id``. Returns ``OrderSummaryRow`` list."""
        return orders.list_orders(actor, self.queries, filters or {}, before_id, limit)

    def detail(self, actor: Principal, order_id: int) -> dict[str, Any]:
        """One order's detail as the caller may see it; ``NotFound`` when missing or another dealer's."""
        return orders.order_detail(actor, self.queries, order_id)

    def timeline(self, actor: Principal, order_id: int) -> list[TimelineRow]:
        """The order's history (时间线): its state changes and events; ``NotFound`` as ``detail``."""
        return orders.order_timeline(actor, self.queries, order_id)
