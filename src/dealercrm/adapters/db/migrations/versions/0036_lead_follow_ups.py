"""lead follow-ups (跟进记录): one row per contact, conversion or loss of a campaign lead, with the
channel, the note and the next contact day; the lead keeps its next contact day for the "due" lists

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07 05:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None


_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('campaign_leads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_contact_on', sa.Date(), nullable=True))
        batch_op.create_index('ix_campaign_leads_next_contact_on_dealer_id', ['next_contact_on', 'dealer_id'],
                              unique=False)
    op.create_table('lead_follow_ups',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('lead_id', _ID, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by_user_id', _ID, nullable=True),
    sa.Column('by_name', sa.String(length=60), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('note', sa.String(length=1000), nullable=True),
    sa.Column('next_contact_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['by_user_id'], ['users.id'], name=op.f('fk_lead_follow_ups_by_user_id_users')),
    sa.ForeignKeyConstraint(['lead_id'], ['campaign_leads.id'], name=op.f('fk_lead_follow_ups_lead_id_campaign_leads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead_follow_ups'))
    )
    with op.batch_alter_table('lead_follow_ups', schema=None) as batch_op:
        batch_op.create_index('ix_lead_follow_ups_lead_id_id', ['lead_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('lead_follow_ups', schema=None) as batch_op:
        batch_op.drop_index('ix_lead_follow_ups_lead_id_id')
    op.drop_table('lead_follow_ups')
    with op.batch_alter_table('campaign_leads', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_leads_next_contact_on_dealer_id')
        batch_op.drop_column('next_contact_on')
