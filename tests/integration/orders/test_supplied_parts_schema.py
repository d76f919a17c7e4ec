"""Migration 0009 builds the supplied-parts tables on both engines exactly as mapped."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from dealercrm.adapters.db import migrate
from dealercrm.adapters.db.engine import make_engine

TABLES = {"supplied_parts_ledgers", "supplied_part_items", "supplied_part_movements", "supplied_part_photos"}


def test_migrations_build_the_supplied_parts_schema_exactly_as_mapped(db_url):
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), migrate.target_metadata())
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()

    assert TABLES <= tables
    assert diff == []
