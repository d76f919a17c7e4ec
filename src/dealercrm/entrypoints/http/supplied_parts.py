"""HTTP: customer-supplied chassis and parts of an order (``/api/v1/orders/{id}/supplied-parts``).

The factory's store and production (``production``, ``procurement``, ``admin``) write; staff read
within their scope; a dealer reads its own orders' ledgers; any other order is 404.

Photos are uploaded first as ``multipart/form-data`` (one part named ``file``; JPEG, PNG or
WebP, at most 5 MB, checked by content): the answer's ``sha256`` is then named by a movement's
``photo_sha256``. Over-issue and over-return are 409 with the item's ``balance``; nothing is
written.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import anyio
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from msgspec import Meta

from dealercrm.application import supplied_parts as sp
from dealercrm.application.services.supplied_parts import SuppliedPartsService
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.http.schemas import Request as Body
from dealercrm.entrypoints.http.security import STAFF, requires
from dealercrm.domain.orders import OrderState
from dealercrm.domain.supplied_parts import ItemKind, Movement

READERS = (*STAFF, Role.DEALER)
Sha = Annotated[str, Meta(min_length=64, max_length=64, pattern="^[0-9a-fA-F]{64}$")]
Qty = Annotated[int, Meta(ge=1, le=100_000)]


class MovementBody(Body):
    quantity: Qty = 1
    note: Annotated[str, Meta(max_length=500)] | None = None
    ledger_version: Annotated[int, Meta(ge=1)] | None = None


class ReceiveBody(MovementBody):
    serial: Annotated[str, Meta(max_length=60)] | None = None
    location: Annotated[str, Meta(max_length=100)] | None = None
    photo_sha256: Sha | None = None


class ReturnToStoreBody(MovementBody):
    location: Annotated[str, Meta(max_length=100)] | None = None


class ReturnToCustomerBody(MovementBody):
    photo_sha256: Sha | None = None


class BalanceOut(msgspec.Struct):
    line_no: int
    kind: ItemKind
    description: str
    serial: str | None
    expected: int
    received: int
    in_store: int
    in_production: int
    returned_to_customer: int
    outstanding: int


class MovementDoneOut(msgspec.Struct):
    order_id: int
    ledger_version: int
    line_no: int
    movement: Movement
    balance: BalanceOut


class ItemOut(BalanceOut):
    kind_label: str
    order_line_no: int | None
    withdrawn: bool
    balanced: bool


class MovementOut(msgspec.Struct):
    id: int
    line_no: int
    movement: Movement
    movement_label: str
    quantity: int
    at: dt.datetime
    by_user_id: int | None
    by_name: str
    location: str
    note: str
    serial: str | None
    photo_sha256: str | None


class TotalsOut(msgspec.Struct):
    expected: int
    received: int
    in_store: int
    in_production: int
    returned_to_customer: int


class LedgerOut(msgspec.Struct):
    order_id: int
    order_no: str
    order_state: OrderState
    dealer_id: int
    version: int | None
    updated_at: dt.datetime | None
    items: list[ItemOut]
    movements: list[MovementOut]
    totals: TotalsOut
    balanced: bool
    all_received: bool


class PhotoOut(msgspec.Struct):
    sha256: str
    content_type: str
    size_bytes: int


def _done(r: sp.MovementDone) -> MovementDoneOut:
    return MovementDoneOut(r.order_id, r.ledger_version, r.line_no, Movement(r.movement),
                           msgspec.convert(r.balance.as_dict(), BalanceOut))


def _cmd(line_no: int, b: Any) -> sp.MovementIn:
    return sp.MovementIn(line_no=line_no, quantity=b.quantity, serial=getattr(b, "serial", None),
                         location=getattr(b, "location", None), note=b.note,
                         photo_sha256=getattr(b, "photo_sha256", None), ledger_version=b.ledger_version)


class SuppliedPartsController(Controller):
    path = "/api/v1/orders/{order_id:int}/supplied-parts"
    tags = ["orders 订单"]

    @get("/", guards=[requires(*READERS)], sync_to_thread=True,
         summary="客户自带件台账 The order's supplied chassis/parts: items, balances, every movement")
    def ledger(self, order_id: int, request: Request[Principal, Any, Any], supplied_parts: SuppliedPartsService) -> LedgerOut:
        return msgspec.convert(supplied_parts.ledger(request.user, order_id), LedgerOut)

    @post("/{line_no:int}/receive", guards=[requires(*sp.WRITERS)], status_code=HTTP_200_OK, sync_to_thread=True,
          summary="入库 Receive (chassis: serial number and photo required)")
    def receive(self, order_id: int, line_no: int, data: ReceiveBody, request: Request[Principal, Any, Any],
                supplied_parts: SuppliedPartsService) -> MovementDoneOut:
        return _done(supplied_parts.receive(request.user, order_id, _cmd(line_no, data)))

    @post("/{line_no:int}/issue", guards=[requires(*sp.WRITERS)], status_code=HTTP_200_OK, sync_to_thread=True,
          summary="领用 Issue to production (order released to ERP)")
    def issue(self, order_id: int, line_no: int, data: MovementBody, request: Request[Principal, Any, Any],
              supplied_parts: SuppliedPartsService) -> MovementDoneOut:
        return _done(supplied_parts.issue(request.user, order_id, _cmd(line_no, data)))

    @post("/{line_no:int}/return-to-store", guards=[requires(*sp.WRITERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="退库 Return from production to the store")
    def return_to_store(self, order_id: int, line_no: int, data: ReturnToStoreBody,
                        request: Request[Principal, Any, Any], supplied_parts: SuppliedPartsService) -> MovementDoneOut:
        return _done(supplied_parts.return_to_store(request.user, order_id, _cmd(line_no, data)))

    @post("/{line_no:int}/return-to-customer", guards=[requires(*sp.WRITERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="退还客户 Hand back to the customer from the store")
    def return_to_customer(self, order_id: int, line_no: int, data: ReturnToCustomerBody,
                           request: Request[Principal, Any, Any], supplied_parts: SuppliedPartsService) -> MovementDoneOut:
        return _done(supplied_parts.return_to_customer(request.user, order_id,
                                                                       _cmd(line_no, data)))

    @post("/photos", guards=[requires(*sp.WRITERS)], status_code=HTTP_201_CREATED,
          request_max_body_size=sp.MAX_PHOTO_BYTES + 64 * 1024,
          summary="上传照片 Upload a photo (multipart/form-data, part `file`; JPEG/PNG/WebP ≤ 5 MB)")
    async def upload_photo(self, order_id: int, request: Request[Principal, Any, Any], supplied_parts: SuppliedPartsService) -> PhotoOut:
        if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
            raise InvalidValue("file", "请以 multipart/form-data 上传照片，文件字段名为 file", code="supplied.photo_missing")
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidValue("file", "请以 multipart/form-data 上传照片，文件字段名为 file", code="supplied.photo_missing")
        data = await upload.read(sp.MAX_PHOTO_BYTES + 1)
        await upload.close()
        stored = await anyio.to_thread.run_sync(
            lambda: supplied_parts.upload_photo(request.user, order_id, data, upload.content_type))
        return PhotoOut(stored.sha256, stored.content_type, stored.size_bytes)

    @get("/photos/{sha256:str}", guards=[requires(*READERS)], sync_to_thread=True,
         summary="查看照片 A photo recorded for this order")
    def photo(self, order_id: int, sha256: Annotated[str, Parameter(max_length=64)],
              request: Request[Principal, Any, Any], supplied_parts: SuppliedPartsService) -> Response[bytes]:
        content_type, data = supplied_parts.photo(request.user, order_id, sha256)
        return Response(data, media_type=content_type,
                        headers={"Cache-Control": "private, max-age=86400, immutable",
                                 "X-Content-Type-Options": "nosniff"})


SUPPLIED_PARTS_CONTROLLERS = [SuppliedPartsController]
