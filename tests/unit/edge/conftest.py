"""A scripted kiosk API for the flow unit tests (same methods and errors as ``KioskServer``)."""

from __future__ import annotations

from typing import Any

from edge_agent.server import ServerRefused, ServerUnreachable


class FakeKioskServer:
    def __init__(self, lookup: dict[str, Any] | None = None, keys: list[dict[str, Any]] | None = None) -> None:
        self.lookup = lookup or {"passes": [], "authorizations": [], "message": "未找到"}
        self.keys = keys or []
        self.down = False
        self.calls: list[tuple[str, Any]] = []
        self.exits: dict[str, dict[str, Any]] = {}  # event id → answer (idempotent like the server)
        self.exited: set[str] = set()
        self.refuse_exit: ServerRefused | None = None
        self.book: dict[str, Any] = {"as_of": "2026-03-07T09:00:00+08:00", "passes": []}
        self.badges: dict[str, Any] = {"as_of": "2026-03-07T09:00:00+08:00", "badges": []}
        self.guard_badges: dict[str, str] = {}  # event id → the guard's badge the exit was sent with

    def _reach(self, name: str, arg: Any) -> None:
        self.calls.append((name, arg))
        if self.down:
            raise ServerUnreachable("unreachable: ConnectError")

    def verification_keys(self) -> list[dict[str, Any]]:
        self._reach("keys", None)
        return self.keys

    def pass_book(self) -> dict[str, Any]:
        self._reach("book", None)
        return self.book

    def badge_book(self) -> dict[str, Any]:
        self._reach("badges", None)
        return self.badges

    def find_passes(self, id_number: str, event_id: str) -> dict[str, Any]:
        self._reach("lookup", id_number)
        return {"authorizations": [], "message": "", **self.lookup}  # the lists the server always sends

    def record_print(self, pass_no: str, event_id: str) -> dict[str, Any]:
        self._reach("print", (pass_no, event_id))
        return {"pass_no": pass_no, "print_count": 1, "reprint": False, "printed_at": "2026-03-07T09:00:00+08:00"}

    def confirm_exit(self, qr: str, event_id: str, scanned_at: str | None = None,
                     guard_badge: str | None = None) -> dict[str, Any]:
        self._reach("exit", (event_id, scanned_at))
        if guard_badge is not None:
            self.guard_badges[event_id] = guard_badge
        if event_id in self.exits:
            return self.exits[event_id]
        if self.refuse_exit is not None:
            raise self.refuse_exit
        pass_no = qr.split(":")[0] if ":" in qr else qr[:10]
        if qr in self.exited:
            raise ServerRefused(409, "gate_pass.already_exited", "出门证已使用", {"code": "gate_pass.already_exited"})
        self.exited.add(qr)
        at = scanned_at or "2026-03-07T09:00:00+08:00"
        answer = {"pass_no": pass_no, "status": "exited", "exited_at": at, "recorded_at": at, "vins": [],
                  "released": 1, "source": "kiosk", "event_id": event_id}
        self.exits[event_id] = answer
        return answer

    def printed(self) -> list[str]:
        return [arg[0] for name, arg in self.calls if name == "print"]


import pytest  # noqa: E402


@pytest.fixture
def FakeServer() -> type[FakeKioskServer]:  # noqa: N802 - a class handed to the tests
    return FakeKioskServer
