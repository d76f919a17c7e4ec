"""The supplied-parts service (``crm.supplied_parts``): the ledger use cases of
``application.supplied_parts`` with their dependencies bound, each call one transaction; the
ledger and its photos read for callers who may see the order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dealercrm.application import supplied_parts as sp
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.ports.supplied_parts import PhotoStore, SuppliedPartsQueries, SuppliedPartsUnitOfWork
from dealercrm.domain.identity import Principal

SuppliedPartsUnitOfWorkFactory = Callable[[Principal], SuppliedPartsUnitOfWork]


class SuppliedPartsService:
    """Receive, issue and return customer-supplied parts; photos go to ``photo_store``."""

    def __init__(self, uow: SuppliedPartsUnitOfWorkFactory, clock: Clock, queries: SuppliedPartsQueries,
                 photo_store: PhotoStore) -> None:
        self._uow: SuppliedPartsUnitOfWorkFactory = uow
        self._clock: Clock = clock
        self.queries: SuppliedPartsQueries = queries
        self.photo_store: PhotoStore = photo_store

    def move(self, actor: Principal, order_id: int, movement: str, cmd: sp.MovementIn) -> sp.MovementDone:
        return sp.record_movement(order_id, movement, cmd, self._uow(actor), self._clock)

    def receive(self, actor: Principal, order_id: int, cmd: sp.MovementIn) -> sp.MovementDone:
        return self.move(actor, order_id, "receive", cmd)

    def issue(self, actor: Principal, order_id: int, cmd: sp.MovementIn) -> sp.MovementDone:
        return self.move(actor, order_id, "issue", cmd)

    def return_to_store(self, actor: Principal, order_id: int, cmd: sp.MovementIn) -> sp.MovementDone:
        return self.move(actor, order_id, "return_to_store", cmd)

    def return_to_customer(self, actor: Principal, order_id: int, cmd: sp.MovementIn) -> sp.MovementDone:
        return self.move(actor, order_id, "return_to_customer", cmd)

    def upload_photo(self, actor: Principal, order_id: int, data: bytes,
                     content_type: str | None = None) -> sp.PhotoStored:
        return sp.upload_photo(order_id, data, content_type, self._uow(actor), self._clock, self.photo_store)

    def ledger(self, actor: Principal, order_id: int) -> dict[str, Any]:
        """The order's ledger, if the caller may see the order (else ``NotFound``)."""
        return sp.ledger_view(actor, self.queries, order_id)

    def photo(self, actor: Principal, order_id: int, sha256: str) -> tuple[str, bytes]:
        """(content type, bytes) of a photo of an order the caller may see (else ``NotFound``)."""
        return sp.photo_bytes(actor, self.queries, self.photo_store, order_id, sha256)
