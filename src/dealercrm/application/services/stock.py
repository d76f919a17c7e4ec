"""The dealer-stock service (``crm.stock``): retail sales, limits, the ageing policy and the
opening-stock import, each write one transaction; and the stock reads, scoped by the caller
(who may read stock at all is ``STOCK_READERS``; a dealer id the caller may not see is 404)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from dealercrm.application import dealer_stock as ds
from dealercrm.application.access import DealerScope, dealer_scope, not_found, require_role
from dealercrm.application.channel import visible_dealer_or_404
from dealercrm.application.dealer_stock import StockUnitOfWork
from dealercrm.application.exports import Column, ColumnKind, Download, Exporter, Table
from dealercrm.application.gate import Created, IdDigester
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.ports.stock import StockQueries
from dealercrm.domain.dealer_stock import AgeingPolicy
from dealercrm.domain.identity import Principal, Role

StockUnitOfWorkFactory = Callable[[Principal], StockUnitOfWork]

EXPORT_MAX_ROWS = 100_000
_T, _I, _D, _DT = ColumnKind.TEXT, ColumnKind.INTEGER, ColumnKind.DATE, ColumnKind.DATETIME
STOCK_TABLE = Table("库存", (
    Column("vin", "车架号", _T, 20), Column("state_label", "车辆状态", _T, 10),
    Column("invoice_status_label", "开票收款状态", _T, 14), Column("sale_status_label", "销售状态", _T, 10),
    Column("dealer_code", "经销商编号", _T, 12), Column("dealer_name", "经销商", _T, 28), Column("region", "区域", _T, 8),
    Column("product_line", "产品线", _T, 10), Column("model_code", "车型", _T, 14),
    Column("contract_no", "合同编号", _T, 18), Column("erp_tracking_no", "流转单号（ERP计划跟踪号）", _T, 24),
    Column("order_no", "订单编号", _T, 18), Column("stock_in_at", "入库时间", _DT, 17),
    Column("days_in_stock", "库龄（天）", _I, 10), Column("ageing_label", "库龄预警", _T, 10),
    Column("agreed_delivery_date", "约定交付时间", _D, 12),
))
STOCK_READERS = (Role.ADMIN, Role.SALES, Role.REGION_MANAGER, Role.DISPATCH, Role.FINANCE, Role.PRODUCTION,
                 Role.INVOICING, Role.DEALER)



class StockService:
    """Dealer stock with its dependencies bound; owns the stock readers' access check."""

    def __init__(self, uow: StockUnitOfWorkFactory, clock: Clock, queries: StockQueries, digester: IdDigester,
                 exporter: Exporter) -> None:
        self._uow: StockUnitOfWorkFactory = uow
        self._clock: Clock = clock
        self.queries: StockQueries = queries
        self._digester: IdDigester = digester
        self._exporter: Exporter = exporter

    # -- writes ------------------------------------------------------------------------------

    def record_sale(self, actor: Principal, cmd: ds.RecordSale) -> Created:
        """Record a retail sale (零售) of a vehicle in the dealer's stock to an end customer, unconfirmed until
        paid; the dealer itself or admin. Returns ``Created``; ``InvalidValue`` (customer, price, time),
        ``IllegalTransition`` (vehicle not in stock), ``PermissionDenied``, ``NotFound`` (vehicle not visible)."""
        return ds.record_sale(cmd, self._uow(actor), self._clock, self._digester)

    def record_payment(self, actor: Principal, sale_id: int, cmd: ds.RecordSalePayment,
                       idempotency_key: str | None) -> ds.SaleState:
        """Book the end customer's payment (收款) on a sale, once per ``idempotency_key``; reaching the price
        confirms the sale and starts the warranty. Dealer or admin; returns ``SaleState``. ``InvalidValue``
        (also the same key with another payment), ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return ds.record_sale_payment(sale_id, cmd, idempotency_key, lambda: self._uow(actor), self._clock,
                                      self._digester)

    def return_sale(self, actor: Principal, sale_id: int, reason: str, at: dt.datetime | None = None) -> ds.SaleState:
        """The customer brings the vehicle back (退车) with a reason: it is in the dealer's stock again. Dealer
        or admin; returns ``SaleState``. ``InvalidValue``, ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return ds.return_sale(sale_id, reason, at, self._uow(actor), self._clock)

    def exchange_sale(self, actor: Principal, sale_id: int, cmd: ds.ExchangeSale) -> Created:
        """The customer swaps the vehicle for another of the dealer's stock (换车): a new sale carries the paid
        amount over. Dealer or admin; returns ``Created``. ``Conflict`` (new price below the amount paid),
        ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return ds.exchange_sale(sale_id, cmd, self._uow(actor), self._clock)

    def set_limit(self, actor: Principal, cmd: ds.SetStockLimit) -> int:
        """Set the minimum and maximum units (库存上下限) of one template at one dealer; admin, region manager
        or sales. Returns the limit id; ``InvalidValue`` (unknown model code, bounds), ``PermissionDenied``, ``NotFound``."""
        return ds.set_stock_limit(cmd, self._uow(actor), self._clock)

    def set_ageing_policy(self, actor: Principal, yellow_from_days: int, red_from_days: int) -> AgeingPolicy:
        """Set the stock-ageing bands (库龄预警): yellow from and red from so many days; admin only. Returns
        the ``AgeingPolicy``; ``InvalidValue``, ``PermissionDenied``."""
        return ds.set_ageing_policy(yellow_from_days, red_from_days, self._uow(actor), self._clock)

    def import_opening_stock(self, actor: Principal, dealer_id: int, content: bytes) -> ds.ImportResult:
        """Import a new dealer's opening stock (期初库存) from a CSV file, every row checked, all or nothing;
        admin, region manager or sales. Returns ``ImportResult``; ``ImportRejected`` (every bad row),
        ``InvalidValue`` (file), ``Conflict`` (already imported), ``PermissionDenied``, ``NotFound``."""
        return ds.import_opening_stock(dealer_id, content, self._uow(actor), self._clock)

    # -- reads (scoped; a foreign dealer id is 404) --------------------------------------------

    def _check_reader(self, actor: Principal, dealer_id: int | None) -> DealerScope:
        """The caller's dealer scope, if it may read stock at all (else ``PermissionDenied``);
        a ``dealer_id`` outside that scope, or of no dealer, is ``NotFound``."""
        require_role(actor, *STOCK_READERS)
        scope = dealer_scope(actor)
        if dealer_id is not None:
            visible_dealer_or_404(actor, dealer_id, self.queries.dealer_region(dealer_id))
        return scope

    def ageing_policy(self) -> AgeingPolicy:
        """The current stock-ageing bands; anyone (no dealer data)."""
        return self.queries.ageing_policy()

    def list_stock(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        """The vehicles in stock the caller may see (``STOCK_READERS``; a dealer its own), filtered, with days
        in stock and ageing colour. ``PermissionDenied``, ``NotFound`` (a ``dealer_id`` out of scope)."""
        scope = self._check_reader(actor, filters.get("dealer_id"))
        return self.queries.list_stock(scope, self._clock(), **filters)

    def export_stock(self, actor: Principal, fmt: str, **filters: Any) -> Download:
        """Every matching row (at most ``EXPORT_MAX_ROWS``) as a CSV or XLSX download; the format
        and the caller's scope are checked now, the rows are read as the file is sent."""
        self._exporter.check_format(fmt)
        scope = self._check_reader(actor, filters.get("dealer_id"))
        rows = self.queries.iter_stock(scope, self._clock(), max_rows=EXPORT_MAX_ROWS, **filters)
        return self._exporter.download(fmt, "stock", STOCK_TABLE, rows)

    def summary(self, actor: Principal, *, dealer_id: int | None = None,
                region: str | None = None) -> list[dict[str, Any]]:
        """Units in stock per dealer and template within the caller's scope, against the min/max limits;
        ``STOCK_READERS``. ``PermissionDenied``, ``NotFound`` (a ``dealer_id`` out of scope)."""
        scope = self._check_reader(actor, dealer_id)
        return self.queries.summary(scope, self._clock(), dealer_id=dealer_id, region=region)

    def statistics(self, actor: Principal, period: str, date_from: dt.date, date_to: dt.date,
                   **filters: Any) -> list[dict[str, Any]]:
        """Units produced, stocked, delivered, received and sold per day, week or month within the caller's
        scope; ``STOCK_READERS``. ``InvalidValue`` (period, range), ``PermissionDenied``, ``NotFound``."""
        scope = self._check_reader(actor, filters.get("dealer_id"))
        since, until = ds.statistics_window(period, date_from, date_to)
        return ds.bucket_statistics(self.queries.movements(scope, since, until, **filters), period, date_from,
                                    date_to)

    def list_sales(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        """The retail sales the caller may see, filtered; ``STOCK_READERS``. ``PermissionDenied``, ``NotFound``."""
        scope = self._check_reader(actor, filters.get("dealer_id"))
        return self.queries.list_sales(scope, **filters)

    def sale(self, actor: Principal, sale_id: int) -> dict[str, Any]:
        """One retail sale with its payments; ``STOCK_READERS``. ``PermissionDenied``, ``NotFound`` (missing or not visible)."""
        require_role(actor, *STOCK_READERS)
        row = self.queries.sale_detail(dealer_scope(actor), sale_id)
        if row is None:
            raise not_found("retail_sale", "销售单")
        return row
