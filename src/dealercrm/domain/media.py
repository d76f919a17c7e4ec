"""Repair media (维修照片/视频, issue 18 §2): photos and videos attached to a repair record, a
settlement claim, a major repair case or a knowledge article.

The bytes sit in the content-addressed store under their SHA-256 (the store that holds the
photos of customer-supplied parts); a :class:`Media` row ties them to one owner, so only those
who may see the owner may fetch them. What a file *is* comes from its first bytes (its magic
number), never from the content type the client declared; a declared type that disagrees is
refused. Sizes are bounded per kind, a photo's pixel dimensions are bounded too, and a photo
gets a thumbnail.

Records written before media existed kept free-text references (``RepairRecord.photos``); the
migration turned each into a ``link`` media row that keeps the text (``legacy_ref``) and has no
bytes.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import struct

import attrs

from dealercrm.domain.errors import InvalidValue


class MediaKind(enum.StrEnum):
    PHOTO = "photo"
    VIDEO = "video"
    LINK = "link"  # a free-text reference from before media were stored (no bytes here)

    @property
    def label(self) -> str:
        return {"photo": "照片", "video": "视频", "link": "外部引用"}[self.value]


class OwnerType(enum.StrEnum):
    """What a media file belongs to; who may see the owner may see the file."""

    REPAIR_RECORD = "repair_record"
    CLAIM = "claim"
    MAJOR_REPAIR = "major_repair"
    ARTICLE = "article"
    PART = "part"  # a part of the parts master (配件图片), by its id

    @property
    def label(self) -> str:
        return {"repair_record": "维修记录", "claim": "结算申请", "major_repair": "重大维修案例",
                "article": "知识文章", "part": "配件"}[self.value]

    @property
    def photos_only(self) -> bool:
        """A part's pictures show the part: photos only, no videos."""
        return self is OwnerType.PART


def owner_type_of(value: str) -> OwnerType:
    try:
        return OwnerType(value)
    except ValueError:
        raise InvalidValue("owner_type", "附件所属对象须为 repair_record、claim、major_repair、article 或 part",
                           code="media.owner_type_unknown") from None


PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/webm")
_QUICKTIME_BRANDS = {b"qt  "}


def sniff_media_type(data: bytes) -> tuple[str, MediaKind] | None:
    """(content type, kind) of the bytes by their signature, or ``None`` if not an allowed type:
    JPEG, PNG, WebP photos; MP4, QuickTime (``ftyp`` box) and WebM (EBML header) videos."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg", MediaKind.PHOTO
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png", MediaKind.PHOTO
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", MediaKind.PHOTO
    if len(data) >= 12 and data[4:8] == b"ftyp":
        box = int.from_bytes(data[:4], "big")
        if 8 <= box <= 4096:
            brand = data[8:12]
            return ("video/quicktime" if brand in _QUICKTIME_BRANDS else "video/mp4"), MediaKind.VIDEO
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm", MediaKind.VIDEO
    return None


_MP4_CONTAINERS = {b"moov", b"trak"}  # the boxes whose children the probe reads (mvhd lives in moov, tkhd in trak)


def _truncated_video() -> InvalidValue:
    return InvalidValue("file", "视频文件不完整（上传中断或文件已损坏），请重新上传", code="media.truncated")


def _mp4_boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """The boxes between ``start`` and ``end``: (type, payload start, box end). A box that claims
    to run past ``end`` — what an interrupted upload leaves — is ``media.truncated``."""
    out, pos = [], start
    while pos < end:
        if end - pos < 8:
            raise _truncated_video()
        size, kind, header = int.from_bytes(data[pos:pos + 4], "big"), data[pos + 4:pos + 8], 8
        if size == 1:  # a 64-bit size follows the type
            if end - pos < 16:
                raise _truncated_video()
            size, header = int.from_bytes(data[pos + 8:pos + 16], "big"), 16
        elif size == 0:  # the last box runs to the end of the file
            size = end - pos
        if size < header or pos + size > end:
            raise _truncated_video()
        out.append((kind, pos + header, pos + size))
        pos += size
    return out


@attrs.frozen
class VideoProbe:
    """What a video's header says: its picture size (the largest picture track) and its running
    time in milliseconds; each ``None`` when the header does not (yet) carry it."""

    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None


def _mp4_duration(data: bytes, a: int, b: int) -> int | None:
    """The movie's running time from an ``mvhd`` payload: (version 0) 4-byte times, timescale,
    4-byte duration; (version 1) 8-byte times and duration. An all-ones duration is unknown."""
    version = data[a] if b > a else None
    if version == 0 and b - a >= 20:
        scale, length, unknown = (int.from_bytes(data[a + 12:a + 16], "big"),
                                  int.from_bytes(data[a + 16:a + 20], "big"), 0xFFFFFFFF)
    elif version == 1 and b - a >= 32:
        scale, length, unknown = (int.from_bytes(data[a + 20:a + 24], "big"),
                                  int.from_bytes(data[a + 24:a + 32], "big"), 0xFFFFFFFFFFFFFFFF)
    else:
        return None
    return None if not scale or length == unknown else length * 1000 // scale


def probe_mp4(data: bytes) -> VideoProbe:
    """An MP4 or QuickTime video's picture size from its ``tkhd`` boxes (the largest picture track)
    and its duration from ``mvhd`` (timescale and duration), reading the box structure only — no
    decoder; ``None`` for what a file without its movie header yet lacks. A box structure that runs
    past the end of the bytes is ``media.truncated``."""
    width = height = duration = None

    def walk(start: int, end: int) -> None:
        nonlocal width, height, duration
        for kind, a, b in _mp4_boxes(data, start, end):
            if kind in _MP4_CONTAINERS:
                walk(a, b)
            elif kind == b"mvhd":
                duration = _mp4_duration(data, a, b)
            elif kind == b"tkhd" and b - a >= 84:  # its last 8 bytes: width, height in 16.16 fixed point
                w, h = int.from_bytes(data[b - 8:b - 4], "big") >> 16, int.from_bytes(data[b - 4:b], "big") >> 16
                if w and h and w * h > (width or 0) * (height or 0):
                    width, height = w, h

    walk(0, len(data))
    return VideoProbe(width, height, duration)


# Matroska/WebM element ids (with their length marker, as written)
_EBML_HEADER, _SEGMENT, _CLUSTER = 0x1A45DFA3, 0x18538067, 0x1F43B675
_INFO, _TIMECODE_SCALE, _DURATION = 0x1549A966, 0x2AD7B1, 0x4489
_TRACKS, _TRACK_ENTRY, _TRACK_TYPE, _VIDEO, _PIXEL_WIDTH, _PIXEL_HEIGHT = 0x1654AE6B, 0xAE, 0x83, 0xE0, 0xB0, 0xBA
_VIDEO_TRACK = 1


def _vint(data: bytes, pos: int, end: int, max_len: int) -> tuple[int, int, bool]:
    """An EBML variable-length integer at ``pos``: (value without its length marker, its length,
    whether every value bit is set — an element of unknown size)."""
    if pos >= end:
        raise _truncated_video()
    first = data[pos]
    length = 9 - first.bit_length() if first else 9
    if length > max_len:
        raise _truncated_video()  # not a valid EBML number: a damaged file
    if pos + length > end:
        raise _truncated_video()
    value = int.from_bytes(data[pos:pos + length], "big") & ((1 << (7 * length)) - 1)
    return value, length, value == (1 << (7 * length)) - 1


def _ebml_elements(data: bytes, start: int, end: int) -> list[tuple[int, int, int, bool]]:
    """The elements between ``start`` and ``end``: (id, payload start, payload end, unknown size).
    An element of unknown size (a live recording's Segment or Cluster) runs to ``end`` and is the
    last one read at its level; a known size that runs past ``end`` is ``media.truncated``."""
    out, pos = [], start
    while pos < end:
        _, id_len, _ = _vint(data, pos, end, 4)
        element_id = int.from_bytes(data[pos:pos + id_len], "big")  # ids are written with their marker
        size, size_len, unknown = _vint(data, pos + id_len, end, 8)
        a = pos + id_len + size_len
        if unknown:
            out.append((element_id, a, end, True))
            break
        if a + size > end:
            raise _truncated_video()
        out.append((element_id, a, a + size, False))
        pos = a + size
    return out


def _uint(data: bytes, a: int, b: int) -> int:
    return int.from_bytes(data[a:b], "big")


def probe_webm(data: bytes) -> VideoProbe:
    """A WebM (Matroska) video's picture size from ``Segment/Tracks/TrackEntry/Video``
    (PixelWidth, PixelHeight of the largest video track) and its duration from ``Segment/Info``
    (Duration × TimecodeScale nanoseconds), reading the element structure only — no decoder. A file
    cut off inside its header or an element of known size is ``media.truncated``; a live
    recording without a Duration has ``duration_ms`` None."""
    top = _ebml_elements(data, 0, len(data))
    if not top or top[0][0] != _EBML_HEADER or len(top) < 2 or top[1][0] != _SEGMENT:
        raise _truncated_video()  # the header alone: the upload broke off before the Segment
    width = height = None
    scale, duration = 1_000_000, None
    for element, a, b, unknown in _ebml_elements(data, top[1][1], top[1][2]):
        if element == _CLUSTER and unknown:
            break  # a live recording's cluster runs on: the headers we read come before it
        if element == _INFO:
            for child, c, d, _ in _ebml_elements(data, a, b):
                if child == _TIMECODE_SCALE and d > c:
                    scale = _uint(data, c, d)
                elif child == _DURATION and d - c in (4, 8):
                    duration = struct.unpack(">f" if d - c == 4 else ">d", data[c:d])[0]
        elif element == _TRACKS:
            for entry, c, d, _ in _ebml_elements(data, a, b):
                if entry != _TRACK_ENTRY:
                    continue
                fields = {k: (x, y) for k, x, y, _ in _ebml_elements(data, c, d)}
                if _TRACK_TYPE not in fields or _uint(data, *fields[_TRACK_TYPE]) != _VIDEO_TRACK or _VIDEO not in fields:
                    continue
                picture = {k: _uint(data, x, y) for k, x, y, _ in _ebml_elements(data, *fields[_VIDEO])}
                w, h = picture.get(_PIXEL_WIDTH, 0), picture.get(_PIXEL_HEIGHT, 0)
                if w and h and w * h > (width or 0) * (height or 0):
                    width, height = w, h
    duration_ms = None
    if duration is not None and math.isfinite(duration) and duration >= 0 and scale:
        duration_ms = round(duration * scale / 1_000_000)
    return VideoProbe(width, height, duration_ms)


def probe_video(content_type: str, data: bytes) -> VideoProbe:
    """The probe of a video of ``content_type`` (as :func:`sniff_media_type` named it)."""
    if content_type == "video/webm":
        return probe_webm(data)
    if content_type in ("video/mp4", "video/quicktime"):
        return probe_mp4(data)
    return VideoProbe()


@attrs.frozen
class MediaLimits:
    """The upload limits (``DEALERCRM_MEDIA_*`` settings)."""

    max_photo_bytes: int = 10 * 1024 * 1024
    max_video_bytes: int = 100 * 1024 * 1024
    max_image_side: int = 8000  # pixels, width or height
    max_image_pixels: int = 40_000_000
    thumbnail_side: int = 320
    max_per_owner: int = 30

    @property
    def max_upload_bytes(self) -> int:
        return max(self.max_photo_bytes, self.max_video_bytes)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g}MB"


def check_upload(data: bytes, declared_type: str | None, limits: MediaLimits) -> tuple[str, MediaKind]:
    """The file's real (content type, kind), or the reason it is refused: empty, not an allowed
    type, a declared type that disagrees with the bytes, or larger than its kind allows."""
    if not data:
        raise InvalidValue("file", "文件为空", code="media.empty")
    sniffed = sniff_media_type(data)
    if sniffed is None:
        raise InvalidValue("file", "仅支持 JPEG、PNG、WebP 照片和 MP4、MOV、WebM 视频", code="media.type_unsupported",
                           allowed=[*PHOTO_TYPES, *VIDEO_TYPES])
    content_type, kind = sniffed
    declared = (declared_type or "").split(";")[0].strip().lower()
    if declared and declared not in (content_type, "application/octet-stream"):
        raise InvalidValue("file", f"文件内容为 {content_type}，与声明的类型 {declared} 不符",
                           code="media.type_mismatch", detected=content_type, declared=declared)
    limit = limits.max_photo_bytes if kind is MediaKind.PHOTO else limits.max_video_bytes
    if len(data) > limit:
        raise InvalidValue("file", f"{kind.label}不能超过{_mb(limit)}", code="media.too_large",
                           max_bytes=limit, size_bytes=len(data))
    return content_type, kind


def check_dimensions(width: int, height: int, limits: MediaLimits) -> None:
    """A photo's pixel size must be positive and within the side and pixel-count limits (a
    decompression bomb is refused before it is decoded)."""
    if width <= 0 or height <= 0:
        raise InvalidValue("file", "图片尺寸无效", code="media.dimensions_invalid")
    if max(width, height) > limits.max_image_side or width * height > limits.max_image_pixels:
        raise InvalidValue("file", f"图片尺寸 {width}×{height} 超过上限（边长不超过{limits.max_image_side}像素，"
                                   f"总像素不超过{limits.max_image_pixels}）", code="media.dimensions_too_large",
                           width=width, height=height, max_side=limits.max_image_side)


@attrs.define(slots=False, eq=False)
class Media:
    """One stored photo or video (or a legacy text reference) of one owner."""

    owner_type: OwnerType
    owner_id: int
    kind: MediaKind
    uploaded_at: dt.datetime
    uploaded_by: str
    sha256: str | None = None
    content_type: str | None = None
    size_bytes: int = 0
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None  # a video's running time, when its header gives it
    thumbnail_sha256: str | None = None
    caption: str | None = None
    legacy_ref: str | None = None
    id: int | None = None

    def __attrs_post_init__(self) -> None:
        self.owner_type = OwnerType(self.owner_type)
        self.kind = MediaKind(self.kind)
        if self.caption is not None:
            self.caption = self.caption.strip() or None
            if self.caption is not None and len(self.caption) > 200:
                raise InvalidValue("caption", "说明不能超过200字", code="media.caption_too_long")
        if self.kind is not MediaKind.LINK and self.sha256 is None:
            raise InvalidValue("file", "照片/视频须有内容", code="media.empty")
