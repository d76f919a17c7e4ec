"""工厂 · 特殊配置报价 (核价): the quote requests waiting for the factory — with their age, dealer and
configuration — and the page where an admin or region manager issues the price, through the same
orders service as the JSON API. The price is typed in yuan and kept in fen exactly; the form is
issued once per form token (a double click gives one quote) at the order version it showed, so a
stale form answers 已被他人修改 with the current state. Another region's order is the 404 page."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.response import Redirect, Template

from dealercrm.application.orders import QUOTE_ISSUERS
from dealercrm.application.services.orders import OrdersService
from dealercrm.domain.errors import Conflict, IllegalTransition, InvalidValue
from dealercrm.domain.identity import Principal
from dealercrm.domain.orders import OrderState, QuoteStatus
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.layout import page
from dealercrm.entrypoints.web.pages.dealer_stock import yuan_to_fen
from dealercrm.entrypoints.web.pages.order_flow import STALE

FIELDS = ("unit_price", "valid_until", "note")
#: the service's field names → the form's
FORM_FIELDS = {"unit_price_fen": "unit_price", "valid_until": "valid_until", "note": "note"}
MAX_VERSION = 2**31 - 1


def _text(value: Any) -> str:
    return str(getattr(value, "value", value))


def _quote_input(values: dict[str, str]) -> tuple[int, dt.date, str | None]:
    """The form's values as the service takes them; each bad field is a 422 naming it."""
    price = yuan_to_fen(values["unit_price"], "unit_price")
    if not values["valid_until"]:
        raise InvalidValue("valid_until", "请选择报价有效期", code="quote.validity_required")
    try:
        valid_until = dt.date.fromisoformat(values["valid_until"])
    except ValueError:
        raise InvalidValue("valid_until", "请选择报价有效期（年-月-日）", code="date.invalid") from None
    if len(values["note"]) > 500:
        raise InvalidValue("note", "报价说明不能超过500字", code="quote.note_too_long")
    return price, valid_until, values["note"] or None


def _version(raw: Any) -> int | None:
    text = str(raw or "")
    return int(text) if text.isdigit() and int(text) <= MAX_VERSION else None


class FactoryQuotePages(Controller):
    path = "/factory/quotes"
    guards = [requires(*QUOTE_ISSUERS)]

    @get("/", sync_to_thread=True)
    def requests(self, request: Request[Principal, Any, Any], orders: OrdersService) -> Template:
        now = orders.now()
        rows = [{"row": r, "age": (now - r.requested_at).total_seconds()} for r in orders.quote_requests(request.user)]
        return page(request, "factory_quotes.html", title="特殊配置报价", section="factory_quotes",
                    crumbs=(("特殊配置报价", None),), rows=rows)

    @get("/{order_id:int}", sync_to_thread=True)
    def quote_page(self, order_id: int, request: Request[Principal, Any, Any], orders: OrdersService) -> Template:
        flash = "报价已发出，经销商确认后订单回到草稿。" if request.query_params.get("done") == "issued" else None
        return self._page(request, orders, order_id, values=dict.fromkeys(FIELDS, ""), errors={}, flash=flash)

    def _page(self, request: Request[Principal, Any, Any], orders: OrdersService, order_id: int, *,
              values: dict[str, str], errors: dict[str, str], status_code: int = 200, notice: str | None = None,
              flash: str | None = None) -> Template:
        order = orders.detail(request.user, order_id)
        state = OrderState(_text(order["state"]))
        quotes = sorted(order.get("quotes") or (), key=lambda q: q["seq"], reverse=True)
        for q in quotes:
            q["status_label"] = QuoteStatus(_text(q["status"])).label
        asked = next((q for q in quotes if _text(q["status"]) == "requested"), None)
        issued = next((q for q in quotes if _text(q["status"]) == "issued"), None)
        options = [line for line in (order.get("estimate") or {}).get("lines") or () if line.get("kind") == "option"]
        return page(request, "factory_quote.html", title=f"核价报价：{order['order_no']}", section="factory_quotes",
                    crumbs=(("特殊配置报价", "/factory/quotes"), (order["order_no"], None)), order=order, state=state,
                    asked=asked, issued=issued, quotes=quotes, options=options,
                    open=state is OrderState.AWAITING_QUOTE and asked is not None, values=values, errors=errors,
                    form_token=uuid.uuid4().hex, notice=notice, flash=flash, status_code=status_code)

    @post("/{order_id:int}", status_code=303)
    async def issue(self, order_id: int, request: Request[Principal, Any, Any], orders: OrdersService) -> Any:
        """发出报价 once per form token, at the order version the form showed."""
        form = await request.form()
        values = {name: str(form.get(name) or "").strip()[:600] for name in FIELDS}
        token = str(form.get("form_token") or "")[:80]
        version = _version(form.get("version"))
        try:
            price, valid_until, note = _quote_input(values)
            await sync_to_thread(lambda: orders.issue_quote_once(
                request.user, order_id, price, note, valid_until, form_token=token, expected_version=version))
        except InvalidValue as exc:
            errors = {FORM_FIELDS.get(exc.field or "", exc.field if exc.field in FIELDS else "form"): exc.message}
            return await sync_to_thread(lambda: self._page(request, orders, order_id, values=values, errors=errors,
                                                           status_code=422))
        except (Conflict, IllegalTransition) as exc:
            notice = STALE if exc.code == "order.stale_version" else exc.message
            return await sync_to_thread(lambda: self._page(request, orders, order_id, values=values, errors={},
                                                           notice=notice, status_code=409))
        return Redirect(path=f"/factory/quotes/{order_id}?done=issued", status_code=303)
