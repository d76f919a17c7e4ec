"""经销商门户 · 合同与变更: the order's e-contract PDF, the dealer's 确认 — once per form, at the
order version the page showed — and change / 退单 requests, through the order-flow service.
The order page itself (``order_view.order_page``) shows the contract text and the requests."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.response import Redirect

from dealercrm.application.order_flow import OrderFlowService
from dealercrm.application.services.orders import OrdersService
from dealercrm.domain.errors import Conflict, InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.layout import ORDER_READERS, ORDER_WRITERS
from dealercrm.entrypoints.web.pages.order_view import order_page
from dealercrm.entrypoints.web.pages.orders import _int

STALE = "已被他人修改，以下是当前状态，请确认后再操作"


class OrderFlowPages(Controller):
    path = "/orders"

    @get("/{order_id:int}/contract.pdf", guards=[requires(*ORDER_READERS)], sync_to_thread=True)
    def contract_pdf(self, order_id: int, request: Request[Principal, Any, Any],
                     order_flow: OrderFlowService) -> Response[bytes]:
        contract_no, media_type, content = order_flow.contract_pdf(request.user, order_id)
        return Response(content, media_type=media_type,
                        headers={"Content-Disposition": f'inline; filename="{contract_no}.pdf"',
                                 "Cache-Control": "private, no-store"})

    @post("/{order_id:int}/contract/accept", guards=[requires(Role.DEALER)], status_code=303)
    async def accept_contract(self, order_id: int, request: Request[Principal, Any, Any], orders: OrdersService,
                              order_flow: OrderFlowService) -> Any:
        """确认电子合同 at the order version the page showed; a double click books once."""
        form = await request.form()
        token = str(form.get("form_token") or "")[:80]
        agent = (request.headers.get("user-agent") or "")[:300] or None
        ip = request.client.host if request.client else None
        try:
            version = _int(form.get("version"), "version", low=0)
            await sync_to_thread(lambda: order_flow.accept_contract_once(
                request.user, order_id, form_token=token, expected_version=version, ip=ip, user_agent=agent))
        except (InvalidValue, Conflict) as exc:
            notice = STALE if exc.code == "order.stale_version" else exc.message
            status = 409 if isinstance(exc, Conflict) else 422
            return await sync_to_thread(lambda: order_page(request, orders, order_flow, order_id, status_code=status,
                                                           notice=notice))
        return Redirect(path=f"/orders/{order_id}?done=contract", status_code=303)

    @post("/{order_id:int}/changes", guards=[requires(*ORDER_WRITERS)], status_code=303)
    async def request_change(self, order_id: int, request: Request[Principal, Any, Any], orders: OrdersService,
                             order_flow: OrderFlowService) -> Any:
        """申请变更 / 退单: one open request per order, reviewed by the technical department."""
        form = await request.form()
        description = str(form.get("description") or "").strip()
        token = str(form.get("form_token") or "")[:80]
        kept = {"description": description[:1000]}
        errors: dict[str, str] = {}
        if not description:
            errors["description"] = "请填写变更内容或退单原因"
        elif len(description) > 1000:
            errors["description"] = "变更内容不能超过1000字"
        else:
            try:
                await sync_to_thread(lambda: order_flow.request_change_once(request.user, order_id, description,
                                                                            form_token=token))
            except InvalidValue as exc:
                errors["description" if exc.field == "description" else "change_form"] = exc.message
            except Conflict as exc:
                notice = exc.message
                return await sync_to_thread(lambda: order_page(request, orders, order_flow, order_id,
                                                               notice=notice, status_code=409,
                                                               change_values=kept))
        if errors:
            return await sync_to_thread(lambda: order_page(request, orders, order_flow, order_id, status_code=422,
                                                           change_errors=errors, change_values=kept))
        return Redirect(path=f"/orders/{order_id}?done=change#changes", status_code=303)
