"""The credit context's scheduled work, run by the engagement scheduler inside `dealercrm worker`:
due-soon reminders and escalating dunning notices every pass (idempotent per contract and
level), and the credit evaluation of every dealer once per Beijing day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from dealercrm.application.alerts import RuleContext
from dealercrm.application.credit import run_credit_evaluations, run_credit_reminders
from dealercrm.domain.identity import Principal
from dealercrm.domain.values import SHANGHAI


class CreditRemindersJob:
    code = "credit.reminders"
    opens_own_units_of_work = True

    def __init__(self, uow_factory: Callable[[Principal], Any]) -> None:
        self.uow_factory = uow_factory

    def run(self, ctx: RuleContext) -> int:
        report = run_credit_reminders(self.uow_factory, ctx.now)
        return report.messages + report.alerts


class CreditEvaluationJob:
    """Evaluates once per day, at the first pass after ``hour`` (Beijing); a restarted worker
    evaluates again that day, which only adds a same-day score with the same inputs."""

    code = "credit.evaluation"
    opens_own_units_of_work = True

    def __init__(self, uow_factory: Callable[[Principal], Any], hour: int = 6) -> None:
        self.uow_factory = uow_factory
        self.hour = hour
        self._done_on: dt.date | None = None

    def run(self, ctx: RuleContext) -> int:
        local = ctx.now.astimezone(SHANGHAI)
        if local.hour < self.hour or self._done_on == ctx.today:
            return 0
        self._done_on = ctx.today
        return run_credit_evaluations(self.uow_factory, ctx.now)
