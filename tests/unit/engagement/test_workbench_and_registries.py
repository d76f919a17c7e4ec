"""The workbench merges registered sources; the registries refuse duplicates."""

import datetime as dt

import pytest

from dealercrm.application.alerts import RuleRegistry
from dealercrm.application.calendar import CalendarSources, check_range
from dealercrm.application.ports.workbench import WorkbenchItem, WorkbenchSection
from dealercrm.application.workbench import WorkbenchSources, build_workbench, build_workbench_with_calendar
from dealercrm.domain.calendar import CalendarItem
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal, Role

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
FINANCE = Principal(user_id=1, username="cw", role=Role.FINANCE)
DEALER = Principal(user_id=2, username="hd", role=Role.DEALER, dealer_id=5)


class Fixed:
    def __init__(self, category, count, items):
        self.category = category
        self.section = WorkbenchSection(count=count, items=tuple(items))

    def collect(self, principal, now, limit):
        return self.section


def item(id, **kw):
    return WorkbenchItem(id=id, title=id, **kw)


def test_sources_of_one_category_add_up_and_their_items_merge_most_urgent_first():
    sources = WorkbenchSources((
        Fixed("approvals", 3, [item("order-1", due=dt.date(2026, 3, 9)), item("order-2")]),
        Fixed("approvals", 1, [item("price-1", due=dt.date(2026, 3, 4))]),
        Fixed("trainings", 2, [item("t-1")]),
    ))

    bench = build_workbench(FINANCE, NOW, sources, limit=2)

    assert [c.code for c in bench] == ["approvals", "tasks", "alerts", "failed_notifications", "announcements",
                                       "trainings"]
    approvals = bench[0]
    assert approvals.count == 4 and [i.id for i in approvals.items] == ["price-1", "order-1"]
    assert bench[1].count == 0 and bench[1].items == ()


def test_dealer_users_get_no_failed_notifications_category_even_if_a_source_offers_one():
    sources = WorkbenchSources((Fixed("failed_notifications", 5, [item("n-1")]),))

    bench = build_workbench(DEALER, NOW, sources)

    assert "failed_notifications" not in [c.code for c in bench]


class Deadlines:
    """A source in both tables that counts its reads: one per ``collect``, ``items`` or ``collect_dated``."""

    category = "approvals"
    code = "workflow.deadline"

    def __init__(self):
        self.reads = 0

    def collect(self, principal, now, limit):
        self.reads += 1
        return WorkbenchSection(count=1, items=(item("step-1", due=dt.date(2026, 3, 4)),))

    def items(self, principal, start, end):
        self.reads += 1
        return [CalendarItem(uid="step-1@dealercrm", source=self.code, title="审批截止", start=dt.date(2026, 3, 4))]

    def collect_dated(self, principal, now, limit, start, end):
        section, items = self.collect(principal, now, limit), self.items(principal, start, end)
        self.reads -= 1
        return section, items


class Trainings:
    code = "trainings"

    def items(self, principal, start, end):
        return [CalendarItem(uid="training-1@dealercrm", source=self.code, title="培训",
                             start=dt.datetime(2026, 3, 3, 1, 0, tzinfo=dt.UTC))]


def test_the_page_gets_the_workbench_and_calendar_of_both_tables_reading_a_source_in_both_once():
    deadlines = Deadlines()
    bench, dated = WorkbenchSources((deadlines, Fixed("tasks", 0, []))), CalendarSources((deadlines, Trainings()))

    view = build_workbench_with_calendar(FINANCE, NOW, bench, dated, dt.date(2026, 3, 2), dt.date(2026, 3, 16))

    assert deadlines.reads == 1
    assert view.categories == build_workbench(FINANCE, NOW, bench)
    assert [i.uid for i in view.calendar] == ["training-1@dealercrm", "step-1@dealercrm"]
    with pytest.raises(InvalidValue):
        build_workbench_with_calendar(FINANCE, NOW, bench, dated, dt.date(2026, 3, 2), dt.date(2026, 3, 1))


def test_registries_refuse_duplicate_codes():
    class Rule:
        code = "orders.delivery_date"

        def evaluate(self, ctx):
            return []

    class Source:
        code = "orders.delivery"

        def items(self, principal, start, end):
            return []

    rules = RuleRegistry(rules=(Rule(),))

    with pytest.raises(ValueError):
        rules.extended(rules=(Rule(),))
    with pytest.raises(ValueError):
        CalendarSources((Source(), Source()))
    assert "orders.delivery_date" in rules


def test_the_calendar_range_is_at_most_a_year_and_not_inverted():
    check_range(dt.date(2026, 1, 1), dt.date(2027, 1, 1))
    with pytest.raises(InvalidValue):
        check_range(dt.date(2026, 1, 2), dt.date(2026, 1, 1))
    with pytest.raises(InvalidValue):
        check_range(dt.date(2026, 1, 1), dt.date(2027, 1, 3))
