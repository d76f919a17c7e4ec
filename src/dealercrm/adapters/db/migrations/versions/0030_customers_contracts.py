"""end customers, their vehicles and service contracts; the contract check on service requests; parts fitment per model and substitutes; the production status of stocked orders

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06 20:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('end_customers',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('dealer_id', _ID, nullable=True),
    sa.Column('province', sa.String(length=60), nullable=True),
    sa.Column('city', sa.String(length=60), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['dealer_id'], ['dealers.id'], name=op.f('fk_end_customers_dealer_id_dealers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_end_customers')),
    sa.UniqueConstraint('number', name=op.f('uq_end_customers_number'))
    )
    op.create_index('ix_end_customers_dealer_id_id', 'end_customers', ['dealer_id', 'id'], unique=False)
    op.create_index(op.f('ix_end_customers_phone'), 'end_customers', ['phone'], unique=False)
    op.create_table('customer_vehicles',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('customer_id', _ID, nullable=False),
    sa.Column('vin', sa.String(length=17), nullable=False),
    sa.Column('since', sa.Date(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('added_by', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['end_customers.id'],
                            name=op.f('fk_customer_vehicles_customer_id_end_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_vehicles')),
    sa.UniqueConstraint('vin', name=op.f('uq_customer_vehicles_vin'))
    )
    op.create_index(op.f('ix_customer_vehicles_customer_id'), 'customer_vehicles', ['customer_id'], unique=False)
    op.create_table('service_contracts',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('customer_id', _ID, nullable=False),
    sa.Column('vin', sa.String(length=17), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('coverage', sa.JSON(), nullable=False),
    sa.Column('terms', sa.Text(), nullable=False),
    sa.Column('price_fen', sa.Integer(), nullable=False),
    sa.Column('km_limit', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_service_contracts_period')),
    sa.CheckConstraint('price_fen >= 0', name=op.f('ck_service_contracts_price_not_negative')),
    sa.ForeignKeyConstraint(['customer_id'], ['end_customers.id'],
                            name=op.f('fk_service_contracts_customer_id_end_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_contracts')),
    sa.UniqueConstraint('number', name=op.f('uq_service_contracts_number'))
    )
    op.create_index(op.f('ix_service_contracts_customer_id'), 'service_contracts', ['customer_id'], unique=False)
    op.create_index(op.f('ix_service_contracts_vin'), 'service_contracts', ['vin'], unique=False)
    op.create_table('template_parts',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('model_code', sa.String(length=40), nullable=False),
    sa.Column('part_no', sa.String(length=40), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['part_no'], ['service_parts.part_no'],
                            name=op.f('fk_template_parts_part_no_service_parts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_template_parts')),
    sa.UniqueConstraint('model_code', 'part_no', name=op.f('uq_template_parts_model_code_part_no'))
    )
    op.create_index(op.f('ix_template_parts_model_code'), 'template_parts', ['model_code'], unique=False)
    op.create_table('part_substitutes',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('part_no', sa.String(length=40), nullable=False),
    sa.Column('substitute_no', sa.String(length=40), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['part_no'], ['service_parts.part_no'],
                            name=op.f('fk_part_substitutes_part_no_service_parts')),
    sa.ForeignKeyConstraint(['substitute_no'], ['service_parts.part_no'],
                            name=op.f('fk_part_substitutes_substitute_no_service_parts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_part_substitutes')),
    sa.UniqueConstraint('part_no', 'substitute_no', name=op.f('uq_part_substitutes_part_no_substitute_no'))
    )
    op.create_index(op.f('ix_part_substitutes_part_no'), 'part_substitutes', ['part_no'], unique=False)
    # Requests opened before contracts existed: checked against none.
    # Plain ADD/DROP COLUMN, no batch copy: a copy of service_requests on SQLite would turn 0019's
    # column-level technician FK into a table constraint that 0019's downgrade cannot drop.
    op.add_column('service_requests', sa.Column('contract_state', sa.String(length=12), nullable=False,
                                                server_default='none'))
    op.add_column('service_requests', sa.Column('contract_warning', sa.String(length=500), nullable=True))
    op.add_column('service_requests', sa.Column('service_contract_id', _ID, nullable=True))
    # Orders stocked in before the fix kept the ERP's 已检验 as their production status.
    op.execute("UPDATE orders SET production_status = '已入库' "
               "WHERE state IN ('stocked', 'completed') AND production_status = '已检验'")


def downgrade() -> None:
    for column in ('service_contract_id', 'contract_warning', 'contract_state'):
        if op.get_bind().dialect.name == 'sqlite':
            op.execute(f'ALTER TABLE service_requests DROP COLUMN {column}')
        else:
            op.drop_column('service_requests', column)
    op.drop_index(op.f('ix_part_substitutes_part_no'), table_name='part_substitutes')
    op.drop_table('part_substitutes')
    op.drop_index(op.f('ix_template_parts_model_code'), table_name='template_parts')
    op.drop_table('template_parts')
    op.drop_index(op.f('ix_service_contracts_vin'), table_name='service_contracts')
    op.drop_index(op.f('ix_service_contracts_customer_id'), table_name='service_contracts')
    op.drop_table('service_contracts')
    op.drop_index(op.f('ix_customer_vehicles_customer_id'), table_name='customer_vehicles')
    op.drop_table('customer_vehicles')
    op.drop_index(op.f('ix_end_customers_phone'), table_name='end_customers')
    op.drop_index('ix_end_customers_dealer_id_id', table_name='end_customers')
    op.drop_table('end_customers')
