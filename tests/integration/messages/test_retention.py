"""Message retention on both engines (issue 21 §5): the scheduler's job deletes the messages
older than the configured period, with their attachments, and keeps the newer ones and the
conversation itself; a second run deletes nothing."""

from __future__ import annotations

import datetime as dt
import struct
import zlib

from sqlalchemy import func, select

import dealercrm
from dealercrm.adapters.db.messages import message_attachments
from dealercrm.application.alerts import RuleContext
from dealercrm.application.identity import CreateUser
from dealercrm.application.services.messages import Upload
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal, Role
from tests.fakes import FakeClock

NOW = dt.datetime(2026, 12, 6, 2, 0, tzinfo=dt.UTC)


def _png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = (b"\x00" + b"\x20\x80\x40" * 8) * 8
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_messages_older_than_the_retention_period_are_deleted_and_newer_ones_kept(db_url, tmp_path):
    clock = FakeClock(NOW)
    settings = load_settings({}, database_url=db_url, log_level="CRITICAL", photo_dir=str(tmp_path / "photos"),
                             message_retention_days=30)
    crm = dealercrm.bootstrap(settings, clock=clock)
    try:
        people = [Principal(crm.identity.create_user(Principal.system(), CreateUser(
            name, name.upper(), Role.PROCUREMENT.value, "Passw0rd!x")), name, Role.PROCUREMENT)
            for name in ("wangwu", "lisi")]
        a, b = people
        cid = crm.messages.start_direct(a, b.user_id)
        old = [crm.messages.post(a, cid, "旧消息一").id,
               crm.messages.post(b, cid, "旧照片", [Upload(_png(), "image/png")]).id]
        clock.advance(days=20)
        recent = crm.messages.post(a, cid, "二十天前的消息").id
        clock.advance(days=10, seconds=1)  # the first two are now 30 days and a second old
        job = next(j for j in crm.engagement.rules.jobs if j.code == "messages.retention")

        purged = job.run(RuleContext(clock(), None))  # type: ignore[arg-type]  # opens its own transactions
        again = job.run(RuleContext(clock(), None))  # type: ignore[arg-type]
        kept = [m.id for m in crm.messages.messages(a, cid)]
        with crm.engine.connect() as conn:
            files = conn.execute(select(func.count()).select_from(message_attachments)).scalar()
        listing, _ = crm.messages.conversations(b)
    finally:
        crm.close()

    assert (purged, again) == (2, 0)
    assert kept == [recent] and not set(old) & set(kept)
    assert files == 0
    assert [c.id for c in listing] == [cid]
