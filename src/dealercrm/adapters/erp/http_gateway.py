"""``HttpErpGateway``: the ERP port over the JSON-over-HTTP API of docs/erp-api.md.

One ``httpx.Client`` per gateway keeps connections alive between calls. Failures are mapped
once, here:

=============================================  ===========================================
timeout, connection refused/reset/dropped,      :class:`ErpUnavailable` (retry; creation is
5xx, 429, a 2xx body that is not the documented idempotent, so a retry after a timeout that
shape                                           came *after* the ERP committed returns the
                                                same tracking number)
404 on an order                                 :class:`ErpUnknownOrder`
other 4xx (401, 409, 422 …)                     :class:`ErpRejected` with the ERP's code/message
=============================================  ===========================================

``max_attempts`` > 1 retries transient failures in place (with the same idempotency key);
the default of 1 leaves retrying to the caller, normally the outbox relay.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import structlog

from dealercrm.adapters.erp import wire
from dealercrm.application.ports.erp import (
    ErpChangeAck,
    ErpChangeRequest,
    ErpEventPage,
    ErpOrderAck,
    ErpOrderState,
    ErpRejected,
    ErpSalesOrder,
    ErpUnavailable,
    ErpUnknownOrder,
)

log = structlog.get_logger(__name__)

API_PREFIX = "/erp/v1"


class HttpErpGateway:
    """The factory ERP's integration API, reached over HTTP with a bearer API key."""

    def __init__(self, base_url: str, api_key: str, timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None, *, max_attempts: int = 1,
                 backoff_seconds: float = 0.5, sleep: Callable[[float], None] = time.sleep) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=False,
        )
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._sleep = sleep

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpErpGateway:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the port -------------------------------------------------------------------------

    def create_sales_order(self, order: ErpSalesOrder, idempotency_key: str) -> ErpOrderAck:
        response = self._request("POST", f"{API_PREFIX}/sales-orders", json_body=wire.encode_sales_order(order),
                                 idempotency_key=idempotency_key, order_path=False)
        ack = self._decode(wire.decode_order_ack, response.json(), response.status_code == 200)
        log.info("erp_sales_order_acknowledged", contract_no=order.contract_no,
                 tracking_no=ack.tracking_no, replayed=ack.replayed)
        return ack

    def get_order(self, tracking_no: str) -> ErpOrderState:
        response = self._request("GET", f"{API_PREFIX}/sales-orders/{_segment(tracking_no)}", order_path=True)
        return self._decode(wire.decode_order_state, response.json())

    def forward_change(self, tracking_no: str, change: ErpChangeRequest, idempotency_key: str) -> ErpChangeAck:
        response = self._request("POST", f"{API_PREFIX}/sales-orders/{_segment(tracking_no)}/changes",
                                 json_body=wire.encode_change(change), idempotency_key=idempotency_key,
                                 order_path=True)
        return self._decode(wire.decode_change_ack, response.json(), response.status_code == 200)

    def fetch_events(self, after_cursor: str | None, limit: int) -> ErpEventPage:
        params: dict[str, Any] = {"limit": limit}
        if after_cursor is not None:
            params["after"] = after_cursor
        response = self._request("GET", f"{API_PREFIX}/events", params=params, order_path=False)
        return self._decode(wire.decode_event_page, response.json())

    # -- transport ------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, order_path: bool, json_body: Any = None,
                 idempotency_key: str | None = None, params: dict[str, Any] | None = None) -> _Answer:
        headers = {}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        content = None
        if json_body is not None:
            content = json.dumps(json_body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        attempt = 1
        while True:
            try:
                return self._once(method, path, headers, content, params, order_path)
            except ErpUnavailable as exc:
                if attempt >= self._max_attempts:
                    raise
                log.warning("erp_call_retrying", method=method, path=path, attempt=attempt, code=exc.code)
                self._sleep(self._backoff * 2 ** (attempt - 1))
                attempt += 1

    def _once(self, method: str, path: str, headers: dict[str, str], content: bytes | None,
              params: dict[str, Any] | None, order_path: bool) -> _Answer:
        try:
            response = self._client.request(method, path, headers=headers, content=content, params=params)
        except httpx.TimeoutException as exc:
            raise ErpUnavailable("ERP 响应超时", code="erp.timeout", path=path, reason=type(exc).__name__) from exc
        except httpx.TransportError as exc:
            # connection refused / reset / closed without an answer, protocol errors
            raise ErpUnavailable("无法连接 ERP", code="erp.connection_failed", path=path,
                                 reason=type(exc).__name__) from exc
        status = response.status_code
        body = _json_or_none(response)
        if 200 <= status < 300:
            if body is None:
                raise ErpUnavailable("ERP 返回了无法解析的应答", code="erp.bad_response", status=status)
            return _Answer(status, body)
        error = body.get("error") if isinstance(body, dict) else None
        erp_code = str(error.get("code", "")) if isinstance(error, dict) else ""
        message = str(error.get("message", "")) if isinstance(error, dict) else ""
        details = error.get("details") if isinstance(error, dict) and isinstance(error.get("details"), dict) else {}
        if status >= 500 or status == 429:
            raise ErpUnavailable(f"ERP 暂不可用（HTTP {status}）", code="erp.server_error", status=status,
                                 erp_code=erp_code)
        if status == 404 and order_path:
            raise ErpUnknownOrder(message or "ERP 中不存在该内部流转单号", erp_code=erp_code or "order_not_found",
                                  status=status, erp_details=details)
        log.warning("erp_request_rejected", path=path, status=status, erp_code=erp_code)
        raise ErpRejected(message or f"ERP 拒绝了请求（HTTP {status}）", erp_code=erp_code, status=status,
                          erp_details=details)

    @staticmethod
    def _decode(fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except wire.WireError as exc:
            raise ErpUnavailable("ERP 应答格式不符合接口文档", code="erp.bad_response", reason=str(exc)) from exc


class _Answer:
    __slots__ = ("status_code", "_body")

    def __init__(self, status_code: int, body: Any) -> None:
        self.status_code = status_code
        self._body = body

    def json(self) -> Any:
        return self._body


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return None


def _segment(value: str) -> str:
    if not isinstance(value, str) or not value:
        raise ErpUnknownOrder("内部流转单号为空", erp_code="order_not_found", status=None)
    return quote(value, safe="")
