"""财务 (continued): invoices (开票: list, detail, entry booked once per form, void), dunning (催款:
overdue receivables per dealer and contract with the dunning level and the reminders queued), and
credit change requests (授信变更: a finance user proposes new terms, a second finance user or an
administrator approves — then they apply — or rejects)."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import Parameter
from litestar.response import Redirect, Stream, Template

from dealercrm.application import credit as cr
from dealercrm.application.dunning_export import DUNNING_TABLE, dunning_rows
from dealercrm.application.exports import Column, ColumnKind, Exporter, Table, keyset_rows
from dealercrm.application.services.credit import CreditService
from dealercrm.domain.credit import AccountStatus, ChangeRequestState, InvoiceState, PaymentCycle
from dealercrm.domain.errors import Conflict, DomainError, IllegalTransition, InvalidValue, NotFound
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.http.controllers import query_day
from dealercrm.entrypoints.http.downloads import download
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.forms import posted_form_token
from dealercrm.entrypoints.web.layout import page
from dealercrm.entrypoints.web.pages.dealer_stock import yuan_to_fen
from dealercrm.entrypoints.web.pages.finance import credit_picture

READERS = (Role.FINANCE, Role.INVOICING, Role.ADMIN, Role.SALES, Role.REGION_MANAGER)
INVOICERS = (Role.FINANCE, Role.INVOICING, Role.ADMIN)
DECIDERS = (Role.FINANCE, Role.ADMIN)
PAGE_SIZE = 50
EXPORT_PAGE = 1000
STALE = "已被他人修改，以下是当前状态，请确认后再操作"
_T, _M, _D, _I = ColumnKind.TEXT, ColumnKind.MONEY, ColumnKind.DATE, ColumnKind.INTEGER
INVOICE_TABLE = Table("发票", (
    Column("invoice_no", "发票号", _T, 18), Column("state_label", "状态", _T, 8), Column("dealer_code", "经销商编号", _T, 12),
    Column("dealer_name", "经销商", _T, 28), Column("contract_no", "合同编号", _T, 18),
    Column("amount_fen", "开票金额", _M, 16), Column("paid_fen", "已收", _M, 16), Column("open_fen", "未收", _M, 16),
    Column("issued_on", "开票日期", _D, 12), Column("due_on", "到期日", _D, 12), Column("vehicle_count", "车辆数", _I, 8),
    Column("vin_list", "车架号", _T, 40),
))
TERM_LABELS = {"limit_fen": "信用额度", "term_days": "信用期限", "payment_cycle": "回款周期",
               "warning_threshold_permille": "预警阈值", "status": "账户状态", "credit_grade": "信用等级"}
REMINDER_LABELS = {"receivable.dunning_level_1": "一级催款（经销商）", "receivable.dunning_level_2": "二级催款函（经销商）",
                   "receivable.dunning_level_3": "三级最后通知（经销商）", "receivable.overdue_sales": "逾期通知（销售代表）",
                   "receivable.overdue_finance": "逾期通知（财务）"}
LEVEL_LABELS = {0: "未催款", 1: "一级（友好提醒）", 2: "二级（正式催款）", 3: "三级（最后通知）"}


def _term_text(name: str, value: Any) -> str:
    """One credit term as people read it (money in 元 exactly, per-mille as a percentage)."""
    if value is None:
        return "—"
    if name == "limit_fen":
        fen = int(value)
        return f"¥{fen // 100:,}.{fen % 100:02d}"
    if name == "term_days":
        return f"{value}天"
    if name == "payment_cycle":
        return PaymentCycle(str(value)).label
    if name == "warning_threshold_permille":
        return f"{int(value) / 10:g}%"
    if name == "credit_grade":
        return f"{value}级"
    return AccountStatus(str(value)).label


def _decorate_invoice(row: dict[str, Any], names: dict[int, dict[str, Any]]) -> dict[str, Any]:
    row["state_label"] = InvoiceState(str(row["state"])).label
    dealer = names.get(int(row["dealer_id"]), {})
    row["dealer_code"], row["dealer_name"] = dealer.get("code", ""), dealer.get("legal_name", "")
    row["vin_list"] = "、".join(row.get("vins") or ())
    row["vehicle_count"] = len(row.get("vins") or ())
    return row


def _dealer_names(credit: CreditService, actor: Principal) -> dict[int, dict[str, Any]]:
    return {int(d["dealer_id"]): d for d in credit.accounts(actor, limit=1000)}


def _invoice_filters(status: str | None, contract_no: str | None) -> tuple[str | None, str | None]:
    if status and status not in {s.value for s in InvoiceState}:
        raise InvalidValue("status", "未知的发票状态", code="status.unknown")
    return status or None, (contract_no or "").strip() or None


def _optional_int(raw: str, field: str, message: str, low: int, high: int) -> int | None:
    text = raw.strip()
    if not text:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        raise InvalidValue(field, message, code="value.out_of_range")
    return int(text)


def _limit_fen(raw: str) -> int | None:
    """A new credit limit in 元 (0 allowed: no credit), or None when left blank."""
    text = raw.replace(",", "").replace("¥", "").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidValue("limit", "请输入金额（元），如 3000000 或 3000000.50", code="money.invalid") from None
    if not value.is_finite() or value < 0 or value > Decimal(10**12) or value != value.quantize(Decimal("0.01")):
        raise InvalidValue("limit", "额度须为0到1万亿元之间、最多两位小数", code="money.out_of_range")
    return int(value * 100)


def _threshold_permille(raw: str) -> int | None:
    text = raw.replace("%", "").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidValue("threshold", "预警阈值须为0.1到100之间的百分数", code="credit.threshold_invalid") from None
    if not value.is_finite() or not Decimal("0.1") <= value <= 100 or value != value.quantize(Decimal("0.1")):
        raise InvalidValue("threshold", "预警阈值须为0.1到100之间的百分数，最多一位小数", code="credit.threshold_invalid")
    return int(value * 10)


class FinanceCreditPages(Controller):
    path = "/finance"

    # -- invoices (开票) ------------------------------------------------------------------------

    @get("/invoices", guards=[requires(*READERS)], sync_to_thread=True)
    def invoices(self, request: Request[Principal, Any, Any], credit: CreditService,
                 status: Annotated[str | None, Parameter(max_length=20)] = None,
                 contract_no: Annotated[str | None, Parameter(max_length=40)] = None,
                 dealer_id: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None,
                 open_only: bool = False,
                 after: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None) -> Template:
        error, rows = None, []
        names = _dealer_names(credit, request.user)
        try:
            state, contract = _invoice_filters(status, contract_no)
            rows = [_decorate_invoice(r, names) for r in credit.invoices(
                request.user, dealer_id=dealer_id, contract_no=contract, state=state, open_only=open_only,
                after_id=after, limit=PAGE_SIZE + 1)]
        except InvalidValue as exc:
            error = {"field": exc.field, "message": exc.message}
        except NotFound:  # a dealer outside the caller's scope filters like an unknown one
            error = {"field": "dealer_id", "message": "经销商不存在或不在您的管辖范围内"}
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        query = {k: v for k, v in (("status", status), ("contract_no", contract_no),
                                   ("dealer_id", str(dealer_id) if dealer_id else None),
                                   ("open_only", "true" if open_only else None)) if v}
        return page(request, "finance_invoices.html", title="发票", section="invoices", crumbs=(("发票", None),),
                    rows=rows, error=error, status=status or "", contract_no=contract_no or "", open_only=open_only,
                    dealer_id=dealer_id, dealers=sorted(names.values(), key=lambda d: str(d.get("code", ""))),
                    statuses=[(s.value, s.label) for s in InvoiceState], export_query=urlencode(query),
                    next_query=urlencode({**query, "after": rows[-1]["id"]}) if more and rows else None,
                    may_issue=request.user.role in INVOICERS,
                    status_code=422 if error else 200)

    @get("/invoices/export", guards=[requires(*READERS)], sync_to_thread=True)
    def invoices_export(self, request: Request[Principal, Any, Any], credit: CreditService, exports: Exporter,
                        file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx",
                        status: Annotated[str | None, Parameter(max_length=20)] = None,
                        contract_no: Annotated[str | None, Parameter(max_length=40)] = None,
                        dealer_id: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None,
                        open_only: bool = False) -> Stream:
        exports.check_format(file_format)
        state, contract = _invoice_filters(status, contract_no)
        names = _dealer_names(credit, request.user)
        rows = (_decorate_invoice(r, names) for r in keyset_rows(
            lambda after: credit.invoices(request.user, dealer_id=dealer_id, contract_no=contract, state=state,
                                          open_only=open_only, after_id=after, limit=EXPORT_PAGE),
            lambda r: r["id"], page=EXPORT_PAGE))
        return download(exports.download(file_format, "invoices", INVOICE_TABLE, rows))

    @get("/invoices/new", guards=[requires(*INVOICERS)], sync_to_thread=True)
    def invoice_form(self, request: Request[Principal, Any, Any], credit: CreditService,
                     contract_no: Annotated[str | None, Parameter(max_length=40)] = None) -> Template:
        values = {"contract_no": contract_no or "", "issued_on": credit.today().isoformat()}
        return self._invoice_form(request, values=values, errors={}, form_token=uuid.uuid4().hex)

    def _invoice_form(self, request: Request[Principal, Any, Any], *, values: dict[str, str],
                      errors: dict[str, str], form_token: str, status_code: int = 200) -> Template:
        return page(request, "finance_invoice_new.html", title="开票", section="invoices",
                    crumbs=(("发票", "/finance/invoices"), ("开票", None)), values=values, errors=errors,
                    form_token=form_token, status_code=status_code)

    @post("/invoices", guards=[requires(*INVOICERS)], status_code=303)
    async def issue_invoice(self, request: Request[Principal, Any, Any], credit: CreditService) -> Any:
        form = await request.form()
        values = {k: str(form.get(k) or "")[:2000] for k in ("contract_no", "amount", "issued_on", "vins")}
        errors: dict[str, str] = {}
        token = str(form.get("form_token") or "")[:64]
        try:
            token = posted_form_token(form)
            contract_no = values["contract_no"].strip()
            if not contract_no:
                raise InvalidValue("contract_no", "请填写合同编号", code="credit.contract_no_invalid")
            amount = yuan_to_fen(values["amount"], "amount")
            day = query_day(values["issued_on"], "issued_on")
            vins = tuple(v.strip().upper() for v in values["vins"].replace("，", ",").replace(",", "\n").splitlines()
                         if v.strip())
            cmd = cr.IssueInvoice(contract_no=contract_no, amount_fen=amount, issued_on=day, vins=vins)
            issued = await sync_to_thread(credit.issue_invoice, request.user, cmd, f"web-form:{token}")
        except InvalidValue as exc:
            field = "vins" if exc.field.startswith("vins") else exc.field
            errors[field if field in values else "form"] = exc.message
        except NotFound as exc:
            errors["contract_no"] = exc.message
        except Conflict as exc:
            errors["vins" if exc.code == "credit.vin_already_invoiced" else "form"] = exc.message
        except DomainError as exc:
            errors["amount" if exc.code == "credit.invoice_exceeds_contract" else "form"] = exc.message
        if errors:
            return self._invoice_form(request, values=values, errors=errors,
                                      form_token=token if token.isalnum() and len(token) >= 16 else uuid.uuid4().hex,
                                      status_code=422)
        return Redirect(path=f"/finance/invoices/{issued.invoice_id}?issued=1", status_code=303)

    @get("/invoices/{invoice_id:int}", guards=[requires(*READERS)], sync_to_thread=True)
    def invoice(self, invoice_id: int, request: Request[Principal, Any, Any], credit: CreditService) -> Template:
        return self._invoice_page(request, credit, invoice_id, errors={}, values={},
                                  issued=request.query_params.get("issued") == "1")

    def _invoice_page(self, request: Request[Principal, Any, Any], credit: CreditService, invoice_id: int, *,
                      errors: dict[str, str], values: dict[str, str], notice: str | None = None,
                      issued: bool = False, status_code: int = 200) -> Template:
        row = credit.invoice(request.user, invoice_id)
        brief = credit.page(request.user, int(row["dealer_id"]))["dealer"]
        row = _decorate_invoice(row, {int(brief["id"]): brief})
        return page(request, "finance_invoice.html", title=f"发票 {row['invoice_no']}", section="invoices",
                    crumbs=(("发票", "/finance/invoices"), (row["invoice_no"], None)), invoice=row, dealer=brief,
                    voidable=str(row["state"]) == InvoiceState.ISSUED.value and request.user.role in INVOICERS,
                    errors=errors, values=values, notice=notice, issued=issued, status_code=status_code)

    @post("/invoices/{invoice_id:int}/void", guards=[requires(*INVOICERS)], status_code=303)
    async def void_invoice(self, invoice_id: int, request: Request[Principal, Any, Any], credit: CreditService) -> Any:
        form = await request.form()
        values = {"reason": str(form.get("reason") or "")[:500]}
        reason = str(form.get("reason") or "").strip()
        try:
            if not reason:
                raise InvalidValue("reason", "请填写作废原因", code="reason.required")
            if len(reason) > 500:
                raise InvalidValue("reason", "内容不能超过500字", code="reason.too_long")
            await sync_to_thread(credit.void_invoice, request.user, invoice_id, reason)
        except InvalidValue as exc:
            errors = {"reason": exc.message}
            return await sync_to_thread(lambda: self._invoice_page(request, credit, invoice_id, errors=errors,
                                                                   values=values, status_code=422))
        except Conflict:
            return await sync_to_thread(lambda: self._invoice_page(request, credit, invoice_id, errors={},
                                                                   values=values, notice=STALE, status_code=409))
        return Redirect(path=f"/finance/invoices/{invoice_id}", status_code=303)

    # -- dunning (催款) -------------------------------------------------------------------------

    @get("/dunning", guards=[requires(*READERS)], sync_to_thread=True)
    def dunning(self, request: Request[Principal, Any, Any], credit: CreditService,
                region: Annotated[str | None, Parameter(max_length=40)] = None) -> Template:
        dealers = credit.dunning(request.user, region=(region or "").strip() or None)
        return page(request, "finance_dunning.html", title="催款", section="dunning", crumbs=(("催款", None),),
                    dealers=dealers, region=region or "", levels=LEVEL_LABELS, reminder_labels=REMINDER_LABELS, as_of=credit.today(),
                    total_fen=sum(d["overdue_fen"] for d in dealers), may_run=request.user.role in DECIDERS,
                    report=None)

    @get("/dunning/export", guards=[requires(*READERS)], sync_to_thread=True)
    def dunning_export(self, request: Request[Principal, Any, Any], credit: CreditService, exports: Exporter,
                       file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx",
                       region: Annotated[str | None, Parameter(max_length=40)] = None) -> Stream:
        exports.check_format(file_format)
        dealers = credit.dunning(request.user, region=(region or "").strip() or None)
        return download(exports.download(file_format, "dunning", DUNNING_TABLE, dunning_rows(dealers)))

    @post("/dunning/run", guards=[requires(*DECIDERS)], status_code=200)
    async def run_dunning(self, request: Request[Principal, Any, Any], credit: CreditService) -> Template:
        report = await sync_to_thread(credit.run_reminders)
        dealers = await sync_to_thread(credit.dunning, request.user)
        return page(request, "finance_dunning.html", title="催款", section="dunning", crumbs=(("催款", None),),
                    dealers=dealers, region="", levels=LEVEL_LABELS, reminder_labels=REMINDER_LABELS, as_of=credit.today(),
                    total_fen=sum(d["overdue_fen"] for d in dealers), may_run=True, report=report)

    # -- credit change requests (授信变更) ---------------------------------------------------------

    @get("/credit-changes", guards=[requires(*READERS)], sync_to_thread=True)
    def credit_changes(self, request: Request[Principal, Any, Any], credit: CreditService,
                       status: Annotated[str | None, Parameter(max_length=20)] = None,
                       after: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None) -> Template:
        error, rows = None, []
        names = _dealer_names(credit, request.user)
        if status and status not in {s.value for s in ChangeRequestState}:
            error = {"field": "status", "message": "未知的申请状态"}
        else:
            rows = [self._decorate_change(r, names) for r in credit.change_requests(
                request.user, state=status or None, after_id=after, limit=PAGE_SIZE + 1)]
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        return page(request, "finance_credit_changes.html", title="授信变更", section="credit_changes",
                    crumbs=(("授信变更", None),), rows=rows, error=error, status=status or "",
                    statuses=[(s.value, s.label) for s in ChangeRequestState],
                    next_after=rows[-1]["id"] if more and rows else None, may_request=request.user.role in DECIDERS,
                    status_code=422 if error else 200)

    @staticmethod
    def _decorate_change(row: dict[str, Any], names: dict[int, dict[str, Any]]) -> dict[str, Any]:
        row["state_label"] = ChangeRequestState(str(row["state"])).label
        dealer = names.get(int(row["dealer_id"]), {})
        row["dealer_code"], row["dealer_name"] = dealer.get("code", ""), dealer.get("legal_name", "")
        previous = row.get("previous") or {}
        row["terms"] = [(TERM_LABELS[k], _term_text(k, previous.get(k)) if row.get("previous") else None,
                         _term_text(k, v)) for k, v in (row.get("changes") or {}).items() if k in TERM_LABELS]
        return row

    @get("/credit-changes/new", guards=[requires(*DECIDERS)], sync_to_thread=True)
    def credit_change_form(self, request: Request[Principal, Any, Any], credit: CreditService,
                           dealer_id: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None) -> Template:
        return self._change_form(request, credit, values={"dealer_id": str(dealer_id or "")}, errors={})

    def _change_form(self, request: Request[Principal, Any, Any], credit: CreditService, *, values: dict[str, str],
                     errors: dict[str, str], status_code: int = 200) -> Template:
        dealers = credit.accounts(request.user, limit=1000)
        current = next((d for d in dealers if str(d["dealer_id"]) == values.get("dealer_id")), None)
        terms = None if current is None else [(TERM_LABELS[k], _term_text(k, current.get(k))) for k in TERM_LABELS]
        return page(request, "finance_credit_change_new.html", title="申请授信变更", section="credit_changes",
                    crumbs=(("授信变更", "/finance/credit-changes"), ("申请", None)), values=values, errors=errors,
                    dealers=dealers, current_terms=terms, cycles=[(c.value, c.label) for c in PaymentCycle],
                    account_statuses=[(s.value, s.label) for s in AccountStatus], grades=("A", "B", "C", "D"),
                    status_code=status_code)

    @post("/credit-changes", guards=[requires(*DECIDERS)], status_code=303)
    async def request_credit_change(self, request: Request[Principal, Any, Any], credit: CreditService) -> Any:
        form = await request.form()
        values = {k: str(form.get(k) or "")[:500] for k in
                  ("dealer_id", "limit", "term_days", "payment_cycle", "threshold", "status", "credit_grade", "reason")}
        errors: dict[str, str] = {}
        try:
            try:
                dealer_id = int(values["dealer_id"])
            except ValueError:
                raise InvalidValue("dealer_id", "请选择经销商", code="dealer.required") from None
            cmd = cr.RequestCreditChange(
                dealer_id=dealer_id, reason=values["reason"].strip(), limit_fen=_limit_fen(values["limit"]),
                term_days=_optional_int(values["term_days"], "term_days", "信用期限须为0到365天", 0, 365),
                payment_cycle=values["payment_cycle"] or None,
                warning_threshold_permille=_threshold_permille(values["threshold"]),
                status=values["status"] or None, credit_grade=values["credit_grade"] or None)
            if not values["reason"].strip():
                raise InvalidValue("reason", "须说明调整原因", code="credit.reason_required")
            out = await sync_to_thread(credit.request_change, request.user, cmd)
        except InvalidValue as exc:
            field = {"limit_fen": "limit", "warning_threshold_permille": "threshold"}.get(exc.field, exc.field)
            errors[field if field in values else "form"] = exc.message
        except NotFound:
            errors["dealer_id"] = "请选择经销商"
        except DomainError as exc:
            errors["form"] = exc.message
        if errors:
            return await sync_to_thread(lambda: self._change_form(request, credit, values=values, errors=errors,
                                                                  status_code=422))
        return Redirect(path=f"/finance/credit-changes/{out.id}", status_code=303)

    @get("/credit-changes/{request_id:int}", guards=[requires(*READERS)], sync_to_thread=True)
    def credit_change(self, request_id: int, request: Request[Principal, Any, Any], credit: CreditService) -> Template:
        return self._change_page(request, credit, request_id, errors={}, values={})

    def _change_page(self, request: Request[Principal, Any, Any], credit: CreditService, request_id: int, *,
                     errors: dict[str, str], values: dict[str, str], notice: str | None = None,
                     status_code: int = 200) -> Template:
        row = credit.change_request(request.user, request_id)
        picture = credit_picture(credit, request.user, int(row["dealer_id"]))
        brief = picture["dealer"]
        row = self._decorate_change(row, {int(brief["id"]): brief})
        pending = str(row["state"]) == ChangeRequestState.PENDING.value
        return page(request, "finance_credit_change.html", title=f"授信变更 {row['request_no']}",
                    section="credit_changes", crumbs=(("授信变更", "/finance/credit-changes"), (row["request_no"], None)),
                    change=row, credit=picture, decidable=pending and request.user.role in DECIDERS,
                    own_request=row.get("requested_by_id") == request.user.user_id,
                    errors=errors, values=values, notice=notice, status_code=status_code)

    @post("/credit-changes/{request_id:int}/decide", guards=[requires(*DECIDERS)], status_code=303)
    async def decide_credit_change(self, request_id: int, request: Request[Principal, Any, Any],
                                   credit: CreditService) -> Any:
        form = await request.form()
        decision = str(form.get("decision") or "")
        values = {"note": str(form.get("note") or "")[:500], "reason": str(form.get("reason") or "")[:500]}
        try:
            if len(str(form.get("note") or "")) > 500 or len(str(form.get("reason") or "")) > 500:
                raise InvalidValue("reason" if form.get("reason") else "note", "内容不能超过500字",
                                   code="reason.too_long")
            if decision == "approve":
                await sync_to_thread(credit.approve_change, request.user, request_id, values["note"].strip() or None)
            elif decision == "reject":
                if not values["reason"].strip():
                    raise InvalidValue("reason", "请填写驳回原因", code="reason.required")
                await sync_to_thread(credit.reject_change, request.user, request_id, values["reason"].strip())
            else:
                raise InvalidValue("decision", "请选择批准或驳回", code="decision.unknown")
        except InvalidValue as exc:
            errors = {exc.field if exc.field in ("note", "reason") else "decision": exc.message}
            return await sync_to_thread(lambda: self._change_page(request, credit, request_id, errors=errors,
                                                                  values=values, status_code=422))
        except NotFound:
            raise
        except DomainError as exc:
            stale = isinstance(exc, IllegalTransition)
            errors = {} if stale else {"decision": exc.message}
            return await sync_to_thread(lambda: self._change_page(
                request, credit, request_id, errors=errors, values=values,
                notice=STALE if stale else None, status_code=409))
        return Redirect(path=f"/finance/credit-changes/{request_id}", status_code=303)
