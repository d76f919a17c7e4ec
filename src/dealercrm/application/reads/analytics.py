"""Read rows of the dashboards (分析): what ``AnalyticsQueries`` answers and the rows of the reports
``AnalyticsService`` builds from them. Field names are the report API's JSON keys (msgspec
encodes attrs classes field by field, in order), so the API, the page's embedded chart data and
the exports read the same objects. Money in integer fen, enum columns as their English codes."""

from __future__ import annotations

import datetime as dt

import attrs

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
class AgeingRow:
    """A bar of the receivables ageing chart."""

    bucket: str
    label: str
    open_fen: int


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
class QualityFigures:
    """``AnalyticsQueries.quality``'s answer."""

    by_line: tuple[QualityGroupRow, ...]
    by_fault: tuple[QualityGroupRow, ...]
    by_part: tuple[PartUsageRow, ...]
    by_station: tuple[StationClaimRow, ...]


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
