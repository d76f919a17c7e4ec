"""The community (issue 21 §2): posts, answers, likes and reports — the tables and
``SqlCommunityStore``, the ``CommunityStore`` port on SQLAlchemy Core — and its Chinese full-text
index ``community_search``, built like the knowledge base's ``kb_search``
(:mod:`dealercrm.adapters.db.knowledge_search`): jieba-segmented words of a post's title and of
its body with its answers, an FTS5 table on SQLite and a weighted ``tsvector`` under GIN on
PostgreSQL. Migration 0031 builds it per engine; it is not in the mapped metadata."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    and_,
    func,
    insert,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from dealercrm.adapters.db.base import IdType, metadata
from dealercrm.adapters.db.core_store import CoreStore
from dealercrm.adapters.db.orm import users
from dealercrm.adapters.db.types import StrEnumType, UtcDateTime
from dealercrm.adapters.search.chinese import index_terms, query_terms
from dealercrm.application.ports.community import AnswerRow, PostRow
from dealercrm.domain.community import PostKind
from dealercrm.domain.errors import Conflict

community_posts = Table(
    "community_posts",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("kind", StrEnumType(PostKind), nullable=False),
    Column("topic", String(40), nullable=False),
    Column("title", String(80), nullable=False),
    Column("body", Text, nullable=False),
    Column("author_id", IdType, ForeignKey("users.id"), nullable=False),
    Column("author_name", String(60), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("locked", Boolean, nullable=False),
    Column("hidden", Boolean, nullable=False),
    Column("accepted_answer_id", IdType),  # no FK: answers point at posts already
    Index("ix_community_posts_topic_id", "topic", "id"),
)

community_answers = Table(
    "community_answers",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("post_id", IdType, ForeignKey("community_posts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("author_id", IdType, ForeignKey("users.id"), nullable=False),
    Column("author_name", String(60), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("hidden", Boolean, nullable=False),
    Column("article_id", IdType),
)

community_likes = Table(
    "community_likes",
    metadata,
    Column("target", String(10), nullable=False),  # post / answer
    Column("target_id", IdType, nullable=False),
    Column("user_id", IdType, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("target", "target_id", "user_id", name="pk_community_likes"),
)

community_reports = Table(
    "community_reports",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("target", String(10), nullable=False),
    Column("target_id", IdType, nullable=False),
    Column("reporter_id", IdType, ForeignKey("users.id"), nullable=False),
    Column("reason", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_community_reports_target", "target", "target_id"),
)

TABLES = {"community_posts", "community_answers", "community_likes", "community_reports"}
#: the full-text index (and SQLite's FTS5 shadow tables): in the database, not in the metadata
UNMAPPED = "community_search"

_p, _a, _l, _r = community_posts.c, community_answers.c, community_likes.c, community_reports.c


def _count(target: str, table: Table, column: str, id_col: Any) -> Any:
    c = table.c
    return (select(func.count()).where(c.target == target, c.target_id == id_col)
            .correlate_except(table).scalar_subquery().label(column))


def _post_columns() -> list[Any]:
    answers = (select(func.count()).where(_a.post_id == _p.id, _a.hidden.is_(False))
               .correlate_except(community_answers).scalar_subquery().label("answer_count"))
    return [community_posts, answers, _count("post", community_likes, "like_count", _p.id),
            _count("post", community_reports, "report_count", _p.id)]


def _post(r: RowMapping) -> PostRow:
    return PostRow(int(r["id"]), PostKind(r["kind"]), r["topic"], r["title"], r["body"], int(r["author_id"]),
                   r["author_name"], r["created_at"], bool(r["locked"]), bool(r["hidden"]), r["accepted_answer_id"],
                   int(r["answer_count"]), int(r["like_count"]), int(r["report_count"]))


def _answer(r: RowMapping) -> AnswerRow:
    return AnswerRow(int(r["id"]), int(r["post_id"]), int(r["author_id"]), r["author_name"], r["body"],
                     r["created_at"], bool(r["hidden"]), r["article_id"], int(r["like_count"]),
                     int(r["report_count"]))


def _answer_columns() -> list[Any]:
    return [community_answers, _count("answer", community_likes, "like_count", _a.id),
            _count("answer", community_reports, "report_count", _a.id)]


def _index(conn: Connection, post_id: int) -> None:
    """(Re)write the post's index row from its title, body and answers."""
    post = conn.execute(select(_p.title, _p.body).where(_p.id == post_id)).first()
    if post is None:
        return
    answers = conn.execute(select(_a.body).where(_a.post_id == post_id, _a.hidden.is_(False))).scalars()
    row = {"id": post_id, "title_terms": index_terms(post.title),
           "body_terms": index_terms(post.body, *answers)}
    if conn.dialect.name == "sqlite":
        conn.execute(text("DELETE FROM community_search WHERE rowid = :id"), {"id": post_id})
        conn.execute(text("INSERT INTO community_search (rowid, title_terms, body_terms) "
                          "VALUES (:id, :title_terms, :body_terms)"), row)
    else:
        conn.execute(text("INSERT INTO community_search (post_id, title_terms, body_terms) "
                          "VALUES (:id, :title_terms, :body_terms) ON CONFLICT (post_id) DO UPDATE "
                          "SET title_terms = EXCLUDED.title_terms, body_terms = EXCLUDED.body_terms"), row)


def _match(dialect: str, query: str) -> Any | None:
    """The condition that a post matches every word of ``query``, or None when it has none."""
    words = query_terms(query)
    if not words:
        return None
    if dialect == "sqlite":
        expr = " AND ".join('"' + w + '"' for w in words)
        return _p.id.in_(select(literal_column("rowid")).select_from(text(UNMAPPED)).where(
            literal_column(UNMAPPED).op("MATCH")(expr)))
    tsquery = func.to_tsquery("simple", " & ".join(words))
    return _p.id.in_(select(literal_column("post_id")).select_from(text(UNMAPPED)).where(
        literal_column("document").op("@@")(tsquery)))


def _display_name(conn: Connection, user_id: int, fallback: str) -> str:
    """The name the community shows: the person's display name (王经理·郑州宏达), else the login."""
    name = conn.execute(select(users.c.display_name).where(users.c.id == user_id)).scalar()
    return (name or fallback)[:60]


class SqlCommunityStore(CoreStore):
    """``CommunityStore`` on the database (SQLite or PostgreSQL)."""

    what = "the community"

    def add_post(self, kind: PostKind, topic: str, title: str, body: str, author_id: int, author_name: str,
                 now: dt.datetime) -> int:
        with self.writing() as conn:
            pid = int(conn.execute(insert(community_posts).values(
                kind=kind, topic=topic, title=title, body=body, author_id=author_id,
                author_name=_display_name(conn, author_id, author_name),
                created_at=now, locked=False, hidden=False).returning(_p.id)).scalar_one())
            _index(conn, pid)
            return pid

    def post(self, post_id: int) -> PostRow | None:
        return self.by_id(post_id, select(*_post_columns()).where(_p.id == post_id), _post)

    def posts(self, *, topic: str | None, query: str | None, include_hidden: bool, before_id: int | None,
              limit: int, reported_only: bool = False) -> list[PostRow]:
        q = select(*_post_columns())
        if reported_only:
            reported_answers = select(_a.post_id).join(community_reports, and_(
                _r.target == "answer", _r.target_id == _a.id))
            q = q.where(_p.id.in_(select(_r.target_id).where(_r.target == "post")) | _p.id.in_(reported_answers))
        if topic:
            q = q.where(_p.topic == topic)
        if not include_hidden:
            q = q.where(_p.hidden.is_(False))
        if before_id is not None:
            q = q.where(_p.id < before_id)
        if query:
            cond = _match(self._engine().dialect.name, query)
            if cond is None:
                return []
            q = q.where(cond)
        with self.reading() as conn:
            return [_post(r) for r in conn.execute(q.order_by(_p.id.desc()).limit(limit)).mappings()]

    def add_answer(self, post_id: int, author_id: int, author_name: str, body: str, now: dt.datetime) -> int:
        with self.writing() as conn:
            # the state check and the insert in one transaction: a post locked meanwhile takes no answer
            state = conn.execute(select(_p.locked, _p.hidden).where(_p.id == post_id).with_for_update()).first()
            if state is None or state.hidden or state.locked:
                raise Conflict("帖子已锁定，不能再回答", code="community.post_locked", current_state="locked")
            aid = int(conn.execute(insert(community_answers).values(
                post_id=post_id, author_id=author_id, author_name=_display_name(conn, author_id, author_name),
                body=body, created_at=now,
                hidden=False).returning(_a.id)).scalar_one())
            _index(conn, post_id)
            return aid

    def answer(self, answer_id: int) -> AnswerRow | None:
        return self.by_id(answer_id, select(*_answer_columns()).where(_a.id == answer_id), _answer)

    def answers(self, post_id: int, *, include_hidden: bool) -> list[AnswerRow]:
        q = select(*_answer_columns()).where(_a.post_id == post_id)
        if not include_hidden:
            q = q.where(_a.hidden.is_(False))
        with self.reading() as conn:
            return [_answer(r) for r in conn.execute(q.order_by(_a.id)).mappings()]

    def set_post_flags(self, post_id: int, *, locked: bool | None = None, hidden: bool | None = None) -> None:
        values = {k: v for k, v in (("locked", locked), ("hidden", hidden)) if v is not None}
        if values:
            with self.writing() as conn:
                conn.execute(update(community_posts).where(_p.id == post_id).values(**values))

    def set_answer_hidden(self, answer_id: int, hidden: bool) -> None:
        with self.writing() as conn:
            post_id = conn.execute(update(community_answers).where(_a.id == answer_id).values(hidden=hidden)
                                   .returning(_a.post_id)).scalar()
            if post_id is not None:
                if hidden:
                    conn.execute(update(community_posts).where(
                        _p.id == post_id, _p.accepted_answer_id == answer_id).values(accepted_answer_id=None))
                _index(conn, int(post_id))

    def accept(self, post_id: int, answer_id: int) -> None:
        with self.writing() as conn:
            done = conn.execute(update(community_posts).where(
                _p.id == post_id, (_p.accepted_answer_id.is_(None)) | (_p.accepted_answer_id == answer_id))
                .values(accepted_answer_id=answer_id)).rowcount
            if not done:
                raise Conflict("该提问已有采纳的答案", code="community.already_accepted", current_state="accepted")

    def like(self, target: str, target_id: int, user_id: int, now: dt.datetime) -> int:
        try:
            with self.writing() as conn:
                conn.execute(insert(community_likes).values(target=target, target_id=target_id, user_id=user_id,
                                                            created_at=now))
        except IntegrityError:
            raise Conflict("已经点过赞了", code="community.already_liked", current_state="liked") from None
        with self.reading() as conn:
            return int(conn.execute(select(func.count()).where(
                and_(_l.target == target, _l.target_id == target_id))).scalar_one())

    def report(self, target: str, target_id: int, user_id: int, reason: str, now: dt.datetime) -> int:
        with self.writing() as conn:
            return int(conn.execute(insert(community_reports).values(
                target=target, target_id=target_id, reporter_id=user_id, reason=reason, created_at=now)
                .returning(_r.id)).scalar_one())

    def set_article(self, answer_id: int, article_id: int) -> None:
        with self.writing() as conn:
            conn.execute(update(community_answers).where(_a.id == answer_id).values(article_id=article_id))


def is_unmapped(name: str | None) -> bool:
    return bool(name) and (name == UNMAPPED or name.startswith(UNMAPPED + "_"))  # type: ignore[union-attr]


__all__ = ["TABLES", "UNMAPPED", "SqlCommunityStore", "community_answers", "community_likes", "community_posts",
           "community_reports", "is_unmapped"]
