"""gate passes: index on valid_to (the guards' pass book asks for passes still valid every minute)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 02:30:00.000000
"""
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_gate_passes_valid_to', 'gate_passes', ['valid_to'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_gate_passes_valid_to', table_name='gate_passes')
