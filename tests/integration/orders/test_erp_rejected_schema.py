"""Migration 0014 gives the rejected ERP events a resolution (who, when, note): rows the sync
wrote before it stay, open; downgrading removes the columns. (Schema vs mapping at head:
tests/integration/core/test_schema_matches_migrations.py.)"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import inspect, text

from dealercrm.adapters.db import migrate
from dealercrm.adapters.db.engine import make_engine

RESOLUTION = {"resolved_at", "resolved_by", "resolution_note"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("empty_sqlite_url" if request.param == "sqlite" else "empty_pg_url")


def columns(engine) -> set[str]:
    with engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("erp_rejected_events")}


def test_0014_adds_the_resolution_to_rejected_events_kept_from_before(empty_url):
    engine = make_engine(empty_url)
    try:
        migrate.upgrade(engine, "0013")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO erp_rejected_events (event_id, seq, type, tracking_no, code, reason, at) "
                              "VALUES ('ev-1', 1, 'status_changed', 'ZZ-1', 'erp.unknown_tracking_no', '未知', :at)"),
                         {"at": dt.datetime(2026, 5, 1, 8, 0)})
        before = columns(engine)

        migrate.upgrade(engine)
        after = columns(engine)
        with engine.connect() as conn:
            row = conn.execute(text("SELECT event_id, resolved_at, resolved_by, resolution_note "
                                    "FROM erp_rejected_events")).one()
        migrate.downgrade(engine, "0013")
        downgraded = columns(engine)
    finally:
        engine.dispose()

    assert not RESOLUTION & before and RESOLUTION <= after
    assert tuple(row) == ("ev-1", None, None, None)
    assert downgraded == before
