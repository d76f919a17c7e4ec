"""产品配件展示 in the web UI (issue 18 §5): the parts master with prices and substitutes, and for a
chosen vehicle model the quantity of each part one vehicle carries. Read by every internal role,
dealers and stations; the lists are edited over the API by after-sales and technical staff."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.params import Parameter
from litestar.response import Template

from dealercrm.application.services.parts_catalog import READERS, PartsCatalogService
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.layout import page

PAGE_SIZE = 50


class PartsCatalogPages(Controller):
    path = "/parts-catalog"

    @get("/", guards=[requires(*READERS)], sync_to_thread=True)
    def catalog(self, request: Request[Principal, Any, Any], parts_catalog: PartsCatalogService,
                model_code: Annotated[str | None, Parameter(max_length=40)] = None,
                q: Annotated[str | None, Parameter(max_length=60)] = None,
                after: Annotated[str | None, Parameter(max_length=40)] = None) -> Template:
        errors: dict[str, str] = {}
        rows: list[dict[str, Any]] = []
        try:
            rows = parts_catalog.parts(request.user, model_code=model_code or None, q=q, after=after or None,
                                       limit=PAGE_SIZE + 1)
        except InvalidValue as exc:
            errors[exc.field or "model_code"] = exc.message
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        filters = {k: v for k, v in (("model_code", model_code), ("q", q)) if v}
        next_query = urlencode({**filters, "after": rows[-1]["part_no"]}) if more else None
        return page(request, "parts_catalog.html", title="产品配件展示", section="parts_catalog",
                    crumbs=(("产品配件展示", None),), rows=rows, models=parts_catalog.models(request.user),
                    values=filters, errors=errors, next_query=next_query, status_code=422 if errors else 200)
