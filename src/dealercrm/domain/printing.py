"""Receipt layouts as data: what to print, independent of any printer language.

A ``PrintDocument`` is an ordered tuple of lines (title, text, key/value, QR code, separator,
feed, cut). Printer adapters turn it into bytes; ``plain_text`` turns it into the text a
person would read off the paper, which is what layout tests and the printer simulator compare.
Widths are counted in printer columns: ASCII is one column, CJK and full-width forms two.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import attrs

from dealercrm.domain.errors import InvalidValue

DEFAULT_WIDTH = 32  # columns of font A on a 58 mm (384 dot) printer


class Align(enum.Enum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


@attrs.frozen
class Title:
    text: str
    bold: bool = True
    double_size: bool = True
    align: Align = Align.CENTER


@attrs.frozen
class Text:
    text: str
    bold: bool = False
    double_size: bool = False
    align: Align = Align.LEFT


@attrs.frozen
class KeyValue:
    key: str
    value: str
    bold: bool = False


@attrs.frozen
class QrCode:
    payload: str
    size: int = 6  # module size in dots; 1–16

    def __attrs_post_init__(self) -> None:
        if not self.payload:
            raise InvalidValue("qr_payload", "二维码内容不能为空", code="print.qr_empty")
        if not 1 <= self.size <= 16:
            raise InvalidValue("qr_size", "二维码尺寸须在 1–16 之间", code="print.qr_size")


@attrs.frozen
class Separator:
    char: str = "-"


@attrs.frozen
class Feed:
    lines: int = 1


@attrs.frozen
class Cut:
    pass


Line = Title | Text | KeyValue | QrCode | Separator | Feed | Cut


@attrs.frozen
class PrintDocument:
    lines: tuple[Line, ...] = attrs.field(converter=tuple)
    width: int = DEFAULT_WIDTH

    @property
    def qr_payloads(self) -> list[str]:
        return [line.payload for line in self.lines if isinstance(line, QrCode)]

    @property
    def cuts(self) -> int:
        return sum(1 for line in self.lines if isinstance(line, Cut))


def display_width(text: str) -> int:
    """Printer columns taken by ``text`` (CJK / full-width characters count two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def kv_text(line: KeyValue) -> str:
    return f"{line.key}：{line.value}" if line.key else line.value


def separator_text(line: Separator, width: int) -> str:
    return line.char * (width // max(display_width(line.char), 1))


def plain_text(document: PrintDocument) -> list[str]:
    """The text lines as printed (no alignment padding, no QR, no blank feeds)."""
    out: list[str] = []
    for line in document.lines:
        if isinstance(line, (Title, Text)):
            out.append(line.text)
        elif isinstance(line, KeyValue):
            out.append(kv_text(line))
        elif isinstance(line, Separator):
            out.append(separator_text(line, document.width))
    return out


# ---------------------------------------------------------------------------------------------
# Gate pass


SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


def _fmt(moment: datetime) -> str:
    """People at the gate read Beijing time, whatever zone the moment was given in."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def layout_gate_pass(
    pass_no: str,
    person_name: str,
    vins: Sequence[str],
    valid_from: datetime,
    valid_to: datetime,
    qr_payload: str,
    issued_at: datetime,
) -> PrintDocument:
    """The 出门证 slip the kiosk prints and the guard scans.

    Times are printed in the time zone they carry, so pass them in factory local time.
    """
    if not vins:
        raise InvalidValue("vins", "出门证至少包含一台车辆", code="gate_pass.no_vehicle")
    for moment, name in ((valid_from, "valid_from"), (valid_to, "valid_to"), (issued_at, "issued_at")):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise InvalidValue(name, "时间必须带时区", code="gate_pass.naive_time")
    if valid_to <= valid_from:
        raise InvalidValue("valid_to", "有效期截止时间须晚于开始时间", code="gate_pass.validity")

    lines: list[Line] = [
        Title("出门证"),
        Separator("="),
        KeyValue("证号", pass_no, bold=True),
        KeyValue("提车人", person_name),
        Text(f"车架号（共 {len(vins)} 台）："),
        *(Text(vin, bold=True) for vin in vins),
        KeyValue("有效期自", _fmt(valid_from)),
        KeyValue("有效期至", _fmt(valid_to)),
        Separator("-"),
        QrCode(qr_payload),
        Text("出厂时请出示此证，门卫扫码核验", align=Align.CENTER),
        KeyValue("签发时间", _fmt(issued_at)),
        Feed(2),
        Cut(),
    ]
    return PrintDocument(lines)
