"""分析: dashboards drawn with ECharts (vendored), each chart beside its table, with filters in the
URL (period, region, dealer, product line) and XLSX/CSV exports. The page embeds the report object exactly as
``/api/v1/reports/...`` answers it (encoded once by msgspec, as the API does: its rows are typed read models);
``static/charts.js`` draws the charts from it, and the table and the export read the same typed rows.
The credit dashboard pages its exposure table (50 dealers, the largest exposure first, the filters
kept in the page links) and embeds the report with its chart's rows only (the 20 largest; totals
and ageing whole); its export writes every dealer. Past a few hundred dealers the dealer filter is
a search box whose suggestions come from ``/analytics/dealer-options`` as one types.

The table's rows are written here in one pass (its column's kind decides: money, integer or text),
so the template does not walk a few hundred rows cell by cell."""

from __future__ import annotations

import html
from collections.abc import Sequence
from operator import attrgetter
from typing import Annotated, Any
from urllib.parse import urlencode

import attrs
import msgspec
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup
from litestar import Controller, Request, get
from litestar.params import Parameter
from litestar.response import Stream, Template

from dealercrm.application.exports import Column, ColumnKind, Exporter, Table
from dealercrm.application.reads.analytics import (
    CampaignReport,
    CampaignSheetRow,
    CreditEvaluationReport,
    CreditPage,
    CreditReport,
    DealerChoice,
    StationChoice,
    OrderSheetRow,
    PartsStockReport,
    QualityReport,
    QualityRow,
    QualitySheetRow,
    SatisfactionReport,
    SatisfactionSheetRow,
    TrainingReport,
    TrainingSheetRow,
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
    is_dissatisfied,
)
from dealercrm.domain.campaigns import CampaignStatus
from dealercrm.domain.channel import ProductLine
from dealercrm.domain.errors import InvalidValue, NotFound, PermissionDenied
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.http.downloads import download
from dealercrm.entrypoints.http.reports import period_of
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.filters import money
from dealercrm.entrypoints.web.layout import fragment, page

ANALYSTS = tuple(dict.fromkeys((*ORDER_ANALYSTS, *CREDIT_ANALYSTS, *STOCK_ANALYSTS, *GATE_ANALYSTS,
                                *QUALITY_ANALYSTS, *CAMPAIGN_ANALYSTS, *CREDIT_EVALUATION_ANALYSTS,
                                *TRAINING_ANALYSTS, *SATISFACTION_ANALYSTS, *PARTS_ANALYSTS)))
FromDay = Annotated[str | None, Parameter(query="from", max_length=10)]
ToDay = Annotated[str | None, Parameter(query="to", max_length=10)]
Region = Annotated[str | None, Parameter(max_length=40)]
DealerId = Annotated[int | None, Parameter(ge=1, le=2**63 - 1)]
Line = Annotated[str | None, Parameter(query="product_line", max_length=20)]
PRODUCT_LINES = tuple((p.value, p.label) for p in ProductLine)
Format = Annotated[str, Parameter(query="format", max_length=10)]
DealerText = Annotated[str | None, Parameter(max_length=100)]  # the dealer search box: a code, or "code name"
At = Annotated[int, Parameter(ge=0, le=1_000_000)]  # the exposure table's first row (a page of it)
PAGE_SIZE = 50  # the exposure table's rows per page, as the other lists
_T, _I, _M = ColumnKind.TEXT, ColumnKind.INTEGER, ColumnKind.MONEY


@attrs.frozen
class Dashboard:
    code: str
    title: str
    roles: tuple[Role, ...]
    charts: tuple[tuple[str, str], ...]  # (element id, title) — charts.js knows each id
    period: bool  # has a from/to filter
    table: Table  # the export's sheet
    by_dealer: bool = True  # has the region / dealer filters
    by_region: bool = False  # has the region filter without the dealer one
    by_line: bool = True  # has the product line filter
    by_station: bool = False  # has the service station filter


DASHBOARDS = {d.code: d for d in (
    Dashboard("orders", "订单分析", ORDER_ANALYSTS,
              (("orders-by-month", "按月订单金额与台数"), ("orders-by-region", "按区域"), ("orders-by-model", "按车型"),
               ("forecast-vs-actual", "预测与实际（期末月）")), True,
              Table("订单分析", (Column("dimension", "维度", _T, 8), Column("key", "月份/区域/车型", _T, 24),
                                Column("orders", "订单数", _I, 8), Column("units", "台数", _I, 8),
                                Column("amount_fen", "金额", _M, 18)))),
    Dashboard("credit", "信用与应收", CREDIT_ANALYSTS,
              (("credit-exposure", "信用额度与占用"), ("credit-ageing", "应收账龄")), False,
              Table("信用分析", (Column("dealer_code", "经销商编号", _T, 12), Column("dealer_name", "经销商", _T, 30),
                                Column("region", "区域", _T, 8), Column("limit_fen", "信用额度", _M, 18),
                                Column("exposure_fen", "占用敞口", _M, 18), Column("available_fen", "可用额度", _M, 18)))),
    Dashboard("stock", "库存库龄", STOCK_ANALYSTS, (("stock-ageing", "各经销商库存库龄"),), False,
              Table("库存库龄", (Column("dealer_code", "经销商编号", _T, 12), Column("dealer_name", "经销商", _T, 30),
                                Column("region", "区域", _T, 8), Column("units", "库存台数", _I, 10),
                                Column("green", "正常", _I, 8), Column("yellow", "预警", _I, 8), Column("red", "超期", _I, 8)))),
    Dashboard("gate", "门卫通行", GATE_ANALYSTS, (("gate-throughput", "每日出门"),), True,
              Table("门卫通行", (Column("day", "日期", ColumnKind.DATE, 12), Column("exits", "出门证数", _I, 10),
                                Column("vehicles", "车辆台数", _I, 10)))),
    Dashboard("quality", "售后质量", QUALITY_ANALYSTS,
              (("quality-by-line", "按产品线：维修与返修率"), ("quality-by-fault", "按故障类别：索赔金额"),
               ("quality-by-part", "更换最多的配件"), ("quality-by-station", "各服务站索赔金额")), True,
              Table("售后质量", (Column("dimension", "维度", _T, 8), Column("label", "产品线/故障/配件/服务站", _T, 28),
                                Column("repairs", "维修次数", _I, 10), Column("vehicles", "车辆数", _I, 8),
                                Column("repeat_vehicles", "返修车辆", _I, 8), Column("repeat_rate", "返修率", _T, 8),
                                Column("quantity", "配件数量", _I, 8), Column("amount_fen", "索赔/三包金额", _M, 16))),
              by_dealer=False),
    Dashboard("campaigns", "营销活动效果", CAMPAIGN_ANALYSTS,
              (("campaign-cost-revenue", "投入与成交金额"), ("campaign-leads", "线索与成交")), True,
              Table("营销活动", (Column("campaign_no", "活动编号", _T, 16), Column("name", "活动", _T, 28),
                                Column("status_label", "状态", _T, 8), Column("starts_on", "开始", ColumnKind.DATE, 12),
                                Column("ends_on", "结束", ColumnKind.DATE, 12), Column("cost_fen", "投入", _M, 16),
                                Column("leads", "线索", _I, 8), Column("converted", "成交", _I, 8),
                                Column("revenue_fen", "成交金额", _M, 18), Column("roi", "投资回报率", _T, 10))),
              by_dealer=False),
    Dashboard("dealer-stock", "经销商库存", STOCK_ANALYSTS, (("dealer-stock-lines", "各经销商在库（按产品线）"),), False,
              Table("经销商库存", (Column("dealer_code", "经销商编号", _T, 12), Column("dealer_name", "经销商", _T, 30),
                                  Column("region", "区域", _T, 8), Column("tanker", "罐式车", _I, 8),
                                  Column("dump_truck", "自卸车", _I, 8), Column("semi_trailer", "半挂车", _I, 8),
                                  Column("units", "在库合计", _I, 10), Column("on_the_way", "在途", _I, 8),
                                  Column("sold", "已售", _I, 8)))),
    Dashboard("credit-evaluation", "信用评价分析", CREDIT_EVALUATION_ANALYSTS,
              (("credit-grades", "各等级经销商数（最新评价）"), ("credit-score-trend", "按月评价次数与平均分"),
               ("credit-lowest-scores", "得分最低的经销商")), True,
              Table("信用评价", (Column("dealer_code", "经销商编号", _T, 12), Column("dealer_name", "经销商", _T, 30),
                                Column("region", "区域", _T, 8), Column("score", "信用得分", _I, 10),
                                Column("grade", "信用等级", _T, 8), Column("evaluated_on", "评价日期", ColumnKind.DATE, 12))),
              by_line=False),
    Dashboard("training", "培训效果分析", TRAINING_ANALYSTS,
              (("training-by-training", "各次培训：邀请、确认与出席"), ("training-by-month", "按月参训率"),
               ("training-by-audience", "按对象：经销商与服务站人员")), True,
              Table("培训效果", (Column("training_no", "培训编号", _T, 16), Column("title", "培训", _T, 30),
                                Column("audience_label", "对象", _T, 12), Column("status_label", "状态", _T, 8),
                                Column("starts_on", "开始日期", ColumnKind.DATE, 12), Column("invited", "邀请", _I, 8),
                                Column("confirmed", "确认", _I, 8), Column("declined", "谢绝", _I, 8),
                                Column("registered", "签到登记", _I, 8), Column("attended", "出席", _I, 8),
                                Column("completion_rate", "参训率", _T, 10),
                                Column("feedback_avg", "平均评价", _T, 10))),
              by_dealer=False),
    Dashboard("satisfaction", "满意度分析", SATISFACTION_ANALYSTS,
              (("satisfaction-scores", "评分分布：服务记录与问卷"), ("satisfaction-dealers", "不满意的经销商")), True,
              Table("满意度", (Column("dealer_code", "经销商编号", _T, 12), Column("dealer_name", "经销商", _T, 30),
                              Column("region", "区域", _T, 8), Column("survey_responses", "问卷答复", _I, 8),
                              Column("survey_min_score", "问卷最低分", _I, 10), Column("survey_low", "问卷低分", _I, 8),
                              Column("service_rated", "服务评分数", _I, 10), Column("service_avg", "服务平均分", _T, 10),
                              Column("service_low", "服务低分", _I, 8), Column("dissatisfied", "不满意", _T, 8),
                              Column("reasons", "原因", _T, 50))),
              by_line=False),
    Dashboard("parts-stock", "配件库存统计", PARTS_ANALYSTS,
              (("parts-stock-by-station", "各服务站库存金额与呆滞金额"), ("parts-stock-by-region", "按区域库存金额")), False,
              Table("配件库存", (Column("station_code", "服务站编号", _T, 12), Column("station_name", "服务站", _T, 30),
                                Column("region", "区域", _T, 8), Column("parts", "品种数", _I, 8),
                                Column("quantity", "数量", _I, 10), Column("value_fen", "库存金额（标准成本）", _M, 18),
                                Column("below_min", "低于下限", _I, 10), Column("slow_parts", "呆滞品种", _I, 10),
                                Column("slow_value_fen", "呆滞金额", _M, 16))),
              by_dealer=False, by_region=True, by_line=False, by_station=True),
)}


Report = (dict[str, Any] | CreditReport | QualityReport | CampaignReport | CreditEvaluationReport | TrainingReport
          | SatisfactionReport | PartsStockReport)


def _report(analytics: AnalyticsService, actor: Principal, code: str, date_from: str | None, date_to: str | None,
            region: str | None, dealer_id: int | None, product_line: str | None = None,
            station_id: int | None = None) -> Report:
    region = (region or "").strip() or None
    line = product_line or None
    if code == "orders":
        return analytics.orders_report(actor, period_of(analytics, date_from, date_to), region=region,
                                       dealer_id=dealer_id, product_line=line)
    if code == "credit":
        return analytics.credit_report(actor, region=region, dealer_id=dealer_id, product_line=line)
    if code == "stock":
        return analytics.stock_report(actor, region=region, dealer_id=dealer_id, product_line=line)
    if code == "dealer-stock":
        return analytics.dealer_stock_report(actor, region=region, dealer_id=dealer_id, product_line=line)
    if code == "quality":
        return analytics.quality_report(actor, period_of(analytics, date_from, date_to), product_line=line)
    if code == "campaigns":
        return analytics.campaign_report(actor, period_of(analytics, date_from, date_to), product_line=line)
    if code == "credit-evaluation":
        return analytics.credit_evaluation_report(actor, period_of(analytics, date_from, date_to), region=region,
                                                  dealer_id=dealer_id)
    if code == "training":
        return analytics.training_report(actor, period_of(analytics, date_from, date_to), product_line=line)
    if code == "satisfaction":
        return analytics.satisfaction_report(actor, period_of(analytics, date_from, date_to), region=region,
                                             dealer_id=dealer_id)
    if code == "parts-stock":
        return analytics.parts_stock_report(actor, region=region, station_id=station_id)
    return analytics.gate_throughput(actor, period_of(analytics, date_from, date_to), dealer_id=dealer_id,
                                     product_line=line)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:g}%"


def _quality(dimension: str, r: QualityRow) -> QualitySheetRow:
    return QualitySheetRow(dimension, r.label, r.repairs, r.vehicles, r.repeat_vehicles, _pct(r.repeat_rate_pct),
                           None, r.claim_fen)


def _rows(code: str, report: Report) -> Sequence[Any]:
    """The dashboard's table (and export) rows, typed: the report's own rows where one sheet shows
    one kind of row, a sheet row (``application.reads.analytics``) where it mixes dimensions or adds
    display columns."""
    if isinstance(report, CreditReport):
        return report.exposure
    if isinstance(report, QualityReport):
        return ([_quality("产品线", r) for r in report.by_line] + [_quality("故障类别", r) for r in report.by_fault]
                + [QualitySheetRow("配件", f"{r.part_no} {r.part_name}", r.repairs, None, None, None, r.quantity,
                                   r.warranty_cost_fen) for r in report.by_part]
                + [QualitySheetRow("服务站", f"{r.key} {r.station_name}", r.repairs, None, None, None, None,
                                   r.claim_fen) for r in report.by_station])
    if isinstance(report, CampaignReport):
        return [CampaignSheetRow(r.campaign_no, r.name, CampaignStatus(r.status).label, r.starts_on, r.ends_on,
                                 r.cost_fen, r.leads, r.converted, r.revenue_fen, _pct(r.roi_pct))
                for r in report.campaigns]
    if isinstance(report, CreditEvaluationReport):
        return report.dealers
    if isinstance(report, TrainingReport):
        return [TrainingSheetRow(r.training_no, r.title, r.audience_label, r.status_label, r.starts_on, r.invited,
                                 r.confirmed, r.declined, r.registered, r.attended, _pct(r.completion_rate_pct),
                                 "—" if r.feedback_avg is None else f"{r.feedback_avg:g}") for r in report.trainings]
    if isinstance(report, SatisfactionReport):
        return [SatisfactionSheetRow(r.dealer_code, r.dealer_name, r.region, r.survey_responses, r.survey_min_score,
                                     r.survey_low, r.service_rated,
                                     "—" if r.service_avg is None else f"{r.service_avg:g}", r.service_low,
                                     "是" if is_dissatisfied(r) else "否", r.reasons) for r in report.dealers]
    if isinstance(report, PartsStockReport):
        return report.stations
    if code == "orders":
        return ([OrderSheetRow("月份", r.month, r.orders, r.units, r.amount_fen) for r in report["by_month"]]
                + [OrderSheetRow("区域", r.region, r.orders, r.units, r.amount_fen) for r in report["by_region"]]
                + [OrderSheetRow("车型", r.model, r.orders, r.units, r.amount_fen) for r in report["by_model"]])
    if code in ("stock", "dealer-stock"):
        return report["dealers"]
    return report["days"]


def _money_cell(v: int | None) -> str:
    if v is None:
        return '<td class="num"></td>'
    if v < 0:
        return f'<td class="num">{money(v)}</td>'
    return f'<td class="num">¥{v // 100:,}.{v % 100:02d}</td>'  # the ``money`` filter, inline


def _integer_cell(v: int | None) -> str:
    return '<td class="num"></td>' if v is None else f'<td class="num">{int(v)}</td>'


def _text_cell(v: object) -> str:
    return "<td></td>" if v is None else f"<td>{html.escape(str(v))}</td>"


_CELL = {_M: _money_cell, _I: _integer_cell}


def _table_body(columns: Sequence[Column], rows: Sequence[Any]) -> Markup:
    """The table's rows (``<tr>``), each cell as shown: money and integers right-aligned (their text is
    digits and signs), text escaped; a blank for a value the row does not have. Written here in one
    pass rather than cell by cell in the template: a sheet of several hundred dealers renders in a
    third of the time."""
    values = attrgetter(*(c.key for c in columns))
    cells = [_CELL.get(c.kind, _text_cell) for c in columns]
    return Markup("\n".join(f"<tr>{''.join([cell(v) for cell, v in zip(cells, values(r), strict=True)])}</tr>"
                            for r in rows))


def _pager(code: str, query: dict[str, str], at: int, shown: int, total: int) -> dict[str, Any] | None:
    """The exposure table's page links (the filters kept), or none when one page holds it all."""
    if at == 0 and shown >= total:
        return None
    filters = {k: v for k, v in query.items() if v}

    def link(n: int) -> str:
        return f"/analytics/{code}?" + urlencode({**filters, **({"at": n} if n else {})})

    return {"first": at + 1 if shown else at, "last": at + shown, "total": total,
            "prev": link(max(at - PAGE_SIZE, 0)) if at else None,
            "next": link(at + PAGE_SIZE) if at + shown < total else None}


def _dealer_options(dealers: Sequence[DealerChoice], chosen: int | None) -> Markup:
    """The dealer filter's ``<option>``s (code and name), the chosen one selected."""
    return Markup("".join(f'<option value="{d.id}"{" selected" if d.id == chosen else ""}>'
                          f"{html.escape(f'{d.code} {d.legal_name}')}</option>" for d in dealers))


def _station_options(stations: Sequence[StationChoice], chosen: int | None) -> Markup:
    """The station filter's ``<option>``s (code and name), the chosen one selected."""
    return Markup("".join(f'<option value="{s.id}"{" selected" if s.id == chosen else ""}>'
                          f"{html.escape(f'{s.code} {s.name}')}</option>" for s in stations))


_JSON = msgspec.json.Encoder()


def _embedded(report: Report) -> Markup:
    """The report as the API's JSON (msgspec encodes the typed rows), safe inside a ``<script>``."""
    return htmlsafe_json_dumps(report, dumps=lambda obj: _JSON.encode(obj).decode())


def _dashboard(code: str, request: Request[Principal, Any, Any]) -> Dashboard:
    board = DASHBOARDS[code]
    if request.user.role not in board.roles:
        raise PermissionDenied("当前角色无权查看该报表", code="auth.forbidden")
    return board


class AnalyticsPages(Controller):
    path = "/analytics"

    @get("/", guards=[requires(*ANALYSTS)], sync_to_thread=False)
    def index(self, request: Request[Principal, Any, Any]) -> Template:
        boards = [d for d in DASHBOARDS.values() if request.user.role in d.roles]
        return page(request, "analytics_index.html", title="分析", section="analytics", crumbs=(("分析", None),),
                    boards=boards)

    @get("/dealer-options", guards=[requires(*ANALYSTS)], sync_to_thread=True)
    def dealer_options(self, request: Request[Principal, Any, Any], analytics: AnalyticsService,
                       dealer: DealerText = None, region: Region = None) -> Template:
        """The dealer search box's suggestions (``<option>``s of its datalist, "code name"), as one types."""
        return fragment("_dealer_options.html",
                        dealers=analytics.find_dealers(request.user, dealer or "", region=(region or "").strip()))

    @get("/{code:str}", guards=[requires(*ANALYSTS)], sync_to_thread=True)
    def dashboard(self, code: str, request: Request[Principal, Any, Any], analytics: AnalyticsService,
                  date_from: FromDay = None, date_to: ToDay = None, region: Region = None,
                  dealer_id: DealerId = None, product_line: Line = None, station_id: DealerId = None,
                  dealer: DealerText = None, at: At = 0) -> Template:
        if code not in DASHBOARDS:
            raise NotFound("报表不存在", code="report.not_found")
        board = _dashboard(code, request)
        error: dict[str, str] | None = None
        report: Report | None = None
        credit: CreditPage | None = None
        try:
            if board.by_dealer and dealer and dealer.strip():  # the search box names a dealer by code or name
                dealer_id = analytics.dealer_named(request.user, dealer, region=(region or "").strip()).id
            if code == "credit":  # the table a page at a time: all the dealers' rows cost more than the queries
                credit = analytics.credit_page(request.user, at=at, limit=PAGE_SIZE, region=(region or "").strip(),
                                               dealer_id=dealer_id, product_line=product_line)
                report = credit.report
            else:
                report = _report(analytics, request.user, code, date_from, date_to, region, dealer_id, product_line,
                                 station_id)
        except InvalidValue as exc:
            error = {"field": exc.field, "message": exc.message}
        query = {"from": date_from or "", "to": date_to or "", "region": region or "",
                 "dealer_id": str(dealer_id or ""), "product_line": product_line or "",
                 "station_id": str(station_id or "")}
        dealers = (analytics.dealer_filter(request.user, region=(region or "").strip(), dealer_id=dealer_id)
                   if board.by_dealer else None)
        rows = credit.rows if credit else _rows(code, report) if report else None
        return page(request, "analytics.html", title=board.title, section="analytics",
                    crumbs=(("分析", "/analytics"), (board.title, None)), board=board, report=report,
                    report_json=_embedded(report) if report else None,
                    table_body=_table_body(board.table.columns, rows) if rows else None, query=query,
                    pager=_pager(code, query, at, len(credit.rows), credit.dealers) if credit else None,
                    error=error, dealers=dealers,
                    dealer_options=_dealer_options(dealers.choices, dealer_id) if dealers and not dealers.search
                    else None,
                    dealer_text=(dealer or "").strip() if error and error["field"] == "dealer"
                    else f"{dealers.chosen.code} {dealers.chosen.legal_name}" if dealers and dealers.chosen else "",
                    station_options=_station_options(analytics.station_choices(request.user, region=region),
                                                     station_id) if board.by_station else None,
                    product_lines=PRODUCT_LINES,
                    status_code=422 if error else 200,
                    export_query=urlencode({k: v for k, v in query.items() if v}))

    @get("/{code:str}/export", guards=[requires(*ANALYSTS)], sync_to_thread=True)
    def export(self, code: str, request: Request[Principal, Any, Any], analytics: AnalyticsService,
               exports: Exporter, file_format: Format = "xlsx", date_from: FromDay = None, date_to: ToDay = None,
               region: Region = None, dealer_id: DealerId = None, product_line: Line = None,
               station_id: DealerId = None) -> Stream:
        if code not in DASHBOARDS:
            raise NotFound("报表不存在", code="report.not_found")
        board = _dashboard(code, request)
        exports.check_format(file_format)
        report = _report(analytics, request.user, code, date_from, date_to, region, dealer_id, product_line,
                         station_id)
        return download(exports.download(file_format, f"report-{code}", board.table, _rows(code, report)))
