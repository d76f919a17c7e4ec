"""The full-text indexes of dealers (``dealer_search``) and end customers (``customer_search``)
(issue 18 §8): the same mechanism as the knowledge base's
(:class:`~dealercrm.adapters.db.fulltext.FullTextIndex`) — jieba-segmented words, FTS5 + bm25 on
SQLite, a weighted ``tsvector`` + ``ts_rank`` on PostgreSQL, kept in step by the shared
``after_flush`` listener and backfilled by ``migrate.upgrade``. Migration 0033 builds them.

Weights: a name (legal name and short name for a dealer) counts ten times a place (province,
city, region or address), so 中原物流有限公司 ranks above a customer merely located in 中原路.
"""

from __future__ import annotations

from dealercrm.adapters.db.customers_tables import end_customers
from dealercrm.adapters.db.fulltext import FullTextIndex
from dealercrm.adapters.db.orm import dealers
from dealercrm.domain.channel import Dealer
from dealercrm.domain.customers import EndCustomer

WEIGHTS = (10.0, 1.0)  # name, place


def _join(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)


DEALERS = FullTextIndex(
    name="dealer_search", key="dealer_id", source=dealers, fields=("name_terms", "place_terms"), weights=WEIGHTS,
    texts=lambda r: (_join(r.legal_name, r.short_name), _join(r.province, r.city, r.region)),
    entity=Dealer, watched=("legal_name", "short_name", "address", "region"))

CUSTOMERS = FullTextIndex(
    name="customer_search", key="customer_id", source=end_customers, fields=("name_terms", "place_terms"),
    weights=WEIGHTS, texts=lambda r: (r.name, _join(r.province, r.city, r.address)),
    entity=EndCustomer, watched=("name", "province", "city", "address"))

__all__ = ["CUSTOMERS", "DEALERS"]
