"""What the order learns from its review workflow: the step and outcome handlers of the order's
entry in the workflow handler table (``application.order_review`` starts and steers the review).

They live apart from ``order_review`` because an approved review issues the e-contract
(``application.contracts``), and the contract use cases themselves build on the order review's
and the orders' helpers: kept here, the imports run one way.
"""

from __future__ import annotations

from dealercrm.application import workflow as wf
from dealercrm.application.contracts import issue_contract
from dealercrm.application.order_review import ORDER_REVIEW_SUBJECT, _actor, _notify_dealer, _order
from dealercrm.application.ports.orders import OrderFlowUnitOfWork
from dealercrm.domain.orders import OrderState
from dealercrm.domain.workflow import StepStatus, Workflow, WorkflowStep


def _on_review_step(uow: OrderFlowUnitOfWork, workflow: Workflow, step: WorkflowStep) -> None:
    """One department decided: the order's timeline shows it (the first decision starts the review)."""
    order = _order(uow, workflow.subject_id)
    now = step.decided_at or uow.clock()
    by = _actor(uow)
    if order.state is OrderState.SUBMITTED:
        order.start_review(now, by)
    approved = step.status is StepStatus.APPROVED
    text = "同意" + (f"：{step.comment}" if step.comment else "") if approved else f"驳回：{step.reason or ''}"
    order.record("review_step", f"{step.name}{text}", now, by, data={
        "workflow_id": workflow.id, "workflow_no": workflow.number, "step_id": step.id, "step_key": step.key,
        "step_name": step.name, "decision": "approve" if approved else "reject", "reason": step.reason,
        "comment": step.comment, "decided_by": step.decided_by_name,
    })


def _on_review_outcome(uow: OrderFlowUnitOfWork, workflow: Workflow, outcome: wf.WorkflowOutcome) -> None:
    order = _order(uow, outcome.subject_id)
    by = _actor(uow)
    if outcome.status is wf.WorkflowStatus.APPROVED:
        if order.state is OrderState.SUBMITTED:
            order.start_review(outcome.at, by)
        order.review_passed(outcome.at, by)
        if not order.is_major_modification:
            issue_contract(uow, order, outcome.at)
    elif outcome.status is wf.WorkflowStatus.REJECTED:
        reason = outcome.summary or "未说明原因"
        order.review_returned([reason], outcome.at, by)
        _notify_dealer(uow, order, "order.review_returned", f"order.review_returned:{order.id}:{workflow.id}",
                       reason=reason, model=order.template_name, quantity=order.quantity)
    elif order.state is OrderState.SUBMITTED:
        order.withdraw(outcome.at, by)
    elif order.state is OrderState.IN_REVIEW:
        order.review_returned(["提交人撤回评审" + (f"：{'；'.join(outcome.reasons)}" if outcome.reasons else "")],
                              outcome.at, by)


# The order's entry in the workflow handler table (the composition root builds the table).
ORDER_REVIEW_HANDLERS = wf.SubjectHandlers(ORDER_REVIEW_SUBJECT, _on_review_outcome, _on_review_step)
