"""The ERP sync as a scheduled job of ``dealercrm worker`` (and ``dealercrm erp-sync --once``):
pull the ERP event feed after the stored cursor and apply it (``application.erp_sync``). It
opens its own units of work (one per page), so the scheduler holds none around it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dealercrm.application.alerts import RuleContext
from dealercrm.application.erp_sync import ErpSyncReport, sync_erp_events
from dealercrm.application.ports.erp import ErpGateway, ErpUnavailable


def run_erp_sync(gateway: ErpGateway, target_factory: Callable[[], Any], *, page_size: int = 500,
                 max_pages: int = 100) -> ErpSyncReport:
    """One sync run; the target's unfinished page (an error) is rolled back, applied pages stay."""
    with target_factory() as target:
        return sync_erp_events(gateway, target, page_size=page_size, max_pages=max_pages)


class ErpSyncJob:
    code = "erp.sync"
    opens_own_units_of_work = True

    def __init__(self, gateway: ErpGateway, target_factory: Callable[[], Any], *, page_size: int = 500,
                 max_pages: int = 20, log: Callable[..., Any] | None = None) -> None:
        self.gateway = gateway
        self.target_factory = target_factory
        self.page_size = page_size
        self.max_pages = max_pages
        self.log = log

    def run(self, ctx: RuleContext) -> int:
        try:
            report = run_erp_sync(self.gateway, self.target_factory, page_size=self.page_size,
                                  max_pages=self.max_pages)
        except ErpUnavailable as exc:  # the ERP is down: the next pass continues from the cursor
            if self.log is not None:
                self.log("erp_sync_unavailable", error=exc.message)
            return 0
        return report.applied
