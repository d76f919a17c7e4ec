"""HTTP: the order flow after submission — review steps, e-contract, finance review
(``/api/v1/orders/{id}/…``). The review steps themselves are decided through the workflow
endpoints (``/api/v1/workflows/…``); these routes show them next to the order.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from msgspec import Meta

from dealercrm.application.contracts import FINANCE_ROLES, MAJOR_MODIFICATION_MARKERS
from dealercrm.application.orders import ORDER_WRITERS
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.http.orders import READERS, _ref
from dealercrm.entrypoints.http.orders_schemas import OrderRefOut
from dealercrm.entrypoints.http.schemas import Request as RequestBody
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.http.schemas import Page
from dealercrm.application.order_flow import OrderFlowService
from dealercrm.domain.contracts import ContractStatus
from dealercrm.domain.order_changes import ChangeStatus

Reason = Annotated[str, Meta(min_length=1, max_length=500)]
FINANCE_RESUBMITTERS = (Role.DEALER, Role.SALES, Role.REGION_MANAGER, Role.ADMIN)


class FinanceApproveBody(RequestBody):
    credit_override_reason: Annotated[str, Meta(max_length=500)] | None = None
    version: int | None = None


class AcceptContractBody(RequestBody):
    version: int | None = None


class MajorModificationBody(RequestBody):
    is_major_modification: bool


class ChangeRequestBody(RequestBody):
    description: Annotated[str, Meta(min_length=1, max_length=1000)]


class ChangeRefOut(msgspec.Struct):
    id: int
    change_no: str
    order_id: int
    status: ChangeStatus
    workflow_id: int | None


class FinanceRejectBody(RequestBody):
    reason: Reason


class FinanceDecisionOut(msgspec.Struct):
    order: OrderRefOut
    contract_no: str
    credit: dict[str, Any] | None = None


class ContractOut(msgspec.Struct):
    id: int
    contract_no: str
    order_id: int
    dealer_id: int
    amount_fen: int
    status: ContractStatus
    status_label: str
    document_sha256: str
    media_type: str
    generated_at: dt.datetime
    accepted_at: dt.datetime | None
    accepted_by: str | None
    accepted_from_ip: str | None
    accepted_user_agent: str | None
    finance_at: dt.datetime | None
    finance_reason: str | None
    credit_override_reason: str | None
    erp_tracking_no: str | None
    released_at: dt.datetime | None
    voided_at: dt.datetime | None
    void_reason: str | None
    document: dict[str, Any]
    pdf_url: str


def _contract(row: dict[str, Any]) -> ContractOut:
    fields = {f: row.get(f) for f in ContractOut.__struct_fields__ if f != "pdf_url"}
    return ContractOut(**fields, pdf_url=f"/api/v1/orders/{row['order_id']}/contract.pdf")


def _client_ip(request: Request[Any, Any, Any]) -> str | None:
    return request.client.host if request.client else None


class OrderFlowController(Controller):
    path = "/api/v1/orders"
    tags = ["orders 订单"]

    @get("/{order_id:int}/review", guards=[requires(*READERS)], sync_to_thread=True,
         summary="订单评审 The order's review workflows (four parallel steps), newest first")
    def review(self, order_id: int, request: Request[Principal, Any, Any], order_flow: OrderFlowService) -> Page[dict[str, Any]]:
        return Page(order_flow.review(request.user, order_id), None)

    @post("/{order_id:int}/major-modification", guards=[requires(*MAJOR_MODIFICATION_MARKERS)],
          status_code=HTTP_200_OK, sync_to_thread=True,
          summary="大委改标记 Mark a large modification order (before the review passes): no e-contract")
    def major_modification(self, order_id: int, data: MajorModificationBody, request: Request[Principal, Any, Any],
                           order_flow: OrderFlowService) -> OrderRefOut:
        return _ref(order_flow.mark_major_modification(request.user, order_id,
                                                                       data.is_major_modification))

    @get("/{order_id:int}/contract", guards=[requires(*READERS)], sync_to_thread=True,
         summary="电子合同 The order's e-contract: parties, configuration, price, terms, SHA-256, acceptance")
    def contract(self, order_id: int, request: Request[Principal, Any, Any], order_flow: OrderFlowService) -> ContractOut:
        return _contract(order_flow.contract(request.user, order_id))

    @get("/{order_id:int}/contract.pdf", guards=[requires(*READERS)], sync_to_thread=True,
         media_type="application/pdf", summary="合同PDF The stored PDF (its SHA-256 is the contract's)")
    def contract_pdf(self, order_id: int, request: Request[Principal, Any, Any], order_flow: OrderFlowService) -> Response[bytes]:
        contract_no, media_type, content = order_flow.contract_pdf(request.user, order_id)
        return Response(content, media_type=media_type,
                        headers={"Content-Disposition": f'inline; filename="{contract_no}.pdf"'})

    @post("/{order_id:int}/contract/accept", guards=[requires(Role.DEALER)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="确认电子合同 The dealer accepts (who, when, IP and user agent recorded)")
    def accept(self, order_id: int, request: Request[Principal, Any, Any], order_flow: OrderFlowService,
               data: AcceptContractBody | None = None) -> OrderRefOut:
        return _ref(order_flow.accept_contract(
            request.user, order_id, ip=_client_ip(request), user_agent=request.headers.get("user-agent"),
            expected_version=data.version if data else None))

    @post("/{order_id:int}/finance/approve", guards=[requires(*FINANCE_ROLES)], status_code=HTTP_200_OK,
          sync_to_thread=True,
          summary="财务审核通过 Reserve credit (the credit rule) and queue the ERP release; 409 with the credit code")
    def finance_approve(self, order_id: int, request: Request[Principal, Any, Any], order_flow: OrderFlowService,
                        data: FinanceApproveBody | None = None) -> FinanceDecisionOut:
        d = order_flow.finance_approve(
            request.user, order_id, credit_override_reason=data.credit_override_reason if data else None,
            expected_version=data.version if data else None)
        return FinanceDecisionOut(_ref(d.order), d.contract_no, d.credit)

    @post("/{order_id:int}/finance/reject", guards=[requires(*FINANCE_ROLES)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="财务驳回 Reject with a reason (the dealer is told)")
    def finance_reject(self, order_id: int, data: FinanceRejectBody, request: Request[Principal, Any, Any],
                       order_flow: OrderFlowService) -> OrderRefOut:
        return _ref(order_flow.finance_reject(request.user, order_id, data.reason))

    @post("/{order_id:int}/finance/resubmit", guards=[requires(*FINANCE_RESUBMITTERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="重新提交财务审核 Back to finance after a rejection")
    def finance_resubmit(self, order_id: int, request: Request[Principal, Any, Any], order_flow: OrderFlowService) -> OrderRefOut:
        return _ref(order_flow.resubmit_to_finance(request.user, order_id))

    @post("/{order_id:int}/changes", guards=[requires(*ORDER_WRITERS)], status_code=HTTP_201_CREATED,
          sync_to_thread=True,
          summary="申请变更 A change request (technical review; before ERP release 退单, after it forwarded to ERP)")
    def request_change(self, order_id: int, data: ChangeRequestBody, request: Request[Principal, Any, Any],
                       order_flow: OrderFlowService) -> ChangeRefOut:
        r = order_flow.request_change(request.user, order_id, data.description)
        return ChangeRefOut(r.id, r.change_no, r.order_id, r.status, r.workflow_id)

    @get("/{order_id:int}/changes", guards=[requires(*READERS)], sync_to_thread=True,
         summary="变更申请 The order's change requests, newest first")
    def changes(self, order_id: int, request: Request[Principal, Any, Any], order_flow: OrderFlowService) -> Page[dict[str, Any]]:
        return Page(order_flow.changes(request.user, order_id), None)
