"""工作台: what waits for this user — every category the engagement service collects, with ages and
links to the decision pages — the coming days' calendar and the announcements."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.response import Template

from dealercrm.application.services.engagement import EngagementService
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import SHANGHAI
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.layout import fragment, page

PEOPLE = tuple(r for r in Role if r is not Role.KIOSK)
CALENDAR_DAYS = 14


def item_link(subject_type: str | None, subject_id: str | None, extra: dict[str, Any]) -> str | None:
    """The page where the user acts on a workbench item (None when the web UI has no page for it yet)."""
    if extra.get("step_id") is not None:
        return f"/tasks/{extra['step_id']}"
    if subject_type == "quote_request" and subject_id:
        return f"/factory/quotes/{subject_id}"
    if subject_type == "order" and subject_id:
        return f"/orders/{subject_id}"
    if subject_type == "announcement" and subject_id:
        return f"/announcements/{subject_id}"
    if subject_type == "training" and subject_id:
        return f"/trainings/{subject_id}"
    if subject_type == "shipment" and subject_id:
        return f"/stock/receipts/{subject_id}"
    if subject_type == "survey" and subject_id:
        return f"/dealer/surveys/{subject_id}"
    if subject_type == "lead" and subject_id:
        return f"/leads/{subject_id}" if extra.get("dealer_view") else f"/marketing/leads/{subject_id}"
    return None


class WorkbenchPages(Controller):
    path = "/"

    @get("/", guards=[requires(*PEOPLE)], sync_to_thread=True)
    def workbench(self, request: Request[Principal, Any, Any], engagement: EngagementService) -> Template:
        now = engagement.now()
        today = now.astimezone(SHANGHAI).date()
        view = engagement.workbench_with_calendar(request.user, today, today + dt.timedelta(days=CALENDAR_DAYS),
                                                  limit=8)
        categories = view.categories
        days: dict[dt.date, list[Any]] = {}
        for item in view.calendar:
            start = item.start
            day = start.astimezone(SHANGHAI).date() if isinstance(start, dt.datetime) else start
            days.setdefault(day, []).append(item)
        sections = [
            {"code": c.code, "label": c.label, "count": c.count, "unread": c.unread,
             "entries": [{"title": i.title, "summary": i.summary, "at": i.at, "due": i.due, "state": i.state,
                        "severity": i.severity, "unread": i.unread,
                        "age": (now - i.at).total_seconds() if i.at else None,
                        "link": item_link(i.subject_type, i.subject_id, i.extra)} for i in c.items]}
            for c in categories
        ]
        pending = sum(c["count"] for c in sections if c["code"] != "announcements")
        return page(request, "workbench.html", title="工作台", section="home", sections=sections,
                    days=sorted(days.items()), pending=pending, today=today)

    @get("/announcements/{announcement_id:int}", guards=[requires(*PEOPLE)], sync_to_thread=True)
    def announcement(self, announcement_id: int, request: Request[Principal, Any, Any],
                     engagement: EngagementService) -> Template:
        row = engagement.announcement(request.user, announcement_id)
        return page(request, "announcement.html", title=row["title"], section="home",
                    crumbs=(("公告", None),), announcement=row)

    @post("/announcements/{announcement_id:int}/read", guards=[requires(*PEOPLE)], status_code=200)
    async def mark_read(self, announcement_id: int, request: Request[Principal, Any, Any],
                        engagement: EngagementService) -> Template:
        """htmx: the read receipt; answers the receipt line that replaces the button."""
        read_at = await sync_to_thread(engagement.mark_announcement_read, request.user, announcement_id)
        return fragment("_read_receipt.html", read_at=read_at)
