"""The dashboards' aggregate reads: each answers one chart's figures computed in the database
(one grouped statement), scoped by the caller's ``DealerScope`` where the rows are a dealer's.
The rows are the typed read models of ``application.reads.analytics``."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from dealercrm.application.access import DealerScope
from dealercrm.application.reads.analytics import (
    CampaignFiguresRow,
    CreditExposurePage,
    CreditOfDealers,
    CreditGradeFigures,
    CreditOfLine,
    DealerChoice,
    DealerStockRow,
    GateDayRow,
    OrderFiguresRow,
    PartsStockRow,
    QualityFigures,
    SatisfactionFigures,
    StationChoice,
    StockAgeingRow,
    TrainingFiguresRow,
)


class AnalyticsQueries(Protocol):
    def dealer_choices(self, scope: DealerScope, *, limit: int, region: str | None = None,
                       dealer_id: int | None = None, text: str | None = None) -> list[DealerChoice]:
        """The dealers of the scope (and ``region``; only ``dealer_id``; those whose code starts
        with ``text`` or whose name contains it) for a filter list (id, code, name), by code, at
        most ``limit``."""
        ...

    def dealer_count(self, scope: DealerScope, *, region: str | None = None) -> int:
        """How many dealers the scope (and ``region``) holds."""
        ...

    def order_figures(self, scope: DealerScope, *, start: dt.datetime, end: dt.datetime,
                      left_out_states: tuple[str, ...], region: str | None = None, dealer_id: int | None = None,
                      product_line: str | None = None) -> list[OrderFiguresRow]:
        """Orders created in [start, end), those in ``left_out_states`` left out, per Beijing month,
        dealer region and model: count, units and amount."""

    def stock_ageing(self, scope: DealerScope, *, yellow_before: dt.datetime, red_before: dt.datetime,
                     region: str | None = None, dealer_id: int | None = None,
                     product_line: str | None = None) -> list[StockAgeingRow]:
        """Per dealer: units in stock, and green / yellow / red by the time each entered the stock."""

    def stock_by_dealer(self, scope: DealerScope, *, region: str | None = None, dealer_id: int | None = None,
                        product_line: str | None = None) -> list[DealerStockRow]:
        """Per dealer with any: units in stock per product line (``tanker``, ``dump_truck``,
        ``semi_trailer``), ``units``, ``on_the_way`` (released or in transit to it) and ``sold``."""

    def credit_exposure(self, scope: DealerScope, *, today: dt.date, region: str | None = None,
                        dealer_id: int | None = None) -> CreditOfDealers:
        """``exposure``: per dealer with a credit account its limit, exposure (receivables plus
        uninvoiced reservations less prepayments) and available credit, the largest exposure first;
        ``ageing``: its open receivables per age bucket since the invoice date, and overdue."""

    def credit_exposure_page(self, scope: DealerScope, *, today: dt.date, offset: int, limit: int, top: int,
                             region: str | None = None, dealer_id: int | None = None) -> CreditExposurePage:
        """``credit_exposure`` a page at a time: ``limit`` rows from the ``offset``-th (the largest
        exposure first), the ``top`` largest, the dealers' count with their summed limit and
        exposure, and the ageing."""

    def credit_by_line(self, scope: DealerScope, *, product_line: str, today: dt.date, region: str | None = None,
                       dealer_id: int | None = None) -> CreditOfLine:
        """``exposure``: per dealer its limit and the open receivables and uninvoiced reservations on
        contracts of the product line; ``ageing``: those receivables per age bucket and overdue."""

    def gate_days(self, scope: DealerScope, *, start: dt.datetime, end: dt.datetime, dealer_id: int | None = None,
                  product_line: str | None = None) -> list[GateDayRow]:
        """Per Beijing day (``YYYY-MM-DD``) with exits: passes out of the gate and their vehicles."""

    def quality(self, *, start: dt.datetime, end: dt.datetime, product_line: str | None = None,
                top: int = 15) -> QualityFigures:
        """Repairs finished in [start, end): ``by_line``, ``by_fault`` (repairs, vehicles, repeat
        vehicles, approved claim cost), ``by_part`` and ``by_station``."""

    def campaigns(self, *, starts_before: dt.date, ends_after: dt.date,
                  product_line: str | None = None) -> list[CampaignFiguresRow]:
        """Campaigns overlapping the days: budget, actual cost, leads by status, revenue."""

    def credit_grades(self, scope: DealerScope, *, start: dt.datetime, end: dt.datetime, region: str | None = None,
                      dealer_id: int | None = None) -> CreditGradeFigures:
        """``latest``: each dealer's last credit evaluation before ``end`` (the lowest score first);
        ``by_month``: the evaluations made in [start, end) per Beijing month, their average score and
        grades."""

    def trainings(self, *, start: dt.datetime, end: dt.datetime,
                  product_line: str | None = None) -> list[TrainingFiguresRow]:
        """Trainings starting in [start, end) (by start): invitations by answer, participants, attended
        and average feedback."""

    def satisfaction(self, scope: DealerScope, *, start: dt.datetime, end: dt.datetime, service_threshold: int,
                     region: str | None = None, dealer_id: int | None = None) -> SatisfactionFigures:
        """Survey answers given and repair records confirmed in [start, end): the distribution of the
        customers' scores and of the answers' lowest scores, and per dealer its figures and reasons."""

    def station_choices(self, *, limit: int, region: str | None = None) -> list[StationChoice]:
        """The service stations (of ``region``) for a filter list (id, code, name), by code, at most ``limit``."""

    def parts_stock(self, *, idle_since: dt.datetime, region: str | None = None,
                    station_id: int | None = None) -> list[PartsStockRow]:
        """Per service station holding parts: parts, quantity, value at standard cost, parts below their
        minimum, and the parts held but not issued since ``idle_since`` with their value."""
