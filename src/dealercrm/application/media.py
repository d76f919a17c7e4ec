"""Use case of repair media (issue 18 §2): store one uploaded photo or video for an owner.

Every check runs before anything is written — the type from the bytes, the size for its kind,
a photo's pixel dimensions from its header, then the full decode that makes its thumbnail (a
truncated photo fails there); a video's structure — MP4/MOV boxes, WebM (EBML) elements — is probed
for its picture size and duration (a video cut off mid-upload fails there) — so a refused upload stores nothing. The bytes then go to the
content-addressed store (idempotent: an orphan if the transaction rolls back, never a wrong
file) and the row to the owner, in one transaction. Who may see or add to which owner is the
service's business (``services/media.py``).
"""

from __future__ import annotations

import attrs

from dealercrm.application.ports.aftersales import AftersalesUnitOfWork
from dealercrm.application.ports.media import ImageInspector, PhotoStore
from dealercrm.application.ports.persistence import Clock
from dealercrm.domain.errors import Conflict, InvalidValue, InvariantBroken
from dealercrm.domain.media import (
    Media,
    MediaKind,
    MediaLimits,
    OwnerType,
    check_dimensions,
    check_upload,
    probe_video,
)


@attrs.frozen
class UploadIn:
    owner_type: OwnerType
    owner_id: int
    data: bytes = attrs.field(repr=False)
    declared_type: str | None = None
    caption: str | None = None


@attrs.frozen
class CheckedUpload:
    content_type: str
    kind: MediaKind
    width: int | None
    height: int | None
    thumbnail: bytes | None = attrs.field(repr=False)
    duration_ms: int | None = None


def check_media(data: bytes, declared_type: str | None, limits: MediaLimits, images: ImageInspector) -> CheckedUpload:
    """The upload's real type and, for a photo, its dimensions and thumbnail; raises
    ``InvalidValue`` naming why it is refused. Writes nothing."""
    content_type, kind = check_upload(data, declared_type, limits)
    if kind is MediaKind.VIDEO:  # MP4/MOV boxes and WebM elements are probed: picture size, duration
        probe = probe_video(content_type, data)
        return CheckedUpload(content_type, kind, probe.width, probe.height, None, probe.duration_ms)
    if kind is not MediaKind.PHOTO:
        return CheckedUpload(content_type, kind, None, None, None)
    width, height = images.dimensions(data)
    check_dimensions(width, height, limits)
    return CheckedUpload(content_type, kind, width, height, images.thumbnail(data, limits.thumbnail_side))


def store_media(cmd: UploadIn, uow: AftersalesUnitOfWork, clock: Clock, store: PhotoStore, images: ImageInspector,
                limits: MediaLimits) -> Media:
    """Check, store and attach one file; returns the attached row (detached from the unit of work)."""
    checked = check_media(cmd.data, cmd.declared_type, limits, images)
    if cmd.owner_type.photos_only and checked.kind is not MediaKind.PHOTO:
        raise InvalidValue("file", f"{cmd.owner_type.label}图片只能是照片（JPEG、PNG 或 WebP）",
                           code="media.photo_only", owner_type=cmd.owner_type.value)
    now = clock()
    with uow:
        if uow.aftersales.media_count(cmd.owner_type.value, cmd.owner_id) >= limits.max_per_owner:
            raise Conflict(f"每个{cmd.owner_type.label}最多{limits.max_per_owner}个附件",
                           code="media.too_many", max_per_owner=limits.max_per_owner)
        sha256 = store.put(cmd.data)
        thumb = store.put(checked.thumbnail) if checked.thumbnail is not None else None
        media = Media(owner_type=cmd.owner_type, owner_id=cmd.owner_id, kind=checked.kind, uploaded_at=now,
                      uploaded_by=uow.actor.username[:60], sha256=sha256, content_type=checked.content_type,
                      size_bytes=len(cmd.data), width=checked.width, height=checked.height,
                      duration_ms=checked.duration_ms, thumbnail_sha256=thumb, caption=cmd.caption)
        uow.aftersales.add(media)
        uow.flush()
        if media.id is None:
            raise InvariantBroken("media has no id: not flushed")
        out = attrs.evolve(media)
        uow.commit()
    return out
