"""Migration 0006 builds the gate tables on both engines and matches the mapped tables."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from dealercrm.adapters.db import migrate
from dealercrm.adapters.db.engine import make_engine

GATE_TABLES = {"vehicles", "vehicle_events", "pickup_authorizations", "gate_passes", "gate_exits", "kiosk_events",
               "shipments", "delivery_receipts"}


def test_migrations_build_the_gate_schema_exactly_as_mapped(db_url):
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), migrate.target_metadata())
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()

    assert GATE_TABLES <= tables
    assert [d for d in diff if any(t in str(d) for t in GATE_TABLES)] == []
