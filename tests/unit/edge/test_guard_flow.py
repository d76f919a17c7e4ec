"""The guard flow with a locally made signing key and a scripted server: local verification
(offline too), journal first, one event per pass, refusals with the reason, replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dealercrm.adapters.gate_keys import public_key_info
from dealercrm.adapters.signing import Ed25519PassSigner
from dealercrm.domain.gate import qr_digest
from edge_agent.guard import Guard, KeyRing, Link, PassBook, Replayer
from edge_agent.journal import Journal
from edge_agent.server import ServerRefused

NOW = datetime(2026, 3, 7, 1, 0, tzinfo=UTC)
SIGNER = Ed25519PassSigner.generate()


def token(pass_no: str = "GP-2026-000001", *, signer: Ed25519PassSigner = SIGNER, hours: int = 24,
          start: datetime = NOW - timedelta(hours=1), typ: str = "gate_pass") -> str:
    return signer.sign({"typ": typ, "v": 1, "pass_no": pass_no, "vins": ["LZZ1CLVBXTA000001"], "id_hmac": "ab",
                        "valid_from": start.isoformat(), "valid_to": (start + timedelta(hours=hours)).isoformat(),
                        "kid": signer.kid})


def keys_of(*signers: Ed25519PassSigner) -> list[dict[str, object]]:
    return [public_key_info(s.public_key, i == 0) for i, s in enumerate(signers)]


def guard_for(server, tmp_path, clock=lambda: NOW):  # type: ignore[no-untyped-def]
    journal = Journal(tmp_path / "j.db")
    keys = KeyRing(tmp_path / "keys.json", keys_of(SIGNER))
    link = Link()
    return Guard(server, journal, keys, clock=clock, link=link), journal, link


def test_a_valid_pass_is_confirmed_online(FakeServer, tmp_path):
    server = FakeServer()
    guard, journal, _ = guard_for(server, tmp_path)

    result = guard.handle_scan(token() + "\r")

    assert result.ok and result.code == "ok" and "可以放行" in result.message and not result.queued
    [(name, (event_id, scanned_at))] = server.calls
    assert name == "exit" and event_id == result.event_id and scanned_at == NOW.isoformat()
    assert journal.get(event_id).state == "sent"


def test_forged_expired_early_and_foreign_codes_are_refused_locally(FakeServer, tmp_path):
    server = FakeServer(keys=keys_of(SIGNER))
    guard, journal, _ = guard_for(server, tmp_path)
    stranger = Ed25519PassSigner.generate()
    cases = [
        (token(signer=stranger), "gate_pass.forged", "签名无效"),
        (token()[:-4] + "AAAA", "gate_pass.forged", "签名无效"),
        (token(start=NOW - timedelta(hours=30)), "gate_pass.expired", "已过期"),
        (token(start=NOW + timedelta(hours=3)), "gate_pass.not_yet_valid", "尚未生效"),
        ("https://example.cn/not-a-pass", "gate_pass.malformed", "无法识别"),
        (token(typ="badge"), "gate_pass.malformed", "不是出门证"),
    ]
    for payload, code, words in cases:
        result = guard.handle_scan(payload)
        assert (result.ok, result.code) == (False, code) and words in result.message, (payload, result)
    assert list(journal) == [] and [n for n, _ in server.calls if n == "exit"] == []
    assert [n for n, _ in server.calls] == ["keys"]  # the unknown kid made it ask for rotated keys once


def test_a_rotated_key_is_fetched_and_then_trusted(FakeServer, tmp_path):
    rotated = Ed25519PassSigner.generate()
    server = FakeServer(keys=keys_of(rotated, SIGNER))
    guard, journal, _ = guard_for(server, tmp_path)

    result = guard.handle_scan(token(signer=rotated))

    assert result.ok and set(guard.keys.kids) == {rotated.kid, SIGNER.kid}
    assert KeyRing(tmp_path / "keys.json").kids == guard.keys.kids  # cached for offline use


def test_offline_the_exit_is_journaled_and_replayed_once(FakeServer, tmp_path):
    server = FakeServer()
    server.down = True
    guard, journal, link = guard_for(server, tmp_path)

    first = guard.handle_scan(token("GP-1"))
    second = guard.handle_scan(token("GP-2"))  # the link is known down: not even tried
    again = guard.handle_scan(token("GP-1"))

    assert first.ok and first.queued and second.ok and second.queued and not link.up
    assert not again.ok and again.code == "gate_pass.already_exited" and again.event_id == first.event_id
    assert journal.counts()["pending"] == 2 and len(server.calls) == 1

    replayer = Replayer(server, journal, link=link)
    assert replayer.replay_once() == (0, False)
    server.down = False
    assert replayer.replay_once() == (2, True)
    assert link.up and journal.counts() == {"pending": 0, "sent": 2, "refused": 0}
    sent = [arg for name, arg in server.calls if name == "exit"]
    assert sent[-2:] == [(first.event_id, NOW.isoformat()), (second.event_id, NOW.isoformat())]
    assert replayer.replay_once() == (0, True)  # nothing twice
    later = guard.handle_scan(token("GP-2"))
    assert not later.ok and "禁止重复使用" in later.message


def test_a_refusal_from_the_server_is_shown_and_kept(FakeServer, tmp_path):
    server = FakeServer()
    server.refuse_exit = ServerRefused(409, "gate_pass.voided", "出门证已作废", {"code": "gate_pass.voided"})
    guard, journal, _ = guard_for(server, tmp_path)

    result = guard.handle_scan(token("GP-9"))

    assert not result.ok and result.code == "gate_pass.voided" and "已作废" in result.message
    assert journal.get(result.event_id).state == "refused"


def test_a_refused_device_key_keeps_the_event_pending(FakeServer, tmp_path):
    server = FakeServer()
    server.refuse_exit = ServerRefused(401, "auth.device_key_revoked", "设备凭证已吊销", {})
    guard, journal, link = guard_for(server, tmp_path)

    result = guard.handle_scan(token("GP-7"))

    assert result.ok and result.queued and journal.get(result.event_id).state == "pending" and not link.up


def test_without_any_verification_key_the_guard_says_so(FakeServer, tmp_path):
    server = FakeServer()
    server.down = True
    guard = Guard(server, Journal(tmp_path / "j.db"), KeyRing(tmp_path / "keys.json"), clock=lambda: NOW)

    result = guard.handle_scan(token())

    assert not result.ok and result.code == "gate.no_verification_keys" and "验签公钥" in result.message
    server.down, server.keys = False, keys_of(SIGNER)
    assert guard.handle_scan(token()).ok  # fetched as soon as the server answers


# --- the pass book: what the server said about passes, for when it cannot be asked -------------


def book_of(*entries: tuple[str, str, str | None]) -> dict[str, object]:
    return {"as_of": NOW.isoformat(), "passes": [{"pass_no": n, "status": st, "qr_sha256": d} for n, st, d in entries]}


def test_offline_a_voided_used_or_rejected_pass_is_refused_from_the_book(FakeServer, tmp_path):
    server = FakeServer()
    server.book = book_of(("GP-2026-000001", "voided", None), ("GP-2026-000002", "exited", None),
                          ("GP-2026-000003", "rejected", None))
    guard, journal, link = guard_for(server, tmp_path)
    guard.book = PassBook(tmp_path / "passbook.json")
    assert guard.book.refresh(server)
    server.down = True
    link.failed("unreachable")

    results = [guard.handle_scan(token(f"GP-2026-00000{n}")) for n in (1, 2, 3)]

    assert [(r.ok, r.code) for r in results] == [
        (False, "gate_pass.voided"), (False, "gate_pass.already_exited"), (False, "gate_pass.rejected")]
    assert "已作废" in results[0].message and list(journal) == []  # nothing to replay: nothing was let out
    assert PassBook(tmp_path / "passbook.json").refusal("GP-2026-000001", token()) is not None  # survives a restart


def test_offline_the_old_qr_of_a_reissued_pass_is_refused_and_the_current_one_let_out(FakeServer, tmp_path):
    current = token(hours=20)
    server = FakeServer()
    server.book = book_of(("GP-2026-000001", "handed_over", qr_digest(current)))
    guard, journal, link = guard_for(server, tmp_path)
    guard.book.refresh(server)
    server.down = True
    link.failed("unreachable")

    old = guard.handle_scan(token(hours=24))
    new = guard.handle_scan(current)

    assert (old.ok, old.code) == (False, "gate_pass.superseded") and "联系发车处" in old.message
    assert (new.ok, new.code, new.queued) == (True, "ok.offline", True)
    assert [e.payload["qr_payload"] for e in journal] == [current]


def test_online_the_server_decides_a_qr_the_book_does_not_know(FakeServer, tmp_path):
    server = FakeServer()  # e.g. reissued after the book was fetched
    server.book = book_of(("GP-2026-000001", "handed_over", "0" * 64))
    guard, journal, _ = guard_for(server, tmp_path)
    guard.book.refresh(server)

    result = guard.handle_scan(token())

    assert (result.ok, result.code) == (True, "ok")
    assert [n for n, _ in server.calls] == ["book", "exit"]


def test_a_doubted_qr_whose_send_fails_is_refused_and_never_replayed(FakeServer, tmp_path):
    server = FakeServer()
    server.book = book_of(("GP-2026-000001", "approved", "0" * 64))
    guard, journal, link = guard_for(server, tmp_path)
    guard.book.refresh(server)
    server.down = True  # the link is believed up, the send fails

    result = guard.handle_scan(token())

    assert (result.ok, result.code) == (False, "gate_pass.superseded")
    assert [e.state for e in journal] == ["refused"]
    assert Replayer(server, journal, link=link).replay_once() == (0, True)


def test_a_malformed_book_from_the_server_keeps_the_cached_one(FakeServer, tmp_path):
    server = FakeServer()
    server.book = book_of(("GP-2026-000001", "voided", None))
    book = PassBook(tmp_path / "passbook.json")
    assert book.refresh(server)
    server.book = {"as_of": NOW.isoformat(), "passes": [{"status": "voided"}]}  # no pass number

    assert book.refresh(server) is False
    assert book.refusal("GP-2026-000001", token()).code == "gate_pass.voided"
    assert PassBook(tmp_path / "passbook.json").refusal("GP-2026-000001", token()) is not None


def test_the_guard_sees_the_masked_holder_online_from_the_answer_and_offline_from_the_book(FakeServer, tmp_path):
    first, second = token("GP-2026-000001"), token("GP-2026-000002")
    server = FakeServer()
    server.book = {"as_of": NOW.isoformat(), "passes": [
        {"pass_no": "GP-2026-000001", "status": "handed_over", "qr_sha256": qr_digest(first), "holder": "王*国"},
        {"pass_no": "GP-2026-000002", "status": "handed_over", "qr_sha256": qr_digest(second), "holder": "欧**明"}]}
    guard, _, link = guard_for(server, tmp_path)
    guard.book.refresh(server)

    online = guard.handle_scan(first)
    server.down = True
    link.failed("unreachable")
    offline = guard.handle_scan(second)

    assert (online.ok, online.holder) == (True, "王*国")
    assert (offline.ok, offline.queued, offline.holder) == (True, True, "欧**明")
