"""Migration 0013's downgrade takes the marketing tables away again. (Schema vs mapping:
tests/integration/core/test_schema_matches_migrations.py.)"""

from __future__ import annotations

from sqlalchemy import inspect

from dealercrm.adapters.db import migrate
from dealercrm.adapters.db.engine import make_engine

MARKETING_TABLES = {"trainings", "training_invitations", "training_participants", "kb_articles",
                    "kb_article_revisions", "sales_forecasts", "sales_forecast_lines", "key_accounts", "bid_cases",
                    "campaigns", "campaign_leads"}


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
