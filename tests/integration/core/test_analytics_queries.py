"""The dashboards' grouped statements (``SqlAnalyticsQueries``) run on both engines: the
dialect-specific parts — the Beijing day or month of a timestamp, a JSON list read as text — compile and
answer the empty shapes on a database at the migrations' head. Their figures are checked against
the demo data in ``tests/integration/web/test_back_office_receivables_and_receipts.py``."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from dealercrm.adapters.db.analytics_queries import SqlAnalyticsQueries
from dealercrm.application.access import DealerScope
from dealercrm.application.reads.analytics import (
    AgeingTotals,
    CreditExposurePage,
    CreditOfDealers,
    CreditGradeFigures,
    CreditOfLine,
    CreditTotals,
    QualityFigures,
    SatisfactionFigures,
    ScoreCount,
)

NOW = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)


def test_every_dashboard_statement_runs_and_answers_nothing_on_an_empty_database(db_url):
    engine = sa.create_engine(db_url)
    queries = SqlAnalyticsQueries(engine)
    everyone, one_region = DealerScope(), DealerScope(regions=("华中",))
    try:
        placed = queries.order_figures(one_region, start=NOW - dt.timedelta(days=30), end=NOW,
                                       left_out_states=("draft", "cancelled"), region="华中", product_line="tanker")
        stock = queries.stock_ageing(everyone, yellow_before=NOW, red_before=NOW, product_line="tanker")
        by_dealer = queries.stock_by_dealer(one_region, region="华中", dealer_id=1, product_line="tanker")
        credit = queries.credit_by_line(everyone, product_line="tanker", today=NOW.date(), region="华中")
        exposure = queries.credit_exposure(one_region, today=NOW.date(), region="华中", dealer_id=1)
        gate = queries.gate_days(everyone, start=NOW - dt.timedelta(days=30), end=NOW, product_line="tanker")
        quality = queries.quality(start=NOW - dt.timedelta(days=30), end=NOW, product_line="tanker")
        campaigns = queries.campaigns(starts_before=NOW.date(), ends_after=NOW.date(), product_line="tanker")
        nothing = queries.stock_by_dealer(DealerScope(nothing=True))
        grades = queries.credit_grades(one_region, start=NOW - dt.timedelta(days=30), end=NOW, region="华中",
                                       dealer_id=1)
        trainings = queries.trainings(start=NOW - dt.timedelta(days=30), end=NOW, product_line="tanker")
        every_line = queries.trainings(start=NOW - dt.timedelta(days=30), end=NOW)  # the other built statement
        page = queries.credit_exposure_page(one_region, today=NOW.date(), offset=50, limit=50, top=20, region="华中",
                                            dealer_id=1)
        first_page = queries.credit_exposure_page(everyone, today=NOW.date(), offset=0, limit=50, top=20)
        dealers = (queries.dealer_count(one_region, region="华中"),
                   queries.dealer_choices(one_region, limit=20, region="华中", text="50%_\\ 有限"),
                   queries.dealer_choices(everyone, limit=1, dealer_id=1))
        satisfaction = queries.satisfaction(one_region, start=NOW - dt.timedelta(days=30), end=NOW,
                                            service_threshold=3, region="华中", dealer_id=1)
        parts = queries.parts_stock(idle_since=NOW - dt.timedelta(days=90), region="华中", station_id=1)
        stations = queries.station_choices(limit=10, region="华中")
    finally:
        engine.dispose()

    assert placed == stock == by_dealer == gate == campaigns == nothing == trainings == parts == stations == []
    assert every_line == [] and dealers == (0, [], [])
    assert page == first_page == CreditExposurePage((), (), 0, CreditTotals(0, 0), AgeingTotals(0, 0, 0, 0, 0))
    assert grades == CreditGradeFigures((), ())
    assert satisfaction == SatisfactionFigures(tuple(ScoreCount(n, 0) for n in range(1, 6)),
                                               tuple(ScoreCount(n, 0) for n in range(1, 6)), ())
    assert credit == CreditOfLine((), AgeingTotals(0, 0, 0, 0, 0))
    assert exposure == CreditOfDealers((), AgeingTotals(0, 0, 0, 0, 0))
    assert quality == QualityFigures((), (), (), ())
