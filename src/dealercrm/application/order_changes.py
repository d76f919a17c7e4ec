"""Order changes (订单变更, issue 4 §7): a change request on an approved order, reviewed by the
technical department through the generic workflow, then either 退单 or forwarded to the ERP
(see ``domain.order_changes``).

* ``request_change`` — dealer users (own orders) and sales staff; one open request per order;
  the ``order_change`` workflow (one step, 技术评审) starts in the same transaction.
* approved before the order was released to the ERP → ``return_for_change``: the order goes
  back to the dealer (editable, resubmittable), its contract is voided and the credit reserved
  for it released (``credit.cancel_contract``), all in the deciding transaction. A release
  message still in the outbox then finds the order returned and sends nothing.
* approved after release → an ``erp.forward_change`` message (outbox channel ``erp``) in the same
  transaction; ``application.erp_release`` delivers it with ``ErpGateway.forward_change`` and the
  idempotency key ``change:<change_no>``. The ERP's change record comes back through the sync
  and shows, read-only, in the order's timeline.
* rejected → the request is closed with the reason; the order is untouched.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import attrs

from dealercrm.application import credit
from dealercrm.application import workflow as wf
from dealercrm.application.access import require_role
from dealercrm.application.contracts import ERP_RECIPIENT, release_key
from dealercrm.application.form_once import once_per_form
from dealercrm.application.orders import ORDER_WRITERS, _visible_order
from dealercrm.application.ports.orders import OrderFlowUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.domain.errors import Conflict, IllegalTransition, InvariantBroken, NotFound
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.order_changes import OrderChangeRequest
from dealercrm.domain.orders import SHANGHAI, Order, OrderState
from dealercrm.domain.workflow import Workflow
from dealercrm.domain.values import stored_id

ORDER_CHANGE_SUBJECT = "order_change"
S = OrderState
CHANGEABLE = (S.APPROVED, S.CONTRACT_SIGNING, S.FINANCE_REVIEW, S.FINANCE_REJECTED, S.AWAITING_RELEASE, S.RELEASED,
              S.IN_PRODUCTION)
CHANGE_REVIEW = wf.WorkflowDefinition(
    "order_change_review", "订单变更评审",
    (wf.StageDef("变更评审", (wf.StepDef("technical", "技术评审", "role", Role.TECHNICAL.value, due_in_days=2),)),),
)


@attrs.frozen
class ChangeRef:
    id: int
    change_no: str
    order_id: int
    status: str
    workflow_id: int | None = None


def _ref(change: OrderChangeRequest, workflow_id: int | None = None) -> ChangeRef:
    if change.id is None:
        raise InvariantBroken("order change has no id: not flushed")
    return ChangeRef(change.id, change.change_no, change.order_id, change.status.value, workflow_id)


def _actor(uow: OrderFlowUnitOfWork) -> Principal | None:
    return uow.actor if uow.actor.user_id is not None else None


def request_change(order_id: int, description: str, uow: OrderFlowUnitOfWork, clock: Clock) -> ChangeRef:
    require_role(uow.actor, *ORDER_WRITERS)
    with uow:
        ref = _request(uow, order_id, description, clock())
        uow.commit()
    return ref


def request_change_once(order_id: int, description: str, new_uow: Callable[[], OrderFlowUnitOfWork], clock: Clock,
                        *, form_token: str) -> ChangeRef:
    """``request_change`` once per form token of this user (a double-clicked submit files one
    request; the second post answers the first), through the client-event ledger."""

    def work(uow: Any) -> dict[str, Any]:
        return attrs.asdict(_request(uow, order_id, description, clock()))

    answer = once_per_form(new_uow, clock, roles=ORDER_WRITERS, form_token=form_token, kind="order_change.request",
                           request=(order_id, description), work=work)
    return ChangeRef(**answer)


def _request(uow: OrderFlowUnitOfWork, order_id: int, description: str, now: dt.datetime) -> ChangeRef:
    """File the request and start its review inside the caller's unit of work (not committed)."""
    order = _visible_order(uow, order_id)
    if order.state not in CHANGEABLE:
        raise IllegalTransition("order", order.state.value, "request_change",
                                f"订单当前状态为「{order.state.label}」，不能申请变更")
    if uow.order_changes.pending_of_order(stored_id(order.id)) is not None:
        raise Conflict("该订单已有处理中的变更申请", code="order_change.already_open", current_state=order.state.value)
    change = OrderChangeRequest(
        uow.numbers.formatted("BG", year=now.astimezone(SHANGHAI).year), stored_id(order.id), order.dealer_id,
        description, now, uow.actor.username, contract_no=release_key(order)[0])
    uow.order_changes.add(change)
    uow.flush()
    if change.id is None:
        raise InvariantBroken("order change has no id: not flushed")
    region = uow.orders.region_of(order.dealer_id) or None
    workflow_id = wf.start_workflow(
        uow, definition=CHANGE_REVIEW,
        subject=wf.WorkflowSubject(ORDER_CHANGE_SUBJECT, change.id, change.change_no,
                                   f"订单变更：{order.order_no}", dealer_id=order.dealer_id, region=region),
        submitted_by=uow.actor, now=now)
    order.record("change_requested", f"申请变更 {change.change_no}：{change.description}", now, uow.actor,
                 data={"change_no": change.change_no, "description": change.description,
                       "workflow_id": workflow_id})
    return _ref(change, workflow_id)


def _on_change_outcome(uow: OrderFlowUnitOfWork, workflow: Workflow, outcome: wf.WorkflowOutcome) -> None:
    change = uow.order_changes.get(outcome.subject_id)
    if change is None:
        raise NotFound("变更申请不存在", code="order_change.not_found")
    order = uow.orders.get(change.order_id)
    if order is None:
        raise NotFound("订单不存在", code="order.not_found")
    by, now = _actor(uow), outcome.at
    if outcome.status is wf.WorkflowStatus.APPROVED:
        apply_approved_change(uow, change, order, now, by)
    elif outcome.status is wf.WorkflowStatus.REJECTED:
        change.reject(outcome.summary, now)
        order.record("change_rejected", f"变更 {change.change_no} 未通过评审：{outcome.summary}", now, by,
                     data={"change_no": change.change_no, "reason": outcome.summary})
    else:
        change.withdraw(now, "；".join(outcome.reasons) or None)
        order.record("change_withdrawn", f"撤回变更申请 {change.change_no}", now, by,
                     data={"change_no": change.change_no})


def apply_approved_change(uow: OrderFlowUnitOfWork, change: OrderChangeRequest, order: Order, now: dt.datetime,
                          by: Principal | None) -> None:
    """退单 before the ERP release, else forward to the ERP (through the outbox)."""
    if order.erp_tracking_no is None and order.state in CHANGEABLE and order.state is not S.IN_PRODUCTION:
        contract = uow.contracts.current_of_order(stored_id(order.id)) if order.contract_no else None
        contract_no = release_key(order)[0]
        reason = f"变更 {change.change_no}：{change.description}"
        if contract is not None:
            contract.void(f"退单（{reason}）", now)
        if uow.credit.commitment(contract_no) is not None:
            credit.cancel_contract(uow, contract_no, reason=f"退单：{change.change_no}", now=now)
        change.returned(now)
        order.return_for_change([reason], now, by)
        return
    if order.erp_tracking_no is None:
        raise IllegalTransition("order", order.state.value, "forward_change", "订单尚无ERP内部流转单号，无法转ERP")
    change.forward(order.erp_tracking_no, now)
    order.record("change_approved", f"变更 {change.change_no} 评审通过，转ERP处理", now, by,
                 data={"change_no": change.change_no, "tracking_no": order.erp_tracking_no})
    send_change_to_erp(uow, change)


def send_change_to_erp(uow: OrderFlowUnitOfWork, change: OrderChangeRequest) -> None:
    """Queue the change for the ERP (outbox channel ``erp``, key ``change:<change_no>``), in the
    caller's transaction; ``application.erp_release`` delivers it."""
    uow.flush()
    uow.outbox.enqueue("erp.forward_change", {
        "change_no": change.change_no,
        "payload": json.dumps({"change_request_id": change.id, "erp_key": change.erp_key}, sort_keys=True),
    }, ERP_RECIPIENT, f"erp.change:{change.erp_key}")


# The change request's entry in the workflow handler table (the composition root builds the table).
ORDER_CHANGE_HANDLERS = wf.SubjectHandlers(ORDER_CHANGE_SUBJECT, _on_change_outcome)
