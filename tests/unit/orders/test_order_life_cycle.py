"""The order aggregate: drafting rules, the manual price review, submission, the review outcome
hooks, the later life cycle, and every move the transition table forbids."""

import datetime as dt

import pytest

from dealercrm.domain.catalog import Tier, estimate_price
from dealercrm.domain.errors import BusinessRuleViolation, Conflict, IllegalTransition, InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.orders import (
    TRANSITIONS,
    DeliveryAddress,
    DeliveryMethod,
    Order,
    OrderState,
    OrderTerms,
    PriceSource,
    QuoteStatus,
    SuppliedPartIn,
)
from dealercrm.domain.values import Money

DEALER = Principal(user_id=5, username="dealer01", role=Role.DEALER, dealer_id=3)
MANAGER = Principal(user_id=2, username="rm_huadong", role=Role.REGION_MANAGER, regions=("华东",))
S = OrderState


@pytest.fixture
def terms_for(version, now):
    def make(options, quantity=2, **kw):
        defaults = dict(requested_delivery_date=now.date() + dt.timedelta(days=60),
                        delivery_method=DeliveryMethod.SELF_PICKUP)
        defaults.update(kw)
        return OrderTerms(version, version.content.configure(list(options)), quantity, **defaults)

    return make


@pytest.fixture
def draft(version, terms_for, standard, now):
    def make(options=standard, quantity=2, **kw):
        terms = terms_for(options, quantity, **kw)
        e = estimate_price(version, terms.configuration, quantity, Tier("B", 300))
        order = Order.draft("SO-2026-000001", 3, terms, e, now, DEALER)
        order.id = 11
        return order

    return make


def kinds(order):
    return [e.kind for e in order.events]


# --- drafting ---------------------------------------------------------------------------------


def test_a_draft_is_priced_by_the_estimate_and_records_creation_and_estimate(draft):
    order = draft()

    assert order.state is S.DRAFT and order.state.label == "订单填报"
    assert order.unit_price == Money(230_860_00) and order.total == Money(461_720_00)
    assert order.price_source is PriceSource.ESTIMATE
    assert kinds(order) == ["created", "price_estimated"]
    assert order.events[0].actor_name == "dealer01"
    # the discount reads as the amount taken off, not a negative amount
    assert "，优惠¥7,140.00，单台¥230,860.00，合计¥461,720.00" in order.events[1].summary


@pytest.mark.parametrize(("kw", "field", "code"), [
    ({"delivery_method": DeliveryMethod.SHIPPING}, "delivery_address", "order.address_required"),
    ({"delivery_address": DeliveryAddress("河南省", "郑州市", "经开区1号")}, "delivery_address",
     "order.address_not_applicable"),
    ({"supplied_parts": (SuppliedPartIn("engine", "发动机"),)}, "supplied_parts[0].kind", "order.part_kind_unknown"),
    ({"supplied_parts": (SuppliedPartIn("chassis", " "),)}, "supplied_parts[0].description", "value.required"),
])
def test_bad_terms_name_the_field(terms_for, standard, kw, field, code):
    with pytest.raises(InvalidValue) as err:
        terms_for(standard, **kw)

    assert (err.value.field, err.value.code) == (field, code)


def test_the_requested_delivery_date_must_be_after_today_in_beijing(draft, now):
    beijing_today = (now + dt.timedelta(hours=8)).date()

    with pytest.raises(InvalidValue) as err:
        draft(requested_delivery_date=beijing_today)

    assert (err.value.field, err.value.code) == ("requested_delivery_date", "order.delivery_date_past")


def test_revising_a_draft_reprices_it_and_records_what_changed(draft, terms_for, version, now):
    order = draft()
    terms = terms_for(["AXLE-BPW", "SUSP-MECH", "ABS", "TANK-5182"], 2)

    order.revise(terms, estimate_price(version, terms.configuration, 2), now, DEALER)

    assert order.unit_price == Money(256_000_00)
    assert kinds(order)[-2:] == ["revised", "price_estimated"]
    assert order.events[-2].data == {"fields": ["options"]}


# --- manual price review (核价) -----------------------------------------------------------------


@pytest.fixture
def special(draft, standard):
    return draft(options=(*standard, "LIVERY"))


def quote(order, now, price=250_000_00, days=10):
    order.request_quote("企业专属涂装", now, DEALER)
    order.issue_quote(Money(price), "含涂装", now.date() + dt.timedelta(days=days), now, MANAGER)


def test_a_special_configuration_cannot_be_submitted_before_an_accepted_quote(special, now):
    with pytest.raises(BusinessRuleViolation) as err:
        special.submit(now, DEALER)

    assert err.value.code == "order.quote_required"
    assert special.state is S.DRAFT


def test_the_quote_goes_back_to_the_dealer_who_accepts_it_and_then_submits(special, now):
    quote(special, now)
    assert special.state is S.QUOTED

    special.accept_quote(now, DEALER)
    special.submit(now, DEALER)

    assert special.state is S.SUBMITTED
    assert (special.unit_price, special.total, special.price_source) == (Money(250_000_00), Money(500_000_00),
                                                                        PriceSource.QUOTE)
    assert kinds(special)[2:] == ["request_quote", "issue_quote", "accept_quote", "submit"]
    assert special.events[3].actor_name == "rm_huadong"


def test_a_declined_quote_returns_the_order_to_the_draft_and_a_new_request_supersedes(special, now):
    quote(special, now)

    special.decline_quote("价格偏高", now, DEALER)
    special.request_quote(None, now, DEALER)

    assert special.state is S.AWAITING_QUOTE
    assert [q.status for q in special.quotes] == [QuoteStatus.DECLINED, QuoteStatus.REQUESTED]


def test_an_expired_quote_cannot_be_accepted(special, now):
    quote(special, now, days=0)

    with pytest.raises(BusinessRuleViolation) as err:
        special.accept_quote(now + dt.timedelta(days=2), DEALER)

    assert err.value.code == "order.quote_expired"


def test_changing_the_configuration_voids_an_accepted_quote_but_a_new_remark_does_not(special, terms_for, version,
                                                                                     now, standard):
    quote(special, now)
    special.accept_quote(now, DEALER)
    same = terms_for((*standard, "LIVERY"), 2, remarks="请提前通知提车")

    special.revise(same, estimate_price(version, same.configuration, 2), now, DEALER)
    assert special.price_source is PriceSource.QUOTE and special.accepted_quote is not None

    more = terms_for((*standard, "LIVERY"), 3)
    special.revise(more, estimate_price(version, more.configuration, 3), now, DEALER)
    assert special.accepted_quote is None and special.price_source is PriceSource.ESTIMATE
    assert "quote_voided" in kinds(special)
    with pytest.raises(BusinessRuleViolation):
        special.submit(now, DEALER)


def test_a_standard_configuration_needs_no_quote(draft, now):
    with pytest.raises(BusinessRuleViolation) as err:
        draft().request_quote(None, now, DEALER)

    assert err.value.code == "order.quote_not_needed"


def test_quotes_must_be_positive_and_valid_in_the_future(special, now):
    special.request_quote(None, now, DEALER)

    with pytest.raises(InvalidValue) as err:
        special.issue_quote(Money(0), None, now.date() + dt.timedelta(days=3), now, MANAGER)
    assert err.value.field == "unit_price_fen"
    with pytest.raises(InvalidValue) as err:
        special.issue_quote(Money(1_00), None, now.date() - dt.timedelta(days=3), now, MANAGER)
    assert err.value.field == "valid_until"


# --- submission, withdrawal, review ----------------------------------------------------------


def test_submitting_twice_is_an_illegal_transition_carrying_the_current_state(draft, now):
    order = draft()
    order.submit(now, DEALER)

    with pytest.raises(IllegalTransition) as err:
        order.submit(now, DEALER)

    assert err.value.current_state == "submitted"
    assert "已提交待评审" in err.value.message


def test_withdrawing_is_possible_only_before_the_review_starts(draft, now):
    order = draft()
    order.submit(now, DEALER)
    order.withdraw(now, DEALER)
    assert order.state is S.DRAFT

    order.submit(now, DEALER)
    order.start_review(now)
    with pytest.raises(IllegalTransition) as err:
        order.withdraw(now, DEALER)
    assert err.value.current_state == "in_review"


def test_a_returned_order_is_editable_and_resubmittable_keeping_its_history(draft, terms_for, version, now):
    order = draft()
    order.submit(now, DEALER)
    order.start_review(now)

    order.review_returned(["技术：悬挂与罐体不匹配", " "], now)
    assert (order.state, order.return_reasons) == (S.RETURNED, ["技术：悬挂与罐体不匹配"])
    terms = terms_for(["AXLE-FUWA", "SUSP-AIR", "EBS", "TANK-5182"])
    order.revise(terms, estimate_price(version, terms.configuration, 2), now, DEALER)
    order.submit(now, DEALER)
    order.review_passed(now)

    assert order.state is S.APPROVED
    assert order.submission_count == 2 and order.return_reasons == []
    assert kinds(order).count("submit") == 2 and "review_returned" in kinds(order)
    assert "重新提交订单（第2次）" in next(e.summary for e in reversed(order.events) if e.kind == "submit")


def test_a_review_return_needs_a_reason(draft, now):
    order = draft()
    order.submit(now, DEALER)

    with pytest.raises(InvalidValue):
        order.review_returned(["  "], now)


def test_a_large_modification_order_skips_the_contract(draft, now):
    order = draft()
    order.mark_major_modification(True, now, MANAGER)
    order.submit(now, DEALER)

    order.review_passed(now)

    assert order.state is S.FINANCE_REVIEW


# --- the later life cycle, driven through its hooks --------------------------------------------


def test_the_whole_life_cycle_records_each_step_once(draft, now):
    order = draft()
    order.submit(now, DEALER)
    order.start_review(now)
    order.review_passed(now)
    order.contract_issued("HT-2026-000001", now)
    order.contract_accepted(now, DEALER, {"ip": "127.0.0.1"})
    order.finance_approved(now)
    assert order.erp_released("ERP-PT-0001", now) is True
    assert order.erp_released("ERP-PT-0001", now) is False  # an outbox replay changes nothing
    order.production_progressed("in_production", 40, now)
    order.production_progressed("in_production", 80, now)
    order.stocked_in(now)
    order.complete(now)

    assert order.state is S.COMPLETED
    assert (order.contract_no, order.erp_tracking_no, order.agreed_delivery_date) == (
        "HT-2026-000001", "ERP-PT-0001", order.requested_delivery_date)
    assert kinds(order) == ["created", "price_estimated", "submit", "start_review", "review_passed",
                            "contract_issued", "contract_accepted", "finance_approved", "erp_released",
                            "production_progressed", "production_progressed", "stocked_in", "complete"]


def test_the_inspection_is_a_step_before_stock_in_and_stock_in_no_longer_shows_it(draft, now):
    order = draft()
    order.state = S.AWAITING_RELEASE
    order.erp_released("ERP-PT-0001", now)
    order.production_progressed("生产中", 100, now)

    order.inspected(now)
    inspected = (order.state, order.production_status, order.production_percent)
    order.stocked_in(now)

    assert inspected == (S.IN_PRODUCTION, "已检验", 100)
    assert (order.state, order.production_status, order.production_percent) == (S.STOCKED, "已入库", 100)
    assert kinds(order)[-3:] == ["production_progressed", "inspected", "stocked_in"]
    assert order.events[-2].summary == "成品检验完成，待入库"


def test_an_erp_that_reports_no_inspection_goes_from_production_to_stock(draft, now):
    order = draft()
    order.state = S.RELEASED

    order.production_progressed("生产中", 60, now)
    order.stocked_in(now)

    assert "inspected" not in kinds(order)
    assert (order.state, order.production_status) == (S.STOCKED, "已入库")


def test_a_different_tracking_number_for_a_released_order_is_a_conflict(draft, now):
    order = draft()
    order.state = S.AWAITING_RELEASE
    order.erp_released("ERP-PT-0001", now)

    with pytest.raises(Conflict) as err:
        order.erp_released("ERP-PT-0002", now)

    assert err.value.code == "order.tracking_no_mismatch"


def test_a_change_before_design_returns_the_order_and_voids_the_contract(draft, now):
    order = draft()
    order.state = S.APPROVED
    order.contract_issued("HT-2026-000009", now)

    order.return_for_change(["客户要求改为空气悬挂"], now, MANAGER)

    assert (order.state, order.contract_no) == (S.RETURNED, None)
    assert order.events[-1].data["voided_contract_no"] == "HT-2026-000009"


# --- every move the table forbids ---------------------------------------------------------------


def _act(order, action, now):
    day = now.date() + dt.timedelta(days=5)
    return {
        "request_quote": lambda: order.request_quote(None, now, DEALER),
        "issue_quote": lambda: order.issue_quote(Money(1_00), None, day, now, MANAGER),
        "accept_quote": lambda: order.accept_quote(now, DEALER),
        "decline_quote": lambda: order.decline_quote(None, now, DEALER),
        "submit": lambda: order.submit(now, DEALER),
        "withdraw": lambda: order.withdraw(now, DEALER),
        "start_review": lambda: order.start_review(now),
        "review_passed": lambda: order.review_passed(now),
        "review_returned": lambda: order.review_returned(["原因"], now),
        "contract_issued": lambda: order.contract_issued("HT-1", now),
        "contract_accepted": lambda: order.contract_accepted(now, DEALER),
        "finance_approved": lambda: order.finance_approved(now),
        "finance_rejected": lambda: order.finance_rejected("未到预付款", now),
        "resubmit_to_finance": lambda: order.resubmit_to_finance(now),
        "erp_released": lambda: order.erp_released("ERP-1", now),
        "production_progressed": lambda: order.production_progressed("in_production", 10, now),
        "inspected": lambda: order.inspected(now),
        "stocked_in": lambda: order.stocked_in(now),
        "complete": lambda: order.complete(now),
        "return_for_change": lambda: order.return_for_change(["变更"], now),
        "cancel": lambda: order.cancel(None, now, DEALER),
    }[action]


ILLEGAL = [(action, state) for action, (allowed, _) in TRANSITIONS.items() for state in OrderState
           if state not in allowed and not (action == "production_progressed" and state is S.IN_PRODUCTION)]


@pytest.mark.parametrize(("action", "state"), ILLEGAL, ids=[f"{a}-from-{s.value}" for a, s in ILLEGAL])
def test_every_move_the_table_forbids_is_refused_with_the_current_state(draft, now, action, state):
    order = draft()
    order.state = state
    before = len(order.events)

    with pytest.raises(IllegalTransition) as err:
        _act(order, action, now)()

    assert err.value.current_state == state.value
    assert order.state is state and len(order.events) == before


@pytest.mark.parametrize("state", [s for s in OrderState if not s.editable])
def test_only_drafts_and_returned_orders_can_be_revised(draft, terms_for, version, standard, now, state):
    order = draft()
    order.state = state
    terms = terms_for(standard)

    with pytest.raises(IllegalTransition):
        order.revise(terms, estimate_price(version, terms.configuration, 2), now, DEALER)


def test_every_state_has_a_chinese_label():
    assert all(s.label and s.label != s.value for s in OrderState)
