"""Demo data for customer-supplied chassis and parts: the demo order built on customer chassis
is submitted and approved, its first chassis is received with its frame number and a photo, and
the customer's Beidou terminals arrive. Idempotent: does nothing once that ledger has movements."""

from __future__ import annotations

import struct
import zlib
from typing import Any

from dealercrm.application.supplied_parts import MovementIn
from dealercrm.domain.identity import Principal, Role

STORE_CLERK = Principal(user_id=None, username="store_demo", role=Role.PROCUREMENT)


def demo_photo(width: int = 8, height: int = 6) -> bytes:
    """A small valid grey PNG (stands in for a phone photo of the chassis)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes([128]) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def seed_supplied_parts_demo(container: Any) -> int:
    """Returns the number of movements recorded (0 when already seeded or no such order)."""
    system = Principal.system()
    for row in container.orders.list_orders(system, {"states": ["draft"]}, None, 200):
        detail = container.orders.detail(system, row.id)
        parts = detail["supplied_parts"]
        if not any(str(p["kind"]) == "chassis" for p in parts):
            continue
        if container.supplied_parts.ledger(system, row.id)["movements"]:
            return 0
        dealer = Principal(user_id=None, username="demo", role=Role.DEALER, dealer_id=detail["dealer_id"])
        container.orders.submit(dealer, row.id)
        container.orders.start_review(system, row.id)
        container.orders.record_review_outcome(system, row.id, True)
        photo = container.supplied_parts.upload_photo(STORE_CLERK, row.id, demo_photo(), "image/png")
        ledger = container.supplied_parts.ledger(system, row.id)
        chassis = next(i for i in ledger["items"] if i["kind"] == "chassis")
        part = next((i for i in ledger["items"] if i["kind"] == "part"), None)
        container.supplied_parts.receive(STORE_CLERK, row.id, MovementIn(
            chassis["line_no"], 1, serial=chassis["serial"] or "LZZ5BLSD8NW654321", location="底盘库 3 号位",
            note="外观完好，随车工具齐全", photo_sha256=photo.sha256))
        if part is None:
            return 1
        container.supplied_parts.receive(STORE_CLERK, row.id, MovementIn(part["line_no"], part["expected"],
                                                                             location="配件库 A-12"))
        return 2
    return 0
