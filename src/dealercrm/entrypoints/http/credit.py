"""HTTP API of the credit context: finance endpoints and the dealer's own credit page.

A dealer user reaches only ``GET /api/v1/credit/me`` (its own dealer, taken from its token);
staff see dealers within their scope (regional sales: their regions), foreign ids are 404.
Payments take an ``Idempotency-Key`` header: the same key and body answer identically and book
once; the same key with another body is a 422.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dealercrm.application import credit as cr
from dealercrm.application.dunning_export import DUNNING_TABLE, dunning_rows
from dealercrm.application.exports import Exporter
from dealercrm.application.reads.credit import AllocationRow, EvaluationRow, PaymentRow
from dealercrm.domain.credit import (
    AGEING_LABELS,
    AccountStatus,
    ChangeRequestState,
    CommitmentState,
    InvoiceState,
    PaymentCycle,
    PaymentMethod,
    VehicleInvoiceStatus,
)
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.http import credit_schemas as s
from dealercrm.entrypoints.http.controllers import decode_cursor, encode_cursor
from dealercrm.entrypoints.http.downloads import EXPORT_RESPONSES, download
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.http.schemas import Page
from dealercrm.application.services.credit import CreditService

FINANCE = (Role.FINANCE, Role.ADMIN)
INVOICING = (Role.FINANCE, Role.INVOICING, Role.ADMIN)
READERS = (Role.FINANCE, Role.INVOICING, Role.ADMIN, Role.SALES, Role.REGION_MANAGER)

Limit = Annotated[int, Parameter(ge=1, le=200, description="page size")]
# Required in the OpenAPI document; a missing header still reaches the use case, whose 422
# (idempotency.key_required) says what to send.
IdempotencyKey = Annotated[str | None, Parameter(header="Idempotency-Key", required=True,
                                                 description="8–200 printable ASCII characters, one per payment")]


def _v(value: Any) -> Any:
    return value.value if hasattr(value, "value") and not isinstance(value, (str, int)) else value


def _usage(limit_fen: int, exposure_fen: int) -> int | None:
    return None if limit_fen <= 0 else max(0, exposure_fen) * 1000 // limit_fen


def _terms(a: dict[str, Any]) -> s.CreditTerms:
    cycle, status = str(_v(a["payment_cycle"])), str(_v(a["status"]))
    return s.CreditTerms(a["limit_fen"], a["term_days"], cycle, PaymentCycle(cycle).label,
                         a["warning_threshold_permille"], status, AccountStatus(status).label, bool(a["warning_active"]),
                         a.get("credit_grade"))


def _allocation_row(a: AllocationRow) -> s.CreditAllocationRow:
    return s.CreditAllocationRow(a.invoice_no, a.contract_no, a.amount_fen, a.allocated_at, a.reversed_at is not None)


def _payment_row(p: PaymentRow) -> s.CreditPaymentRow:
    return s.CreditPaymentRow(
        p.id, p.payment_no, p.dealer_id, p.amount_fen, p.received_on, p.method,
        PaymentMethod(p.method).label, p.source, p.contract_no, p.reference, p.unapplied_fen,
        p.recorded_by, [_allocation_row(a) for a in p.allocations],
    )


def _balance(c: dict[str, Any]) -> s.CreditContractBalance:
    state = str(c["state"])
    return s.CreditContractBalance(c["contract_no"], state, CommitmentState(state).label, c["amount_fen"],
                                   c["invoiced_fen"], c["uninvoiced_fen"], int(c["paid_fen"]),
                                   int(c["receivable_fen"]), c["prepaid_fen"])


def _evaluation(e: EvaluationRow) -> s.CreditEvaluationRow:
    return msgspec.convert(e, s.CreditEvaluationRow, from_attributes=True)


def _page(p: dict[str, Any]) -> s.CreditPageOut:
    a, parts = p["account"], p["parts"]
    return s.CreditPageOut(
        dealer=s.CreditDealerBrief(**p["dealer"]),
        terms=_terms(a),
        exposure=s.CreditExposure(parts.receivable_fen, parts.uninvoiced_fen, parts.prepayment_fen,
                                  parts.exposure_fen, a["limit_fen"] - parts.exposure_fen,
                                  _usage(a["limit_fen"], parts.exposure_fen)),
        overdue_fen=p["overdue_fen"],
        max_days_overdue=p["max_days_overdue"],
        open_receivables=[
            s.CreditReceivableOut(r["id"], r["invoice_no"], r["contract_no"], r["amount_fen"], r["paid_fen"],
                                  r["open_fen"], r["issued_on"], r["due_on"], r["days_overdue"], r["age_days"],
                                  r["bucket"], AGEING_LABELS[r["bucket"]], list(r["vins"]))
            for r in p["open_receivables"]
        ],
        contracts=[_balance(c) for c in p["contracts"]],
        payments=[_payment_row(x) for x in p["payments"]],
        latest_evaluation=_evaluation(p["evaluation"]) if p["evaluation"] else None,
    )


def _invoice_row(i: dict[str, Any]) -> s.CreditInvoiceRow:
    state = str(i["state"])
    return s.CreditInvoiceRow(i["id"], i["invoice_no"], i["dealer_id"], i["contract_no"], i["amount_fen"],
                              i["paid_fen"], i["open_fen"], i["issued_on"], i["due_on"], state,
                              InvoiceState(state).label, list(i["vins"]), i["settled_on"], i["void_reason"])


def _change_row(r: dict[str, Any]) -> s.CreditChangeRequestRow:
    state = str(r["state"])
    return s.CreditChangeRequestRow(r["id"], r["request_no"], r["dealer_id"], state, ChangeRequestState(state).label,
                                    r["changes"], r["previous"], r["reason"], r["requested_by"], r["requested_at"],
                                    r["decided_by"], r["decided_at"], r["decision_note"])


def _cursor(rows: list[dict[str, Any]], limit: int, key: str = "id") -> str | None:
    return encode_cursor(rows[limit - 1][key]) if len(rows) > limit else None


def _allocations(items: list[s.CreditAllocationBody]) -> tuple[cr.AllocationIn, ...]:
    return tuple(cr.AllocationIn(a.contract_no, a.amount_fen) for a in items)


class CreditController(Controller):
    path = "/api/v1/credit"
    tags = ["credit 信用与收款"]

    # -- the dealer's own page ---------------------------------------------------------------------

    @get("/me", guards=[requires(Role.DEALER)], sync_to_thread=True,
         summary="我的信用 The dealer's own credit: limit, exposure with its parts, receivables, payments")
    def me(self, request: Request[Principal, Any, Any], credit: CreditService) -> s.CreditPageOut:
        user = request.user
        if user.dealer_id is None:  # a dealer token always carries its dealer; defence in depth
            raise InvalidValue("dealer_id", "当前用户未关联经销商", code="credit.no_dealer")
        return _page(credit.page(user, user.dealer_id))

    # -- accounts ----------------------------------------------------------------------------------

    @get("/accounts", guards=[requires(*READERS)], sync_to_thread=True,
         summary="信用账户列表 Credit accounts in scope (keyset pagination)")
    def accounts(self, request: Request[Principal, Any, Any], credit: CreditService, status: str | None = None,
                 warning_only: bool = False, cursor: str | None = None, limit: Limit = 50) -> s.CreditAccountList:
        if status is not None and status not in AccountStatus.__members__.values():
            raise InvalidValue("status", "账户状态须为 active 或 frozen", code="credit.status_invalid")
        rows = credit.accounts(request.user, status=status, warning_only=warning_only,
                                               after_id=decode_cursor(cursor), limit=limit + 1)
        items = []
        for r in rows[:limit]:
            exposure = r["receivable_fen"] + r["uninvoiced_fen"] - r["prepayment_fen"]
            st = str(r["status"])
            items.append(s.CreditAccountRow(r["dealer_id"], r["code"], r["legal_name"], r["region"], r["limit_fen"],
                                            r["term_days"], exposure, r["limit_fen"] - exposure,
                                            _usage(r["limit_fen"], exposure), st, AccountStatus(st).label,
                                            bool(r["warning_active"])))
        return s.CreditAccountList(items, _cursor(rows, limit, "dealer_id"))

    @get("/accounts/{dealer_id:int}", guards=[requires(*READERS)], sync_to_thread=True,
         summary="经销商信用详情 A dealer's credit page")
    def account(self, dealer_id: int, request: Request[Principal, Any, Any], credit: CreditService) -> s.CreditPageOut:
        return _page(credit.page(request.user, dealer_id))

    @get("/accounts/{dealer_id:int}/history", guards=[requires(*READERS)], sync_to_thread=True,
         summary="信用变更记录 Audit trail of a dealer's credit (terms, contracts, invoices, payments)")
    def history(self, dealer_id: int, request: Request[Principal, Any, Any],
                credit: CreditService) -> Page[s.CreditHistoryEntry]:
        return Page([s.CreditHistoryEntry(r["at"], r["actor_name"], r["actor_role"], r["entity"], r["entity_id"],
                                          r["action"], r["changes"])
                     for r in credit.history(request.user, dealer_id)], None)

    @post("/accounts/{dealer_id:int}/change-requests", guards=[requires(*FINANCE)], status_code=HTTP_201_CREATED,
          sync_to_thread=True, summary="申请调整信用条件 Propose new credit terms (needs a second approver)")
    def request_change(self, dealer_id: int, data: s.CreditChangeRequestIn, request: Request[Principal, Any, Any],
                       credit: CreditService) -> s.CreditChangeRequestRow:
        out = credit.request_change(request.user, cr.RequestCreditChange(
            dealer_id=dealer_id, reason=data.reason, limit_fen=data.limit_fen, term_days=data.term_days,
            payment_cycle=data.payment_cycle, warning_threshold_permille=data.warning_threshold_permille,
            status=data.status, credit_grade=data.credit_grade))
        return self._change(request.user, credit, out.id)

    @post("/accounts/{dealer_id:int}/apply-prepayments", guards=[requires(*FINANCE)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="预收款核销 Apply unapplied money to open invoices, oldest due first")
    def apply_prepayments(self, dealer_id: int, request: Request[Principal, Any, Any],
                          credit: CreditService) -> s.CreditAppliedOut:
        return s.CreditAppliedOut(dealer_id, credit.apply_prepayments(request.user, dealer_id))

    @get("/accounts/{dealer_id:int}/evaluations", guards=[requires(*READERS)], sync_to_thread=True,
         summary="信用评价 Credit evaluations with their inputs")
    def evaluations(self, dealer_id: int, request: Request[Principal, Any, Any],
                    credit: CreditService) -> Page[s.CreditEvaluationRow]:
        return Page([_evaluation(e) for e in credit.evaluations(request.user, dealer_id)], None)

    @post("/accounts/{dealer_id:int}/evaluations", guards=[requires(*FINANCE)], status_code=HTTP_201_CREATED,
          sync_to_thread=True, summary="立即评价 Evaluate a dealer's credit now")
    def evaluate(self, dealer_id: int, request: Request[Principal, Any, Any], credit: CreditService) -> s.CreditEvaluationRow:
        e = credit.evaluate(request.user, dealer_id)
        return s.CreditEvaluationRow(e.id, e.evaluated_at, e.score, e.grade, e.inputs, e.breakdown, e.formula)

    @get("/accounts/{dealer_id:int}/reconciliation", guards=[requires(*FINANCE)], sync_to_thread=True,
         summary="对账 Maintained exposure parts vs sums over the facts")
    def reconciliation(self, dealer_id: int, request: Request[Principal, Any, Any],
                       credit: CreditService) -> s.CreditReconciliationOut:
        r = credit.reconcile(request.user, dealer_id)
        return s.CreditReconciliationOut(r.dealer_id, r.consistent, r.maintained, r.from_facts)

    # -- change requests ---------------------------------------------------------------------------

    def _change(self, user: Principal, credit: CreditService, request_id: int) -> s.CreditChangeRequestRow:
        return _change_row(credit.queries.change_request(request_id))

    @get("/change-requests", guards=[requires(*READERS)], sync_to_thread=True,
         summary="信用调整申请 Credit change requests (filter by state, dealer)")
    def change_requests(self, request: Request[Principal, Any, Any], credit: CreditService, status: str | None = None,
                        dealer_id: int | None = None, cursor: str | None = None,
                        limit: Limit = 50) -> s.CreditChangeRequestList:
        if status is not None and status not in ChangeRequestState.__members__.values():
            raise InvalidValue("status", "申请状态须为 pending、approved 或 rejected", code="credit.state_invalid")
        rows = credit.change_requests(request.user, dealer_id=dealer_id, state=status,
                                                      after_id=decode_cursor(cursor), limit=limit + 1)
        return s.CreditChangeRequestList([_change_row(r) for r in rows[:limit]], _cursor(rows, limit))

    @post("/change-requests/{request_id:int}/approve", guards=[requires(*FINANCE)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="批准 Approve (a different finance/admin user than the requester)")
    def approve_change(self, request_id: int, data: s.CreditNoteIn, request: Request[Principal, Any, Any],
                       credit: CreditService) -> s.CreditChangeRequestRow:
        credit.approve_change(request.user, request_id, data.note)
        return self._change(request.user, credit, request_id)

    @post("/change-requests/{request_id:int}/reject", guards=[requires(*FINANCE)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="驳回 Reject with a reason")
    def reject_change(self, request_id: int, data: s.CreditReasonIn, request: Request[Principal, Any, Any],
                      credit: CreditService) -> s.CreditChangeRequestRow:
        credit.reject_change(request.user, request_id, data.reason)
        return self._change(request.user, credit, request_id)

    # -- contracts, invoices ---------------------------------------------------------------------

    @get("/contracts/{contract_no:str}", guards=[requires(*READERS)], sync_to_thread=True,
         summary="合同应收 A contract's credit: reserved, invoiced, paid, remaining receivable")
    def contract(self, contract_no: str, request: Request[Principal, Any, Any], credit: CreditService) -> s.CreditContractOut:
        c = credit.contract(request.user, contract_no)
        return s.CreditContractOut(
            c["dealer_id"], _balance(c), [_invoice_row(i) for i in c["invoices"]],
            [s.CreditOverrideRow(o["action"], o["reason"], o["overdue_fen"], o["oldest_due_on"], o["actor"], o["at"])
             for o in c["overrides"]],
        )

    @post("/invoices", guards=[requires(*INVOICING)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="开票 Issue an invoice for a contract (optionally naming its vehicles)")
    def issue_invoice(self, data: s.CreditInvoiceIn, request: Request[Principal, Any, Any],
                      credit: CreditService) -> s.CreditInvoiceRow:
        out = credit.issue_invoice(
            request.user, cr.IssueInvoice(data.contract_no, data.amount_fen, data.issued_on, tuple(data.vins)))
        return self._invoice(credit, out.invoice_id)

    def _invoice(self, credit: CreditService, invoice_id: int) -> s.CreditInvoiceRow:
        return _invoice_row(credit.queries.invoice(invoice_id))

    @post("/invoices/{invoice_id:int}/void", guards=[requires(*INVOICING)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="作废发票 Void an invoice with a reason")
    def void_invoice(self, invoice_id: int, data: s.CreditReasonIn, request: Request[Principal, Any, Any],
                     credit: CreditService) -> s.CreditInvoiceRow:
        out = credit.void_invoice(request.user, invoice_id, data.reason)
        return self._invoice(credit, out.invoice_id)

    @get("/invoices", guards=[requires(*READERS)], sync_to_thread=True,
         summary="发票列表 Invoices (filter by dealer, contract, state, open)")
    def invoices(self, request: Request[Principal, Any, Any], credit: CreditService, dealer_id: int | None = None,
                 contract_no: Annotated[str | None, Parameter(max_length=40)] = None, status: str | None = None,
                 open_only: bool = False, cursor: str | None = None, limit: Limit = 50) -> s.CreditInvoiceList:
        if status is not None and status not in InvoiceState.__members__.values():
            raise InvalidValue("status", "发票状态须为 issued 或 voided", code="credit.state_invalid")
        rows = credit.invoices(request.user, dealer_id=dealer_id, contract_no=contract_no,
                                               state=status, open_only=open_only, after_id=decode_cursor(cursor),
                                               limit=limit + 1)
        return s.CreditInvoiceList([_invoice_row(r) for r in rows[:limit]], _cursor(rows, limit))

    # -- payments -----------------------------------------------------------------------------------

    @post("/payments", guards=[requires(*FINANCE)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="收款 Record a payment (Idempotency-Key header required)")
    def record_payment(self, data: s.CreditPaymentIn, request: Request[Principal, Any, Any], credit: CreditService,
                       idempotency_key: IdempotencyKey = None) -> s.CreditPaymentOut:
        answer = credit.record_payment(request.user, cr.RecordPayment(
            dealer_id=data.dealer_id, amount_fen=data.amount_fen, received_on=data.received_on, method=data.method,
            contract_no=data.contract_no, reference=data.reference, note=data.note, allocation=data.allocation,
            allocations=_allocations(data.allocations)), idempotency_key)
        return msgspec.convert(answer, s.CreditPaymentOut, strict=False)

    @get("/payments", guards=[requires(*READERS)], sync_to_thread=True,
         summary="收款记录 Payments with their allocations")
    def payments(self, request: Request[Principal, Any, Any], credit: CreditService, dealer_id: int | None = None,
                 cursor: str | None = None, limit: Limit = 50) -> s.CreditPaymentList:
        rows = credit.payments(request.user, dealer_id=dealer_id, after_id=decode_cursor(cursor),
                                               limit=limit + 1)
        return s.CreditPaymentList([_payment_row(r) for r in rows[:limit]],
                                   encode_cursor(rows[limit - 1].id) if len(rows) > limit else None)

    @post("/payments/{payment_id:int}/allocations", guards=[requires(*FINANCE)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="核销 Apply a payment's unapplied money (explicit, or oldest due first)")
    def allocate(self, payment_id: int, data: s.CreditAllocateIn, request: Request[Principal, Any, Any],
                 credit: CreditService) -> s.CreditPaymentOut:
        booked = credit.allocate_payment(
            request.user, payment_id, list(_allocations(data.allocations)) if data.allocations else None)
        return msgspec.convert(booked.as_answer(), s.CreditPaymentOut, strict=False)

    # -- receivables, vehicles, reminders ------------------------------------------------------------

    @get("/receivables/ageing", guards=[requires(*READERS)], sync_to_thread=True,
         summary="应收账龄 Receivables ageing (0–30, 31–60, 61–90, >90 days since invoice)")
    def ageing(self, request: Request[Principal, Any, Any], credit: CreditService, dealer_id: int | None = None,
               region: Annotated[str | None, Parameter(max_length=8)] = None) -> s.CreditAgeingOut:
        a = credit.ageing(request.user, dealer_id=dealer_id, region=region)

        def amounts(d: dict[str, Any]) -> dict[str, int]:
            return dict(b0_30_fen=d["0_30"], b31_60_fen=d["31_60"], b61_90_fen=d["61_90"], over_90_fen=d["over_90"],
                        open_fen=d["open_fen"], overdue_fen=d["overdue_fen"])

        return s.CreditAgeingOut(
            a["as_of"], "days since invoice date (账龄按开票日起算); overdue = past due date",
            {"b0_30_fen": AGEING_LABELS["0_30"], "b31_60_fen": AGEING_LABELS["31_60"],
             "b61_90_fen": AGEING_LABELS["61_90"], "over_90_fen": AGEING_LABELS["over_90"]},
            [s.CreditAgeingRow(d["dealer_id"], d["dealer_code"], d["dealer_name"], d["region"], **amounts(d))
             for d in a["dealers"]],
            s.CreditAgeingTotal(**amounts(a["total"])),
        )

    @get("/dunning/export", guards=[requires(*READERS)], sync_to_thread=True, responses=EXPORT_RESPONSES,
         summary="导出催款清单 Overdue invoices per dealer and contract with the dunning level, as CSV or XLSX")
    def export_dunning(self, request: Request[Principal, Any, Any], credit: CreditService, exports: Exporter,
                       file_format: Annotated[str, Parameter(query="format", description="csv | xlsx")] = "csv",
                       region: Annotated[str | None, Parameter(max_length=40)] = None) -> Stream:
        exports.check_format(file_format)
        dealers = credit.dunning(request.user, region=(region or "").strip() or None)
        return download(exports.download(file_format, "dunning", DUNNING_TABLE, dunning_rows(dealers)))

    @get("/vehicles/invoice-status", guards=[requires(*READERS)], sync_to_thread=True,
         summary="车辆开票状态 未开票 / 已开票未收款 / 已开票已收款 for up to 200 VINs")
    def vehicle_status(self, request: Request[Principal, Any, Any], credit: CreditService,
                       vin: Annotated[list[str], Parameter(max_items=200)]) -> Page[s.CreditVinStatus]:
        statuses = credit.invoice_status_of(request.user, [v.strip().upper() for v in vin])
        return Page([s.CreditVinStatus(v, st.value, VehicleInvoiceStatus(st).label) for v, st in statuses.items()], None)

    @post("/reminders/run", guards=[requires(*FINANCE)], status_code=HTTP_200_OK, sync_to_thread=True,
          summary="立即运行催款提醒 Run due-soon / dunning reminders now (idempotent)")
    def run_reminders(self, credit: CreditService) -> s.CreditReminderReportOut:
        r = credit.run_reminders()
        return s.CreditReminderReportOut(r.alerts, r.messages, r.skipped, list(r.failed_dealers))
