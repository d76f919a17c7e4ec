"""paid-repair bills, parts orders to the central warehouse, transfers between stations, station stock levels

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06 21:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('parts_orders',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('station_id', _ID, nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('total_fen', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_by', sa.String(length=60), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('waybill', sa.String(length=100), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_by', sa.String(length=60), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('total_fen >= 0', name=op.f('ck_parts_orders_total_not_negative')),
    sa.ForeignKeyConstraint(['station_id'], ['service_stations.id'], name=op.f('fk_parts_orders_station_id_service_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parts_orders')),
    sa.UniqueConstraint('number', name=op.f('uq_parts_orders_number'))
    )
    op.create_index('ix_parts_orders_state_id', 'parts_orders', ['state', 'id'], unique=False)
    op.create_index('ix_parts_orders_station_id_id', 'parts_orders', ['station_id', 'id'], unique=False)
    op.create_table('parts_stock_levels',
    sa.Column('station_id', _ID, nullable=False),
    sa.Column('part_no', sa.String(length=40), nullable=False),
    sa.Column('min_qty', sa.Integer(), nullable=False),
    sa.Column('max_qty', sa.Integer(), nullable=False),
    sa.CheckConstraint('min_qty >= 0 AND max_qty >= min_qty', name=op.f('ck_parts_stock_levels_levels')),
    sa.ForeignKeyConstraint(['part_no'], ['service_parts.part_no'], name=op.f('fk_parts_stock_levels_part_no_service_parts')),
    sa.ForeignKeyConstraint(['station_id'], ['service_stations.id'], name=op.f('fk_parts_stock_levels_station_id_service_stations')),
    sa.PrimaryKeyConstraint('station_id', 'part_no', name=op.f('pk_parts_stock_levels'))
    )
    op.create_table('parts_transfers',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('from_station_id', _ID, nullable=False),
    sa.Column('to_station_id', _ID, nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shipped_by', sa.String(length=60), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_by', sa.String(length=60), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('from_station_id <> to_station_id', name=op.f('ck_parts_transfers_two_stations')),
    sa.ForeignKeyConstraint(['from_station_id'], ['service_stations.id'], name=op.f('fk_parts_transfers_from_station_id_service_stations')),
    sa.ForeignKeyConstraint(['to_station_id'], ['service_stations.id'], name=op.f('fk_parts_transfers_to_station_id_service_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parts_transfers')),
    sa.UniqueConstraint('number', name=op.f('uq_parts_transfers_number'))
    )
    op.create_index('ix_parts_transfers_from_station_id_id', 'parts_transfers', ['from_station_id', 'id'], unique=False)
    op.create_index('ix_parts_transfers_to_station_id_id', 'parts_transfers', ['to_station_id', 'id'], unique=False)
    op.create_table('service_repair_bills',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('record_id', _ID, nullable=False),
    sa.Column('station_id', _ID, nullable=False),
    sa.Column('vin', sa.String(length=17), nullable=False),
    sa.Column('labour_fen', sa.Integer(), nullable=False),
    sa.Column('parts_fen', sa.Integer(), nullable=False),
    sa.Column('total_fen', sa.Integer(), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=60), nullable=False),
    sa.Column('customer_name', sa.String(length=100), nullable=True),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_by', sa.String(length=60), nullable=True),
    sa.Column('payment_note', sa.String(length=500), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('labour_fen >= 0 AND parts_fen >= 0 AND total_fen = labour_fen + parts_fen', name=op.f('ck_service_repair_bills_amounts')),
    sa.ForeignKeyConstraint(['record_id'], ['service_repair_records.id'], name=op.f('fk_service_repair_bills_record_id_service_repair_records')),
    sa.ForeignKeyConstraint(['station_id'], ['service_stations.id'], name=op.f('fk_service_repair_bills_station_id_service_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_repair_bills')),
    sa.UniqueConstraint('number', name=op.f('uq_service_repair_bills_number')),
    sa.UniqueConstraint('record_id', name=op.f('uq_service_repair_bills_record_id'))
    )
    op.create_index('ix_service_repair_bills_station_id_id', 'service_repair_bills', ['station_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_service_repair_bills_station_id_id', table_name='service_repair_bills')
    op.drop_table('service_repair_bills')
    op.drop_index('ix_parts_transfers_to_station_id_id', table_name='parts_transfers')
    op.drop_index('ix_parts_transfers_from_station_id_id', table_name='parts_transfers')
    op.drop_table('parts_transfers')
    op.drop_table('parts_stock_levels')
    op.drop_index('ix_parts_orders_station_id_id', table_name='parts_orders')
    op.drop_index('ix_parts_orders_state_id', table_name='parts_orders')
    op.drop_table('parts_orders')
