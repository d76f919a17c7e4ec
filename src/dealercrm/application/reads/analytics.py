"""Read rows of the dashboards (分析): what ``AnalyticsQueries`` answers and the rows of the reports
``AnalyticsService`` builds from them, and the typed reports themselves (credit, quality,
campaigns) with their dashboards' sheet rows. Field names are the report API's JSON keys (msgspec
encodes attrs classes field by field; msgspec 0.23 writes the keys sorted), so the API, the page's
embedded chart data and the exports read the same objects. Money in integer fen, enum columns as
their English codes."""

from __future__ import annotations

import datetime as dt

import attrs

@attrs.frozen
class StationChoice:
    """A service station in the parts stock dashboard's station filter: its id, code and name."""

    id: int
    code: str
    name: str


@attrs.frozen
class DealerChoice:
    """A dealer in the dashboards' dealer filter: its id and how the option reads (code and name)."""

    id: int
    code: str
    legal_name: str


@attrs.frozen
class DealerFilter:
    """A dashboard's dealer filter: the ``choices`` of a select list when the caller sees few
    enough dealers, else none and ``search`` (a search box that asks for matches as one types);
    ``chosen`` is the dealer the filter names, if any."""

    choices: tuple[DealerChoice, ...]
    search: bool
    chosen: DealerChoice | None


# -- stock ----------------------------------------------------------------------------------------


@attrs.frozen
class StockAgeingRow:
    """A dealer's units in stock and how many are in each ageing band (green / yellow / red)."""

    dealer_id: int
    dealer_code: str
    dealer_name: str
    region: str
    units: int
    green: int
    yellow: int
    red: int


@attrs.frozen
class DealerStockRow:
    """A dealer's units in stock per product line, in total, on the way to it and sold."""

    dealer_id: int
    dealer_code: str
    dealer_name: str
    region: str
    tanker: int
    dump_truck: int
    semi_trailer: int
    units: int
    on_the_way: int
    sold: int


# -- credit ---------------------------------------------------------------------------------------


@attrs.frozen
class LineExposureRow:
    """A dealer's exposure on the contracts of one product line (open receivables and uninvoiced
    reservations) beside its whole limit and whole exposure."""

    dealer_id: int
    dealer_code: str
    dealer_name: str
    region: str
    limit_fen: int
    dealer_exposure_fen: int
    receivable_fen: int
    uninvoiced_fen: int


@attrs.frozen
class AgeingTotals:
    """Open receivables per age bucket since the invoice date, and the overdue part."""

    days_0_30: int = 0
    days_31_60: int = 0
    days_61_90: int = 0
    over_90: int = 0
    overdue_fen: int = 0

    def open_fen(self, bucket: str) -> int:
        """The open amount of one of ``domain.credit.AGEING_BUCKETS`` (``0_30`` … ``over_90``)."""
        return {"0_30": self.days_0_30, "31_60": self.days_31_60, "61_90": self.days_61_90,
                "over_90": self.over_90}[bucket]


@attrs.frozen
class CreditOfLine:
    """``AnalyticsQueries.credit_by_line``'s answer."""

    exposure: tuple[LineExposureRow, ...]
    ageing: AgeingTotals


@attrs.frozen
class CreditExposureRow:
    """A row of the credit report: a dealer's limit, exposure and available credit."""

    dealer_id: int
    dealer_code: str
    dealer_name: str
    region: str
    limit_fen: int
    exposure_fen: int
    available_fen: int


@attrs.frozen
class CreditOfDealers:
    """``AnalyticsQueries.credit_exposure``'s answer: each dealer's limit, whole exposure and
    available credit (its exposure, the largest first), and its open receivables by age."""

    exposure: tuple[CreditExposureRow, ...]
    ageing: AgeingTotals


@attrs.frozen
class AgeingRow:
    """A bar of the receivables ageing chart."""

    bucket: str
    label: str
    open_fen: int


@attrs.frozen
class CreditTotals:
    limit_fen: int
    exposure_fen: int


@attrs.frozen
class CreditExposurePage:
    """``AnalyticsQueries.credit_exposure_page``'s answer: ``rows`` from the ``offset``-th by
    exposure (the largest first), the ``top`` rows of the chart, how many ``dealers`` there are
    with their summed ``totals``, and the open receivables by age."""

    rows: tuple[CreditExposureRow, ...]
    top: tuple[CreditExposureRow, ...]
    dealers: int
    totals: CreditTotals
    ageing: AgeingTotals


@attrs.frozen
class CreditReport:
    """信用分析: the exposure chart's rows (the table and the export), its totals, and the ageing
    chart's bars with the overdue part, on the business day ``as_of`` (``YYYY-MM-DD``)."""

    as_of: str
    exposure: tuple[CreditExposureRow, ...]
    totals: CreditTotals
    ageing: tuple[AgeingRow, ...]
    overdue_fen: int


@attrs.frozen
class CreditPage:
    """信用分析 as the dashboard shows it: ``report`` with the exposure chart's rows only (the
    largest exposures; its totals and ageing over all the dealers), one page of the exposure table
    (``rows``, the ``at``-th largest exposure first) and how many ``dealers`` the whole table has."""

    report: CreditReport
    rows: tuple[CreditExposureRow, ...]
    at: int
    dealers: int


# -- gate -----------------------------------------------------------------------------------------


@attrs.frozen
class GateDayRow:
    """A Beijing day (``YYYY-MM-DD``): gate passes that left and the vehicles they took out."""

    day: str
    exits: int
    vehicles: int


# -- after-sales quality --------------------------------------------------------------------------


@attrs.frozen
class QualityGroupRow:
    """Repairs of one product line or fault category (``key``; ``""`` when not recorded)."""

    key: str
    repairs: int
    vehicles: int
    repeat_vehicles: int
    claim_fen: int


@attrs.frozen
class QualityRow:
    """A ``QualityGroupRow`` with its label and repeat-repair rate (``None``: no vehicles)."""

    key: str
    repairs: int
    vehicles: int
    repeat_vehicles: int
    claim_fen: int
    label: str
    repeat_rate_pct: float | None


@attrs.frozen
class PartUsageRow:
    """A part replaced in the repairs: quantity, repairs using it, and its warranty cost."""

    part_no: str
    part_name: str
    quantity: int
    repairs: int
    warranty_cost_fen: int


@attrs.frozen
class StationClaimRow:
    """A service station (``key`` is its code): repairs and their approved claim cost."""

    key: str
    station_name: str
    repairs: int
    claim_fen: int


@attrs.frozen
class QualityTotals:
    repairs: int
    claim_fen: int


@attrs.frozen
class QualitySheetRow:
    """A row of the quality dashboard's table and export: one group of any of its four charts
    (``dimension``: 产品线, 故障类别, 配件 or 服务站). ``repeat_rate`` is the rate as shown
    (``—``: no vehicles); ``amount_fen`` the claim cost, or a part's warranty cost."""

    dimension: str
    label: str
    repairs: int
    vehicles: int | None
    repeat_vehicles: int | None
    repeat_rate: str | None
    quantity: int | None
    amount_fen: int


@attrs.frozen
class QualityFigures:
    """``AnalyticsQueries.quality``'s answer."""

    by_line: tuple[QualityGroupRow, ...]
    by_fault: tuple[QualityGroupRow, ...]
    by_part: tuple[PartUsageRow, ...]
    by_station: tuple[StationClaimRow, ...]


@attrs.frozen
class QualityReport:
    """售后质量 of a period (``{"from": …, "to": …}``): the charts' rows and the totals."""

    period: dict[str, str]
    by_line: tuple[QualityRow, ...]
    by_fault: tuple[QualityRow, ...]
    by_part: tuple[PartUsageRow, ...]
    by_station: tuple[StationClaimRow, ...]
    totals: QualityTotals


# -- marketing ------------------------------------------------------------------------------------


@attrs.frozen
class CampaignFiguresRow:
    """A campaign: budget, actual cost (``None``: not booked yet), leads by status and the revenue of
    converted leads' live orders."""

    id: int
    campaign_no: str
    name: str
    status: str
    starts_on: dt.date
    ends_on: dt.date
    budget_fen: int
    actual_cost_fen: int | None
    leads: int
    contacted: int
    converted: int
    lost: int
    revenue_fen: int


@attrs.frozen
class CampaignRow:
    """A row of the campaign report: the figures with the cost counted (actual, else budget),
    the conversion rate and the ROI (``None`` when there is nothing to divide by)."""

    id: int
    campaign_no: str
    name: str
    status: str
    starts_on: dt.date
    ends_on: dt.date
    budget_fen: int
    actual_cost_fen: int | None
    leads: int
    contacted: int
    converted: int
    lost: int
    revenue_fen: int
    cost_fen: int
    conversion_rate_pct: float | None
    roi_pct: float | None


@attrs.frozen
class CampaignSheetRow:
    """A row of the campaign dashboard's table and export: the campaign with its status label and
    its ROI as shown (``—``: no cost)."""

    campaign_no: str
    name: str
    status_label: str
    starts_on: dt.date
    ends_on: dt.date
    cost_fen: int
    leads: int
    converted: int
    revenue_fen: int
    roi: str


@attrs.frozen
class CampaignTotals:
    cost_fen: int
    leads: int
    converted: int
    revenue_fen: int


@attrs.frozen
class CampaignReport:
    """营销活动效果 of a period (``{"from": …, "to": …}``): a row per campaign and the totals."""

    period: dict[str, str]
    campaigns: tuple[CampaignRow, ...]
    totals: CampaignTotals


# -- orders ---------------------------------------------------------------------------------------


@attrs.frozen
class OrderFiguresRow:
    """Orders placed in a Beijing month (``YYYY-MM``) by the dealers of a region for a model (its
    template's name): count, units and amount."""

    month: str
    region: str
    model: str
    orders: int
    units: int
    amount_fen: int


@attrs.frozen
class MonthFigures:
    """Orders placed in a month (``YYYY-MM``): count, units and amount."""

    month: str
    orders: int
    units: int
    amount_fen: int


@attrs.frozen
class RegionFigures:
    """Orders placed by the dealers of a region."""

    region: str
    orders: int
    units: int
    amount_fen: int


@attrs.frozen
class ModelFigures:
    """Orders placed for a model (its template's name)."""

    model: str
    orders: int
    units: int
    amount_fen: int


@attrs.frozen
class ForecastRow:
    """A region's forecast vs actual units of a month (``accuracy_pct`` ``None``: nothing to compare)."""

    region: str
    forecast: int
    actual: int
    accuracy_pct: float | None


@attrs.frozen
class ForecastOfMonth:
    """The forecast vs actual chart: the regions' rows of a month (``YYYY-MM``)."""

    month: str
    regions: tuple[ForecastRow, ...]


@attrs.frozen
class OrderSheetRow:
    """A row of the orders dashboard's table and export: a month, region or model (``dimension``
    月份, 区域 or 车型; ``key`` its name) and its orders, units and amount."""

    dimension: str
    key: str
    orders: int
    units: int
    amount_fen: int


# -- credit evaluation (信用评价) ------------------------------------------------------------------


@attrs.frozen
class CreditGradeRow:
    """A dealer's latest credit evaluation up to the period's end: score (0–100), grade (A–D) and
    the Beijing day it was made."""

    dealer_id: int
    dealer_code: str
    dealer_name: str
    region: str
    score: int
    grade: str
    evaluated_on: dt.date


@attrs.frozen
class ScoreMonthRow:
    """The evaluations made in a Beijing month (``YYYY-MM``): how many, their average score and how
    many got each grade."""

    month: str
    evaluations: int
    average_score: float | None
    a: int
    b: int
    c: int
    d: int


@attrs.frozen
class CreditGradeFigures:
    """``AnalyticsQueries.credit_grades``'s answer: the latest evaluation per dealer (the lowest
    score first) and the months of the period that have evaluations."""

    latest: tuple[CreditGradeRow, ...]
    by_month: tuple[ScoreMonthRow, ...]


@attrs.frozen
class GradeCount:
    """A grade's bar: the dealers whose latest evaluation has it."""

    grade: str
    dealers: int


@attrs.frozen
class CreditEvaluationReport:
    """信用评价分析 of a period: each dealer's latest evaluation (the table), the grade distribution
    of those, the monthly trend (every month of the period) and the average latest score."""

    period: dict[str, str]
    dealers: tuple[CreditGradeRow, ...]
    grades: tuple[GradeCount, ...]
    by_month: tuple[ScoreMonthRow, ...]
    average_score: float | None


# -- training effect (培训效果) --------------------------------------------------------------------


@attrs.frozen
class TrainingFiguresRow:
    """A training starting in the period: its invitations by answer, registered and attended
    participants and their average feedback (1–5; ``None``: none given)."""

    id: int
    training_no: str
    title: str
    audience: str
    status: str
    product_line: str | None
    starts_on: dt.date
    invited: int
    confirmed: int
    declined: int
    registered: int
    attended: int
    feedback_avg: float | None


@attrs.frozen
class TrainingRow:
    """A row of the training report: the figures with the labels, and the completion rate
    (attended / invited, ``None``: nobody invited)."""

    id: int
    training_no: str
    title: str
    audience: str
    audience_label: str
    status: str
    status_label: str
    product_line: str | None
    starts_on: dt.date
    invited: int
    confirmed: int
    declined: int
    registered: int
    attended: int
    feedback_avg: float | None
    completion_rate_pct: float | None


@attrs.frozen
class TrainingSheetRow:
    """A row of the training dashboard's table and export: the training with its labels, and its
    completion rate and average feedback as shown (``—``: none)."""

    training_no: str
    title: str
    audience_label: str
    status_label: str
    starts_on: dt.date
    invited: int
    confirmed: int
    declined: int
    registered: int
    attended: int
    completion_rate: str
    feedback_avg: str


@attrs.frozen
class TrainingGroupRow:
    """The trainings of a month (``key`` ``YYYY-MM``) or of an audience (``key`` its code)."""

    key: str
    label: str
    trainings: int
    invited: int
    confirmed: int
    attended: int
    completion_rate_pct: float | None


@attrs.frozen
class TrainingReport:
    """培训效果分析 of a period: a row per training, and the roll-ups per month and per audience."""

    period: dict[str, str]
    trainings: tuple[TrainingRow, ...]
    by_month: tuple[TrainingGroupRow, ...]
    by_audience: tuple[TrainingGroupRow, ...]


# -- satisfaction (满意度) --------------------------------------------------------------------------


@attrs.frozen
class ScoreCount:
    """How many scores of 1–5 had the value ``score``."""

    score: int
    count: int


@attrs.frozen
class SatisfactionDealerRow:
    """A dealer's satisfaction in the period: its survey answers (how many, the lowest score, how
    many below their survey's threshold) and the end customers' scores on its vehicles' repair
    records (how many, the average, how many below ``SERVICE_THRESHOLD``), with the reasons of the
    low ones (customers' comments, survey text answers)."""

    dealer_id: int
    dealer_code: str
    dealer_name: str
    region: str
    survey_responses: int
    survey_min_score: int | None
    survey_low: int
    service_rated: int
    service_avg: float | None
    service_low: int
    reasons: str


@attrs.frozen
class SatisfactionFigures:
    """``AnalyticsQueries.satisfaction``'s answer."""

    service_scores: tuple[ScoreCount, ...]
    survey_scores: tuple[ScoreCount, ...]
    dealers: tuple[SatisfactionDealerRow, ...]


@attrs.frozen
class SatisfactionSheetRow:
    """A row of the satisfaction dashboard's table and export: the dealer's figures and whether it
    is dissatisfied (``是``/``否``)."""

    dealer_code: str
    dealer_name: str
    region: str
    survey_responses: int
    survey_min_score: int | None
    survey_low: int
    service_rated: int
    service_avg: str
    service_low: int
    dissatisfied: str
    reasons: str


@attrs.frozen
class SatisfactionReport:
    """满意度分析 of a period: the score distributions (service records, survey answers' lowest
    scores), the dealers (dissatisfied first), how many are dissatisfied, and the customers'
    average below which a dealer is (``service_threshold``)."""

    period: dict[str, str]
    service_scores: tuple[ScoreCount, ...]
    survey_scores: tuple[ScoreCount, ...]
    dealers: tuple[SatisfactionDealerRow, ...]
    dissatisfied: int
    service_threshold: int


# -- station parts stock (配件库存) ----------------------------------------------------------------


@attrs.frozen
class PartsStockRow:
    """A service station's parts stock: parts held, quantity, value at standard cost, parts below
    their minimum level, and the slow movers (held, not issued since the cut-off) with their value."""

    station_id: int
    station_code: str
    station_name: str
    region: str
    parts: int
    quantity: int
    value_fen: int
    below_min: int
    slow_parts: int
    slow_value_fen: int


@attrs.frozen
class PartsRegionRow:
    """The stations of a region: their stock's quantity and value, and the slow movers' value."""

    region: str
    stations: int
    quantity: int
    value_fen: int
    slow_value_fen: int


@attrs.frozen
class PartsStockReport:
    """配件库存统计 on ``as_of`` (``YYYY-MM-DD``): a row per station (the largest value first), the
    regions, the slow-mover cut-off day and the totals."""

    as_of: str
    slow_since: str
    stations: tuple[PartsStockRow, ...]
    by_region: tuple[PartsRegionRow, ...]
    quantity: int
    value_fen: int
    slow_value_fen: int
