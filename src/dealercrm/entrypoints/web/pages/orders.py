"""经销商门户 · 订单: the order list with filters, the order page with its timeline, and the
configurator (options grouped, constraints checked as the user picks, a live estimate)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

import attrs
from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import MultiDict
from litestar.params import Parameter
from litestar.response import Redirect, Stream, Template

from dealercrm.application import orders as uc
from dealercrm.application.exports import Column, ColumnKind, Exporter, Table, keyset_rows
from dealercrm.application.order_flow import OrderFlowService
from dealercrm.application.services.orders import OrdersService
from dealercrm.domain.channel import ProductLine
from dealercrm.domain.errors import Conflict, InvalidValue
from dealercrm.domain.identity import Principal
from dealercrm.domain.orders import DeliveryMethod, OrderState
from dealercrm.domain.values import SHANGHAI
from dealercrm.entrypoints.http.controllers import query_day
from dealercrm.entrypoints.http.downloads import download
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.layout import ORDER_READERS, ORDER_WRITERS, fragment, page
from dealercrm.entrypoints.web.pages.order_view import order_page as render_order
from dealercrm.entrypoints.web.pages.order_view import state_label

PAGE_SIZE = 50
EXPORT_PAGE = 1000
ORDER_TABLE = Table("订单", (
    Column("order_no", "订单号", ColumnKind.TEXT, 18), Column("dealer_code", "经销商编号", ColumnKind.TEXT, 12),
    Column("dealer_name", "经销商", ColumnKind.TEXT, 28), Column("region", "区域", ColumnKind.TEXT, 8),
    Column("model_code", "车型代码", ColumnKind.TEXT, 14), Column("template_name", "车型", ColumnKind.TEXT, 24),
    Column("quantity", "数量", ColumnKind.INTEGER, 6), Column("unit_price_fen", "单价", ColumnKind.MONEY, 16),
    Column("total_fen", "金额", ColumnKind.MONEY, 18), Column("state_label", "状态", ColumnKind.TEXT, 10),
    Column("requested_delivery_date", "要求交期", ColumnKind.DATE, 12),
    Column("contract_no", "合同编号", ColumnKind.TEXT, 18), Column("erp_tracking_no", "流转单号", ColumnKind.TEXT, 18),
    Column("created_at", "下单时间", ColumnKind.DATETIME, 17),
))
STATE_CHOICES = tuple((s.value, s.label) for s in OrderState)
PRODUCT_LINE_CHOICES = tuple((p.value, p.label) for p in ProductLine)


def product_line_filter(product_line: str | None) -> dict[str, Any]:
    """The order list's 产品线 filter (``InvalidValue`` naming the field when unknown)."""
    if not product_line:
        return {}
    if product_line not in ProductLine.__members__.values():
        raise InvalidValue("product_line", "未知的产品线", code="product_line.unknown")
    return {"product_line": product_line}


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), SHANGHAI).astimezone(dt.UTC)


def _int(value: Any, field: str, *, low: int = 1, high: int = 2**63 - 1) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InvalidValue(field, "请输入整数", code="number.invalid") from None
    if not low <= number <= high:
        raise InvalidValue(field, f"须在 {low} 到 {high} 之间", code="number.out_of_range")
    return number


def _options(form: Any) -> tuple[str, ...]:
    """The picked options in a stable order (radio groups send ``group:<code>``, checkboxes ``options``)."""
    picked = [str(v) for k, v in form.multi_items() if k == "options" or k.startswith("group:")]
    return tuple(dict.fromkeys(v[:40] for v in picked if v))


def _configurator(orders: OrdersService, actor: Principal, template_id: int, form: Any) -> dict[str, Any]:
    """The template's option groups with what is picked and what an exclusion rules out, the
    problems of the selection and the live estimate."""
    detail = orders.template_detail(actor, template_id)
    published = detail.get("published")
    if not published:
        raise InvalidValue("template", "该车型尚未发布", code="vehicle_template.unpublished")
    position = {o["code"]: i for i, o in enumerate(o for g in published["content"]["option_groups"]
                                                 for o in g["options"])}
    picked = tuple(sorted(_options(form), key=lambda code: position.get(code, len(position))))
    raw_quantity = str(form.get("quantity") or "1")
    quantity_error = None
    try:
        quantity = _int(raw_quantity, "quantity", high=999)
    except InvalidValue as exc:
        quantity, quantity_error = 1, exc.message
    check = orders.check_configuration(actor, uc.EstimateIn(template_id, picked, quantity))
    names = {o["code"]: o["name"] for g in published["content"]["option_groups"] for o in g["options"]}
    return {"template": detail, "content": published["content"], "version": published["version"], "names": names,
            "picked": set(picked), "blocked": check.blocked, "problems": check.problems,
            "estimate": check.estimate, "quantity": raw_quantity, "quantity_error": quantity_error}


def order_filters(order_state: str | None, created_from: str | None, created_to: str | None,
                  q: str | None) -> dict[str, Any]:
    """The order list's filters from the URL (``InvalidValue`` naming the field when one is wrong)."""
    filters: dict[str, Any] = {}
    if order_state:
        if order_state not in OrderState.__members__.values():
            raise InvalidValue("state", "未知的订单状态", code="order.state_unknown")
        filters["states"] = [order_state]
    start, end = query_day(created_from, "from"), query_day(created_to, "to")
    if start:
        filters["created_from"] = _day_start(start)
    if end:
        filters["created_to"] = _day_start(end + dt.timedelta(days=1))
    if q and q.strip():
        filters["text"] = q.strip()
    return filters


class OrderPages(Controller):
    path = "/orders"

    @get("/", guards=[requires(*ORDER_READERS)], sync_to_thread=True)
    def order_list(
        self, request: Request[Principal, Any, Any], orders: OrdersService,
        order_state: Annotated[str | None, Parameter(query="state", max_length=40)] = None,
        created_from: Annotated[str | None, Parameter(query="from", max_length=10)] = None,
        created_to: Annotated[str | None, Parameter(query="to", max_length=10)] = None,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        product_line: Annotated[str | None, Parameter(max_length=20)] = None,
        before: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None,
    ) -> Template:
        error = None
        rows: list[Any] = []
        filters: dict[str, Any] = {}
        try:
            filters = order_filters(order_state, created_from, created_to, q)
            filters.update(product_line_filter(product_line))
            rows = orders.list_orders(request.user, filters, before, PAGE_SIZE + 1)
        except InvalidValue as exc:
            error = {"field": exc.field, "message": exc.message}
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        rows = [{**attrs.asdict(r, recurse=False), "state_label": state_label(r.state)} for r in rows]
        query = {"state": order_state or "", "from": created_from or "", "to": created_to or "", "q": q or ""}
        query["product_line"] = product_line or ""
        return page(request, "orders.html", title="订单", section="orders", crumbs=(("订单", None),),
                    rows=rows, more_before=rows[-1]["id"] if more and rows else None, query=query,
                    states=STATE_CHOICES, error=error, filtered=bool(filters) or before is not None,
                    product_lines=PRODUCT_LINE_CHOICES,
                    export_query=urlencode({k: v for k, v in query.items() if v}))

    @get("/export", guards=[requires(*ORDER_READERS)], sync_to_thread=True)
    def export(
        self, request: Request[Principal, Any, Any], orders: OrdersService, exports: Exporter,
        file_format: Annotated[str, Parameter(query="format", max_length=10)] = "xlsx",
        order_state: Annotated[str | None, Parameter(query="state", max_length=40)] = None,
        created_from: Annotated[str | None, Parameter(query="from", max_length=10)] = None,
        created_to: Annotated[str | None, Parameter(query="to", max_length=10)] = None,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        product_line: Annotated[str | None, Parameter(max_length=20)] = None,
    ) -> Stream:
        """The filtered order list (every page, newest first) as XLSX or CSV."""
        exports.check_format(file_format)
        filters = order_filters(order_state, created_from, created_to, q)
        filters.update(product_line_filter(product_line))
        rows = keyset_rows(lambda before: orders.list_orders(request.user, filters, before, EXPORT_PAGE),
                           lambda r: r.id, page=EXPORT_PAGE)
        labelled = ({**attrs.asdict(r, recurse=False), "state_label": state_label(r.state)} for r in rows)
        return download(exports.download(file_format, "orders", ORDER_TABLE, labelled))

    @get("/{order_id:int}", guards=[requires(*ORDER_READERS)], sync_to_thread=True)
    def order_page(self, order_id: int, request: Request[Principal, Any, Any], orders: OrdersService,
                   order_flow: OrderFlowService) -> Template:
        return render_order(request, orders, order_flow, order_id)

    @post("/{order_id:int}/submit", guards=[requires(*ORDER_WRITERS)], status_code=303)
    async def submit(self, order_id: int, request: Request[Principal, Any, Any], orders: OrdersService,
                     order_flow: OrderFlowService) -> Any:
        """Submit a draft or a returned order for review, at the version the user saw."""
        form = await request.form()
        try:
            version = _int(form.get("version"), "version", low=0)
            await sync_to_thread(orders.submit, request.user, order_id, version)
        except (InvalidValue, Conflict) as exc:
            stale = exc.code == "order.stale_version"
            notice = "已被他人修改，以下是当前状态，请确认后再操作" if stale else exc.message
            return await sync_to_thread(lambda: render_order(request, orders, order_flow, order_id, notice=notice,
                                                           status_code=409 if stale else 422))
        return Redirect(path=f"/orders/{order_id}", status_code=303)

    @get("/new", guards=[requires(*ORDER_WRITERS)], sync_to_thread=True)
    def configurator(self, request: Request[Principal, Any, Any], orders: OrdersService,
                     template: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None) -> Template:
        crumbs = (("订单", "/orders"), ("新建订单", None))
        if template is None:
            return page(request, "order_new.html", title="新建订单：选择车型", section="configure", crumbs=crumbs,
                        templates=orders.list_templates(request.user))
        state = _configurator(orders, request.user, template, MultiDict())
        if state["problems"]:  # start from each required single choice's first option (its standard)
            defaults = MultiDict([(f"group:{g['code']}", g["options"][0]["code"])
                                  for g in state["content"]["option_groups"] if g["required"] and g["mode"] == "single"])
            state = _configurator(orders, request.user, template, defaults)
        return page(request, "configure.html", title=f"选配：{state['content']['name']}", section="configure",
                    crumbs=crumbs, form_token=uuid.uuid4().hex, values={}, errors={},
                    methods=[(m.value, m.label) for m in DeliveryMethod], **state)

    @get("/new/check", guards=[requires(*ORDER_WRITERS)], sync_to_thread=True)
    def check(self, request: Request[Principal, Any, Any], orders: OrdersService,
              template: Annotated[int, Parameter(ge=1, le=2**63 - 1)]) -> Template:
        """htmx: the option groups and estimate again after each pick."""
        return fragment("_configurator.html", **_configurator(orders, request.user, template, request.query_params))

    @post("/new", guards=[requires(*ORDER_WRITERS)], status_code=303)
    async def create(self, request: Request[Principal, Any, Any], orders: OrdersService) -> Any:
        form = await request.form()
        values = {k: str(v)[:200] for k, v in form.items() if k != "_csrf_token"}
        try:
            template_id = _int(form.get("template_id"), "template_id")
        except InvalidValue as exc:
            raise InvalidValue("template_id", "请先选择车型", code=exc.code) from None
        submit = form.get("action") == "submit"
        errors: dict[str, str] = {}
        try:
            cmd = self._draft(form, template_id)
            ref = await sync_to_thread(lambda: orders.create_once(request.user, cmd, submit=submit,
                                                                  form_token=str(form.get("form_token") or "")))
        except InvalidValue as exc:
            errors[exc.field.split("[")[0] if exc.field.startswith("options") else exc.field] = exc.message
        except Conflict as exc:  # the dealer may not order, a newer template version …: keep the input
            errors["form"] = exc.message
        if errors:
            state = await sync_to_thread(_configurator, orders, request.user, template_id, form)
            return page(request, "configure.html", title=f"选配：{state['content']['name']}", section="configure",
                        crumbs=(("订单", "/orders"), ("新建订单", None)), status_code=422,
                        form_token=str(form.get("form_token") or uuid.uuid4().hex)[:64], values=values,
                        errors=errors, methods=[(m.value, m.label) for m in DeliveryMethod], **state)
        return Redirect(path=f"/orders/{ref.id}", status_code=303)

    @staticmethod
    def _draft(form: Any, template_id: int) -> uc.OrderDraftIn:
        day = query_day(str(form.get("requested_delivery_date") or ""), "requested_delivery_date")
        if day is None:
            raise InvalidValue("requested_delivery_date", "请选择要求交货日期", code="order.delivery_date_required")
        method = str(form.get("delivery_method") or DeliveryMethod.SELF_PICKUP.value)
        address = None
        if method == DeliveryMethod.SHIPPING.value:
            address = uc.AddressIn(str(form.get("province") or "").strip(), str(form.get("city") or "").strip(),
                                   str(form.get("address_detail") or "").strip(),
                                   str(form.get("consignee") or "").strip() or None,
                                   str(form.get("consignee_phone") or "").strip() or None)
        customer = str(form.get("end_customer_name") or "").strip()
        return uc.OrderDraftIn(
            template_id=template_id, options=_options(form), quantity=_int(form.get("quantity") or "1", "quantity",
                                                                           high=999),
            requested_delivery_date=day, delivery_method=method, delivery_address=address,
            end_customer=uc.EndCustomerIn(customer[:100]) if customer else None,
            remarks=str(form.get("remarks") or "").strip()[:500] or None,
        )
