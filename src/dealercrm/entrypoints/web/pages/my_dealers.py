"""我的经销商: the regional manager's (and sales rep's) dealers — the list within their regions with
status and text filters in the URL, and each dealer's profile, contacts, agreements and
qualifications, with links to its credit page and its registration review."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import Parameter
from litestar.response import Template

from dealercrm.application.services.channel import ChannelService
from dealercrm.domain.channel import DealerStatus, ProductLine
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.layout import page

DEALER_KEEPERS = (Role.REGION_MANAGER, Role.SALES, Role.ADMIN)
PAGE_SIZE = 50
STATUS_CHOICES = tuple((s.value, s.label) for s in DealerStatus)


def _status(value: Any) -> DealerStatus:
    return DealerStatus(str(getattr(value, "value", value)))


def _plain(value: Any) -> Any:
    """A value object (Phone, Uscc, an enum) as the text people read."""
    inner = getattr(value, "value", value)
    return getattr(value, "label", inner) if hasattr(value, "label") else inner


def _line_label(code: str) -> str:
    try:
        return ProductLine(code).label
    except ValueError:
        return code


class MyDealerPages(Controller):
    path = "/my-dealers"

    @get("/", guards=[requires(*DEALER_KEEPERS)], sync_to_thread=True)
    def dealers(
        self, request: Request[Principal, Any, Any], channel: ChannelService,
        status: Annotated[str | None, Parameter(max_length=20)] = None,
        q: Annotated[str | None, Parameter(max_length=100)] = None,
        after: Annotated[int | None, Parameter(ge=0, le=2**63 - 1)] = None,
        at: Annotated[int, Parameter(ge=0, le=100_000)] = 0,
    ) -> Template:
        ranked = bool(q and q.strip())  # a search is ranked: its pages go by offset, not by id
        error = None
        if status and status not in DealerStatus.__members__.values():
            error, status = "未知的经销商状态", None
        rows = channel.list_dealers(request.user, status=status or None, text=(q or "").strip() or None,
                                    after_id=None if ranked else after, offset=at, limit=PAGE_SIZE + 1)
        more = len(rows) > PAGE_SIZE
        rows = [{**r, "status_label": _status(r["status"]).label, "status": _status(r["status"]).value}
                for r in rows[:PAGE_SIZE]]
        return page(request, "my_dealers.html", title="我的经销商", section="my_dealers",
                    crumbs=(("我的经销商", None),), rows=rows,
                    next_page=(f"at={at + PAGE_SIZE}" if ranked else f"after={rows[-1]['id']}") if more and rows else None,
                    query={"status": status or "", "q": q or ""}, states=STATUS_CHOICES, error=error,
                    status_code=422 if error else 200)

    @get("/{dealer_id:int}", guards=[requires(*DEALER_KEEPERS)], sync_to_thread=True)
    def dealer(self, dealer_id: int, request: Request[Principal, Any, Any], channel: ChannelService) -> Template:
        d = channel.dealer_detail(request.user, dealer_id)
        status = _status(d["status"])
        contacts = [{**c, "phone": _plain(c["phone"]), "kind": _plain(c["kind"])} for c in d["contacts"]]
        agreements = [{**{k: _plain(v) for k, v in a.items()},
                       "product_lines": [_line_label(p) for p in a["product_lines"]]} for a in d["agreements"]]
        return page(request, "my_dealer.html", title=d["legal_name"], section="my_dealers",
                    crumbs=(("我的经销商", "/my-dealers"), (d["legal_name"], None)), dealer=d, status=status,
                    uscc=_plain(d["uscc"]), contacts=contacts, agreements=agreements)
