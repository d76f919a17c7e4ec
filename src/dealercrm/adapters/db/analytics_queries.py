"""The dashboards' aggregate reads (分析): each figure is one GROUP BY statement in the database
— sums of CASE expressions for bands and buckets — so a dashboard costs one query per chart, not
a pass over every row in Python. Dealer-side figures are scoped in SQL by the caller's
``DealerScope``; after-sales and marketing figures are factory-wide (the service checks the role)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.engine import Engine
from sqlalchemy.sql import ColumnElement, Select

from dealercrm.adapters.db.aftersales_tables import (
    service_claims,
    service_parts,
    service_repair_parts,
    service_repair_records,
    service_requests,
    service_stations,
    service_stock,
    service_stock_movements,
)
from dealercrm.adapters.db.care_tables import survey_responses, surveys
from dealercrm.adapters.db.credit_tables import (
    credit_accounts,
    credit_commitments,
    credit_evaluations,
    credit_invoices,
)
from dealercrm.adapters.db.gate_tables import vehicle_events, vehicles
from dealercrm.adapters.db.marketing_tables import (
    campaign_leads,
    campaigns,
    training_invitations,
    training_participants,
    trainings,
)
from dealercrm.adapters.db.orders_tables import orders
from dealercrm.adapters.db.orm import dealers
from dealercrm.adapters.db.parts_supply_tables import parts_stock_levels
from dealercrm.application.access import DealerScope
from dealercrm.application.campaigns import NOT_REVENUE_STATES
from dealercrm.application.reads.analytics import (
    AgeingTotals,
    CampaignFiguresRow,
    CreditExposurePage,
    CreditExposureRow,
    CreditGradeFigures,
    CreditGradeRow,
    CreditOfDealers,
    CreditTotals,
    DealerChoice,
    CreditOfLine,
    DealerStockRow,
    GateDayRow,
    LineExposureRow,
    OrderFiguresRow,
    PartsStockRow,
    PartUsageRow,
    QualityFigures,
    QualityGroupRow,
    SatisfactionDealerRow,
    SatisfactionFigures,
    ScoreCount,
    ScoreMonthRow,
    StationChoice,
    StationClaimRow,
    StockAgeingRow,
    TrainingFiguresRow,
)
from dealercrm.domain.aftersales import ClaimState, MovementKind
from dealercrm.domain.training import InvitationResponse, TrainingStatus
from dealercrm.domain.vehicles import VehicleState

_V, _D = vehicles.c, dealers.c
LINES = ("tanker", "dump_truck", "semi_trailer")


def _count_if(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _sum_if(condition: ColumnElement[bool], value: Any) -> Any:
    return func.coalesce(func.sum(case((condition, type_coerce(value, BigInteger)), else_=0)), 0)


def ageing_sums(today: dt.date) -> list[Any]:
    """Open receivables summed by days since the invoice date — the buckets of
    ``domain.credit.ageing_bucket`` (an invoice dated after ``today`` counts as 0 days) — and the
    part past its due date: the columns of every ageing statement (dashboards, the finance page)."""
    i = credit_invoices.c
    d30, d60, d90 = (today - dt.timedelta(days=n) for n in (30, 60, 90))
    return [_sum_if(i.issued_on >= d30, i.open_fen).label("days_0_30"),
            _sum_if(and_(i.issued_on < d30, i.issued_on >= d60), i.open_fen).label("days_31_60"),
            _sum_if(and_(i.issued_on < d60, i.issued_on >= d90), i.open_fen).label("days_61_90"),
            _sum_if(i.issued_on < d90, i.open_fen).label("over_90"),
            _sum_if(i.due_on < today, i.open_fen).label("overdue_fen")]


def _in_scope(q: Select[Any], scope: DealerScope, dealer_col: Any, *, region: str | None,
              dealer_id: int | None) -> Select[Any]:
    """``q`` (already joined to ``dealers``) narrowed to the caller's scope and the filters."""
    if scope.dealer_id is not None:
        q = q.where(dealer_col == scope.dealer_id)
    if scope.regions is not None:
        q = q.where(_D.region.in_(scope.regions))
    if region:
        q = q.where(_D.region == region)
    if dealer_id is not None:
        q = q.where(dealer_col == dealer_id)
    return q


class SqlAnalyticsQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._built: dict[str, Select[Any]] = {}  # statements built once, their values bound per call

    def _rows(self, q: Select[Any]) -> list[dict[str, Any]]:
        """The rows as mappings, the sums as ``int`` (PostgreSQL answers ``Decimal``)."""
        with self.engine.connect() as conn:
            result = conn.execute(q)
            keys = tuple(result.keys())
            return [dict(zip(keys, (int(v) if type(v) is Decimal else v for v in r), strict=True)) for r in result]

    def _tuples(self, q: Select[Any]) -> list[tuple[Any, ...]]:
        """The rows as plain tuples (for columns that are never ``Decimal``: no sums)."""
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(q)]

    def _beijing_day(self, column: Any, *, month: bool = False) -> Any:
        """The Beijing calendar day (``YYYY-MM-DD``), or its month (``YYYY-MM``), of a UTC timestamp
        column, in SQL."""
        if self.engine.dialect.name == "postgresql":
            return func.to_char(func.timezone("Asia/Shanghai", column), "YYYY-MM" if month else "YYYY-MM-DD")
        return func.strftime("%Y-%m" if month else "%Y-%m-%d", column, "+8 hours")

    # -- the dealer filter -----------------------------------------------------------------------

    def dealer_choices(self, scope: DealerScope, *, limit: int, region: str | None = None,
                       dealer_id: int | None = None, text: str | None = None) -> list[DealerChoice]:
        """The dealers in the scope (and ``region``; the one ``dealer_id``; those whose code starts
        with ``text`` or whose name contains it), by code: id, code and name only (the filter's options)."""
        if scope.nothing:
            return []
        q = select(_D.id, _D.code, _D.legal_name).order_by(_D.code).limit(limit)
        if text:
            pattern = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            q = q.where(or_(_D.code.ilike(f"{pattern}%", escape="\\"),
                            _D.legal_name.like(f"%{pattern}%", escape="\\")))
        return [DealerChoice(*r) for r in self._tuples(_in_scope(q, scope, _D.id, region=region, dealer_id=dealer_id))]

    def dealer_count(self, scope: DealerScope, *, region: str | None = None) -> int:
        """How many dealers the scope (and ``region``) holds."""
        if scope.nothing:
            return 0
        q = select(func.count()).select_from(dealers)
        with self.engine.connect() as conn:
            return int(conn.execute(_in_scope(q, scope, _D.id, region=region, dealer_id=None)).scalar_one())

    # -- orders --------------------------------------------------------------------------------

    def order_figures(self, scope: DealerScope, *, start: dt.datetime, end: dt.datetime,
                      left_out_states: tuple[str, ...], region: str | None = None, dealer_id: int | None = None,
                      product_line: str | None = None) -> list[OrderFiguresRow]:
        """Orders created in [start, end) per Beijing month, dealer region and model (template
        name): one grouped statement, a row per combination that has orders."""
        if scope.nothing:
            return []
        o = orders.c
        month = self._beijing_day(o.created_at, month=True).label("month")
        q = (select(month, _D.region, o.template_name.label("model"), func.count().label("orders"),
                    func.coalesce(func.sum(o.quantity), 0).label("units"),
                    func.coalesce(func.sum(type_coerce(o.total_fen, BigInteger)), 0).label("amount_fen"))
             .select_from(orders.join(dealers, _D.id == o.dealer_id))
             .where(o.created_at >= start, o.created_at < end, o.state.not_in(left_out_states))
             .group_by(month, _D.region, o.template_name))
        if product_line:
            q = q.where(o.product_line == product_line)
        rows = self._rows(_in_scope(q, scope, o.dealer_id, region=region, dealer_id=dealer_id))
        return [OrderFiguresRow(str(r["month"]), r["region"], r["model"], int(r["orders"]), int(r["units"]),
                                int(r["amount_fen"])) for r in rows]

    # -- stock ---------------------------------------------------------------------------------

    def stock_ageing(self, scope: DealerScope, *, yellow_before: dt.datetime, red_before: dt.datetime,
                     region: str | None = None, dealer_id: int | None = None,
                     product_line: str | None = None) -> list[StockAgeingRow]:
        """Per dealer: units in its stock and how many entered before ``yellow_before`` /
        ``red_before`` (the ageing bands' thresholds, computed by the caller from the policy)."""
        if scope.nothing:
            return []
        since = func.coalesce(_V.received_at, _V.state_changed_at)
        red = since <= red_before
        yellow = and_(since <= yellow_before, since > red_before)
        q = (select(_V.dealer_id, _D.code.label("dealer_code"), _D.legal_name.label("dealer_name"), _D.region,
                    func.count().label("units"), _count_if(~or_(red, yellow)).label("green"),
                    _count_if(yellow).label("yellow"), _count_if(red).label("red"))
             .select_from(vehicles.join(dealers, _D.id == _V.dealer_id))
             .where(_V.state == VehicleState.IN_DEALER_STOCK.value)
             .group_by(_V.dealer_id, _D.code, _D.legal_name, _D.region))
        if product_line:
            q = q.where(_V.product_line == product_line)
        return [StockAgeingRow(**r) for r in self._rows(_in_scope(q, scope, _V.dealer_id, region=region,
                                                                   dealer_id=dealer_id))]

    def stock_by_dealer(self, scope: DealerScope, *, region: str | None = None, dealer_id: int | None = None,
                        product_line: str | None = None) -> list[DealerStockRow]:
        """Per dealer: units in its stock by product line, units on the way to it, and sold units."""
        if scope.nothing:
            return []
        in_stock = _V.state == VehicleState.IN_DEALER_STOCK.value
        columns = [_count_if(and_(in_stock, _V.product_line == line)).label(line) for line in LINES]
        q = (select(_V.dealer_id, _D.code.label("dealer_code"), _D.legal_name.label("dealer_name"), _D.region,
                    *columns, _count_if(in_stock).label("units"),
                    _count_if(_V.state.in_((VehicleState.RELEASED.value, VehicleState.IN_TRANSIT.value)))
                    .label("on_the_way"),
                    _count_if(_V.state == VehicleState.SOLD.value).label("sold"))
             .select_from(vehicles.join(dealers, _D.id == _V.dealer_id))
             .group_by(_V.dealer_id, _D.code, _D.legal_name, _D.region))
        if product_line:
            q = q.where(_V.product_line == product_line)
        rows = self._rows(_in_scope(q, scope, _V.dealer_id, region=region, dealer_id=dealer_id))
        return [DealerStockRow(**r) for r in rows if r["units"] or r["on_the_way"] or r["sold"]]

    # -- credit ------------------------------------------------------------------------------

    @staticmethod
    def _ageing(scope: DealerScope, today: dt.date, *, region: str | None, dealer_id: int | None,
                contracts: Any = None) -> Select[Any]:
        """Open receivables (of the ``contracts`` only, when given) by days since the invoice date —
        the buckets of ``domain.credit.ageing_bucket`` — and the part past its due date: one row."""
        i = credit_invoices.c
        q = (select(*ageing_sums(today))
             .select_from(credit_invoices.join(dealers, _D.id == i.dealer_id))
             .where(i.open_fen > 0, *((i.contract_no.in_(contracts),) if contracts is not None else ())))
        return _in_scope(q, scope, i.dealer_id, region=region, dealer_id=dealer_id)

    def credit_exposure(self, scope: DealerScope, *, today: dt.date, region: str | None = None,
                        dealer_id: int | None = None) -> CreditOfDealers:
        """Per dealer with a credit account: its limit, exposure and available credit, read from the
        account's running totals (one statement, the largest exposure first); and the ageing (the
        other), on one connection."""
        if scope.nothing:
            return CreditOfDealers((), AgeingTotals())
        a = credit_accounts.c
        limit = type_coerce(a.limit_fen, BigInteger)
        exposure = (type_coerce(a.receivable_fen, BigInteger) + type_coerce(a.uninvoiced_fen, BigInteger)
                    - type_coerce(a.prepayment_fen, BigInteger))
        q = (select(a.dealer_id, _D.code.label("dealer_code"), _D.legal_name.label("dealer_name"), _D.region,
                    limit.label("limit_fen"), exposure.label("exposure_fen"),
                    (limit - exposure).label("available_fen"))
             .select_from(credit_accounts.join(dealers, _D.id == a.dealer_id))
             .order_by(exposure.desc(), _D.code))
        with self.engine.connect() as conn:
            rows = tuple(CreditExposureRow(*r) for r in conn.execute(
                _in_scope(q, scope, a.dealer_id, region=region, dealer_id=dealer_id)))
            ageing = conn.execute(self._ageing(scope, today, region=region, dealer_id=dealer_id)).one()
        return CreditOfDealers(rows, AgeingTotals(*(int(v) for v in ageing)))

    def credit_exposure_page(self, scope: DealerScope, *, today: dt.date, offset: int, limit: int, top: int,
                             region: str | None = None, dealer_id: int | None = None) -> CreditExposurePage:
        """``credit_exposure`` for a page of the table: ``limit`` rows from the ``offset``-th, the
        ``top`` largest (the chart's; read again only when the page does not start with them), the
        dealers' count and summed limit and exposure, and the ageing — on one connection."""
        if scope.nothing:
            return CreditExposurePage((), (), 0, CreditTotals(0, 0), AgeingTotals())
        a = credit_accounts.c
        limit_fen = type_coerce(a.limit_fen, BigInteger)
        exposure = (type_coerce(a.receivable_fen, BigInteger) + type_coerce(a.uninvoiced_fen, BigInteger)
                    - type_coerce(a.prepayment_fen, BigInteger))
        rows = _in_scope(select(a.dealer_id, _D.code, _D.legal_name, _D.region, limit_fen, exposure,
                                limit_fen - exposure)
                         .select_from(credit_accounts.join(dealers, _D.id == a.dealer_id))
                         .order_by(exposure.desc(), _D.code), scope, a.dealer_id, region=region, dealer_id=dealer_id)
        summed: list[Any] = [func.count(), func.coalesce(func.sum(limit_fen), 0), func.coalesce(func.sum(exposure), 0)]
        sums = _in_scope(select(*summed)
                         .select_from(credit_accounts.join(dealers, _D.id == a.dealer_id)), scope, a.dealer_id,
                         region=region, dealer_id=dealer_id)
        with self.engine.connect() as conn:
            page = tuple(CreditExposureRow(*r) for r in conn.execute(rows.offset(offset).limit(limit)))
            chart = (page[:top] if offset == 0 and limit >= top
                     else tuple(CreditExposureRow(*r) for r in conn.execute(rows.limit(top))))
            count, limits, exposures = conn.execute(sums).one()
            ageing = conn.execute(self._ageing(scope, today, region=region, dealer_id=dealer_id)).one()
        return CreditExposurePage(page, chart, int(count), CreditTotals(int(limits), int(exposures)),
                                  AgeingTotals(*(int(v) for v in ageing)))

    def credit_by_line(self, scope: DealerScope, *, product_line: str, today: dt.date, region: str | None = None,
                       dealer_id: int | None = None) -> CreditOfLine:
        """Per dealer, the part of its exposure on contracts of one product line: open receivables
        and reserved-but-uninvoiced value (prepayments belong to the dealer, not to a line), with
        its whole limit; and those receivables by age since the invoice date."""
        if scope.nothing:
            return CreditOfLine((), AgeingTotals())
        line_contracts = (select(orders.c.contract_no).where(orders.c.product_line == product_line,
                                                             orders.c.contract_no.is_not(None)))
        i, k, a = credit_invoices.c, credit_commitments.c, credit_accounts.c
        receivable = (select(i.dealer_id, func.sum(type_coerce(i.open_fen, BigInteger)).label("receivable_fen"))
                      .where(i.open_fen > 0, i.contract_no.in_(line_contracts)).group_by(i.dealer_id).subquery())
        uninvoiced = (select(k.dealer_id, func.sum(type_coerce(k.amount_fen, BigInteger)
                                                   - type_coerce(k.invoiced_fen, BigInteger)).label("uninvoiced_fen"))
                      .where(k.state.in_(("reserved", "invoiced_part")), k.contract_no.in_(line_contracts))
                      .group_by(k.dealer_id).subquery())
        q = (select(a.dealer_id, _D.code.label("dealer_code"), _D.legal_name.label("dealer_name"), _D.region,
                    type_coerce(a.limit_fen, BigInteger).label("limit_fen"),
                    (type_coerce(a.receivable_fen, BigInteger) + type_coerce(a.uninvoiced_fen, BigInteger)
                     - type_coerce(a.prepayment_fen, BigInteger)).label("dealer_exposure_fen"),
                    func.coalesce(receivable.c.receivable_fen, 0).label("receivable_fen"),
                    func.coalesce(uninvoiced.c.uninvoiced_fen, 0).label("uninvoiced_fen"))
             .select_from(credit_accounts.join(dealers, _D.id == a.dealer_id)
                          .outerjoin(receivable, receivable.c.dealer_id == a.dealer_id)
                          .outerjoin(uninvoiced, uninvoiced.c.dealer_id == a.dealer_id))
             .where(or_(receivable.c.receivable_fen > 0, uninvoiced.c.uninvoiced_fen > 0)))
        exposure = tuple(LineExposureRow(**r) for r in self._rows(
            _in_scope(q, scope, a.dealer_id, region=region, dealer_id=dealer_id)))
        (ageing,) = self._tuples(self._ageing(scope, today, region=region, dealer_id=dealer_id,
                                              contracts=line_contracts))
        return CreditOfLine(exposure, AgeingTotals(*(int(v) for v in ageing)))

    # -- gate ----------------------------------------------------------------------------------

    def gate_days(self, scope: DealerScope, *, start: dt.datetime, end: dt.datetime, dealer_id: int | None = None,
                  product_line: str | None = None) -> list[GateDayRow]:
        """Per Beijing day in [start, end): gate passes that left (distinct pass numbers on the
        vehicles' release events) and the vehicles they took out."""
        if scope.nothing:
            return []
        e = vehicle_events.c
        day = self._beijing_day(e.at).label("day")
        q = (select(day, func.count(func.distinct(e.reference)).label("exits"), func.count().label("vehicles"))
             .select_from(vehicle_events.join(vehicles, _V.id == e.vehicle_id).join(dealers, _D.id == _V.dealer_id))
             .where(e.action == "release", e.at >= start, e.at < end).group_by(day))
        if product_line:
            q = q.where(_V.product_line == product_line)
        rows = self._rows(_in_scope(q, scope, _V.dealer_id, region=None, dealer_id=dealer_id))
        return [GateDayRow(str(r["day"]), int(r["exits"]), int(r["vehicles"])) for r in rows]

    # -- after-sales quality -------------------------------------------------------------------

    def quality(self, *, start: dt.datetime, end: dt.datetime, product_line: str | None = None,
                top: int = 15) -> QualityFigures:
        """Repairs finished in [start, end): per product line and per fault category the repairs,
        vehicles, vehicles repaired more than once and the approved claim cost; the parts
        replaced most often; and the claim cost per station."""
        rr, rp, c = service_repair_records.c, service_repair_parts.c, service_claims.c
        window = and_(rr.finished_at >= start, rr.finished_at < end,
                      *((rr.product_line == product_line,) if product_line else ()))
        approved = (select(c.record_id, func.sum(type_coerce(c.total_fen, BigInteger)).label("claim_fen"))
                    .where(c.state == ClaimState.APPROVED.value).group_by(c.record_id).subquery())
        per_vin = (select(rr.vin, func.count().label("n")).where(window).group_by(rr.vin).subquery())

        def grouped(key: Any) -> tuple[QualityGroupRow, ...]:
            q = (select(key.label("key"), func.count().label("repairs"),
                        func.count(func.distinct(rr.vin)).label("vehicles"),
                        func.count(func.distinct(case((per_vin.c.n > 1, rr.vin)))).label("repeat_vehicles"),
                        func.coalesce(func.sum(approved.c.claim_fen), 0).label("claim_fen"))
                 .select_from(service_repair_records.join(per_vin, per_vin.c.vin == rr.vin)
                              .outerjoin(approved, approved.c.record_id == rr.id))
                 .where(window).group_by(key).order_by(func.count().desc(), key))
            return tuple(QualityGroupRow(str(r["key"].value if hasattr(r["key"], "value") else r["key"] or ""),
                                         int(r["repairs"]), int(r["vehicles"]), int(r["repeat_vehicles"]),
                                         int(r["claim_fen"])) for r in self._rows(q))

        parts = (select(rp.part_no, func.max(rp.part_name).label("part_name"),
                        func.sum(rp.quantity).label("quantity"),
                        func.count(func.distinct(rp.record_id)).label("repairs"),
                        _sum_if(rp.use == "warranty", rp.quantity * rp.unit_cost_fen).label("warranty_cost_fen"))
                 .select_from(service_repair_parts.join(service_repair_records, rr.id == rp.record_id))
                 .where(window).group_by(rp.part_no).order_by(func.sum(rp.quantity).desc(), rp.part_no).limit(top))
        s = service_stations.c
        stations = (select(s.code.label("key"), s.name.label("station_name"), func.count().label("repairs"),
                           func.coalesce(func.sum(approved.c.claim_fen), 0).label("claim_fen"))
                    .select_from(service_repair_records.join(service_stations, s.id == rr.station_id)
                                 .outerjoin(approved, approved.c.record_id == rr.id))
                    .where(window).group_by(s.code, s.name)
                    .order_by(func.coalesce(func.sum(approved.c.claim_fen), 0).desc(), s.code).limit(top))
        return QualityFigures(
            by_line=grouped(func.coalesce(rr.product_line, literal(""))),
            by_fault=grouped(rr.fault_category),
            by_part=tuple(PartUsageRow(r["part_no"], r["part_name"], int(r["quantity"]), int(r["repairs"]),
                                       int(r["warranty_cost_fen"])) for r in self._rows(parts)),
            by_station=tuple(StationClaimRow(r["key"], r["station_name"], int(r["repairs"]), int(r["claim_fen"]))
                             for r in self._rows(stations)))

    # -- marketing campaigns -------------------------------------------------------------------

    def campaigns(self, *, starts_before: dt.date, ends_after: dt.date,
                  product_line: str | None = None) -> list[CampaignFiguresRow]:
        """Campaigns running at some time in [ends_after, starts_before]: budget, actual cost, leads
        by status and the revenue of converted leads' live orders."""
        m, cl, o = campaigns.c, campaign_leads.c, orders.c
        leads = (select(cl.campaign_id, func.count().label("leads"),
                        _count_if(cl.status == "contacted").label("contacted"),
                        _count_if(cl.status == "converted").label("converted"),
                        _count_if(cl.status == "lost").label("lost"),
                        _sum_if(and_(cl.status == "converted", o.state.not_in(NOT_REVENUE_STATES)), o.total_fen)
                        .label("revenue_fen"))
                 .select_from(campaign_leads.outerjoin(orders, o.id == cl.order_id))
                 .group_by(cl.campaign_id).subquery())
        q = (select(m.id, m.campaign_no, m.name, m.status, m.starts_on, m.ends_on,
                    type_coerce(m.budget_fen, BigInteger).label("budget_fen"),
                    type_coerce(m.actual_cost_fen, BigInteger).label("actual_cost_fen"),
                    *(func.coalesce(getattr(leads.c, k), 0).label(k)
                      for k in ("leads", "contacted", "converted", "lost", "revenue_fen")))
             .select_from(campaigns.outerjoin(leads, leads.c.campaign_id == m.id))
             .where(m.starts_on <= starts_before, m.ends_on >= ends_after).order_by(m.starts_on, m.id))
        if product_line:  # the campaign's product lines are a JSON list: match the quoted code in its text
            q = q.where(cast(m.product_lines, String).like(f'%"{product_line}"%'))
        return [CampaignFiguresRow(**{**r, "status": str(r["status"].value if hasattr(r["status"], "value")
                                                        else r["status"]),
                                      **{k: int(r[k]) for k in ("leads", "contacted", "converted", "lost",
                                                                "revenue_fen")}})
                for r in self._rows(q)]

    # -- credit evaluation ---------------------------------------------------------------------

    def credit_grades(self, scope: DealerScope, *, start: dt.datetime, end: dt.datetime, region: str | None = None,
                      dealer_id: int | None = None) -> CreditGradeFigures:
        """Each dealer's last evaluation before ``end`` (one statement, the lowest score first) and the
        evaluations of [start, end) per Beijing month with their score sum and grades (the other)."""
        if scope.nothing:
            return CreditGradeFigures((), ())
        e = credit_evaluations.c
        latest_ids = (select(func.max(e.id).label("id")).where(e.evaluated_at < end).group_by(e.dealer_id)
                      .subquery())
        latest = (select(e.dealer_id, _D.code, _D.legal_name, _D.region, e.score, e.grade,
                         self._beijing_day(e.evaluated_at))  # the day as text: 600 aware datetimes cost a ms
                  .select_from(credit_evaluations.join(latest_ids, latest_ids.c.id == e.id)
                               .join(dealers, _D.id == e.dealer_id))
                  .order_by(e.score, _D.code))
        month = self._beijing_day(e.evaluated_at, month=True).label("month")
        months = (select(month, func.count().label("evaluations"),
                         func.coalesce(func.sum(e.score), 0).label("score_sum"),
                         *(_count_if(e.grade == g).label(g.lower()) for g in ("A", "B", "C", "D")))
                  .select_from(credit_evaluations.join(dealers, _D.id == e.dealer_id))
                  .where(e.evaluated_at >= start, e.evaluated_at < end).group_by(month).order_by(month))
        with self.engine.connect() as conn:
            rows = conn.execute(_in_scope(latest, scope, e.dealer_id, region=region, dealer_id=dealer_id)).all()
            trend = conn.execute(_in_scope(months, scope, e.dealer_id, region=region, dealer_id=dealer_id)).all()
        return CreditGradeFigures(
            tuple(CreditGradeRow(r[0], r[1], r[2], r[3], int(r[4]), str(r[5]), dt.date.fromisoformat(str(r[6])))
                  for r in rows),
            tuple(ScoreMonthRow(str(r[0]), int(r[1]), round(int(r[2]) / int(r[1]), 1) if r[1] else None,
                                int(r[3]), int(r[4]), int(r[5]), int(r[6])) for r in trend))

    # -- training effect -----------------------------------------------------------------------

    def _trainings_statement(self, by_line: bool) -> Select[Any]:
        """The trainings statement, built once per shape (its bounds and product line are bound
        parameters): building and keying it anew cost a third of running it."""
        key = f"trainings:{by_line}"
        if key in self._built:
            return self._built[key]
        t, i, p = trainings.c, training_invitations.c, training_participants.c
        invited = (select(i.training_id, func.count().label("invited"),
                          _count_if(i.response == InvitationResponse.CONFIRMED.value).label("confirmed"),
                          _count_if(i.response == InvitationResponse.DECLINED.value).label("declined"))
                   .group_by(i.training_id).subquery())
        came = p.attended.is_(True)
        rated = and_(came, p.feedback_score.is_not(None))
        present = (select(p.training_id, func.count().label("registered"), _count_if(came).label("attended"),
                          _count_if(rated).label("rated"), _sum_if(rated, p.feedback_score).label("feedback_sum"))
                   .group_by(p.training_id).subquery())
        q = (select(t.id, t.training_no, t.title, type_coerce(t.audience, String), type_coerce(t.status, String),
                    t.product_line, self._beijing_day(t.starts_at).label("day"),
                    *(func.coalesce(getattr(invited.c, k), 0).label(k) for k in ("invited", "confirmed", "declined")),
                    *(func.coalesce(getattr(present.c, k), 0).label(k)
                      for k in ("registered", "attended", "rated", "feedback_sum")))
             .select_from(trainings.outerjoin(invited, invited.c.training_id == t.id)
                          .outerjoin(present, present.c.training_id == t.id))
             .where(t.starts_at >= bindparam("start"), t.starts_at < bindparam("end"),
                    t.status != TrainingStatus.CANCELLED.value)
             .order_by(t.starts_at, t.id))
        if by_line:
            q = q.where(t.product_line == bindparam("product_line"))
        self._built[key] = q
        return q

    def trainings(self, *, start: dt.datetime, end: dt.datetime,
                  product_line: str | None = None) -> list[TrainingFiguresRow]:
        """Trainings (not cancelled) starting in [start, end): invitations by answer and participants —
        two grouped subqueries joined to the trainings, one statement."""
        q = self._trainings_statement(bool(product_line))
        with self.engine.connect() as conn:
            rows = conn.execute(q, {"start": start, "end": end, "product_line": product_line}).all()
        return [TrainingFiguresRow(r[0], r[1], r[2], str(r[3]), str(r[4]), r[5], dt.date.fromisoformat(str(r[6])),
                                   int(r[7]), int(r[8]), int(r[9]), int(r[10]), int(r[11]),
                                   round(int(r[13]) / int(r[12]), 2) if r[12] else None) for r in rows]

    # -- satisfaction --------------------------------------------------------------------------

    def satisfaction(self, scope: DealerScope, *, start: dt.datetime, end: dt.datetime, service_threshold: int,
                     region: str | None = None, dealer_id: int | None = None) -> SatisfactionFigures:
        """The customers' scores on repair records confirmed in [start, end) and the dealers' survey
        answers given then: each distribution one grouped statement, the dealers one statement (two
        grouped subqueries joined to the dealers), and the low ones' comments and text answers."""
        if scope.nothing:
            return SatisfactionFigures((), (), ())
        rec, req, sr, sv = service_repair_records.c, service_requests.c, survey_responses.c, surveys.c
        records = (service_repair_records.join(service_requests, req.id == rec.request_id)
                   .join(dealers, _D.id == req.dealer_id))
        rated = and_(rec.confirmed_at >= start, rec.confirmed_at < end, rec.satisfaction.is_not(None))
        answers = survey_responses.join(surveys, sv.id == sr.survey_id).join(dealers, _D.id == sr.dealer_id)
        answered = and_(sr.answered_at >= start, sr.answered_at < end)

        def scoped(q: Select[Any], dealer_col: Any) -> Select[Any]:
            return _in_scope(q, scope, dealer_col, region=region, dealer_id=dealer_id)

        service_low = rec.satisfaction < service_threshold
        per_service = (scoped(select(req.dealer_id.label("dealer_id"), func.count().label("n"),
                                     func.sum(rec.satisfaction).label("total"), _count_if(service_low).label("low"))
                              .select_from(records).where(rated).group_by(req.dealer_id), req.dealer_id).subquery())
        survey_low = sr.min_score < sv.threshold
        per_survey = (scoped(select(sr.dealer_id.label("dealer_id"), func.count().label("n"),
                                    func.min(sr.min_score).label("lowest"), _count_if(survey_low).label("low"))
                             .select_from(answers).where(answered).group_by(sr.dealer_id), sr.dealer_id).subquery())
        q = (select(_D.id, _D.code, _D.legal_name, _D.region, func.coalesce(per_survey.c.n, 0),
                    per_survey.c.lowest, func.coalesce(per_survey.c.low, 0), func.coalesce(per_service.c.n, 0),
                    per_service.c.total, func.coalesce(per_service.c.low, 0))
             .select_from(dealers.outerjoin(per_survey, per_survey.c.dealer_id == _D.id)
                          .outerjoin(per_service, per_service.c.dealer_id == _D.id))
             .where(or_(per_survey.c.dealer_id.is_not(None), per_service.c.dealer_id.is_not(None))).order_by(_D.code))
        with self.engine.connect() as conn:
            service: dict[Any, Any] = dict(conn.execute(scoped(select(rec.satisfaction, func.count()).select_from(records)
                                               .where(rated).group_by(rec.satisfaction), req.dealer_id)).all())
            survey: dict[Any, Any] = dict(conn.execute(scoped(select(sr.min_score, func.count()).select_from(answers)
                                              .where(answered, sr.min_score.is_not(None)).group_by(sr.min_score),
                                              sr.dealer_id)).all())
            rows = conn.execute(q).all()
            reasons: dict[int, list[str]] = {}
            for dealer, comment in conn.execute(scoped(
                    select(req.dealer_id, rec.customer_comment).select_from(records)
                    .where(rated, service_low, rec.customer_comment.is_not(None)).order_by(rec.id), req.dealer_id)):
                reasons.setdefault(dealer, []).append(str(comment))
            for dealer, given in conn.execute(scoped(select(sr.dealer_id, sr.answers).select_from(answers)
                                                     .where(answered, survey_low).order_by(sr.id), sr.dealer_id)):
                reasons.setdefault(dealer, []).extend(str(v).strip() for v in dict(given or {}).values()
                                                      if isinstance(v, str) and v.strip())
        return SatisfactionFigures(
            tuple(ScoreCount(n, int(service.get(n, 0))) for n in range(1, 6)),
            tuple(ScoreCount(n, int(survey.get(n, 0))) for n in range(1, 6)),
            tuple(SatisfactionDealerRow(r[0], r[1], r[2], r[3], int(r[4]), None if r[5] is None else int(r[5]),
                                        int(r[6]), int(r[7]), round(int(r[8]) / int(r[7]), 2) if r[7] else None,
                                        int(r[9]), "；".join(reasons.get(r[0], [])[:5])[:500]) for r in rows))

    # -- station parts stock -------------------------------------------------------------------

    def station_choices(self, *, limit: int, region: str | None = None) -> list[StationChoice]:
        """The stations (of ``region``), by code: id, code and name only (the filter's options)."""
        s = service_stations.c
        q = select(s.id, s.code, s.name).order_by(s.code).limit(limit)
        return [StationChoice(*r) for r in self._tuples(q.where(s.region == region) if region else q)]

    def parts_stock(self, *, idle_since: dt.datetime, region: str | None = None,
                    station_id: int | None = None) -> list[PartsStockRow]:
        """Per station, one grouped statement over its stock rows joined to the parts' standard cost,
        their minimum levels and the parts issued since ``idle_since`` (used, sold or sent away)."""
        st, sp, lv, mv, s = (service_stock.c, service_parts.c, parts_stock_levels.c, service_stock_movements.c,
                             service_stations.c)
        out_kinds = (MovementKind.ISSUE_WARRANTY.value, MovementKind.ISSUE_SALE.value,
                     MovementKind.ISSUE_REPAIR.value, MovementKind.TRANSFER_OUT.value)
        issued = (select(mv.station_id, mv.part_no).where(mv.kind.in_(out_kinds), mv.at >= idle_since)
                  .distinct().subquery())
        held = st.quantity > 0
        value = type_coerce(st.quantity, BigInteger) * type_coerce(sp.standard_cost_fen, BigInteger)
        slow = and_(held, issued.c.part_no.is_(None))
        q = (select(s.id.label("station_id"), s.code.label("station_code"), s.name.label("station_name"), s.region,
                    _count_if(held).label("parts"), func.coalesce(func.sum(st.quantity), 0).label("quantity"),
                    _sum_if(held, value).label("value_fen"),
                    _count_if(and_(lv.min_qty.is_not(None), st.quantity < lv.min_qty)).label("below_min"),
                    _count_if(slow).label("slow_parts"), _sum_if(slow, value).label("slow_value_fen"))
             .select_from(service_stock.join(service_stations, s.id == st.station_id)
                          .join(service_parts, sp.part_no == st.part_no)
                          .outerjoin(parts_stock_levels, and_(lv.station_id == st.station_id, lv.part_no == st.part_no))
                          .outerjoin(issued, and_(issued.c.station_id == st.station_id, issued.c.part_no == st.part_no)))
             .group_by(s.id, s.code, s.name, s.region))
        if region:
            q = q.where(s.region == region)
        if station_id is not None:
            q = q.where(s.id == station_id)
        return [PartsStockRow(r["station_id"], r["station_code"], r["station_name"], r["region"], int(r["parts"]),
                              int(r["quantity"]), int(r["value_fen"]), int(r["below_min"]), int(r["slow_parts"]),
                              int(r["slow_value_fen"])) for r in self._rows(q) if r["parts"] or r["below_min"]]
