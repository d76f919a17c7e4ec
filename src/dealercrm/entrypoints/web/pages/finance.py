"""财务: the finance queue (orders in finance review and gate passes waiting for approval), each
decision page with the dealer's credit picture beside the request, payment entry (booked once per
form, the form token being the payment's idempotency key) and receivables ageing with its export."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import Parameter
from litestar.response import Redirect, Stream, Template

from dealercrm.application import credit as cr
from dealercrm.application.exports import Column, ColumnKind, Exporter, Table
from dealercrm.application.order_flow import OrderFlowService
from dealercrm.application.services.credit import CreditService
from dealercrm.application.services.gate import GateService
from dealercrm.application.services.orders import OrdersService
from dealercrm.domain.credit import AGEING_BUCKETS, AGEING_LABELS
from dealercrm.domain.errors import BusinessRuleViolation, Conflict, DomainError, InvalidValue
from dealercrm.domain.gate import GatePassStatus
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.orders import OrderState
from dealercrm.entrypoints.http.controllers import query_day
from dealercrm.entrypoints.http.downloads import download
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.forms import posted_form_token
from dealercrm.entrypoints.web.layout import page
from dealercrm.entrypoints.web.pages.orders import state_label

FINANCE_STAFF = (Role.FINANCE, Role.ADMIN)
PASS_APPROVERS = (Role.FINANCE,)
AGEING_READERS = (Role.FINANCE, Role.INVOICING, Role.ADMIN, Role.SALES, Role.REGION_MANAGER)
QUEUE_LIMIT = 200
PAYMENT_METHODS = (("bank_transfer", "银行转账"), ("acceptance_bill", "承兑汇票"), ("cash", "现金"))
_M, _T = ColumnKind.MONEY, ColumnKind.TEXT
AGEING_TABLE = Table("应收账龄", (
    Column("dealer_code", "经销商编号", _T, 12), Column("dealer_name", "经销商", _T, 30), Column("region", "区域", _T, 8),
    *(Column(b, AGEING_LABELS[b], _M, 16) for b in AGEING_BUCKETS),
    Column("overdue_fen", "其中逾期", _M, 16), Column("open_fen", "应收合计", _M, 18),
))


def credit_picture(credit: CreditService, actor: Principal, dealer_id: int) -> dict[str, Any]:
    """What finance weighs beside a request: limit, exposure (with its parts), available, overdue."""
    data = credit.page(actor, dealer_id)
    account, parts = data["account"], data["parts"]
    exposure = parts.exposure_fen
    return {
        "dealer": data["dealer"], "limit_fen": account["limit_fen"], "exposure_fen": exposure,
        "available_fen": account["limit_fen"] - exposure, "receivable_fen": parts.receivable_fen,
        "uninvoiced_fen": parts.uninvoiced_fen, "prepayment_fen": parts.prepayment_fen,
        "overdue_fen": data["overdue_fen"], "max_days_overdue": data["max_days_overdue"],
        "status": str(account["status"]), "warning": bool(account.get("warning_active")),
        "term_days": account.get("term_days"),
    }


def _reason(form: Any, name: str, *, required: bool, label: str = "原因") -> str | None:
    value = str(form.get(name) or "").strip()
    if len(value) > 500:
        raise InvalidValue(name, "内容不能超过500字", code="reason.too_long")
    if required and not value:
        raise InvalidValue(name, f"请填写{label}", code="reason.required")
    return value or None


def _required_reason(form: Any, name: str, label: str) -> str:
    return _reason(form, name, required=True, label=label) or ""  # required: never empty


def _yuan_to_fen(raw: str, field: str) -> int:
    text = raw.strip().replace(",", "").replace("¥", "")
    whole, _, cents = text.partition(".")
    if not whole.isdigit() or (cents and (not cents.isdigit() or len(cents) > 2)):
        raise InvalidValue(field, "请输入金额（元），最多两位小数", code="money.invalid")
    fen = int(whole) * 100 + int((cents or "0").ljust(2, "0"))
    if fen <= 0 or fen > 10**15:
        raise InvalidValue(field, "金额须大于0", code="money.out_of_range")
    return fen


class FinancePages(Controller):
    path = "/finance"

    @get("/", guards=[requires(*FINANCE_STAFF)], sync_to_thread=True)
    def queue(self, request: Request[Principal, Any, Any], orders: OrdersService, gate: GateService) -> Template:
        order_rows = orders.list_orders(request.user, {"states": [OrderState.FINANCE_REVIEW.value]}, None, QUEUE_LIMIT)
        passes = gate.list_passes(request.user, status=GatePassStatus.PENDING_APPROVAL.value, limit=QUEUE_LIMIT)
        return page(request, "finance_queue.html", title="财务审批", section="finance", crumbs=(("财务审批", None),),
                    orders=order_rows, passes=passes,
                    done=request.query_params.get("done"))

    # -- an order in finance review -----------------------------------------------------------

    @get("/orders/{order_id:int}", guards=[requires(*FINANCE_STAFF)], sync_to_thread=True)
    def order_decision(self, order_id: int, request: Request[Principal, Any, Any], orders: OrdersService,
                       credit: CreditService) -> Template:
        return self._order_page(request, orders, credit, order_id, errors={}, values={})

    def _order_page(self, request: Request[Principal, Any, Any], orders: OrdersService, credit: CreditService,
                    order_id: int, *, errors: dict[str, str], values: dict[str, str], notice: str | None = None,
                    status_code: int = 200) -> Template:
        order = orders.detail(request.user, order_id)
        order["state_label"] = state_label(order["state"])
        picture = credit_picture(credit, request.user, int(order["dealer_id"]))
        decidable = str(order["state"]) == OrderState.FINANCE_REVIEW.value
        return page(request, "finance_order.html", title=f"财务审批：订单 {order['order_no']}", section="finance",
                    crumbs=(("财务审批", "/finance"), (order["order_no"], None)), order=order, credit=picture,
                    decidable=decidable, exceeds=order["total_fen"] > picture["available_fen"], errors=errors,
                    values=values, notice=notice, status_code=status_code)

    @post("/orders/{order_id:int}/decide", guards=[requires(*FINANCE_STAFF)], status_code=303)
    async def decide_order(self, order_id: int, request: Request[Principal, Any, Any], orders: OrdersService,
                           order_flow: OrderFlowService, credit: CreditService) -> Any:
        form = await request.form()
        decision = str(form.get("decision") or "")
        values = {"reason": str(form.get("reason") or "")[:500],
                  "override_reason": str(form.get("override_reason") or "")[:500]}
        try:
            version = int(str(form.get("version") or ""))
        except ValueError:
            version = None
        try:
            if decision == "approve":
                override = _reason(form, "override_reason", required=False)
                await sync_to_thread(lambda: order_flow.finance_approve(
                    request.user, order_id, credit_override_reason=override, expected_version=version))
            elif decision == "reject":
                reason = _required_reason(form, "reason", "驳回原因")
                await sync_to_thread(order_flow.finance_reject, request.user, order_id, reason)
            else:
                raise InvalidValue("decision", "请选择批准或驳回", code="decision.unknown")
        except InvalidValue as exc:
            errors = {exc.field or "decision": exc.message}
            return await sync_to_thread(lambda: self._order_page(request, orders, credit, order_id, errors=errors,
                                                                 values=values, status_code=422))
        except (Conflict, BusinessRuleViolation) as exc:
            stale = "stale" in exc.code
            notice = "已被他人修改，以下是当前状态，请确认后再操作" if stale else exc.message
            field = "override_reason" if exc.code.startswith("credit.") else "decision"
            errors = {} if stale else {field: exc.message}
            return await sync_to_thread(lambda: self._order_page(
                request, orders, credit, order_id, errors=errors, values=values, notice=notice, status_code=409))
        return Redirect(path="/finance?done=order", status_code=303)

    # -- a gate pass waiting for approval -----------------------------------------------------

    @get("/passes/{gate_pass_id:int}", guards=[requires(*FINANCE_STAFF)], sync_to_thread=True)
    def pass_decision(self, gate_pass_id: int, request: Request[Principal, Any, Any], gate: GateService,
                      credit: CreditService) -> Template:
        return self._pass_page(request, gate, credit, gate_pass_id, errors={}, values={})

    def _pass_page(self, request: Request[Principal, Any, Any], gate: GateService, credit: CreditService,
                   gate_pass_id: int, *, errors: dict[str, str], values: dict[str, str],
                   status_code: int = 200) -> Template:
        gate_pass = gate.gate_pass(request.user, gate_pass_id)
        status = GatePassStatus(str(gate_pass["status"]))
        picture = credit_picture(credit, request.user, int(gate_pass["dealer_id"]))
        return page(request, "finance_pass.html", title=f"财务审批：出门证 {gate_pass['pass_no']}", section="finance",
                    crumbs=(("财务审批", "/finance"), (gate_pass["pass_no"], None)), gate_pass=gate_pass,
                    status_label=status.label, credit=picture,
                    decidable=status is GatePassStatus.PENDING_APPROVAL and request.user.role in PASS_APPROVERS,
                    errors=errors, values=values, status_code=status_code)

    @post("/passes/{gate_pass_id:int}/decide", guards=[requires(*PASS_APPROVERS)], status_code=303)
    async def decide_pass(self, gate_pass_id: int, request: Request[Principal, Any, Any], gate: GateService,
                          credit: CreditService) -> Any:
        form = await request.form()
        decision = str(form.get("decision") or "")
        values = {"reason": str(form.get("reason") or "")[:500]}
        try:
            if decision == "approve":
                await sync_to_thread(gate.approve_pass, request.user, gate_pass_id)
            elif decision == "reject":
                reason = _required_reason(form, "reason", "驳回原因")
                await sync_to_thread(gate.reject_pass, request.user, gate_pass_id, reason)
            else:
                raise InvalidValue("decision", "请选择批准或驳回", code="decision.unknown")
        except (InvalidValue, Conflict, BusinessRuleViolation) as exc:
            field = exc.field if isinstance(exc, InvalidValue) and exc.field else "decision"
            code = 422 if isinstance(exc, InvalidValue) else 409
            errors = {field: exc.message}
            return await sync_to_thread(lambda: self._pass_page(request, gate, credit, gate_pass_id,
                                                                errors=errors, values=values, status_code=code))
        return Redirect(path="/finance?done=pass", status_code=303)

    # -- payment entry (收款登记) ---------------------------------------------------------------

    @get("/payments/new", guards=[requires(*FINANCE_STAFF)], sync_to_thread=True)
    def payment_form(self, request: Request[Principal, Any, Any], credit: CreditService,
                     dealer_id: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None) -> Template:
        values = {"dealer_id": str(dealer_id or ""), "received_on": credit.today().isoformat(),
                  "method": "bank_transfer"}
        return self._payment_page(request, credit, values=values, errors={}, form_token=uuid.uuid4().hex)

    def _payment_page(self, request: Request[Principal, Any, Any], credit: CreditService, *, values: dict[str, str],
                      errors: dict[str, str], form_token: str, booked: dict[str, Any] | None = None,
                      status_code: int = 200) -> Template:
        dealers = credit.accounts(request.user, limit=500)
        return page(request, "finance_payment.html", title="收款登记", section="payments",
                    crumbs=(("财务审批", "/finance"), ("收款登记", None)), values=values, errors=errors,
                    form_token=form_token, dealers=dealers, methods=PAYMENT_METHODS, booked=booked,
                    status_code=status_code)

    @post("/payments", guards=[requires(*FINANCE_STAFF)], status_code=200)
    async def book_payment(self, request: Request[Principal, Any, Any], credit: CreditService) -> Template:
        form = await request.form()
        values = {k: str(form.get(k) or "")[:200] for k in
                  ("dealer_id", "amount", "received_on", "method", "contract_no", "reference", "note")}
        token = str(form.get("form_token") or "")[:64]
        errors: dict[str, str] = {}
        booked = None
        try:
            posted_form_token(form)
            try:
                dealer_id = int(values["dealer_id"])
            except ValueError:
                raise InvalidValue("dealer_id", "请选择经销商", code="dealer.required") from None
            amount = _yuan_to_fen(values["amount"], "amount")
            day = query_day(values["received_on"], "received_on")
            if day is None:
                raise InvalidValue("received_on", "请选择到账日期", code="payment.received_on_required")
            cmd = cr.RecordPayment(dealer_id=dealer_id, amount_fen=amount, received_on=day,
                                   method=values["method"] or "bank_transfer",
                                   contract_no=values["contract_no"].strip() or None,
                                   reference=values["reference"].strip() or None, note=values["note"].strip() or None)
            booked = await sync_to_thread(credit.record_payment, request.user, cmd, f"web-form:{token}")
        except InvalidValue as exc:
            errors[exc.field if exc.field in values else "form"] = exc.message
        except DomainError as exc:
            errors["form"] = exc.message
        if errors:
            return await sync_to_thread(lambda: self._payment_page(request, credit, values=values, errors=errors,
                                                                   form_token=token or uuid.uuid4().hex,
                                                                   status_code=422))
        return await sync_to_thread(lambda: self._payment_page(
            request, credit, values={"received_on": values["received_on"], "method": "bank_transfer"}, errors={},
            form_token=uuid.uuid4().hex, booked=booked))

    # -- receivables ageing (应收账龄) ---------------------------------------------------------

    @get("/ageing", guards=[requires(*AGEING_READERS)], sync_to_thread=True)
    def ageing(self, request: Request[Principal, Any, Any], credit: CreditService,
               region: Annotated[str | None, Parameter(max_length=40)] = None) -> Template:
        data = credit.ageing(request.user, region=region or None)
        return page(request, "finance_ageing.html", title="应收账龄", section="ageing", crumbs=(("应收账龄", None),),
                    data=data, buckets=[(b, AGEING_LABELS[b]) for b in AGEING_BUCKETS],
                    region=region or "", export_query=urlencode({"region": region} if region else {}))

    @get("/ageing/export", guards=[requires(*AGEING_READERS)], sync_to_thread=True)
    def ageing_export(self, request: Request[Principal, Any, Any], credit: CreditService, exports: Exporter,
                      file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx",
                      region: Annotated[str | None, Parameter(max_length=40)] = None) -> Stream:
        exports.check_format(file_format)
        data = credit.ageing(request.user, region=region or None)
        total = {"dealer_code": "", "dealer_name": "合计", "region": "", **data["total"]}
        return download(exports.download(file_format, "receivables-ageing", AGEING_TABLE, [*data["dealers"], total]))
