"""Knowledge base use cases (seed 000 §1.4, §4.7): marketing, after-sales, technical staff and
administrators write, edit (versioned), publish and unpublish articles; everyone searches what
they may read — staff everything, dealers and stations the published articles for them."""

from __future__ import annotations

import attrs

from dealercrm.application.access import not_found, require_role
from dealercrm.application.ports.marketing import KnowledgeUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.knowledge import Article, AttachmentRef
from dealercrm.domain.values import SHANGHAI, stored_id

EDITORS = (Role.MARKETING, Role.AFTER_SALES, Role.TECHNICAL, Role.ADMIN)


@attrs.frozen
class WriteArticle:
    title: str
    topic: str
    kind: str
    body: str
    tags: tuple[str, ...] = ()
    product_lines: tuple[str, ...] = ()
    audience: tuple[str, ...] = ()  # dealers / stations; empty: staff only
    attachments: tuple[AttachmentRef, ...] = ()
    publish: bool = False


@attrs.frozen
class EditArticle:
    article_id: int
    title: str | None = None
    topic: str | None = None
    kind: str | None = None
    body: str | None = None
    tags: tuple[str, ...] | None = None
    product_lines: tuple[str, ...] | None = None
    audience: tuple[str, ...] | None = None
    attachments: tuple[AttachmentRef, ...] | None = None


@attrs.frozen
class ArticleRef:
    id: int
    article_no: str
    revision: int
    status: str


def _ref(a: Article) -> ArticleRef:
    return ArticleRef(stored_id(a.id), a.article_no, a.revision, a.status.value)


def write_article(cmd: WriteArticle, uow: KnowledgeUnitOfWork, clock: Clock) -> ArticleRef:
    require_role(uow.actor, *EDITORS)
    now = clock()
    with uow:
        article = Article.write(
            article_no=uow.numbers.formatted("KB", year=now.astimezone(SHANGHAI).year), title=cmd.title,
            topic=cmd.topic, kind=cmd.kind, body=cmd.body, tags=list(cmd.tags), product_lines=list(cmd.product_lines),
            audience=list(cmd.audience), attachments=list(cmd.attachments), author=uow.actor.username, now=now,
            publish=cmd.publish,
        )
        uow.articles.add(article)
        uow.flush()
        ref = _ref(article)
        uow.commit()
    return ref


def edit_article(cmd: EditArticle, uow: KnowledgeUnitOfWork, clock: Clock) -> ArticleRef:
    require_role(uow.actor, *EDITORS)
    with uow:
        article = uow.articles.get(cmd.article_id)
        if article is None:
            raise not_found("article", "知识文章")
        article.edit(title=cmd.title, topic=cmd.topic, kind=cmd.kind, body=cmd.body,
                     tags=None if cmd.tags is None else list(cmd.tags),
                     product_lines=None if cmd.product_lines is None else list(cmd.product_lines),
                     audience=None if cmd.audience is None else list(cmd.audience),
                     attachments=None if cmd.attachments is None else list(cmd.attachments),
                     author=uow.actor.username, now=clock())
        uow.flush()
        ref = _ref(article)
        uow.commit()
    return ref


def set_published(article_id: int, published: bool, uow: KnowledgeUnitOfWork, clock: Clock) -> ArticleRef:
    require_role(uow.actor, *EDITORS)
    with uow:
        article = uow.articles.get(article_id)
        if article is None:
            raise not_found("article", "知识文章")
        (article.publish if published else article.unpublish)(clock())
        uow.flush()
        ref = _ref(article)
        uow.commit()
    return ref


def readership(principal: Principal) -> str | None:
    """``None`` for staff (everything), else which audience flag the caller reads by."""
    if principal.role is Role.DEALER:
        return "dealers"
    if principal.role is Role.STATION:
        return "stations"
    if principal.role is Role.KIOSK:
        return "nobody"
    return None
