"""The monthly repair report (seed 000 §4.0.6 维修报告): on the first days of each Beijing month
the scheduler e-mails last month's repairs — by fault category, by product line and the busiest
stations, with labour, warranty parts and settled claims — to the factory's technical,
production and procurement staff, who act on quality and supply.

Once per month: a job that already sent (or finds the month sent, by the outbox idempotency key
``repair-report-<YYYY-MM>-<user>``) does nothing more until the next month; a worker that was
down on the 1st sends on its first pass after ``hour`` on a later day of the month."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from dealercrm.application.access import ServiceScope
from dealercrm.application.alerts import RuleContext
from dealercrm.domain.aftersales import FaultCategory
from dealercrm.domain.credit import yuan
from dealercrm.domain.identity import Role
from dealercrm.domain.values import SHANGHAI

REPORT_ROLES = (Role.TECHNICAL, Role.PRODUCTION, Role.PROCUREMENT)
TEMPLATE = "aftersales.monthly_repair_report"
_LINE_LABELS = {"tanker": "罐式车", "dump_truck": "自卸车", "semi_trailer": "半挂车"}


class RepairReportQueries(Protocol):
    def repair_report(self, scope: ServiceScope, *, group_by: str, start: dt.datetime,
                      end: dt.datetime) -> list[dict[str, Any]]: ...


def previous_month(day: dt.date) -> tuple[dt.date, dt.date]:
    """The first day of the month before ``day``'s, and the first day of ``day``'s month."""
    this_month = day.replace(day=1)
    return (this_month - dt.timedelta(days=1)).replace(day=1), this_month


def _label(dimension: str, key: str | None) -> str:
    if key is None:
        return "未分类"
    if dimension == "fault_category":
        try:
            return FaultCategory(key).label
        except ValueError:
            return key
    if dimension == "product_line":
        return _LINE_LABELS.get(key, key)
    return f"服务站 #{key}"


def _table(dimension: str, rows: list[dict[str, Any]], top: int) -> str:
    if not rows:
        return "（无）"
    lines = [f"- {_label(dimension, r['key'])}：{r['repairs']}次 / {r['vehicles']}台，"
             f"工时{r['labour_centihours'] / 100:g}小时，三包配件{yuan(r['warranty_parts_fen'])}，"
             f"结算{yuan(r['settled_fen'])}" + (f"，重大维修{r['major_repairs']}次" if r["major_repairs"] else "")
             for r in rows[:top]]
    if len(rows) > top:
        lines.append(f"- 其余{len(rows) - top}项略，详见系统报表")
    return "\n".join(lines)


def report_variables(queries: RepairReportQueries, first: dt.date, end: dt.date, portal_url: str) -> dict[str, str]:
    start_at = dt.datetime.combine(first, dt.time(), SHANGHAI)
    end_at = dt.datetime.combine(end, dt.time(), SHANGHAI)
    everything = ServiceScope()
    by = {d: queries.repair_report(everything, group_by=d, start=start_at, end=end_at)
          for d in ("fault_category", "product_line", "station")}
    rows = by["fault_category"]
    return {
        "month": f"{first.year}年{first.month}月",
        "repairs": str(sum(r["repairs"] for r in rows)),
        "vehicles": str(sum(r["vehicles"] for r in by["product_line"])),
        "settled": yuan(sum(r["settled_fen"] for r in rows)),
        "warranty_parts": yuan(sum(r["warranty_parts_fen"] for r in rows)),
        "by_fault": _table("fault_category", rows, 10),
        "by_line": _table("product_line", by["product_line"], 5),
        "by_station": _table("station", by["station"], 10),
        "portal_url": portal_url,
    }


class MonthlyRepairReportJob:
    code = "aftersales.monthly_repair_report"

    def __init__(self, queries: RepairReportQueries, portal_url: str, hour: int = 8) -> None:
        self.queries = queries
        self.portal_url = portal_url
        self.hour = hour
        self._sent_for: dt.date | None = None

    def run(self, ctx: RuleContext) -> int:
        if ctx.now.astimezone(SHANGHAI).hour < self.hour:
            return 0
        first, end = previous_month(ctx.today)
        if self._sent_for == first:
            return 0
        recipients = [(s, s.email) for s in ctx.uow.engagement.staff(REPORT_ROLES) if s.email]
        variables = report_variables(self.queries, first, end, self.portal_url)
        for person, email in recipients:
            ctx.uow.outbox.enqueue(TEMPLATE, {**variables, "recipient_name": person.display_name}, email,
                                   f"repair-report-{first:%Y-%m}-{person.user_id}")
        self._sent_for = first
        return len(recipients)
