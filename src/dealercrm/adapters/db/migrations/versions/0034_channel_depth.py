"""dealer shareholders with their share and the abilities of shareholders and managers (seed 000 §2.1 2));
the credit grade of a credit account (§2.1 6)); the registration assessment checklist and findings (§2.1 4)); dealer growth plans (§二); the yearly marketing budget (§5 1))

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07 02:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None


_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('dealer_assessment_rules',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dealer_assessment_rules'))
    )
    op.create_table('marketing_budgets',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('budget_fen', sa.BigInteger(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=60), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_marketing_budgets'))
    )
    op.create_table('dealer_growth_plans',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('dealer_id', _ID, nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('vehicles', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('retail_vehicles', sa.Integer(), nullable=False),
    sa.Column('actions', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['dealer_id'], ['dealers.id'], name=op.f('fk_dealer_growth_plans_dealer_id_dealers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dealer_growth_plans')),
    sa.UniqueConstraint('dealer_id', 'year', name=op.f('uq_dealer_growth_plans_dealer_id_year'))
    )
    with op.batch_alter_table('dealers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assessment', sa.JSON(), server_default=sa.text("'{}'"), nullable=False))
    with op.batch_alter_table('dealer_contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('share_permille', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('abilities', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
    with op.batch_alter_table('credit_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_grade', sa.String(length=1), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('dealers', schema=None) as batch_op:
        batch_op.drop_column('assessment')
    op.drop_table('dealer_assessment_rules')
    op.drop_table('dealer_growth_plans')
    op.drop_table('marketing_budgets')
    with op.batch_alter_table('credit_accounts', schema=None) as batch_op:
        batch_op.drop_column('credit_grade')
    with op.batch_alter_table('dealer_contacts', schema=None) as batch_op:
        batch_op.drop_column('abilities')
        batch_op.drop_column('share_permille')
