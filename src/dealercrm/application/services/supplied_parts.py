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
        """Record one movement (``receive``, ``issue``, ``return_to_store``, ``return_to_customer``) of a
        customer-supplied chassis or part (客户自带主机/配件) on an order's ledger; admin, production or
        procurement. Returns ``MovementDone``; ``InvalidValue`` (photo, serial, quantity), ``Conflict``
        (stale ledger version), ``IllegalTransition`` (order state), ``PermissionDenied``, ``NotFound``."""
        return sp.record_movement(order_id, movement, cmd, self._uow(actor), self._clock)

    def receive(self, actor: Principal, order_id: int, cmd: sp.MovementIn) -> sp.MovementDone:
        """Receive supplied items into the store (入库; a chassis needs a photo); as ``move``."""
        return self.move(actor, order_id, "receive", cmd)

    def issue(self, actor: Principal, order_id: int, cmd: sp.MovementIn) -> sp.MovementDone:
        """Issue supplied items to production (领用); as ``move``."""
        return self.move(actor, order_id, "issue", cmd)

    def return_to_store(self, actor: Principal, order_id: int, cmd: sp.MovementIn) -> sp.MovementDone:
        """Return issued items to the store (退库); as ``move``."""
        return self.move(actor, order_id, "return_to_store", cmd)

    def return_to_customer(self, actor: Principal, order_id: int, cmd: sp.MovementIn) -> sp.MovementDone:
        """Give supplied items back to the customer (退还客户); as ``move``."""
        return self.move(actor, order_id, "return_to_customer", cmd)

    def upload_photo(self, actor: Principal, order_id: int, data: bytes,
                     content_type: str | None = None) -> sp.PhotoStored:
        """Store a photo (JPEG, PNG, WebP, at most 5 MB) for the order's ledger; returns ``PhotoStored`` with
        the key a receipt names it by. Admin, production or procurement; ``InvalidValue``, ``PermissionDenied``, ``NotFound``."""
        return sp.upload_photo(order_id, data, content_type, self._uow(actor), self._clock, self.photo_store)

    def ledger(self, actor: Principal, order_id: int) -> dict[str, Any]:
        """The order's ledger, if the caller may see the order (else ``NotFound``)."""
        return sp.ledger_view(actor, self.queries, order_id)

    def photo(self, actor: Principal, order_id: int, sha256: str) -> tuple[str, bytes]:
        """(content type, bytes) of a photo of an order the caller may see (else ``NotFound``)."""
        return sp.photo_bytes(actor, self.queries, self.photo_store, order_id, sha256)
