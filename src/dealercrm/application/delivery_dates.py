"""Delivery-date reminders (issue 4 §8; seed 000 §3 "对于订单合同中明确交货日期的，系统能随时
提醒提示相应各业务部门每笔订单的交货期").

:class:`DeliveryDateReminderRule` is an alert rule run by the engagement scheduler. For every
open order it holds the order to its delivery date — the agreed date (合同交货期) once the
contract set one, else the requested date — and yields:

* from ``days_ahead`` days before until the day itself, a *due soon* condition (warning),
  key ``order-<id>-due-<date>``;
* from the day after, an *overdue* condition (critical), key ``order-<id>-overdue-<date>``.

Each is raised once (alerts are unique by rule and key), to sales (the dealer's own sales
representative, and sales staff and region managers of the dealer's region), production and
dispatch, and e-mailed to them once through the outbox. When the order turns overdue the due-
soon alert resolves itself and the overdue one is raised; when the order is completed (or
cancelled, or sent back to the dealer) the condition is no longer yielded and its alert
resolves. A changed date is a new condition: the old alert resolves, a new one is raised.

Open means the factory owes the delivery: from the review's approval until the vehicles leave
(``stocked`` — built, waiting for pickup or shipping — still counts: dispatch acts on it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from dealercrm.application.alerts import RuleContext
from dealercrm.domain.alerts import Audience, Condition, Severity
from dealercrm.domain.identity import Role
from dealercrm.domain.notifications import Channel
from dealercrm.domain.orders import OrderState

S = OrderState
OPEN_STATES: tuple[str, ...] = tuple(s.value for s in (
    S.APPROVED, S.CONTRACT_SIGNING, S.FINANCE_REVIEW, S.FINANCE_REJECTED, S.AWAITING_RELEASE, S.RELEASED,
    S.IN_PRODUCTION, S.STOCKED))
AUDIENCE_ROLES = (Role.SALES, Role.REGION_MANAGER, Role.PRODUCTION, Role.DISPATCH)


class DeliveryDateReminderRule:
    code = "orders.delivery_date"

    def __init__(self, days_ahead: int = 7, *, notify: Collection[Channel] = (Channel.EMAIL,)) -> None:
        if isinstance(days_ahead, bool) or not isinstance(days_ahead, int) or not 0 <= days_ahead <= 90:
            raise ValueError("days_ahead must be an integer between 0 and 90")
        self.days_ahead = days_ahead
        self.notify = tuple(notify)

    def evaluate(self, ctx: RuleContext) -> Iterable[Condition]:
        deadlines = getattr(ctx.uow, "delivery_deadlines", None)
        if deadlines is None:  # a unit of work without orders (the in-memory one): nothing is due
            return []
        today = ctx.today
        last_day = today.fromordinal(today.toordinal() + self.days_ahead)
        out = []
        for o in deadlines.due_by(last_day, OPEN_STATES):
            audience = Audience(user_ids=(o.sales_rep_id,) if o.sales_rep_id else (), roles=AUDIENCE_ROLES,
                                region=o.region)
            which = "合同交货期" if o.agreed else "要求交货日期"
            state = OrderState(o.state).label
            body = (f"经销商：{o.dealer_name}（{o.region}）\n车型：{o.template_name} × {o.quantity}台\n"
                    f"{which}：{o.due_on.isoformat()}\n当前状态：{state}"
                    + (f"\n合同编号：{o.contract_no}" if o.contract_no else ""))
            if o.due_on >= today:
                out.append(Condition(
                    key=f"order-{o.order_id}-due-{o.due_on.isoformat()}", audience=audience,
                    title=f"订单 {o.order_no} {which}将至：{o.due_on.isoformat()}"[:200],
                    body=body, severity=Severity.WARNING, subject_type="order", subject_id=str(o.order_id),
                    due_on=o.due_on))
            else:
                out.append(Condition(
                    key=f"order-{o.order_id}-overdue-{o.due_on.isoformat()}", audience=audience,
                    title=f"订单 {o.order_no} 已超过{which}（{o.due_on.isoformat()}）未交付"[:200],
                    body=body, severity=Severity.CRITICAL, subject_type="order", subject_id=str(o.order_id),
                    due_on=o.due_on))
        return out
