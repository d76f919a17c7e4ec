"""经销商门户 · 信用与账款: the dealer's credit limit, exposure and what is still available, overdue
receivables with their ageing, invoices (the statement), payments with their allocations and the
contracts' balances — the same credit page read as ``GET /api/v1/credit/me``. The statement
exports as XLSX or CSV (every invoice, streamed in keyset pages)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import Parameter
from litestar.response import Redirect, Stream, Template

from dealercrm.application.exports import (
    Column,
    ColumnKind,
    Exporter,
    Table,
    keyset_rows,
)
from dealercrm.application.services.credit import CreditService
from dealercrm.domain.credit import (
    AGEING_LABELS,
    AccountStatus,
    CommitmentState,
    InvoiceState,
    PaymentCycle,
    PaymentMethod,
)
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.http.downloads import download
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.layout import page

CREDIT_READERS = (Role.DEALER, Role.FINANCE, Role.INVOICING, Role.ADMIN, Role.SALES, Role.REGION_MANAGER)
STAFF_READERS = tuple(r for r in CREDIT_READERS if r is not Role.DEALER)
INVOICE_PAGE = 100
EXPORT_PAGE = 1000
_T, _M, _D = ColumnKind.TEXT, ColumnKind.MONEY, ColumnKind.DATE
INVOICE_TABLE = Table("发票对账单", (
    Column("invoice_no", "发票号", _T, 20), Column("contract_no", "合同号", _T, 18), Column("state_label", "状态", _T, 10),
    Column("amount_fen", "金额", _M, 16), Column("paid_fen", "已回款", _M, 16), Column("open_fen", "未结", _M, 16),
    Column("issued_on", "开票日", _D, 12), Column("due_on", "到期日", _D, 12), Column("settled_on", "结清日", _D, 12),
))


def _label(enum: Any, value: Any) -> str:
    try:
        return str(enum(str(getattr(value, "value", value))).label)
    except ValueError:
        return str(value)


def credit_view(credit: CreditService, actor: Principal, dealer_id: int,
                after_invoice: int | None = None) -> dict[str, Any]:
    """The page's figures: limit, exposure and its parts, available, usage, overdue and ageing."""
    p = credit.page(actor, dealer_id)
    account, parts = p["account"], p["parts"]
    limit = int(account["limit_fen"])
    buckets: dict[str, dict[str, Any]] = {code: {"label": label, "open_fen": 0, "count": 0}
                                         for code, label in AGEING_LABELS.items()}
    for r in p["open_receivables"]:
        buckets[r["bucket"]]["open_fen"] += int(r["open_fen"])
        buckets[r["bucket"]]["count"] += 1
    invoices = credit.invoices(actor, dealer_id=dealer_id, after_id=after_invoice, limit=INVOICE_PAGE + 1)
    return {
        "dealer": p["dealer"],
        "account": account,
        "status_label": _label(AccountStatus, account["status"]),
        "cycle_label": _label(PaymentCycle, account["payment_cycle"]),
        "limit_fen": limit,
        "parts": parts,
        "exposure_fen": parts.exposure_fen,
        "available_fen": limit - parts.exposure_fen,
        "usage_pct": None if limit <= 0 else round(max(0, parts.exposure_fen) * 100 / limit, 1),
        "overdue_fen": p["overdue_fen"],
        "max_days_overdue": p["max_days_overdue"],
        "receivables": [{**r, "bucket_label": AGEING_LABELS[r["bucket"]]} for r in p["open_receivables"]],
        "buckets": list(buckets.values()),
        "contracts": [{**c, "state_label": _label(CommitmentState, c["state"])} for c in p["contracts"]],
        "payments": [{"row": x, "method_label": _label(PaymentMethod, x.method)} for x in p["payments"]],
        "invoices": [{**i, "state_label": _label(InvoiceState, i["state"])} for i in invoices[:INVOICE_PAGE]],
        "next_invoice": invoices[INVOICE_PAGE - 1]["id"] if len(invoices) > INVOICE_PAGE else None,
        "evaluation": p["evaluation"],
    }


def statement_export(credit: CreditService, exports: Exporter, actor: Principal, dealer_id: int,
                     file_format: str) -> Stream:
    """The dealer's invoice statement as a download; the format and the dealer's visibility are
    checked before the file starts."""
    exports.check_format(file_format)
    rows = keyset_rows(lambda after: credit.invoices(actor, dealer_id=dealer_id, after_id=after, limit=EXPORT_PAGE),
                       lambda r: r["id"], page=EXPORT_PAGE)
    dealer_code = credit.page(actor, dealer_id)["dealer"]["code"]
    labelled = ({**r, "state_label": _label(InvoiceState, r["state"])} for r in rows)
    return download(exports.download(file_format, f"statement-{dealer_code}", INVOICE_TABLE, labelled))


class DealerCreditPages(Controller):
    path = "/credit"

    @get("/", guards=[requires(*CREDIT_READERS)], sync_to_thread=True)
    def own(self, request: Request[Principal, Any, Any], credit: CreditService,
            after: Annotated[int | None, Parameter(ge=0, le=2**63 - 1)] = None) -> Any:
        """A dealer's own credit; staff choose a dealer from 我的经销商 (finance from its own pages)."""
        if request.user.role is not Role.DEALER or request.user.dealer_id is None:
            keeper = request.user.role in (Role.REGION_MANAGER, Role.SALES, Role.ADMIN)
            return Redirect(path="/my-dealers" if keeper else "/", status_code=303)
        view = credit_view(credit, request.user, request.user.dealer_id, after)
        return page(request, "credit.html", title="信用与账款", section="credit", crumbs=(("信用与账款", None),),
                    base_path="/credit", **view)

    @get("/export", guards=[requires(Role.DEALER)], sync_to_thread=True)
    def export(self, request: Request[Principal, Any, Any], credit: CreditService, exports: Exporter,
               file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx") -> Stream:
        return statement_export(credit, exports, request.user, request.user.dealer_id or 0, file_format)

    @get("/{dealer_id:int}/export", guards=[requires(*STAFF_READERS)], sync_to_thread=True)
    def export_of_dealer(self, dealer_id: int, request: Request[Principal, Any, Any], credit: CreditService,
                         exports: Exporter,
                         file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx") -> Stream:
        return statement_export(credit, exports, request.user, dealer_id, file_format)

    @get("/{dealer_id:int}", guards=[requires(*STAFF_READERS)], sync_to_thread=True)
    def of_dealer(self, dealer_id: int, request: Request[Principal, Any, Any], credit: CreditService,
                  after: Annotated[int | None, Parameter(ge=0, le=2**63 - 1)] = None) -> Template:
        view = credit_view(credit, request.user, dealer_id, after)
        name = view["dealer"]["legal_name"]
        return page(request, "credit.html", title=f"信用与账款：{name}", section="my_dealers",
                    crumbs=(("我的经销商", "/my-dealers"), (name, f"/my-dealers/{dealer_id}"), ("信用与账款", None)),
                    base_path=f"/credit/{dealer_id}", **view)
