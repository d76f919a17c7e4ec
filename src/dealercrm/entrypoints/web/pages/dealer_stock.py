"""经销商门户 · 库存: the dealer's stock with its ageing colours and min/max warnings, deliveries in
transit whose receipt (回执) the dealer confirms vehicle by vehicle (damage or a missing vehicle
is a discrepancy that alarms sales and dispatch), and the retail sale entry. The stock list
exports as XLSX or CSV (the stock API's export)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import Parameter
from litestar.response import Redirect, Stream, Template

from dealercrm.application import dealer_stock as ds
from dealercrm.application import shipping
from dealercrm.application.services.gate import GateService
from dealercrm.application.services.stock import StockService
from dealercrm.domain.dealer_stock import CustomerKind
from dealercrm.domain.errors import Conflict, InvalidValue, NotFound
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.shipping import ReceiptOutcome, ShipmentStatus
from dealercrm.entrypoints.http.downloads import download
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.layout import page

DEALERS = (Role.DEALER,)
PAGE_SIZE = 50
OUTCOMES = tuple((o.value, o.label) for o in ReceiptOutcome)
KINDS = tuple((k.value, k.label) for k in CustomerKind)
DONE = {"receipt": "收货回执已提交，车辆已入经销商库存。", "sale": "销售已登记，收款到齐后确认销售。"}


def yuan_to_fen(raw: Any, field: str) -> int:
    """``"123,456.7"`` → 12345670 fen; a positive amount with at most two decimals."""
    text = str(raw or "").replace(",", "").replace("¥", "").strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidValue(field, "请输入金额（元），如 356000 或 356000.50", code="money.invalid") from None
    if not value.is_finite() or value <= 0 or value > Decimal(100000000) or value != value.quantize(Decimal("0.01")):
        raise InvalidValue(field, "金额须大于0、不超过1亿元且最多两位小数", code="money.out_of_range")
    return int(value * 100)


def _shipment(gate: GateService, actor: Principal, shipment_id: int) -> dict[str, Any]:
    row = gate.shipment(actor, shipment_id)
    row["status_label"] = ShipmentStatus(str(row["status"])).label
    return row


class DealerStockPages(Controller):
    path = "/stock"

    @get("/", guards=[requires(*DEALERS)], sync_to_thread=True)
    def stock(self, request: Request[Principal, Any, Any], stock: StockService, gate: GateService,
              after: Annotated[int | None, Parameter(ge=0, le=2**63 - 1)] = None) -> Template:
        rows = stock.list_stock(request.user, where="dealer", after_id=after, limit=PAGE_SIZE + 1)
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        summary = stock.summary(request.user)
        incoming = [{**s, "status_label": ShipmentStatus(str(s["status"])).label}
                    for s in gate.list_shipments(request.user, status=ShipmentStatus.DEPARTED.value, limit=50)]
        sales = stock.list_sales(request.user, limit=20)
        done = DONE.get(str(request.query_params.get("done") or ""))
        return page(request, "stock.html", title="库存", section="stock", crumbs=(("库存", None),), rows=rows,
                    next_after=rows[-1]["id"] if more and rows else None, summary=summary, incoming=incoming,
                    sales=sales, flash=done, policy=stock.ageing_policy())

    @get("/export", guards=[requires(*DEALERS)], sync_to_thread=True)
    def export(self, request: Request[Principal, Any, Any], stock: StockService,
               file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx") -> Stream:
        """The dealer's stock (every vehicle, as the list) as XLSX or CSV."""
        return download(stock.export_stock(request.user, file_format, where="dealer"))

    @get("/receipts/{shipment_id:int}", guards=[requires(*DEALERS)], sync_to_thread=True)
    def receipt_form(self, shipment_id: int, request: Request[Principal, Any, Any], gate: GateService) -> Template:
        return self._receipt_page(request, gate, shipment_id, values={}, errors={})

    def _receipt_page(self, request: Request[Principal, Any, Any], gate: GateService, shipment_id: int, *,
                      values: dict[str, Any], errors: dict[str, str], status_code: int = 200) -> Template:
        shipment = _shipment(gate, request.user, shipment_id)
        return page(request, "receipt.html", title=f"收货确认：{shipment['shipment_no']}", section="stock",
                    crumbs=(("库存", "/stock"), (shipment["shipment_no"], None)), shipment=shipment,
                    outcomes=OUTCOMES, values=values, errors=errors, status_code=status_code)

    @post("/receipts/{shipment_id:int}", guards=[requires(*DEALERS)], status_code=303)
    async def submit_receipt(self, shipment_id: int, request: Request[Principal, Any, Any],
                             gate: GateService) -> Any:
        form = await request.form()
        shipment = await sync_to_thread(_shipment, gate, request.user, shipment_id)
        values: dict[str, Any] = {"receiver_name": str(form.get("receiver_name") or "").strip()[:30]}
        errors: dict[str, str] = {}
        lines = []
        for vin in shipment["vins"]:
            outcome = str(form.get(f"outcome:{vin}") or ReceiptOutcome.RECEIVED.value)
            note = str(form.get(f"note:{vin}") or "").strip()[:500]
            config_ok = form.get(f"config_ok:{vin}") is not None
            values[f"outcome:{vin}"], values[f"note:{vin}"], values[f"config_ok:{vin}"] = outcome, note, config_ok
            if outcome not in ReceiptOutcome.__members__.values():
                errors[f"outcome:{vin}"] = "请选择收货结果"
            elif (outcome != ReceiptOutcome.RECEIVED.value or not config_ok) and not note:
                errors[f"note:{vin}"] = "有损伤、未收到或配置不符时请说明情况"
            lines.append(shipping.ReceiptLineIn(vin, outcome, config_ok, note or None))
        if not values["receiver_name"]:
            errors["receiver_name"] = "请填写收货人姓名"
        if not errors:
            cmd = shipping.SubmitReceipt(tuple(lines), values["receiver_name"])
            try:
                await sync_to_thread(gate.submit_receipt, request.user, shipment_id, cmd)
            except InvalidValue as exc:
                errors[exc.field if exc.field in ("receiver_name", "received_at") else "form"] = exc.message
            except Conflict as exc:
                errors["form"] = exc.message
                return await sync_to_thread(lambda: self._receipt_page(request, gate, shipment_id, values=values,
                                                                       errors=errors, status_code=409))
        if errors:
            return await sync_to_thread(lambda: self._receipt_page(request, gate, shipment_id, values=values,
                                                                   errors=errors, status_code=422))
        return Redirect(path="/stock?done=receipt", status_code=303)

    @get("/sales/new", guards=[requires(*DEALERS)], sync_to_thread=True)
    def sale_form(self, request: Request[Principal, Any, Any],
                  vin: Annotated[str | None, Parameter(max_length=17)] = None) -> Template:
        return page(request, "sale.html", title="登记零售销售", section="stock",
                    crumbs=(("库存", "/stock"), ("登记销售", None)), values={"vin": vin or "", "kind": "company"},
                    errors={}, kinds=KINDS)

    @post("/sales", guards=[requires(*DEALERS)], status_code=303)
    async def record_sale(self, request: Request[Principal, Any, Any], stock: StockService) -> Any:
        form = await request.form()
        values = {k: str(form.get(k) or "").strip()[:100] for k in (
            "vin", "kind", "name", "phone", "id_number", "uscc", "price", "customer_receipt_no", "note")}
        errors: dict[str, str] = {}
        try:
            price = yuan_to_fen(values["price"], "price")
            if not values["name"]:
                raise InvalidValue("name", "请填写客户名称", code="sale.customer_name_required")
            if not values["customer_receipt_no"]:
                raise InvalidValue("customer_receipt_no", "请填写客户收据号", code="sale.receipt_no_required")
            customer = ds.CustomerIn(values["kind"], values["name"], values["phone"],
                                     values["id_number"] or None, values["uscc"] or None)
            cmd = ds.RecordSale(values["vin"].upper(), customer, price, values["customer_receipt_no"],
                                note=values["note"] or None)
            await sync_to_thread(stock.record_sale, request.user, cmd)
        except NotFound as exc:  # a VIN not in this dealer's stock
            errors["vin"] = exc.message
        except (InvalidValue, Conflict) as exc:
            field = getattr(exc, "field", "") or "form"
            errors[field.removeprefix("customer.").replace("customer_kind", "kind")] = exc.message
        if errors:
            return page(request, "sale.html", title="登记零售销售", section="stock", status_code=422,
                        crumbs=(("库存", "/stock"), ("登记销售", None)), values=values, errors=errors, kinds=KINDS)
        return Redirect(path="/stock?done=sale", status_code=303)
