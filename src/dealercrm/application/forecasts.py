"""Sales forecast use cases (seed 000 §2.2): a dealer (or its sales staff on its behalf) submits
and revises next month's forecast until the deadline; the analysis compares forecasts with the
orders each dealer actually submitted in that month."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from dealercrm.application.access import dealer_scope, not_found
from dealercrm.application.ports.marketing import ForecastUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.domain.errors import InvalidValue, PermissionDenied
from dealercrm.domain.forecasts import LineIn, SalesForecast, add_months, deadline_for, month_start
from dealercrm.domain.identity import Role
from dealercrm.domain.values import SHANGHAI, stored_id

SUBMITTERS = (Role.DEALER, Role.SALES, Role.REGION_MANAGER, Role.ADMIN)
READERS_ALL = (Role.ADMIN, Role.MARKETING, Role.PRODUCTION, Role.FINANCE, Role.SALES, Role.REGION_MANAGER)


@attrs.frozen
class SubmitForecast:
    month: dt.date
    lines: tuple[LineIn, ...]
    dealer_id: int | None = None  # staff on behalf of a dealer; dealer users: their own


@attrs.frozen
class ForecastRef:
    id: int
    dealer_id: int
    month: dt.date
    revisions: int
    total: int
    deadline: dt.datetime


def submit_forecast(cmd: SubmitForecast, uow: ForecastUnitOfWork, clock: Clock, *, deadline_day: int) -> ForecastRef:
    actor = uow.actor
    if actor.role not in SUBMITTERS:
        raise PermissionDenied("当前角色无权提报销售预测", code="auth.forbidden")
    if actor.role is Role.DEALER:
        if actor.dealer_id is None or cmd.dealer_id not in (None, actor.dealer_id):
            raise not_found("dealer", "经销商")
        dealer_id = actor.dealer_id
    elif cmd.dealer_id is None:
        raise InvalidValue("dealer_id", "请指定经销商", code="forecast.dealer_required")
    else:
        dealer_id = cmd.dealer_id
    now = clock()
    with uow:
        dealer = uow.dealers.get(dealer_id)
        if dealer is None or not dealer_scope(actor).admits(dealer.id, dealer.region):
            raise not_found("dealer", "经销商")
        for n, line in enumerate(cmd.lines):
            if line.template_id is not None:
                template_line = uow.forecasts.template_line(line.template_id)
                if template_line is None:
                    raise InvalidValue(f"lines[{n}].template_id", "车型模板不存在", code="template.not_found")
                if template_line != line.product_line:
                    raise InvalidValue(f"lines[{n}].template_id", "车型模板不属于该产品线",
                                       code="forecast.template_line_mismatch")
        forecast = uow.forecasts.for_month(dealer_id, cmd.month)
        if forecast is None:
            forecast = SalesForecast.submit(dealer_id=dealer_id, month=cmd.month, lines=list(cmd.lines),
                                            by_name=actor.username, now=now, deadline_day=deadline_day)
            uow.forecasts.add(forecast)
        else:
            forecast.revise(list(cmd.lines), by_name=actor.username, now=now, deadline_day=deadline_day)
        uow.flush()
        ref = ForecastRef(stored_id(forecast.id), dealer_id, forecast.month, forecast.revisions, forecast.total,
                          deadline_for(forecast.month, deadline_day))
        uow.commit()
    return ref


def next_month(now: dt.datetime) -> dt.date:
    return add_months(month_start(now.astimezone(SHANGHAI).date()), 1)


def forecast_report(month: dt.date, rows: list[dict[str, Any]], *, deadline_day: int) -> dict[str, Any]:
    """Accuracy per dealer line, per dealer, per region and overall (volume-weighted), against
    what was ordered (``actual``) and against what was sold at retail (``retail``, §2.2 2))."""
    from dealercrm.domain.forecasts import accuracy_pct, weighted_accuracy_pct

    def totals(lines: list[dict[str, Any]], with_accuracy: bool) -> dict[str, Any]:
        ordered = [(x["forecast"], x["actual"]) for x in lines]
        sold = [(x["forecast"], x.get("retail", 0)) for x in lines]
        return {"forecast_total": sum(f for f, _ in ordered), "actual_total": sum(a for _, a in ordered),
                "retail_total": sum(r for _, r in sold),
                "accuracy_pct": weighted_accuracy_pct(ordered) if with_accuracy else None,
                "retail_accuracy_pct": weighted_accuracy_pct(sold) if with_accuracy else None}

    dealers = []
    regions: dict[str, list[dict[str, Any]]] = {}
    region_dealers: dict[str, int] = {}
    for r in rows:
        lines = [{**line, "retail": line.get("retail", 0),
                  "accuracy_pct": accuracy_pct(line["forecast"], line["actual"]),
                  "retail_accuracy_pct": accuracy_pct(line["forecast"], line.get("retail", 0))}
                 for line in r["lines"]]
        dealers.append({**r, "lines": lines, **totals(lines, bool(r["submitted"]))})
        if r["submitted"]:
            regions.setdefault(r["region"], []).extend(lines)
            region_dealers[r["region"]] = region_dealers.get(r["region"], 0) + 1
    all_lines = [x for ls in regions.values() for x in ls]
    return {
        "month": month, "deadline": deadline_for(month, deadline_day),
        "dealers": dealers,
        "regions": [{"region": reg, "dealers": region_dealers[reg], **totals(ls, True)}
                    for reg, ls in sorted(regions.items())],
        "overall": {"dealers": len([d for d in dealers if d["submitted"]]),
                    "missing_forecasts": len([d for d in dealers if not d["submitted"]]),
                    **totals(all_lines, bool(all_lines))},
    }
