"""The message rules and the messages service on in-memory twins: who may write where, bad
input stores nothing, the edit window, read marks, and events only after a successful write."""

from __future__ import annotations

import datetime as dt

import pytest

from dealercrm.adapters.live import RecordingPublisher
from dealercrm.adapters.messages_memory import MemoryFloodLimit, MemoryMessageStore
from dealercrm.application.ports.messages import UserCard
from dealercrm.application.services.messages import MessagesService
from dealercrm.domain import messages as rules
from dealercrm.domain.errors import (
    Conflict,
    InvalidValue,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.media import MediaLimits
from tests.fakes import FakeClock

NOW = dt.datetime(2026, 12, 6, 2, 0, tzinfo=dt.UTC)
DEALER_A = Principal(1, "dealer_a", Role.DEALER, dealer_id=10)
DEALER_B = Principal(2, "dealer_b", Role.DEALER, dealer_id=20)
REVIEWER = Principal(3, "reviewer", Role.PROCUREMENT)
PEOPLE = [UserCard(1, "dealer_a", "甲经销商", Role.DEALER, 10, None, True),
          UserCard(2, "dealer_b", "乙经销商", Role.DEALER, 20, None, True),
          UserCard(3, "reviewer", "王评审", Role.PROCUREMENT, None, None, True),
          UserCard(4, "gone", "离职者", Role.SALES, None, None, False)]


class FakeOrders:
    """Order 100 belongs to dealer 10: dealer 10 and staff see it, other dealers get 404."""

    def detail(self, actor: Principal, order_id: int) -> dict[str, object]:
        if order_id != 100 or (actor.role is Role.DEALER and actor.dealer_id != 10):
            raise NotFound("订单不存在", code="order.not_found")
        return {"order_no": "SO-100"}


class FakeMedia:
    limits = MediaLimits()
    images = None
    store = None


@pytest.fixture
def world():
    clock = FakeClock(NOW)
    store, published = MemoryMessageStore(PEOPLE), RecordingPublisher()
    service = MessagesService(clock, store, published, MemoryFloodLimit(3, dt.timedelta(minutes=1), clock),
                              FakeOrders(), None, None, FakeMedia())  # type: ignore[arg-type]
    return service, store, published, clock


def test_a_message_names_its_mentions_once_each():
    assert rules.mentioned_usernames("@reviewer 请看 @dealer_a，@reviewer") == ("reviewer", "dealer_a")


def test_empty_and_oversize_messages_are_refused():
    with pytest.raises(InvalidValue) as empty:
        rules.clean_body("   ")
    with pytest.raises(InvalidValue) as long:
        rules.clean_body("字" * (rules.MAX_BODY_CHARS + 1))

    assert empty.value.code == "message.empty"
    assert long.value.code == "message.too_long"
    assert rules.clean_body("", has_attachments=True) == ""


def test_only_the_author_changes_a_message_and_only_within_the_window():
    facts = rules.MessageFacts(1, author_id=7, created_at=NOW)

    rules.check_can_change(facts, 7, NOW + rules.EDIT_WINDOW, "编辑")
    with pytest.raises(Conflict):
        rules.check_can_change(facts, 7, NOW + rules.EDIT_WINDOW + dt.timedelta(seconds=1), "编辑")
    with pytest.raises(PermissionDenied):
        rules.check_can_change(facts, 8, NOW, "编辑")


def test_a_dealer_cannot_write_to_another_dealers_people(world):
    service, store, _published, _ = world

    with pytest.raises(InvalidValue) as err:
        service.start_direct(DEALER_A, 2)

    assert err.value.code == "message.unknown_recipient"
    assert store.conversations == {}


def test_unknown_or_inactive_recipients_are_refused(world):
    service, store, _, _ = world

    for uid in (99, 4):
        with pytest.raises(InvalidValue):
            service.start_group(REVIEWER, "评审组", [1, uid])

    assert store.conversations == {}


def test_one_pair_has_one_conversation_whoever_starts_it(world):
    service, _, _, _ = world

    assert service.start_direct(DEALER_A, 3) == service.start_direct(REVIEWER, 1)


def test_an_order_thread_is_for_those_who_may_see_the_order(world):
    service, store, _published, _ = world
    cid = service.record_thread(DEALER_A, "order", 100)

    with pytest.raises(NotFound):
        service.record_thread(DEALER_B, "order", 100)
    with pytest.raises(NotFound):
        service.post(DEALER_B, cid, "我能看吗")
    service.post(REVIEWER, cid, "@dealer_a 请补充底盘型号")

    assert store.member_ids(cid) == [1, 3]
    assert [r.body for r in store.rows.values()] == ["@dealer_a 请补充底盘型号"]
    assert store.rows[1].mentions == (1,)
    assert service.conversation(DEALER_A, cid).conversation.title == "订单 SO-100"


def test_posting_announces_to_members_only_after_it_is_stored(world):
    service, _store, published, _ = world
    cid = service.start_direct(DEALER_A, 3)

    with pytest.raises(InvalidValue):
        service.post(DEALER_A, cid, "")
    assert published.sent == []
    row = service.post(DEALER_A, cid, "您好")

    assert ((1, 3), {"type": "message", "change": "posted", "conversation_id": cid, "message_id": row.id,
                     "version": row.created_at.isoformat()}) in published.sent
    assert [e for _, e in published.sent if e["type"] == "unread"] == []  # the sockets derive it


def test_read_marks_count_unread_per_member(world):
    service, _, _, _ = world
    cid = service.start_direct(DEALER_A, 3)
    first = service.post(DEALER_A, cid, "一")
    service.post(DEALER_A, cid, "二")

    before = service.unread_total(REVIEWER)
    after = service.mark_read(REVIEWER, cid, first.id)

    assert (before, after, service.unread_total(DEALER_A)) == (2, 1, 0)


def test_flooding_is_refused_and_stores_nothing(world):
    service, store, _, clock = world
    cid = service.start_direct(DEALER_A, 3)
    for i in range(3):
        service.post(DEALER_A, cid, f"消息{i}")

    with pytest.raises(RateLimited):
        service.post(DEALER_A, cid, "第四条")
    clock.advance(minutes=1)
    service.post(DEALER_A, cid, "一分钟后")

    assert [r.body for r in store.rows.values()] == ["消息0", "消息1", "消息2", "一分钟后"]


def test_a_deleted_message_shows_as_deleted_and_late_edits_are_refused(world):
    service, store, _, clock = world
    cid = service.start_direct(DEALER_A, 3)
    kept, gone = service.post(DEALER_A, cid, "原文"), service.post(DEALER_A, cid, "发错了")

    service.delete(DEALER_A, gone.id)
    clock.advance(minutes=16)

    with pytest.raises(Conflict):
        service.edit(DEALER_A, kept.id, "改过")
    assert store.rows[gone.id].deleted_at is not None and store.rows[gone.id].body == ""
    assert service.unread_total(REVIEWER) == 1


def test_catch_up_returns_what_was_missed_in_order(world):
    service, _, _, clock = world
    cid = service.start_direct(DEALER_A, 3)
    seen = service.post(DEALER_A, cid, "看过了").id
    for text in ("甲", "乙", "丙"):
        clock.advance(minutes=1)
        service.post(DEALER_A, cid, text)

    missed = service.catch_up(REVIEWER, seen)

    assert [m.body for m in missed] == ["甲", "乙", "丙"]
