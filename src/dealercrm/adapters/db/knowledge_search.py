"""The knowledge base's full-text index (issue 18 §8): Chinese segmented with jieba
(:mod:`dealercrm.adapters.search.chinese`), matched and ranked by the database through the
shared :class:`~dealercrm.adapters.db.fulltext.FullTextIndex` (dealers and customers use the same).

One table, ``kb_search``, one row per article, holding the segmented words of its title, tags
and body: FTS5 + ``bm25`` on SQLite (title × 10, tags × 5, body × 1), a weighted ``tsvector``
(A title, B tags, C body) under GIN + ``ts_rank`` on PostgreSQL. The row is written in the same
transaction as the article by the shared ``after_flush`` listener; :func:`backfill` indexes the
articles written before the index existed (``migrate.upgrade`` runs it). ``kb_search`` is built
by migration 0026 per engine and is not in the mapped metadata (``is_unmapped``).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import ColumnElement

from dealercrm.adapters.db.fulltext import FullTextIndex, is_unmapped
from dealercrm.adapters.db.marketing_tables import kb_articles
from dealercrm.domain.knowledge import Article

UNMAPPED = "kb_search"
WEIGHTS = (10.0, 5.0, 1.0)  # title, tags, body


def _tag_list(tags: Any) -> list[str]:
    if isinstance(tags, str):  # JSON read through text() on SQLite
        tags = json.loads(tags)
    return list(tags or [])


INDEX = FullTextIndex(
    name=UNMAPPED, key="article_id", source=kb_articles, fields=("title_terms", "tags_terms", "body_terms"),
    weights=WEIGHTS, texts=lambda r: (r.title, " ".join(_tag_list(r.tags)), r.body),
    entity=Article, watched=("title", "tags", "body"))


def put(conn: Connection, article_id: int, title: str, tags: list[str] | tuple[str, ...], body: str) -> None:
    INDEX.put(conn, article_id, (title, " ".join(tags), body))


def backfill(conn: Connection) -> int:
    """Index the articles that have no index row yet; returns how many."""
    return INDEX.backfill(conn)


def match(dialect: str, keywords: list[str]) -> tuple[Any, ColumnElement[bool], ColumnElement[Any]] | None:
    """``(hits, join condition, order-by score)`` for ``keywords`` (each must match, with all its
    words), or None when they hold no searchable word — which finds nothing."""
    words = INDEX.words(keywords)
    if words is None:
        return None
    hits = INDEX.hits(dialect, INDEX.expression(dialect, words))
    return hits, hits.c.id == kb_articles.c.id, hits.c.score.asc()


__all__ = ["INDEX", "UNMAPPED", "backfill", "is_unmapped", "match", "put"]
