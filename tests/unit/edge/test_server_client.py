"""The kiosk API client: device key header, answers, and the two kinds of failure."""

from __future__ import annotations

import socket

import httpx
import pytest

from edge_agent.server import KioskServer, ServerRefused, ServerUnreachable


def client(handler) -> KioskServer:  # type: ignore[no-untyped-def]
    return KioskServer("http://kiosk.test/", "dk_secret", transport=httpx.MockTransport(handler))


def test_calls_carry_the_device_key_and_the_event_id():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"pass_no": "GP-1", "status": "exited"})

    answer = client(handler).confirm_exit("qr", "evt-00000001", "2026-03-07T09:00:00+08:00")

    assert answer["status"] == "exited"
    [request] = seen
    assert request.url.path == "/api/v1/kiosk/exits" and request.headers["X-Device-Key"] == "dk_secret"
    assert request.read() == b'{"event_id":"evt-00000001","qr_payload":"qr","scanned_at":"2026-03-07T09:00:00+08:00"}'


def test_a_4xx_is_a_refusal_with_the_servers_code_and_detail():
    problem = {"type": "urn:x", "title": "状态冲突 Conflict", "status": 409, "detail": "出门证已使用",
               "code": "gate_pass.already_exited", "exited_at": "2026-03-07T09:00:00+08:00"}

    with pytest.raises(ServerRefused) as refused:
        client(lambda r: httpx.Response(409, json=problem)).confirm_exit("qr", "evt-00000001")

    assert (refused.value.status, refused.value.code, refused.value.detail) == (409, "gate_pass.already_exited",
                                                                                 "出门证已使用")
    assert refused.value.body["exited_at"] == problem["exited_at"]


def test_5xx_busy_and_transport_failures_are_unreachable():
    with pytest.raises(ServerUnreachable) as five:
        client(lambda r: httpx.Response(503, text="down")).whoami()
    assert five.value.status == 503
    with pytest.raises(ServerUnreachable):
        client(lambda r: httpx.Response(409, json={"code": "db.busy", "detail": "忙"})).whoami()

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ServerUnreachable, match="ConnectError"):
        client(refuse).verification_keys()

    with socket.socket() as s:  # a real closed port
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with KioskServer(f"http://127.0.0.1:{port}", "dk_x", connect_timeout=0.5) as real, \
            pytest.raises(ServerUnreachable):
        real.whoami()


def test_a_device_key_is_required():
    with pytest.raises(ValueError):
        KioskServer("http://kiosk.test", "")
