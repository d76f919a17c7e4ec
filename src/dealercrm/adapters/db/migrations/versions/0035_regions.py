"""sales regions (大区) kept by the administrators (issue 15 §5), seeded with the seven regions the
code knew until now: their names are unchanged, so every dealer, user, station, campaign and key
account keeps a valid region

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07 05:30:00.000000
"""
import datetime as dt

from alembic import op
import sqlalchemy as sa


revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None


_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_SEED = (
    ("north", "华北", ["北京", "天津", "河北", "山西", "内蒙古"]),
    ("northeast", "东北", ["辽宁", "吉林", "黑龙江"]),
    ("east", "华东", ["上海", "江苏", "浙江", "安徽", "福建", "江西", "山东"]),
    ("central", "华中", ["河南", "湖北", "湖南"]),
    ("south", "华南", ["广东", "广西", "海南"]),
    ("southwest", "西南", ["重庆", "四川", "贵州", "云南", "西藏"]),
    ("northwest", "西北", ["陕西", "甘肃", "青海", "宁夏", "新疆"]),
)


def upgrade() -> None:
    regions = op.create_table('regions',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=8), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('provinces', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_regions')),
    sa.UniqueConstraint('code', name=op.f('uq_regions_code')),
    sa.UniqueConstraint('name', name=op.f('uq_regions_name'))
    )
    # the seven regions date from this revision (a fixed moment: the migration never reads a clock)
    now = dt.datetime(2026, 12, 7, 5, 30)
    if op.get_bind().dialect.name != 'sqlite':
        now = now.replace(tzinfo=dt.timezone.utc)
    op.bulk_insert(regions, [
        {"code": code, "name": name, "active": True, "sort_order": n * 10, "provinces": provinces, "version": 1,
         "created_at": now, "updated_at": now}
        for n, (code, name, provinces) in enumerate(_SEED, start=1)])


def downgrade() -> None:
    op.drop_table('regions')
