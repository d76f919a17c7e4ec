"""Every full-text index the application keeps, in one list: the knowledge base's, the dealers'
and the end customers' (:class:`~dealercrm.adapters.db.fulltext.FullTextIndex`). One
``after_flush`` listener writes their rows in the same transaction as the source rows, so no use
case can forget them; ``migrate.upgrade`` backfills the rows written before an index existed or by
bulk Core inserts. (The community's ``community_search`` keeps its own rows.)"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, event, inspect
from sqlalchemy.orm import Session

from dealercrm.adapters.db.fulltext import FullTextIndex, reindex_flushed
from dealercrm.adapters.db.knowledge_search import INDEX as ARTICLES
from dealercrm.adapters.db.party_search import CUSTOMERS, DEALERS

INDEXES: tuple[FullTextIndex, ...] = (ARTICLES, DEALERS, CUSTOMERS)


def _after_flush(session: Session, _flush_context: Any) -> None:
    reindex_flushed(session, INDEXES)


def install() -> None:
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


def backfill_all(conn: Connection) -> dict[str, int]:
    """Backfill every index whose table exists; how many rows each indexed."""
    present = set(inspect(conn).get_table_names())
    return {i.name: i.backfill(conn) for i in INDEXES if i.name in present}


__all__ = ["INDEXES", "backfill_all", "install"]
