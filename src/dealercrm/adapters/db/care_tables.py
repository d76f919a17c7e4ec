"""Tables and the repository (``uow.care``) of dealer value analysis, dealer satisfaction and
customer care. Plain rows through SQLAlchemy Core on the unit of work's own session; the facts
the value analysis scores are read here too (orders, the latest credit evaluation, retail sales
and dealer stock)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    insert,
    select,
    type_coerce,
    update,
)
from sqlalchemy import BigInteger
from sqlalchemy.orm import Session

from dealercrm.adapters.db.base import IdType, metadata
from dealercrm.adapters.db.orm import dealer_contacts, dealers
from dealercrm.adapters.db.types import UtcDateTime

dealer_value_models = Table(
    "dealer_value_models",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("model", JSON, nullable=False),
    Column("note", String(500)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(60), nullable=False),
)

dealer_value_evaluations = Table(
    "dealer_value_evaluations",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), nullable=False),
    Column("model_id", IdType, ForeignKey("dealer_value_models.id")),
    Column("evaluated_at", UtcDateTime, nullable=False),
    Column("trigger", String(20), nullable=False),
    Column("score", Integer, nullable=False),
    Column("value_class", String(1), nullable=False),
    Column("inputs", JSON, nullable=False),
    Column("breakdown", JSON, nullable=False),
    Column("suggested_level", String(20), nullable=False),
    Column("suggested_tier_code", String(20), nullable=False),
    Column("suggested_discount_bp", Integer, nullable=False),
    Column("applied_at", UtcDateTime),
    Column("applied_by", String(60)),
    Column("applied_product_lines", JSON),
    CheckConstraint("score >= 0 AND score <= 100", name="score_range"),
    Index("ix_dealer_value_evaluations_dealer_id_id", "dealer_id", "id"),
)

surveys = Table(
    "surveys",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("title", String(200), nullable=False),
    Column("description", String(2000), nullable=False),
    Column("questions", JSON, nullable=False),
    Column("threshold", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("deadline", Date),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(60), nullable=False),
    Column("sent_at", UtcDateTime),
    Column("closed_at", UtcDateTime),
)

survey_recipients = Table(
    "survey_recipients",
    metadata,
    Column("survey_id", IdType, ForeignKey("surveys.id"), primary_key=True),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), primary_key=True),
    Column("invited_at", UtcDateTime, nullable=False),
    Column("notified_to", String(200)),
    Index("ix_survey_recipients_dealer_id", "dealer_id"),
)

survey_responses = Table(
    "survey_responses",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("survey_id", IdType, ForeignKey("surveys.id"), nullable=False),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), nullable=False),
    Column("answers", JSON, nullable=False),
    Column("min_score", Integer),
    Column("answered_at", UtcDateTime, nullable=False),
    Column("answered_by", String(60), nullable=False),
    UniqueConstraint("survey_id", "dealer_id"),
)

survey_follow_ups = Table(
    "survey_follow_ups",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("response_id", IdType, ForeignKey("survey_responses.id"), nullable=False, index=True),
    Column("action", String(1000), nullable=False),
    Column("owner", String(60), nullable=False),
    Column("status", String(20), nullable=False),
    Column("result", String(1000)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(60), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(60), nullable=False),
)

care_templates = Table(
    "care_templates",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(60), nullable=False),
)

care_tasks = Table(
    "care_tasks",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("kind", String(30), nullable=False),
    Column("target_kind", String(20), nullable=False),
    Column("name", String(100), nullable=False),
    Column("phone", String(20)),
    Column("email", String(200)),
    Column("address", String(300)),
    Column("dealer_id", IdType, ForeignKey("dealers.id")),
    Column("vin", String(17)),
    Column("model_code", String(40)),
    Column("related_on", Date),
    Column("due_on", Date, nullable=False),
    Column("title", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("source_key", String(120), unique=True),
    Column("result", String(1000)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(60), nullable=False),
    Column("finished_at", UtcDateTime),
    Column("finished_by", String(60)),
    Index("ix_care_tasks_status_due_on", "status", "due_on"),
)

care_batches = Table(
    "care_batches",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("template_id", IdType, ForeignKey("care_templates.id"), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("recipients", JSON, nullable=False),  # [{name, to, address, subject, body, task_id, notification_id}]
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(60), nullable=False),
)

TABLES = {t.name for t in (dealer_value_models, dealer_value_evaluations, surveys, survey_recipients,
                           survey_responses, survey_follow_ups, care_templates, care_tasks, care_batches)}


def _row(r: Any) -> dict[str, Any]:
    return dict(r._mapping)


class SqlCareRepository:
    """``uow.care``: every statement runs on the unit of work's session (its transaction)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _x(self, stmt: Any) -> Any:
        return self.session.execute(stmt)

    def _insert(self, table: Table, **values: Any) -> int:
        return int(self._x(insert(table).values(**values).returning(table.c.id)).scalar_one())

    # -- dealers -------------------------------------------------------------------------------

    def dealer(self, dealer_id: int) -> dict[str, Any] | None:
        r = self._x(select(dealers.c.id, dealers.c.legal_name, dealers.c.short_name, dealers.c.region,
                           dealers.c.status, dealers.c.province, dealers.c.city, dealers.c.address_detail)
                    .where(dealers.c.id == dealer_id)).first()
        return _row(r) if r else None

    def active_dealer_ids(self, region: str | None = None) -> list[int]:
        q = select(dealers.c.id).where(dealers.c.status == "approved").order_by(dealers.c.id)
        if region:
            q = q.where(dealers.c.region == region)
        return list(self._x(q).scalars())

    def primary_email(self, dealer_id: int) -> str | None:
        from dealercrm.adapters.db.orm import users

        c = dealer_contacts.c
        email = self._x(select(c.email).where(c.dealer_id == dealer_id, c.email.is_not(None))
                        .order_by(c.is_primary.desc(), c.id).limit(1)).scalar()
        if email:
            return str(email)
        u = users.c
        return self._x(select(u.email).where(u.dealer_id == dealer_id, u.email.is_not(None), u.is_active.is_(True))
                       .order_by(u.id).limit(1)).scalar()

    # -- value analysis ------------------------------------------------------------------------

    def current_model(self) -> dict[str, Any] | None:
        r = self._x(select(dealer_value_models).order_by(dealer_value_models.c.id.desc()).limit(1)).first()
        return _row(r) if r else None

    def add_model(self, model: dict[str, Any], note: str | None, now: dt.datetime, by: str) -> int:
        return self._insert(dealer_value_models, model=model, note=note, created_at=now, created_by=by)

    def order_facts(self, dealer_id: int, start: dt.datetime, end: dt.datetime, states: tuple[str, ...]
                    ) -> tuple[int, int, int]:
        from dealercrm.adapters.db.orders_tables import orders

        o = orders.c
        r = self._x(select(func.count(), func.coalesce(func.sum(o.quantity), 0), func.coalesce(func.sum(type_coerce(o.total_fen, BigInteger)), 0))
                    .where(o.dealer_id == dealer_id, o.state.in_(states), o.submitted_at >= start,
                           o.submitted_at < end)).one()
        return int(r[0]), int(r[1]), int(r[2])

    def latest_credit_evaluation(self, dealer_id: int) -> dict[str, Any] | None:
        from dealercrm.adapters.db.credit_tables import credit_evaluations

        e = credit_evaluations.c
        r = self._x(select(e.id, e.evaluated_at, e.score, e.grade, e.inputs).where(e.dealer_id == dealer_id)
                    .order_by(e.id.desc()).limit(1)).first()
        return _row(r) if r else None

    def stock_facts(self, dealer_id: int, start: dt.datetime, end: dt.datetime) -> tuple[int, int]:
        from dealercrm.adapters.db.gate_tables import vehicles
        from dealercrm.adapters.db.stock_tables import retail_sales

        s = retail_sales.c
        sold = self._x(select(func.count()).where(s.dealer_id == dealer_id, s.status == "confirmed",
                                                  s.sold_at >= start, s.sold_at < end)).scalar_one()
        v = vehicles.c
        in_stock = self._x(select(func.count()).where(v.dealer_id == dealer_id, v.state == "in_dealer_stock")
                           ).scalar_one()
        return int(sold), int(in_stock)

    def training_facts(self, dealer_id: int, start: dt.datetime, end: dt.datetime) -> tuple[int, int]:
        from dealercrm.adapters.db.marketing_tables import training_invitations, training_participants, trainings

        i, t, p = training_invitations.c, trainings.c, training_participants.c
        attended = (select(p.invitation_id).where(p.invitation_id == i.id, p.attended.is_(True)).exists())
        q = (select(func.count(), func.count().filter(attended))
             .select_from(training_invitations.join(trainings, trainings.c.id == i.training_id))
             .where(i.invitee_kind == "dealer", i.invitee_id == dealer_id, t.status == "completed",
                    t.starts_at >= start, t.starts_at < end))
        invited, went = self._x(q).one()
        return int(invited), int(went or 0)

    def add_evaluation(self, **values: Any) -> int:
        return self._insert(dealer_value_evaluations, **values)

    def evaluation(self, evaluation_id: int) -> dict[str, Any] | None:
        r = self._x(select(dealer_value_evaluations).where(dealer_value_evaluations.c.id == evaluation_id)).first()
        return _row(r) if r else None

    def mark_applied(self, evaluation_id: int, now: dt.datetime, by: str, lines: list[str]) -> None:
        self._x(update(dealer_value_evaluations).where(dealer_value_evaluations.c.id == evaluation_id)
                .values(applied_at=now, applied_by=by, applied_product_lines=lines))

    # -- surveys -------------------------------------------------------------------------------

    def add_survey(self, **values: Any) -> int:
        return self._insert(surveys, **values)

    def survey(self, survey_id: int, *, lock: bool = False) -> dict[str, Any] | None:
        q = select(surveys).where(surveys.c.id == survey_id)
        if lock:
            q = q.with_for_update()
        r = self._x(q).first()
        return _row(r) if r else None

    def set_survey(self, survey_id: int, **values: Any) -> None:
        self._x(update(surveys).where(surveys.c.id == survey_id).values(**values))

    def invited(self, survey_id: int, dealer_id: int) -> bool:
        return self._x(select(survey_recipients.c.dealer_id).where(
            survey_recipients.c.survey_id == survey_id, survey_recipients.c.dealer_id == dealer_id)).first() is not None

    def invite(self, survey_id: int, dealer_id: int, now: dt.datetime, notified_to: str | None) -> None:
        self._x(insert(survey_recipients).values(survey_id=survey_id, dealer_id=dealer_id, invited_at=now,
                                                 notified_to=notified_to))

    def response_of(self, survey_id: int, dealer_id: int) -> dict[str, Any] | None:
        r = self._x(select(survey_responses).where(survey_responses.c.survey_id == survey_id,
                                                   survey_responses.c.dealer_id == dealer_id)).first()
        return _row(r) if r else None

    def add_response(self, **values: Any) -> int:
        return self._insert(survey_responses, **values)

    def response(self, response_id: int) -> dict[str, Any] | None:
        r = self._x(select(survey_responses).where(survey_responses.c.id == response_id)).first()
        return _row(r) if r else None

    def add_follow_up(self, **values: Any) -> int:
        return self._insert(survey_follow_ups, **values)

    def follow_up(self, follow_up_id: int, *, lock: bool = False) -> dict[str, Any] | None:
        q = select(survey_follow_ups).where(survey_follow_ups.c.id == follow_up_id)
        if lock:
            q = q.with_for_update()
        r = self._x(q).first()
        return _row(r) if r else None

    def set_follow_up(self, follow_up_id: int, **values: Any) -> None:
        self._x(update(survey_follow_ups).where(survey_follow_ups.c.id == follow_up_id).values(**values))

    # -- care ----------------------------------------------------------------------------------

    def add_template(self, **values: Any) -> int:
        return self._insert(care_templates, **values)

    def template(self, template_id: int) -> dict[str, Any] | None:
        r = self._x(select(care_templates).where(care_templates.c.id == template_id)).first()
        return _row(r) if r else None

    def add_task(self, **values: Any) -> int:
        return self._insert(care_tasks, **values)

    def task_by_key(self, source_key: str) -> int | None:
        return self._x(select(care_tasks.c.id).where(care_tasks.c.source_key == source_key)).scalar()

    def task(self, task_id: int, *, lock: bool = False) -> dict[str, Any] | None:
        q = select(care_tasks).where(care_tasks.c.id == task_id)
        if lock:
            q = q.with_for_update()
        r = self._x(q).first()
        return _row(r) if r else None

    def set_task(self, task_id: int, **values: Any) -> None:
        self._x(update(care_tasks).where(care_tasks.c.id == task_id).values(**values))

    def tasks_due_by(self, day: dt.date) -> list[dict[str, Any]]:
        t = care_tasks.c
        rows = self._x(select(care_tasks, dealers.c.region).select_from(
            care_tasks.outerjoin(dealers, dealers.c.id == t.dealer_id))
            .where(t.status == "open", t.due_on <= day).order_by(t.due_on, t.id))
        return [_row(r) for r in rows]

    def delivered_sales(self, sold_from: dt.datetime, sold_to: dt.datetime) -> list[dict[str, Any]]:
        from dealercrm.adapters.db.gate_tables import vehicles
        from dealercrm.adapters.db.stock_tables import retail_sales

        s = retail_sales.c
        rows = self._x(select(s.id, s.dealer_id, s.vin, s.customer_name, s.customer_phone, s.sold_at,
                              vehicles.c.model_code)
                       .select_from(retail_sales.outerjoin(vehicles, vehicles.c.vin == s.vin))
                       .where(s.status == "confirmed", s.sold_at >= sold_from, s.sold_at < sold_to))
        return [_row(r) for r in rows]

    def warranties_ending(self, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        from dealercrm.adapters.db.aftersales_tables import service_warranties

        w = service_warranties.c
        rows = self._x(select(w.id, w.vin, w.model_code, w.dealer_id, w.customer_name, w.customer_phone, w.ends_on)
                       .where(and_(w.ends_on.is_not(None), w.ends_on >= start, w.ends_on <= end)))
        return [_row(r) for r in rows]

    def add_batch(self, **values: Any) -> int:
        return self._insert(care_batches, **values)

    def batch(self, batch_id: int) -> dict[str, Any] | None:
        r = self._x(select(care_batches).where(care_batches.c.id == batch_id)).first()
        return _row(r) if r else None

    def latest_evaluation_id(self, dealer_id: int) -> int | None:
        e = dealer_value_evaluations.c
        return self._x(select(func.max(e.id)).where(e.dealer_id == dealer_id)).scalar()

    def set_batch_recipients(self, batch_id: int, recipients: list[dict[str, Any]]) -> None:
        self._x(update(care_batches).where(care_batches.c.id == batch_id).values(recipients=recipients))
