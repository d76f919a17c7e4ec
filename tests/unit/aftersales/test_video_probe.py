"""Video probes on tiny hand-built files (issue 18 §2): a WebM's picture size from
Segment/Tracks/Video and its duration from Info (Duration × TimecodeScale), an MP4/MOV's duration
from mvhd (duration ÷ timescale), and a WebM cut off mid-upload refused as ``media.truncated``
like a cut-off MP4."""

from __future__ import annotations

import struct

import pytest

from dealercrm.adapters.files.images import PillowImageInspector
from dealercrm.application import media as md
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.media import MediaKind, MediaLimits, VideoProbe, probe_mp4, probe_webm

LIMITS = MediaLimits(max_video_bytes=400_000)
UNKNOWN_SIZE = b"\x01\xff\xff\xff\xff\xff\xff\xff"  # what a live recorder writes for Segment and Cluster


def _size(n: int) -> bytes:
    return bytes([0x80 | n]) if n < 127 else b"\x01" + n.to_bytes(7, "big")


def _el(element_id: bytes, payload: bytes) -> bytes:
    return element_id + _size(len(payload)) + payload


HEADER = _el(b"\x1a\x45\xdf\xa3", _el(b"\x42\x82", b"webm"))


def _track(kind: int, width: int = 0, height: int = 0) -> bytes:
    video = _el(b"\xe0", _el(b"\xb0", width.to_bytes(2, "big")) + _el(b"\xba", height.to_bytes(2, "big")))
    return _el(b"\xae", _el(b"\xd7", b"\x01") + _el(b"\x83", bytes([kind])) + (video if kind == 1 else b""))


def _info(scale: int | None, duration: bytes | None) -> bytes:
    scale_el = _el(b"\x2a\xd7\xb1", scale.to_bytes(3, "big")) if scale is not None else b""
    return _el(b"\x15\x49\xa9\x66", scale_el + (_el(b"\x44\x89", duration) if duration is not None else b""))


def _webm(width: int = 1280, height: int = 720, *, scale: int | None = 1_000_000,
          duration: bytes | None = struct.pack(">d", 12345.0)) -> bytes:
    """EBML header, then a Segment of known size: Info, Tracks (a sound track, a picture track), a Cluster."""
    tracks = _el(b"\x16\x54\xae\x6b", _track(2) + _track(1, width, height))
    cluster = _el(b"\x1f\x43\xb6\x75", b"\x00" * 3000)
    return HEADER + _el(b"\x18\x53\x80\x67", _info(scale, duration) + tracks + cluster)


def _box(kind: bytes, payload: bytes) -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


def _mp4(mvhd: bytes, brand: bytes = b"isom") -> bytes:
    return _box(b"ftyp", brand + bytes(4)) + _box(b"mdat", b"\x11" * 500) + _box(b"moov", _box(b"mvhd", mvhd))


def test_a_webm_is_probed_for_its_picture_size_and_duration():
    video = _webm()

    checked = md.check_media(video, "video/webm", LIMITS, PillowImageInspector())

    assert probe_webm(video) == VideoProbe(1280, 720, 12345)
    assert (checked.content_type, checked.kind, checked.width, checked.height, checked.duration_ms) == (
        "video/webm", MediaKind.VIDEO, 1280, 720, 12345)


def test_a_webm_duration_counts_in_its_timecode_scale_and_may_be_a_short_float():
    half_milliseconds = _webm(scale=500_000, duration=struct.pack(">f", 4000.0))
    default_scale = _webm(scale=None, duration=struct.pack(">f", 1500.0))

    assert probe_webm(half_milliseconds).duration_ms == 2000
    assert probe_webm(default_scale).duration_ms == 1500  # TimecodeScale defaults to 1 ms


def test_a_live_recorded_webm_of_unknown_size_has_its_picture_size_but_no_duration():
    tracks = _el(b"\x16\x54\xae\x6b", _track(1, 640, 480))
    live = (HEADER + b"\x18\x53\x80\x67" + UNKNOWN_SIZE + _info(1_000_000, None) + tracks
            + b"\x1f\x43\xb6\x75" + UNKNOWN_SIZE + b"\xa3" * 200)

    assert probe_webm(live) == VideoProbe(640, 480, None)


@pytest.mark.parametrize("cut", [
    pytest.param(lambda v: v[:-100], id="inside-a-cluster"),
    pytest.param(lambda v: v[:60], id="inside-the-tracks"),
    pytest.param(lambda v: HEADER, id="after-the-header"),
    pytest.param(lambda v: v[:10], id="inside-the-header"),
])
def test_a_cut_off_webm_is_refused_as_truncated(cut):
    with pytest.raises(InvalidValue) as refused:
        md.check_media(cut(_webm()), None, LIMITS, PillowImageInspector())

    assert (refused.value.field, refused.value.code) == ("file", "media.truncated")


def test_an_mp4_or_mov_duration_comes_from_mvhd_in_either_version():
    v0 = bytes(4) + bytes(8) + (600).to_bytes(4, "big") + (7500).to_bytes(4, "big") + bytes(80)
    v1 = b"\x01" + bytes(3) + bytes(16) + (1000).to_bytes(4, "big") + (2**33).to_bytes(8, "big") + bytes(80)
    unknown = bytes(4) + bytes(8) + (600).to_bytes(4, "big") + b"\xff" * 4 + bytes(80)

    mov = md.check_media(_mp4(v0, b"qt  "), None, LIMITS, PillowImageInspector())

    assert probe_mp4(_mp4(v0)).duration_ms == 12500
    assert probe_mp4(_mp4(v1)).duration_ms == 2**33
    assert probe_mp4(_mp4(unknown)).duration_ms is None
    assert (mov.content_type, mov.duration_ms) == ("video/quicktime", 12500)
