"""``InMemoryErpGateway``: the ERP twin for unit tests and the demo.

It runs the same book as the simulator server (:class:`ErpSimEngine` on an in-memory SQLite
database, or with ``path`` on a SQLite file that ``dealercrm erp-sim --state`` can serve later)
and decodes its answers with the same wire functions as :class:`HttpErpGateway`, so idempotent
creation, progress, VINs, events and faults behave exactly as over HTTP — minus the network.
Faults map to what the HTTP gateway would raise: a 500 to :class:`ErpUnavailable` before
anything happens, a timeout-after-commit to :class:`ErpUnavailable` after the order was
committed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from dealercrm.adapters.erp import wire
from dealercrm.adapters.erp.sim_engine import ErpSimEngine, SimApiError, SimFaults, _now
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


class InMemoryErpGateway:
    """An :class:`~dealercrm.application.ports.erp.ErpGateway` with a simulated ERP inside.

    Besides the port it offers the simulator's controls: :meth:`advance`,
    :meth:`record_payment`, :meth:`set_faults`, :meth:`orders`.
    """

    def __init__(self, *, faults: SimFaults | None = None, seed: int | None = 0,
                 clock: Callable[[], datetime] = _now, path: str = ":memory:") -> None:
        self.engine = ErpSimEngine(path, faults=faults, seed=seed, clock=clock)

    # -- the port -------------------------------------------------------------------------

    def create_sales_order(self, order: ErpSalesOrder, idempotency_key: str) -> ErpOrderAck:
        self._maybe_500()
        created, ack = self._call(self.engine.create_sales_order, idempotency_key, wire.encode_sales_order(order))
        self._maybe_timeout()
        return wire.decode_order_ack(ack, replayed=not created)

    def get_order(self, tracking_no: str) -> ErpOrderState:
        self._maybe_500()
        return wire.decode_order_state(self._call(self.engine.get_order, tracking_no))

    def forward_change(self, tracking_no: str, change: ErpChangeRequest, idempotency_key: str) -> ErpChangeAck:
        self._maybe_500()
        created, ack = self._call(self.engine.record_change, tracking_no, idempotency_key, wire.encode_change(change))
        self._maybe_timeout()
        return wire.decode_change_ack(ack, replayed=not created)

    def fetch_events(self, after_cursor: str | None, limit: int) -> ErpEventPage:
        self._maybe_500()
        return wire.decode_event_page(self._call(self.engine.events, after_cursor, limit))

    # -- simulator controls ---------------------------------------------------------------

    def advance(self, steps: int = 1, tracking_no: str | None = None, until: str | None = None) -> dict[str, Any]:
        return self._call(self.engine.advance, steps, tracking_no, until)

    def record_payment(self, dealer_code: str, amount_fen: int, contract_no: str | None = None,
                       erp_payment_id: str | None = None) -> str:
        _, payment = self._call(self.engine.record_payment, {
            "dealer_code": dealer_code, "amount_fen": amount_fen, "contract_no": contract_no,
            "erp_payment_id": erp_payment_id})
        return str(payment["erp_payment_id"])

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        return self._call(self.engine.set_faults, changes)

    def orders(self, contract_no: str | None = None) -> list[dict[str, Any]]:
        return self.engine.list_orders(contract_no)

    def close(self) -> None:
        self.engine.close()

    # -- internals ------------------------------------------------------------------------

    def _maybe_500(self) -> None:
        if self.engine.take_error_500():
            raise ErpUnavailable("ERP 返回 500（模拟故障）", code="erp.server_error", status=500)

    def _maybe_timeout(self) -> None:
        if self.engine.take_timeout_after_commit() is not None:
            raise ErpUnavailable("ERP 响应超时（模拟：已提交后超时）", code="erp.timeout")

    @staticmethod
    def _call(fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except SimApiError as exc:
            if exc.status == 404:
                raise ErpUnknownOrder(exc.message, erp_code=exc.code, status=404, erp_details=exc.details) from None
            raise ErpRejected(exc.message, erp_code=exc.code, status=exc.status,
                              erp_details=exc.details) from None
