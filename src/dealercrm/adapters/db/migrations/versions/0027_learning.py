"""learning: who read which knowledge article, required reading assigned to dealers or stations

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 17:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'kb_reading_assignments',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('article_id', _ID, nullable=False),
        sa.Column('readership', sa.String(length=32), nullable=False),
        sa.Column('target_ids', sa.JSON(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_name', sa.String(length=60), nullable=False),
        sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_kb_reading_assignments_article_id', 'kb_reading_assignments', ['article_id'])
    op.create_table(
        'kb_reads',
        sa.Column('id', _ID, autoincrement=True, nullable=False),
        sa.Column('article_id', _ID, nullable=False),
        sa.Column('user_id', _ID, nullable=False),
        sa.Column('dealer_id', _ID, nullable=True),
        sa.Column('station_id', _ID, nullable=True),
        sa.Column('first_read_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_read_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('read_count', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('article_id', 'user_id', name='uq_kb_reads_article_user'),
    )
    op.create_index('ix_kb_reads_user_id', 'kb_reads', ['user_id'])
    op.create_index('ix_kb_reads_article_last', 'kb_reads', ['article_id', 'last_read_at'])


def downgrade() -> None:
    op.drop_table('kb_reads')
    op.drop_table('kb_reading_assignments')
