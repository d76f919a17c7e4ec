import datetime as dt
import threading

import pytest

from dealercrm.application.outbox import Backoff, OutboxRelay, RecipientCap, enqueue_notification
from dealercrm.application.ports.notify import PermanentDeliveryError, TransientDeliveryError
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.notifications import TEMPLATES, Channel, NotificationStatus

PHONE = "13800138000"
MAIL = "dealer@example.com"


def values(code: str) -> dict[str, str]:
    return {name: f"值{name}" for name in TEMPLATES.get(code).variables}


def add_sms(store, clock, key: str, phone: str = PHONE) -> str:
    return enqueue_notification(store, None, template_code="gate_pass.approved",
                                variables=values("gate_pass.approved"), recipient=phone,
                                idempotency_key=key, clock=clock)


def add_email(store, clock, key: str, to: str = MAIL) -> str:
    return enqueue_notification(store, None, template_code="dealer.review_approved",
                                variables=values("dealer.review_approved"), recipient=to,
                                idempotency_key=key, clock=clock)


def make_relay(store, email, sms, clock, **kwargs) -> OutboxRelay:
    kwargs.setdefault("max_attempts", 3)
    kwargs.setdefault("backoff", Backoff(base=dt.timedelta(seconds=10), factor=2.0,
                                         max_delay=dt.timedelta(minutes=5), jitter=0.0))
    kwargs.setdefault("per_recipient_caps", ())
    return OutboxRelay(store, email, sms, clock, lease=dt.timedelta(minutes=5),
                       send_budget=dt.timedelta(seconds=30), **kwargs)


def test_due_email_and_sms_are_sent_with_their_keys_and_marked_sent(store, email, sms, clock):
    add_email(store, clock, "mail-1")
    add_sms(store, clock, "sms-1")
    relay = make_relay(store, email, sms, clock)

    stats = relay.run_once("w1")

    assert (stats.claimed, stats.sent) == (2, 2)
    assert [m.idempotency_key for m in email.sent] == ["mail-1"]
    assert email.sent[0].subject.startswith("经销商审核通过")
    assert [(m.phone, m.idempotency_key) for m in sms.sent] == [(PHONE, "sms-1")]
    assert {n.status for n in store.all()} == {NotificationStatus.SENT}
    assert all(n.sent_at == clock.now for n in store.all())


def test_enqueueing_an_existing_key_returns_the_first_id_and_sends_once(store, email, sms, clock):
    first = add_sms(store, clock, "gate-pass:42")
    second = add_sms(store, clock, "gate-pass:42")
    relay = make_relay(store, email, sms, clock)

    relay.run_once("w1")
    relay.run_once("w1")

    assert first == second
    assert len(store.all()) == 1
    assert len(sms.sent) == 1


def test_a_rolled_back_transaction_enqueues_nothing(store, email, sms, clock):
    with pytest.raises(RuntimeError):
        with store.transaction() as tx:
            enqueue_notification(store, tx, template_code="gate_pass.approved",
                                 variables=values("gate_pass.approved"), recipient=PHONE,
                                 idempotency_key="k", clock=clock)
            raise RuntimeError("business change failed")

    make_relay(store, email, sms, clock).run_once("w1")

    assert store.all() == []
    assert sms.sent == []


def test_a_committed_transaction_makes_the_message_visible(store, email, sms, clock):
    with store.transaction() as tx:
        enqueue_notification(store, tx, template_code="gate_pass.approved",
                             variables=values("gate_pass.approved"), recipient=PHONE,
                             idempotency_key="k", clock=clock)
        assert store.all() == []

    make_relay(store, email, sms, clock).run_once("w1")

    assert len(sms.sent) == 1


def test_a_bad_template_variable_is_refused_before_anything_is_stored(store, clock):
    with pytest.raises(InvalidValue):
        enqueue_notification(store, None, template_code="gate_pass.approved",
                             variables={"pass_no": "1"}, recipient=PHONE, idempotency_key="k",
                             clock=clock)

    assert store.all() == []


def test_a_transient_failure_is_retried_after_the_backoff(store, email, sms, clock):
    nid = add_sms(store, clock, "k")
    sms.fail_next(TransientDeliveryError("网关超时"))
    relay = make_relay(store, email, sms, clock)

    first = relay.run_once("w1")
    clock.advance(seconds=9)
    too_early = relay.run_once("w1")
    clock.advance(seconds=1)
    second = relay.run_once("w1")

    assert first.retried == 1
    assert too_early.claimed == 0
    assert second.sent == 1
    n = store.get(nid)
    assert n.status is NotificationStatus.SENT
    assert n.attempts == 2
    assert n.last_error == "网关超时"
    assert len(sms.sent) == 1


def test_backoff_grows_exponentially_up_to_the_cap():
    backoff = Backoff(base=dt.timedelta(seconds=10), factor=2.0, max_delay=dt.timedelta(seconds=60),
                      jitter=0.0)

    delays = [backoff.delay(n, 0.5).total_seconds() for n in range(1, 7)]

    assert delays == [10, 20, 40, 60, 60, 60]


@pytest.mark.parametrize("rand", [0.0, 0.25, 0.5, 0.999])
def test_backoff_jitter_stays_within_its_band_and_never_exceeds_the_cap(rand):
    backoff = Backoff(base=dt.timedelta(seconds=10), factor=3.0, max_delay=dt.timedelta(seconds=100),
                      jitter=0.2)

    third = backoff.delay(3, rand).total_seconds()
    tenth = backoff.delay(10, rand).total_seconds()

    assert 72 <= third <= 100
    assert 80 <= tenth <= 100


def test_the_message_fails_after_max_attempts_with_the_last_reason(store, email, sms, clock):
    nid = add_sms(store, clock, "k")
    sms.fail_next(*(TransientDeliveryError(f"超时{i}") for i in range(1, 4)))
    relay = make_relay(store, email, sms, clock, max_attempts=3)

    for _ in range(6):
        relay.run_once("w1")
        clock.advance(minutes=10)

    n = store.get(nid)
    assert n.status is NotificationStatus.FAILED
    assert n.attempts == 3
    assert n.last_error_code == "notify.gave_up"
    assert "超时3" in n.last_error
    assert sms.attempts == 3
    assert [f.id for f in store.list_failed()] == [nid]


def test_a_provider_rejection_fails_at_once_with_the_providers_reason(store, email, sms, clock):
    nid = add_sms(store, clock, "k")
    sms.fail_next(PermanentDeliveryError("号码不存在", provider_code="isv.MOBILE_NUMBER_ILLEGAL"))
    relay = make_relay(store, email, sms, clock, max_attempts=5)

    relay.run_once("w1")
    clock.advance(hours=1)
    later = relay.run_once("w1")

    n = store.get(nid)
    assert n.status is NotificationStatus.FAILED
    assert n.last_error == "号码不存在"
    assert n.last_error_code == "notify.rejected"
    assert later.claimed == 0
    assert sms.attempts == 1


def test_an_unexpected_sender_exception_is_retried_not_fatal(store, email, sms, clock):
    nid = add_email(store, clock, "k")
    email.fail_next(KeyError("bug"))
    relay = make_relay(store, email, sms, clock)

    stats = relay.run_once("w1")

    assert stats.retried == 1
    assert store.get(nid).status is NotificationStatus.PENDING
    assert "KeyError" in store.get(nid).last_error


def test_sms_beyond_the_per_phone_cap_fail_with_cap_exceeded(store, email, sms, clock):
    for i in range(3):
        add_sms(store, clock, f"k{i}")
    other = add_sms(store, clock, "other", phone="13900139000")
    mail = add_email(store, clock, "mail")
    caps = [RecipientCap(Channel.SMS, 2, dt.timedelta(days=1))]
    relay = make_relay(store, email, sms, clock, per_recipient_caps=caps)

    relay.run_once("w1")

    assert [m.phone for m in sms.sent].count(PHONE) == 2
    failed = store.list_failed()
    assert len(failed) == 1
    assert failed[0].recipient == PHONE
    assert failed[0].last_error_code == "notify.cap_exceeded"
    assert store.get(other).status is NotificationStatus.SENT
    assert store.get(mail).status is NotificationStatus.SENT


def test_the_cap_window_slides_so_a_day_later_the_phone_may_receive_again(store, email, sms, clock):
    caps = [RecipientCap(Channel.SMS, 1, dt.timedelta(days=1))]
    relay = make_relay(store, email, sms, clock, per_recipient_caps=caps)
    add_sms(store, clock, "day1")
    relay.run_once("w1")
    clock.advance(days=1, seconds=1)
    nid = add_sms(store, clock, "day2")

    relay.run_once("w1")

    assert store.get(nid).status is NotificationStatus.SENT
    assert len(sms.sent) == 2


def test_a_message_that_would_reach_the_cap_only_with_in_flight_ones_is_deferred(store, email, sms, clock):
    add_sms(store, clock, "held-by-other-worker")
    store.claim("w-other", now=clock.now, lease_until=clock.now + dt.timedelta(minutes=5), limit=1)
    nid = add_sms(store, clock, "second")
    caps = [RecipientCap(Channel.SMS, 1, dt.timedelta(days=1))]
    relay = make_relay(store, email, sms, clock, per_recipient_caps=caps,
                       cap_defer=dt.timedelta(seconds=30))

    stats = relay.run_once("w1")

    n = store.get(nid)
    assert stats.deferred == 1
    assert n.status is NotificationStatus.PENDING
    assert n.attempts == 0
    assert n.next_attempt_at == clock.now + dt.timedelta(seconds=30)
    assert sms.sent == []


def test_a_crashed_workers_message_is_reclaimed_after_its_lease_and_sent_once(store, email, sms, clock):
    nid = add_sms(store, clock, "k")
    store.claim("crashed", now=clock.now, lease_until=clock.now + dt.timedelta(minutes=5), limit=10)
    relay = make_relay(store, email, sms, clock)

    during_lease = relay.run_once("w2")
    clock.advance(minutes=5, seconds=1)
    after_lease = relay.run_once("w2")

    assert during_lease.claimed == 0
    assert after_lease.sent == 1
    assert store.get(nid).attempts == 2
    assert len(sms.sent) == 1


def test_a_message_whose_workers_keep_dying_is_given_up_without_sending(store, email, sms, clock):
    nid = add_sms(store, clock, "poison")
    for _ in range(3):
        store.claim("dies", now=clock.now, lease_until=clock.now + dt.timedelta(minutes=5), limit=1)
        clock.advance(minutes=6)
    relay = make_relay(store, email, sms, clock, max_attempts=3)

    relay.run_once("w1")

    n = store.get(nid)
    assert n.status is NotificationStatus.FAILED
    assert n.last_error_code == "notify.gave_up"
    assert sms.sent == []


def test_a_worker_hands_back_the_rest_of_its_batch_when_its_lease_runs_short(store, email, sms, clock):
    ids = [add_sms(store, clock, f"k{i}", phone=f"1390013900{i}") for i in range(3)]

    def slow_send(recipient):
        clock.advance(minutes=2, seconds=30)  # each send eats half the lease
        return None

    sms.failure_for = slow_send
    relay = make_relay(store, email, sms, clock)

    stats = relay.run_once("w1")

    assert stats.sent == 2
    assert stats.released == 1
    released = store.get(ids[2])
    assert released.status is NotificationStatus.PENDING
    assert released.attempts == 0


def test_a_worker_that_lost_its_claim_does_not_overwrite_the_new_owner(store, email, sms, clock):
    nid = add_sms(store, clock, "k")
    store.claim("w1", now=clock.now, lease_until=clock.now + dt.timedelta(minutes=5), limit=1)
    clock.advance(minutes=6)
    store.claim("w2", now=clock.now, lease_until=clock.now + dt.timedelta(minutes=5), limit=1)

    lost = store.mark_retry(nid, "w1", next_attempt_at=clock.now, error="x", error_code="y")

    assert lost is False
    assert store.get(nid).status is NotificationStatus.SENDING


def test_a_failed_message_requeued_from_the_workbench_is_sent(store, email, sms, clock):
    nid = add_sms(store, clock, "k")
    sms.fail_next(PermanentDeliveryError("网关签名错误"))
    relay = make_relay(store, email, sms, clock)
    relay.run_once("w1")

    assert store.requeue(nid, now=clock.now) is True
    relay.run_once("w1")

    assert store.get(nid).status is NotificationStatus.SENT
    assert store.list_failed() == []


def test_relay_events_mask_the_phone_number(store, email, sms, clock):
    events = []
    add_sms(store, clock, "k")
    relay = make_relay(store, email, sms, clock, log=lambda event, **f: events.append((event, f)))

    relay.run_once("w1")

    sent = [f for e, f in events if e == "notification_sent"]
    assert sent[0]["recipient"] == "138****8000"
    assert PHONE not in repr(events)


def test_the_loop_relays_until_stopped(store, email, sms, clock):
    add_sms(store, clock, "k")
    relay = make_relay(store, email, sms, clock)
    stop = threading.Event()
    worker = threading.Thread(target=relay.run, args=(stop, 0.01), kwargs={"worker_id": "w1"})

    worker.start()
    try:
        for _ in range(500):
            if sms.sent:
                break
            stop.wait(0.01)
    finally:
        stop.set()
        worker.join(timeout=5)

    assert not worker.is_alive()
    assert len(sms.sent) == 1


def test_the_loop_survives_store_errors(email, sms, clock):
    class BrokenStore:
        calls = 0

        def claim(self, *args, **kwargs):
            BrokenStore.calls += 1
            if BrokenStore.calls >= 3:
                stop.set()
            raise ConnectionError("database down")

    stop = threading.Event()
    relay = OutboxRelay(BrokenStore(), email, sms, clock, per_recipient_caps=())

    relay.run(stop, poll_interval=0.001, worker_id="w1", max_error_wait=0.01)

    assert BrokenStore.calls >= 3


def test_drain_delivers_every_due_message_past_one_batch(store, email, sms, clock):
    for i in range(45):
        add_sms(store, clock, f"sms-{i}")
    relay = make_relay(store, email, sms, clock, batch_size=20)

    stats = relay.drain("w1")

    assert (stats.claimed, stats.sent) == (45, 45)
    assert len(sms.sent) == 45
    assert {n.status for n in store.all()} == {NotificationStatus.SENT}
