"""知识库: search and read the articles published for the reader (dealers see those marked for
dealers; product knowledge, solutions, regulations and technical standards), filters in the URL."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import Parameter
from litestar.response import Template

from dealercrm.application.services.marketing import MarketingService
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.knowledge import ArticleKind
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.layout import page

READERS = tuple(r for r in Role if r is not Role.KIOSK)
PAGE_SIZE = 20
KINDS = tuple((k.value, k.label) for k in ArticleKind)


def kind_label(code: Any) -> str:
    try:
        return ArticleKind(str(getattr(code, "value", code))).label
    except ValueError:
        return str(code)


class KnowledgePages(Controller):
    path = "/knowledge"

    @get("/", guards=[requires(*READERS)], sync_to_thread=True)
    def search(
        self, request: Request[Principal, Any, Any], marketing: MarketingService,
        q: Annotated[str | None, Parameter(max_length=200)] = None,
        kind: Annotated[str | None, Parameter(max_length=40)] = None,
        topic: Annotated[str | None, Parameter(max_length=60)] = None,
        before: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None,
    ) -> Template:
        error = None
        if kind and kind not in ArticleKind.__members__.values():
            error, kind = "未知的文章类型", None
        rows = marketing.search_articles(request.user, (q or "").strip() or None, kind=kind or None,
                                         topic=(topic or "").strip() or None, before_id=before,
                                         limit=PAGE_SIZE + 1)
        more = len(rows) > PAGE_SIZE
        rows = [{**r, "kind_label": kind_label(r["kind"])} for r in rows[:PAGE_SIZE]]
        return page(request, "knowledge.html", title="知识库", section="knowledge", crumbs=(("知识库", None),),
                    rows=rows, next_before=rows[-1]["id"] if more and rows else None,
                    topics=marketing.article_topics(request.user), kinds=KINDS, error=error,
                    query={"q": q or "", "kind": kind or "", "topic": topic or ""},
                    status_code=422 if error else 200)

    @get("/{article_id:int}", guards=[requires(*READERS)], sync_to_thread=True)
    def article(self, article_id: int, request: Request[Principal, Any, Any], marketing: MarketingService) -> Template:
        row = marketing.article(request.user, article_id)
        return page(request, "article.html", title=row["title"], section="knowledge",
                    crumbs=(("知识库", "/knowledge"), (row["title"], None)), article=row,
                    kind_label=kind_label(row["kind"]))
