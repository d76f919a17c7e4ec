"""HTTP: the ERP events the sync could not apply (``/api/v1/erp/rejected-events``) — listed for
the staff who follow them up, and marked handled with a note (``application.erp_rejections``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK
from msgspec import Meta

from dealercrm.application.erp_rejections import ERP_REJECTION_ROLES
from dealercrm.domain.erp_rejections import MAX_NOTE
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.http.controllers import decode_cursor, encode_cursor, query_day
from dealercrm.entrypoints.http.schemas import Request as RequestBody
from dealercrm.entrypoints.http.security import requires
from dealercrm.application.order_flow import OrderFlowService
from dealercrm.domain.erp_rejections import RejectionStatus

Limit = Annotated[int, Parameter(ge=1, le=200, description="page size")]
User = Request[Principal, Any, Any]


class ResolveBody(RequestBody):
    note: Annotated[str, Meta(min_length=1, max_length=MAX_NOTE)]


class RejectedEventOut(msgspec.Struct):
    id: int
    event_id: str
    seq: int
    type: str
    tracking_no: str | None
    order_id: int | None
    order_no: str | None
    code: str
    reason: str
    at: dt.datetime
    status: RejectionStatus
    status_label: str
    resolved_at: dt.datetime | None
    resolved_by: str | None
    resolution_note: str | None


class RejectedEventPage(msgspec.Struct):
    items: list[RejectedEventOut]
    next_cursor: str | None


def _row(row: dict[str, Any]) -> RejectedEventOut:
    return RejectedEventOut(**{f: row.get(f) for f in RejectedEventOut.__struct_fields__})


class ErpRejectedEventController(Controller):
    path = "/api/v1/erp/rejected-events"
    tags = ["erp ERP同步"]

    @get("/", guards=[requires(*ERP_REJECTION_ROLES)], sync_to_thread=True,
         summary="ERP拒收事件 ERP events the sync could not apply, newest first (open ones by default)")
    def list_rejected(
        self, request: User, order_flow: OrderFlowService,
        status: Annotated[str, Parameter(max_length=20, description="open（待处理，默认）| resolved | all")] = "open",
        code: Annotated[str | None, Parameter(max_length=64, description="e.g. erp.unknown_tracking_no")] = None,
        tracking_no: Annotated[str | None, Parameter(max_length=40, description="内部流转单号")] = None,
        date_from: Annotated[str | None, Parameter(query="from", description="YYYY-MM-DD，北京时间日期（含）")] = None,
        date_to: Annotated[str | None, Parameter(query="to", description="YYYY-MM-DD，北京时间日期（含）")] = None,
        cursor: str | None = None, limit: Limit = 50,
    ) -> RejectedEventPage:
        page = order_flow.rejected_erp_events(
            request.user, status=status, code=code, tracking_no=tracking_no, date_from=query_day(date_from, "from"),
            date_to=query_day(date_to, "to"),
            before_id=decode_cursor(cursor), limit=limit)
        return RejectedEventPage([_row(r) for r in page["items"]], encode_cursor(page["next_before_id"]))

    @get("/{rejection_id:int}", guards=[requires(*ERP_REJECTION_ROLES)], sync_to_thread=True,
         summary="ERP拒收事件详情 One rejected ERP event with its resolution")
    def detail(self, rejection_id: int, request: User, order_flow: OrderFlowService) -> RejectedEventOut:
        return _row(order_flow.rejected_erp_event(request.user, rejection_id))

    @post("/{rejection_id:int}/resolve", guards=[requires(*ERP_REJECTION_ROLES)], status_code=HTTP_200_OK,
          sync_to_thread=True,
          summary="处理ERP拒收事件 Mark it handled with a note (who, when); twice → 409 with the standing resolution")
    def resolve(self, rejection_id: int, data: ResolveBody, request: User, order_flow: OrderFlowService) -> RejectedEventOut:
        return _row(order_flow.resolve_rejected_erp_event(request.user, rejection_id, data.note))
