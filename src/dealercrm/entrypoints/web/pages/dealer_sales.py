"""经销商门户 · 我的经销商 (sales side): the monthly sales forecast (提报 next month's before its
deadline, and forecast vs the orders actually submitted), key accounts (重点客户) with their bid
cases, campaign leads (线索) to follow up, and quotes for special configurations (报价) to accept or
decline. The pages call ``MarketingService`` and ``OrdersService``, which own the scope checks: a
dealer sees its own records only, and another dealer's is the 404 page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import Parameter
from litestar.response import Redirect, Template

from dealercrm.application import forecasts as fc
from dealercrm.application import key_accounts as ka
from dealercrm.application.services.channel import ChannelService
from dealercrm.application.services.marketing import MarketingService
from dealercrm.application.services.orders import OrdersService
from dealercrm.application.services.regions import RegionsService
from dealercrm.domain.campaigns import MAX_FOLLOW_UP_NOTE, LeadStatus
from dealercrm.domain.channel import ProductLine
from dealercrm.domain.errors import Conflict, InvalidValue
from dealercrm.domain.forecasts import MAX_QUANTITY, LineIn, add_months, month_start
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.key_accounts import AccountContact, BidOutcome
from dealercrm.domain.orders import OrderState, QuoteStatus
from dealercrm.domain.values import SHANGHAI
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.forms import new_form_token, posted_form_token
from dealercrm.entrypoints.web.layout import page
from dealercrm.entrypoints.web.pages import marketing_leads as ml
from dealercrm.entrypoints.web.pages.dealer_stock import yuan_to_fen

DEALERS = (Role.DEALER,)
PAGE_SIZE = 50
LINES = tuple((p.value, p.label) for p in ProductLine)
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
ACCOUNT_FIELDS = ("name", "industry", "region", "contact_name", "contact_title", "contact_phone", "notes")
BID_FIELDS = ("title", "bid_on", "outcome", "amount", "product_line", "quantity", "competitors", "reasons")
QUOTE_STATES = (OrderState.AWAITING_QUOTE.value, OrderState.QUOTED.value)
LEAD_CONVERTIBLE = tuple(s.value for s in OrderState if s not in (
    OrderState.DRAFT, OrderState.AWAITING_QUOTE, OrderState.QUOTED, OrderState.CANCELLED))


def _text(value: Any) -> str:
    inner = getattr(value, "value", value)
    return "" if inner is None else str(inner)


def _line_label(code: Any) -> str:
    try:
        return ProductLine(_text(code)).label
    except ValueError:
        return _text(code) or "—"


def _month(raw: str | None, default: dt.date) -> tuple[dt.date, str | None]:
    if not raw:
        return default, None
    if not MONTH.match(raw):
        return default, "月份格式须为 年-月，如 2027-01"
    return dt.date(int(raw[:4]), int(raw[5:]), 1), None


def _error_field(exc: Exception, fields: tuple[str, ...], renames: dict[str, str] | None = None) -> str:
    field = str(getattr(exc, "field", "") or "")
    field = (renames or {}).get(field, field)
    return field if field in fields else "form"


class DealerSalesPages(Controller):
    path = "/"

    # -- 销售预测 ---------------------------------------------------------------------------------

    @get("/forecasts", guards=[requires(*DEALERS)], sync_to_thread=True)
    def forecasts(self, request: Request[Principal, Any, Any], marketing: MarketingService,
                  month: Annotated[str | None, Parameter(max_length=7)] = None) -> Template:
        return self._forecasts(request, marketing, month, values=None, errors={})

    def _forecasts(self, request: Request[Principal, Any, Any], marketing: MarketingService, month: str | None, *,
                   values: dict[str, str] | None, errors: dict[str, str], status_code: int = 200) -> Template:
        now = marketing.now()
        this_month = month_start(now.astimezone(SHANGHAI).date())
        target = fc.next_month(now)
        shown, month_error = _month(month, this_month)
        if month_error:
            errors = {**errors, "month": month_error}
            status_code = 422
        current = marketing.forecasts(request.user, month=target, limit=1)
        if values is None:
            quantities = {x["product_line"]: x["quantity"] for x in current[0]["lines"]} if current else {}
            values = {code: str(quantities[code]) if code in quantities else "" for code, _ in LINES}
        report = marketing.forecast_report(request.user, shown)
        mine = report["dealers"][0] if report["dealers"] else None
        comparison = [{**x, "label": _line_label(x["product_line"])} for x in mine["lines"]] if mine else []
        history = marketing.forecasts(request.user, limit=12)
        deadline = marketing.forecast_deadline(target)
        done = "预测已提交。截止前可随时修改。" if request.query_params.get("done") else None
        return page(request, "dealer_forecasts.html", title="销售预测", section="dealer_forecasts",
                    crumbs=(("销售预测", None),), lines=LINES, values=values, errors=errors, target=target,
                    deadline=deadline, closed=now >= deadline, current=current[0] if current else None,
                    shown=shown, shown_text=f"{shown:%Y-%m}", mine=mine, comparison=comparison, flash=done,
                    previous=f"{add_months(shown, -1):%Y-%m}", following=f"{add_months(shown, 1):%Y-%m}",
                    history=[{**h, "lines_text": "、".join(f"{_line_label(x['product_line'])} {x['quantity']}台"
                                                          for x in h["lines"])} for h in history],
                    status_code=status_code)

    @post("/forecasts", guards=[requires(*DEALERS)], status_code=303)
    async def submit_forecast(self, request: Request[Principal, Any, Any], marketing: MarketingService) -> Any:
        form = await request.form()
        values = {code: str(form.get(code) or "").strip()[:10] for code, _ in LINES}
        errors: dict[str, str] = {}
        lines = []
        for code, _ in LINES:
            if not values[code]:
                continue
            if not values[code].isdigit() or int(values[code]) > MAX_QUANTITY:
                errors[code] = f"请填写0到{MAX_QUANTITY}之间的整数台数"
            else:
                lines.append(LineIn(code, int(values[code])))
        if not errors and not lines:
            errors["form"] = "请至少填写一个产品线的预测台数"
        if not errors:
            try:
                await sync_to_thread(marketing.submit_forecast, request.user,
                                     fc.SubmitForecast(month=fc.next_month(marketing.now()), lines=tuple(lines)))
            except (InvalidValue, Conflict) as exc:
                errors["form"] = exc.message
                status = 409 if isinstance(exc, Conflict) else 422
                return await sync_to_thread(lambda: self._forecasts(request, marketing, None, values=values,
                                                                    errors=errors, status_code=status))
        if errors:
            return await sync_to_thread(lambda: self._forecasts(request, marketing, None, values=values,
                                                                errors=errors, status_code=422))
        return Redirect(path="/forecasts?done=1", status_code=303)

    # -- 重点客户 ---------------------------------------------------------------------------------

    @get("/key-accounts", guards=[requires(*DEALERS)], sync_to_thread=True)
    def key_accounts(self, request: Request[Principal, Any, Any], marketing: MarketingService,
                     channel: ChannelService, regions: RegionsService,
                     before: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None) -> Template:
        region = channel.dealer_detail(request.user, request.user.dealer_id or 0)["region"]
        values = {name: "" for name in ACCOUNT_FIELDS} | {"region": region}
        return self._accounts(request, marketing, regions, before, values=values, errors={})

    def _accounts(self, request: Request[Principal, Any, Any], marketing: MarketingService, regions: RegionsService,
                  before: int | None, *, values: dict[str, str], errors: dict[str, str],
                  status_code: int = 200) -> Template:
        rows = marketing.key_accounts(request.user, before_id=before, limit=PAGE_SIZE + 1)
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        return page(request, "dealer_key_accounts.html", title="重点客户", section="dealer_key_accounts",
                    crumbs=(("重点客户", None),), rows=rows, next_before=rows[-1]["id"] if more and rows else None,
                    values=values, errors=errors, regions=regions.active_names(), status_code=status_code)

    @post("/key-accounts", guards=[requires(*DEALERS)], status_code=303)
    async def file_key_account(self, request: Request[Principal, Any, Any], marketing: MarketingService,
                               regions: RegionsService) -> Any:
        form = await request.form()
        values = {name: str(form.get(name) or "").strip()[:2000 if name == "notes" else 200] for name in ACCOUNT_FIELDS}
        try:
            contacts: tuple[AccountContact, ...] = ()
            if values["contact_name"] or values["contact_phone"]:
                contacts = (AccountContact(values["contact_name"], values["contact_title"], values["contact_phone"]),)
            account_id = await sync_to_thread(marketing.file_key_account, request.user, ka.FileKeyAccount(
                name=values["name"], industry=values["industry"], region=values["region"], contacts=contacts,
                notes=values["notes"] or None))
        except (InvalidValue, Conflict) as exc:
            field = _error_field(exc, ACCOUNT_FIELDS, {"contacts[0].name": "contact_name",
                                                      "contacts[0].phone": "contact_phone"})
            errors = {field: exc.message}
            status = 409 if isinstance(exc, Conflict) else 422
            return await sync_to_thread(lambda: self._accounts(request, marketing, regions, None, values=values,
                                                               errors=errors, status_code=status))
        return Redirect(path=f"/key-accounts/{account_id}?done=filed", status_code=303)

    @get("/key-accounts/{account_id:int}", guards=[requires(*DEALERS)], sync_to_thread=True)
    def key_account(self, account_id: int, request: Request[Principal, Any, Any],
                    marketing: MarketingService) -> Template:
        today = marketing.now().astimezone(SHANGHAI).date()
        values = {name: "" for name in BID_FIELDS} | {"bid_on": today.isoformat(), "outcome": BidOutcome.WON.value}
        return self._account(request, marketing, account_id, values=values, errors={})

    def _account(self, request: Request[Principal, Any, Any], marketing: MarketingService, account_id: int, *,
                 values: dict[str, str], errors: dict[str, str], status_code: int = 200) -> Template:
        account = marketing.key_account(request.user, account_id)
        bids = [{**b, "outcome_label": BidOutcome(_text(b["outcome"])).label,
                 "line_label": _line_label(b["product_line"]) if b["product_line"] else "—"}
                for b in account["bid_cases"]]
        flash = {"filed": "重点客户已登记。", "bid": "投标记录已保存。"}.get(str(request.query_params.get("done") or ""))
        return page(request, "dealer_key_account.html", title=account["name"], section="dealer_key_accounts",
                    crumbs=(("重点客户", "/key-accounts"), (account["name"], None)), account=account, bids=bids,
                    values=values, errors=errors, lines=LINES, outcomes=[(o.value, o.label) for o in BidOutcome],
                    flash=flash, status_code=status_code)

    @post("/key-accounts/{account_id:int}/bids", guards=[requires(*DEALERS)], status_code=303)
    async def record_bid(self, account_id: int, request: Request[Principal, Any, Any],
                         marketing: MarketingService) -> Any:
        await sync_to_thread(marketing.key_account, request.user, account_id)  # a foreign account: the 404 page
        form = await request.form()
        values = {name: str(form.get(name) or "").strip()[:2000 if name == "reasons" else 200] for name in BID_FIELDS}
        try:
            if not values["title"]:
                raise InvalidValue("title", "请填写项目名称", code="bid.title_required")
            try:
                bid_on = dt.date.fromisoformat(values["bid_on"])
            except ValueError:
                raise InvalidValue("bid_on", "请选择投标日期", code="bid.date_invalid") from None
            amount = yuan_to_fen(values["amount"], "amount")
            quantity = None
            if values["quantity"]:
                if not values["quantity"].isdigit():
                    raise InvalidValue("quantity", "台数须为整数", code="bid.quantity_invalid")
                quantity = int(values["quantity"])
            competitors = tuple(c.strip() for c in re.split(r"[,，、;；\n]", values["competitors"]) if c.strip())
            await sync_to_thread(marketing.record_bid, request.user, ka.RecordBid(
                account_id=account_id, title=values["title"], bid_on=bid_on, outcome=values["outcome"],
                amount_fen=amount, product_line=values["product_line"] or None, quantity=quantity,
                competitors=competitors, reasons=values["reasons"] or None))
        except (InvalidValue, Conflict) as exc:
            errors = {_error_field(exc, BID_FIELDS, {"amount_fen": "amount"}): exc.message}
            status = 409 if isinstance(exc, Conflict) else 422
            return await sync_to_thread(lambda: self._account(request, marketing, account_id, values=values,
                                                              errors=errors, status_code=status))
        return Redirect(path=f"/key-accounts/{account_id}?done=bid", status_code=303)

    # -- 线索 -------------------------------------------------------------------------------------

    @get("/leads", guards=[requires(*DEALERS)], sync_to_thread=True)
    def leads(self, request: Request[Principal, Any, Any], marketing: MarketingService,
              status: Annotated[str | None, Parameter(max_length=20)] = None, due: bool = False,
              before: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None) -> Template:
        error = None
        if status and status not in LeadStatus.__members__.values():
            error, status = {"field": "status", "message": "未知的线索状态"}, None
        today = marketing.contact_today()
        rows = [{**ml.decorate_lead(r, today), "line_label": _line_label(r["product_line"])}
                for r in marketing.leads(request.user, status=status or None, due=due, before_id=before,
                                         limit=PAGE_SIZE + 1)]
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        query = {k: v for k, v in (("status", status), ("due", "true" if due else None)) if v}
        return page(request, "dealer_leads.html", title="线索", section="dealer_leads", crumbs=(("线索", None),),
                    rows=rows, status=status or "", due=due, error=error,
                    statuses=[(s.value, s.label) for s in LeadStatus],
                    next_before=rows[-1]["id"] if more and rows else None,
                    status_query=urlencode(query), status_code=422 if error else 200)

    @get("/leads/{lead_id:int}", guards=[requires(*DEALERS)], sync_to_thread=True)
    def lead(self, lead_id: int, request: Request[Principal, Any, Any], marketing: MarketingService,
             orders: OrdersService) -> Template:
        return self._lead(request, marketing, orders, lead_id, values=dict(ml.EMPTY_FOLLOW_UP), errors={})

    def _lead(self, request: Request[Principal, Any, Any], marketing: MarketingService, orders: OrdersService,
              lead_id: int, *, values: dict[str, str], errors: dict[str, str], status_code: int = 200) -> Template:
        lead = ml.decorate_lead(marketing.lead(request.user, lead_id), marketing.contact_today())
        status = LeadStatus(lead["status"])
        open_lead = status in (LeadStatus.NEW, LeadStatus.CONTACTED)
        candidates = orders.list_orders(request.user, {"states": list(LEAD_CONVERTIBLE)}, limit=100) if open_lead else []
        flash = {"contacted": "已记录跟进。", "converted": "线索已成交。", "lost": "线索已标记为流失。"}.get(
            str(request.query_params.get("done") or ""))
        return page(request, "dealer_lead.html", title=f"线索：{lead['name']}", section="dealer_leads",
                    crumbs=(("线索", "/leads"), (lead["name"], None)), lead=lead, status=status,
                    line_label=_line_label(lead["product_line"]), open_lead=open_lead, candidates=candidates,
                    history=ml.history(lead, marketing.lead_follow_ups(request.user, lead_id)),
                    channels=ml.CHANNELS, max_note=MAX_FOLLOW_UP_NOTE, form_token=new_form_token(),
                    values={**ml.EMPTY_FOLLOW_UP, **values}, errors=errors, flash=flash, status_code=status_code)

    @post("/leads/{lead_id:int}/{action:str}", guards=[requires(*DEALERS)], status_code=303)
    async def follow_up(self, lead_id: int, action: str, request: Request[Principal, Any, Any],
                        marketing: MarketingService, orders: OrdersService) -> Any:
        form = await request.form()
        values = ml.follow_up_values(form)
        try:
            await sync_to_thread(marketing.lead, request.user, lead_id)
            cmd = ml.follow_up_command(action, values, None)
            token = posted_form_token(form)
            await sync_to_thread(lambda: marketing.follow_up_lead_once(request.user, lead_id, cmd, form_token=token))
        except (InvalidValue, Conflict) as exc:
            errors = ml.follow_up_error(exc)
            status = 409 if isinstance(exc, Conflict) else 422
            return await sync_to_thread(lambda: self._lead(request, marketing, orders, lead_id, values=values,
                                                           errors=errors, status_code=status))
        done = {"contacted": "contacted", "convert": "converted", "lost": "lost"}[action]
        return Redirect(path=f"/leads/{lead_id}?done={done}", status_code=303)

    # -- 特殊配置报价 -----------------------------------------------------------------------------

    @get("/quotes", guards=[requires(*DEALERS)], sync_to_thread=True)
    def quotes(self, request: Request[Principal, Any, Any], orders: OrdersService) -> Template:
        rows = [{"row": r, "state_label": OrderState(_text(r.state)).label}
                for r in orders.list_orders(request.user, {"states": list(QUOTE_STATES)}, limit=200)]
        return page(request, "dealer_quotes.html", title="特殊配置报价", section="dealer_quotes",
                    crumbs=(("特殊配置报价", None),), rows=rows)

    @get("/quotes/{order_id:int}", guards=[requires(*DEALERS)], sync_to_thread=True)
    def quote(self, order_id: int, request: Request[Principal, Any, Any], orders: OrdersService) -> Template:
        return self._quote(request, orders, order_id, values={}, errors={})

    def _quote(self, request: Request[Principal, Any, Any], orders: OrdersService, order_id: int, *,
               values: dict[str, str], errors: dict[str, str], status_code: int = 200) -> Template:
        order = orders.detail(request.user, order_id)
        state = OrderState(_text(order["state"]))
        quotes = sorted(order.get("quotes") or (), key=lambda q: q["seq"], reverse=True)
        issued = next((q for q in quotes if _text(q["status"]) == "issued"), None)
        flash = {"accepted": "已接受报价，订单回到草稿，可提交订单。", "declined": "已拒绝报价。"}.get(
            str(request.query_params.get("done") or ""))
        return page(request, "dealer_quote.html", title=f"报价：{order['order_no']}", section="dealer_quotes",
                    crumbs=(("特殊配置报价", "/quotes"), (order["order_no"], None)), order=order, state=state,
                    quotes=[{**q, "status_label": QuoteStatus(_text(q["status"])).label} for q in quotes], issued=issued,
                    decidable=state is OrderState.QUOTED and issued is not None, values=values, errors=errors,
                    flash=flash, status_code=status_code)

    @post("/quotes/{order_id:int}/accept", guards=[requires(*DEALERS)], status_code=303)
    async def accept_quote(self, order_id: int, request: Request[Principal, Any, Any], orders: OrdersService) -> Any:
        try:
            await sync_to_thread(orders.accept_quote, request.user, order_id)
        except Conflict as exc:
            errors = {"form": exc.message}
            return await sync_to_thread(lambda: self._quote(request, orders, order_id, values={}, errors=errors,
                                                            status_code=409))
        return Redirect(path=f"/quotes/{order_id}?done=accepted", status_code=303)

    @post("/quotes/{order_id:int}/decline", guards=[requires(*DEALERS)], status_code=303)
    async def decline_quote(self, order_id: int, request: Request[Principal, Any, Any], orders: OrdersService) -> Any:
        form = await request.form()
        values = {"reason": str(form.get("reason") or "").strip()[:600]}
        try:
            if len(values["reason"]) > 500:
                raise InvalidValue("reason", "拒绝原因不能超过500字", code="reason.too_long")
            await sync_to_thread(orders.decline_quote, request.user, order_id, values["reason"] or None)
        except (InvalidValue, Conflict) as exc:
            errors = {_error_field(exc, ("reason",)): exc.message}
            status = 409 if isinstance(exc, Conflict) else 422
            return await sync_to_thread(lambda: self._quote(request, orders, order_id, values=values, errors=errors,
                                                            status_code=status))
        return Redirect(path=f"/quotes/{order_id}?done=declined", status_code=303)
