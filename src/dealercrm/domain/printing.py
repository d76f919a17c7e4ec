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
from datetime import datetime

import attrs

from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.values import SHANGHAI, as_tuple

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
    lines: tuple[Line, ...] = attrs.field(converter=as_tuple)
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


# ---------------------------------------------------------------------------------------------
# Wire form: how the server hands a laid-out document to the edge agent (kiosk API)


def document_to_wire(document: PrintDocument) -> dict[str, object]:
    """``{"width": 32, "lines": [{"kind": "title", "text": …}, …], "text": [...]}`` — plain JSON.

    Kinds: title / text (text, bold, double_size, align), kv (key, value, bold), qr (payload,
    size), separator (char), feed (lines), cut. ``text`` is :func:`plain_text` for display.
    """
    lines: list[dict[str, object]] = []
    for line in document.lines:
        if isinstance(line, (Title, Text)):
            lines.append({"kind": "title" if isinstance(line, Title) else "text", "text": line.text,
                          "bold": line.bold, "double_size": line.double_size, "align": line.align.value})
        elif isinstance(line, KeyValue):
            lines.append({"kind": "kv", "key": line.key, "value": line.value, "bold": line.bold})
        elif isinstance(line, QrCode):
            lines.append({"kind": "qr", "payload": line.payload, "size": line.size})
        elif isinstance(line, Separator):
            lines.append({"kind": "separator", "char": line.char})
        elif isinstance(line, Feed):
            lines.append({"kind": "feed", "lines": line.lines})
        else:
            lines.append({"kind": "cut"})
    return {"width": document.width, "lines": lines, "text": plain_text(document)}


def document_from_wire(data: dict[str, object]) -> PrintDocument:
    """The inverse of :func:`document_to_wire` (unknown kinds are refused, not skipped)."""
    out: list[Line] = []
    raw_lines = data.get("lines")
    if not isinstance(raw_lines, list):
        raise InvalidValue("layout", "打印版式格式不正确", code="print.layout_malformed")
    for item in raw_lines:
        kind = item.get("kind") if isinstance(item, dict) else None
        try:
            if kind in ("title", "text"):
                cls = Title if kind == "title" else Text
                out.append(cls(str(item["text"]), bool(item.get("bold", kind == "title")),
                               bool(item.get("double_size", kind == "title")),
                               Align(item.get("align", "center" if kind == "title" else "left"))))
            elif kind == "kv":
                out.append(KeyValue(str(item["key"]), str(item["value"]), bool(item.get("bold", False))))
            elif kind == "qr":
                out.append(QrCode(str(item["payload"]), int(item.get("size", 6))))
            elif kind == "separator":
                out.append(Separator(str(item.get("char", "-"))))
            elif kind == "feed":
                out.append(Feed(int(item.get("lines", 1))))
            elif kind == "cut":
                out.append(Cut())
            else:
                raise KeyError(kind)
        except (KeyError, TypeError, ValueError):
            raise InvalidValue("layout", f"无法识别的打印行：{kind}", code="print.layout_malformed") from None
    width = data.get("width", DEFAULT_WIDTH)
    return PrintDocument(tuple(out), int(width) if isinstance(width, int) else DEFAULT_WIDTH)
