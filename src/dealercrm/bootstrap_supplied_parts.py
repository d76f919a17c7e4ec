"""The supplied-parts facade (``container.supplied_parts``): the ledger use cases of
``application.supplied_parts`` with their dependencies bound, each call one transaction.

Kept beside ``bootstrap.py`` because, like it, it names concrete adapters (the SQL read side and
the local-directory photo store). Replace the store by assigning ``photo_store``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from dealercrm.application import supplied_parts as sp
from dealercrm.domain.identity import Principal

if TYPE_CHECKING:
    from dealercrm.bootstrap import Container


def default_photo_dir(settings: Any) -> Path:
    """``DEALERCRM_PHOTO_DIR``; else ``photos/`` beside the SQLite file; else ``var/photos``."""
    if settings.photo_dir:
        return Path(settings.photo_dir)
    db = settings.sqlite_path()
    return db.parent / "photos" if db is not None else Path("var/photos")


@attrs.define
class SuppliedPartsService:
    _c: Any  # the container; resolvable at run time so Litestar can inject the facade
    photo_store: Any = None
    queries: Any = None

    def __attrs_post_init__(self) -> None:
        if self.photo_store is None:
            from dealercrm.adapters.files.photo_store import LocalDirectoryPhotoStore

            self.photo_store = LocalDirectoryPhotoStore(default_photo_dir(self._c.settings))
        if self.queries is None and self._c.engine is not None:
            from dealercrm.adapters.db.supplied_parts_queries import SqlSuppliedPartsQueries

            self.queries = SqlSuppliedPartsQueries(self._c.engine)

    def move(self, actor: Principal, order_id: int, movement: str, cmd: sp.MovementIn) -> sp.MovementDone:
        return sp.record_movement(order_id, movement, cmd, self._c.uow(actor), self._c.clock)

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
        return sp.upload_photo(order_id, data, content_type, self._c.uow(actor), self._c.clock, self.photo_store)

    def ledger(self, actor: Principal, order_id: int) -> dict[str, Any]:
        return sp.ledger_view(actor, self.queries, order_id)

    def photo(self, actor: Principal, order_id: int, sha256: str) -> tuple[str, bytes]:
        return sp.photo_bytes(actor, self.queries, self.photo_store, order_id, sha256)
