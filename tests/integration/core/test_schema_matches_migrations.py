"""The migrations build, on both engines, exactly the tables, columns, indexes and constraints
the adapters map: one comparison (alembic's autogenerate) of the migrated database with the
mapped metadata, per context, so a context whose tables vanish from both is caught too."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from dealercrm.adapters.db import care_tables, migrate
from dealercrm.adapters.db.engine import make_engine
from dealercrm.adapters.db.knowledge_search import is_unmapped

CONTEXT_TABLES = {
    "gate": {"vehicles", "vehicle_events", "pickup_authorizations", "gate_passes", "gate_exits", "kiosk_events",
             "shipments", "delivery_receipts", "pickup_receipts"},
    "stock": {"retail_sales", "retail_sale_payments", "dealer_stock_limits", "stock_ageing_policy", "stock_imports"},
    "supplied_parts": {"supplied_parts_ledgers", "supplied_part_items", "supplied_part_movements",
                       "supplied_part_photos"},
    "aftersales": {"service_stations", "service_warranty_policies", "service_warranties", "service_requests",
                   "service_request_events", "service_parts", "service_repair_records", "service_repair_parts",
                   "service_claims", "service_stock", "service_stock_movements", "service_technicians",
                   "service_maintenance_plans", "service_media", "service_repair_operations", "service_risk_config"},
    "marketing": {"trainings", "training_invitations", "training_participants", "kb_articles",
                  "kb_article_revisions", "sales_forecasts", "sales_forecast_lines", "key_accounts", "bid_cases",
                  "campaigns", "campaign_leads", "lead_follow_ups", "kb_reading_assignments", "kb_reads"},
    "care": care_tables.TABLES,
    "customers": {"end_customers", "customer_vehicles", "service_contracts"},
    "parts_catalog": {"template_parts", "part_substitutes"},
    "parts_supply": {"service_repair_bills", "parts_orders", "parts_transfers", "parts_stock_levels"},
    "erp_sync": {"erp_rejected_events"},
    "messages": {"conversations", "conversation_members", "messages", "message_attachments"},
}
CONTEXT_INDEXES = {"stock": {"vehicles": {"ix_vehicles_model_code_state_id"}}}


@pytest.mark.parametrize("context", sorted(CONTEXT_TABLES))
def test_migrations_build_the_schema_exactly_as_mapped(db_url, context):
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        with engine.connect() as conn:
            migration = MigrationContext.configure(conn, opts={
                "include_name": lambda name, type_, _parents: not (type_ == "table" and is_unmapped(name))})
            diff = compare_metadata(migration, migrate.target_metadata())
            tables = set(inspect(conn).get_table_names())
            indexes = {table: {i["name"] for i in inspect(conn).get_indexes(table)}
                       for table in CONTEXT_INDEXES.get(context, {})}
    finally:
        engine.dispose()

    assert CONTEXT_TABLES[context] <= tables
    assert all(names <= indexes[table] for table, names in CONTEXT_INDEXES.get(context, {}).items())
    assert diff == []
