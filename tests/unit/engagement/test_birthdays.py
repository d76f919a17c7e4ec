"""Birthday dates and the birthday rule and job against an in-test directory (no database)."""

import datetime as dt

import attrs
import pytest

from dealercrm.application.alerts import RuleContext
from dealercrm.application.birthdays import BirthdayCallReminderRule, BirthdayGreetingJob, responsible_staff
from dealercrm.application.ports.engagement import BirthdayContact, StaffMember
from dealercrm.domain.alerts import birthday_in, next_birthday
from dealercrm.domain.identity import Role
from dealercrm.domain.notifications import render

BEIJING = dt.timezone(dt.timedelta(hours=8))


def at(day, hour=10):
    return dt.datetime.combine(day, dt.time(hour), BEIJING).astimezone(dt.UTC)


@pytest.mark.parametrize(("year", "expected"), [(2027, dt.date(2027, 2, 28)), (2028, dt.date(2028, 2, 29))])
def test_29_february_is_celebrated_on_28_february_in_a_non_leap_year(year, expected):
    assert birthday_in(year, dt.date(1980, 2, 29)) == expected


def test_the_next_birthday_rolls_over_the_year_end():
    assert next_birthday(dt.date(1990, 1, 1), dt.date(2026, 12, 30)) == dt.date(2027, 1, 1)
    assert next_birthday(dt.date(1990, 12, 30), dt.date(2026, 12, 30)) == dt.date(2026, 12, 30)


def contact(**kw):
    base = dict(contact_id=1, name="王建国", title="总经理", phone="13800138000", birthday=dt.date(1975, 3, 8),
                dealer_id=5, dealer_name="郑州宏达", dealer_region="华中", sales_rep_id=None)
    return BirthdayContact(**{**base, **kw})


SALES_CENTRAL = StaffMember(10, "华中销售", Role.SALES, ("华中",), "13900000001")
SALES_EAST = StaffMember(11, "华东销售", Role.SALES, ("华东",), "13900000002")
MANAGER_CENTRAL = StaffMember(12, "华中大区经理", Role.REGION_MANAGER, ("华中",))


def test_responsible_staff_is_the_sales_rep_then_regional_sales_then_the_region_manager():
    staff = [SALES_CENTRAL, SALES_EAST, MANAGER_CENTRAL]

    assert responsible_staff(contact(sales_rep_id=11), staff) == [SALES_EAST]
    assert responsible_staff(contact(), staff) == [SALES_CENTRAL]
    assert responsible_staff(contact(), [SALES_EAST, MANAGER_CENTRAL]) == [MANAGER_CENTRAL]
    assert responsible_staff(contact(), [SALES_EAST]) == []


@attrs.define
class Directory:
    contacts: list
    people: list

    def birthday_contacts(self):
        return list(self.contacts)

    def staff(self, roles):
        return [s for s in self.people if s.role in roles]


@attrs.define
class Outbox:
    queued: dict = attrs.field(factory=dict)

    def enqueue(self, template_code, variables, recipient, idempotency_key):
        render(template_code, variables)  # variables checked as the real outbox does
        self.queued.setdefault(idempotency_key, (template_code, recipient))
        return idempotency_key


@attrs.define
class Uow:
    engagement: Directory
    outbox: Outbox = attrs.field(factory=Outbox)


def test_the_reminder_is_due_from_n_days_ahead_until_the_day():
    rule = BirthdayCallReminderRule(days_ahead=3)
    uow = Uow(Directory([contact()], [SALES_CENTRAL]))

    days = {d: [c.key for c in rule.evaluate(RuleContext(at(d), uow))]
            for d in (dt.date(2026, 3, 4), dt.date(2026, 3, 5), dt.date(2026, 3, 8), dt.date(2026, 3, 9))}

    assert days == {dt.date(2026, 3, 4): [], dt.date(2026, 3, 5): ["contact-1-2026"],
                    dt.date(2026, 3, 8): ["contact-1-2026"], dt.date(2026, 3, 9): []}
    [c] = rule.evaluate(RuleContext(at(dt.date(2026, 3, 6)), uow))
    assert c.audience.user_ids == (10,) and c.due_on == dt.date(2026, 3, 8)
    assert [(m.template_code, m.recipient) for m in c.messages] == [("sales.birthday_call_reminder", "13900000001")]


def test_without_responsible_staff_the_reminder_goes_to_the_regions_sales_roles():
    [c] = BirthdayCallReminderRule().evaluate(RuleContext(at(dt.date(2026, 3, 8)), Uow(Directory([contact()], []))))

    assert set(c.audience.roles) == {Role.SALES, Role.REGION_MANAGER} and c.audience.region == "华中"
    assert c.messages == ()


def test_the_greeting_is_queued_on_the_day_from_the_morning_with_one_key_per_contact_and_year():
    job = BirthdayGreetingJob(send_from_hour=9)
    uow = Uow(Directory([contact(), contact(contact_id=2, phone="010-66668888")], []))

    early = job.run(RuleContext(at(dt.date(2026, 3, 8), 8), uow))
    late = job.run(RuleContext(at(dt.date(2026, 3, 8), 9), uow))
    job.run(RuleContext(at(dt.date(2026, 3, 8), 21), uow))

    assert (early, late) == (0, 1)
    assert uow.outbox.queued == {"birthday-greeting-1-2026": ("dealer.contact_birthday_greeting", "13800138000")}
