"""claim risk: a risk score and reasons on each claim, repair operations with standard hours, the risk config

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 18:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('service_repair_operations',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('standard_centihours', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('standard_centihours > 0', name=op.f('ck_service_repair_operations_standard_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_repair_operations')),
    sa.UniqueConstraint('code', name=op.f('uq_service_repair_operations_code'))
    )
    op.create_table('service_risk_config',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=60), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_risk_config'))
    )
    with op.batch_alter_table('service_repair_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('operation_code', sa.String(length=20), nullable=True))
    # Claims submitted before scoring existed: no score, not flagged, no reasons.
    with op.batch_alter_table('service_claims', schema=None) as batch_op:
        batch_op.add_column(sa.Column('risk_score', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('risk_flagged', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('risk_reasons', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('risk_skipped', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table('service_claims', schema=None) as batch_op:
        batch_op.drop_column('risk_skipped')
        batch_op.drop_column('risk_reasons')
        batch_op.drop_column('risk_flagged')
        batch_op.drop_column('risk_score')
    with op.batch_alter_table('service_repair_records', schema=None) as batch_op:
        batch_op.drop_column('operation_code')
    op.drop_table('service_risk_config')
    op.drop_table('service_repair_operations')
