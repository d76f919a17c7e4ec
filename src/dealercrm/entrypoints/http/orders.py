"""HTTP: the catalog (``/api/v1/catalog``) and configured orders (``/api/v1/orders``).

Controllers decode a struct, call the ``OrdersService``, encode the answer. Reads are
Core queries scoped by the caller (a dealer sees only its own orders; other dealers' ids are
404). A request body that carries a price is refused (422 ``order.price_not_allowed``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import attrs
import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import State
from litestar.exceptions import ValidationException
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dealercrm.application import catalog as cat
from dealercrm.application import orders as app
from dealercrm.application.reads.orders import OrderSummaryRow, TimelineRow
from dealercrm.domain.catalog import ROUNDING_NOTE, TemplateStatus
from dealercrm.domain.channel import ProductLine
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.orders import SHANGHAI, DeliveryMethod, OrderState, QuoteStatus, SuppliedPartIn, SuppliedPartKind
from dealercrm.entrypoints.http import orders_schemas as s
from dealercrm.entrypoints.http.controllers import decode_cursor, encode_cursor
from dealercrm.entrypoints.http.problems import _UNKNOWN_FIELD, problem, validation_handler
from dealercrm.entrypoints.http.security import STAFF, requires
from dealercrm.entrypoints.http.schemas import Page
from dealercrm.application.services.orders import OrdersService

READERS = (*STAFF, Role.DEALER)
Limit = Annotated[int, Parameter(ge=1, le=200, description="page size")]
_PRICE_WORDS = ("price", "amount", "discount", "total", "_fen", "cost")


def refuse_prices(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """An unknown field that looks like a price gets its own code: dealers never set prices."""
    for item in exc.extra if isinstance(exc.extra, list) else []:
        message = str(item.get("message", "")) if isinstance(item, dict) else str(item)
        m = _UNKNOWN_FIELD.search(message)
        if m and any(w in m.group("name").lower() for w in _PRICE_WORDS):
            key = str(item.get("key") or "") if isinstance(item, dict) else ""
            prefix = "" if key in ("", "data", m.group("name")) else f"{key}."
            field = prefix + m.group("name")
            detail = f"订单不接受价格字段「{field}」：价格由系统自动测算或经核价报价确定，经销商不能自行定价"
            return problem(request, 422, "order.price_not_allowed", detail, field=field,
                           errors=[{"field": field, "code": "order.price_not_allowed", "message": detail}])
    return validation_handler(request, exc)


# ---------------------------------------------------------------------------------------------
# Converters


def _content(doc: dict[str, Any]) -> s.ContentOut:
    return msgspec.convert(doc, s.ContentOut)


def _version_out(row: dict[str, Any]) -> s.TemplateVersionOut:
    return s.TemplateVersionOut(row["template_id"], row["version"], row["model_code"], str(row["product_line"]),
                                row["published_at"], row["published_by"], _content(row["content"]))


def _template_summary(r: dict[str, Any]) -> s.TemplateSummaryOut:
    line, status = ProductLine(str(r["product_line"])), TemplateStatus(str(r["status"]))
    return s.TemplateSummaryOut(r["id"], r["model_code"], line.value, line.label, status.value, status.label,
                                r["latest_version"], r["name"], r["base_price_fen"], r["special"], r["published_at"],
                                r.get("has_unpublished_changes"))


def _template_detail(r: dict[str, Any]) -> s.TemplateDetailOut:
    line, status = ProductLine(str(r["product_line"])), TemplateStatus(str(r["status"]))
    staff_view = r.get("draft") is not None
    return s.TemplateDetailOut(
        id=r["id"], model_code=r["model_code"], product_line=line.value, product_line_label=line.label,
        status=status.value, status_label=status.label, latest_version=r["latest_version"],
        published=_version_out(r["published"]) if r["published"] else None,
        versions=[s.VersionInfoOut(**v) for v in r["versions"]],
        has_unpublished_changes=r["has_unpublished_changes"] if staff_view else None,
        lock_version=r["lock_version"] if staff_view else None,
        draft=_content(r["draft"]) if staff_view else None,
    )


def _template_ref(ref: cat.TemplateRef) -> s.TemplateRefOut:
    return s.TemplateRefOut(ref.id, ref.model_code, ref.status, TemplateStatus(ref.status).label, ref.latest_version)


def _estimate(doc: dict[str, Any]) -> s.EstimateOut:
    out = msgspec.convert(doc, s.EstimateOut)
    out.rounding_note = ROUNDING_NOTE
    return out


def _ref(ref: app.OrderRef) -> s.OrderRefOut:
    return s.OrderRefOut(ref.id, ref.order_no, ref.state, OrderState(ref.state).label, ref.version)


def _summary(r: OrderSummaryRow) -> s.OrderSummaryOut:
    return s.OrderSummaryOut(**attrs.asdict(r, recurse=False), product_line_label=ProductLine(r.product_line).label,
                             state_label=OrderState(r.state).label)


def _detail(r: dict[str, Any]) -> s.OrderDetailOut:
    state, line = OrderState(str(r["state"])), ProductLine(str(r["product_line"]))
    method = DeliveryMethod(str(r["delivery_method"]))
    address = None
    if r["delivery_province"] is not None:
        address = s.DeliveryAddressOut(r["delivery_province"], r["delivery_city"], r["delivery_detail"],
                                       r["delivery_consignee"], r["delivery_consignee_phone"])
    customer = None
    if r["end_customer_name"] is not None:
        customer = s.EndCustomerOut(r["end_customer_name"], r["end_customer_phone"], r["end_customer_industry"])
    return s.OrderDetailOut(
        id=r["id"], order_no=r["order_no"], version=r["version"], dealer_id=r["dealer_id"],
        dealer_code=r["dealer_code"], dealer_name=r["dealer_name"], region=r["region"], state=state.value,
        state_label=state.label, template_id=r["template_id"], template_version=r["template_version"],
        model_code=r["model_code"], template_name=r["template_name"], product_line=line.value,
        product_line_label=line.label, options=list(r["options"]), quantity=r["quantity"],
        requested_delivery_date=r["requested_delivery_date"], delivery_method=method.value,
        delivery_method_label=method.label, delivery_address=address, end_customer=customer,
        supplied_parts=[
            s.SuppliedPartOut(p["id"], p["line_no"], str(p["kind"]), SuppliedPartKind(str(p["kind"])).label,
                              p["description"], p["serial"], p["quantity"])
            for p in r["supplied_parts"]
        ],
        remarks=r["remarks"], requires_quote=r["requires_quote"], price_source=str(r["price_source"]),
        unit_price_fen=r["unit_price_fen"], total_fen=r["total_fen"], estimate=_estimate(r["estimate"]),
        quotes=[
            s.QuoteOut(q["seq"], str(q["status"]), QuoteStatus(str(q["status"])).label, q["requested_at"],
                       q["requested_by"], q["request_note"], q["unit_price_fen"], q["note"], q["valid_until"],
                       q["quoted_at"], q["quoted_by"], q["decided_at"], q["decided_by"], q["decline_reason"])
            for q in r["quotes"]
        ],
        return_reasons=list(r["return_reasons"] or []), submission_count=r["submission_count"],
        is_major_modification=r["is_major_modification"], contract_no=r["contract_no"],
        agreed_delivery_date=r["agreed_delivery_date"], erp_tracking_no=r["erp_tracking_no"],
        production_status=r["production_status"], production_percent=r["production_percent"],
        created_at=r["created_at"], created_by_name=r["created_by_name"], submitted_at=r["submitted_at"],
        state_changed_at=r["state_changed_at"], updated_at=r["updated_at"],
    )


def _label(state: str | None) -> str | None:
    return OrderState(state).label if state in OrderState.__members__.values() else None


def _timeline(r: TimelineRow) -> s.TimelineEntryOut:
    return s.TimelineEntryOut(**{**attrs.asdict(r, recurse=False), "data": r.data or {}},
                              from_state_label=_label(r.from_state), to_state_label=_label(r.to_state))


def _content_in(c: s.TemplateContentBody) -> cat.TemplateContentIn:
    return cat.TemplateContentIn(
        name=c.name, base_price_fen=c.base_price_fen, special=c.special, description=c.description,
        spec_fields=tuple(cat.SpecFieldIn(f.key, f.label, f.value, f.unit, f.kind) for f in c.spec_fields),
        option_groups=tuple(
            cat.OptionGroupIn(g.code, g.name, g.mode, g.required, tuple(
                cat.OptionIn(o.code, o.name, o.price_delta_fen, o.special, tuple(o.requires), tuple(o.excludes),
                             o.description) for o in g.options))
            for g in c.option_groups),
    )


def _draft_in(b: s.OrderDraftBody) -> app.OrderDraftIn:
    a = b.delivery_address
    c = b.end_customer
    return app.OrderDraftIn(
        template_id=b.template_id, options=tuple(b.options), quantity=b.quantity,
        requested_delivery_date=b.requested_delivery_date, delivery_method=b.delivery_method,
        template_version=b.template_version, dealer_id=b.dealer_id,
        delivery_address=app.AddressIn(a.province, a.city, a.detail, a.consignee, a.consignee_phone) if a else None,
        end_customer=app.EndCustomerIn(c.name, c.phone, c.industry) if c else None,
        supplied_parts=tuple(SuppliedPartIn(p.kind, p.description, p.serial, p.quantity) for p in b.supplied_parts),
        remarks=b.remarks,
    )


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), SHANGHAI).astimezone(dt.UTC)


# ---------------------------------------------------------------------------------------------
# Controllers


class CatalogController(Controller):
    path = "/api/v1/catalog"
    tags = ["catalog 车型与价格"]

    @get("/product-lines", guards=[requires(*READERS)], summary="产品线 The three product lines")
    async def product_lines(self) -> Page[s.CodeLabel]:
        return Page([s.CodeLabel(p.value, p.label) for p in ProductLine], None)

    @get("/templates", guards=[requires(*READERS)], sync_to_thread=True,
         summary="车型模板列表 Templates (dealers: on-sale, published only)")
    def templates(self, request: Request[Principal, Any, Any], orders: OrdersService,
                  product_line: str | None = None) -> Page[s.TemplateSummaryOut]:
        return Page([_template_summary(r) for r in orders.list_templates(request.user, product_line)], None)

    @get("/templates/{template_id:int}", guards=[requires(*READERS)], sync_to_thread=True,
         summary="车型模板详情 Template with its latest published version (staff: and the draft)")
    def template(self, template_id: int, request: Request[Principal, Any, Any], orders: OrdersService) -> s.TemplateDetailOut:
        return _template_detail(orders.template_detail(request.user, template_id))

    @get("/templates/{template_id:int}/versions/{version:int}", guards=[requires(*READERS)], sync_to_thread=True,
         summary="车型模板版本 One immutable published version")
    def template_version(self, template_id: int, version: int, request: Request[Principal, Any, Any],
                         orders: OrdersService) -> s.TemplateVersionOut:
        return _version_out(orders.template_version(request.user, template_id, version))

    @post("/templates", guards=[requires(*cat.CATALOG_MANAGERS)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="新建车型模板 Create a template (draft; publish=true publishes version 1)")
    def create_template(self, data: s.TemplateCreateBody, request: Request[Principal, Any, Any],
                        orders: OrdersService) -> s.TemplateRefOut:
        ref = orders.create_template(
            request.user, cat.CreateTemplate(data.model_code, data.product_line, _content_in(data.content), data.publish))
        return _template_ref(ref)

    @put("/templates/{template_id:int}/draft", guards=[requires(*cat.CATALOG_MANAGERS)], sync_to_thread=True,
         summary="修改草稿 Replace the working draft (published versions never change)")
    def revise_template(self, template_id: int, data: s.TemplateReviseBody, request: Request[Principal, Any, Any],
                        orders: OrdersService) -> s.TemplateRefOut:
        return _template_ref(orders.revise_template(request.user, template_id,
                                                                   _content_in(data.content), data.lock_version))

    @post("/templates/{template_id:int}/publish", guards=[requires(*cat.CATALOG_MANAGERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="发布新版本 Publish the draft as the next immutable version")
    def publish_template(self, template_id: int, request: Request[Principal, Any, Any],
                         orders: OrdersService) -> s.TemplateRefOut:
        return _template_ref(orders.publish_template(request.user, template_id))

    @post("/templates/{template_id:int}/retire", guards=[requires(*cat.CATALOG_MANAGERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="停售 Retire a template (orders keep their versions)")
    def retire_template(self, template_id: int, request: Request[Principal, Any, Any],
                        orders: OrdersService) -> s.TemplateRefOut:
        return _template_ref(orders.retire_template(request.user, template_id))

    @get("/price-tiers", guards=[requires(*READERS)], sync_to_thread=True,
         summary="经销商优惠等级 Discount tiers (dealers: their own)")
    def price_tiers(self, request: Request[Principal, Any, Any], orders: OrdersService,
                    dealer_id: int | None = None) -> Page[s.PriceTierOut]:
        rows = orders.list_price_tiers(request.user, dealer_id)
        return Page([s.PriceTierOut(**attrs.asdict(r, recurse=False)) for r in rows], None)

    @put("/price-tiers", guards=[requires(*cat.TIER_MANAGERS)], sync_to_thread=True,
         summary="设置优惠等级 Set a dealer's tier for a product line")
    def set_price_tier(self, data: s.PriceTierBody, request: Request[Principal, Any, Any],
                       orders: OrdersService) -> Page[s.PriceTierOut]:
        orders.set_price_tier(
            request.user, cat.SetPriceTier(data.dealer_id, data.product_line, data.tier_code, data.discount_bp))
        return self.price_tiers.fn(self, request, orders, data.dealer_id)


class OrderController(Controller):
    path = "/api/v1/orders"
    tags = ["orders 订单"]
    exception_handlers = {ValidationException: refuse_prices}

    @get("/states", guards=[requires(*READERS)], summary="订单状态 Order states (codes and labels)")
    async def states(self) -> Page[s.CodeLabel]:
        return Page([s.CodeLabel(x.value, x.label) for x in OrderState], None)

    @post("/estimate", guards=[requires(*app.ORDER_WRITERS)], status_code=HTTP_200_OK, sync_to_thread=True,
          summary="价格测算 Price estimate of a configuration, not saved")
    def estimate(self, data: s.EstimateBody, request: Request[Principal, Any, Any], orders: OrdersService) -> s.EstimateOut:
        e = orders.estimate(
            request.user, app.EstimateIn(data.template_id, tuple(data.options), data.quantity, data.template_version,
                                         data.dealer_id))
        return s.EstimateOut(
            e.template_id, e.template_version, e.model_code,
            [s.PriceLineOut(li.kind.value, li.code, li.label, li.amount.fen, li.group, li.special) for li in e.lines],
            e.list_unit.fen, e.tier.code, e.tier.discount_bp, e.discount_unit.fen, e.net_unit.fen, e.quantity,
            e.total.fen, e.requires_quote, e.rounding, ROUNDING_NOTE)

    @post("/", guards=[requires(*app.ORDER_WRITERS)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="新建订单 Create a draft (submit=true: create and submit in one call)")
    def create(self, data: s.OrderDraftBody, request: Request[Principal, Any, Any], orders: OrdersService,
               submit: bool = False) -> s.OrderRefOut:
        return _ref(orders.create(request.user, _draft_in(data), submit))

    @get("/", guards=[requires(*READERS)], sync_to_thread=True,
         summary="订单列表 Orders, newest first (keyset pagination, scoped to the caller)")
    def list_orders(
        self, request: Request[Principal, Any, Any], state: State, orders: OrdersService,
        order_state: Annotated[str | None, Parameter(query="state", max_length=400,
                                                     description="comma-separated state codes")] = None,
        dealer_id: int | None = None, region: str | None = None, product_line: str | None = None,
        template_id: int | None = None, created_from: dt.date | None = None, created_to: dt.date | None = None,
        delivery_from: dt.date | None = None, delivery_to: dt.date | None = None,
        q: Annotated[str | None, Parameter(max_length=100)] = None, cursor: str | None = None, limit: Limit = 50,
    ) -> s.OrderPage:
        filters: dict[str, Any] = {
            "states": [x.strip() for x in order_state.split(",") if x.strip()] if order_state else None,
            "dealer_id": dealer_id, "region": region, "product_line": product_line, "template_id": template_id,
            "created_from": _day_start(created_from) if created_from else None,
            "created_to": _day_start(created_to + dt.timedelta(days=1)) if created_to else None,
            "delivery_from": delivery_from, "delivery_to": delivery_to, "text": q,
        }
        rows = orders.list_orders(request.user, {k: v for k, v in filters.items() if v},
                                                  decode_cursor(cursor), limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return s.OrderPage([_summary(r) for r in rows], encode_cursor(rows[-1].id) if more and rows else None)

    @get("/{order_id:int}", guards=[requires(*READERS)], sync_to_thread=True, summary="订单详情 Order detail")
    def detail(self, order_id: int, request: Request[Principal, Any, Any], orders: OrdersService) -> s.OrderDetailOut:
        return _detail(orders.detail(request.user, order_id))

    @get("/{order_id:int}/timeline", guards=[requires(*READERS)], sync_to_thread=True,
         summary="订单时间线 Every state change, estimate, quote and review outcome, with who and when")
    def timeline(self, order_id: int, request: Request[Principal, Any, Any],
                 orders: OrdersService) -> Page[s.TimelineEntryOut]:
        return Page([_timeline(r) for r in orders.timeline(request.user, order_id)], None)

    @put("/{order_id:int}", guards=[requires(*app.ORDER_WRITERS)], sync_to_thread=True,
         summary="修改订单 Replace a draft's or returned order's terms (re-estimated)")
    def update(self, order_id: int, data: s.OrderUpdateBody, request: Request[Principal, Any, Any],
               orders: OrdersService) -> s.OrderRefOut:
        return _ref(orders.update(request.user, order_id, _draft_in(data), data.version))

    @post("/{order_id:int}/submit", guards=[requires(*app.ORDER_WRITERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="提交订单 Submit for review (again: 409 with the current state)")
    def submit(self, order_id: int, request: Request[Principal, Any, Any], orders: OrdersService,
               data: s.SubmitBody | None = None) -> s.OrderRefOut:
        return _ref(orders.submit(request.user, order_id, data.version if data else None))

    @post("/{order_id:int}/withdraw", guards=[requires(*app.ORDER_WRITERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="撤回 Withdraw a submitted order (before review) or a quote request")
    def withdraw(self, order_id: int, request: Request[Principal, Any, Any], orders: OrdersService) -> s.OrderRefOut:
        return _ref(orders.withdraw(request.user, order_id))

    @post("/{order_id:int}/cancel", guards=[requires(*app.ORDER_WRITERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="取消订单 Cancel")
    def cancel(self, order_id: int, request: Request[Principal, Any, Any], orders: OrdersService,
               data: s.OptionalReasonBody | None = None) -> s.OrderRefOut:
        return _ref(orders.cancel(request.user, order_id, data.reason if data else None))

    @post("/{order_id:int}/quote-request", guards=[requires(*app.ORDER_WRITERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="申请核价 Ask sales management to price a special configuration")
    def request_quote(self, order_id: int, request: Request[Principal, Any, Any], orders: OrdersService,
                      data: s.QuoteRequestBody | None = None) -> s.OrderRefOut:
        return _ref(orders.request_quote(request.user, order_id, data.note if data else None))

    @post("/{order_id:int}/quote", guards=[requires(*app.QUOTE_ISSUERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="核价报价 Issue the quote (sales management only)")
    def issue_quote(self, order_id: int, data: s.QuoteBody, request: Request[Principal, Any, Any],
                    orders: OrdersService) -> s.OrderRefOut:
        return _ref(orders.issue_quote(request.user, order_id, data.unit_price_fen, data.note,
                                                       data.valid_until))

    @post("/{order_id:int}/quote/accept", guards=[requires(*app.ORDER_WRITERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="接受报价 Accept the quote")
    def accept_quote(self, order_id: int, request: Request[Principal, Any, Any], orders: OrdersService) -> s.OrderRefOut:
        return _ref(orders.accept_quote(request.user, order_id))

    @post("/{order_id:int}/quote/decline", guards=[requires(*app.ORDER_WRITERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="拒绝报价 Decline the quote")
    def decline_quote(self, order_id: int, request: Request[Principal, Any, Any], orders: OrdersService,
                      data: s.OptionalReasonBody | None = None) -> s.OrderRefOut:
        return _ref(orders.decline_quote(request.user, order_id, data.reason if data else None))

