import datetime as dt
import threading
import uuid
from collections import Counter

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.orm import Session

from dealercrm.adapters.notify.http_sms import HttpSmsSender
from dealercrm.adapters.notify.memory import RecordingEmailSender, RecordingSmsSender
from dealercrm.adapters.notify.sql_outbox import SqlAlchemyOutboxStore, notification_outbox
from dealercrm.application.outbox import Backoff, OutboxRelay, RecipientCap, enqueue_notification
from dealercrm.domain.notifications import TEMPLATES, Channel, NotificationStatus

PHONE = "13800138000"
LEASE = dt.timedelta(minutes=5)

# A stand-in for a business table written in the same transaction as the message.
business = MetaData()
gate_passes = Table("notify_test_gate_pass", business, Column("id", Integer, primary_key=True),
                    Column("pass_no", String(20), nullable=False))


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def values(code: str) -> dict[str, str]:
    return {name: f"值{name}" for name in TEMPLATES.get(code).variables}


def enqueue(store, tx, key: str, phone: str = PHONE, now: dt.datetime | None = None) -> str:
    return enqueue_notification(store, tx, template_code="gate_pass.approved",
                                variables=values("gate_pass.approved"), recipient=phone,
                                idempotency_key=key, clock=lambda: now or utcnow())


@pytest.fixture
def store(outbox_db) -> SqlAlchemyOutboxStore:
    return SqlAlchemyOutboxStore(outbox_db.engine)


@pytest.fixture
def business_table(outbox_db):
    business.create_all(outbox_db.engine)
    yield gate_passes
    business.drop_all(outbox_db.engine)


def count(engine, table=notification_outbox) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_rolled_back_business_change_leaves_no_message(outbox_db, store, business_table):
    with pytest.raises(RuntimeError):
        with outbox_db.engine.begin() as conn:
            conn.execute(business_table.insert().values(pass_no="GP-1"))
            enqueue(store, conn, "gate-pass:GP-1")
            raise RuntimeError("credit check failed after the insert")

    assert count(outbox_db.engine, business_table) == 0
    assert count(outbox_db.engine) == 0
    assert store.claim("w1", now=utcnow(), lease_until=utcnow() + LEASE, limit=10) == []


def test_a_rolled_back_session_leaves_no_message(outbox_db, store):
    with Session(outbox_db.engine) as session:
        enqueue(store, session, "k")
        session.rollback()

    assert count(outbox_db.engine) == 0


def test_a_committed_business_change_commits_its_message_with_it(outbox_db, store, business_table):
    with Session(outbox_db.engine) as session, session.begin():
        session.execute(business_table.insert().values(pass_no="GP-2"))
        nid = enqueue(store, session, "gate-pass:GP-2")

    n = store.get(nid)
    assert n.status is NotificationStatus.PENDING
    assert n.idempotency_key == "gate-pass:GP-2"
    assert n.channel is Channel.SMS
    assert count(outbox_db.engine, business_table) == 1


def test_an_existing_key_returns_the_first_id_and_the_callers_transaction_goes_on(outbox_db, store,
                                                                                 business_table):
    with outbox_db.engine.begin() as conn:
        first = enqueue(store, conn, "dup")
    with outbox_db.engine.begin() as conn:
        again = enqueue(store, conn, "dup")
        same_tx = enqueue(store, conn, "dup")
        conn.execute(business_table.insert().values(pass_no="GP-3"))  # still usable on PostgreSQL

    assert first == again == same_tx
    assert count(outbox_db.engine) == 1
    assert count(outbox_db.engine, business_table) == 1


def test_times_round_trip_as_aware_utc(store, outbox_db):
    created = dt.datetime(2025, 3, 1, 16, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with outbox_db.engine.begin() as conn:
        nid = enqueue(store, conn, "k", now=created)

    n = store.get(nid)
    assert n.created_at == created
    assert n.created_at.tzinfo == dt.UTC


def test_a_claim_takes_due_messages_only_and_counts_the_attempt(outbox_db, store):
    now = utcnow()
    with outbox_db.engine.begin() as conn:
        due = enqueue(store, conn, "due", now=now - dt.timedelta(seconds=1))
        later = enqueue(store, conn, "later", now=now + dt.timedelta(minutes=1))

    claimed = store.claim("w1", now=now, lease_until=now + LEASE, limit=10)

    assert [n.id for n in claimed] == [due]
    assert claimed[0].status is NotificationStatus.SENDING
    assert claimed[0].attempts == 1
    assert store.get(later).status is NotificationStatus.PENDING


def test_a_claim_held_by_a_live_lease_is_not_taken_but_an_expired_one_is(outbox_db, store):
    now = utcnow()
    with outbox_db.engine.begin() as conn:
        nid = enqueue(store, conn, "k", now=now)
    store.claim("w1", now=now, lease_until=now + LEASE, limit=10)

    during = store.claim("w2", now=now + dt.timedelta(minutes=4), lease_until=now + 2 * LEASE, limit=10)
    after = store.claim("w2", now=now + dt.timedelta(minutes=6), lease_until=now + 2 * LEASE, limit=10)

    assert during == []
    assert [n.id for n in after] == [nid]
    assert after[0].attempts == 2
    assert store.mark_failed(nid, "w1", error="late", error_code="x") is False
    assert store.mark_sent(nid, "w2", now=now) is True
    assert store.get(nid).status is NotificationStatus.SENT


def test_concurrent_claims_never_hand_one_message_to_two_workers(outbox_db, store):
    now = utcnow()
    with outbox_db.engine.begin() as conn:
        for i in range(120):
            enqueue(store, conn, f"k{i}", phone=f"139{i:08d}", now=now)
    taken: dict[str, list[str]] = {}
    barrier = threading.Barrier(6)

    def worker(name: str) -> None:
        barrier.wait(timeout=10)
        ids = taken.setdefault(name, [])
        while batch := store.claim(name, now=now, lease_until=now + LEASE, limit=7):
            ids.extend(n.id for n in batch)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    all_ids = [i for ids in taken.values() for i in ids]
    assert not any(t.is_alive() for t in threads)
    assert len(all_ids) == 120
    assert len(set(all_ids)) == 120


def test_recipient_load_counts_sent_in_window_and_other_workers_in_flight(outbox_db, store):
    now = utcnow()
    with outbox_db.engine.begin() as conn:
        ids = [enqueue(store, conn, f"k{i}", now=now) for i in range(4)]
        enqueue(store, conn, "other-phone", phone="13900139000", now=now)
    store.claim("w1", now=now, lease_until=now + LEASE, limit=2)
    store.mark_sent(ids[0], "w1", now=now - dt.timedelta(days=2))
    store.mark_sent(ids[1], "w1", now=now)
    store.claim("w2", now=now, lease_until=now + LEASE, limit=1)
    store.claim("w1", now=now, lease_until=now + LEASE, limit=1)

    seen_by_w1 = store.recipient_load(Channel.SMS, PHONE, since=now - dt.timedelta(days=1), now=now,
                                      worker_id="w1")

    assert seen_by_w1 == (1, 1)


def test_failed_messages_are_listed_and_can_be_requeued(outbox_db, store):
    now = utcnow()
    with outbox_db.engine.begin() as conn:
        nid = enqueue(store, conn, "k", now=now)
    store.claim("w1", now=now, lease_until=now + LEASE, limit=1)
    store.mark_failed(nid, "w1", error="手机号码格式错误", error_code="notify.rejected")

    [failed] = store.list_failed()
    requeued = store.requeue(nid, now=now)

    assert failed.last_error == "手机号码格式错误"
    assert failed.last_error_code == "notify.rejected"
    assert requeued is True
    assert store.get(nid).status is NotificationStatus.PENDING
    assert store.get(nid).attempts == 0
    assert store.list_failed() == []


def test_released_claims_do_not_count_as_attempts(outbox_db, store):
    now = utcnow()
    with outbox_db.engine.begin() as conn:
        nid = enqueue(store, conn, "k", now=now)
    store.claim("w1", now=now, lease_until=now + LEASE, limit=1)

    assert store.release(nid, "w1", next_attempt_at=now) is True

    assert store.get(nid).attempts == 0
    assert store.get(nid).status is NotificationStatus.PENDING


class SlowCountingSms(RecordingSmsSender):
    def __init__(self) -> None:
        super().__init__()
        self.by_key: Counter[str] = Counter()

    def send(self, phone, text, *, idempotency_key):
        threading.Event().wait(0.002)  # let the other relay interleave
        with self._lock:
            self.by_key[idempotency_key] += 1
        super().send(phone, text, idempotency_key=idempotency_key)


def test_two_relays_in_threads_never_send_one_message_twice(outbox_db, store):
    with outbox_db.engine.begin() as conn:
        keys = [f"k{i}" for i in range(150)]
        for i, key in enumerate(keys):
            enqueue(store, conn, key, phone=f"139{i:08d}")
    sms = SlowCountingSms()
    relays = [OutboxRelay(store, RecordingEmailSender(), sms, utcnow, batch_size=5,
                          per_recipient_caps=()) for _ in range(2)]
    stop = threading.Event()
    threads = [threading.Thread(target=r.run, args=(stop, 0.01), kwargs={"worker_id": f"w{i}"})
               for i, r in enumerate(relays)]

    for t in threads:
        t.start()
    try:
        for _ in range(3000):
            if store.count_by_status()[NotificationStatus.SENT] == len(keys):
                break
            stop.wait(0.01)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)

    assert not any(t.is_alive() for t in threads)
    assert sorted(sms.by_key) == sorted(keys)
    assert set(sms.by_key.values()) == {1}


def test_a_bad_number_through_the_real_gateway_fails_with_its_reason_and_is_not_retried(
        outbox_db, store, sms_gateway):
    sms_gateway.bad_numbers.add("13900000000")
    with outbox_db.engine.begin() as conn:
        bad = enqueue(store, conn, "bad", phone="13900000000")
        good = enqueue(store, conn, "good")
    clock_now = [utcnow()]
    with HttpSmsSender(sms_gateway.url, sms_gateway.access_key, sms_gateway.secret, "华东专用车", 5) as sms:
        relay = OutboxRelay(store, RecordingEmailSender(), sms, lambda: clock_now[0], max_attempts=5,
                            backoff=Backoff(base=dt.timedelta(seconds=1)))

        relay.run_once("w1")
        clock_now[0] += dt.timedelta(hours=1)
        later = relay.run_once("w1")

    assert store.get(bad).status is NotificationStatus.FAILED
    assert store.get(bad).last_error == "手机号码格式错误"
    assert store.get(good).status is NotificationStatus.SENT
    assert later.claimed == 0
    assert [r.payload["phone"] for r in sms_gateway.requests].count("13900000000") == 1


def test_the_sms_cap_holds_with_the_sql_store(outbox_db, store):
    with outbox_db.engine.begin() as conn:
        for i in range(4):
            enqueue(store, conn, f"k{i}")
    sms = RecordingSmsSender()
    relay = OutboxRelay(store, RecordingEmailSender(), sms, utcnow,
                        per_recipient_caps=[RecipientCap(Channel.SMS, 3, dt.timedelta(days=1))])

    relay.run_once("w1")

    assert len(sms.sent) == 3
    [failed] = store.list_failed()
    assert failed.last_error_code == "notify.cap_exceeded"


def test_message_ids_are_unique_per_row(outbox_db, store):
    with outbox_db.engine.begin() as conn:
        ids = {enqueue(store, conn, str(uuid.uuid4())) for _ in range(5)}

    assert len(ids) == 5


def test_claims_stay_exclusive_on_a_sqlite_engine_that_controls_begin_itself(tmp_path):
    # The SQLAlchemy pysqlite recipe the application's engine may use: no implicit BEGIN from
    # the driver, BEGIN IMMEDIATE from a "begin" listener.
    from sqlalchemy import create_engine, event

    from dealercrm.adapters.db.metadata import metadata

    engine = create_engine(f"sqlite:///{tmp_path / 'recipe.db'}", connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _no_driver_begin(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        dbapi_conn.execute("PRAGMA journal_mode=WAL")

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    metadata.create_all(engine, tables=[notification_outbox])
    store = SqlAlchemyOutboxStore(engine)
    now = utcnow()
    with engine.begin() as conn:
        for i in range(40):
            enqueue(store, conn, f"k{i}", now=now)
    taken: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while batch := store.claim(name, now=now, lease_until=now + LEASE, limit=3):
            with lock:
                taken.extend(n.id for n in batch)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    engine.dispose()

    assert len(taken) == 40
    assert len(set(taken)) == 40
