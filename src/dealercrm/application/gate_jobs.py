"""The gate's scheduled work, run by the engagement scheduler inside `dealercrm worker`:

- **receipt reminders** — dealers whose receipt (回执) for a shipment is overdue are reminded
  once per shipment (the same use case dispatch can trigger by hand);
- **kiosk event retention** — the idempotency ledger of kiosk and desk events (and of dealers' retail payments) keeps the answers
  given to each client event id (some name the person at the kiosk) only as long as an offline
  agent could still replay that event; older entries are deleted once per Beijing day, in
  batches so no transaction holds the table for long. A replay older than the window is still
  harmless: a pass is good for one exit, so a second exit is refused by the pass itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from dealercrm.application.alerts import RuleContext
from dealercrm.application.shipping import DEFAULT_RECEIPT_GRACE, remind_missing_receipts
from dealercrm.domain.identity import Principal

DEFAULT_KIOSK_EVENT_RETENTION_DAYS = 90
PURGE_BATCH = 1000


class ReceiptRemindersJob:
    code = "gate.receipt_reminders"
    opens_own_units_of_work = True

    def __init__(self, uow_factory: Callable[[Principal], Any], portal_url: str,
                 grace: dt.timedelta = DEFAULT_RECEIPT_GRACE) -> None:
        self.uow_factory = uow_factory
        self.portal_url = portal_url
        self.grace = grace

    def run(self, ctx: RuleContext) -> int:
        return len(remind_missing_receipts(self.uow_factory(Principal.system()), lambda: ctx.now, self.portal_url,
                                           self.grace))


class KioskEventRetentionJob:
    code = "gate.kiosk_event_retention"
    opens_own_units_of_work = True

    def __init__(self, uow_factory: Callable[[Principal], Any],
                 retention_days: int = DEFAULT_KIOSK_EVENT_RETENTION_DAYS) -> None:
        if retention_days < 1:
            raise ValueError("retention_days must be at least 1")
        self.uow_factory = uow_factory
        self.retention = dt.timedelta(days=retention_days)
        self._done_on: dt.date | None = None

    def run(self, ctx: RuleContext) -> int:
        if self._done_on == ctx.today:
            return 0
        removed = purge_client_events(self.uow_factory, ctx.now - self.retention)
        self._done_on = ctx.today
        return removed


def purge_client_events(uow_factory: Callable[[Principal], Any], before: dt.datetime,
                        batch: int = PURGE_BATCH) -> int:
    """Deletes ledger entries recorded before ``before``, ``batch`` per transaction."""
    removed = 0
    while True:
        with uow_factory(Principal.system()) as uow:
            n: int = uow.client_events.purge_before(before, batch)
            uow.commit()
        removed += n
        if n < batch:
            return removed
