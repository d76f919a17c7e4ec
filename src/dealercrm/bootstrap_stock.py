"""The dealer-stock facade of the Container (``crm.stock``): use cases with their dependencies
bound, and the scoped reads. Wired from ``bootstrap.Container``."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import TYPE_CHECKING, Any

import attrs

from dealercrm.application import dealer_stock as ds
from dealercrm.application.access import dealer_scope, not_found, require_role
from dealercrm.application.channel import visible_dealer_or_404
from dealercrm.application.gate import Created, IdDigester
from dealercrm.domain.dealer_stock import AgeingPolicy
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import SHANGHAI

if TYPE_CHECKING:
    from dealercrm.bootstrap import Container

EXPORT_MAX_ROWS = 100_000
EXPORT_COLUMNS = (
    ("vin", "车架号"), ("state_label", "车辆状态"), ("invoice_status_label", "开票收款状态"),
    ("sale_status_label", "销售状态"), ("dealer_code", "经销商编号"), ("dealer_name", "经销商"), ("region", "区域"),
    ("product_line", "产品线"), ("model_code", "车型"), ("contract_no", "合同编号"),
    ("erp_tracking_no", "流转单号（ERP计划跟踪号）"), ("order_no", "订单编号"), ("stock_in_at", "入库时间"),
    ("days_in_stock", "库龄（天）"), ("ageing_label", "库龄预警"), ("agreed_delivery_date", "约定交付时间"),
)
STOCK_READERS = (Role.ADMIN, Role.SALES, Role.REGION_MANAGER, Role.DISPATCH, Role.FINANCE, Role.PRODUCTION,
                 Role.INVOICING, Role.DEALER)


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@attrs.define
class StockService:
    _c: Any  # the container; resolvable at run time so Litestar can inject the facade
    _queries: Any = attrs.field(default=None, init=False)

    @property
    def queries(self) -> Any:
        if self._queries is None:
            from dealercrm.adapters.db.stock_queries import SqlStockQueries

            self._queries = SqlStockQueries(self._c.engine)
        return self._queries

    @property
    def _digester(self) -> IdDigester:
        return IdDigester(self._c.gate_keys.id_key)

    # -- writes ------------------------------------------------------------------------------

    def record_sale(self, actor: Principal, cmd: ds.RecordSale) -> Created:
        return ds.record_sale(cmd, self._c.uow(actor), self._c.clock, self._digester)

    def record_payment(self, actor: Principal, sale_id: int, cmd: ds.RecordSalePayment,
                       idempotency_key: str | None) -> ds.SaleState:
        return ds.record_sale_payment(sale_id, cmd, idempotency_key, lambda: self._c.uow(actor), self._c.clock,
                                      self._digester)

    def return_sale(self, actor: Principal, sale_id: int, reason: str, at: dt.datetime | None = None) -> ds.SaleState:
        return ds.return_sale(sale_id, reason, at, self._c.uow(actor), self._c.clock)

    def exchange_sale(self, actor: Principal, sale_id: int, cmd: ds.ExchangeSale) -> Created:
        return ds.exchange_sale(sale_id, cmd, self._c.uow(actor), self._c.clock)

    def set_limit(self, actor: Principal, cmd: ds.SetStockLimit) -> int:
        return ds.set_stock_limit(cmd, self._c.uow(actor), self._c.clock)

    def set_ageing_policy(self, actor: Principal, yellow_from_days: int, red_from_days: int) -> AgeingPolicy:
        return ds.set_ageing_policy(yellow_from_days, red_from_days, self._c.uow(actor), self._c.clock)

    def import_opening_stock(self, actor: Principal, dealer_id: int, content: bytes) -> ds.ImportResult:
        return ds.import_opening_stock(dealer_id, content, self._c.uow(actor), self._c.clock)

    # -- reads (scoped; a foreign dealer id is 404) --------------------------------------------

    def _check_reader(self, actor: Principal, dealer_id: int | None) -> Any:
        require_role(actor, *STOCK_READERS)
        scope = dealer_scope(actor)
        if dealer_id is not None:
            visible_dealer_or_404(actor, dealer_id, self.queries.dealer_region(dealer_id))
        return scope

    def ageing_policy(self) -> AgeingPolicy:
        return self.queries.ageing_policy()

    def list_stock(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        scope = self._check_reader(actor, filters.get("dealer_id"))
        return self.queries.list_stock(scope, self._c.clock(), **filters)

    def export_stock(self, actor: Principal, fmt: str, **filters: Any) -> tuple[str, str, bytes]:
        """(file name, media type, content) of every matching row, CSV or XLSX."""
        if fmt not in ("csv", "xlsx"):
            raise InvalidValue("format", "导出格式须为 csv 或 xlsx", code="export.format_unknown")
        scope = self._check_reader(actor, filters.get("dealer_id"))
        rows = ([_cell(r[k]) for k, _ in EXPORT_COLUMNS]
                for r in self.queries.iter_stock(scope, self._c.clock(), max_rows=EXPORT_MAX_ROWS, **filters))
        header = [label for _, label in EXPORT_COLUMNS]
        stamp = self._c.clock().astimezone(SHANGHAI).strftime("%Y%m%d-%H%M")
        if fmt == "csv":
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(header)
            writer.writerows(rows)
            # with a BOM, so Excel opens the Chinese text as UTF-8
            return f"stock-{stamp}.csv", "text/csv; charset=utf-8", out.getvalue().encode("utf-8-sig")
        from dealercrm.adapters.documents.xlsx import write_xlsx

        return (f"stock-{stamp}.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                write_xlsx(header, rows, "库存"))

    def summary(self, actor: Principal, *, dealer_id: int | None = None,
                region: str | None = None) -> list[dict[str, Any]]:
        scope = self._check_reader(actor, dealer_id)
        return self.queries.summary(scope, self._c.clock(), dealer_id=dealer_id, region=region)

    def statistics(self, actor: Principal, period: str, date_from: dt.date, date_to: dt.date,
                   **filters: Any) -> list[dict[str, Any]]:
        scope = self._check_reader(actor, filters.get("dealer_id"))
        since, until = ds.statistics_window(period, date_from, date_to)
        return ds.bucket_statistics(self.queries.movements(scope, since, until, **filters), period, date_from,
                                    date_to)

    def list_sales(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        scope = self._check_reader(actor, filters.get("dealer_id"))
        return self.queries.list_sales(scope, **filters)

    def sale(self, actor: Principal, sale_id: int) -> dict[str, Any]:
        require_role(actor, *STOCK_READERS)
        row = self.queries.sale_detail(dealer_scope(actor), sale_id)
        if row is None:
            raise not_found("retail_sale", "销售单")
        return row
