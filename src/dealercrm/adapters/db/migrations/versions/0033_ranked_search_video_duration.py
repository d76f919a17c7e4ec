"""the dealers' and end customers' Chinese full-text indexes (dealer_search, customer_search: FTS5 on SQLite, a weighted tsvector under GIN on PostgreSQL, as kb_search); a video's duration on service_media

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 02:00:00.000000

The index rows are written by the application (``adapters/db/party_search.py``), which segments
the Chinese text with jieba; ``migrate.upgrade`` indexes the dealers and customers that exist
already (the backfill), as it does for kb_search.
"""
from alembic import op
import sqlalchemy as sa


revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None

_INDEXES = (('dealer_search', 'dealer_id', 'dealers'), ('customer_search', 'customer_id', 'end_customers'))


def upgrade() -> None:
    with op.batch_alter_table('service_media', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duration_ms', sa.BigInteger(), nullable=True))
    for name, key, source in _INDEXES:
        if op.get_context().dialect.name == 'sqlite':
            op.execute(f"CREATE VIRTUAL TABLE {name} USING fts5(name_terms, place_terms, tokenize='unicode61')")
            continue
        op.execute(f"""
            CREATE TABLE {name} (
                {key} BIGINT PRIMARY KEY REFERENCES {source} (id) ON DELETE CASCADE,
                name_terms TEXT NOT NULL,
                place_terms TEXT NOT NULL,
                document tsvector GENERATED ALWAYS AS (
                    setweight(to_tsvector('simple', name_terms), 'A')
                    || setweight(to_tsvector('simple', place_terms), 'B')) STORED
            )""")
        op.execute(f"CREATE INDEX ix_{name}_document ON {name} USING GIN (document)")


def downgrade() -> None:
    for name, _key, _source in _INDEXES:
        op.execute(f"DROP TABLE {name}")
    with op.batch_alter_table('service_media', schema=None) as batch_op:
        batch_op.drop_column('duration_ms')
