"""The port of the community (issue 21 §2): where posts, answers, likes and reports are kept and
how posts are searched (Chinese full text, the same engine as the knowledge base)."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import attrs

from dealercrm.domain.community import PostKind


@attrs.frozen
class PostRow:
    id: int
    kind: PostKind
    topic: str
    title: str
    body: str
    author_id: int
    author_name: str
    created_at: dt.datetime
    locked: bool
    hidden: bool
    accepted_answer_id: int | None
    answer_count: int = 0
    like_count: int = 0
    report_count: int = 0


@attrs.frozen
class AnswerRow:
    id: int
    post_id: int
    author_id: int
    author_name: str
    body: str
    created_at: dt.datetime
    hidden: bool
    article_id: int | None = None
    like_count: int = 0
    report_count: int = 0


class CommunityStore(Protocol):
    """Posts, answers, likes and reports. Every write is one transaction that has committed when
    the method returns; a write that raises has stored nothing. The search index is written in
    the same transaction as the text it indexes."""

    def add_post(self, kind: PostKind, topic: str, title: str, body: str, author_id: int, author_name: str,
                 now: dt.datetime) -> int: ...

    def post(self, post_id: int) -> PostRow | None: ...

    def posts(self, *, topic: str | None, query: str | None, include_hidden: bool, before_id: int | None,
              limit: int, reported_only: bool = False) -> list[PostRow]:
        """Newest first, ids below ``before_id``; ``query`` matched by the Chinese full-text index
        over the title, the body and the answers (a query with no searchable word finds nothing);
        ``reported_only``: posts reported themselves or through one of their answers."""

    def add_answer(self, post_id: int, author_id: int, author_name: str, body: str, now: dt.datetime) -> int:
        """Store the answer unless the post is locked or hidden in the meantime (then ``Conflict``)."""

    def answer(self, answer_id: int) -> AnswerRow | None: ...

    def answers(self, post_id: int, *, include_hidden: bool) -> list[AnswerRow]: ...

    def set_post_flags(self, post_id: int, *, locked: bool | None = None, hidden: bool | None = None) -> None: ...

    def set_answer_hidden(self, answer_id: int, hidden: bool) -> None: ...

    def accept(self, post_id: int, answer_id: int) -> None: ...

    def like(self, target: str, target_id: int, user_id: int, now: dt.datetime) -> int:
        """Record the like and return the new count; a second like by the same user is ``Conflict``."""

    def report(self, target: str, target_id: int, user_id: int, reason: str, now: dt.datetime) -> int: ...

    def set_article(self, answer_id: int, article_id: int) -> None: ...
