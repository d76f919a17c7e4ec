"""Whatever the ERP does to a valid feed — shuffle it, repeat events under new seqs, cut it into
pages of any size — the synced state ends up the same as applying it once, in order."""

from __future__ import annotations

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dealercrm.application.erp_sync import ErpEventApplier, InMemoryErpSyncTarget
from dealercrm.application.ports.erp import ErpEventPage

ORDERS = ("JH1", "JH2", "JH3")
UNKNOWN = "JH404"


@st.composite
def order_histories(draw):  # type: ignore[no-untyped-def]
    """Per order: how far production got (a valid ERP timeline), as builder steps."""
    histories = {}
    for tracking_no in (*ORDERS, UNKNOWN):
        percents = sorted(draw(st.sets(st.sampled_from(range(10, 101, 10)), max_size=5)))
        timeline = [("status", "scheduled", 0)] + [("status", "in_production", p) for p in percents]
        if percents and percents[-1] == 100 and draw(st.booleans()):
            timeline.append(("status", "inspected", 100))
            if draw(st.booleans()):
                vehicles = draw(st.integers(1, 3))
                timeline += [("stock_in", None, 0)] * vehicles + [("status", "stocked", 100)]
        for n in range(draw(st.integers(0, 2))):
            position = draw(st.integers(0, len(timeline)))
            timeline.insert(position, ("change", f"BG-{tracking_no}-{n}", 0))
        cut = draw(st.integers(1, len(timeline)))
        histories[tracking_no] = timeline[:cut]
    return histories


def _build(factory_class, histories, payments):  # type: ignore[no-untyped-def]
    factory = factory_class()
    stream = []
    # interleave orders round-robin, as a factory floor would
    queues = {t: list(steps) for t, steps in histories.items()}
    while any(queues.values()):
        for tracking_no, queue in queues.items():
            if not queue:
                continue
            kind, arg, percent = queue.pop(0)
            contract = f"HT-{tracking_no}"
            if kind == "status":
                stream.append(factory.status(tracking_no, arg, percent, contract_no=contract))
            elif kind == "stock_in":
                stream.append(factory.stock_in(tracking_no, contract_no=contract))
            else:
                stream.append(factory.change(tracking_no, arg, contract_no=contract))
    for payment_id, contract, fen in payments:
        stream.append(factory.payment(payment_id, contract, fen))
    return stream


def _fresh_target() -> InMemoryErpSyncTarget:
    target = InMemoryErpSyncTarget()
    for tracking_no in ORDERS:
        target.add_order(f"HT-{tracking_no}", tracking_no)
    return target


def _apply_in_pages(events, page_sizes) -> InMemoryErpSyncTarget:  # type: ignore[no-untyped-def]
    target = _fresh_target()
    applier = ErpEventApplier(target)
    i = 0
    sizes = iter(page_sizes)
    while i < len(events):
        size = next(sizes, 7)
        chunk = events[i:i + size]
        i += size
        applier.apply_page(ErpEventPage(tuple(chunk), str(max(e.seq for e in chunk)), i < len(events)))
    return target


payments = st.lists(
    st.tuples(st.sampled_from(["SK1", "SK2", "SK3"]),
              st.sampled_from(["HT-JH1", "HT-JH2", "HT-JH9"]),
              st.integers(1, 10**9)),
    max_size=3, unique_by=lambda p: p[0])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(histories=order_histories(), payments=payments, data=st.data())
def test_any_permutation_and_duplication_of_a_valid_feed_converges_to_the_same_state(
        event_factory_class, histories, payments, data):
    stream = _build(event_factory_class, histories, payments)
    expected = _apply_in_pages(stream, [len(stream)]).snapshot()
    duplicated = stream + [stream[i] for i in data.draw(
        st.lists(st.integers(0, len(stream) - 1), max_size=len(stream)), label="duplicates")]
    shuffled = data.draw(st.permutations(duplicated), label="order")
    # the ERP gives a re-emitted event a new seq; the feed is in seq order as served
    served = [attrs.evolve(e, seq=n) for n, e in enumerate(shuffled, start=1)]
    page_sizes = data.draw(st.lists(st.integers(1, 10), max_size=40), label="pages")

    actual = _apply_in_pages(served, page_sizes)

    assert actual.snapshot() == expected
    assert actual.cursor == str(len(served))
