"""The supplied-parts service's reads on a fake read side and the in-memory photo store (no
database): the ledger and its photos are shown to whoever may see the order, and are 404 to a
dealer of another order, to a station and to a missing order or photo."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest

from dealercrm.adapters.files.photo_store import MemoryPhotoStore
from dealercrm.adapters.memory import memory_uow_factory
from dealercrm.application.services.supplied_parts import SuppliedPartsService
from dealercrm.domain.errors import NotFound
from dealercrm.domain.identity import Principal, Role

NOW = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"x" * 64
PNG_SHA = hashlib.sha256(PNG).hexdigest()
DEALER_3 = Principal(5, "dealer01", Role.DEALER, dealer_id=3)
DEALER_4 = Principal(6, "dealer02", Role.DEALER, dealer_id=4)
STORE = Principal(21, "store01", Role.PROCUREMENT)
STATION = Principal(30, "zhan1", Role.STATION, station_id=1)


def clock() -> dt.datetime:
    return NOW


class FakeSuppliedPartsQueries:
    """Order 1 of dealer 3 declares two spare tyres; one photo was recorded for it."""

    def ledger(self, order_id: int) -> dict[str, Any] | None:
        if order_id != 1:
            return None
        return {"order": {"dealer_id": 3, "region": "华东", "order_no": "DD-2026-0001", "state": "approved"},
                "declared": [{"line_no": 1, "kind": "part", "description": "备胎", "quantity": 2, "serial": None}],
                "ledger": None, "items": [], "movements": []}

    def photo(self, order_id: int, sha256: str) -> dict[str, Any] | None:
        if order_id == 1 and sha256 == PNG_SHA:
            return {"sha256": PNG_SHA, "content_type": "image/png"}
        return None


@pytest.fixture
def svc() -> SuppliedPartsService:
    store = MemoryPhotoStore()
    store.put(PNG)
    return SuppliedPartsService(memory_uow_factory(clock=clock), clock, FakeSuppliedPartsQueries(), store)


@pytest.mark.parametrize("caller", [DEALER_4, STATION], ids=["other dealer", "station"])
def test_the_ledger_of_an_order_the_caller_may_not_see_is_not_found(svc, caller):
    with pytest.raises(NotFound):
        svc.ledger(caller, 1)
    with pytest.raises(NotFound):
        svc.photo(caller, 1, PNG_SHA)


@pytest.mark.parametrize("caller", [DEALER_3, STORE], ids=["own dealer", "store"])
def test_the_ledger_and_photos_are_shown_to_those_who_may_see_the_order(svc, caller):
    view = svc.ledger(caller, 1)
    content_type, data = svc.photo(caller, 1, PNG_SHA.upper())

    assert (view["order_no"], view["dealer_id"]) == ("DD-2026-0001", 3)
    assert [(i["line_no"], i["expected"]) for i in view["items"]] == [(1, 2)]
    assert (content_type, data) == ("image/png", PNG)


def test_a_missing_order_or_photo_is_not_found(svc):
    with pytest.raises(NotFound):
        svc.ledger(STORE, 2)
    with pytest.raises(NotFound):
        svc.photo(STORE, 1, "0" * 64)
