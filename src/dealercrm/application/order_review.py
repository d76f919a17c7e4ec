"""The order review (订单评审, seed 000 §3.3): four departments in parallel through the generic
approval workflow.

Submitting an order (``application.orders.submit_order`` / ``create_order(submit=True)``) starts
an ``order_review`` workflow in the same transaction: one stage whose four steps run side by
side — procurement (采购评审), technical (技术评审), production (生产评审) by role, and sales
(销售评审) addressed to the sales staff and region managers of the dealer's region. The steps
are decided through the workflow's own endpoints (``POST /api/v1/workflows/steps/{id}/decide``,
e-mail links, delegation …); the order only listens (``application.order_review_outcome``):

* each decided step is written to the order's timeline (the first one also moves the order
  ``submitted → in_review``: from then on it can no longer be withdrawn);
* all four approve → ``review_passed`` and, unless the order is a 大委改, the e-contract is
  generated in the same transaction (``application.contracts.issue_contract``);
* any rejection → ``review_returned`` with the reasons, and the dealer's primary contact is told
  why through the outbox; resubmitting starts a new workflow, the old one stays in the history;
* the submitter withdrawing the workflow withdraws the order (or returns it, once in review).
"""

from __future__ import annotations

import datetime as dt

from dealercrm.application import workflow as wf
from dealercrm.application.ports.orders import OrdersUnitOfWork
from dealercrm.domain.errors import InvariantBroken, NotFound
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.orders import Order
from dealercrm.domain.values import stored_id

ORDER_REVIEW_SUBJECT = "order"
REVIEW_STEP_KEYS = ("procurement", "technical", "production", "sales")


def review_definition(region: str) -> wf.WorkflowDefinition:
    """The four parallel reviews; the sales step goes to the dealer's region."""
    return wf.WorkflowDefinition(
        "order_review", "订单评审",
        (wf.StageDef("订单评审（采购、技术、生产、销售并行）", (
            wf.StepDef("procurement", "采购评审", "role", Role.PROCUREMENT.value, due_in_days=2),
            wf.StepDef("technical", "技术评审", "role", Role.TECHNICAL.value, due_in_days=2),
            wf.StepDef("production", "生产评审", "role", Role.PRODUCTION.value, due_in_days=2),
            wf.StepDef("sales", "销售评审", "region", region, due_in_days=2),
        )),),
    )


def start_order_review(uow: OrdersUnitOfWork, order: Order, now: dt.datetime, *, region: str | None,
                       new_order: bool = False) -> int:
    """Put a just-submitted order under review; inside the caller's unit of work (no commit).
    ``region``: the dealer's (the caller has just read its terms); ``new_order``: created in this
    same transaction, so it cannot have a running review yet."""
    uow.flush()
    if order.id is None:
        raise InvariantBroken("order has no id: not flushed")
    region = region or ""
    workflow_id = wf.start_workflow(
        uow, definition=review_definition(region),
        subject=wf.WorkflowSubject(ORDER_REVIEW_SUBJECT, order.id, order.order_no,
                                   f"订单评审：{order.template_name} × {order.quantity}",
                                   dealer_id=order.dealer_id, region=region),
        submitted_by=uow.actor, now=now, subject_is_new=new_order,
    )
    return workflow_id


def withdraw_order_review(uow: OrdersUnitOfWork, order: Order, now: dt.datetime) -> bool:
    """The order is withdrawn before any review decision: withdraw its running workflow too
    (as its submitter; the outcome handler moves the order). ``False``: no running workflow."""
    if order.id is None:
        raise InvariantBroken("order has no id: not flushed")
    running = uow.workflows.running_for(ORDER_REVIEW_SUBJECT, order.id)
    if running is None:
        return False
    submitter = uow.users.get(running.submitted_by_id) if running.submitted_by_id is not None else None
    if submitter is None:
        return False
    from dealercrm.application.identity import principal_of

    running.withdraw(by=principal_of(submitter), now=now, reason=f"订单撤回（{uow.actor.username}）")
    wf.settle(uow, running, now, uow.actor)
    return True


def decide_whole_review(uow: OrdersUnitOfWork, order: Order, passed: bool, reasons: list[str],
                        now: dt.datetime) -> bool:
    """An administrator's override (and the demo): approve every open step of the order's running
    review, or reject the first open one with ``reasons`` — through the workflow, so the order and
    its workflow never disagree. ``False``: no running workflow (an order from before workflows)."""
    if order.id is None:
        raise InvariantBroken("order has no id: not flushed")
    running = uow.workflows.running_for(ORDER_REVIEW_SUBJECT, order.id)
    if running is None:
        return False
    open_steps = [s for s in running.open_steps if s.id is not None]
    if passed:
        for step in open_steps:
            wf.decide_in(uow, running, stored_id(step.id), wf.Decision.APPROVE, uow.actor, now, None, "统一评审通过")
    elif open_steps:
        wf.decide_in(uow, running, stored_id(open_steps[0].id), wf.Decision.REJECT, uow.actor, now,
                     "；".join(reasons) or None, None)
    return True


def _order(uow: OrdersUnitOfWork, order_id: int) -> Order:
    order = uow.orders.get(order_id)
    if order is None:
        raise NotFound("订单不存在", code="order.not_found")
    return order


def _actor(uow: OrdersUnitOfWork) -> Principal | None:
    actor = getattr(uow, "actor", None)
    return actor if actor is not None and actor.user_id is not None else None


def _notify_dealer(uow: OrdersUnitOfWork, order: Order, template: str, key: str, **variables: object) -> None:
    """Tell the dealer's primary contact (with an e-mail address), in the same transaction."""
    dealer = uow.dealers.get(order.dealer_id)
    if dealer is None:
        return
    contact = next((c for c in dealer.contacts if c.is_primary and c.email), None)
    if contact is None or not contact.email:
        return
    uow.outbox.enqueue(template, {"dealer_name": dealer.legal_name, "order_no": order.order_no,
                                  "portal_url": f"{wf.portal_url_of(uow).rstrip('/')}/orders/{order.id}",
                                  **variables},
                       contact.email, key)
