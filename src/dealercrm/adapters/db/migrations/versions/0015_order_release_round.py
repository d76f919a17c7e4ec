"""orders: release round (a 大委改 order is released as <order_no>-R<n> after a 退单)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 02:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('release_round', sa.Integer(), server_default=sa.text('1'), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('release_round')
