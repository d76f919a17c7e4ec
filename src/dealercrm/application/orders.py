"""Use cases of the configured order: estimate, draft, revise, manual price review (核价),
submit, withdraw, cancel, the review outcome hooks, and the scoped reads (list, detail, timeline).

Who may do what:

* a dealer user orders for its own dealer; sales staff (sales, region manager, admin) may
  create and edit on behalf of a dealer in their scope (``dealer_id`` in the command);
* quotes for special configurations are issued by region managers and admins;
* nobody sends a price for an order: the price is the estimate or an accepted quote.

Every use case is one transaction; an error anywhere leaves nothing written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from dealercrm.application.access import dealer_scope, not_found, require_role
from dealercrm.application.catalog import product_line as parse_product_line
from dealercrm.application.gate import ClientKey, run_client_event
from dealercrm.application.order_review import decide_whole_review, start_order_review, withdraw_order_review
from dealercrm.application.ports.orders import (
    DealerTerms,
    OrderableVersion,
    OrderingRead,
    OrderQueries,
    OrdersUnitOfWork,
    QuoteRequestQueries,
)
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.reads.orders import OrderSummaryRow, QuoteRequestRow, TimelineRow
from dealercrm.domain.catalog import (
    NO_TIER,
    PriceEstimate,
    PublishedVersion,
    TemplateStatus,
    Tier,
    estimate_price,
)
from dealercrm.domain.channel import ProductLine
from dealercrm.domain.errors import BusinessRuleViolation, Conflict, InvalidValue, InvariantBroken
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.orders import (
    SHANGHAI,
    DeliveryAddress,
    DeliveryMethod,
    EndCustomer,
    Order,
    OrderState,
    OrderTerms,
    SuppliedPartIn,
    beijing_today,
)
from dealercrm.domain.values import Money, Phone

ORDER_STAFF = (Role.ADMIN, Role.SALES, Role.REGION_MANAGER)
ORDER_WRITERS = (*ORDER_STAFF, Role.DEALER)
QUOTE_ISSUERS = (Role.ADMIN, Role.REGION_MANAGER)
REVIEW_ACTORS = (Role.ADMIN, Role.SALES, Role.REGION_MANAGER, Role.PROCUREMENT, Role.TECHNICAL, Role.PRODUCTION)


# ---------------------------------------------------------------------------------------------
# Commands and results


@attrs.frozen
class AddressIn:
    province: str
    city: str
    detail: str
    consignee: str | None = None
    consignee_phone: str | None = None


@attrs.frozen
class EndCustomerIn:
    name: str
    phone: str | None = None
    industry: str | None = None


@attrs.frozen
class OrderDraftIn:
    """A draft as the dealer fills it. There is deliberately no price field."""

    template_id: int
    options: tuple[str, ...]
    quantity: int
    requested_delivery_date: dt.date
    delivery_method: str
    template_version: int | None = None  # None: the latest (create) / the order's own (update)
    dealer_id: int | None = None  # staff ordering on a dealer's behalf
    delivery_address: AddressIn | None = None
    end_customer: EndCustomerIn | None = None
    supplied_parts: tuple[SuppliedPartIn, ...] = ()
    remarks: str | None = None


@attrs.frozen
class EstimateIn:
    template_id: int
    options: tuple[str, ...]
    quantity: int = 1
    template_version: int | None = None
    dealer_id: int | None = None


@attrs.frozen
class OrderRef:
    id: int
    order_no: str
    state: str
    version: int


# ---------------------------------------------------------------------------------------------
# Helpers


def _ordering_dealer(uow: OrdersUnitOfWork, requested: int | None, today: dt.date, line: ProductLine,
                     read: DealerTerms | None = None) -> DealerTerms:
    """The dealer an order is for, its terms on ``today`` and its tier for ``line`` (one query;
    none when ``read`` holds that dealer's terms already)."""
    actor = uow.actor
    if actor.role is Role.DEALER:
        if requested is not None and requested != actor.dealer_id:
            raise not_found("dealer", "经销商")
        dealer_id = actor.dealer_id
    elif requested is None:
        raise InvalidValue("dealer_id", "代经销商下单须指定经销商", code="order.dealer_required")
    else:
        dealer_id = requested
    if read is not None and read.dealer_id == dealer_id:
        terms: DealerTerms | None = read
    else:
        terms = uow.orders.dealer_terms(dealer_id, today, line.value) if dealer_id is not None else None
    if terms is None or not dealer_scope(actor).admits(terms.dealer_id, terms.region):
        raise not_found("dealer", "经销商")
    return terms


def _asked_dealer(actor: Principal, requested: int | None) -> int | None:
    """Whose terms to read with the template: the dealer ``_ordering_dealer`` will settle on, or
    ``None`` where it will refuse (it then says why, after the template's own errors)."""
    if actor.role is Role.DEALER:
        return actor.dealer_id if requested in (None, actor.dealer_id) else None
    return requested


def _check_may_order(terms: DealerTerms, line: ProductLine) -> None:
    if not terms.can_trade:
        raise BusinessRuleViolation("经销商未准入或已暂停合作，不能下单", code="order.dealer_cannot_trade")
    if line.value not in terms.product_lines:
        raise BusinessRuleViolation(f"经销商没有有效的{line.label}经销协议", code="order.product_line_not_contracted",
                                    product_line=line.value)


def _version(uow: OrdersUnitOfWork, template_id: int, version: int | None, *,
             allow: int | None = None) -> PublishedVersion:
    """The template version to price on: the latest, or ``allow`` (the order's own version)."""
    return _orderable_version(uow.catalog.orderable(template_id, version), version, allow=allow)


def _orderable_version(found: OrderableVersion | None, version: int | None, *,
                       allow: int | None = None) -> PublishedVersion:
    if found is None:
        raise InvalidValue("template_version" if version is not None else "template_id",
                           "车型模板或版本不存在，或尚未发布", code="catalog.template_not_found")
    if found.status is not TemplateStatus.ACTIVE:
        raise BusinessRuleViolation("该车型已停售，不能下单", code="catalog.template_retired")
    if version is not None and version not in (found.latest_version, allow):
        raise Conflict(f"车型已发布新版本 v{found.latest_version}，请按新版本重新选配", code="catalog.version_outdated",
                       latest_version=found.latest_version)
    return found.version


def _tier(terms: DealerTerms | None) -> Tier:
    return terms.tier if terms is not None and terms.tier is not None else NO_TIER


def _phone(raw: str | None, field: str) -> Phone | None:
    if raw is None or not raw.strip():
        return None
    try:
        return Phone(raw)
    except InvalidValue as e:
        raise InvalidValue(field, e.message, code=e.code) from None


def _terms(cmd: OrderDraftIn, version: PublishedVersion) -> OrderTerms:
    try:
        method = DeliveryMethod(cmd.delivery_method)
    except ValueError:
        raise InvalidValue("delivery_method", "交付方式须为 self_pickup（自提）或 shipping（外送）",
                           code="order.delivery_method_unknown") from None
    address = None
    if cmd.delivery_address is not None:
        a = cmd.delivery_address
        address = DeliveryAddress(a.province.strip(), a.city.strip(), a.detail.strip(),
                                  (a.consignee or "").strip() or None,
                                  _phone(a.consignee_phone, "delivery_address.consignee_phone"))
    customer = None
    if cmd.end_customer is not None:
        c = cmd.end_customer
        customer = EndCustomer(c.name.strip(), _phone(c.phone, "end_customer.phone"), (c.industry or "").strip() or None)
    remarks = (cmd.remarks or "").strip() or None
    configuration = version.content.configure(cmd.options)
    return OrderTerms(version, configuration, cmd.quantity, cmd.requested_delivery_date, method, address, customer,
                      tuple(cmd.supplied_parts), remarks)


def _visible_order(uow: OrdersUnitOfWork, order_id: int) -> Order:
    order = uow.orders.get(order_id)
    scope = dealer_scope(uow.actor)
    if order is None or scope.nothing:
        raise not_found("order", "订单")
    if scope.dealer_id is not None:
        visible = order.dealer_id == scope.dealer_id
    elif scope.regions is not None:
        visible = uow.orders.region_of(order.dealer_id) in scope.regions
    else:
        visible = True
    if not visible:
        raise not_found("order", "订单")
    return order


def _check_version(order: Order, expected: int | None) -> None:
    if expected is not None and expected != order.version:
        raise Conflict("订单已被他人修改，请刷新后重试", code="order.stale_version", current_version=order.version,
                       current_state=order.state.value)


def _ref(order: Order) -> OrderRef:
    if order.id is None:
        raise InvariantBroken("order has no id: not flushed")
    return OrderRef(order.id, order.order_no, order.state.value, order.version)


# ---------------------------------------------------------------------------------------------
# Estimate, draft, revise, submit


def _pricing_dealer(uow: OrdersUnitOfWork, cmd: EstimateIn, clock: Clock, line: ProductLine) -> DealerTerms | None:
    """Whose tier prices an estimate: the ordering dealer; none when staff estimate for no dealer."""
    if cmd.dealer_id is None and uow.actor.role is not Role.DEALER:
        return None
    return _ordering_dealer(uow, cmd.dealer_id, beijing_today(clock()), line)


def estimate(cmd: EstimateIn, uow: OrdersUnitOfWork, clock: Clock) -> PriceEstimate:
    """The automatic price estimate for a configuration, without saving anything."""
    require_role(uow.actor, *ORDER_WRITERS)
    with uow.snapshot() as reading:  # reads only: no write lock (a configurator asks on every click)
        version = _version(reading, cmd.template_id, cmd.template_version)
        dealer = _pricing_dealer(reading, cmd, clock, version.product_line)
    configuration = version.content.configure(cmd.options)
    return estimate_price(version, configuration, cmd.quantity, _tier(dealer))


@attrs.frozen
class ConfigurationCheck:
    """What a configurator shows while the user picks: the options an exclusion rules out
    (code → the chosen option's name), the configuration's problems (field, code, message) and,
    when there are none, the price estimate."""

    blocked: dict[str, str]
    problems: tuple[dict[str, Any], ...]
    estimate: PriceEstimate | None


def check_configuration(cmd: EstimateIn, uow: OrdersUnitOfWork, clock: Clock) -> ConfigurationCheck:
    """``estimate`` that answers a configuration's problems instead of raising them."""
    require_role(uow.actor, *ORDER_WRITERS)
    with uow.snapshot() as reading:  # reads only: no write lock
        version = _version(reading, cmd.template_id, cmd.template_version)
        dealer = _pricing_dealer(reading, cmd, clock, version.product_line)
    blocked = version.content.blocked_by(cmd.options)
    try:
        configuration = version.content.configure(cmd.options)
        priced = estimate_price(version, configuration, cmd.quantity, _tier(dealer))
    except InvalidValue as exc:
        problems = exc.details.get("errors") or [{"field": exc.field, "code": exc.code, "message": exc.message}]
        return ConfigurationCheck(blocked, tuple(problems), None)
    return ConfigurationCheck(blocked, (), priced)


def create_order(cmd: OrderDraftIn, uow: OrdersUnitOfWork, clock: Clock, *, submit: bool = False) -> OrderRef:
    """A new draft on the template's latest version (``submit``: and submit it in one go).

    The template, the dealer's terms and the price are read and decided before the write
    transaction, so they hold no write lock (SQLite has one writer at a time); the order's
    number re-checks inside that what they were decided on is still so, else they are decided
    again there."""
    require_role(uow.actor, *ORDER_WRITERS)
    with uow.snapshot(per_statement=True) as reading:
        plan = _plan(cmd, reading, beijing_today(clock()))
    with uow:
        ref = _add_order(cmd, uow, clock(), submit, plan)
        uow.commit()
    return ref


#: How a web form names the token that makes its submission happen once (a double click books once).
FORM_TOKEN = ClientKey("form_token", "form_token.malformed", "表单已失效，请刷新页面后重新填写",
                       "form_token.reused", "该表单已提交过，请刷新页面后重新填写")


def create_order_once(cmd: OrderDraftIn, new_uow: Callable[[], OrdersUnitOfWork], clock: Clock, *,
                      submit: bool, form_token: str) -> OrderRef:
    """``create_order`` once per form token of this user: a second post of the same form (a
    double click, a resent request) answers the first order instead of creating another. The
    token goes through the client-event ledger, in the order's own transaction."""
    fingerprint = hashlib.sha256(repr((attrs.astuple(cmd, recurse=True), submit)).encode()).hexdigest()

    def work(uow: Any) -> dict[str, Any]:
        return attrs.asdict(_add_order(cmd, uow, clock(), submit))

    answer = run_client_event(new_uow, clock, roles=ORDER_WRITERS, event_id=form_token, kind="order.create",
                              fingerprint=fingerprint, work=work, key=FORM_TOKEN)
    return OrderRef(**answer)


@attrs.frozen
class _Plan:
    """An order decided on what ``read`` saw on ``day``: its dealer, terms and price."""

    read: OrderingRead
    day: dt.date
    dealer: DealerTerms
    terms: OrderTerms
    priced: PriceEstimate


def _plan(cmd: OrderDraftIn, uow: OrdersUnitOfWork, day: dt.date) -> _Plan:
    read = uow.orders.ordering(cmd.template_id, cmd.template_version, _asked_dealer(uow.actor, cmd.dealer_id), day)
    version = _orderable_version(read.found, cmd.template_version)
    dealer = _ordering_dealer(uow, cmd.dealer_id, day, version.product_line, read.terms)
    _check_may_order(dealer, version.product_line)
    terms = _terms(cmd, version)
    priced = estimate_price(version, terms.configuration, terms.quantity, _tier(dealer))
    return _Plan(read, day, dealer, terms, priced)


def _add_order(cmd: OrderDraftIn, uow: OrdersUnitOfWork, now: dt.datetime, submit: bool,
               plan: _Plan | None = None) -> OrderRef:
    """Price and add the order inside the caller's unit of work (not committed). ``plan``: decided
    before the transaction began; used if the number's statement finds what it read unchanged."""
    today, year = beijing_today(now), now.astimezone(SHANGHAI).year
    if plan is None or plan.day != today:
        plan = _plan(cmd, uow, today)
        number = uow.orders.next_number(year)
    else:
        number, unchanged = uow.orders.next_number_checking(year, plan.read)
        if not unchanged:  # the template or the dealer's terms changed meanwhile: decide on what is so now
            plan = _plan(cmd, uow, today)
    order = Order.draft(number, plan.dealer.dealer_id, plan.terms, plan.priced, now, uow.actor)
    if submit:
        order.submit(now, uow.actor)
    uow.orders.add(order)
    uow.flush()
    if submit:
        start_order_review(uow, order, now, region=plan.dealer.region, new_order=True)
    return _ref(order)


def update_order(order_id: int, cmd: OrderDraftIn, uow: OrdersUnitOfWork, clock: Clock,
                 expected_version: int | None = None) -> OrderRef:
    """Replace a draft's (or a returned order's) terms. The order keeps the template version it
    was priced on unless ``template_version`` names the latest one (or ``template_id`` changes)."""
    require_role(uow.actor, *ORDER_WRITERS)
    now = clock()
    with uow:
        order = _visible_order(uow, order_id)
        _check_version(order, expected_version)
        if cmd.dealer_id is not None and cmd.dealer_id != order.dealer_id:
            raise InvalidValue("dealer_id", "订单所属经销商不能修改", code="order.dealer_immutable")
        order.ensure_editable("revise")
        same_template = cmd.template_id == order.template_id
        wanted = cmd.template_version if cmd.template_version is not None else (
            order.template_version if same_template else None)
        version = _version(uow, cmd.template_id, wanted, allow=order.template_version if same_template else None)
        dealer = _ordering_dealer(uow, order.dealer_id, beijing_today(now), version.product_line)
        _check_may_order(dealer, version.product_line)
        terms = _terms(cmd, version)
        priced = estimate_price(version, terms.configuration, terms.quantity, _tier(dealer))
        order.revise(terms, priced, now, uow.actor)
        uow.flush()
        ref = _ref(order)
        uow.commit()
    return ref


def submit_order(order_id: int, uow: OrdersUnitOfWork, clock: Clock, expected_version: int | None = None) -> OrderRef:
    """Draft/returned → submitted (to the four-department review). A second submit is 409 with
    the current state: re-submitting is never silently accepted, so a client can tell."""
    require_role(uow.actor, *ORDER_WRITERS)
    now = clock()
    with uow:
        order = _visible_order(uow, order_id)
        order.ensure_can("submit")
        _check_version(order, expected_version)
        dealer = _ordering_dealer(uow, order.dealer_id, beijing_today(now), order.product_line)
        _check_may_order(dealer, order.product_line)
        version = _version(uow, order.template_id, order.template_version, allow=order.template_version)
        order.reprice(estimate_price(version, version.content.configure(order.options), order.quantity,
                                     _tier(dealer)), now, uow.actor)
        order.submit(now, uow.actor)
        start_order_review(uow, order, now, region=dealer.region)
        ref = _ref_after_flush(uow, order)
        uow.commit()
    return ref


def _ref_after_flush(uow: OrdersUnitOfWork, order: Order) -> OrderRef:
    uow.flush()
    return _ref(order)


def _act(order_id: int, uow: OrdersUnitOfWork, roles: Sequence[Role], act: Any,
         expected_version: int | None = None) -> OrderRef:
    require_role(uow.actor, *roles)
    with uow:
        order = _visible_order(uow, order_id)
        _check_version(order, expected_version)
        act(order)
        ref = _ref_after_flush(uow, order)
        uow.commit()
    return ref


def withdraw_order(order_id: int, uow: OrdersUnitOfWork, clock: Clock) -> OrderRef:
    """Submitted (no review decision yet) or awaiting a quote → back to the draft; a running
    review workflow is withdrawn with it."""
    def act(o: Order) -> None:
        o.ensure_can("withdraw")
        if o.state is not OrderState.SUBMITTED or not withdraw_order_review(uow, o, clock()):
            o.withdraw(clock(), uow.actor)

    return _act(order_id, uow, ORDER_WRITERS, act)


def cancel_order(order_id: int, reason: str | None, uow: OrdersUnitOfWork, clock: Clock) -> OrderRef:
    return _act(order_id, uow, ORDER_WRITERS, lambda o: o.cancel(reason, clock(), uow.actor))


# ---------------------------------------------------------------------------------------------
# Manual price review (核价)


def request_quote(order_id: int, note: str | None, uow: OrdersUnitOfWork, clock: Clock) -> OrderRef:
    return _act(order_id, uow, ORDER_WRITERS, lambda o: o.request_quote(note, clock(), uow.actor))


def _quote_price(unit_price_fen: int) -> Money:
    try:
        return Money(unit_price_fen)
    except InvalidValue as e:
        raise InvalidValue("unit_price_fen", e.message, code=e.code) from None


def issue_quote(order_id: int, unit_price_fen: int, note: str | None, valid_until: dt.date, uow: OrdersUnitOfWork,
                clock: Clock) -> OrderRef:
    """Sales management's price for a special configuration; it goes back to the dealer."""
    price = _quote_price(unit_price_fen)
    return _act(order_id, uow, QUOTE_ISSUERS, lambda o: o.issue_quote(price, note, valid_until, clock(), uow.actor))


def issue_quote_once(order_id: int, unit_price_fen: int, note: str | None, valid_until: dt.date,
                     new_uow: Callable[[], OrdersUnitOfWork], clock: Clock, *, form_token: str,
                     expected_version: int | None) -> OrderRef:
    """``issue_quote`` once per form token of this user, at the order version the form showed: a
    double-clicked 发出报价 issues one quote and the second post answers the first; a version
    that is no longer the order's is ``Conflict`` (``order.stale_version``) with the current state."""
    price = _quote_price(unit_price_fen)
    fingerprint = hashlib.sha256(repr(("order.quote", order_id, price.fen, note, valid_until.isoformat(),
                                       expected_version)).encode()).hexdigest()

    def work(uow: Any) -> dict[str, Any]:
        order = _visible_order(uow, order_id)
        _check_version(order, expected_version)
        order.issue_quote(price, note, valid_until, clock(), uow.actor)
        return attrs.asdict(_ref_after_flush(uow, order))

    answer = run_client_event(new_uow, clock, roles=QUOTE_ISSUERS, event_id=form_token, kind="order.quote",
                              fingerprint=fingerprint, work=work, key=FORM_TOKEN)
    return OrderRef(**answer)


def accept_quote(order_id: int, uow: OrdersUnitOfWork, clock: Clock) -> OrderRef:
    return _act(order_id, uow, ORDER_WRITERS, lambda o: o.accept_quote(clock(), uow.actor))


def decline_quote(order_id: int, reason: str | None, uow: OrdersUnitOfWork, clock: Clock) -> OrderRef:
    return _act(order_id, uow, ORDER_WRITERS, lambda o: o.decline_quote(reason, clock(), uow.actor))


# ---------------------------------------------------------------------------------------------
# Review outcome hooks (the approval workflow calls these, or the domain methods in its own uow)


def start_review(order_id: int, uow: OrdersUnitOfWork, clock: Clock) -> OrderRef:
    return _act(order_id, uow, REVIEW_ACTORS, lambda o: o.start_review(clock(), uow.actor))


def record_review_outcome(order_id: int, passed: bool, reasons: Sequence[str], uow: OrdersUnitOfWork,
                          clock: Clock) -> OrderRef:
    """All four reviews approved (``passed``) → approved; any rejection → returned with reasons.

    With a running review workflow (every order submitted since workflows exist) its steps are
    decided instead — all approved, or the first open one rejected — and the workflow's outcome
    moves the order (``application.order_review``); only administrators may decide steps that are
    not addressed to them."""
    def act(o: Order) -> None:
        if decide_whole_review(uow, o, passed, [r for r in reasons if isinstance(r, str)], clock()):
            return
        if passed:
            o.review_passed(clock(), uow.actor)
        else:
            o.review_returned(reasons, clock(), uow.actor)

    return _act(order_id, uow, REVIEW_ACTORS, act)


# ---------------------------------------------------------------------------------------------
# Reads (Core queries, scoped in SQL)


ORDER_FILTERS = ("states", "dealer_id", "region", "product_line", "template_id", "created_from", "created_to",
                 "delivery_from", "delivery_to", "text")


def list_orders(actor: Principal, queries: OrderQueries, filters: dict[str, Any], before_id: int | None,
                limit: int) -> list[OrderSummaryRow]:
    unknown = set(filters) - set(ORDER_FILTERS)
    if unknown:
        raise InvalidValue(sorted(unknown)[0], "未知的筛选条件", code="order.filter_unknown")
    for state in filters.get("states") or ():
        if state not in OrderState.__members__.values():
            raise InvalidValue("state", f"未知的订单状态：{state}", code="order.state_unknown")
    if filters.get("product_line"):
        parse_product_line(filters["product_line"])
    scope = dealer_scope(actor)
    if scope.nothing:
        return []
    return queries.list_orders(dealer_id=scope.dealer_id, regions=scope.regions, filters=filters,
                               before_id=before_id, limit=limit)


def quote_requests(actor: Principal, queries: QuoteRequestQueries, limit: int) -> list[QuoteRequestRow]:
    """The special configurations waiting for the caller's price (待核价), the longest waiting
    first; quote issuers only, within their dealer scope (a region manager: their regions)."""
    require_role(actor, *QUOTE_ISSUERS)
    scope = dealer_scope(actor)
    if scope.nothing:
        return []
    return queries.quote_requests(dealer_id=scope.dealer_id, regions=scope.regions, limit=limit)


def count_quote_requests(actor: Principal, queries: QuoteRequestQueries) -> int:
    """How many special configurations wait for the caller's price; 0 for whoever does not issue quotes."""
    scope = dealer_scope(actor)
    if actor.role not in QUOTE_ISSUERS or scope.nothing:
        return 0
    return queries.count_quote_requests(dealer_id=scope.dealer_id, regions=scope.regions)


def _visible_row(actor: Principal, dealer_id: int | None, region: str | None) -> None:
    if dealer_id is None or region is None or not dealer_scope(actor).admits(dealer_id, region):
        raise not_found("order", "订单")


def order_detail(actor: Principal, queries: OrderQueries, order_id: int) -> dict[str, Any]:
    row = queries.order_detail(order_id)
    if row is None:
        raise not_found("order", "订单")
    _visible_row(actor, row["dealer_id"], row["region"])
    return row


def order_timeline(actor: Principal, queries: OrderQueries, order_id: int) -> list[TimelineRow]:
    found = queries.order_scope(order_id)
    _visible_row(actor, found[0] if found else None, found[1] if found else None)
    return queries.timeline(order_id)
