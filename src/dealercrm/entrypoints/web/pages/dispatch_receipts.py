"""发运与门卫办公室 (continued): the dealers' receipts of shipments (回执, vehicle by vehicle) and of
self-picked-up vehicles (自提回执, by gate pass), each list with its export, and the discrepancy alarms (到货差异) a differing receipt raises, which dispatch and
the region's sales acknowledge (已知悉) and resolve (已解除)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import Parameter
from litestar.response import Redirect, Stream, Template

from dealercrm.application.access import not_found
from dealercrm.application.exports import Column, ColumnKind, Exporter, Table, keyset_rows
from dealercrm.application.services.engagement import EngagementService
from dealercrm.application.services.gate import GateService
from dealercrm.application.shipping import DISCREPANCY_RULE
from dealercrm.domain.alerts import AlertState
from dealercrm.domain.errors import IllegalTransition, InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.shipping import ReceiptOutcome
from dealercrm.entrypoints.http.downloads import download
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.layout import page

DISPATCHERS = (Role.DISPATCH, Role.ADMIN)
ALARM_READERS = (Role.DISPATCH, Role.ADMIN, Role.SALES, Role.REGION_MANAGER)
PAGE_SIZE = 50
EXPORT_PAGE = 1000
_T, _I, _DT = ColumnKind.TEXT, ColumnKind.INTEGER, ColumnKind.DATETIME
RECEIPT_TABLE = Table("收货回执", (
    Column("receipt_no", "回执单号", _T, 18), Column("shipment_no", "发运单号", _T, 18),
    Column("dealer_code", "经销商编号", _T, 12), Column("dealer_name", "经销商", _T, 28),
    Column("contract_no", "合同编号", _T, 18), Column("received_count", "已收", _I, 6),
    Column("damaged_count", "有损伤", _I, 8), Column("missing_count", "未收到", _I, 8),
    Column("discrepancy_text", "差异", _T, 48), Column("receiver_name", "收货人", _T, 10),
    Column("received_at", "收货时间", _DT, 17),
))
PICKUP_TABLE = Table("自提回执", (
    Column("receipt_no", "回执单号", _T, 18), Column("pass_no", "出门证号", _T, 18),
    Column("dealer_code", "经销商编号", _T, 12), Column("dealer_name", "经销商", _T, 28),
    Column("contract_no", "合同编号", _T, 18), Column("person_name", "提车人", _T, 10),
    Column("exited_at", "出门时间", _DT, 17), Column("received_count", "已收", _I, 6),
    Column("damaged_count", "有损伤", _I, 8), Column("missing_count", "未收到", _I, 8),
    Column("discrepancy_text", "差异", _T, 48), Column("receiver_name", "收货人", _T, 10),
    Column("received_at", "收货时间", _DT, 17),
))
RECEIPT_KINDS = (("shipment", "发运回执"), ("pickup", "自提回执"))
Kind = Annotated[str, Parameter(query="kind", max_length=20)]
STATE_FILTERS = {"live": ("open", "acknowledged"), "open": ("open",), "acknowledged": ("acknowledged",),
                 "resolved": ("resolved",), "all": ("open", "acknowledged", "resolved")}
STATE_LABELS = (("live", "未解除"), ("open", "待处理"), ("acknowledged", "已知悉"), ("resolved", "已解除"),
                ("all", "全部"))


def _decorate_receipt(row: dict[str, Any]) -> dict[str, Any]:
    counts = {o.value: 0 for o in ReceiptOutcome}
    for line in row.get("lines") or ():
        counts[str(line.get("outcome"))] = counts.get(str(line.get("outcome")), 0) + 1
        line["outcome_label"] = ReceiptOutcome(str(line["outcome"])).label
    row["received_count"], row["damaged_count"] = counts["received"], counts["damaged"]
    row["missing_count"] = counts["missing"]
    row["discrepancy_text"] = "；".join(row.get("discrepancies") or ())
    return row


def _receipt_page(gate: GateService, actor: Principal, kind: str, after: int | None,
                  limit: int) -> list[dict[str, Any]]:
    if kind == "pickup":
        return gate.list_pickup_receipts(actor, after_id=after, limit=limit)
    return gate.list_receipts(actor, after_id=after, limit=limit)


class DispatchReceiptPages(Controller):
    path = "/dispatch"

    @get("/receipts", guards=[requires(*DISPATCHERS)], sync_to_thread=True)
    def receipts(self, request: Request[Principal, Any, Any], gate: GateService, kind: Kind = "shipment",
                 after: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None) -> Template:
        error, rows = None, []
        if kind not in dict(RECEIPT_KINDS):
            error = {"field": "kind", "message": "未知的回执类型"}
        else:
            rows = [_decorate_receipt(r) for r in _receipt_page(gate, request.user, kind, after, PAGE_SIZE + 1)]
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        return page(request, "dispatch_receipts.html", title="收货回执", section="dispatch_receipts",
                    crumbs=(("收货回执", None),), rows=rows, kind=kind, kinds=RECEIPT_KINDS, error=error,
                    next_after=rows[-1]["id"] if more and rows else None, status_code=422 if error else 200)

    @get("/receipts/export", guards=[requires(*DISPATCHERS)], sync_to_thread=True)
    def receipts_export(self, request: Request[Principal, Any, Any], gate: GateService, exports: Exporter,
                        file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx",
                        kind: Kind = "shipment") -> Stream:
        exports.check_format(file_format)
        if kind not in dict(RECEIPT_KINDS):
            raise InvalidValue("kind", "未知的回执类型", code="receipt.kind_unknown")
        rows = (_decorate_receipt(r) for r in keyset_rows(
            lambda after: _receipt_page(gate, request.user, kind, after, EXPORT_PAGE),
            lambda r: r["id"], page=EXPORT_PAGE))
        if kind == "pickup":
            return download(exports.download(file_format, "pickup-receipts", PICKUP_TABLE, rows))
        return download(exports.download(file_format, "delivery-receipts", RECEIPT_TABLE, rows))

    @get("/discrepancies", guards=[requires(*ALARM_READERS)], sync_to_thread=True)
    def discrepancies(self, request: Request[Principal, Any, Any], engagement: EngagementService,
                      alert_state: Annotated[str | None, Parameter(query="state", max_length=20)] = None,
                      after: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None) -> Template:
        return self._alarms_page(request, engagement, state=alert_state, after=after)

    def _alarms_page(self, request: Request[Principal, Any, Any], engagement: EngagementService, *,
                     state: str | None, after: int | None = None, notice: str | None = None,
                     status_code: int = 200) -> Template:
        chosen = state or "live"
        error, rows = None, []
        if chosen not in STATE_FILTERS:
            error, status_code = {"field": "state", "message": "未知的处理状态"}, 422
        else:
            rows = engagement.alerts(request.user, states=STATE_FILTERS[chosen], after_id=after, limit=PAGE_SIZE + 1,
                                     rule=DISCREPANCY_RULE)
        for r in rows:
            r["state_label"] = AlertState(str(r["state"])).label
            r["lines"] = str(r.get("body") or "").splitlines()
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        return page(request, "dispatch_discrepancies.html", title="到货差异", section="dispatch_discrepancies",
                    crumbs=(("到货差异", None),), rows=rows, state=chosen, states=STATE_LABELS, error=error,
                    notice=notice, done=request.query_params.get("done"),
                    links=request.user.role in DISPATCHERS,
                    next_query=urlencode({"state": chosen, "after": rows[-1]["id"]}) if more and rows else None,
                    status_code=status_code)

    @post("/discrepancies/{alert_id:int}/acknowledge", guards=[requires(*ALARM_READERS)], status_code=303)
    async def acknowledge(self, alert_id: int, request: Request[Principal, Any, Any],
                          engagement: EngagementService) -> Any:
        return await self._act(request, engagement, alert_id, engagement.acknowledge_alert, "acknowledged")

    @post("/discrepancies/{alert_id:int}/resolve", guards=[requires(*ALARM_READERS)], status_code=303)
    async def resolve(self, alert_id: int, request: Request[Principal, Any, Any],
                      engagement: EngagementService) -> Any:
        return await self._act(request, engagement, alert_id, engagement.resolve_alert, "resolved")

    async def _act(self, request: Request[Principal, Any, Any], engagement: EngagementService, alert_id: int,
                   action: Any, done: str) -> Any:
        alert = await sync_to_thread(engagement.alert, request.user, alert_id)
        if alert["rule"] != DISCREPANCY_RULE:
            raise not_found("alert", "到货差异")  # another kind of alert is not this page's to act on
        try:
            await sync_to_thread(action, request.user, alert_id)
        except IllegalTransition:
            current = AlertState(str((await sync_to_thread(engagement.alert, request.user, alert_id))["state"]))
            notice = f"已被他人修改：到货差异 {alert['key']} 当前为“{current.label}”"
            return await sync_to_thread(lambda: self._alarms_page(request, engagement, state="all", notice=notice,
                                                                  status_code=409))
        return Redirect(path=f"/dispatch/discrepancies?done={done}", status_code=303)
