"""audit trail: create rows recorded before this revision carry entity_id 0 (the flush hook read
the row's identity before the session had assigned it); where the created entity is the trail's
root (an order, a dealer, a claim…) its id is the root id, so set it. Rows of a child entity
(a workflow step under an order) keep 0: their id was never written down.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07 06:20:00.000000
"""
from alembic import op


revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE audit_log SET entity_id = root_id "
               "WHERE action = 'create' AND entity_id = 0 AND entity = root_entity AND root_id <> 0")


def downgrade() -> None:
    pass  # the ids set are true; nothing to undo
