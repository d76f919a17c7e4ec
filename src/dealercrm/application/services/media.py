"""The media service (``crm.media``): photos and videos of repair records, settlement claims,
major repair cases and knowledge articles (issue 18 §2).

The one access rule: a media file is visible to exactly those who may see its owner, and
anyone else — another station, a dealer, a device — gets 404, as if it did not exist. Owners
are checked through the after-sales service (records, claims, major repairs: the station sees
its own, staff and finance all, dealers none) and the knowledge read side (articles by their
audience). Adding needs, beyond seeing the owner, a writer role for that kind of owner.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dealercrm.application import aftersales as af
from dealercrm.application import knowledge as kb
from dealercrm.application import media as md
from dealercrm.application.services import parts_catalog as catalog
from dealercrm.application.access import not_found, require_role
from dealercrm.application.ports.aftersales import AftersalesQueries, AftersalesUnitOfWork
from dealercrm.application.ports.marketing import KnowledgeQueries
from dealercrm.application.ports.media import ImageInspector, PhotoStore
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.services.aftersales import AftersalesService
from dealercrm.domain.errors import NotFound, PermissionDenied
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.media import MediaLimits, OwnerType, owner_type_of
from dealercrm.domain.values import stored_id

AftersalesUnitOfWorkFactory = Callable[[Principal], AftersalesUnitOfWork]

#: Who may add media to each kind of owner (besides being able to see it).
WRITERS: dict[OwnerType, tuple[Role, ...]] = {
    OwnerType.REPAIR_RECORD: af.WORKERS,
    OwnerType.CLAIM: af.WORKERS,
    OwnerType.MAJOR_REPAIR: af.STAFF,
    OwnerType.ARTICLE: kb.EDITORS,
    OwnerType.PART: catalog.EDITORS,
}


class MediaService:
    """Upload, list and serve media; owns the visibility rule above."""

    def __init__(self, uow: AftersalesUnitOfWorkFactory, clock: Clock, queries: AftersalesQueries,
                 aftersales: AftersalesService, articles: KnowledgeQueries, store: PhotoStore,
                 images: ImageInspector, limits: MediaLimits) -> None:
        self._u: AftersalesUnitOfWorkFactory = uow
        self._clock: Clock = clock
        self.queries: AftersalesQueries = queries
        self.aftersales: AftersalesService = aftersales
        self.articles: KnowledgeQueries = articles
        self.store: PhotoStore = store
        self.images: ImageInspector = images
        self.limits: MediaLimits = limits

    def _see_owner(self, actor: Principal, owner_type: OwnerType, owner_id: int) -> None:
        """Raise 404 unless ``actor`` may see the owner (a role that may not read it at all is
        404 too: the owner does not exist for them)."""
        if actor.is_device or actor.role is Role.KIOSK:
            raise not_found(owner_type.value, owner_type.label)
        try:
            if owner_type is OwnerType.REPAIR_RECORD:
                self.aftersales.record(actor, owner_id)
            elif owner_type is OwnerType.CLAIM:
                self.aftersales.claim(actor, owner_id)
            elif owner_type is OwnerType.MAJOR_REPAIR:
                self.aftersales.major_repair(actor, owner_id)
            elif owner_type is OwnerType.PART:  # the catalogue is everyone's who reads it
                if actor.role not in catalog.READERS or self.queries.part_no_of_id(owner_id) is None:
                    raise not_found("part", "配件")
            elif self.articles.article(actor, owner_id) is None:
                raise not_found("article", "知识文章")
        except PermissionDenied:
            raise not_found(owner_type.value, owner_type.label) from None

    def upload(self, actor: Principal, owner_type: str, owner_id: int, data: bytes, declared_type: str | None,
               caption: str | None = None) -> dict[str, Any]:
        """Add a photo or video (附件) to a repair record, claim, major repair or knowledge article. The caller
        must see the owner (else ``NotFound``) and hold a writer role for it (stations and after-sales for
        records and claims, after-sales for major repairs, editors for articles; else ``PermissionDenied``).
        Returns the media row; ``InvalidValue`` (type, size, dimensions, caption)."""
        owner = owner_type_of(owner_type)
        self._see_owner(actor, owner, owner_id)
        require_role(actor, *WRITERS[owner])
        media = md.store_media(md.UploadIn(owner, owner_id, data, declared_type, caption), self._u(actor),
                               self._clock, self.store, self.images, self.limits)
        row = self.queries.media(stored_id(media.id))
        if row is None:
            raise not_found("media", "附件")
        return row

    def of_owner(self, actor: Principal, owner_type: str, owner_id: int) -> list[dict[str, Any]]:
        """The media of one owner, for whoever may see the owner; ``InvalidValue`` (owner type), ``NotFound``."""
        owner = owner_type_of(owner_type)
        self._see_owner(actor, owner, owner_id)
        return self.queries.media_of(owner.value, owner_id)

    def get(self, actor: Principal, media_id: int) -> dict[str, Any]:
        """One media file's row, for whoever may see its owner; ``NotFound`` otherwise."""
        row = self.queries.media(media_id)
        if row is None:
            raise not_found("media", "附件")
        try:
            self._see_owner(actor, OwnerType(str(row["owner_type"])), row["owner_id"])
        except NotFound:
            raise not_found("media", "附件") from None
        return row

    def content(self, actor: Principal, media_id: int, *, thumbnail: bool = False) -> tuple[str, bytes]:
        """(content type, bytes) of the file or of its thumbnail (a JPEG; photos only)."""
        row = self.get(actor, media_id)
        key = row["thumbnail_sha256"] if thumbnail else row["sha256"]
        data = self.store.get(key) if key else None
        if data is None:
            raise not_found("media_content", "附件内容")
        return ("image/jpeg" if thumbnail else row["content_type"]), data


__all__ = ["WRITERS", "MediaService"]
