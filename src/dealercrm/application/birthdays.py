"""Dealer birthdays (seed 000 §2.1 2): the system sends the management team and contacts of a
dealer a greeting SMS on their birthday, and tells the responsible sales staff a few days ahead
so they can phone.

* :class:`BirthdayGreetingJob` — on the day (Beijing date, from ``send_from_hour`` o'clock), one
  greeting SMS per contact per year: the outbox idempotency key is
  ``birthday-greeting-<contact>-<year>``, so any number of passes, in any number of workers,
  enqueue it once.
* :class:`BirthdayCallReminderRule` — from ``days_ahead`` days before until the day, an alert
  (key ``contact-<id>-<year>``: once per contact per year) to the responsible sales staff: the
  dealer's own sales representative, else the sales users whose regions include the dealer's
  region, else the region managers of that region (else anyone of those roles covering it).
  Each responsible person with a mobile number also gets an SMS reminder once. The alert
  resolves itself after the birthday.

29 February birthdays are celebrated on 28 February in non-leap years. Only approved dealers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from dealercrm.application.alerts import RuleContext
from dealercrm.application.ports.engagement import BirthdayContact, StaffMember
from dealercrm.domain.alerts import Audience, Condition, OutboundMessage, Severity, birthday_in, next_birthday
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Role
from dealercrm.domain.values import Phone


def _mobile(phone: str | None) -> str | None:
    if not phone:
        return None
    try:
        p = Phone(phone)
    except InvalidValue:
        return None
    return p.value if p.is_mobile else None


def responsible_staff(contact: BirthdayContact, staff: list[StaffMember]) -> list[StaffMember]:
    """Who should phone: the dealer's sales rep, else regional sales, else regional managers."""
    if contact.sales_rep_id is not None:
        rep = [s for s in staff if s.user_id == contact.sales_rep_id]
        if rep:
            return rep
    for role in (Role.SALES, Role.REGION_MANAGER):
        found = [s for s in staff if s.role is role and contact.dealer_region in s.regions]
        if found:
            return found
    return []


def _day_text(day: dt.date) -> str:
    return f"{day.month}月{day.day}日"


class BirthdayCallReminderRule:
    code = "channel.contact_birthday"

    def __init__(self, days_ahead: int = 3, *, sms_to_staff: bool = True) -> None:
        if days_ahead < 0 or days_ahead > 60:
            raise ValueError("days_ahead must be between 0 and 60")
        self.days_ahead = days_ahead
        self.sms_to_staff = sms_to_staff

    def evaluate(self, ctx: RuleContext) -> Iterable[Condition]:
        today = ctx.today
        due = []
        for c in ctx.uow.engagement.birthday_contacts():
            day = next_birthday(c.birthday, today)
            if (day - today).days <= self.days_ahead:
                due.append((c, day))
        if not due:
            return []
        staff = ctx.uow.engagement.staff((Role.SALES, Role.REGION_MANAGER))
        out = []
        for c, day in due:
            people = responsible_staff(c, staff)
            audience = (Audience(user_ids=tuple(p.user_id for p in people)) if people
                        else Audience(roles=(Role.SALES, Role.REGION_MANAGER), region=c.dealer_region))
            who = f"{c.dealer_name} {c.name}（{c.title}）"
            messages: tuple[OutboundMessage, ...] = ()
            if self.sms_to_staff:
                messages = tuple(
                    OutboundMessage("sales.birthday_call_reminder", {
                        "sales_name": p.display_name, "customer_name": who, "birthday": _day_text(day),
                        "customer_phone": c.phone,
                    }, mobile)
                    for p in people if (mobile := _mobile(p.phone))
                )
            out.append(Condition(
                key=f"contact-{c.contact_id}-{day.year}",
                audience=audience,
                title=f"生日提醒：{who}{_day_text(day)}生日",
                body=f"{c.dealer_name}的{c.title}{c.name}将于{day.year}年{_day_text(day)}过生日，"
                     f"请当天致电 {c.phone} 送上祝福（系统会在当天自动发送祝福短信）。",
                severity=Severity.INFO,
                subject_type="dealer",
                subject_id=str(c.dealer_id),
                due_on=day,
                messages=messages,
            ))
        return out


class BirthdayGreetingJob:
    code = "channel.contact_birthday_greeting"

    def __init__(self, send_from_hour: int = 9) -> None:
        if not 0 <= send_from_hour <= 23:
            raise ValueError("send_from_hour must be 0–23")
        self.send_from_hour = send_from_hour

    def run(self, ctx: RuleContext) -> int:
        from dealercrm.domain.alerts import SHANGHAI

        if ctx.now.astimezone(SHANGHAI).hour < self.send_from_hour:
            return 0  # nobody wants a greeting at 00:05
        today = ctx.today
        greeted = 0
        for c in ctx.uow.engagement.birthday_contacts():
            if birthday_in(today.year, c.birthday) != today:
                continue
            mobile = _mobile(c.phone)
            if mobile is None:
                continue  # a landline cannot take an SMS
            ctx.uow.outbox.enqueue(
                "dealer.contact_birthday_greeting",
                {"contact_name": c.name, "dealer_name": c.dealer_name},
                mobile,
                f"birthday-greeting-{c.contact_id}-{today.year}",
            )
            greeted += 1
        return greeted
