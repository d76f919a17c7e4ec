"""分析 report API: the same objects the web dashboards embed as their charts' data."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import Parameter

from dealercrm.application.reads.analytics import (
    CampaignReport,
    CreditEvaluationReport,
    CreditReport,
    PartsStockReport,
    QualityReport,
    SatisfactionReport,
    TrainingReport,
)
from dealercrm.application.services.analytics import (
    CAMPAIGN_ANALYSTS,
    CREDIT_ANALYSTS,
    CREDIT_EVALUATION_ANALYSTS,
    GATE_ANALYSTS,
    ORDER_ANALYSTS,
    PARTS_ANALYSTS,
    QUALITY_ANALYSTS,
    SATISFACTION_ANALYSTS,
    STOCK_ANALYSTS,
    TRAINING_ANALYSTS,
    AnalyticsService,
    Period,
)
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.http.controllers import query_day
from dealercrm.entrypoints.http.security import requires

Region = Annotated[str | None, Parameter(max_length=40)]
DealerId = Annotated[int | None, Parameter(ge=1, le=2**63 - 1)]
StationId = Annotated[int | None, Parameter(ge=1, le=2**63 - 1)]
Line = Annotated[str | None, Parameter(max_length=20, description="tanker, dump_truck, semi_trailer")]
FromDay = Annotated[str | None, Parameter(query="from", max_length=10)]
ToDay = Annotated[str | None, Parameter(query="to", max_length=10)]


def period_of(analytics: AnalyticsService, date_from: str | None, date_to: str | None) -> Period:
    """The period named by ``from``/``to`` (either may be left out: the last twelve months)."""
    default = analytics.default_period()
    start, end = query_day(date_from, "from"), query_day(date_to, "to")
    return Period(start or default.date_from, end or default.date_to)


class ReportController(Controller):
    path = "/api/v1/reports"
    tags = ["reports 分析"]

    @get("/orders", guards=[requires(*ORDER_ANALYSTS)], sync_to_thread=True,
         summary="订单分析 Orders by month, region and model; forecast vs actual of the period's last month")
    def orders(self, request: Request[Principal, Any, Any], analytics: AnalyticsService,
               date_from: Annotated[str | None, Parameter(query="from", max_length=10)] = None,
               date_to: Annotated[str | None, Parameter(query="to", max_length=10)] = None,
               region: Region = None, dealer_id: DealerId = None,
               product_line: Annotated[str | None, Parameter(max_length=20, description="tanker, dump_truck, semi_trailer")] = None,
               ) -> dict[str, Any]:
        period = period_of(analytics, date_from, date_to)
        return analytics.orders_report(request.user, period, region=region, dealer_id=dealer_id,
                                       product_line=product_line or None)

    @get("/credit", guards=[requires(*CREDIT_ANALYSTS)], sync_to_thread=True,
         summary="信用分析 Limit, exposure and available credit per dealer; receivables ageing")
    def credit(self, request: Request[Principal, Any, Any], analytics: AnalyticsService, region: Region = None,
               dealer_id: DealerId = None, product_line: Line = None) -> CreditReport:
        return analytics.credit_report(request.user, region=region, dealer_id=dealer_id,
                                       product_line=product_line or None)

    @get("/stock", guards=[requires(*STOCK_ANALYSTS)], sync_to_thread=True,
         summary="库存分析 Dealer stock per ageing band, per dealer and in total")
    def stock(self, request: Request[Principal, Any, Any], analytics: AnalyticsService, region: Region = None,
              dealer_id: DealerId = None, product_line: Line = None) -> dict[str, Any]:
        return analytics.stock_report(request.user, region=region, dealer_id=dealer_id,
                                      product_line=product_line or None)

    @get("/dealer-stock", guards=[requires(*STOCK_ANALYSTS)], sync_to_thread=True,
         summary="经销商库存 Units per dealer in stock by product line, on the way and sold")
    def dealer_stock(self, request: Request[Principal, Any, Any], analytics: AnalyticsService, region: Region = None,
                     dealer_id: DealerId = None, product_line: Line = None) -> dict[str, Any]:
        return analytics.dealer_stock_report(request.user, region=region, dealer_id=dealer_id,
                                             product_line=product_line or None)

    @get("/gate-throughput", guards=[requires(*GATE_ANALYSTS)], sync_to_thread=True,
         summary="门卫通行 Passes and vehicles out of the gate per Beijing day")
    def gate_throughput(self, request: Request[Principal, Any, Any], analytics: AnalyticsService,
                        date_from: FromDay = None, date_to: ToDay = None, dealer_id: DealerId = None,
                        product_line: Line = None) -> dict[str, Any]:
        period = period_of(analytics, date_from, date_to)
        return analytics.gate_throughput(request.user, period, dealer_id=dealer_id, product_line=product_line or None)

    @get("/quality", guards=[requires(*QUALITY_ANALYSTS)], sync_to_thread=True,
         summary="售后质量 Repairs, repeat-repair rate and claim cost by product line, fault, part and station")
    def quality(self, request: Request[Principal, Any, Any], analytics: AnalyticsService, date_from: FromDay = None,
                date_to: ToDay = None, product_line: Line = None) -> QualityReport:
        period = period_of(analytics, date_from, date_to)
        return analytics.quality_report(request.user, period, product_line=product_line or None)

    @get("/campaigns", guards=[requires(*CAMPAIGN_ANALYSTS)], sync_to_thread=True,
         summary="营销活动效果 Cost, leads, conversions, revenue and ROI of the campaigns in the period")
    def campaigns(self, request: Request[Principal, Any, Any], analytics: AnalyticsService, date_from: FromDay = None,
                  date_to: ToDay = None, product_line: Line = None) -> CampaignReport:
        period = period_of(analytics, date_from, date_to)
        return analytics.campaign_report(request.user, period, product_line=product_line or None)

    @get("/credit-evaluation", guards=[requires(*CREDIT_EVALUATION_ANALYSTS)], sync_to_thread=True,
         summary="信用评价分析 Each dealer's latest credit score and grade, the grade distribution, the monthly trend")
    def credit_evaluation(self, request: Request[Principal, Any, Any], analytics: AnalyticsService,
                          date_from: FromDay = None, date_to: ToDay = None, region: Region = None,
                          dealer_id: DealerId = None) -> CreditEvaluationReport:
        period = period_of(analytics, date_from, date_to)
        return analytics.credit_evaluation_report(request.user, period, region=region, dealer_id=dealer_id)

    @get("/training", guards=[requires(*TRAINING_ANALYSTS)], sync_to_thread=True,
         summary="培训效果分析 Invited, confirmed, attended and completion rate per training, month and audience")
    def training(self, request: Request[Principal, Any, Any], analytics: AnalyticsService, date_from: FromDay = None,
                 date_to: ToDay = None, product_line: Line = None) -> TrainingReport:
        period = period_of(analytics, date_from, date_to)
        return analytics.training_report(request.user, period, product_line=product_line or None)

    @get("/satisfaction", guards=[requires(*SATISFACTION_ANALYSTS)], sync_to_thread=True,
         summary="满意度分析 Survey and service-record score distributions; dealers, dissatisfied first, with reasons")
    def satisfaction(self, request: Request[Principal, Any, Any], analytics: AnalyticsService,
                     date_from: FromDay = None, date_to: ToDay = None, region: Region = None,
                     dealer_id: DealerId = None) -> SatisfactionReport:
        period = period_of(analytics, date_from, date_to)
        return analytics.satisfaction_report(request.user, period, region=region, dealer_id=dealer_id)

    @get("/parts-stock", guards=[requires(*PARTS_ANALYSTS)], sync_to_thread=True,
         summary="配件库存统计 Service stations' parts stock: quantity, value at standard cost, below minimum, slow movers")
    def parts_stock(self, request: Request[Principal, Any, Any], analytics: AnalyticsService,
                    region: Region = None, station_id: StationId = None) -> PartsStockReport:
        return analytics.parts_stock_report(request.user, region=region, station_id=station_id)
