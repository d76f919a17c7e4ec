"""Builders for ERP feed events (the in-memory ERP twin produces real ones elsewhere)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from dealercrm.application.ports.erp import (
    ErpChangeRecorded,
    ErpEventPage,
    ErpPaymentReceived,
    ErpStatusChanged,
    ErpVehicleStockedIn,
)
from dealercrm.domain.values import Money, Vin

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=CST)


class EventFactory:
    """Numbers events like the ERP does: global seq, per-order order_seq, unique event ids."""

    def __init__(self) -> None:
        self._seq = itertools.count(1)
        self._ids = itertools.count(1)
        self._order_seq: dict[str, itertools.count[int]] = {}
        self._vins = itertools.count(1)

    def _common(self, tracking_no: str, contract_no: str | None) -> dict[str, object]:
        seq = next(self._seq)
        order_seq = next(self._order_seq.setdefault(tracking_no, itertools.count(1)))
        return {"event_id": f"ev-{next(self._ids)}", "seq": seq, "tracking_no": tracking_no,
                "contract_no": contract_no, "order_seq": order_seq,
                "occurred_at": T0 + timedelta(minutes=seq)}

    def status(self, tracking_no: str, status: str, percent: int = 0, contract_no: str | None = None
               ) -> ErpStatusChanged:
        if status in ("inspected", "stocked"):
            percent = 100
        return ErpStatusChanged(**self._common(tracking_no, contract_no), status=status, percent=percent)

    def stock_in(self, tracking_no: str, vin: Vin | None = None, contract_no: str | None = None
                 ) -> ErpVehicleStockedIn:
        common = self._common(tracking_no, contract_no)
        vin = vin or Vin.build("LA9", "GJY9A", "T", "B", f"{next(self._vins):06d}")
        return ErpVehicleStockedIn(**common, vin=vin, line_no=1, stocked_at=common["occurred_at"])

    def change(self, tracking_no: str, change_id: str, contract_no: str | None = None) -> ErpChangeRecorded:
        return ErpChangeRecorded(**self._common(tracking_no, contract_no), change_id=change_id,
                                 change_no=f"CR-{change_id}", description="罐体容积由30方改为32方")

    def payment(self, erp_payment_id: str, contract_no: str | None, fen: int, dealer_code: str = "D001"
                ) -> ErpPaymentReceived:
        seq = next(self._seq)
        at = T0 + timedelta(minutes=seq)
        return ErpPaymentReceived(event_id=f"ev-{next(self._ids)}", seq=seq, tracking_no=None,
                                  contract_no=contract_no, occurred_at=at, erp_payment_id=erp_payment_id,
                                  dealer_code=dealer_code, amount=Money(fen), received_at=at)


def page(*events: object, cursor: str | None = None, has_more: bool = False) -> ErpEventPage:
    last = max((e.seq for e in events), default=0)  # type: ignore[attr-defined]
    return ErpEventPage(tuple(events), cursor if cursor is not None else str(last), has_more)


@pytest.fixture
def events() -> EventFactory:
    return EventFactory()


@pytest.fixture
def make_page():  # type: ignore[no-untyped-def]
    return page


@pytest.fixture
def event_factory_class() -> type[EventFactory]:
    return EventFactory
