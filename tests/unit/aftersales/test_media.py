"""Repair media without a database: the type comes from the bytes (never the client's word),
sizes are bounded per kind, a photo's dimensions are bounded before it is decoded, a truncated
photo or MP4 video is refused, a video's picture size is probed, a photo gets a thumbnail, and a
refused upload stores nothing."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image

from dealercrm.adapters.files.images import PillowImageInspector
from dealercrm.adapters.files.photo_store import MemoryPhotoStore
from dealercrm.adapters.memory import memory_uow_factory
from dealercrm.application import media as md
from dealercrm.domain.errors import Conflict, InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.media import MediaKind, MediaLimits, OwnerType, check_upload, sniff_media_type

NOW = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)
STATION = Principal(3, "zhan1", Role.STATION, station_id=1)
LIMITS = MediaLimits(max_photo_bytes=200_000, max_video_bytes=400_000, max_image_side=2000,
                     max_image_pixels=2_000_000, thumbnail_side=64, max_per_owner=2)
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 100
MOV = b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  " + b"\x00" * 100
WEBM = b"\x1a\x45\xdf\xa3\x87\x42\x82\x84webm" + b"\x18\x53\x80\x67\x80"  # EBML header (DocType webm), an empty Segment


def clock() -> dt.datetime:
    return NOW


def image(fmt: str = "JPEG", size: tuple[int, int] = (640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(out, format=fmt)
    return out.getvalue()


@pytest.mark.parametrize("data,expected", [
    (image("JPEG"), ("image/jpeg", MediaKind.PHOTO)),
    (image("PNG"), ("image/png", MediaKind.PHOTO)),
    (image("WEBP"), ("image/webp", MediaKind.PHOTO)),
    (MP4, ("video/mp4", MediaKind.VIDEO)),
    (MOV, ("video/quicktime", MediaKind.VIDEO)),
    (WEBM, ("video/webm", MediaKind.VIDEO)),
    (b"%PDF-1.7\n", None),
    (b"GIF89a....", None),
    (b"<html><script>", None),
])
def test_the_type_is_read_from_the_magic_number(data, expected):
    assert sniff_media_type(data) == expected


def test_a_text_file_named_as_a_jpeg_is_refused_whatever_the_client_declared():
    with pytest.raises(InvalidValue) as e:
        check_upload(b"just text, not a photo", "image/jpeg", LIMITS)

    assert (e.value.code, e.value.details["field"]) == ("media.type_unsupported", "file")


def test_a_declared_type_that_disagrees_with_the_bytes_is_refused():
    with pytest.raises(InvalidValue) as e:
        check_upload(image("PNG"), "image/jpeg", LIMITS)

    assert e.value.code == "media.type_mismatch"


def test_photos_and_videos_have_their_own_size_limits():
    big_photo = b"\xff\xd8\xff" + b"\x00" * 250_000
    big_video = MP4 + b"\x00" * 250_000

    with pytest.raises(InvalidValue) as e:
        check_upload(big_photo, None, LIMITS)
    assert e.value.code == "media.too_large"
    assert check_upload(big_video, "video/mp4", LIMITS) == ("video/mp4", MediaKind.VIDEO)


def test_an_empty_file_is_refused():
    with pytest.raises(InvalidValue) as e:
        check_upload(b"", None, LIMITS)

    assert e.value.code == "media.empty"


def test_a_photo_wider_than_the_limit_is_refused_from_its_header():
    with pytest.raises(InvalidValue) as e:
        md.check_media(image("PNG", (2500, 10)), None, LIMITS, PillowImageInspector())

    assert e.value.code == "media.dimensions_too_large"


def test_a_truncated_photo_is_refused():
    data = image("JPEG", (800, 600))

    with pytest.raises(InvalidValue) as e:
        md.check_media(data[: len(data) // 2], None, LIMITS, PillowImageInspector())

    assert e.value.code == "media.truncated"


def _box(kind: bytes, payload: bytes) -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


def _recorded_mp4(width: int = 1920, height: int = 1080) -> bytes:
    """ftyp, the movie data, then the movie header at the end (as phones record): a sound track
    (0×0) and a picture track."""
    def track(w: int, h: int) -> bytes:
        tkhd = bytes(76) + (w << 16).to_bytes(4, "big") + (h << 16).to_bytes(4, "big")  # version 0: 84 bytes
        return _box(b"trak", _box(b"tkhd", tkhd))
    moov = _box(b"moov", _box(b"mvhd", bytes(100)) + track(0, 0) + track(width, height))
    return MP4[:24] + _box(b"mdat", b"\x11" * 5000) + moov


def test_a_recorded_video_is_probed_for_its_picture_size_and_a_cut_off_one_is_refused():
    video = _recorded_mp4()

    checked = md.check_media(video, "video/mp4", LIMITS, PillowImageInspector())
    with pytest.raises(InvalidValue) as cut:
        md.check_media(video[:3000], None, LIMITS, PillowImageInspector())  # the upload broke off inside mdat

    assert (checked.kind, checked.width, checked.height, checked.thumbnail) == (MediaKind.VIDEO, 1920, 1080, None)
    assert (cut.value.field, cut.value.code) == ("file", "media.truncated")
    assert md.check_media(MP4, None, LIMITS, PillowImageInspector()).width is None  # no movie header yet


def test_a_photo_gets_a_jpeg_thumbnail_within_the_thumbnail_side():
    checked = md.check_media(image("PNG", (640, 480)), "image/png", LIMITS, PillowImageInspector())

    thumb = Image.open(io.BytesIO(checked.thumbnail))
    assert (checked.width, checked.height) == (640, 480)
    assert thumb.format == "JPEG" and max(thumb.size) == 64


def test_a_stored_photo_is_kept_once_with_its_thumbnail_and_a_refused_one_stores_nothing():
    uow, store = memory_uow_factory(clock=clock), MemoryPhotoStore()
    photo = image()

    with pytest.raises(InvalidValue):
        md.store_media(md.UploadIn(OwnerType.REPAIR_RECORD, 20, b"MZ\x90\x00 an exe"), uow(STATION), clock, store,
                       PillowImageInspector(), LIMITS)
    assert store.blobs == {}
    media = md.store_media(md.UploadIn(OwnerType.REPAIR_RECORD, 20, photo, "image/jpeg", " 更换前 "), uow(STATION),
                           clock, store, PillowImageInspector(), LIMITS)

    assert media.id is not None and media.caption == "更换前"
    assert store.get(media.sha256) == photo
    assert store.get(media.thumbnail_sha256) is not None
    assert (media.kind, media.width, media.height, media.uploaded_by) == (MediaKind.PHOTO, 640, 480, "zhan1")


def test_an_owner_takes_at_most_the_configured_number_of_files():
    uow, store = memory_uow_factory(clock=clock), MemoryPhotoStore()
    for _ in range(2):
        md.store_media(md.UploadIn(OwnerType.CLAIM, 30, MP4), uow(STATION), clock, store, PillowImageInspector(),
                       LIMITS)

    with pytest.raises(Conflict) as e:
        md.store_media(md.UploadIn(OwnerType.CLAIM, 30, WEBM), uow(STATION), clock, store, PillowImageInspector(),
                       LIMITS)

    assert e.value.code == "media.too_many"
