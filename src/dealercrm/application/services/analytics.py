"""分析 (analytics): the dashboards' figures, composed from the contexts' scoped reads, so a
dashboard shows exactly what its caller may see. Each report's rows are the typed read models of
``application.reads.analytics`` (money in integer fen, days as ISO strings or dates); the credit,
quality, campaign, credit evaluation, training, satisfaction and parts stock reports are typed
objects too (the orders, stock and gate reports mappings of typed rows). The JSON API answers a report as is (msgspec encodes it field by field), the web page
embeds the same object as its charts' data and its table and export read the same rows.

The figures are grouped in the database by the ``AnalyticsQueries`` port, one statement per chart;
the forecast vs actual reuses the marketing context's forecast report."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import attrs

from dealercrm.application import credit as credit_rules
from dealercrm.application import forecasts
from dealercrm.application.access import dealer_scope, require_role
from dealercrm.application.ports.analytics_queries import AnalyticsQueries
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.ports.reads import ReadModelUnavailable
from dealercrm.application.reads.analytics import (
    AgeingRow,
    AgeingTotals,
    CampaignReport,
    CampaignRow,
    CampaignTotals,
    CreditExposureRow,
    CreditPage,
    CreditReport,
    CreditEvaluationReport,
    CreditTotals,
    DealerChoice,
    DealerFilter,
    ForecastOfMonth,
    ForecastRow,
    GateDayRow,
    GradeCount,
    ModelFigures,
    MonthFigures,
    QualityGroupRow,
    QualityReport,
    QualityRow,
    QualityTotals,
    PartsRegionRow,
    PartsStockReport,
    RegionFigures,
    SatisfactionDealerRow,
    SatisfactionReport,
    ScoreMonthRow,
    StationChoice,
    TrainingFiguresRow,
    TrainingGroupRow,
    TrainingReport,
    TrainingRow,
)
from dealercrm.application.services.credit import CreditService
from dealercrm.application.services.gate import GateService
from dealercrm.application.services.marketing import MarketingService
from dealercrm.application.services.orders import OrdersService
from dealercrm.application.services.stock import STOCK_READERS, StockService
from dealercrm.domain.aftersales import FaultCategory
from dealercrm.domain.channel import ProductLine
from dealercrm.domain.credit import AGEING_BUCKETS, AGEING_LABELS, CREDIT_GRADES
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.orders import OrderState
from dealercrm.domain.training import TrainingAudience, TrainingStatus
from dealercrm.domain.values import SHANGHAI

FORECAST_READERS = forecasts.READERS_ALL
#: who may open each dashboard (and its report API)
ORDER_ANALYSTS = forecasts.READERS_ALL
CREDIT_ANALYSTS = credit_rules.CREDIT_READERS
STOCK_ANALYSTS = tuple(r for r in STOCK_READERS if r is not Role.DEALER)
GATE_ANALYSTS = (Role.ADMIN, Role.DISPATCH, Role.FINANCE, Role.GUARD)
QUALITY_ANALYSTS = (Role.AFTER_SALES, Role.ADMIN, Role.FINANCE, Role.TECHNICAL, Role.PRODUCTION, Role.PROCUREMENT)
CAMPAIGN_ANALYSTS = (Role.MARKETING, Role.ADMIN)
CREDIT_EVALUATION_ANALYSTS = (Role.FINANCE, Role.ADMIN, Role.SALES, Role.REGION_MANAGER)
TRAINING_ANALYSTS = (Role.MARKETING, Role.ADMIN, Role.AFTER_SALES)  # the trainings' organisers
SATISFACTION_ANALYSTS = (Role.MARKETING, Role.ADMIN, Role.AFTER_SALES, Role.SALES, Role.REGION_MANAGER)
PARTS_ANALYSTS = (Role.AFTER_SALES, Role.ADMIN, Role.FINANCE)
SERVICE_THRESHOLD = 3  # a customer's score below 3 (of 5) on a repair record is a dissatisfied one
SLOW_MOVER_DAYS = 90  # a part held at a station and not issued for this long is a slow mover
MAX_DAYS = 732
DEALER_SELECT_MAX = 300  # past this many dealers a dashboard's dealer filter is a search box, not a list
DEALER_MATCHES = 20  # the search box's suggestions
EXPOSURE_CHART_ROWS = 20  # the credit dashboard's exposure chart: the largest exposures
NOT_ORDERS = (OrderState.DRAFT.value, OrderState.CANCELLED.value)


@attrs.frozen
class Period:
    """A report's Beijing calendar days, both ends included."""

    date_from: dt.date
    date_to: dt.date

    def __attrs_post_init__(self) -> None:
        if self.date_to < self.date_from:
            raise InvalidValue("to", "结束日期不能早于开始日期", code="period.reversed")
        if (self.date_to - self.date_from).days > MAX_DAYS:
            raise InvalidValue("from", "统计区间不能超过两年", code="period.too_long")

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.date_from, dt.time(), SHANGHAI).astimezone(dt.UTC)

    @property
    def end(self) -> dt.datetime:
        return dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time(), SHANGHAI).astimezone(dt.UTC)

    def months(self) -> list[str]:
        out, day = [], self.date_from.replace(day=1)
        while day <= self.date_to:
            out.append(f"{day:%Y-%m}")
            day = (day + dt.timedelta(days=32)).replace(day=1)
        return out

    def days(self) -> list[str]:
        return [(self.date_from + dt.timedelta(days=i)).isoformat()
                for i in range((self.date_to - self.date_from).days + 1)]

    def as_json(self) -> dict[str, str]:
        return {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()}


def _beijing_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(SHANGHAI).date()


def _product_line(product_line: str | None) -> str | None:
    """A product-line filter: blank is none, an unknown code is ``InvalidValue``."""
    if not product_line:
        return None
    if product_line not in ProductLine.__members__.values():
        raise InvalidValue("product_line", "未知的产品线", code="product_line.unknown")
    return product_line


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _ranked(totals: dict[str, dict[str, int]]) -> list[tuple[str, dict[str, int]]]:
    """The groups, the largest amount first."""
    return sorted(totals.items(), key=lambda kv: (-kv[1]["amount_fen"], kv[0]))


def _training_group(key: str, label: str, rows: list[TrainingRow]) -> TrainingGroupRow:
    invited, attended = sum(r.invited for r in rows), sum(r.attended for r in rows)
    return TrainingGroupRow(key, label, len(rows), invited, sum(r.confirmed for r in rows), attended,
                            _rate(attended, invited))


def _training_row(r: TrainingFiguresRow) -> TrainingRow:
    return TrainingRow(r.id, r.training_no, r.title, r.audience, TrainingAudience(r.audience).label, r.status,
                       TrainingStatus(r.status).label, r.product_line, r.starts_on, r.invited, r.confirmed,
                       r.declined, r.registered, r.attended, r.feedback_avg, _rate(r.attended, r.invited))


def is_dissatisfied(row: SatisfactionDealerRow) -> bool:
    """A dealer with a survey answer below its threshold, or whose customers' average is below
    ``SERVICE_THRESHOLD``."""
    return row.survey_low > 0 or (row.service_avg is not None and row.service_avg < SERVICE_THRESHOLD)


def _satisfaction_order(row: SatisfactionDealerRow) -> tuple[bool, float, str]:
    return not is_dissatisfied(row), 6.0 if row.service_avg is None else row.service_avg, row.dealer_code


def _exposure_order(row: CreditExposureRow) -> tuple[int, str]:
    return -row.exposure_fen, row.dealer_code


def _ageing_rows(ageing: AgeingTotals) -> tuple[AgeingRow, ...]:
    return tuple(AgeingRow(b, AGEING_LABELS[b], ageing.open_fen(b)) for b in AGEING_BUCKETS)


def _credit_report(today: dt.date, rows: list[CreditExposureRow], ageing: AgeingTotals) -> CreditReport:
    """The report of the exposure rows (the largest exposure first) and the ageing totals."""
    return CreditReport(today.isoformat(), tuple(rows),
                        CreditTotals(sum(r.limit_fen for r in rows), sum(r.exposure_fen for r in rows)),
                        _ageing_rows(ageing), ageing.overdue_fen)


class AnalyticsService:
    """The dashboards' reports; each checks access through the context service it reads."""

    def __init__(self, clock: Clock, orders: OrdersService, credit: CreditService, stock: StockService,
                 gate: GateService, marketing: MarketingService, queries: AnalyticsQueries | None = None) -> None:
        self._clock: Clock = clock
        self._orders: OrdersService = orders
        self._credit: CreditService = credit
        self._stock: StockService = stock
        self._gate: GateService = gate
        self._marketing: MarketingService = marketing
        self._queries: AnalyticsQueries | None = queries

    @property
    def queries(self) -> AnalyticsQueries:
        """The aggregate read port; ``ReadModelUnavailable`` when the container was built without one."""
        if self._queries is None:
            raise ReadModelUnavailable("分析")
        return self._queries

    def default_period(self) -> Period:
        """The last twelve months up to today (Beijing)."""
        today = _beijing_day(self._clock())
        start = (today.replace(day=1) - dt.timedelta(days=335)).replace(day=1)
        return Period(start, today)

    def dealer_choices(self, actor: Principal, *, region: str | None = None, limit: int = 3000) -> list[DealerChoice]:
        """The dealers the caller may see (in ``region`` when the filter names one), for a
        dashboard's dealer filter (id, code, name; by code). A whole country's dealer network fits."""
        return self.queries.dealer_choices(dealer_scope(actor), limit=limit, region=region or None)

    def dealer_filter(self, actor: Principal, *, region: str | None = None, dealer_id: int | None = None,
                      select_max: int = DEALER_SELECT_MAX) -> DealerFilter:
        """A dashboard's dealer filter for the caller (in ``region``): a select list of its dealers
        while they are at most ``select_max``, else a search box (no list: the page would write a
        few thousand options); with the dealer ``dealer_id`` names, when the caller sees it."""
        scope, region = dealer_scope(actor), region or None
        if self.queries.dealer_count(scope, region=region) <= select_max:
            choices = tuple(self.queries.dealer_choices(scope, limit=select_max, region=region))
            return DealerFilter(choices, False, next((d for d in choices if d.id == dealer_id), None))
        chosen = (self.queries.dealer_choices(scope, limit=1, region=region, dealer_id=dealer_id)
                  if dealer_id is not None else [])
        return DealerFilter((), True, chosen[0] if chosen else None)

    def find_dealers(self, actor: Principal, text: str, *, region: str | None = None,
                     limit: int = DEALER_MATCHES) -> list[DealerChoice]:
        """The suggestions of a dealer search box: the caller's dealers (in ``region``) whose code
        starts with ``text`` or whose name contains it, by code."""
        text = text.strip()
        if not text:
            return []
        return self.queries.dealer_choices(dealer_scope(actor), limit=limit, region=region or None, text=text)

    def dealer_named(self, actor: Principal, text: str, *, region: str | None = None) -> DealerChoice:
        """The one dealer of the caller's (in ``region``) that a search box's text names: the dealer
        whose code is its first word (a suggestion reads "code name"), else the only one matching
        the text; ``InvalidValue`` on ``dealer`` when none or several match."""
        words = text.split()
        if not words:
            raise InvalidValue("dealer", "请输入经销商编号或名称", code="dealer.blank")
        by_code = [d for d in self.find_dealers(actor, words[0], region=region) if d.code == words[0]]
        if by_code:
            return by_code[0]
        found = self.find_dealers(actor, text, region=region, limit=2)
        if len(found) == 1:
            return found[0]
        raise InvalidValue("dealer", "找到多家经销商，请从列表中选择一家" if found else "没有找到该经销商",
                           code="dealer.ambiguous" if found else "dealer.not_found")

    def orders_report(self, actor: Principal, period: Period, *, region: str | None = None,
                      dealer_id: int | None = None, product_line: str | None = None) -> dict[str, Any]:
        """订单分析: orders placed in the period (drafts and cancelled ones left out) by month,
        region and model — count, units and amount, grouped in the database by month × region ×
        model and rolled up here — and the forecast vs actual of the last month. ``product_line``
        narrows the orders (the forecast is per region, not per product line). The caller sees the
        orders of its ``dealer_scope``, as in the order list."""
        found = self.queries.order_figures(dealer_scope(actor), start=period.start, end=period.end,
                                           left_out_states=NOT_ORDERS, region=region or None, dealer_id=dealer_id,
                                           product_line=_product_line(product_line))
        zero = {"orders": 0, "units": 0, "amount_fen": 0}
        by_month = {m: dict(zero) for m in period.months()}
        by_region: dict[str, dict[str, int]] = defaultdict(lambda: dict(zero))
        by_model: dict[str, dict[str, int]] = defaultdict(lambda: dict(zero))
        for r in found:
            for bucket in (by_month.setdefault(r.month, dict(zero)), by_region[r.region], by_model[r.model]):
                bucket["orders"] += r.orders
                bucket["units"] += r.units
                bucket["amount_fen"] += r.amount_fen
        forecast = (self._marketing.forecast_report(actor, period.date_to.replace(day=1), region or None)
                    if actor.role in FORECAST_READERS else {"regions": []})
        return {
            "period": period.as_json(),
            "by_month": [MonthFigures(m, **v) for m, v in sorted(by_month.items())],
            "by_region": [RegionFigures(k, **v) for k, v in _ranked(by_region)],
            "by_model": [ModelFigures(k, **v) for k, v in _ranked(by_model)],
            "forecast": ForecastOfMonth(f"{period.date_to:%Y-%m}", tuple(
                ForecastRow(r["region"], r["forecast_total"], r["actual_total"], r["accuracy_pct"])
                for r in forecast["regions"])),
        }

    def credit_report(self, actor: Principal, *, region: str | None = None, dealer_id: int | None = None,
                      product_line: str | None = None) -> CreditReport:
        """信用分析: each dealer's limit, exposure and available credit, and receivables ageing. With a
        ``product_line``, the exposure and ageing count only contracts of that line (prepayments
        belong to the dealer, not to a line), beside each dealer's whole available credit."""
        require_role(actor, *CREDIT_ANALYSTS)
        line, today = _product_line(product_line), self._credit.today()
        if line is None:
            found = self.queries.credit_exposure(dealer_scope(actor), today=today, region=region or None,
                                                 dealer_id=dealer_id)
            return _credit_report(today, list(found.exposure), found.ageing)  # ordered by the statement
        of_line = self.queries.credit_by_line(dealer_scope(actor), product_line=line, today=today,
                                              region=region or None, dealer_id=dealer_id)
        return _credit_report(today, sorted((CreditExposureRow(r.dealer_id, r.dealer_code, r.dealer_name, r.region,
                                                               r.limit_fen, r.receivable_fen + r.uninvoiced_fen,
                                                               r.limit_fen - r.dealer_exposure_fen)
                                             for r in of_line.exposure), key=_exposure_order), of_line.ageing)

    def credit_page(self, actor: Principal, *, at: int, limit: int, region: str | None = None,
                    dealer_id: int | None = None, product_line: str | None = None) -> CreditPage:
        """``credit_report`` as the dashboard pages it: the report with the chart's rows only (the
        ``EXPOSURE_CHART_ROWS`` largest exposures) beside the totals and ageing of all the dealers,
        and ``limit`` rows of the table from the ``at``-th. Without a product line the database
        pages; with one, the line's rows (computed per dealer from its contracts) are paged here."""
        require_role(actor, *CREDIT_ANALYSTS)
        line, today = _product_line(product_line), self._credit.today()
        if line is None:
            found = self.queries.credit_exposure_page(dealer_scope(actor), today=today, offset=at, limit=limit,
                                                      top=EXPOSURE_CHART_ROWS, region=region or None,
                                                      dealer_id=dealer_id)
            return CreditPage(CreditReport(today.isoformat(), found.top, found.totals, _ageing_rows(found.ageing),
                                           found.ageing.overdue_fen), found.rows, at, found.dealers)
        whole = self.credit_report(actor, region=region, dealer_id=dealer_id, product_line=line)
        return CreditPage(attrs.evolve(whole, exposure=whole.exposure[:EXPOSURE_CHART_ROWS]),
                          whole.exposure[at:at + limit], at, len(whole.exposure))

    def stock_report(self, actor: Principal, *, region: str | None = None, dealer_id: int | None = None,
                     product_line: str | None = None) -> dict[str, Any]:
        """库存分析: dealer stock by ageing band (green / yellow / red) per dealer and in total."""
        require_role(actor, *STOCK_ANALYSTS)
        line = _product_line(product_line)
        policy, now = self._stock.ageing_policy(), self._clock()
        rows = self.queries.stock_ageing(
            dealer_scope(actor), yellow_before=now - dt.timedelta(days=policy.yellow_from_days),
            red_before=now - dt.timedelta(days=policy.red_from_days), region=region or None, dealer_id=dealer_id,
            product_line=line)
        dealers = sorted(rows, key=lambda d: (-d.red, -d.units, d.dealer_code))
        return {"dealers": dealers,
                "totals": {"units": sum(d.units for d in dealers), "green": sum(d.green for d in dealers),
                           "yellow": sum(d.yellow for d in dealers), "red": sum(d.red for d in dealers)}}

    def dealer_stock_report(self, actor: Principal, *, region: str | None = None, dealer_id: int | None = None,
                            product_line: str | None = None) -> dict[str, Any]:
        """经销商库存: per dealer the units in stock per product line, on the way to it and sold."""
        require_role(actor, *STOCK_ANALYSTS)
        rows = self.queries.stock_by_dealer(dealer_scope(actor), region=region or None, dealer_id=dealer_id,
                                            product_line=_product_line(product_line))
        dealers = sorted(rows, key=lambda d: (-d.units, d.dealer_code))
        return {"lines": [{"code": p.value, "label": p.label} for p in ProductLine], "dealers": dealers,
                "totals": {"tanker": sum(d.tanker for d in dealers), "dump_truck": sum(d.dump_truck for d in dealers),
                           "semi_trailer": sum(d.semi_trailer for d in dealers),
                           "units": sum(d.units for d in dealers), "on_the_way": sum(d.on_the_way for d in dealers),
                           "sold": sum(d.sold for d in dealers)}}

    def gate_throughput(self, actor: Principal, period: Period, *, dealer_id: int | None = None,
                        product_line: str | None = None) -> dict[str, Any]:
        """门卫通行: passes that left the gate and their vehicles, per Beijing day of the exit."""
        require_role(actor, *GATE_ANALYSTS)
        found = {r.day: r for r in self.queries.gate_days(
            dealer_scope(actor), start=period.start, end=period.end, dealer_id=dealer_id,
            product_line=_product_line(product_line))}
        days = [found.get(d) or GateDayRow(d, 0, 0) for d in period.days()]
        return {"period": period.as_json(), "days": days,
                "totals": {"exits": sum(v.exits for v in days), "vehicles": sum(v.vehicles for v in days)}}

    def quality_report(self, actor: Principal, period: Period, *, product_line: str | None = None) -> QualityReport:
        """售后质量: repairs finished in the period per product line and fault category — repairs,
        vehicles, the repeat-repair rate (vehicles repaired more than once) and approved claim
        cost — the parts replaced most often and the claim cost per station."""
        require_role(actor, *QUALITY_ANALYSTS)
        found = self.queries.quality(start=period.start, end=period.end, product_line=_product_line(product_line))
        lines = {p.value: p.label for p in ProductLine}
        faults = {f.value: f.label for f in FaultCategory}

        def labelled(rows: tuple[QualityGroupRow, ...], labels: dict[str, str]) -> tuple[QualityRow, ...]:
            return tuple(QualityRow(r.key, r.repairs, r.vehicles, r.repeat_vehicles, r.claim_fen,
                                    labels.get(r.key, r.key or "未知"), _rate(r.repeat_vehicles, r.vehicles))
                         for r in rows)

        by_line = labelled(found.by_line, lines)
        return QualityReport(period.as_json(), by_line, labelled(found.by_fault, faults), found.by_part,
                             found.by_station, QualityTotals(sum(r.repairs for r in by_line),
                                                             sum(r.claim_fen for r in by_line)))

    def campaign_report(self, actor: Principal, period: Period, *, product_line: str | None = None) -> CampaignReport:
        """营销活动: campaigns running in the period — budget, cost (actual, else budget), leads,
        conversions, revenue of converted leads' orders and ROI."""
        require_role(actor, *CAMPAIGN_ANALYSTS)
        rows = self.queries.campaigns(starts_before=period.date_to, ends_after=period.date_from,
                                      product_line=_product_line(product_line))
        out = []
        for r in rows:
            cost = r.actual_cost_fen if r.actual_cost_fen is not None else r.budget_fen
            out.append(CampaignRow(**attrs.asdict(r, recurse=False), cost_fen=cost,
                                   conversion_rate_pct=_rate(r.converted, r.leads),
                                   roi_pct=round(100 * (r.revenue_fen - cost) / cost, 1) if cost else None))
        return CampaignReport(period.as_json(), tuple(out), CampaignTotals(
            sum(r.cost_fen for r in out), sum(r.leads for r in out), sum(r.converted for r in out),
            sum(r.revenue_fen for r in out)))

    def credit_evaluation_report(self, actor: Principal, period: Period, *, region: str | None = None,
                                 dealer_id: int | None = None) -> CreditEvaluationReport:
        """信用评价分析: each dealer's latest credit evaluation up to the period's end (the lowest
        score first), how many dealers have each grade, and per month of the period the evaluations
        made, their average score and grades. The caller sees the dealers of its ``dealer_scope``."""
        require_role(actor, *CREDIT_EVALUATION_ANALYSTS)
        found = self.queries.credit_grades(dealer_scope(actor), start=period.start, end=period.end,
                                           region=region or None, dealer_id=dealer_id)
        months = {r.month: r for r in found.by_month}
        scores = [r.score for r in found.latest]
        return CreditEvaluationReport(
            period.as_json(), found.latest,
            tuple(GradeCount(g, sum(1 for r in found.latest if r.grade == g)) for g in CREDIT_GRADES),
            tuple(months.get(m) or ScoreMonthRow(m, 0, None, 0, 0, 0, 0) for m in period.months()),
            round(sum(scores) / len(scores), 1) if scores else None)

    def training_report(self, actor: Principal, period: Period, *, product_line: str | None = None) -> TrainingReport:
        """培训效果分析: the trainings starting in the period (cancelled ones left out) — invited,
        confirmed, declined, registered, attended, average feedback and completion rate (attended /
        invited) — and the same per month of the period and per audience (dealers, sales, stations)."""
        require_role(actor, *TRAINING_ANALYSTS)
        rows = [_training_row(r) for r in self.queries.trainings(start=period.start, end=period.end,
                                                                  product_line=_product_line(product_line))]
        by_month: dict[str, list[TrainingRow]] = defaultdict(list)
        by_audience: dict[str, list[TrainingRow]] = defaultdict(list)
        for r in rows:  # grouped in one pass: a pass per month and audience formats every day again
            by_month[f"{r.starts_on.year:04d}-{r.starts_on.month:02d}"].append(r)
            by_audience[r.audience].append(r)
        return TrainingReport(
            period.as_json(), tuple(rows), tuple(_training_group(m, m, by_month[m]) for m in period.months()),
            tuple(_training_group(a.value, a.label, by_audience[a.value]) for a in TrainingAudience))

    def satisfaction_report(self, actor: Principal, period: Period, *, region: str | None = None,
                            dealer_id: int | None = None) -> SatisfactionReport:
        """满意度分析: the end customers' scores (1–5) on the repair records confirmed in the period and
        the lowest score of each survey answer given in it, as distributions; per dealer its answers
        and customers' scores, dissatisfied dealers first with their reasons (low scores' comments,
        the low answers' texts). The caller sees the dealers of its ``dealer_scope``."""
        require_role(actor, *SATISFACTION_ANALYSTS)
        found = self.queries.satisfaction(dealer_scope(actor), start=period.start, end=period.end,
                                          service_threshold=SERVICE_THRESHOLD, region=region or None,
                                          dealer_id=dealer_id)
        dealers = tuple(sorted(found.dealers, key=_satisfaction_order))
        return SatisfactionReport(period.as_json(), found.service_scores, found.survey_scores, dealers,
                                  sum(1 for d in dealers if is_dissatisfied(d)), SERVICE_THRESHOLD)

    def station_choices(self, actor: Principal, *, region: str | None = None, limit: int = 3000) -> list[StationChoice]:
        """The service stations (of ``region``) for the parts stock dashboard's station filter."""
        require_role(actor, *PARTS_ANALYSTS)
        return self.queries.station_choices(limit=limit, region=region or None)

    def parts_stock_report(self, actor: Principal, *, region: str | None = None,
                           station_id: int | None = None) -> PartsStockReport:
        """配件库存统计: per service station (the largest value first) the parts it holds, their
        quantity and value at standard cost, parts below their minimum level and the slow movers
        (held, not issued for ``SLOW_MOVER_DAYS``); and per region."""
        require_role(actor, *PARTS_ANALYSTS)
        now = self._clock()
        idle_since = now - dt.timedelta(days=SLOW_MOVER_DAYS)
        rows = sorted(self.queries.parts_stock(idle_since=idle_since, region=region or None, station_id=station_id),
                      key=lambda r: (-r.value_fen, r.station_code))
        regions: dict[str, list[Any]] = defaultdict(list)
        for r in rows:
            regions[r.region].append(r)
        by_region = sorted((PartsRegionRow(k, len(v), sum(r.quantity for r in v), sum(r.value_fen for r in v),
                                           sum(r.slow_value_fen for r in v)) for k, v in regions.items()),
                           key=lambda r: (-r.value_fen, r.region))
        return PartsStockReport(_beijing_day(now).isoformat(), _beijing_day(idle_since).isoformat(), tuple(rows),
                                tuple(by_region), sum(r.quantity for r in rows), sum(r.value_fen for r in rows),
                                sum(r.slow_value_fen for r in rows))
