"""staff badges on users, the guard on each gate exit, the last status report of each edge agent

Revision ID: 0018
Revises: 0016 (to be re-chained after 0017, the web sessions of another branch)
Create Date: 2026-12-06 15:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('badge_uid', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('badge_purpose', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('badge_enrolled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_badge_uid'), ['badge_uid'])

    with op.batch_alter_table('gate_exits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guard_user_id', _ID, nullable=True))
        batch_op.add_column(sa.Column('guard_badge', sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_gate_exits_guard_user_id_users'), 'users',
                                    ['guard_user_id'], ['id'])

    op.create_table('device_reports',
    sa.Column('device_id', _ID, nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['device_credentials.id'],
                            name=op.f('fk_device_reports_device_id_device_credentials')),
    sa.PrimaryKeyConstraint('device_id', name=op.f('pk_device_reports'))
    )


def downgrade() -> None:
    op.drop_table('device_reports')
    with op.batch_alter_table('gate_exits', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_gate_exits_guard_user_id_users'), type_='foreignkey')
        batch_op.drop_column('guard_badge')
        batch_op.drop_column('guard_user_id')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_badge_uid'), type_='unique')
        batch_op.drop_column('badge_enrolled_at')
        batch_op.drop_column('badge_purpose')
        batch_op.drop_column('badge_uid')
