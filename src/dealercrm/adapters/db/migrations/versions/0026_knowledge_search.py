"""the knowledge base's full-text index: jieba-segmented words, FTS5 on SQLite, tsvector + GIN on PostgreSQL

Revision ID: 0026
Revises: 0020
Create Date: 2026-12-06 17:00:00.000000

The rows are written by the application (``adapters/db/knowledge_search.py``), which segments
the Chinese text; ``migrate.upgrade`` indexes the articles that exist already.
"""
from alembic import op


revision = '0026'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_context().dialect.name == 'sqlite':
        op.execute("CREATE VIRTUAL TABLE kb_search USING fts5(title_terms, tags_terms, body_terms, "
                   "tokenize='unicode61')")
        return
    op.execute("""
        CREATE TABLE kb_search (
            article_id BIGINT PRIMARY KEY REFERENCES kb_articles (id) ON DELETE CASCADE,
            title_terms TEXT NOT NULL,
            tags_terms TEXT NOT NULL,
            body_terms TEXT NOT NULL,
            document tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('simple', title_terms), 'A')
                || setweight(to_tsvector('simple', tags_terms), 'B')
                || setweight(to_tsvector('simple', body_terms), 'C')) STORED
        )""")
    op.execute("CREATE INDEX ix_kb_search_document ON kb_search USING GIN (document)")


def downgrade() -> None:
    op.execute("DROP TABLE kb_search")
