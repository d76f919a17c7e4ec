"""The order use cases against the in-memory twins (no database): draft, revise with a stale
version, submit into the four-department review, withdraw, cancel — asserting the stored order,
its timeline and the review workflow."""

from __future__ import annotations

import datetime as dt

import pytest

from dealercrm.adapters.memory import memory_uow_factory
from dealercrm.application import orders as uc
from dealercrm.application.order_review import ORDER_REVIEW_SUBJECT
from dealercrm.application.order_review_outcome import ORDER_REVIEW_HANDLERS
from dealercrm.application.workflow import WorkflowHandlers
from dealercrm.domain.catalog import VehicleTemplate
from dealercrm.domain.channel import Address, Agreement, Dealer, DealerStatus, ProductLine, SettlementMethod
from dealercrm.domain.errors import Conflict, IllegalTransition, InvalidValue, NotFound
from dealercrm.domain.identity import Principal, Role, User
from dealercrm.domain.values import Uscc
from dealercrm.domain.workflow import WorkflowStatus

NOW = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)  # 10:00 in Beijing
ADMIN = Principal(user_id=1, username="admin", role=Role.ADMIN)
STANDARD = ("AXLE-FUWA", "SUSP-MECH", "ABS", "TANK-5182")


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def world(make_content):
    """One approved dealer with a tanker agreement, its login, review staff, one published tanker."""
    clock = Clock()
    factory = memory_uow_factory(clock=clock, workflow_handlers=WorkflowHandlers.of(ORDER_REVIEW_HANDLERS))
    with factory(ADMIN) as u:
        dealer = Dealer(code="DL-000001", legal_name="郑州宏达专用车销售有限公司", uscc=Uscc("91350100M000100Y43"),
                        region="华中", address=Address("河南省", "郑州市", "经开区88号"), status=DealerStatus.APPROVED)
        dealer.agreements.append(Agreement("AG-1", ["tanker"], ["河南省"], SettlementMethod.CREDIT,
                                           dt.date(2026, 1, 1), dt.date(2027, 12, 31)))
        u.dealers.add(dealer)
        u.flush()
        for i, (name, role) in enumerate([("hongda", Role.DEALER), ("proc", Role.PROCUREMENT),
                                          ("tech", Role.TECHNICAL), ("prod", Role.PRODUCTION),
                                          ("sales_hz", Role.SALES)], start=2):
            u.users.add(User(username=name, display_name=name, role=role, password_hash="x",
                             dealer_id=dealer.id if role is Role.DEALER else None,
                             regions=["华中"] if role is Role.SALES else [], email=f"{name}@example.cn"))
        template = VehicleTemplate("HTL9400GYY", ProductLine.TANKER, make_content())
        u.catalog.add(template)
        u.flush()
        u.catalog.add_version(template.publish(NOW, "technical"))
        u.commit()
    dealer_user = next(x for x in factory.store.users.values() if x.username == "hongda")
    dealer_p = Principal(user_id=dealer_user.id, username="hongda", role=Role.DEALER, dealer_id=dealer.id)
    return factory, clock, dealer_p, template.id


def draft(template_id: int, **changes) -> uc.OrderDraftIn:
    fields = dict(template_id=template_id, options=STANDARD, quantity=2, requested_delivery_date=dt.date(2027, 2, 1),
                  delivery_method="self_pickup")
    fields.update(changes)
    return uc.OrderDraftIn(**fields)


def stored(factory, order_id):
    return factory.store.orders_context.orders.get(order_id)


def timeline_kinds(factory, order_id) -> list[str]:
    return [e.kind for e in factory.store.orders_context.timeline.get(order_id, [])]


def test_a_dealer_drafts_an_order_priced_from_the_published_template(world):
    factory, clock, dealer, template_id = world

    ref = uc.create_order(draft(template_id), factory(dealer), clock)

    order = stored(factory, ref.id)
    assert (ref.order_no, ref.state, ref.version) == ("SO-2026-000001", "draft", 1)
    assert (order.dealer_id, order.quantity, order.total.fen) == (dealer.dealer_id, 2, 2 * 238_000_00)
    assert timeline_kinds(factory, ref.id) == ["created", "price_estimated"]


def test_creating_and_submitting_in_one_go_starts_the_four_department_review(world):
    factory, clock, dealer, template_id = world

    ref = uc.create_order(draft(template_id), factory(dealer), clock, submit=True)

    assert stored(factory, ref.id).state.value == "submitted"
    workflows = [w for w in factory.store.workflows.values()
                 if w.subject_type == ORDER_REVIEW_SUBJECT and w.subject_id == ref.id]
    assert [w.status for w in workflows] == [WorkflowStatus.RUNNING]
    assert sorted(s.key for s in workflows[0].steps) == ["procurement", "production", "sales", "technical"]


def test_an_update_with_a_stale_version_is_a_conflict_and_changes_nothing(world):
    factory, clock, dealer, template_id = world
    ref = uc.create_order(draft(template_id), factory(dealer), clock)
    revised = uc.update_order(ref.id, draft(template_id, quantity=3), factory(dealer), clock, expected_version=1)

    with pytest.raises(Conflict) as stale:
        uc.update_order(ref.id, draft(template_id, quantity=5), factory(dealer), clock, expected_version=1)

    assert revised.version == 2
    assert stale.value.code == "order.stale_version"
    assert stale.value.details["current_version"] == 2
    assert (stored(factory, ref.id).quantity, stored(factory, ref.id).version) == (3, 2)


def test_submitting_twice_is_refused_with_the_current_state(world):
    factory, clock, dealer, template_id = world
    ref = uc.create_order(draft(template_id), factory(dealer), clock)
    uc.submit_order(ref.id, factory(dealer), clock)

    with pytest.raises(IllegalTransition) as again:
        uc.submit_order(ref.id, factory(dealer), clock)

    assert again.value.details["current_state"] == "submitted"
    assert stored(factory, ref.id).state.value == "submitted"


def test_withdrawing_a_submitted_order_withdraws_its_review_and_returns_it_to_draft(world):
    factory, clock, dealer, template_id = world
    ref = uc.submit_order(uc.create_order(draft(template_id), factory(dealer), clock).id, factory(dealer), clock)

    uc.withdraw_order(ref.id, factory(dealer), clock)

    assert stored(factory, ref.id).state.value == "draft"
    review = next(w for w in factory.store.workflows.values() if w.subject_id == ref.id)
    assert review.status is WorkflowStatus.WITHDRAWN


def test_a_cancelled_order_records_why_on_its_timeline(world):
    factory, clock, dealer, template_id = world
    ref = uc.create_order(draft(template_id), factory(dealer), clock)

    out = uc.cancel_order(ref.id, "客户取消", factory(dealer), clock)

    assert out.state == "cancelled"
    assert timeline_kinds(factory, ref.id)[-1] == "cancel"
    assert "客户取消" in factory.store.orders_context.timeline[ref.id][-1].summary


def test_a_failed_use_case_leaves_nothing_behind(world):
    factory, clock, dealer, template_id = world

    with pytest.raises(InvalidValue):
        uc.create_order(draft(template_id, delivery_method="teleport"), factory(dealer), clock)

    assert list(factory.store.orders_context.orders) == []
    assert factory.store.sequences.get("SO-2026") is None


def test_another_dealers_order_does_not_exist_for_a_dealer(world):
    factory, clock, dealer, template_id = world
    ref = uc.create_order(draft(template_id), factory(dealer), clock)
    stranger = Principal(user_id=99, username="other", role=Role.DEALER, dealer_id=dealer.dealer_id + 1000)

    with pytest.raises(NotFound):
        uc.cancel_order(ref.id, None, factory(stranger), clock)

    assert stored(factory, ref.id).state.value == "draft"
