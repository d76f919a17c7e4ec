"""HTTP API of parts supply (issue 18 §5): paid-repair bills (有偿维修), the service-income report
per station, parts orders to the central warehouse (配件订购) with replenishment suggestions, and
transfers between stations (调拨). Lists are ``{items, next_cursor}`` (newest first); a station
reaches only its own documents, another station's id is 404."""

from __future__ import annotations

import base64
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import Parameter
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from msgspec import Meta

from dealercrm.application.services.parts_supply import (
    BILL_READERS,
    INCOME_READERS,
    STAFF,
    WORKERS,
    PartsSupplyService,
)
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.http.downloads import EXPORT_RESPONSES, download
from dealercrm.entrypoints.http.schemas import Request as Body
from dealercrm.entrypoints.http.security import requires

User = Request[Principal, Any, Any]
PartNo = Annotated[str, Meta(min_length=2, max_length=40)]
Note = Annotated[str, Meta(max_length=500)]
Limit = Annotated[int, Parameter(ge=1, le=200)]


class LineBody(Body):
    part_no: PartNo
    quantity: Annotated[int, Meta(ge=1, le=100_000)]


class BillBody(Body):
    record_id: int
    customer_name: Annotated[str, Meta(max_length=100)] | None = None


class PayBody(Body):
    note: Note | None = None


class OrderBody(Body):
    station_id: int
    lines: Annotated[list[LineBody], Meta(min_length=1, max_length=200)]
    note: Note | None = None


class ShipBody(Body):
    waybill: Annotated[str, Meta(max_length=100)] | None = None


class CancelBody(Body):
    reason: Note | None = None


class TransferBody(Body):
    from_station_id: int
    to_station_id: int
    lines: Annotated[list[LineBody], Meta(min_length=1, max_length=200)]
    note: Note | None = None


class LevelsBody(Body):
    min_qty: Annotated[int, Meta(ge=0, le=100_000)]
    max_qty: Annotated[int, Meta(ge=0, le=100_000)]


class Created(msgspec.Struct):
    id: int
    number: str


class StateOut(msgspec.Struct):
    id: int
    state: str


class Received(msgspec.Struct):
    id: int
    balances: dict[str, int]  # part number → the station's balance after the receipt


class Page(msgspec.Struct):
    items: list[dict[str, Any]]
    next_cursor: str | None


def _encode(row_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{row_id}".encode()).decode().rstrip("=")


def _decode(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raw = ""
    if not raw.startswith("id:") or not raw[3:].isdigit():
        raise InvalidValue("cursor", "分页游标无效", code="cursor.invalid")
    return int(raw[3:])


def _page(rows: list[dict[str, Any]], limit: int) -> Page:
    return Page(rows[:limit], _encode(rows[limit - 1]["id"]) if len(rows) > limit else None)


def _state(value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is not None and value not in allowed:
        raise InvalidValue("state", f"状态须为 {'、'.join(allowed)}", code="parts_supply.state_unknown")
    return value


class PartsSupplyController(Controller):
    path = "/api/v1/parts-supply"
    tags = ["parts supply 配件订购/调拨/有偿维修"]

    # paid-repair bills
    @post("/bills", guards=[requires(*WORKERS)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="开具有偿维修收费单 Bill the customer for a repair outside warranty")
    def issue_bill(self, data: BillBody, request: User, parts_supply: PartsSupplyService) -> Created:
        return Created(*parts_supply.issue_bill(request.user, data.record_id, data.customer_name))

    @post("/bills/{bill_id:int}/pay", guards=[requires(*WORKERS)], status_code=HTTP_200_OK, sync_to_thread=True,
          summary="登记收款 Record the customer's payment")
    def pay_bill(self, bill_id: int, data: PayBody, request: User, parts_supply: PartsSupplyService) -> StateOut:
        parts_supply.pay_bill(request.user, bill_id, data.note)
        return StateOut(bill_id, "paid")

    @get("/bills", guards=[requires(*BILL_READERS)], sync_to_thread=True, summary="有偿维修收费单 Bills")
    def bills(self, request: User, parts_supply: PartsSupplyService,
              doc_state: Annotated[str | None, Parameter(query="state")] = None,
              station_id: int | None = None, cursor: str | None = None, limit: Limit = 50) -> Page:
        rows = parts_supply.bills(request.user, state=_state(doc_state, ("unpaid", "paid")), station_id=station_id,
                                  after=_decode(cursor), limit=limit + 1)
        return _page(rows, limit)

    @get("/bills/{bill_id:int}", guards=[requires(*BILL_READERS)], sync_to_thread=True, summary="收费单 One bill")
    def bill(self, bill_id: int, request: User, parts_supply: PartsSupplyService) -> dict[str, Any]:
        return parts_supply.bill(request.user, bill_id)

    @get("/income", guards=[requires(*INCOME_READERS)], sync_to_thread=True,
         summary="服务收入报表 Paid-repair and warranty income per station for a month (YYYY-MM)")
    def income(self, request: User, parts_supply: PartsSupplyService,
               month: Annotated[str, Parameter(max_length=7)]) -> Page:
        return Page(parts_supply.income(request.user, month), None)

    @get("/income/export", guards=[requires(*INCOME_READERS)], sync_to_thread=True,
         summary="导出服务收入报表 The income report as CSV or XLSX", responses=EXPORT_RESPONSES)
    def export_income(self, request: User, parts_supply: PartsSupplyService,
                      month: Annotated[str, Parameter(max_length=7)],
                      file_format: Annotated[str, Parameter(query="format", description="csv | xlsx")] = "csv",
                      ) -> Stream:
        return download(parts_supply.export_income(request.user, month, file_format))

    # parts orders
    @post("/orders", guards=[requires(*WORKERS)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="提交配件订单 A station orders parts from the central warehouse")
    def submit_order(self, data: OrderBody, request: User, parts_supply: PartsSupplyService) -> Created:
        return Created(*parts_supply.submit_order(request.user, data.station_id,
                                                  [(x.part_no, x.quantity) for x in data.lines], data.note))

    @post("/orders/{order_id:int}/confirm", guards=[requires(*STAFF)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="确认配件订单 Parts staff confirm the order")
    def confirm_order(self, order_id: int, request: User, parts_supply: PartsSupplyService) -> StateOut:
        return StateOut(order_id, parts_supply.confirm_order(request.user, order_id))

    @post("/orders/{order_id:int}/ship", guards=[requires(*STAFF)], status_code=HTTP_200_OK, sync_to_thread=True,
          summary="配件发货 Parts staff ship the order")
    def ship_order(self, order_id: int, data: ShipBody, request: User, parts_supply: PartsSupplyService) -> StateOut:
        return StateOut(order_id, parts_supply.ship_order(request.user, order_id, data.waybill))

    @post("/orders/{order_id:int}/cancel", guards=[requires(*WORKERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="取消配件订单 Cancel an order not yet shipped")
    def cancel_order(self, order_id: int, data: CancelBody, request: User,
                     parts_supply: PartsSupplyService) -> StateOut:
        return StateOut(order_id, parts_supply.cancel_order(request.user, order_id, data.reason))

    @post("/orders/{order_id:int}/receive", guards=[requires(*WORKERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="配件收货入库 The station receives the order into its stock, once")
    def receive_order(self, order_id: int, request: User, parts_supply: PartsSupplyService) -> Received:
        return Received(order_id, parts_supply.receive_order(request.user, order_id))

    @get("/orders", guards=[requires(*WORKERS)], sync_to_thread=True,
         summary="配件订单 A station's orders; for parts staff the queue of all stations")
    def orders(self, request: User, parts_supply: PartsSupplyService,
              doc_state: Annotated[str | None, Parameter(query="state")] = None,
               station_id: int | None = None, cursor: str | None = None, limit: Limit = 50) -> Page:
        rows = parts_supply.orders(
            request.user, state=_state(doc_state, ("submitted", "confirmed", "shipped", "received", "cancelled")),
            station_id=station_id, after=_decode(cursor), limit=limit + 1)
        return _page(rows, limit)

    @get("/orders/{order_id:int}", guards=[requires(*WORKERS)], sync_to_thread=True, summary="配件订单 One order")
    def order(self, order_id: int, request: User, parts_supply: PartsSupplyService) -> dict[str, Any]:
        return parts_supply.order(request.user, order_id)

    # stock levels and suggestions
    @put("/stations/{station_id:int}/levels/{part_no:str}", guards=[requires(*WORKERS)], sync_to_thread=True,
         summary="库存上下限 Set a part's min/max at the station")
    def set_levels(self, station_id: int, part_no: str, data: LevelsBody, request: User,
                   parts_supply: PartsSupplyService) -> dict[str, Any]:
        parts_supply.set_levels(request.user, station_id, part_no, data.min_qty, data.max_qty)
        return {"station_id": station_id, "part_no": part_no.strip().upper(), "min_qty": data.min_qty,
                "max_qty": data.max_qty}

    @get("/stations/{station_id:int}/suggestions", guards=[requires(*WORKERS)], sync_to_thread=True,
         summary="补货建议 What to order from min/max and the last 90 days' usage")
    def suggestions(self, station_id: int, request: User, parts_supply: PartsSupplyService,
                    cover_days: Annotated[int, Parameter(ge=1, le=365)] = 30) -> Page:
        return Page(parts_supply.suggestions(request.user, station_id, cover_days=cover_days), None)

    # transfers
    @post("/transfers", guards=[requires(*WORKERS)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="调拨发货 Ship parts to another station (they leave the sender's stock now)")
    def ship_transfer(self, data: TransferBody, request: User, parts_supply: PartsSupplyService) -> Created:
        return Created(*parts_supply.ship_transfer(request.user, data.from_station_id, data.to_station_id,
                                                   [(x.part_no, x.quantity) for x in data.lines], data.note))

    @post("/transfers/{transfer_id:int}/receive", guards=[requires(*WORKERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="调拨收货 The receiving station books the parts in, once")
    def receive_transfer(self, transfer_id: int, request: User, parts_supply: PartsSupplyService) -> Received:
        return Received(transfer_id, parts_supply.receive_transfer(request.user, transfer_id))

    @get("/transfers", guards=[requires(*WORKERS)], sync_to_thread=True,
         summary="调拨单 Transfers the station sent or received")
    def transfers(self, request: User, parts_supply: PartsSupplyService, station_id: int | None = None,
                  cursor: str | None = None, limit: Limit = 50) -> Page:
        return _page(parts_supply.transfers(request.user, station_id=station_id, after=_decode(cursor),
                                            limit=limit + 1), limit)

    @get("/transfers/{transfer_id:int}", guards=[requires(*WORKERS)], sync_to_thread=True, summary="调拨单 One")
    def transfer(self, transfer_id: int, request: User, parts_supply: PartsSupplyService) -> dict[str, Any]:
        return parts_supply.transfer(request.user, transfer_id)
