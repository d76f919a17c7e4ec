"""Migration 0013 builds the marketing tables on both engines exactly as mapped, and takes them
away again on downgrade."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from dealercrm.adapters.db import migrate
from dealercrm.adapters.db.engine import make_engine

MARKETING_TABLES = {"trainings", "training_invitations", "training_participants", "kb_articles",
                    "kb_article_revisions", "sales_forecasts", "sales_forecast_lines", "key_accounts", "bid_cases",
                    "campaigns", "campaign_leads"}


def test_migrations_build_the_marketing_schema_exactly_as_mapped(db_url):
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), migrate.target_metadata())
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()

    assert MARKETING_TABLES <= tables
    assert [d for d in diff if any(t in str(d) for t in MARKETING_TABLES)] == []


def test_downgrade_removes_the_marketing_tables(db_url):
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        migrate.downgrade(engine, "0012")
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
        migrate.upgrade(engine)
        with engine.connect() as conn:
            again = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()

    assert tables & MARKETING_TABLES == set()
    assert MARKETING_TABLES <= again
