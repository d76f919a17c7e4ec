"""The messages service on the real database, both engines: conversations, files in the media
store, read marks, edit and delete, the flood limit kept in the database, catch-up — and live
events only after a write commits."""

from __future__ import annotations

import datetime as dt
import struct
import zlib

import pytest

import dealercrm
from dealercrm.application.identity import CreateUser
from dealercrm.application.services.messages import Upload
from dealercrm.config import load_settings
from dealercrm.domain.errors import Conflict, InvalidValue, NotFound, RateLimited
from dealercrm.domain.identity import Principal, Role
from tests.fakes import FakeClock

NOW = dt.datetime(2026, 12, 6, 2, 0, tzinfo=dt.UTC)


def _png(width: int = 64, height: int = 48) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = (b"\x00" + b"\x80\x40\x20" * width) * height
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.fixture
def world(db_url, tmp_path):
    clock = FakeClock(NOW)
    settings = load_settings({}, database_url=db_url, log_level="CRITICAL", message_rate_per_minute=5,
                             photo_dir=str(tmp_path / "photos"))
    crm = dealercrm.bootstrap(settings, clock=clock)
    system = Principal.system()
    people = {}
    for key, name, role in (("wang", "wangwu", Role.PROCUREMENT), ("li", "lisi", Role.TECHNICAL),
                            ("zhao", "zhaoliu", Role.SALES)):
        uid = crm.identity.create_user(system, CreateUser(name, name.upper(), role.value, "Passw0rd!x"))
        people[key] = Principal(uid, name, role)
    events: list[tuple[list[str], dict]] = []
    crm.live.connect(lambda channels, event: events.append((channels, event)))
    yield crm, people, events, clock
    crm.close()


def test_a_conversation_carries_text_mentions_and_a_photo_with_read_marks(world):
    crm, p, events, _ = world
    svc = crm.messages
    cid = svc.start_group(p["wang"], "底盘选型", [p["li"].user_id, p["zhao"].user_id])

    first = svc.post(p["wang"], cid, "@lisi 请确认底盘 @nobody", [Upload(_png(), "image/png")])
    svc.post(p["zhao"], cid, "收到")
    content_type, data = svc.attachment(p["li"], first.attachments[0].id)
    thumb_type, _ = svc.attachment(p["li"], first.attachments[0].id, thumbnail=True)
    unread_before = svc.unread_total(p["li"])
    svc.mark_read(p["li"], cid, first.id)

    assert first.mentions == (p["li"].user_id,)
    assert (content_type, data[:4], thumb_type) == ("image/png", b"\x89PNG", "image/jpeg")
    assert (unread_before, svc.unread_total(p["li"]), svc.unread_total(p["wang"])) == (2, 1, 1)
    rows, cursor = svc.conversations(p["li"])
    assert [(r.title, r.unread, r.last_message_preview) for r in rows] == [("底盘选型", 1, "收到")]
    assert cursor is None
    posted = [e for _, e in events if e["type"] == "message"]
    assert [e["message_id"] for e in posted] == [first.id, first.id + 1]
    assert [channels for channels, e in events if e["type"] == "message"] == [["dealercrm_live"]] * 2
    assert sorted(posted[0]["user_ids"]) == sorted(u.user_id for u in p.values())  # one event for all members
    announced = svc.announced(first.id + 1, [p["wang"].user_id, p["li"].user_id, p["zhao"].user_id])
    assert announced is not None and announced.unread == {p["wang"].user_id: 1, p["li"].user_id: 1}


def test_bad_input_and_foreign_threads_store_nothing_and_send_nothing(world):
    crm, p, events, _ = world
    svc = crm.messages
    cid = svc.start_direct(p["wang"], p["li"].user_id)
    events.clear()

    with pytest.raises(InvalidValue):
        svc.post(p["wang"], cid, "字" * 2001)
    with pytest.raises(InvalidValue):
        svc.post(p["wang"], cid, "   ")
    with pytest.raises(InvalidValue):
        svc.post(p["wang"], cid, "看图", [Upload(b"not an image", "image/png")])
    with pytest.raises(NotFound):
        svc.post(p["zhao"], cid, "我不在这个会话里")
    with pytest.raises(InvalidValue):
        svc.start_direct(p["wang"], 999_999)

    assert svc.messages(p["wang"], cid) == []
    assert events == []


def test_the_flood_limit_holds_in_the_database_and_stores_nothing_over_it(world):
    crm, p, _, clock = world
    svc = crm.messages
    cid = svc.start_direct(p["wang"], p["li"].user_id)
    for i in range(5):
        svc.post(p["wang"], cid, f"第{i}条")

    with pytest.raises(RateLimited):
        svc.post(p["wang"], cid, "刷屏")
    clock.advance(minutes=1, seconds=1)
    svc.post(p["wang"], cid, "一分钟后")

    assert [m.body for m in svc.messages(p["li"], cid)][-2:] == ["第4条", "一分钟后"]


def test_edit_and_delete_within_the_window_show_as_such_and_later_are_refused(world):
    crm, p, _, clock = world
    svc = crm.messages
    cid = svc.start_direct(p["wang"], p["li"].user_id)
    a, b = svc.post(p["wang"], cid, "原话"), svc.post(p["wang"], cid, "说错了")

    svc.edit(p["wang"], a.id, "改过的话")
    svc.delete(p["wang"], b.id)
    clock.advance(minutes=20)

    with pytest.raises(Conflict):
        svc.edit(p["wang"], a.id, "太晚了")
    shown = svc.messages(p["li"], cid)
    assert [(m.body, m.edited_at is not None, m.deleted_at is not None) for m in shown] == [
        ("改过的话", True, False), ("", False, True)]
    assert svc.unread_total(p["li"]) == 1


def test_catch_up_brings_exactly_the_missed_messages_across_conversations(world):
    crm, p, _, _ = world
    svc = crm.messages
    one = svc.start_direct(p["wang"], p["li"].user_id)
    two = svc.start_group(p["zhao"], "评审群", [p["li"].user_id])
    seen = svc.post(p["wang"], one, "已读的").id
    svc.post(p["zhao"], two, "一")
    svc.post(p["wang"], one, "二")
    svc.start_direct(p["wang"], p["zhao"].user_id)
    svc.post(p["wang"], svc.start_direct(p["wang"], p["zhao"].user_id), "不是给 li 的")

    missed = svc.catch_up(p["li"], seen)

    assert [m.body for m in missed] == ["一", "二"]
