"""The media service's visibility rule on fakes (no database): a file is visible exactly to
those who may see its owner — the record's station, staff and finance for repair records and
claims; the audience for articles — and 404 to everyone else (another station, a dealer, a
kiosk), even where their role may not read the owner at all; adding needs a writer role too."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dealercrm.adapters.files.images import PillowImageInspector
from dealercrm.adapters.files.photo_store import MemoryPhotoStore
from dealercrm.adapters.memory import memory_uow_factory
from dealercrm.application.services.aftersales import AftersalesService
from dealercrm.application.services.media import MediaService
from dealercrm.domain.errors import InvalidValue, NotFound, PermissionDenied
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.media import MediaLimits

from .test_aftersales_service_access import (
    FINANCE,
    STAFF,
    STATION_1,
    FakeAftersalesQueries,
)
from .test_media import image

NOW = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)
STATION_2 = Principal(6, "zhan2", Role.STATION, station_id=2)
DEALER = Principal(4, "jxs7", Role.DEALER, dealer_id=7)
KIOSK = Principal(None, "device:北门", Role.KIOSK, device_id=1)
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 100


def clock() -> dt.datetime:
    return NOW


class Rows(FakeAftersalesQueries):
    """The after-sales fake plus media rows (kept by the memory unit of work's commits)."""

    def __init__(self, store: Any) -> None:
        super().__init__()
        self.records[20]["is_major"] = False
        self.uow_store = store

    def _media(self) -> list[Any]:
        state = getattr(self.uow_store, "aftersales", None)
        return sorted(state.media.values(), key=lambda m: m.id) if state else []

    @staticmethod
    def _row(m: Any) -> dict[str, Any]:
        return {"id": m.id, "owner_type": m.owner_type.value, "owner_id": m.owner_id, "kind": m.kind.value,
                "sha256": m.sha256, "thumbnail_sha256": m.thumbnail_sha256, "content_type": m.content_type}

    def media(self, media_id: int) -> dict[str, Any] | None:
        return next((self._row(m) for m in self._media() if m.id == media_id), None)

    def media_of(self, owner_type: str, owner_id: int) -> list[dict[str, Any]]:
        return [self._row(m) for m in self._media() if m.owner_type == owner_type and m.owner_id == owner_id]

    def part_no_of_id(self, part_id: int) -> str | None:
        return {5: "FV-2301"}.get(part_id)


class Articles:
    """Article 1 is for stations; article 2 is staff only."""

    def article(self, p: Principal, article_id: int) -> dict[str, Any] | None:
        if article_id == 1 and p.role in (Role.STATION, Role.AFTER_SALES, Role.ADMIN, Role.MARKETING):
            return {"id": 1}
        if article_id == 2 and p.role in (Role.AFTER_SALES, Role.ADMIN, Role.MARKETING):
            return {"id": 2}
        return None


@pytest.fixture
def media():
    uow = memory_uow_factory(clock=clock)
    rows = Rows(uow.store)
    store = MemoryPhotoStore()
    svc = MediaService(uow, clock, rows, AftersalesService(uow, clock, rows), Articles(), store,  # type: ignore[arg-type]
                       PillowImageInspector(), MediaLimits())
    return svc


def test_the_records_station_staff_and_finance_see_a_record_video_and_others_get_404(media):
    uploaded = media.upload(STATION_1, "repair_record", 20, MP4, "video/mp4")

    for who in (STATION_1, STAFF, FINANCE):
        assert media.content(who, uploaded["id"]) == ("video/mp4", MP4)
    for who in (STATION_2, DEALER, KIOSK):
        with pytest.raises(NotFound):
            media.get(who, uploaded["id"])
        with pytest.raises(NotFound):
            media.of_owner(who, "repair_record", 20)


def test_a_station_cannot_add_to_another_stations_claim_nor_finance_to_any(media):
    with pytest.raises(NotFound):
        media.upload(STATION_2, "claim", 30, MP4, None)
    with pytest.raises(PermissionDenied):
        media.upload(FINANCE, "claim", 30, MP4, None)

    assert media.upload(STATION_1, "claim", 30, MP4, None)["owner_type"] == "claim"


def test_a_record_not_flagged_major_is_no_major_repair_case(media):
    with pytest.raises(NotFound):
        media.upload(STAFF, "major_repair", 20, MP4, None)


def test_article_media_follow_the_articles_audience(media):
    for_stations = media.upload(STAFF, "article", 1, MP4, None)
    internal = media.upload(STAFF, "article", 2, MP4, None)

    assert media.get(STATION_2, for_stations["id"])["owner_id"] == 1
    with pytest.raises(NotFound):
        media.get(STATION_2, internal["id"])
    with pytest.raises(NotFound):
        media.get(DEALER, for_stations["id"])
    with pytest.raises(PermissionDenied):
        media.upload(STATION_1, "article", 1, MP4, None)


def test_a_video_has_no_thumbnail(media):
    uploaded = media.upload(STATION_1, "repair_record", 20, MP4, None)

    with pytest.raises(NotFound):
        media.content(STAFF, uploaded["id"], thumbnail=True)


def test_a_parts_pictures_are_photos_added_by_catalogue_editors_and_seen_by_every_catalogue_reader(media):
    photo = media.upload(STAFF, "part", 5, _png(), "image/png", "正面")

    with pytest.raises(InvalidValue) as video:
        media.upload(STAFF, "part", 5, MP4, None)
    with pytest.raises(PermissionDenied):
        media.upload(STATION_1, "part", 5, _png(), None)
    with pytest.raises(NotFound):
        media.upload(STAFF, "part", 99, _png(), None)

    assert video.value.code == "media.photo_only"
    for who in (DEALER, STATION_2, FINANCE):
        assert media.content(who, photo["id"], thumbnail=True)[0] == "image/jpeg"
    with pytest.raises(NotFound):
        media.get(KIOSK, photo["id"])


def _png() -> bytes:
    return image("PNG", (64, 48))
