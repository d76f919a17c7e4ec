"""Message retention (issue 21 §5): messages are kept for ``DEALERCRM_MESSAGE_RETENTION_DAYS``
days; the scheduler's ``messages.retention`` job deletes older ones with their attachment rows.
The conversations, their members and read marks stay (a conversation whose messages have all
expired shows "暂无消息"). The files themselves stay in the content-addressed media store, where
another record may share them.

The job walks the messages oldest first (by id, which follows the sending time) and stops at the
first one still within the period, so a pass costs one small batch however large the table is.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from dealercrm.application.alerts import RuleContext


class RetentionStore(Protocol):
    def purge_before(self, cutoff: dt.datetime, limit: int) -> int:
        """In one transaction: of the ``limit`` oldest messages (by id), delete — with their
        attachment rows — those sent before ``cutoff``, stopping at the first that is not;
        returns how many were deleted (fewer than ``limit``: nothing older is left)."""


class MessageRetentionJob:
    """The scheduler's job; idempotent, and harmless when two workers run it at once."""

    code = "messages.retention"
    opens_own_units_of_work = True

    def __init__(self, store: RetentionStore, keep: dt.timedelta, batch: int = 1000) -> None:
        self.store = store
        self.keep = keep
        self.batch = batch

    def run(self, ctx: RuleContext) -> int:
        cutoff = ctx.now - self.keep
        total = 0
        while True:
            deleted = self.store.purge_before(cutoff, self.batch)
            total += deleted
            if deleted < self.batch:
                return total


__all__ = ["MessageRetentionJob", "RetentionStore"]
