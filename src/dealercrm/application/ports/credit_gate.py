"""The credit rule as the gate sees it: may these vehicles leave the factory now?

The credit context implements this (paid in full, or within the dealer's credit limit and
nothing overdue — RELIABILITY.md invariant 1: one rule for every path). The gate context calls
it when finance approves a gate pass and again when dispatch hands the vehicles over, inside the
same unit of work, so the answer and the change commit together.
"""

from __future__ import annotations

from typing import Protocol

from dealercrm.application.ports.credit import ReleaseCheckUnitOfWork


class VehicleReleasePolicy(Protocol):
    def check_release(self, uow: ReleaseCheckUnitOfWork, dealer_id: int, contract_no: str | None, vins: list[str]) -> None:
        """Return when the vehicles may be released; otherwise raise ``BusinessRuleViolation``
        (or another ``Conflict``) with a stable ``code`` (e.g. ``credit.limit_exceeded``,
        ``credit.overdue``, ``credit.unpaid``) and a Chinese message for finance.

        ``uow`` is the open unit of work of the calling use case, typed by what the credit rule
        reads through it (``uow.credit`` as :class:`ReleaseChecks`, the actor, the clock): lock
        rows you rely on; never commit.
        """
        ...
