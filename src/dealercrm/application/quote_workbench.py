"""Special configurations waiting for the factory's price (待核价) on the workbench: each is an
``approvals`` item of the people who issue quotes (admins, region managers within their regions),
aged from the dealer's request and linked to the page where the quote is issued."""

from __future__ import annotations

import datetime as dt

from dealercrm.application import orders
from dealercrm.application.ports.orders import QuoteRequestQueries
from dealercrm.application.ports.workbench import WorkbenchItem, WorkbenchSection
from dealercrm.domain.identity import Principal


class QuoteRequestsSource:
    """Workbench category ``approvals``: the quote requests the user may answer."""

    category = "approvals"

    def __init__(self, queries: QuoteRequestQueries) -> None:
        self.queries = queries

    def collect(self, principal: Principal, now: dt.datetime, limit: int) -> WorkbenchSection:
        count = orders.count_quote_requests(principal, self.queries)
        rows = orders.quote_requests(principal, self.queries, limit) if count and limit else []
        return WorkbenchSection(count=count, items=tuple(
            WorkbenchItem(id=f"quote-{r.order_id}", title=f"特殊配置核价：{r.order_no}",
                          summary=f"{r.dealer_name} · {r.template_name} × {r.quantity}", at=r.requested_at,
                          state="awaiting_quote", subject_type="quote_request", subject_id=str(r.order_id),
                          extra={"order_no": r.order_no, "dealer_id": r.dealer_id})
            for r in rows))
