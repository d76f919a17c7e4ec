"""The after-sales schema (migration 0010): the database itself refuses a negative stock balance
whatever code path writes it. (Schema vs mapping: tests/integration/core/test_schema_matches_migrations.py.)"""

from __future__ import annotations

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from dealercrm.adapters.db import migrate
from dealercrm.adapters.db.aftersales_tables import service_parts, service_stations, service_stock
from dealercrm.adapters.db.engine import make_engine

def test_database_refuses_a_negative_stock_balance(db_url):
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        with engine.begin() as conn:
            sid = conn.execute(insert(service_stations).values(
                code="FWZ-9999", name="约束测试服务站", uscc="91410100MA0000001X", region="华中", province="河南省",
                city="郑州市", address="经开区", contact_name="李", contact_phone="13912345678",
                product_lines=["tanker"], labour_rate_fen=8000, qualification="class_1", capacity=3,
                status="active", version=1).returning(service_stations.c.id)).scalar_one()
            conn.execute(insert(service_parts).values(part_no="P-1", name="阀", unit="件", standard_cost_fen=1,
                                                      retail_price_fen=2, version=1))
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert(service_stock).values(station_id=sid, part_no="P-1", quantity=-1, version=1))
    finally:
        engine.dispose()
