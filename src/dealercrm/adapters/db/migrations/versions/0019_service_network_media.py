"""service network and repair media: station coordinates, technicians, dispatch to a technician,
maintenance plans, and media rows (the repair records' free-text photo references become
``link`` media rows); the dealer's receipts of self-picked-up vehicles

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 17:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


# Only native ALTERs on tables other tables reference (stations, requests, repair records): a
# batch rebuild on SQLite drops the old table, which foreign keys refuse once rows refer to it.


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.add_column('service_stations', sa.Column('latitude', sa.Float(), nullable=True))
    op.add_column('service_stations', sa.Column('longitude', sa.Float(), nullable=True))
    op.create_index('ix_service_stations_latitude_longitude', 'service_stations', ['latitude', 'longitude'],
                    unique=False)

    op.create_table('service_technicians',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('station_id', _ID, nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=False),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['service_stations.id'],
                            name=op.f('fk_service_technicians_station_id_service_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_technicians'))
    )
    with op.batch_alter_table('service_technicians', schema=None) as batch_op:
        batch_op.create_index('ix_service_technicians_station_id_active', ['station_id', 'active'], unique=False)

    op.create_table('service_maintenance_plans',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('vin', sa.String(length=17), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('interval_days', sa.Integer(), nullable=True),
    sa.Column('interval_km', sa.Integer(), nullable=True),
    sa.Column('last_done_on', sa.Date(), nullable=False),
    sa.Column('last_done_km', sa.Integer(), nullable=True),
    sa.Column('next_due_on', sa.Date(), nullable=True),
    sa.Column('next_due_km', sa.Integer(), nullable=True),
    sa.Column('remind_days_ahead', sa.Integer(), nullable=False),
    sa.Column('dealer_id', _ID, nullable=True),
    sa.Column('station_id', _ID, nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('interval_days IS NOT NULL OR interval_km IS NOT NULL',
                       name=op.f('ck_service_maintenance_plans_has_interval')),
    sa.ForeignKeyConstraint(['dealer_id'], ['dealers.id'], name=op.f('fk_service_maintenance_plans_dealer_id_dealers')),
    sa.ForeignKeyConstraint(['station_id'], ['service_stations.id'],
                            name=op.f('fk_service_maintenance_plans_station_id_service_stations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_maintenance_plans'))
    )
    with op.batch_alter_table('service_maintenance_plans', schema=None) as batch_op:
        batch_op.create_index('ix_service_maintenance_plans_active_next_due_on', ['active', 'next_due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_maintenance_plans_vin'), ['vin'], unique=False)

    media = op.create_table('service_media',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('owner_type', sa.String(length=32), nullable=False),
    sa.Column('owner_id', _ID, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('content_type', sa.String(length=40), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('thumbnail_sha256', sa.String(length=64), nullable=True),
    sa.Column('caption', sa.String(length=200), nullable=True),
    sa.Column('legacy_ref', sa.String(length=500), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by', sa.String(length=60), nullable=False),
    sa.CheckConstraint("kind = 'link' OR sha256 IS NOT NULL", name=op.f('ck_service_media_has_content')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_media'))
    )
    with op.batch_alter_table('service_media', schema=None) as batch_op:
        batch_op.create_index('ix_service_media_owner_type_owner_id', ['owner_type', 'owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_media_sha256'), ['sha256'], unique=False)

    if sqlite:
        op.execute('ALTER TABLE service_requests ADD COLUMN technician_id INTEGER '
                   'CONSTRAINT fk_service_requests_technician_id_service_technicians '
                   'REFERENCES service_technicians (id)')
    else:
        op.add_column('service_requests', sa.Column('technician_id', _ID, nullable=True))
        op.create_foreign_key(op.f('fk_service_requests_technician_id_service_technicians'), 'service_requests',
                              'service_technicians', ['technician_id'], ['id'])

    op.create_table('pickup_receipts',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('receipt_no', sa.String(length=30), nullable=False),
    sa.Column('gate_pass_id', _ID, nullable=False),
    sa.Column('dealer_id', _ID, nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('extra_vins', sa.JSON(), nullable=False),
    sa.Column('discrepancies', sa.JSON(), nullable=False),
    sa.Column('receiver_name', sa.String(length=30), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['dealer_id'], ['dealers.id'], name=op.f('fk_pickup_receipts_dealer_id_dealers')),
    sa.ForeignKeyConstraint(['gate_pass_id'], ['gate_passes.id'], name=op.f('fk_pickup_receipts_gate_pass_id_gate_passes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pickup_receipts')),
    sa.UniqueConstraint('gate_pass_id', name=op.f('uq_pickup_receipts_gate_pass_id')),
    sa.UniqueConstraint('receipt_no', name=op.f('uq_pickup_receipts_receipt_no'))
    )
    with op.batch_alter_table('pickup_receipts', schema=None) as batch_op:
        batch_op.create_index('ix_pickup_receipts_dealer_id_id', ['dealer_id', 'id'], unique=False)

    # The free-text photo references of the repair records become link media of the record.
    records = sa.table('service_repair_records', sa.column('id', _ID), sa.column('photos', sa.JSON()),
                       sa.column('recorded_at', sa.DateTime(timezone=True)), sa.column('recorded_by', sa.String()))
    conn = op.get_bind()
    rows = []
    for rid, photos, at, by in conn.execute(sa.select(records.c.id, records.c.photos, records.c.recorded_at,
                                                      records.c.recorded_by)):
        for ref in photos or []:
            if isinstance(ref, str) and ref.strip():
                rows.append({'owner_type': 'repair_record', 'owner_id': rid, 'kind': 'link', 'size_bytes': 0,
                             'legacy_ref': ref.strip()[:500], 'uploaded_at': at, 'uploaded_by': by})
    if rows:
        op.bulk_insert(media, rows)
    if sqlite:
        op.execute('ALTER TABLE service_repair_records DROP COLUMN photos')  # SQLite >= 3.35
    else:
        op.drop_column('service_repair_records', 'photos')


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.add_column('service_repair_records', sa.Column('photos', sa.JSON(), nullable=False, server_default='[]'))
    conn = op.get_bind()
    media = sa.table('service_media', sa.column('owner_type', sa.String()), sa.column('owner_id', _ID),
                     sa.column('kind', sa.String()), sa.column('legacy_ref', sa.String()), sa.column('id', _ID))
    records = sa.table('service_repair_records', sa.column('id', _ID), sa.column('photos', sa.JSON()))
    refs: dict[int, list[str]] = {}
    for owner_id, ref in conn.execute(sa.select(media.c.owner_id, media.c.legacy_ref).where(
            media.c.owner_type == 'repair_record', media.c.kind == 'link').order_by(media.c.id)):
        refs.setdefault(owner_id, []).append(ref)
    for rid, photos in refs.items():
        conn.execute(records.update().where(records.c.id == rid).values(photos=photos))
    if sqlite:
        op.execute('ALTER TABLE service_requests DROP COLUMN technician_id')
    else:
        op.drop_constraint(op.f('fk_service_requests_technician_id_service_technicians'), 'service_requests',
                           type_='foreignkey')
        op.drop_column('service_requests', 'technician_id')
    op.drop_table('pickup_receipts')
    op.drop_table('service_media')
    op.drop_table('service_maintenance_plans')
    op.drop_table('service_technicians')
    op.drop_index('ix_service_stations_latitude_longitude', table_name='service_stations')
    if sqlite:
        op.execute('ALTER TABLE service_stations DROP COLUMN longitude')
        op.execute('ALTER TABLE service_stations DROP COLUMN latitude')
    else:
        op.drop_column('service_stations', 'longitude')
        op.drop_column('service_stations', 'latitude')
