"""HTTP for dealer and factory stock (库存管理) and retail sales (终端销售).

Every read is scoped in SQL: a dealer user sees only its own vehicles and sales, regional sales
staff their regions; a foreign dealer id or sale id answers 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import Parameter
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dealercrm.application import dealer_stock as ds
from dealercrm.application.services.stock import STOCK_READERS, StockService
from dealercrm.domain.channel import ProductLine
from dealercrm.domain.dealer_stock import SaleStatus
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.vehicles import VehicleState
from dealercrm.entrypoints.http import schemas as s
from dealercrm.entrypoints.http import stock_schemas as ss
from dealercrm.entrypoints.http.controllers import decode_cursor, encode_cursor
from dealercrm.entrypoints.http.downloads import EXPORT_RESPONSES, download
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.http.schemas import Page

Limit = Annotated[int, Parameter(ge=1, le=200, description="page size")]
# Required in the OpenAPI document; a missing header still reaches the use case, whose 422
# (idempotency.key_required) says what to send.
IdempotencyKey = Annotated[str | None, Parameter(header="Idempotency-Key", required=True,
                                                 description="8–64 letters, digits or .-_: (a UUID), one per payment")]
SELLERS = (Role.DEALER, Role.ADMIN)
PLANNERS = (Role.ADMIN, Role.REGION_MANAGER, Role.SALES)


def _choice(name: str, value: str | None, allowed: set[str], label: str) -> None:
    if value is not None and value not in allowed:
        raise InvalidValue(name, f"未知的{label}：{value}", code=f"{name}.unknown")


def _filters(where: str | None, state: str | None, dealer_id: int | None, region: str | None,
             product_line: str | None, model_code: str | None, contract_no: str | None) -> dict[str, Any]:
    _choice("where", where, {"factory", "dealer"}, "库存范围（factory 或 dealer）")
    states = [x.strip() for x in state.split(",") if x.strip()] if state else None
    for x in states or ():
        _choice("state", x, {v.value for v in VehicleState}, "车辆状态")
    _choice("product_line", product_line, {p.value for p in ProductLine}, "产品线")
    return {"where": where, "states": states, "dealer_id": dealer_id, "region": region,
            "product_line": product_line, "model_code": model_code, "contract_no": contract_no}


def _stock_row(r: dict[str, Any]) -> ss.StockVehicleOut:
    words = [r["state_label"], r["invoice_status_label"]]
    if r["sale_status_label"]:
        words.append(r["sale_status_label"])
    return ss.StockVehicleOut(
        id=r["id"], vin=r["vin"], state=r["state"], state_label=r["state_label"], invoice_status=r["invoice_status"],
        invoice_status_label=r["invoice_status_label"], status_words=words, dealer_id=r["dealer_id"],
        dealer_code=r["dealer_code"], dealer_name=r["dealer_name"], region=r["region"],
        product_line=r["product_line"], model_code=r["model_code"], order_no=r["order_no"],
        contract_no=r["contract_no"], erp_tracking_no=r["erp_tracking_no"], stock_in_at=r["stock_in_at"],
        days_in_stock=r["days_in_stock"], ageing_band=r["ageing_band"], ageing_label=r["ageing_label"],
        ageing_colour=r["ageing_colour"], agreed_delivery_date=r["agreed_delivery_date"], sale_id=r["sale_id"],
        sale_status=r["sale_status"], sale_status_label=r["sale_status_label"])


def _sale(r: dict[str, Any]) -> ss.SaleOut:
    status = SaleStatus(getattr(r["status"], "value", r["status"]))
    payments = r.get("payments")
    return ss.SaleOut(
        id=r["id"], sale_no=r["sale_no"], dealer_id=r["dealer_id"], dealer_code=r["dealer_code"],
        dealer_name=r["dealer_name"], vin=r["vin"], customer_kind=getattr(r["customer_kind"], "value", r["customer_kind"]),
        customer_name=r["customer_name"], customer_phone=r["customer_phone"],
        customer_id_masked=r["customer_id_masked"], customer_uscc=r["customer_uscc"], price_fen=r["price_fen"],
        paid_fen=r["paid_fen"], open_fen=r["price_fen"] - r["paid_fen"], customer_receipt_no=r["customer_receipt_no"],
        sold_at=r["sold_at"], status=status, status_label=status.label, confirmed_at=r["confirmed_at"],
        ended_at=r["ended_at"], end_reason=r["end_reason"], replaces_sale_id=r["replaces_sale_id"], note=r["note"],
        recorded_by=r["recorded_by"],
        payments=None if payments is None else [
            ss.SalePaymentOut(p["seq"], p["amount_fen"], p["paid_at"], p["reference"], p["recorded_by"])
            for p in payments])


def _sale_state(x: ds.SaleState) -> ss.SaleStateOut:
    return ss.SaleStateOut(x.id, x.sale_no, SaleStatus(x.status), x.status_label, x.price_fen, x.paid_fen, x.open_fen, x.vin,
                           VehicleState(x.vehicle_state))


def _policy_out(policy: Any) -> ss.AgeingPolicyOut:
    return ss.AgeingPolicyOut(policy.yellow_from_days, policy.red_from_days,
                              [msgspec.convert(b, ss.AgeingBandOut) for b in policy.bands()])


class StockController(Controller):
    path = "/api/v1/stock"
    tags = ["stock 库存管理"]

    @get("/vehicles", guards=[requires(*STOCK_READERS)], sync_to_thread=True,
         summary="库存查询 Factory and dealer stock by region, dealer, product line, template and state")
    def vehicles(
        self, request: Request[Principal, Any, Any], stock: StockService,
        where: Annotated[str | None, Parameter(description="factory | dealer")] = None,
        vehicle_state: Annotated[str | None, Parameter(query="state", description="state codes, comma separated")] = None,
        dealer_id: int | None = None, region: str | None = None, product_line: str | None = None,
        model_code: str | None = None, contract_no: str | None = None, cursor: str | None = None, limit: Limit = 50,
    ) -> ss.StockPage:
        filters = _filters(where, vehicle_state, dealer_id, region, product_line, model_code, contract_no)
        rows = stock.list_stock(request.user, **filters, after_id=decode_cursor(cursor),
                                                limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return ss.StockPage([_stock_row(r) for r in rows], encode_cursor(rows[-1]["id"]) if more and rows else None)

    @get("/vehicles/export", guards=[requires(*STOCK_READERS)], sync_to_thread=True,
         summary="库存导出 The same query as a CSV or XLSX file (at most 100 000 rows)",
         responses=EXPORT_RESPONSES)
    def export(
        self, request: Request[Principal, Any, Any], stock: StockService,
        file_format: Annotated[str, Parameter(query="format", description="csv | xlsx")] = "csv",
        where: str | None = None, vehicle_state: Annotated[str | None, Parameter(query="state")] = None,
        dealer_id: int | None = None, region: str | None = None, product_line: str | None = None,
        model_code: str | None = None, contract_no: str | None = None,
    ) -> Stream:
        filters = _filters(where, vehicle_state, dealer_id, region, product_line, model_code, contract_no)
        return download(stock.export_stock(request.user, file_format, **filters))

    @get("/summary", guards=[requires(*STOCK_READERS)], sync_to_thread=True,
         summary="库存汇总 Units per dealer and template with min/max and ageing bands")
    def summary(self, request: Request[Principal, Any, Any], stock: StockService, dealer_id: int | None = None,
                region: str | None = None) -> Page[ss.SummaryOut]:
        rows = stock.summary(request.user, dealer_id=dealer_id, region=region)
        return Page([msgspec.convert(r, ss.SummaryOut) for r in rows], None)

    @get("/statistics", guards=[requires(*STOCK_READERS)], sync_to_thread=True,
         summary="产销统计 Produced, stocked, delivered, received and sold units per day, week or month")
    def statistics(self, request: Request[Principal, Any, Any], stock: StockService, date_from: dt.date, date_to: dt.date,
                   period: str = "month", dealer_id: int | None = None, region: str | None = None,
                   product_line: str | None = None, model_code: str | None = None) -> ss.StatisticsOut:
        _choice("product_line", product_line, {p.value for p in ProductLine}, "产品线")
        rows = stock.statistics(request.user, period, date_from, date_to, dealer_id=dealer_id,
                                                region=region, product_line=product_line, model_code=model_code)
        totals = {k: sum(r[k] for r in rows) for k in ds.STAT_KINDS}
        return ss.StatisticsOut(period, date_from, date_to, [msgspec.convert(r, ss.PeriodOut) for r in rows], totals)

    @get("/ageing-policy", guards=[requires(*STOCK_READERS)], sync_to_thread=True,
         summary="库龄预警区间 The ageing bands (green / yellow / red) and their thresholds")
    def ageing_policy(self, stock: StockService) -> ss.AgeingPolicyOut:
        return _policy_out(stock.ageing_policy())

    @put("/ageing-policy", guards=[requires(Role.ADMIN)], sync_to_thread=True,
         summary="设置库龄阈值 Set the yellow and red thresholds (days)")
    def set_ageing_policy(self, data: ss.AgeingPolicyIn, request: Request[Principal, Any, Any],
                          stock: StockService) -> ss.AgeingPolicyOut:
        return _policy_out(stock.set_ageing_policy(request.user, data.yellow_from_days,
                                                                   data.red_from_days))

    @put("/limits", guards=[requires(*PLANNERS)], sync_to_thread=True,
         summary="库存上下限 Min and max units of a template at a dealer")
    def set_limit(self, data: ss.LimitIn, request: Request[Principal, Any, Any], stock: StockService) -> ss.LimitOut:
        return ss.LimitOut(stock.set_limit(request.user, ds.SetStockLimit(
            data.dealer_id, data.model_code, data.min_units, data.max_units)))

    @post("/imports", guards=[requires(*PLANNERS)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="期初库存导入 A new dealer's opening stock from CSV (text/csv body; all rows or none)",
          description="Columns: vin, model_code, stocked_in_on (YYYY-MM-DD) required; contract_no, "
                      "erp_tracking_no, agreed_delivery_date, configuration optional (Chinese headers accepted). "
                      "Any bad row → 422 `stock_import.invalid_rows` with `errors[]` = {row, field, code, message}.")
    def import_opening_stock(self, request: Request[Principal, Any, Any], stock: StockService, body: bytes,
                             dealer_id: int) -> ss.ImportOut:
        r = stock.import_opening_stock(request.user, dealer_id, body)
        return ss.ImportOut(r.import_no, r.dealer_id, r.rows)


class RetailSaleController(Controller):
    path = "/api/v1/retail-sales"
    tags = ["stock 库存管理"]

    @post("/", guards=[requires(*SELLERS)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="终端销售出库 Sell a vehicle of the dealer's stock to an end customer (unconfirmed until paid)")
    def create(self, data: ss.SaleIn, request: Request[Principal, Any, Any], stock: StockService) -> s.CreatedOut:
        c = data.customer
        created = stock.record_sale(request.user, ds.RecordSale(
            vin=data.vin, customer=ds.CustomerIn(c.kind, c.name, c.phone, c.id_number, c.uscc),
            price_fen=data.price_fen, customer_receipt_no=data.customer_receipt_no, sold_at=data.sold_at,
            note=data.note))
        return s.CreatedOut(created.id, created.number)

    @get("/", guards=[requires(*STOCK_READERS)], sync_to_thread=True,
         summary="销售单列表 Retail sales (a dealer sees only its own)")
    def list_sales(self, request: Request[Principal, Any, Any], stock: StockService, status: str | None = None,
                   dealer_id: int | None = None, vin: str | None = None, cursor: str | None = None,
                   limit: Limit = 50) -> ss.SalePage:
        _choice("status", status, {x.value for x in SaleStatus}, "销售状态")
        rows = stock.list_sales(request.user, status=status, dealer_id=dealer_id,
                                                vin=vin.strip().upper() if vin else None,
                                                before_id=decode_cursor(cursor), limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return ss.SalePage([_sale(r) for r in rows], encode_cursor(rows[-1]["id"]) if more and rows else None)

    @get("/{sale_id:int}", guards=[requires(*STOCK_READERS)], sync_to_thread=True,
         summary="销售单详情 A retail sale and its payments")
    def detail(self, sale_id: int, request: Request[Principal, Any, Any], stock: StockService) -> ss.SaleOut:
        return _sale(stock.sale(request.user, sale_id))

    @post("/{sale_id:int}/payments", guards=[requires(*SELLERS)], status_code=HTTP_200_OK, sync_to_thread=True,
          summary="登记客户付款 Record an end-customer payment, once per Idempotency-Key (confirmed when paid in full)")
    def pay(self, sale_id: int, data: ss.PaymentIn, request: Request[Principal, Any, Any],
            stock: StockService, idempotency_key: IdempotencyKey = None) -> ss.SaleStateOut:
        return _sale_state(stock.record_payment(request.user, sale_id, ds.RecordSalePayment(
            data.amount_fen, data.paid_at, data.reference), idempotency_key))

    @post("/{sale_id:int}/return", guards=[requires(*SELLERS)], status_code=HTTP_200_OK, sync_to_thread=True,
          summary="客户退车 The customer returns the vehicle (back into the dealer's stock)")
    def return_sale(self, sale_id: int, data: ss.ReturnIn, request: Request[Principal, Any, Any],
                    stock: StockService) -> ss.SaleStateOut:
        return _sale_state(stock.return_sale(request.user, sale_id, data.reason, data.returned_at))

    @post("/{sale_id:int}/exchange", guards=[requires(*SELLERS)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="客户换车 Swap for another vehicle of the dealer's stock (payments carry over)")
    def exchange(self, sale_id: int, data: ss.ExchangeIn, request: Request[Principal, Any, Any],
                 stock: StockService) -> s.CreatedOut:
        created = stock.exchange_sale(request.user, sale_id, ds.ExchangeSale(
            new_vin=data.new_vin, reason=data.reason, customer_receipt_no=data.customer_receipt_no,
            price_fen=data.price_fen, at=data.at))
        return s.CreatedOut(created.id, created.number)


STOCK_CONTROLLERS = [StockController, RetailSaleController]
