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
    """Accuracy per dealer line, per dealer, per region and overall (volume-weighted)."""
    from dealercrm.domain.forecasts import accuracy_pct, weighted_accuracy_pct

    dealers = []
    regions: dict[str, list[tuple[int, int]]] = {}
    region_dealers: dict[str, int] = {}
    for r in rows:
        pairs = [(line["forecast"], line["actual"]) for line in r["lines"]]
        lines = [{**line, "accuracy_pct": accuracy_pct(line["forecast"], line["actual"])} for line in r["lines"]]
        dealers.append({**r, "lines": lines, "forecast_total": sum(f for f, _ in pairs),
                        "actual_total": sum(a for _, a in pairs),
                        "accuracy_pct": weighted_accuracy_pct(pairs) if r["submitted"] else None})
        if r["submitted"]:
            regions.setdefault(r["region"], []).extend(pairs)
            region_dealers[r["region"]] = region_dealers.get(r["region"], 0) + 1
    all_pairs = [p for ps in regions.values() for p in ps]
    return {
        "month": month, "deadline": deadline_for(month, deadline_day),
        "dealers": dealers,
        "regions": [{"region": reg, "dealers": region_dealers[reg], "forecast_total": sum(f for f, _ in ps),
                     "actual_total": sum(a for _, a in ps), "accuracy_pct": weighted_accuracy_pct(ps)}
                    for reg, ps in sorted(regions.items())],
        "overall": {"dealers": len([d for d in dealers if d["submitted"]]),
                    "missing_forecasts": len([d for d in dealers if not d["submitted"]]),
                    "forecast_total": sum(f for f, _ in all_pairs), "actual_total": sum(a for _, a in all_pairs),
                    "accuracy_pct": weighted_accuracy_pct(all_pairs) if all_pairs else None},
    }
