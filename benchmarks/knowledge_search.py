"""Knowledge base search: our query (jieba segmentation of the keywords, FTS5 match and bm25 rank
over the segmented title/tags/body, reader scope, one page) against the same hand-written FTS5
query in raw ``sqlite3`` with the words already cut, on N articles; and, for reference, the
substring ``LIKE`` scan the search used before (which cannot find 液压举升 in "液压油……举升").

    .venv/bin/python benchmarks/knowledge_search.py [--articles 20000] [--queries 200] [--rounds 5]

Printed: median milliseconds per search (page of 20) for a frequent keyword (many hits), a rare
one, two keywords and an unspaced phrase; the raw FTS5 baseline and the ratio; the old LIKE scan.
Also the time to index the articles (segmentation included). Exits non-zero only if it could not run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

WORDS = ["呼吸阀", "密封圈", "液压", "举升", "制动", "轮胎", "保养", "罐体", "油泵", "气室", "牵引销", "鞍座", "轴承",
         "电路", "灯光", "油气回收", "防溢流", "阀门", "管路", "底盘"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=20_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    from sqlalchemy import insert

    from dealercrm.adapters.db import knowledge_search, migrate
    from dealercrm.adapters.search.chinese import query_terms
    from dealercrm.adapters.db.engine import make_engine
    from dealercrm.adapters.db.marketing_queries import SqlKnowledgeQueries
    from dealercrm.adapters.db.marketing_tables import kb_articles
    from dealercrm.domain.identity import Principal, Role

    tmp = Path(tempfile.mkdtemp(prefix="kb-bench-"))
    url = f"sqlite:///{tmp / 'kb.db'}"
    engine = make_engine(url, sqlite_synchronous="OFF")
    migrate.upgrade(engine)
    rng = random.Random(7)
    now = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    rows = []
    for n in range(args.articles):
        words = rng.sample(WORDS, 4)
        rare = "发动机异响" if n % 5000 == 0 else ""
        body = "。".join(f"检查{w}状态，必要时更换" for w in words) * 8 + rare
        tags = words[:2]
        rows.append({"article_no": f"KB-2026-{n:06d}", "title": f"{words[0]}常见问题{n}", "topic": "维修",
                     "kind": "faq", "body": body, "attachments": [], "tags": tags,
                     "tags_text": "|" + "|".join(tags) + "|", "product_lines": [], "lines_text": "",
                     "for_dealers": n % 2 == 0, "for_stations": False, "status": "published", "revision": 1,
                     "created_at": now, "created_by_name": "bench", "version": 1})
    with engine.begin() as conn:
        conn.execute(insert(kb_articles), rows)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        knowledge_search.backfill(conn)  # what the write path does per article, for all at once
    indexing = time.perf_counter() - t0
    queries = SqlKnowledgeQueries(engine)
    dealer = Principal(user_id=1, username="d", role=Role.DEALER, dealer_id=1)
    raw = sqlite3.connect(tmp / "kb.db", check_same_thread=False)
    raw_sql = ("SELECT id, article_no, title, topic, kind, tags, product_lines, for_dealers, for_stations, status, "
               "revision, published_at, updated_at, substr(body, 1, 160) FROM kb_articles "
               "WHERE status = 'published' AND for_dealers = 1 AND {cond} ORDER BY id DESC LIMIT 21")
    fts_sql = ("SELECT a.id, a.article_no, a.title, a.topic, a.kind, a.tags, a.product_lines, a.for_dealers, "
               "a.for_stations, a.status, a.revision, a.published_at, a.updated_at, substr(a.body, 1, 160) "
               "FROM kb_articles a JOIN kb_search ON kb_search.rowid = a.id "
               "WHERE a.status = 'published' AND a.for_dealers = 1 AND kb_search MATCH ? "
               "ORDER BY bm25(kb_search, 10.0, 5.0, 1.0), a.id DESC LIMIT 21")
    cases = {"frequent": ["呼吸阀"], "rare": ["发动机异响"], "two keywords": ["液压", "油泵"], "phrase": ["液压举升"]}
    print(f"indexed {args.articles} articles in {indexing:.1f} s ({indexing / args.articles * 1000:.2f} ms each, "
          "jieba segmentation included)")
    print(f"knowledge search over {args.articles} articles (dealer scope, page of 20), median ms per search")
    print(f"{'case':<14}{'dealercrm':>12}{'raw FTS5':>10}{'ratio':>8}{'hits':>7}{'old LIKE':>10}{'hits':>7}")
    for name, terms in cases.items():
        cond = " AND ".join("(lower(title) LIKE ? ESCAPE '\\' OR lower(body) LIKE ? ESCAPE '\\' "
                            "OR tags_text LIKE ? ESCAPE '\\')" for _ in terms)
        params = [p for t in terms for p in (f"%{t}%",) * 3]
        match = " AND ".join('"' + w + '"' for t in terms for w in query_terms(t))
        ours, base, old = [], [], []
        hits = old_hits = 0
        n = args.queries // args.rounds
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            for _ in range(n):
                hits = len(queries.search(dealer, terms=terms, limit=21))
            ours.append((time.perf_counter() - t0) / n)
            t0 = time.perf_counter()
            for _ in range(n):
                raw.execute(fts_sql, (match,)).fetchall()
            base.append((time.perf_counter() - t0) / n)
            t0 = time.perf_counter()
            for _ in range(n):
                old_hits = len(raw.execute(raw_sql.format(cond=cond), params).fetchall())
            old.append((time.perf_counter() - t0) / n)
        o, b, like = (statistics.median(x) * 1000 for x in (ours, base, old))
        print(f"{name:<14}{o:>12.2f}{b:>10.2f}{o / b:>8.2f}{hits:>7}{like:>10.2f}{old_hits:>7}")
    engine.dispose()
    raw.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
