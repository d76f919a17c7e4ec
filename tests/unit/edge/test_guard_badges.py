"""The guard station with a staff badge reader: nobody signed in → no exit; an exit records which
guard's badge let the vehicles out, online and in the offline journal."""

from __future__ import annotations

import threading

import pytest

from dealercrm.adapters.devices.memory import FixedBadgeReader
from dealercrm.application.ports.devices import DeviceError
from edge_agent.guard import (
    BadgeBook,
    Guard,
    GuardSession,
    KeyRing,
    Link,
    Replayer,
    run_badge_desk,
)
from edge_agent.journal import Journal
from edge_agent.runner import StatusBoard
from edge_agent.supervisor import DeviceHealth

from .test_guard_flow import NOW, SIGNER, keys_of, token

BADGE = "04A1B2C3D4E5F6"
OTHER = "04FFEEDDCCBBAA"


def station(server, tmp_path):  # type: ignore[no-untyped-def]
    journal = Journal(tmp_path / "j.db")
    session = GuardSession(clock=lambda: NOW)
    guard = Guard(server, journal, KeyRing(tmp_path / "keys.json", keys_of(SIGNER)), clock=lambda: NOW,
                  link=Link(), session=session)
    return guard, session, journal


def test_exits_are_refused_while_nobody_is_signed_in_and_the_guard_is_told_to_tap_a_badge(FakeServer, tmp_path):
    server = FakeServer()
    guard, _, journal = station(server, tmp_path)

    result = guard.handle_scan(token())

    assert not result.ok and result.code == "gate.no_guard_signed_in"
    assert "刷工牌" in result.message and "不能放行" in result.message
    assert list(journal) == [] and server.calls == []


def test_an_exit_records_the_signed_in_guards_badge(FakeServer, tmp_path):
    server = FakeServer()
    guard, session, journal = station(server, tmp_path)

    assert session.tap(BADGE) == "signed_in"
    result = guard.handle_scan(token())

    assert result.ok and result.code == "ok" and result.guard_badge == BADGE
    entry = journal.get(result.event_id)
    assert entry.state == "sent" and entry.payload["guard_badge"] == BADGE


def test_offline_the_journal_keeps_the_guards_badge_and_the_replay_sends_the_exit(FakeServer, tmp_path):
    server = FakeServer()
    server.down = True
    guard, session, journal = station(server, tmp_path)
    session.tap(BADGE)

    result = guard.handle_scan(token("GP-9"))
    pending = journal.get(result.event_id)
    server.down = False
    Replayer(server, journal, link=guard.link).replay_once()

    assert result.ok and result.queued and result.guard_badge == BADGE
    assert pending.state == "pending" and pending.payload["guard_badge"] == BADGE
    assert journal.get(result.event_id).state == "sent"
    assert journal.get(result.event_id).payload["guard_badge"] == BADGE


def test_another_badge_takes_over_and_the_same_badge_again_signs_out(FakeServer, tmp_path):
    server = FakeServer()
    guard, session, _ = station(server, tmp_path)

    session.tap(BADGE)
    session.tap(OTHER)
    taken_over = guard.handle_scan(token("GP-1"))
    session.tap(OTHER)
    after = guard.handle_scan(token("GP-2"))

    assert taken_over.ok and taken_over.guard_badge == OTHER
    assert session.on_duty is None and after.code == "gate.no_guard_signed_in"


def test_a_refused_scan_names_no_guard(FakeServer, tmp_path):
    guard, session, _ = station(FakeServer(), tmp_path)
    session.tap(BADGE)

    result = guard.handle_scan("https://example.cn/not-a-pass")

    assert not result.ok and result.guard_badge is None


class TapSequence(FixedBadgeReader):
    """Hands out ``reads`` one poll at a time, then stops the desk."""

    def __init__(self, reads: list[str | None], stop: threading.Event) -> None:
        super().__init__()
        self.reads = list(reads)
        self.stop = stop

    def read_uid(self) -> str | None:
        if not self.reads:
            self.stop.set()
            return None
        return self.reads.pop(0)


def test_the_badge_desk_signs_in_on_a_tap_and_out_on_the_next_tap_of_the_same_badge():
    stop = threading.Event()
    session = GuardSession(clock=lambda: NOW)
    shown: list[str] = []
    # laid, still there, taken away, laid again
    reader = TapSequence([None, BADGE, BADGE, None, BADGE, None], stop)

    run_badge_desk(reader, session, stop, show=shown.append, interval=0)

    assert shown == ["门卫已签到（工牌 ****E5F6），可以扫码放行", "门卫已签退（工牌 ****E5F6），放行前请刷工牌签到"]
    assert session.on_duty is None


def test_a_failing_badge_reader_is_a_device_fault_for_the_supervisor():
    class Broken:
        def read_uid(self) -> str | None:
            raise DeviceError("读卡服务（pcscd）不可用", code="device.badge.pcscd_unavailable")

    health = DeviceHealth(["badge"])

    with pytest.raises(DeviceError):
        run_badge_desk(Broken(), GuardSession(), threading.Event(), health=health)

    assert health.snapshot()["badge"]["last_error"]["code"] == "device.badge.pcscd_unavailable"


def test_status_json_shows_who_is_on_duty_by_a_masked_badge(FakeServer, tmp_path):
    guard, session, journal = station(FakeServer(), tmp_path)
    board = StatusBoard(tmp_path / "status.json", journal, guard.link, ["guard"])
    board.session = session
    session.tap(BADGE)

    board.on_guard(guard.handle_scan(token()))
    snapshot = board.snapshot()

    assert snapshot["guard"]["on_duty"] == {"badge": "****E5F6", "since": NOW.isoformat(), "name": None}
    assert snapshot["guard"]["last"]["guard_badge"] == "****E5F6"
    assert BADGE not in (tmp_path / "status.json").read_text(encoding="utf-8")


def _book(secret: str = "device-secret", **badges: str) -> BadgeBook:
    from dealercrm.domain.identity import badge_digest

    return BadgeBook(secret, None, {"as_of": "2026-03-07T09:00:00+08:00", "badges": [
        {"digest": badge_digest(secret, uid), "purpose": purpose, "user_id": n, "name": f"员工{n}"}
        for n, (uid, purpose) in enumerate(badges.items(), start=1)]})


def test_with_a_badge_book_only_an_enrolled_guard_badge_signs_in():
    session = GuardSession(clock=lambda: NOW, book=_book(**{BADGE: "guard", OTHER: "maintenance"}))

    stranger = session.tap("0A0B0C0D")
    maintenance = session.tap(OTHER)
    malformed = session.tap("zz")
    guard = session.tap(BADGE)

    assert (stranger, maintenance, malformed) == ("badge_unknown",) * 3
    assert guard == "signed_in"
    assert session.on_duty is not None and session.on_duty.name == "员工1" and session.on_duty.user_id == 1


def test_an_unknown_badge_leaves_the_guard_on_duty_signed_in():
    session = GuardSession(clock=lambda: NOW, book=_book(**{BADGE: "guard"}))
    session.tap(BADGE)

    outcome = session.tap(OTHER)

    assert outcome == "badge_unknown"
    assert session.on_duty is not None and session.on_duty.badge_uid == BADGE


def test_a_book_of_another_device_knows_no_badge():
    mine = _book("this-device", **{BADGE: "guard"})
    theirs = BadgeBook("another-device", None, {"as_of": "2026-03-07T09:00:00+08:00", "badges": [
        {"digest": d, "purpose": "guard", "user_id": 1, "name": "员工1"} for d in mine._badges]})

    assert mine.holder(BADGE) is not None
    assert theirs.holder(BADGE) is None


def test_the_badge_book_is_cached_on_disk_and_a_malformed_answer_keeps_it(FakeServer, tmp_path):
    from dealercrm.domain.identity import badge_digest

    server = FakeServer()
    server.badges = {"as_of": "2026-03-07T09:00:00+08:00", "badges": [
        {"digest": badge_digest("s", BADGE), "purpose": "guard", "user_id": 4, "name": "王门卫"}]}
    assert BadgeBook("s", tmp_path / "badges.json").refresh(server)
    server.badges = {"badges": [{"no_digest": 1}]}
    cached = BadgeBook("s", tmp_path / "badges.json")

    refreshed = cached.refresh(server)

    assert not refreshed
    assert cached.holder(BADGE) == {"purpose": "guard", "name": "王门卫", "user_id": 4}
    assert BADGE not in (tmp_path / "badges.json").read_text(encoding="utf-8")


def test_the_exit_is_sent_with_the_journaled_badge(FakeServer, tmp_path):
    server = FakeServer()
    guard, session, _ = station(server, tmp_path)
    session.tap(BADGE)

    result = guard.handle_scan(token())

    assert server.guard_badges == {result.event_id: BADGE}


def test_the_client_sends_the_badge_only_as_this_devices_digest():
    import hashlib

    import httpx

    from dealercrm.domain.identity import badge_digest
    from edge_agent.server import KioskServer

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    api = KioskServer("http://kiosk.test", "dk_abc_secret", transport=httpx.MockTransport(handler))

    api.confirm_exit("qr", "evt-00000001", guard_badge=BADGE)
    api.report_status({"state": "running"})

    secret = hashlib.sha256(b"dk_abc_secret").hexdigest()
    exit_body, status_body = (r.read().decode() for r in seen)
    assert BADGE not in exit_body and badge_digest(secret, BADGE) in exit_body
    assert seen[1].url.path == "/api/v1/kiosk/status" and status_body == '{"report":{"state":"running"}}'


def test_a_failed_status_report_waits_for_the_next_round(FakeServer, tmp_path):
    from edge_agent.runner import report_status
    from edge_agent.server import ServerUnreachable

    class Down:
        def __init__(self) -> None:
            self.tries = 0

        def report_status(self, report):  # type: ignore[no-untyped-def]
            self.tries += 1
            raise ServerUnreachable("unreachable: ConnectError")

    journal = Journal(tmp_path / "j.db")
    board = StatusBoard(tmp_path / "status.json", journal, Link(), ["guard"])
    stop = threading.Event()
    stop.set()
    server = Down()

    report_status(server, board, stop)

    assert server.tries == 1
