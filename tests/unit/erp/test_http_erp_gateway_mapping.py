"""HttpErpGateway's error mapping and wire decoding, against httpx.MockTransport (no sockets)."""

from __future__ import annotations

import json

import httpx
import pytest

from dealercrm.adapters.erp.http_gateway import HttpErpGateway
from dealercrm.application.ports.erp import (
    ErpOrderLine,
    ErpRejected,
    ErpSalesOrder,
    ErpStatusChanged,
    ErpUnavailable,
    ErpUnknownOrder,
    ErpUnreadableEvent,
    ErpVehicleStockedIn,
)
from dealercrm.domain.values import Money, Vin

ORDER = ErpSalesOrder("HT-2026-000001", "SO-2026-000001", "D001",
                      (ErpOrderLine(1, "dump_truck", "ZX-25", 1, Money(28_000_000)),))
GOOD_VIN = Vin.build("LA9", "ZZX3D", "T", "B", "000001").value


def _gateway(handler, **kwargs) -> HttpErpGateway:  # type: ignore[no-untyped-def]
    return HttpErpGateway("http://erp.test", "k-123", timeout=1.0, transport=httpx.MockTransport(handler),
                          sleep=lambda _s: None, **kwargs)


def _error(status: int, code: str, message: str = "", **details: object) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message, "details": details}})


def test_create_sends_the_bearer_key_the_idempotency_key_and_the_documented_body():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["auth"] = request.headers["authorization"]
        seen["key"] = request.headers["idempotency-key"]
        seen["body"] = json.loads(request.content)
        return httpx.Response(201, json={"tracking_no": "JH2026000001", "status": "scheduled"})

    ack = _gateway(handler).create_sales_order(ORDER, "HT-2026-000001")

    assert ack.tracking_no == "JH2026000001"
    assert not ack.replayed
    assert seen["auth"] == "Bearer k-123"
    assert seen["key"] == "HT-2026-000001"
    assert seen["body"]["total_amount_fen"] == 28_000_000
    assert seen["body"]["lines"][0]["product_line"] == "dump_truck"


def test_a_200_answer_to_create_means_the_order_already_existed():
    gateway = _gateway(lambda r: httpx.Response(200, json={"tracking_no": "JH1", "status": "in_production"}))

    assert gateway.create_sales_order(ORDER, "HT-2026-000001").replayed


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_and_throttling_are_transient(status):
    gateway = _gateway(lambda r: _error(status, "internal_error"))

    with pytest.raises(ErpUnavailable):
        gateway.create_sales_order(ORDER, "HT-2026-000001")


def test_a_timeout_is_transient():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(ErpUnavailable) as caught:
        _gateway(handler).create_sales_order(ORDER, "HT-2026-000001")

    assert caught.value.code == "erp.timeout"


def test_a_dropped_connection_is_transient():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)

    with pytest.raises(ErpUnavailable) as caught:
        _gateway(handler).fetch_events(None, 10)

    assert caught.value.code == "erp.connection_failed"


def test_a_4xx_is_rejected_with_the_erps_code_and_reason():
    gateway = _gateway(lambda r: _error(422, "validation_failed", "数量须为正整数", field="lines[0].quantity"))

    with pytest.raises(ErpRejected) as caught:
        gateway.create_sales_order(ORDER, "HT-2026-000001")

    assert caught.value.erp_code == "validation_failed"
    assert caught.value.reason == "数量须为正整数"
    assert caught.value.details["erp_details"] == {"field": "lines[0].quantity"}


def test_a_404_on_an_order_is_an_unknown_order():
    gateway = _gateway(lambda r: _error(404, "order_not_found", "内部流转单号不存在"))

    with pytest.raises(ErpUnknownOrder):
        gateway.get_order("JH404")


def test_a_tracking_number_is_sent_as_one_path_segment():
    paths = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path)
        return _error(404, "order_not_found")

    with pytest.raises(ErpUnknownOrder):
        _gateway(handler).get_order("../_sim/reset")

    assert paths == [b"/erp/v1/sales-orders/..%2F_sim%2Freset"]


def test_a_2xx_answer_that_is_not_the_documented_shape_is_transient():
    gateway = _gateway(lambda r: httpx.Response(200, content=b"<html>proxy login</html>"))

    with pytest.raises(ErpUnavailable) as caught:
        gateway.create_sales_order(ORDER, "HT-2026-000001")

    assert caught.value.code == "erp.bad_response"


def test_retries_resend_the_same_idempotency_key_until_the_erp_answers():
    keys = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["idempotency-key"])
        if len(keys) < 3:
            raise httpx.ReadTimeout("timed out", request=request)
        return httpx.Response(200, json={"tracking_no": "JH9", "status": "scheduled"})

    ack = _gateway(handler, max_attempts=3).create_sales_order(ORDER, "HT-2026-000001")

    assert ack.tracking_no == "JH9"
    assert keys == ["HT-2026-000001"] * 3


def test_a_rejection_is_not_retried():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return _error(409, "contract_already_released")

    with pytest.raises(ErpRejected):
        _gateway(handler, max_attempts=5).create_sales_order(ORDER, "HT-2026-000001")

    assert len(calls) == 1


def _feed(*events: dict) -> httpx.Response:
    return httpx.Response(200, json={"events": list(events), "next_cursor": "9", "has_more": False})


def _envelope(seq: int, kind: str, data: dict, **extra: object) -> dict:
    return {"seq": seq, "event_id": f"ev-{seq}", "type": kind, "tracking_no": "JH1", "contract_no": "HT-1",
            "order_seq": seq, "occurred_at": "2026-03-02T08:00:00+08:00", "data": data, **extra}


def test_one_unreadable_event_does_not_spoil_the_page():
    bad_vin = GOOD_VIN[:8] + ("0" if GOOD_VIN[8] != "0" else "1") + GOOD_VIN[9:]
    gateway = _gateway(lambda r: _feed(
        _envelope(1, "status_changed", {"status": "in_production", "percent": 40}),
        _envelope(2, "vehicle_stocked_in", {"vin": bad_vin, "line_no": 1, "stocked_at": "2026-03-02T09:00:00+08:00"}),
        _envelope(3, "vehicle_stocked_in", {"vin": GOOD_VIN, "line_no": 1, "stocked_at": "2026-03-02T09:00:00+08:00"}),
        _envelope(4, "quality_alert", {}),
        _envelope(5, "status_changed", {"status": "in_production", "percent": 50}, occurred_at="2026-03-02T08:00:00"),
    ))

    page = gateway.fetch_events(None, 10)

    kinds = [type(e) for e in page.events]
    assert kinds == [ErpStatusChanged, ErpUnreadableEvent, ErpVehicleStockedIn, ErpUnreadableEvent,
                     ErpUnreadableEvent]
    assert page.events[2].vin == Vin(GOOD_VIN)
    assert page.next_cursor == "9"


def test_an_event_without_an_id_makes_the_page_unreadable():
    gateway = _gateway(lambda r: _feed({"seq": 1, "type": "status_changed"}))

    with pytest.raises(ErpUnavailable):
        gateway.fetch_events(None, 10)


def test_the_cursor_and_limit_are_sent_as_query_parameters():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.url.params))
        return _feed()

    _gateway(handler).fetch_events("41", 250)

    assert seen == [{"after": "41", "limit": "250"}]
