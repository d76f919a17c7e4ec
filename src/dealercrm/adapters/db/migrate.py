"""Schema migrations with Alembic, driven from code (``dealercrm db upgrade``).

The scripts live in ``migrations/versions``; they build the schema from empty on SQLite and
PostgreSQL. ``target_metadata()`` imports every module that defines tables so autogenerate
sees them all.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData

MIGRATIONS = Path(__file__).with_name("migrations")
_TABLE_MODULES = (
    "dealercrm.adapters.db.orm",
    "dealercrm.adapters.notify.sql_outbox",
    "dealercrm.adapters.db.workflow_tables",
    "dealercrm.adapters.db.engagement_tables",
    "dealercrm.adapters.db.orders_tables",
    "dealercrm.adapters.db.gate_tables",
    "dealercrm.adapters.db.credit_tables",
    "dealercrm.adapters.db.stock_tables",
    "dealercrm.adapters.db.supplied_parts_tables",
    "dealercrm.adapters.db.aftersales_tables",
    "dealercrm.adapters.db.customers_tables",
    "dealercrm.adapters.db.parts_catalog_tables",
    "dealercrm.adapters.db.parts_supply_tables",
    "dealercrm.adapters.db.care_tables",
    "dealercrm.adapters.db.marketing_tables",
    "dealercrm.adapters.db.learning_tables",
    "dealercrm.adapters.db.orderflow_tables",
    "dealercrm.adapters.db.web_sessions",
    "dealercrm.adapters.db.shared_state",
    "dealercrm.adapters.db.messages",
    "dealercrm.adapters.db.community",
)


def target_metadata() -> MetaData:
    from dealercrm.adapters.db.metadata import metadata

    for name in _TABLE_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return metadata


def _config(engine: Engine, connection) -> Config:  # type: ignore[no-untyped-def]
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    # DEFERRED begin on SQLite: DDL takes the write lock itself
    with engine.begin() as connection:
        command.upgrade(_config(engine, connection), revision)
    _after_upgrade(engine)


def _after_upgrade(engine: Engine) -> None:
    """Data the migrations cannot derive without application code: the segmented search words
    of the knowledge base, dealers and customers (migrations never import the application)."""
    from dealercrm.adapters.db import search_indexes

    with engine.begin() as connection:
        search_indexes.backfill_all(connection)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.downgrade(_config(engine, connection), revision)


def revision(engine: Engine, message: str) -> None:
    """Developer helper: autogenerate a new migration against an up-to-date database."""
    with engine.begin() as connection:
        command.revision(_config(engine, connection), message=message, autogenerate=True)


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str | None:
    """The newest revision among the migration scripts."""
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()
