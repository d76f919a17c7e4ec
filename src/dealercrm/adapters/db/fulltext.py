"""Ranked Chinese full-text indexes (issue 18 §8), one mechanism for every searchable table:
the knowledge base (``kb_search``), dealers (``dealer_search``) and end customers
(``customer_search``).

An index holds, per source row, the jieba-segmented words (:mod:`dealercrm.adapters.search.chinese`)
of a few weighted fields:

* SQLite: an FTS5 virtual table (``rowid`` = the source row's id), matched with ``MATCH`` and
  ranked with ``bm25`` (one weight per field);
* PostgreSQL: a table keyed by the source id with a generated ``tsvector`` —
  ``setweight(to_tsvector('simple', <field>), 'A'|'B'|'C'|'D')`` by field order — under a GIN
  index, matched with ``@@ to_tsquery('simple', …)`` and ranked with ``ts_rank``. (Trigram
  matching cannot match the two-character words 液压, 保养, 制动 most queries are made of.)

The rows are written in the same transaction as the source row, by one ``after_flush`` listener
for every index whose source is a mapped entity (:mod:`dealercrm.adapters.db.search_indexes`), so no use case can forget
them; :meth:`FullTextIndex.backfill` indexes the rows written before the index existed or written
by bulk Core inserts (``migrate.upgrade`` runs it). The index tables are built by migrations per
engine and are not in the mapped metadata (:func:`is_unmapped`).

The query side is one shape for all: :meth:`FullTextIndex.hits` is a subquery ``(id, score)`` of
the rows holding every searched word, ``score`` ascending = best on both engines (bm25 is
negative, ``ts_rank`` is negated), which a read query joins (or outer-joins, when identifiers such
as a phone number may match too) and orders by.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs
from sqlalchemy import Connection, Table, func, inspect, literal_column, select, table, text
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select, Subquery

from dealercrm.adapters.search.chinese import index_terms, query_terms

_PG_WEIGHTS = "ABCD"


@attrs.frozen
class FullTextIndex:
    """One index: ``name`` (the index table), ``key`` (its id column on PostgreSQL), the ``source``
    table it indexes, its ``fields`` with their bm25 ``weights`` (PostgreSQL weighs them A, B, C, D
    in this order), and ``texts``: the texts of each field from a source row. When ``entity`` is
    set, the listener reindexes the rows of new entities and of those whose ``watched``
    attributes changed."""

    name: str
    key: str
    source: Table
    fields: tuple[str, ...]
    weights: tuple[float, ...]
    texts: Callable[[Any], Sequence[str]]
    entity: type | None = None
    watched: tuple[str, ...] = ()

    # --- writing -----------------------------------------------------------------------------------

    def put(self, conn: Connection, row_id: int, texts: Sequence[str]) -> None:
        """(Re)write the index row of one source row from the texts of its fields."""
        row = {"id": row_id, **{f: index_terms(t or "") for f, t in zip(self.fields, texts, strict=True)}}
        cols, values = ", ".join(self.fields), ", ".join(":" + f for f in self.fields)
        if conn.dialect.name == "sqlite":
            conn.execute(text(f"DELETE FROM {self.name} WHERE rowid = :id"), {"id": row_id})
            conn.execute(text(f"INSERT INTO {self.name} (rowid, {cols}) VALUES (:id, {values})"), row)
        else:
            updates = ", ".join(f"{f} = EXCLUDED.{f}" for f in self.fields)
            conn.execute(text(f"INSERT INTO {self.name} ({self.key}, {cols}) VALUES (:id, {values}) "
                              f"ON CONFLICT ({self.key}) DO UPDATE SET {updates}"), row)

    def drop(self, conn: Connection, row_id: int) -> None:
        conn.execute(text(f"DELETE FROM {self.name} WHERE {self._id(conn.dialect.name)} = :id"), {"id": row_id})

    def reindex(self, conn: Connection, ids: Iterable[int]) -> None:
        """Rewrite the index rows of these source rows from what the source table holds now."""
        wanted = list(ids)
        if wanted:
            for row in conn.execute(select(self.source).where(self.source.c.id.in_(wanted))):
                self.put(conn, row.id, self.texts(row))

    def backfill(self, conn: Connection) -> int:
        """Index the source rows that have no index row yet; returns how many."""
        indexed: Select[Any] = select(literal_column(self._id(conn.dialect.name))).select_from(table(self.name))
        missing = conn.execute(select(self.source).where(self.source.c.id.not_in(indexed))).all()
        for row in missing:
            self.put(conn, row.id, self.texts(row))
        return len(missing)

    def _id(self, dialect: str) -> str:
        return "rowid" if dialect == "sqlite" else self.key

    # --- matching and ranking ----------------------------------------------------------------------

    @staticmethod
    def words(keywords: Sequence[str]) -> list[str] | None:
        """The words that must all be in a row for it to match ``keywords`` (each keyword's words,
        segmented as the index was), or None when a keyword holds no searchable word at all."""
        groups = [query_terms(k) for k in keywords]
        if not groups or not all(groups):
            return None
        return list(dict.fromkeys(w for group in groups for w in group))

    @staticmethod
    def expression(dialect: str, words: Sequence[str]) -> str:
        """The engine's query for rows holding every word (words never carry query syntax)."""
        if dialect == "sqlite":
            return " AND ".join('"' + w + '"' for w in words)
        return " & ".join(words)

    def hits(self, dialect: str, expression: Any) -> Subquery:
        """``(id, score)`` of the rows matching ``expression`` (a string from :meth:`expression`, or a
        bind parameter carrying one); lower ``score`` is a better hit on both engines."""
        if dialect == "sqlite":
            fts = table(self.name, literal_column("rowid"))
            return (select(literal_column("rowid").label("id"),
                           func.bm25(literal_column(self.name), *self.weights).label("score"))
                    .select_from(fts).where(literal_column(self.name).op("MATCH")(expression))
                    .subquery(f"{self.name}_hits"))
        document: ColumnElement[Any] = literal_column(f"{self.name}.document")
        query = func.to_tsquery("simple", expression)
        return (select(literal_column(f"{self.name}.{self.key}").label("id"),
                       (-func.ts_rank(document, query)).label("score"))
                .select_from(table(self.name)).where(document.op("@@")(query))
                .subquery(f"{self.name}_hits"))


def is_unmapped(name: str | None) -> bool:
    """The full-text index tables built by migrations, not mapped: the registered indexes, the
    community's ``community_search``, and SQLite's FTS5 shadow tables of each."""
    names = ("kb_search", "dealer_search", "customer_search", "community_search")
    return bool(name) and any(name == n or name.startswith(n + "_") for n in names)  # type: ignore[union-attr]


def reindex_flushed(session: Session, indexes: Iterable[FullTextIndex]) -> None:
    """Bring ``indexes`` in step with what ``session`` just flushed (an ``after_flush`` listener's
    work): re-read the new and changed rows whose indexed text changed, drop the deleted ones."""
    for index in indexes:
        if index.entity is None:
            continue
        changed: list[Any] = [o for o in (*session.new, *session.dirty) if isinstance(o, index.entity)]
        gone: list[Any] = [o for o in session.deleted if isinstance(o, index.entity)]
        if not (changed or gone):
            continue
        conn = session.connection()
        # read back from the source table, now flushed: one way to get the texts for every entity shape
        index.reindex(conn, [o.id for o in changed if o not in session.dirty or _text_changed(o, index.watched)])
        for obj in gone:
            index.drop(conn, obj.id)


def _text_changed(obj: Any, watched: tuple[str, ...]) -> bool:
    attrs_ = inspect(obj).attrs
    return any(attrs_[name].history.has_changes() for name in watched)


__all__ = ["FullTextIndex", "is_unmapped", "reindex_flushed"]
