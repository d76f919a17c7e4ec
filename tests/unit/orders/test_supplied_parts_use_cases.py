"""The supplied-parts use cases against a fake unit of work: receive, issue, return, photos,
who may act, refusals that change nothing, and a ledger that balances after any sequence."""

import copy
import datetime as dt
import hashlib
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dealercrm.adapters.files.photo_store import LocalDirectoryPhotoStore, MemoryPhotoStore
from dealercrm.application import supplied_parts as sp
from dealercrm.application.delivery_dates import DeliveryDateReminderRule
from dealercrm.application.alerts import RuleContext
from dealercrm.application.ports.supplied_parts import DueOrder
from dealercrm.domain.catalog import Tier, estimate_price
from dealercrm.domain.errors import Conflict, IllegalTransition, InvalidValue, NotFound, PermissionDenied
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.orders import DeliveryMethod, Order, OrderState, OrderTerms, SuppliedPartIn
from dealercrm.domain.supplied_parts import declarations_from_order

from .conftest import NOW, STANDARD

STORE = Principal(user_id=21, username="store01", role=Role.PROCUREMENT)
PROD = Principal(user_id=22, username="prod01", role=Role.PRODUCTION)
DEALER = Principal(user_id=5, username="dealer01", role=Role.DEALER, dealer_id=3)
OTHER_DEALER = Principal(user_id=6, username="dealer02", role=Role.DEALER, dealer_id=4)
JPEG = b"\xff\xd8\xff\xe0" + b"x" * 200


class FakeOrders:
    def __init__(self, uow):
        self.uow = uow

    def get(self, order_id):
        return self.uow.working["orders"].get(order_id)

    def region_of(self, dealer_id):
        return self.uow.working["regions"].get(dealer_id)


class FakeSuppliedParts:
    def __init__(self, uow):
        self.uow = uow

    def for_order(self, order_id):
        ledger = self.uow.working["ledgers"].get(order_id)
        if ledger is not None:
            self.uow.loaded[order_id] = (len(ledger.entries), len(ledger.items))
        return ledger

    def add(self, ledger):
        self.uow.working["ledgers"][ledger.order_id] = ledger

    def add_photo(self, photo):
        self.uow.working["photos"][(photo.order_id, photo.sha256)] = photo

    def photo(self, order_id, sha256):
        return self.uow.working["photos"].get((order_id, sha256))


class FakeUow:
    """Nothing is visible until commit; leaving without commit discards everything."""

    ids = itertools.count(100)

    def __init__(self, store, actor):
        self.store, self.actor = store, actor

    def __enter__(self):
        self.working = copy.deepcopy(self.store)
        self.loaded = {}
        self.orders, self.supplied_parts = FakeOrders(self), FakeSuppliedParts(self)
        return self

    def __exit__(self, *exc):
        self.working = None

    def flush(self):
        for order_id, ledger in self.working["ledgers"].items():
            if ledger.id is None:
                ledger.id = next(self.ids)
            elif self.loaded.get(order_id, (len(ledger.entries), len(ledger.items))) != (len(ledger.entries),
                                                                                          len(ledger.items)):
                ledger.version += 1
                self.loaded[order_id] = (len(ledger.entries), len(ledger.items))

    def commit(self):
        self.flush()
        self.store.clear()
        self.store.update(copy.deepcopy(self.working))


def make_order(version, state=OrderState.RELEASED, parts=None):
    parts = parts if parts is not None else (SuppliedPartIn("chassis", "东风天龙底盘"),
                                             SuppliedPartIn("part", "轮胎", quantity=12))
    terms = OrderTerms(version, version.content.configure(list(STANDARD)), 1,
                       requested_delivery_date=NOW.date() + dt.timedelta(days=60),
                       delivery_method=DeliveryMethod.SELF_PICKUP, supplied_parts=tuple(parts))
    order = Order.draft("SO-2026-000001", 3, terms, estimate_price(version, terms.configuration, 1, Tier("B", 0)),
                        NOW, None)
    order.id = 11
    order.state = state
    order.events.clear()
    return order


@pytest.fixture
def world(version):
    store = {"orders": {11: make_order(version)}, "regions": {3: "华中", 4: "华东"}, "ledgers": {}, "photos": {}}
    photos = MemoryPhotoStore()

    def uow(actor):
        return FakeUow(store, actor)

    return store, uow, photos


def move(uow, actor, movement, line_no, quantity=1, **kw):
    return sp.record_movement(11, movement, sp.MovementIn(line_no, quantity, **kw), uow(actor), lambda: NOW)


def ledger_of(store):
    return store["ledgers"][11]


def test_receiving_issuing_and_returning_keeps_the_balance_and_writes_the_timeline(world):
    store, uow, photos = world
    photo = sp.upload_photo(11, JPEG, "image/jpeg", uow(STORE), lambda: NOW, photos)

    move(uow, STORE, "receive", 1, serial="lzz1", photo_sha256=photo.sha256, location="2号库")
    move(uow, STORE, "receive", 2, 10)
    move(uow, PROD, "issue", 2, 7)
    move(uow, PROD, "return_to_store", 2, 2)
    done = move(uow, STORE, "return_to_customer", 2, 1, note="多余一条")

    b = done.balance
    assert (b.received, b.in_store, b.in_production, b.returned_to_customer, b.outstanding) == (10, 4, 5, 1, 2)
    assert ledger_of(store).balance_of(ledger_of(store).item(1)).serial == "LZZ1"
    events = store["orders"][11].events
    assert [e.kind for e in events] == ["supplied_receive", "supplied_receive", "supplied_issue",
                                        "supplied_return_to_store", "supplied_return_to_customer"]
    assert events[0].actor_name == "store01" and "LZZ1" in events[0].summary
    assert ledger_of(store).entries[0].by_name == "store01"
    assert photos.get(photo.sha256) == JPEG


def test_a_refused_movement_changes_nothing(world):
    store, uow, _ = world
    move(uow, STORE, "receive", 2, 3)
    before = copy.deepcopy(store)

    with pytest.raises(Conflict) as err:
        move(uow, PROD, "issue", 2, 4)

    assert err.value.code == "supplied.not_in_store"
    assert err.value.details["balance"]["in_store"] == 3
    assert len(ledger_of(store).entries) == len(before["ledgers"][11].entries) == 1
    assert [e.summary for e in store["orders"][11].events] == [e.summary for e in before["orders"][11].events]


@pytest.mark.parametrize("actor", [DEALER, Principal(user_id=9, username="fin", role=Role.FINANCE)])
def test_only_the_store_and_production_move_goods(world, actor):
    _, uow, photos = world

    with pytest.raises(PermissionDenied):
        move(uow, actor, "receive", 2)
    with pytest.raises(PermissionDenied):
        sp.upload_photo(11, JPEG, None, uow(actor), lambda: NOW, photos)


class FakeQueries:
    def __init__(self, store):
        self.store = store

    def ledger(self, order_id):
        order = self.store["orders"].get(order_id)
        if order is None:
            return None
        lg = self.store["ledgers"].get(order_id)
        return {"order": {"id": order_id, "order_no": order.order_no, "state": order.state.value,
                          "dealer_id": order.dealer_id, "region": self.store["regions"][order.dealer_id]},
                "declared": order.supplied_parts,
                "ledger": {"version": lg.version, "updated_at": lg.updated_at} if lg else None,
                "items": [{"line_no": i.line_no, "kind": i.kind, "description": i.description,
                           "expected_quantity": i.expected_quantity, "serial": i.serial,
                           "order_line_no": i.order_line_no, "unit_index": i.unit_index, "withdrawn": i.withdrawn}
                          for i in (lg.items if lg else [])],
                "movements": [{"id": n, "line_no": e.line_no, "movement": e.movement, "quantity": e.quantity,
                               "at": e.at, "by_user_id": e.by_user_id, "by_name": e.by_name,
                               "location": e.location, "note": e.note, "serial": e.serial,
                               "photo_sha256": e.photo_sha256} for n, e in enumerate(lg.entries if lg else [])]}

    def photo(self, order_id, sha256):
        return None


def test_the_dealer_reads_its_own_ledger_and_nobody_reaches_what_is_not_theirs(world):
    store, uow, _ = world
    queries = FakeQueries(store)
    east = Principal(user_id=30, username="rm_east", role=Role.REGION_MANAGER, regions=("华东",))
    declared_only = sp.ledger_view(DEALER, queries, 11)
    move(uow, STORE, "receive", 2, 5)

    view = sp.ledger_view(DEALER, queries, 11)

    assert declared_only["version"] is None and [i["expected"] for i in declared_only["items"]] == [1, 12]
    assert view["balanced"] and view["totals"]["in_store"] == 5 and view["movements"][0]["by_name"] == "store01"
    for actor, order_id in ((OTHER_DEALER, 11), (east, 11), (STORE, 99)):
        with pytest.raises(NotFound):
            sp.ledger_view(actor, queries, order_id)
    with pytest.raises(NotFound):
        sp.record_movement(99, "receive", sp.MovementIn(2, 1), uow(STORE), lambda: NOW)


@pytest.mark.parametrize("state,movement", [(OrderState.DRAFT, "receive"), (OrderState.CANCELLED, "receive"),
                                            (OrderState.COMPLETED, "receive"), (OrderState.APPROVED, "issue"),
                                            (OrderState.SUBMITTED, "issue")])
def test_the_order_state_decides_when_goods_may_come_in_and_go_to_production(world, state, movement):
    store, uow, _ = world
    store["orders"][11].state = state

    with pytest.raises(IllegalTransition) as err:
        move(uow, STORE, movement, 2)

    assert err.value.code == "supplied.order_state" and err.value.current_state == state.value


def test_returning_is_possible_whatever_the_order_state(world):
    store, uow, _ = world
    move(uow, STORE, "receive", 2, 2)
    store["orders"][11].state = OrderState.CANCELLED

    done = move(uow, STORE, "return_to_customer", 2, 2)

    assert done.balance.returned_to_customer == 2 and done.balance.in_store == 0


def test_a_stale_version_is_refused(world):
    store, uow, _ = world
    first = move(uow, STORE, "receive", 2, 1)
    second = move(uow, STORE, "receive", 2, 1, ledger_version=first.ledger_version)

    with pytest.raises(Conflict) as err:
        move(uow, STORE, "receive", 2, 1, ledger_version=first.ledger_version)

    assert second.ledger_version == first.ledger_version + 1
    assert err.value.code == "supplied.stale_version" and err.value.details["current_version"] == second.ledger_version


@pytest.mark.parametrize("data,declared,code", [
    (b"", None, "supplied.photo_empty"),
    (b"GIF89a....", "image/gif", "supplied.photo_type"),
    (b"\x89PNG\r\n\x1a\n" + b"0" * 10, "image/jpeg", "supplied.photo_type_mismatch"),
    (b"\xff\xd8\xff" + b"0" * sp.MAX_PHOTO_BYTES, "image/jpeg", "supplied.photo_too_large"),
])
def test_bad_photos_are_refused_before_anything_is_stored(world, data, declared, code):
    store, uow, photos = world

    with pytest.raises(InvalidValue) as err:
        sp.upload_photo(11, data, declared, uow(STORE), lambda: NOW, photos)

    assert err.value.code == code and err.value.field == "file"
    assert photos.blobs == {} and store["photos"] == {}


def test_a_photo_is_stored_once_by_its_content(world, tmp_path):
    store, uow, _ = world
    disk = LocalDirectoryPhotoStore(tmp_path)

    a = sp.upload_photo(11, JPEG, "image/jpeg; charset=binary", uow(STORE), lambda: NOW, disk)
    b = sp.upload_photo(11, JPEG, None, uow(STORE), lambda: NOW, disk)

    assert a == b and a.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert disk.get(a.sha256) == JPEG and len(store["photos"]) == 1
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [a.sha256]
    assert disk.get("../../etc/passwd") is None


def test_a_chassis_ordered_by_the_dozen_is_tracked_one_by_one():
    declared = declarations_from_order([(1, "chassis", "陕汽德龙底盘", 3, "X"), (2, "part", "轮胎", 12, None)])

    assert [(d.order_line_no, d.unit_index, d.expected_quantity, d.serial) for d in declared] == [
        (1, 0, 1, None), (1, 1, 1, None), (1, 2, 1, None), (2, 0, 12, None)]
    assert declared[1].description == "陕汽德龙底盘（第2台/共3台）"


def test_the_ledger_follows_a_revised_declaration_but_keeps_what_has_moved(world, version):
    store, uow, _ = world
    move(uow, STORE, "receive", 2, 5)
    store["orders"][11] = make_order(version, parts=(SuppliedPartIn("part", "备胎", quantity=2),))

    move(uow, STORE, "receive", 1, 2)
    items = {i.line_no: i for i in ledger_of(store).items}

    assert sorted(items) == [1, 2]
    assert items[1].description == "备胎" and items[1].kind.value == "part"  # order line 1 had not moved: follows
    assert items[2].withdrawn and items[2].description == "轮胎"  # the tyres are here: kept
    with pytest.raises(Conflict) as err:
        move(uow, STORE, "receive", 2, 1)
    assert err.value.code == "supplied.item_withdrawn"
    assert move(uow, STORE, "return_to_customer", 2, 5).balance.in_store == 0


steps = st.lists(st.tuples(st.sampled_from(["receive", "issue", "return_to_store", "return_to_customer"]),
                           st.sampled_from([1, 2]), st.integers(min_value=-1, max_value=14)), max_size=25)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps)
def test_any_sequence_of_requests_leaves_a_balanced_ledger_and_refusals_write_nothing(version, sequence):
    store = {"orders": {11: make_order(version)}, "regions": {3: "华中"}, "ledgers": {}, "photos": {}}
    photos = MemoryPhotoStore()
    sha = sp.upload_photo(11, JPEG, None, FakeUow(store, STORE), lambda: NOW, photos).sha256

    def uow(actor):
        return FakeUow(store, actor)

    for movement, line_no, qty in sequence:
        before = copy.deepcopy(store["ledgers"].get(11))
        extra = {"serial": "LZZ1", "photo_sha256": sha} if (movement, line_no) == ("receive", 1) else {}
        try:
            move(uow, PROD, movement, line_no, qty, **extra)
        except (Conflict, InvalidValue):
            after = store["ledgers"].get(11)
            assert (before is None and after is None) or len(after.entries) == len(before.entries)
        ledger = store["ledgers"].get(11)
        for b in (ledger.balances() if ledger else []):
            assert b.balanced and b.received <= b.expected


class FakeDeadlines:
    def __init__(self, due):
        self.due, self.asked = due, None

    def due_by(self, last_day, states):
        self.asked = (last_day, states)
        return [d for d in self.due if d.due_on <= last_day and d.state in states]


def test_the_delivery_rule_yields_due_soon_then_overdue_for_open_orders_only():
    day = dt.date(2026, 12, 10)
    orders = [DueOrder(1, "SO-1", 3, "宏达", "华中", "in_production", day, True, "油罐车", 2, "HT-1", 17),
              DueOrder(2, "SO-2", 3, "宏达", "华中", "completed", day, False, "油罐车", 1)]
    deadlines = FakeDeadlines(orders)
    rule = DeliveryDateReminderRule(7)

    class U:
        delivery_deadlines = deadlines

    at = lambda d: dt.datetime.combine(d, dt.time(2), dt.UTC)  # noqa: E731 — 10:00 in Beijing
    early = list(rule.evaluate(RuleContext(at(day - dt.timedelta(days=8)), U())))
    soon = list(rule.evaluate(RuleContext(at(day - dt.timedelta(days=7)), U())))
    late = list(rule.evaluate(RuleContext(at(day + dt.timedelta(days=1)), U())))

    assert early == []
    assert [c.key for c in soon] == ["order-1-due-2026-12-10"] and soon[0].severity.value == "warning"
    assert soon[0].audience.user_ids == (17,) and soon[0].audience.region == "华中"
    assert {r.value for r in soon[0].audience.roles} == {"sales", "region_manager", "production", "dispatch"}
    assert [c.key for c in late] == ["order-1-overdue-2026-12-10"] and late[0].severity.value == "critical"
    assert "completed" not in deadlines.asked[1] and "cancelled" not in deadlines.asked[1]
    with pytest.raises(ValueError):
        DeliveryDateReminderRule(-1)
