"""Read queries of value analysis, satisfaction and care (Core, on the engine's read side)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, func, select

from dealercrm.adapters.db.care_tables import (
    care_tasks,
    care_templates,
    dealer_value_evaluations,
    survey_follow_ups,
    survey_recipients,
    survey_responses,
    surveys,
)
from dealercrm.adapters.db.orm import dealers
from dealercrm.domain.satisfaction import ServiceFacts


def _plain(r: Any) -> dict[str, Any]:
    return {k: (v.value if hasattr(v, "value") and not isinstance(v, (int, str)) else v)
            for k, v in dict(r._mapping).items()}


class SqlCareQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _rows(self, q: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [_plain(r) for r in conn.execute(q)]

    def service_facts(self, *, since: dt.datetime, until: dt.datetime, threshold: int,
                      regions: tuple[str, ...] | None, region: str | None) -> list[ServiceFacts]:
        from dealercrm.adapters.db.aftersales_tables import service_repair_records, service_requests

        rec, req = service_repair_records.c, service_requests.c
        base = (select(req.dealer_id, rec.satisfaction, rec.customer_comment)
                .join_from(service_repair_records, service_requests, req.id == rec.request_id)
                .join(dealers, dealers.c.id == req.dealer_id)
                .where(rec.confirmed_at >= since, rec.confirmed_at < until, rec.satisfaction.is_not(None)))
        if regions is not None:
            base = base.where(dealers.c.region.in_(regions))
        if region:
            base = base.where(dealers.c.region == region)
        with self.engine.connect() as conn:
            rows = conn.execute(base.order_by(req.dealer_id, rec.id)).all()
            ids = sorted({r.dealer_id for r in rows})
            names = {r.id: (r.short_name or r.legal_name, r.region) for r in conn.execute(
                select(dealers.c.id, dealers.c.short_name, dealers.c.legal_name, dealers.c.region)
                .where(dealers.c.id.in_(ids)))} if ids else {}
        out = []
        for dealer_id in ids:
            mine = [r for r in rows if r.dealer_id == dealer_id]
            low = [r for r in mine if r.satisfaction < threshold]
            out.append(ServiceFacts(dealer_id, names[dealer_id][0], names[dealer_id][1], len(mine),
                                    sum(r.satisfaction for r in mine), len(low),
                                    tuple(r.customer_comment for r in low if r.customer_comment)[:5]))
        return out

    def latest_evaluations(self, *, dealer_id: int | None, regions: tuple[str, ...] | None,
                           value_class: str | None, region: str | None) -> list[dict[str, Any]]:
        e = dealer_value_evaluations.c
        latest = select(e.dealer_id, func.max(e.id).label("id")).group_by(e.dealer_id).subquery()
        q = (select(dealer_value_evaluations, dealers.c.legal_name, dealers.c.short_name, dealers.c.region)
             .join(latest, latest.c.id == e.id).join(dealers, dealers.c.id == e.dealer_id)
             .order_by(e.score.desc(), e.dealer_id))
        if dealer_id is not None:
            q = q.where(e.dealer_id == dealer_id)
        if regions is not None:
            q = q.where(dealers.c.region.in_(regions))
        if region:
            q = q.where(dealers.c.region == region)
        if value_class:
            q = q.where(e.value_class == value_class)
        return self._rows(q)

    def evaluation_history(self, dealer_id: int, limit: int = 50) -> list[dict[str, Any]]:
        e = dealer_value_evaluations.c
        return self._rows(select(dealer_value_evaluations).where(e.dealer_id == dealer_id)
                          .order_by(e.id.desc()).limit(limit))

    def surveys(self, *, dealer_id: int | None) -> list[dict[str, Any]]:
        s = surveys.c
        q = select(s.id, s.title, s.status, s.deadline, s.threshold, s.created_at, s.sent_at, s.closed_at)
        if dealer_id is not None:
            q = (q.add_columns(survey_responses.c.answered_at)
                 .join(survey_recipients, (survey_recipients.c.survey_id == s.id)
                       & (survey_recipients.c.dealer_id == dealer_id))
                 .outerjoin(survey_responses, (survey_responses.c.survey_id == s.id)
                            & (survey_responses.c.dealer_id == dealer_id))
                 .where(s.status != "draft"))
        return self._rows(q.order_by(s.id.desc()))

    def responses(self, survey_id: int) -> list[dict[str, Any]]:
        r = survey_responses.c
        return self._rows(select(survey_responses, dealers.c.legal_name, dealers.c.short_name, dealers.c.region)
                          .join(dealers, dealers.c.id == r.dealer_id).where(r.survey_id == survey_id)
                          .order_by(r.id))

    def invited_count(self, survey_id: int) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).where(survey_recipients.c.survey_id == survey_id))
                       .scalar_one())

    def follow_ups(self, response_ids: list[int]) -> list[dict[str, Any]]:
        if not response_ids:
            return []
        f = survey_follow_ups.c
        return self._rows(select(survey_follow_ups).where(f.response_id.in_(response_ids)).order_by(f.id))

    def templates(self) -> list[dict[str, Any]]:
        return self._rows(select(care_templates).order_by(care_templates.c.id.desc()))

    def tasks(self, *, status: str | None, kind: str | None, due_before: dt.date | None,
              after_id: int | None, limit: int) -> list[dict[str, Any]]:
        t = care_tasks.c
        q = select(care_tasks).order_by(t.due_on, t.id).limit(limit)
        if status:
            q = q.where(t.status == status)
        if kind:
            q = q.where(t.kind == kind)
        if due_before:
            q = q.where(t.due_on <= due_before)
        if after_id:
            q = q.where(t.id > after_id)
        return self._rows(q)
