"""The monthly repair report (seed §4.0.6): last month's repairs e-mailed once a month to the
technical, production and procurement staff, on the first pass after 08:00 Beijing."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from dealercrm.application.aftersales_reports import MonthlyRepairReportJob, previous_month
from dealercrm.application.alerts import RuleContext
from dealercrm.application.ports.engagement import StaffMember
from dealercrm.domain.identity import Role
from dealercrm.domain.notifications import render
from tests.fakes import FakeClock


def _row(key, repairs, vehicles, fen, major=0):
    return {"key": key, "repairs": repairs, "vehicles": vehicles, "labour_centihours": 150 * repairs,
            "warranty_parts_fen": fen, "parts_quantity": repairs, "major_repairs": major, "in_warranty": repairs,
            "settled_fen": fen + 10_000}


class Repairs:
    def __init__(self):
        self.asked = []

    def repair_report(self, scope, *, group_by, start, end):
        self.asked.append((group_by, start, end))
        return {"fault_category": [_row("hydraulic", 3, 2, 120_000, major=1), _row("brake", 1, 1, 5_000)],
                "product_line": [_row("dump_truck", 3, 2, 120_000), _row("semi_trailer", 1, 1, 5_000)],
                "station": [_row("7", 4, 3, 125_000)]}[group_by]


class Outbox:
    def __init__(self):
        self.messages = {}

    def enqueue(self, template, variables, recipient, key):
        self.messages.setdefault(key, (template, variables, recipient))
        return key


STAFF = [StaffMember(1, "王工", Role.TECHNICAL, email="wang@factory.test"),
         StaffMember(2, "李采购", Role.PROCUREMENT, email="li@factory.test"),
         StaffMember(3, "无邮箱", Role.PRODUCTION)]


def _context(clock, outbox, asked_roles):
    def staff(roles):
        asked_roles.append(roles)
        return STAFF
    return RuleContext(clock(), SimpleNamespace(engagement=SimpleNamespace(staff=staff), outbox=outbox))


def test_the_report_goes_out_once_a_month_after_eight_beijing_to_the_three_departments():
    clock, outbox, roles, repairs = FakeClock(dt.datetime(2026, 3, 1, tzinfo=dt.UTC)), Outbox(), [], Repairs()
    job = MonthlyRepairReportJob(repairs, "https://crm.example.test")

    clock.set_beijing(dt.date(2026, 3, 1), hour=7)
    early = job.run(_context(clock, outbox, roles))
    clock.set_beijing(dt.date(2026, 3, 1), hour=8)
    sent = job.run(_context(clock, outbox, roles))
    clock.set_beijing(dt.date(2026, 3, 2), hour=9)
    again = job.run(_context(clock, outbox, roles))

    assert (early, sent, again) == (0, 2, 0)
    assert roles == [(Role.TECHNICAL, Role.PRODUCTION, Role.PROCUREMENT)]
    assert sorted(outbox.messages) == ["repair-report-2026-02-1", "repair-report-2026-02-2"]
    start, end = repairs.asked[0][1:]
    assert (start.isoformat(), end.isoformat()) == ("2026-02-01T00:00:00+08:00", "2026-03-01T00:00:00+08:00")
    template, variables, recipient = outbox.messages["repair-report-2026-02-1"]
    message = render(template, variables)
    subject, body = message.subject, message.body
    assert recipient == "wang@factory.test"
    assert subject == "2026年2月维修报告：4次维修，结算¥1,450.00"
    assert "液压系统：3次 / 2台，工时4.5小时，三包配件¥1,200.00，结算¥1,300.00，重大维修1次" in body
    assert "自卸车：3次" in body and "服务站 #7：4次" in body


def test_a_restarted_worker_sends_the_same_month_under_the_same_keys():
    clock, outbox = FakeClock(dt.datetime(2026, 3, 1, tzinfo=dt.UTC)), Outbox()
    clock.set_beijing(dt.date(2026, 3, 5), hour=10)

    MonthlyRepairReportJob(Repairs(), "https://crm.example.test").run(_context(clock, outbox, []))
    MonthlyRepairReportJob(Repairs(), "https://crm.example.test").run(_context(clock, outbox, []))

    assert len(outbox.messages) == 2


def test_previous_month_crosses_the_year():
    assert previous_month(dt.date(2026, 1, 15)) == (dt.date(2025, 12, 1), dt.date(2026, 1, 1))
