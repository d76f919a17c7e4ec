"""Timestamps on SQLite are text in SQLAlchemy's storage format, written and read by
``UtcDateTime`` in one step, exactly what the slower spelling gave; outbox ids (time-ordered,
version 7) and approval-link nonces come in batches from one read of the random source."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite

from dealercrm.adapters.db.types import UtcDateTime
from dealercrm.application.approval_links import new_nonces
from dealercrm.application.outbox import new_ids

BEIJING = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def table():
    engine = create_engine("sqlite://")
    meta = MetaData()
    t = Table("t", meta, Column("id", Integer, primary_key=True), Column("at", UtcDateTime, nullable=True))
    meta.create_all(engine)
    yield engine, t
    engine.dispose()


def test_a_timestamp_is_stored_as_the_text_sqlalchemy_wrote_and_read_back_aware(table):
    engine, t = table
    moments = [dt.datetime(2026, 12, 7, 1, 30, tzinfo=BEIJING),  # Beijing 01:30 is the day before in UTC
               dt.datetime(2026, 12, 6, 17, 30, 0, 123456, tzinfo=dt.UTC)]
    with engine.begin() as conn:
        conn.execute(insert(t), [{"at": m} for m in moments] + [{"at": None}])
        stored = conn.execute(text("SELECT at FROM t ORDER BY id")).scalars().all()
        read = conn.execute(select(t.c.at).order_by(t.c.id)).scalars().all()
    assert stored == ["2026-12-06 17:30:00.000000", "2026-12-06 17:30:00.123456", None]
    # the dialect's own formatting gives the same text
    assert sqlite.DATETIME().bind_processor(sqlite.dialect())(dt.datetime(2026, 12, 6, 17, 30)) == stored[0]
    assert read == [m.astimezone(dt.UTC) for m in moments] + [None]
    assert all(r.tzinfo is dt.UTC for r in read if r is not None)


def test_other_spellings_written_by_hand_are_read_too(table):
    engine, t = table
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t (id, at) VALUES (1, '2026-12-06 17:30:00'), (2, '2026-12-06T17:30:00+08:00'),"
                          " (3, '2026-12-06')"))
        read = conn.execute(select(t.c.at).order_by(t.c.id)).scalars().all()
    assert read == [dt.datetime(2026, 12, 6, 17, 30, tzinfo=dt.UTC), dt.datetime(2026, 12, 6, 9, 30, tzinfo=dt.UTC),
                    dt.datetime(2026, 12, 6, tzinfo=dt.UTC)]


def test_a_naive_timestamp_is_refused(table):
    engine, t = table
    with engine.begin() as conn, pytest.raises(Exception, match="naive datetime refused"):
        conn.execute(insert(t), {"at": dt.datetime(2026, 12, 6, 17, 30)})


def test_postgresql_keeps_its_own_processing():
    assert UtcDateTime().bind_processor(postgresql.dialect()) is not None
    aware = dt.datetime(2026, 12, 7, 1, 30, tzinfo=BEIJING)
    assert UtcDateTime().process_bind_param(aware, postgresql.dialect()) == aware.astimezone(dt.UTC)


def test_outbox_ids_are_distinct_time_ordered_uuids_and_nonces_are_32_hex_digits():
    at = dt.datetime(2026, 12, 7, 1, 30, 0, 123000, tzinfo=BEIJING)
    ids = new_ids(12, at)
    assert len(set(ids)) == 12
    for i in ids:
        u = uuid.UUID(i)
        assert u.version == 7 and u.variant == uuid.RFC_4122 and str(u) == i
        assert u.int >> 80 == int(at.timestamp() * 1000)  # the milliseconds of the moment, first
    later = new_ids(12, at + dt.timedelta(milliseconds=1))
    assert max(ids) < min(later)  # ids made later sort after (as text too)
    nonces = new_nonces(24)
    assert len(set(nonces)) == 24 and all(len(n) == 32 and int(n, 16) >= 0 for n in nonces)
    assert new_ids(0, at) == [] and new_nonces(0) == []
