"""Persistence ports of dealer care (经销商关怀): its repository on the unit of work.

``uow.care`` answers in plain rows (the care tables are read and written with SQLAlchemy Core);
the care use cases also set a dealer's price tier from an applied value evaluation, so their
unit of work is the orders one plus ``care``.

Ports of the care context the service reads through: the read queries (value evaluations,
surveys, templates, tasks — plain dict rows, straight from SQL) and the letter renderer that
prints a care batch's envelopes and letters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from dealercrm.application.ports.orders import OrdersUnitOfWork
from dealercrm.domain.identity import Principal
from dealercrm.domain.satisfaction import ServiceFacts


class CareQueries(Protocol):
    """Read side of care. Scoping is the caller's: it passes the dealer or regions to show."""

    def service_facts(self, *, since: dt.datetime, until: dt.datetime, threshold: int,
                      regions: tuple[str, ...] | None, region: str | None) -> list[ServiceFacts]:
        """Per dealer with confirmed repair records of its vehicles' requests in [since, until): the
        count, the sum of the satisfaction scores, the scores below ``threshold`` and their comments."""

    def latest_evaluations(self, *, dealer_id: int | None, regions: tuple[str, ...] | None,
                           value_class: str | None, region: str | None) -> list[dict[str, Any]]:
        """Each dealer's latest value evaluation, best score first."""

    def evaluation_history(self, dealer_id: int, limit: int = 50) -> list[dict[str, Any]]:
        """A dealer's evaluations, newest first."""

    def surveys(self, *, dealer_id: int | None) -> list[dict[str, Any]]:
        """Every survey, or those ``dealer_id`` was invited to (with its ``answered_at``)."""

    def responses(self, survey_id: int) -> list[dict[str, Any]]: ...

    def invited_count(self, survey_id: int) -> int: ...

    def follow_ups(self, response_ids: list[int]) -> list[dict[str, Any]]: ...

    def templates(self) -> list[dict[str, Any]]: ...

    def tasks(self, *, status: str | None, kind: str | None, due_before: dt.date | None,
              after_id: int | None, limit: int) -> list[dict[str, Any]]: ...


class CareLetterRenderer(Protocol):
    """Envelopes and letters of a care batch as one PDF (``layout``: both, envelope or letter).
    Raises ``DocumentUnavailable`` when the installation cannot render them (no Chinese font)."""

    def render(self, recipients: Sequence[dict[str, Any]], *, sender: str, title: str, layout: str) -> bytes: ...


class CareRepository(Protocol):
    def dealer(self, dealer_id: int) -> dict[str, Any] | None: ...

    def active_dealer_ids(self, region: str | None = None) -> list[int]: ...

    def primary_email(self, dealer_id: int) -> str | None: ...

    def current_model(self) -> dict[str, Any] | None: ...

    def add_model(self, model: dict[str, Any], note: str | None, now: dt.datetime, by: str) -> int: ...

    def order_facts(self, dealer_id: int, start: dt.datetime, end: dt.datetime, states: tuple[str, ...]
                    ) -> tuple[int, int, int]: ...

    def latest_credit_evaluation(self, dealer_id: int) -> dict[str, Any] | None: ...

    def stock_facts(self, dealer_id: int, start: dt.datetime, end: dt.datetime) -> tuple[int, int]: ...

    def training_facts(self, dealer_id: int, start: dt.datetime, end: dt.datetime) -> tuple[int, int]:
        """The dealer's invitations to trainings completed with a start in [start, end), and how
        many of those it attended."""

    def add_evaluation(self, **values: Any) -> int: ...

    def evaluation(self, evaluation_id: int) -> dict[str, Any] | None: ...

    def mark_applied(self, evaluation_id: int, now: dt.datetime, by: str, lines: list[str]) -> None: ...

    def add_survey(self, **values: Any) -> int: ...

    def survey(self, survey_id: int, *, lock: bool = False) -> dict[str, Any] | None: ...

    def set_survey(self, survey_id: int, **values: Any) -> None: ...

    def invited(self, survey_id: int, dealer_id: int) -> bool: ...

    def invite(self, survey_id: int, dealer_id: int, now: dt.datetime, notified_to: str | None) -> None: ...

    def response_of(self, survey_id: int, dealer_id: int) -> dict[str, Any] | None: ...

    def add_response(self, **values: Any) -> int: ...

    def response(self, response_id: int) -> dict[str, Any] | None: ...

    def add_follow_up(self, **values: Any) -> int: ...

    def follow_up(self, follow_up_id: int, *, lock: bool = False) -> dict[str, Any] | None: ...

    def set_follow_up(self, follow_up_id: int, **values: Any) -> None: ...

    def add_template(self, **values: Any) -> int: ...

    def template(self, template_id: int) -> dict[str, Any] | None: ...

    def add_task(self, **values: Any) -> int: ...

    def task_by_key(self, source_key: str) -> int | None: ...

    def task(self, task_id: int, *, lock: bool = False) -> dict[str, Any] | None: ...

    def set_task(self, task_id: int, **values: Any) -> None: ...

    def delivered_sales(self, sold_from: dt.datetime, sold_to: dt.datetime) -> list[dict[str, Any]]: ...

    def warranties_ending(self, start: dt.date, end: dt.date) -> list[dict[str, Any]]: ...

    def add_batch(self, **values: Any) -> int: ...

    def batch(self, batch_id: int) -> dict[str, Any] | None: ...

    def latest_evaluation_id(self, dealer_id: int) -> int | None: ...

    def set_batch_recipients(self, batch_id: int, recipients: list[dict[str, Any]]) -> None: ...


class CareUnitOfWork(OrdersUnitOfWork, Protocol):
    care: CareRepository


CareUnitOfWorkFactory = Callable[[Principal], CareUnitOfWork]
