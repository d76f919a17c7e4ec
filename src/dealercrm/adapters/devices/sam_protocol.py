"""GA/T 467 SAM reader protocol: frames, checksum, status codes and the 256-byte text block.

Pure functions shared by the real adapter (``sam_serial``) and the pty simulator
(``sim.sam_reader``), so both sides are built from one reading of the protocol and the
unit tests pin that reading to the byte examples in DEVICES.md.

Host → reader: ``AA AA AA 96 69`` · LEN(2, BE) · CMD · PARA · DATA · CHK
Reader → host: ``AA AA AA 96 69`` · LEN(2, BE) · SW1 · SW2 · SW3 · DATA · CHK
LEN counts every byte after itself including CHK; CHK is the XOR of LEN … last DATA byte.

Whatever a reader sends that is not a well-formed response — a LEN below 4 or beyond any
reply, a bad CHK, noise where a frame should be, a frame cut off mid-transfer — is a
:class:`MalformedFrame`, a ``CardReadError`` like the reader's own failure statuses, so the
callers handle it as one and no ``ValueError`` ever escapes the adapter.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import attrs

from dealercrm.application.ports.devices import CardReadError, IdCardData
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.values import ChineseIdNumber

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"

# (CMD, PARA)
RESET_SAM = (0x10, 0xFF)
SAM_STATUS = (0x11, 0xFF)
READ_SAM_ID = (0x12, 0xFF)
FIND_CARD = (0x20, 0x01)
SELECT_CARD = (0x20, 0x02)
READ_TEXT_PHOTO = (0x30, 0x01)

SW3_OK = 0x90
SW3_CARD_FOUND = 0x9F
SW3_FIND_FAILED = 0x80
SW3_SELECT_FAILED = 0x81
SW3_READ_FAILED = 0x41
SW3_CHECKSUM = 0x10

# SW3 → (stable code suffix, Chinese message)
SW3_ERRORS: dict[int, tuple[str, str]] = {
    0x91: ("empty", "读卡器返回空数据"),
    0x10: ("checksum", "读卡器报告校验和错误"),
    0x11: ("length", "读卡器报告长度错误"),
    0x21: ("bad_command", "读卡器不支持该命令"),
    0x23: ("unauthorised", "读卡器越权操作"),
    0x24: ("unknown_error", "读卡器未知错误"),
    0x31: ("card_auth_failed", "卡片认证机具失败"),
    0x32: ("sam_auth_failed", "机具认证卡片失败"),
    0x33: ("verification", "信息验证错误"),
    0x40: ("unknown_card", "无法识别的卡类型"),
    0x41: ("read_failed", "读卡失败，请重新放置身份证"),
    0x47: ("random_failed", "取随机数失败"),
    0x60: ("sam_self_test", "SAM 自检失败"),
    0x66: ("sam_unauthorised", "SAM 未经授权"),
    0x80: ("find_failed", "未找到身份证"),
    0x81: ("select_failed", "选卡失败"),
}

TEXT_LEN = 256
PHOTO_LEN = 1024

# The longest reply (text + photo + fingerprint) has LEN 0x090A; anything far beyond is noise
# that happens to follow a preamble, not a frame worth waiting for.
MAX_FRAME_LEN = 4096
MIN_RESPONSE_LEN = 4  # SW1 SW2 SW3 CHK

# (offset, length) in bytes within the UCS-2LE text block
_FIELDS = {
    "name": (0, 30),
    "gender": (30, 2),
    "nation": (32, 4),
    "birth_date": (36, 16),
    "address": (52, 70),
    "id_number": (122, 36),
    "issuing_authority": (158, 30),
    "valid_from": (188, 16),
    "valid_to": (204, 16),
}

GENDERS = {"0": "未知", "1": "男", "2": "女", "9": "未说明"}

NATIONS = {
    "01": "汉", "02": "蒙古", "03": "回", "04": "藏", "05": "维吾尔", "06": "苗", "07": "彝",
    "08": "壮", "09": "布依", "10": "朝鲜", "11": "满", "12": "侗", "13": "瑶", "14": "白",
    "15": "土家", "16": "哈尼", "17": "哈萨克", "18": "傣", "19": "黎", "20": "傈僳", "21": "佤",
    "22": "畲", "23": "高山", "24": "拉祜", "25": "水", "26": "东乡", "27": "纳西", "28": "景颇",
    "29": "柯尔克孜", "30": "土", "31": "达斡尔", "32": "仫佬", "33": "羌", "34": "布朗",
    "35": "撒拉", "36": "毛南", "37": "仡佬", "38": "锡伯", "39": "阿昌", "40": "普米",
    "41": "塔吉克", "42": "怒", "43": "乌孜别克", "44": "俄罗斯", "45": "鄂温克", "46": "德昂",
    "47": "保安", "48": "裕固", "49": "京", "50": "塔塔尔", "51": "独龙", "52": "鄂伦春",
    "53": "赫哲", "54": "门巴", "55": "珞巴", "56": "基诺", "97": "其他",
    "98": "外国血统中国籍人士",
}
_GENDER_CODES = {v: k for k, v in GENDERS.items()}
_NATION_CODES = {v: k for k, v in NATIONS.items()}

LIFELONG = "长期"


# ---------------------------------------------------------------------------------------------
# Frames


def checksum(body: bytes) -> int:
    """XOR of every byte (callers pass LEN … last DATA byte)."""
    chk = 0
    for b in body:
        chk ^= b
    return chk


def build_request(cmd: int, para: int, data: bytes = b"") -> bytes:
    body = (len(data) + 3).to_bytes(2, "big") + bytes((cmd, para)) + data
    return PREAMBLE + body + bytes((checksum(body),))


def build_response(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    body = (len(data) + 4).to_bytes(2, "big") + bytes((sw1, sw2, sw3)) + data
    return PREAMBLE + body + bytes((checksum(body),))


@attrs.frozen
class Request:
    cmd: int
    para: int
    data: bytes
    checksum_ok: bool


@attrs.frozen
class Response:
    sw1: int
    sw2: int
    sw3: int
    data: bytes


class MalformedFrame(CardReadError):
    """The reader sent something that is not a well-formed response frame.

    ``code`` says what: ``device.id_card.bad_length`` (LEN below 4 or beyond any reply),
    ``device.id_card.checksum`` (CHK mismatch), ``device.id_card.garbled_frame`` (bytes but no
    frame), ``device.id_card.truncated_frame`` (a frame cut off mid-transfer).
    """

    code = "device.id_card.malformed_frame"


class FrameChecksumError(MalformedFrame):
    """A frame arrived whole but its CHK byte does not match."""

    code = "device.id_card.checksum"

    def __init__(self, message: str = "身份证阅读器应答校验失败", **details: Any) -> None:
        super().__init__(message, **details)


def bad_length(length: int) -> MalformedFrame:
    return MalformedFrame("身份证阅读器应答长度错误", code="device.id_card.bad_length", length=length)


def split_frame(buffer: bytes | bytearray) -> tuple[bytes | None, int]:
    """Find the first whole frame in ``buffer``.

    Returns ``(frame_body, consumed)`` where ``frame_body`` is LEN … CHK (preamble stripped),
    or ``(None, consumed)`` when no whole frame is there yet; ``consumed`` bytes of leading
    garbage may be dropped by the caller either way. A LEN above ``MAX_FRAME_LEN`` raises
    ``MalformedFrame`` at once rather than waiting for kilobytes that will never come.
    """
    start = bytes(buffer).find(PREAMBLE)
    if start < 0:
        # Keep a possible partial preamble at the end.
        keep = 0
        for n in range(len(PREAMBLE) - 1, 0, -1):
            if bytes(buffer[-n:]) == PREAMBLE[:n]:
                keep = n
                break
        return None, len(buffer) - keep
    head = start + len(PREAMBLE)
    if len(buffer) < head + 2:
        return None, start
    length = int.from_bytes(buffer[head:head + 2], "big")
    if length > MAX_FRAME_LEN:
        raise bad_length(length)
    end = head + 2 + length
    if len(buffer) < end:
        return None, start
    return bytes(buffer[head:end]), end


def parse_request(body: bytes) -> Request:
    length = int.from_bytes(body[:2], "big")
    if length < 3 or len(body) != length + 2:
        raise ValueError("bad request length")
    return Request(
        cmd=body[2], para=body[3], data=bytes(body[4:-1]),
        checksum_ok=checksum(body[:-1]) == body[-1],
    )


def parse_response(body: bytes) -> Response:
    """Parse LEN … CHK of a reader response.

    Raises ``MalformedFrame`` (``device.id_card.bad_length``) when LEN is below 4 or does not
    match the bytes given, ``FrameChecksumError`` on a bad CHK.
    """
    length = int.from_bytes(body[:2], "big") if len(body) >= 2 else -1
    if length < MIN_RESPONSE_LEN or len(body) != length + 2:
        raise bad_length(length)
    if checksum(body[:-1]) != body[-1]:
        raise FrameChecksumError()
    return Response(sw1=body[2], sw2=body[3], sw3=body[4], data=bytes(body[5:-1]))


def error_for_sw3(sw3: int, operation: str) -> CardReadError:
    suffix, message = SW3_ERRORS.get(sw3, ("unknown_status", f"读卡器返回未知状态 0x{sw3:02X}"))
    return CardReadError(message, sw3=sw3, code=f"device.id_card.{suffix}", operation=operation)


# ---------------------------------------------------------------------------------------------
# Text block


def _field(block: bytes, name: str) -> str:
    offset, length = _FIELDS[name]
    return block[offset:offset + length].decode("utf-16-le").rstrip(" \x00")


def _date(value: str, field: str) -> date:
    if len(value) != 8 or not value.isdigit():
        raise CardReadError("身份证日期字段无法解析", code="device.id_card.bad_data", field=field)
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise CardReadError("身份证日期字段无法解析", code="device.id_card.bad_data",
                            field=field) from None


def parse_text_block(block: bytes) -> IdCardData:
    """Decode the 256-byte UCS-2LE text block; raises ``CardReadError`` on nonsense."""
    if len(block) != TEXT_LEN:
        raise CardReadError("身份证文字信息长度错误", code="device.id_card.bad_data",
                            length=len(block))
    try:
        fields = {name: _field(block, name) for name in _FIELDS}
    except UnicodeDecodeError:
        raise CardReadError("身份证文字信息无法解码", code="device.id_card.bad_data") from None
    try:
        id_number = ChineseIdNumber(fields["id_number"]).value
    except InvalidValue:
        raise CardReadError("身份证号码校验失败", code="device.id_card.bad_id_number") from None
    valid_to_raw = fields["valid_to"]
    return IdCardData(
        name=fields["name"],
        gender=GENDERS.get(fields["gender"], "未知"),
        nation=NATIONS.get(fields["nation"], fields["nation"]),
        birth_date=_date(fields["birth_date"], "birth_date"),
        address=fields["address"],
        id_number=id_number,
        issuing_authority=fields["issuing_authority"],
        valid_from=_date(fields["valid_from"], "valid_from"),
        valid_to=None if valid_to_raw == LIFELONG else _date(valid_to_raw, "valid_to"),
    )


def _put(block: bytearray, name: str, value: str) -> None:
    offset, length = _FIELDS[name]
    raw = value.encode("utf-16-le")
    if len(raw) > length:
        raise ValueError(f"{name} longer than {length // 2} characters")
    block[offset:offset + length] = raw + " ".encode("utf-16-le") * ((length - len(raw)) // 2)


def build_text_block(card: IdCardData) -> bytes:
    """The inverse of ``parse_text_block`` (simulators and tests build cards with it)."""
    block = bytearray(" ".encode("utf-16-le") * (TEXT_LEN // 2))
    _put(block, "name", card.name)
    _put(block, "gender", _GENDER_CODES.get(card.gender, card.gender))
    _put(block, "nation", _NATION_CODES.get(card.nation, card.nation))
    _put(block, "birth_date", card.birth_date.strftime("%Y%m%d"))
    _put(block, "address", card.address)
    _put(block, "id_number", card.id_number)
    _put(block, "issuing_authority", card.issuing_authority)
    _put(block, "valid_from", card.valid_from.strftime("%Y%m%d"))
    _put(block, "valid_to", LIFELONG if card.valid_to is None else card.valid_to.strftime("%Y%m%d"))
    return bytes(block)


def build_read_payload(card: IdCardData, photo: bytes = b"") -> bytes:
    """DATA of a successful read-text-and-photo response: lengths, text, photo."""
    photo = photo[:PHOTO_LEN].ljust(PHOTO_LEN, b"\x00")
    return TEXT_LEN.to_bytes(2, "big") + PHOTO_LEN.to_bytes(2, "big") + build_text_block(card) + photo
