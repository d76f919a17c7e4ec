"""The knowledge base's full-text index (issue 18 §8): Chinese segmented with jieba
(:mod:`dealercrm.adapters.search.chinese`), matched and ranked by the database.

One table, ``kb_search``, one row per article, holding the segmented words of its title, tags
and body:

* SQLite: an FTS5 virtual table (``rowid`` = article id), matched with ``MATCH`` and ranked
  with ``bm25`` (title × 10, tags × 5, body × 1);
* PostgreSQL: a table with a generated ``tsvector`` — ``to_tsvector('simple', …)`` of the
  segmented words, weighted A (title), B (tags), C (body) — under a GIN index, matched with
  ``@@ to_tsquery('simple', …)`` and ranked with ``ts_rank``. (Trigram matching is no substitute:
  it cannot match the two-character words 液压, 保养, 制动 that most queries are made of.)

The row is written in the same transaction as the article, by an ``after_flush`` listener, so
no use case can forget it; :func:`backfill` indexes the articles written before the index
existed (``migrate.upgrade`` runs it). ``kb_search`` is built by migration 0026 per engine and is
not in the mapped metadata (``UNMAPPED``), so schema comparisons skip it.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, event, func, inspect, literal_column, table, text
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from dealercrm.adapters.db.marketing_tables import kb_articles
from dealercrm.adapters.search.chinese import index_terms, query_terms

#: tables (and SQLite's FTS5 shadow tables) that exist in the database but not in the metadata
UNMAPPED = "kb_search"
WEIGHTS = (10.0, 5.0, 1.0)  # title, tags, body


def is_unmapped(name: str | None) -> bool:
    """The full-text index tables built by migrations, not mapped: ``kb_search`` and the
    community's ``community_search`` (and their FTS5 shadow tables)."""
    return any(bool(name) and (name == n or name.startswith(n + "_"))  # type: ignore[union-attr]
               for n in (UNMAPPED, "community_search"))


def _terms(title: str, tags: list[str] | tuple[str, ...], body: str) -> dict[str, str]:
    return {"title_terms": index_terms(title), "tags_terms": index_terms(" ".join(tags)),
            "body_terms": index_terms(body)}


def put(conn: Connection, article_id: int, title: str, tags: list[str] | tuple[str, ...], body: str) -> None:
    row = {"id": article_id, **_terms(title, tags, body)}
    if conn.dialect.name == "sqlite":
        conn.execute(text("DELETE FROM kb_search WHERE rowid = :id"), {"id": article_id})
        conn.execute(text("INSERT INTO kb_search (rowid, title_terms, tags_terms, body_terms) "
                          "VALUES (:id, :title_terms, :tags_terms, :body_terms)"), row)
    else:
        conn.execute(text("INSERT INTO kb_search (article_id, title_terms, tags_terms, body_terms) "
                          "VALUES (:id, :title_terms, :tags_terms, :body_terms) ON CONFLICT (article_id) DO UPDATE "
                          "SET title_terms = EXCLUDED.title_terms, tags_terms = EXCLUDED.tags_terms, "
                          "body_terms = EXCLUDED.body_terms"), row)


def _drop(conn: Connection, article_id: int) -> None:
    key = "rowid" if conn.dialect.name == "sqlite" else "article_id"
    conn.execute(text(f"DELETE FROM kb_search WHERE {key} = :id"), {"id": article_id})


def backfill(conn: Connection) -> int:
    """Index the articles that have no index row yet; returns how many."""
    key = "rowid" if conn.dialect.name == "sqlite" else "article_id"
    missing = conn.execute(text(
        f"SELECT a.id, a.title, a.tags, a.body FROM kb_articles a "
        f"WHERE NOT EXISTS (SELECT 1 FROM kb_search s WHERE s.{key} = a.id)")).all()
    for article_id, title, tags, body in missing:
        put(conn, article_id, title, _tag_list(tags), body)
    return len(missing)


def _tag_list(tags: Any) -> list[str]:
    if isinstance(tags, str):  # JSON read through text() on SQLite
        tags = json.loads(tags)
    return list(tags or [])


# --- keeping the index in step with the articles ---------------------------------------------------


def _after_flush(session: Session, _flush_context: Any) -> None:
    from dealercrm.domain.knowledge import Article

    changed = [a for a in (*session.new, *session.dirty) if isinstance(a, Article)]
    gone = [a for a in session.deleted if isinstance(a, Article)]
    if not (changed or gone):
        return
    conn = session.connection()
    for article in changed:
        if article in session.dirty and not _text_changed(article):
            continue
        put(conn, article.id, article.title, article.tags, article.body)  # type: ignore[arg-type]
    for article in gone:
        _drop(conn, article.id)  # type: ignore[arg-type]


def _text_changed(article: Any) -> bool:
    attrs = inspect(article).attrs
    return any(attrs[name].history.has_changes() for name in ("title", "tags", "body"))


def install() -> None:
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


# --- matching and ranking ----------------------------------------------------------------------------------


def match(dialect: str, keywords: list[str]) -> tuple[Any, ColumnElement[bool], ColumnElement[Any]] | None:
    """``(index table, join+match condition, order-by score)`` for ``keywords`` (each must match,
    with all its words), or None when they hold no searchable word — which finds nothing."""
    groups = [query_terms(k) for k in keywords]
    if not groups or not all(groups):
        return None
    words = list(dict.fromkeys(w for group in groups for w in group))
    if dialect == "sqlite":
        fts = table(UNMAPPED, literal_column("rowid"))
        expr = " AND ".join('"' + w + '"' for w in words)
        cond = (literal_column("kb_search.rowid") == kb_articles.c.id) & literal_column(UNMAPPED).op("MATCH")(expr)
        score = func.bm25(literal_column(UNMAPPED), *WEIGHTS)  # lower is better
        return fts, cond, score.asc()
    index = table(UNMAPPED, literal_column("article_id"), literal_column("document"))
    query = func.to_tsquery("simple", " & ".join(words))
    cond = (literal_column("kb_search.article_id") == kb_articles.c.id) & literal_column(
        "kb_search.document").op("@@")(query)
    return index, cond, func.ts_rank(literal_column("kb_search.document"), query).desc()


__all__ = ["UNMAPPED", "backfill", "install", "is_unmapped", "match", "put"]
