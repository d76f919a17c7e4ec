"""Knowledge base (seed 000 §1.4 企业知识库, §4.7 知识库): articles organised by topic — FAQ,
problems and solutions, diagrams, user guides, sales and product material, service cases — with
attachments by reference, tags, product lines and an audience. Staff see everything; dealers and
service stations see published articles addressed to them. Every edit of the content is a new
version; earlier versions stay readable (revisions)."""

from __future__ import annotations

import datetime as dt
import enum

import attrs

from dealercrm.domain.errors import IllegalTransition, InvalidValue

MAX_TAGS = 20
MAX_ATTACHMENTS = 20


class ArticleKind(enum.StrEnum):
    FAQ = "faq"
    SOLUTION = "solution"
    DIAGRAM = "diagram"
    USER_GUIDE = "user_guide"
    SALES_MATERIAL = "sales_material"
    PRODUCT_MATERIAL = "product_material"
    CASE = "case"

    @property
    def label(self) -> str:
        return {"faq": "常见问题", "solution": "问题与解决方法", "diagram": "示意图", "user_guide": "产品用户指南",
                "sales_material": "销售资料", "product_material": "产品资料", "case": "客服案例"}[self.value]


class ArticleStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    UNPUBLISHED = "unpublished"

    @property
    def label(self) -> str:
        return {"draft": "草稿", "published": "已发布", "unpublished": "已下架"}[self.value]


class Readership(enum.StrEnum):
    DEALERS = "dealers"
    STATIONS = "stations"


PRODUCT_LINES = ("tanker", "dump_truck", "semi_trailer")


@attrs.frozen
class AttachmentRef:
    """A file stored elsewhere (document store, CDN): name and URL only."""

    name: str
    url: str


@attrs.define(slots=False, eq=False)
class ArticleRevision:
    revision: int
    title: str
    body: str
    tags: list[str]
    edited_at: dt.datetime
    edited_by_name: str
    article_id: int | None = None
    id: int | None = None


def clean_tags(tags: list[str] | tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for t in tags:
        t = t.strip()
        if not t or len(t) > 30 or "|" in t:
            raise InvalidValue("tags", "标签须为1到30字且不含“|”", code="article.tag_invalid")
        if t not in out:
            out.append(t)
    if len(out) > MAX_TAGS:
        raise InvalidValue("tags", f"标签最多{MAX_TAGS}个", code="article.too_many_tags")
    return out


def _lines(values: list[str] | tuple[str, ...]) -> list[str]:
    for v in values:
        if v not in PRODUCT_LINES:
            raise InvalidValue("product_lines", "产品线须为 tanker、dump_truck 或 semi_trailer",
                               code="product_line.unknown")
    return sorted(set(values))


def _audience(values: list[str] | tuple[str, ...]) -> tuple[bool, bool]:
    try:
        chosen = {Readership(v) for v in values}
    except ValueError:
        raise InvalidValue("audience", "受众须为 dealers 或 stations（不选即仅限内部员工）",
                           code="article.audience_unknown") from None
    return Readership.DEALERS in chosen, Readership.STATIONS in chosen


def _attachments(items: list[AttachmentRef] | tuple[AttachmentRef, ...]) -> list[dict[str, str]]:
    if len(items) > MAX_ATTACHMENTS:
        raise InvalidValue("attachments", f"附件最多{MAX_ATTACHMENTS}个", code="article.too_many_attachments")
    out = []
    for n, a in enumerate(items):
        if not a.name.strip() or len(a.name) > 200:
            raise InvalidValue(f"attachments[{n}].name", "附件名称须为1到200字", code="article.attachment_invalid")
        if not a.url.startswith(("https://", "http://", "/")) or len(a.url) > 500 or " " in a.url:
            raise InvalidValue(f"attachments[{n}].url", "附件地址须为网址或站内路径", code="article.attachment_invalid")
        out.append({"name": a.name.strip(), "url": a.url})
    return out


def _check(title: str, topic: str, body: str) -> None:
    if not title.strip() or len(title) > 200:
        raise InvalidValue("title", "标题须为1到200字", code="article.title_invalid")
    if not topic.strip() or len(topic) > 60:
        raise InvalidValue("topic", "主题须为1到60字", code="article.topic_invalid")
    if not body.strip() or len(body) > 100_000:
        raise InvalidValue("body", "正文不能为空且不超过10万字", code="article.body_invalid")


@attrs.define(slots=False, eq=False)
class Article:
    article_no: str
    title: str
    topic: str
    kind: ArticleKind
    body: str
    created_at: dt.datetime
    created_by_name: str
    attachments: list[dict[str, str]] = attrs.field(factory=list)
    tags: list[str] = attrs.field(factory=list)
    tags_text: str = ""  # "|tag1|tag2|": LIKE-searchable on both engines
    product_lines: list[str] = attrs.field(factory=list)
    lines_text: str = ""
    for_dealers: bool = False
    for_stations: bool = False
    status: ArticleStatus = ArticleStatus.DRAFT
    revision: int = 1
    revisions: list[ArticleRevision] = attrs.field(factory=list)
    published_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    updated_by_name: str | None = None
    version: int = 1
    id: int | None = None

    @classmethod
    def write(cls, *, article_no: str, title: str, topic: str, kind: str, body: str, tags: list[str],
              product_lines: list[str], audience: list[str], attachments: list[AttachmentRef], author: str,
              now: dt.datetime, publish: bool = False) -> Article:
        _check(title, topic, body)
        try:
            k = ArticleKind(kind)
        except ValueError:
            raise InvalidValue("kind", "类型须为：" + "、".join(m.value for m in ArticleKind),
                               code="article.kind_unknown") from None
        article = cls(article_no=article_no, title=title.strip(), topic=topic.strip(), kind=k, body=body,
                      created_at=now, created_by_name=author)
        article._set_meta(tags, product_lines, audience, attachments)
        article.revisions.append(ArticleRevision(1, article.title, body, list(article.tags), now, author))
        if publish:
            article.publish(now)
        return article

    def _set_meta(self, tags: list[str], product_lines: list[str], audience: list[str],
                  attachments: list[AttachmentRef]) -> None:
        self.tags = clean_tags(tags)
        self.tags_text = "|" + "|".join(t.lower() for t in self.tags) + "|" if self.tags else ""
        self.product_lines = _lines(product_lines)
        self.lines_text = "|" + "|".join(self.product_lines) + "|" if self.product_lines else ""
        self.for_dealers, self.for_stations = _audience(audience)
        self.attachments = _attachments(attachments)

    def edit(self, *, title: str | None, topic: str | None, kind: str | None, body: str | None,
             tags: list[str] | None, product_lines: list[str] | None, audience: list[str] | None,
             attachments: list[AttachmentRef] | None, author: str, now: dt.datetime) -> bool:
        """Apply the changes; a change of title, body or tags makes a new revision. Returns
        whether anything changed."""
        new_title = self.title if title is None else title.strip()
        new_topic = self.topic if topic is None else topic.strip()
        new_body = self.body if body is None else body
        _check(new_title, new_topic, new_body)
        new_tags = self.tags if tags is None else clean_tags(tags)
        content_changed = (new_title, new_body, new_tags) != (self.title, self.body, self.tags)
        before = (self.topic, self.kind, self.product_lines, self.for_dealers, self.for_stations, self.attachments)
        if kind is not None:
            try:
                self.kind = ArticleKind(kind)
            except ValueError:
                raise InvalidValue("kind", "类型未知", code="article.kind_unknown") from None
        self._set_meta(new_tags, self.product_lines if product_lines is None else product_lines,
                       audience if audience is not None else
                       [r.value for r, on in ((Readership.DEALERS, self.for_dealers),
                                              (Readership.STATIONS, self.for_stations)) if on],
                       [AttachmentRef(**a) for a in self.attachments] if attachments is None else attachments)
        self.title, self.topic, self.body = new_title, new_topic, new_body
        meta_changed = before != (self.topic, self.kind, self.product_lines, self.for_dealers, self.for_stations,
                                  self.attachments)
        if content_changed:
            self.revision += 1
            self.revisions.append(ArticleRevision(self.revision, self.title, self.body, list(self.tags), now, author))
        if content_changed or meta_changed:
            self.updated_at, self.updated_by_name = now, author
        return content_changed or meta_changed

    def publish(self, now: dt.datetime) -> None:
        if self.status is ArticleStatus.PUBLISHED:
            raise IllegalTransition("article", self.status.value, "publish")
        self.status, self.published_at, self.updated_at = ArticleStatus.PUBLISHED, now, now

    def unpublish(self, now: dt.datetime) -> None:
        if self.status is not ArticleStatus.PUBLISHED:
            raise IllegalTransition("article", self.status.value, "unpublish")
        self.status, self.updated_at = ArticleStatus.UNPUBLISHED, now


def search_terms(q: str | None) -> list[str]:
    """Keywords of a search box: split on white space, at most 8, each at most 50 characters.
    Every keyword must occur (in the title, the body or a tag)."""
    if not q:
        return []
    terms = [t for t in q.replace("\u3000", " ").split() if t][:8]
    if any(len(t) > 50 for t in terms):
        raise InvalidValue("q", "每个关键词不能超过50字", code="article.query_too_long")
    return [t.lower() for t in terms]
