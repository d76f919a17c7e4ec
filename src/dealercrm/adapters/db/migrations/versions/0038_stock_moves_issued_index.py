"""service_stock_movements: an index on (station_id, part_no, kind, at), so the parts-stock
statistics' slow movers (parts not issued, sold or sent away since a day) are read from the index
alone instead of the table in the order of the (station_id, part_no, id) index: 0.76 → 0.17 s over
400,000 moves (benchmarks/dashboards.py).

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-07 10:10:00.000000
"""
from alembic import op


revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_service_stock_movements_station_id_part_no_kind_at", "service_stock_movements",
                    ["station_id", "part_no", "kind", "at"])


def downgrade() -> None:
    op.drop_index("ix_service_stock_movements_station_id_part_no_kind_at", table_name="service_stock_movements")
