"""Parts supply in the web UI (issue 18 §5): a station's parts orders with replenishment
suggestions, its transfers and its paid-repair bills; the factory's parts order queue (confirm,
ship); the service-income report per station with its export. Every action calls the same
``PartsSupplyService`` as the API; refusals are shown on the page (422 / 409), another station's
documents are 404."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import Parameter
from litestar.response import Redirect, Stream, Template

from dealercrm.application.services.parts_supply import (
    INCOME_READERS,
    STAFF,
    WORKERS,
    PartsSupplyService,
)
from dealercrm.domain.errors import Conflict, InvalidValue, NotFound
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.http.downloads import download
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.layout import page

User = Request[Principal, Any, Any]
ORDER_ACTIONS = ("confirm", "ship", "receive", "cancel")


def _int(form: Any, field: str) -> int | None:
    raw = str(form.get(field) or "").strip()
    return int(raw) if raw.isdigit() and len(raw) <= 9 else None


class PartsSupplyPages(Controller):
    path = "/parts-supply"

    def _page(self, request: User, svc: PartsSupplyService, station_id: int | None, *, error: str | None = None,
              status_code: int = 200) -> Template:
        user = request.user
        sid = user.station_id if user.role is Role.STATION else station_id
        suggestions: list[dict[str, Any]] = []
        if sid is not None:
            try:
                suggestions = svc.suggestions(user, sid)
            except NotFound:
                sid, suggestions = None, []
        return page(request, "parts_supply.html", title="配件订购与调拨", section="parts_supply",
                    crumbs=(("配件订购与调拨", None),), station_id=sid, staff=user.role in STAFF,
                    orders=svc.orders(user, station_id=sid, limit=50),
                    transfers=svc.transfers(user, station_id=sid, limit=50),
                    bills=svc.bills(user, station_id=sid, limit=50), suggestions=suggestions,
                    error=error, status_code=status_code)

    @get("/", guards=[requires(*WORKERS)], sync_to_thread=True)
    def index(self, request: User, parts_supply: PartsSupplyService,
              station_id: Annotated[int | None, Parameter(ge=1)] = None) -> Template:
        return self._page(request, parts_supply, station_id)

    async def _act(self, request: User, svc: PartsSupplyService, station_id: int | None, call: Any) -> Any:
        try:
            await sync_to_thread(call)
        except (InvalidValue, Conflict) as exc:
            status, message = (422 if isinstance(exc, InvalidValue) else 409), exc.message
            return await sync_to_thread(lambda: self._page(request, svc, station_id, error=message,
                                                           status_code=status))
        suffix = f"?station_id={station_id}" if station_id and request.user.role in STAFF else ""
        return Redirect(path=f"/parts-supply/{suffix}", status_code=303)

    @post("/orders", guards=[requires(*WORKERS)], status_code=303)
    async def submit_order(self, request: User, parts_supply: PartsSupplyService) -> Any:
        form = await request.form()
        sid = request.user.station_id if request.user.role is Role.STATION else _int(form, "station_id")
        part_nos = [str(x).strip()[:40] for x in form.getall("part_no", [])][:200]
        quantities = [str(x).strip()[:9] for x in form.getall("quantity", [])][:200]
        lines = [(p, int(q)) for p, q in zip(part_nos, quantities, strict=False) if p and q.isdigit() and int(q) > 0]
        note = str(form.get("note") or "").strip()[:500] or None
        if sid is None:
            return await sync_to_thread(lambda: self._page(request, parts_supply, None, error="请选择服务站",
                                                           status_code=422))
        return await self._act(request, parts_supply, sid,
                               lambda: parts_supply.submit_order(request.user, sid, lines, note))

    @post("/orders/{order_id:int}/{action:str}", guards=[requires(*WORKERS)], status_code=303)
    async def order_action(self, order_id: int, action: str, request: User, parts_supply: PartsSupplyService) -> Any:
        form = await request.form()
        sid = _int(form, "station_id")
        text = str(form.get("text") or "").strip()[:100] or None
        calls = {"confirm": lambda: parts_supply.confirm_order(request.user, order_id),
                 "ship": lambda: parts_supply.ship_order(request.user, order_id, text),
                 "receive": lambda: parts_supply.receive_order(request.user, order_id),
                 "cancel": lambda: parts_supply.cancel_order(request.user, order_id, text)}
        if action not in calls:
            raise NotFound("没有这个操作", code="page.not_found")
        if action in ("confirm", "ship") and request.user.role not in STAFF:
            raise NotFound("配件订单不存在", code="parts_order.not_found")
        return await self._act(request, parts_supply, sid, calls[action])

    @post("/transfers", guards=[requires(*WORKERS)], status_code=303)
    async def ship_transfer(self, request: User, parts_supply: PartsSupplyService) -> Any:
        form = await request.form()
        src = request.user.station_id if request.user.role is Role.STATION else _int(form, "from_station_id")
        dst, qty = _int(form, "to_station_id"), _int(form, "quantity")
        part_no = str(form.get("part_no") or "").strip()[:40]
        note = str(form.get("note") or "").strip()[:500] or None
        if src is None or dst is None or qty is None or not part_no:
            return await sync_to_thread(lambda: self._page(request, parts_supply, src,
                                                           error="请填写调出、调入服务站、配件编号和数量",
                                                           status_code=422))
        return await self._act(request, parts_supply, src, lambda: parts_supply.ship_transfer(
            request.user, src, dst, [(part_no, qty)], note))

    @post("/transfers/{transfer_id:int}/receive", guards=[requires(*WORKERS)], status_code=303)
    async def receive_transfer(self, transfer_id: int, request: User, parts_supply: PartsSupplyService) -> Any:
        form = await request.form()
        return await self._act(request, parts_supply, _int(form, "station_id"),
                               lambda: parts_supply.receive_transfer(request.user, transfer_id))

    @post("/bills/{bill_id:int}/pay", guards=[requires(*WORKERS)], status_code=303)
    async def pay_bill(self, bill_id: int, request: User, parts_supply: PartsSupplyService) -> Any:
        form = await request.form()
        note = str(form.get("note") or "").strip()[:500] or None
        return await self._act(request, parts_supply, _int(form, "station_id"),
                               lambda: parts_supply.pay_bill(request.user, bill_id, note))

    @post("/bills", guards=[requires(*WORKERS)], status_code=303)
    async def issue_bill(self, request: User, parts_supply: PartsSupplyService) -> Any:
        form = await request.form()
        name = str(form.get("customer_name") or "").strip()[:100] or None
        record_id, sid = _int(form, "record_id"), _int(form, "station_id")
        if record_id is None:
            return await sync_to_thread(lambda: self._page(request, parts_supply, sid, error="请填写维修记录编号",
                                                           status_code=422))
        return await self._act(request, parts_supply, sid,
                               lambda: parts_supply.issue_bill(request.user, record_id, name))

    @get("/income", guards=[requires(*INCOME_READERS)], sync_to_thread=True)
    def income(self, request: User, parts_supply: PartsSupplyService,
               month: Annotated[str | None, Parameter(max_length=7)] = None) -> Template:
        chosen = month or parts_supply.this_month()
        errors: dict[str, str] = {}
        rows: list[dict[str, Any]] = []
        try:
            rows = parts_supply.income(request.user, chosen)
        except InvalidValue as exc:
            errors["month"] = exc.message
        totals = {k: sum(r[k] for r in rows) for k in ("billed_fen", "paid_fen", "claim_fen", "income_fen")}
        return page(request, "service_income.html", title="服务收入报表", section="service_income",
                    crumbs=(("服务收入报表", None),), month=chosen, rows=rows, totals=totals, errors=errors,
                    status_code=422 if errors else 200)

    @get("/income/export", guards=[requires(*INCOME_READERS)], sync_to_thread=True)
    def export_income(self, request: User, parts_supply: PartsSupplyService,
                      month: Annotated[str, Parameter(max_length=7)],
                      file_format: Annotated[str, Parameter(query="format")] = "xlsx") -> Stream:
        return download(parts_supply.export_income(request.user, month, file_format))
