"""Migration 0008 builds the dealer-stock tables on both engines exactly as mapped."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from dealercrm.adapters.db import migrate
from dealercrm.adapters.db.engine import make_engine

STOCK_TABLES = {"retail_sales", "retail_sale_payments", "dealer_stock_limits", "stock_ageing_policy", "stock_imports"}


def test_migrations_build_the_stock_schema_exactly_as_mapped(db_url):
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), migrate.target_metadata())
            tables = set(inspect(conn).get_table_names())
            vehicle_indexes = {i["name"] for i in inspect(conn).get_indexes("vehicles")}
    finally:
        engine.dispose()

    assert STOCK_TABLES <= tables
    assert "ix_vehicles_model_code_state_id" in vehicle_indexes
    assert diff == []
