"""A small ESC/POS decoder: turns a print job back into text lines, QR payloads and cuts.

Written for the printer simulator and the tests (no usable decoder exists for Python 3.11
with GB18030). It tokenises the ESC / GS / FS / DLE commands python-escpos and our adapter
send, decodes text as GB18030 (ESC/POS command bytes never occur inside a GB18030 multibyte
character, so tokenising first is safe), extracts native QR payloads (``GS ( k``), rebuilds
``GS v 0`` rasters into images and decodes QR codes in them with ``zxing-cpp`` when it is
installed, and counts cuts. Unknown commands are kept as tokens, never guessed at.

``tokenize`` is incremental: it stops before a command whose bytes have not all arrived and
reports how far it got, so a server can answer ``DLE EOT`` status requests while a job is
still streaming in.
"""

from __future__ import annotations

from typing import Any

import attrs

ESC, GS, FS, DLE, EOT, LF, CR, HT = 0x1B, 0x1D, 0x1C, 0x10, 0x04, 0x0A, 0x0D, 0x09


@attrs.frozen
class Token:
    kind: str  # "text", "lf", "esc", "gs", "fs", "status", "ctl"
    name: str  # command letter(s) such as "@", "!", "(k", "v0"; "" for text
    args: bytes = b""
    data: bytes = b""
    start: int = attrs.field(default=0, eq=False)  # offsets in the tokenised buffer
    end: int = attrs.field(default=0, eq=False)


class _Incomplete(Exception):
    pass


# Fixed argument counts after the command byte.
_ESC_ARGS = {
    ord("@"): 0, ord("!"): 1, ord("E"): 1, ord("-"): 1, ord("a"): 1, ord("d"): 1, ord("J"): 1,
    ord("M"): 1, ord("t"): 1, ord("2"): 0, ord("3"): 1, ord("{"): 1, ord("r"): 1, ord("G"): 1,
    ord("V"): 1, ord("="): 1, ord("p"): 3, ord("B"): 2, ord("R"): 1, ord(" "): 1, ord("$"): 2,
    ord("\\"): 2, ord("S"): 0, ord("L"): 0, ord("T"): 1, ord("U"): 1, ord("c"): 2, ord("e"): 1,
    ord("i"): 0, ord("m"): 0, ord("A"): 1, ord("+"): 1, 0x1B: 0, ord("?"): 2,
}
_GS_ARGS = {
    ord("!"): 1, ord("B"): 1, ord("b"): 1, ord("h"): 1, ord("w"): 1, ord("H"): 1, ord("f"): 1,
    ord("L"): 2, ord("W"): 2, ord("P"): 2, ord("a"): 1, ord("r"): 1, ord("I"): 1, ord("$"): 2,
    ord("\\"): 2, ord("^"): 3, ord("E"): 1, ord(":"): 0,
}
_FS_ARGS = {
    ord("&"): 0, ord("."): 0, ord("!"): 1, ord("-"): 1, ord("C"): 1, ord("W"): 1, ord("S"): 2,
    ord("?"): 1, ord("r"): 1,
}


def _need(buf: bytes, end: int) -> None:
    if len(buf) < end:
        raise _Incomplete()


def _one(buf: bytes, pos: int) -> tuple[Token, int]:
    """One token starting at ``pos``; raises ``_Incomplete`` if it is not all there."""
    b = buf[pos]
    if b == LF:
        return Token("lf", "\n"), pos + 1
    if b == DLE:
        _need(buf, pos + 2)
        if buf[pos + 1] == EOT:
            _need(buf, pos + 3)
            return Token("status", "EOT", bytes(buf[pos + 2:pos + 3])), pos + 3
        if buf[pos + 1] == 0x14:  # DLE DC4 fn a b: real-time pulse / power-off / clear
            _need(buf, pos + 5)
            return Token("ctl", "DC4", bytes(buf[pos + 2:pos + 5])), pos + 5
        return Token("ctl", "DLE"), pos + 1
    if b == ESC:
        _need(buf, pos + 2)
        cmd = buf[pos + 1]
        name = chr(cmd)
        if cmd == ord("*"):  # ESC * m nL nH d1…dk  (column image)
            _need(buf, pos + 5)
            m, width = buf[pos + 2], buf[pos + 3] | buf[pos + 4] << 8
            size = width * (3 if m in (32, 33) else 1)
            _need(buf, pos + 5 + size)
            return Token("esc", "*", bytes(buf[pos + 2:pos + 5]), bytes(buf[pos + 5:pos + 5 + size])), pos + 5 + size
        if cmd == ord("D"):  # tab stops, NUL-terminated
            end = buf.find(b"\x00", pos + 2)
            if end < 0:
                raise _Incomplete()
            return Token("esc", "D", bytes(buf[pos + 2:end])), end + 1
        if cmd == ord("c"):  # ESC c 3 n / ESC c 4 n / ESC c 5 n
            _need(buf, pos + 4)
            return Token("esc", "c" + chr(buf[pos + 2]), bytes(buf[pos + 3:pos + 4])), pos + 4
        count = _ESC_ARGS.get(cmd, 0)
        _need(buf, pos + 2 + count)
        return Token("esc", name, bytes(buf[pos + 2:pos + 2 + count])), pos + 2 + count
    if b == GS:
        _need(buf, pos + 2)
        cmd = buf[pos + 1]
        if cmd == ord("("):  # GS ( fn pL pH data
            _need(buf, pos + 5)
            fn = chr(buf[pos + 2])
            length = buf[pos + 3] | buf[pos + 4] << 8
            _need(buf, pos + 5 + length)
            return Token("gs", "(" + fn, b"", bytes(buf[pos + 5:pos + 5 + length])), pos + 5 + length
        if cmd == ord("v"):  # GS v 0 m xL xH yL yH d…
            _need(buf, pos + 8)
            args = bytes(buf[pos + 3:pos + 8])
            size = (args[1] | args[2] << 8) * (args[3] | args[4] << 8)
            _need(buf, pos + 8 + size)
            return Token("gs", "v0", args, bytes(buf[pos + 8:pos + 8 + size])), pos + 8 + size
        if cmd == ord("V"):  # GS V m [n]
            _need(buf, pos + 3)
            m = buf[pos + 2]
            if m in (65, 66, 97, 98, 103, 104):
                _need(buf, pos + 4)
                return Token("gs", "V", bytes(buf[pos + 2:pos + 4])), pos + 4
            return Token("gs", "V", bytes((m,))), pos + 3
        if cmd == ord("k"):  # barcode: GS k m d… NUL  or  GS k m n d1…dn
            _need(buf, pos + 3)
            m = buf[pos + 2]
            if m <= 6:
                end = buf.find(b"\x00", pos + 3)
                if end < 0:
                    raise _Incomplete()
                return Token("gs", "k", bytes((m,)), bytes(buf[pos + 3:end])), end + 1
            _need(buf, pos + 4)
            n = buf[pos + 3]
            _need(buf, pos + 4 + n)
            return Token("gs", "k", bytes((m,)), bytes(buf[pos + 4:pos + 4 + n])), pos + 4 + n
        if cmd == ord("8"):  # GS 8 L p1 p2 p3 p4 m fn …
            _need(buf, pos + 7)
            length = int.from_bytes(buf[pos + 3:pos + 7], "little")
            _need(buf, pos + 7 + length)
            return Token("gs", "8" + chr(buf[pos + 2]), b"", bytes(buf[pos + 7:pos + 7 + length])), pos + 7 + length
        count = _GS_ARGS.get(cmd, 0)
        _need(buf, pos + 2 + count)
        return Token("gs", chr(cmd), bytes(buf[pos + 2:pos + 2 + count])), pos + 2 + count
    if b == FS:
        _need(buf, pos + 2)
        cmd = buf[pos + 1]
        count = _FS_ARGS.get(cmd, 0)
        _need(buf, pos + 2 + count)
        return Token("fs", chr(cmd), bytes(buf[pos + 2:pos + 2 + count])), pos + 2 + count
    if b < 0x20 or b == 0x7F:
        return Token("ctl", f"{b:02X}"), pos + 1
    end = pos
    while end < len(buf) and buf[end] >= 0x20 and buf[end] != 0x7F:
        end += 1
    return Token("text", "", b"", bytes(buf[pos:end])), end


def tokenize(buf: bytes | bytearray, pos: int = 0) -> tuple[list[Token], int]:
    """Tokens from ``pos`` on, and the offset just past the last complete token."""
    tokens: list[Token] = []
    while pos < len(buf):
        try:
            token, end = _one(buf, pos)
        except _Incomplete:
            break
        tokens.append(attrs.evolve(token, start=pos, end=end))
        pos = end
    return tokens, pos


# ---------------------------------------------------------------------------------------------
# Decoding


@attrs.frozen
class DecodedLine:
    text: str
    bold: bool = False
    double_width: bool = False
    double_height: bool = False
    align: str = "left"


@attrs.define
class DecodedJob:
    lines: list[DecodedLine] = attrs.Factory(list)
    qr_payloads: list[str] = attrs.Factory(list)
    images: list[Any] = attrs.Factory(list)  # PIL images rebuilt from GS v 0
    cuts: int = 0
    initialised: bool = False
    chinese_mode: bool = False
    status_requests: list[int] = attrs.Factory(list)
    unknown: list[str] = attrs.Factory(list)

    @property
    def text_lines(self) -> list[str]:
        """Non-blank printed lines, right-stripped."""
        return [line.text.rstrip() for line in self.lines if line.text.strip()]

    @property
    def printed_anything(self) -> bool:
        return bool(self.text_lines or self.qr_payloads or self.images or self.cuts)


def raster_to_image(args: bytes, data: bytes) -> Any:
    """Rebuild a ``GS v 0`` raster (1 bit = black dot) as a PIL image (black on white)."""
    from PIL import Image

    width_bytes = args[1] | args[2] << 8
    height = args[3] | args[4] << 8
    image = Image.frombytes("1", (width_bytes * 8, height), data)
    # In PIL mode "1" a set bit is white; ESC/POS sets a bit for a black dot.
    from PIL import ImageOps

    return ImageOps.invert(image.convert("L"))


def decode_qr_images(image: Any) -> list[str]:
    """QR payloads in ``image`` via zxing-cpp, or ``[]`` when zxing-cpp is not installed.

    Only QR codes are looked for: a receipt printer is sent nothing else, and with every format
    enabled zxing now and then also "finds" a Codabar or ITF in a QR's modules (about 1 image in 400)."""
    try:
        import zxingcpp
    except ImportError:
        return []
    from PIL import ImageOps

    padded = ImageOps.expand(image, border=16, fill=255)
    return [result.text for result in zxingcpp.read_barcodes(padded, formats=zxingcpp.BarcodeFormat.QRCode)]


def decode(data: bytes, *, decode_images: bool = True, native_qr: bool = True) -> DecodedJob:
    """Decode a job as a printer would print it; ``native_qr=False`` decodes it as a printer
    without ``GS ( k`` support prints it: the native QR commands are skipped, no code appears."""
    job = DecodedJob()
    tokens, _ = tokenize(data)
    current = bytearray()
    style = {"bold": False, "dw": False, "dh": False, "align": "left"}
    line_style: dict[str, Any] | None = None
    stored_qr: bytes | None = None

    def flush() -> None:
        nonlocal line_style
        s = line_style or style
        job.lines.append(DecodedLine(
            current.decode("gb18030", errors="replace"),
            bold=s["bold"], double_width=s["dw"], double_height=s["dh"], align=s["align"],
        ))
        current.clear()
        line_style = None

    for token in tokens:
        if token.kind == "text":
            if not current:
                line_style = dict(style)
            current.extend(token.data)
        elif token.kind == "lf":
            flush()
        elif token.kind == "status":
            job.status_requests.append(token.args[0])
        elif token.kind == "esc":
            name, args = token.name, token.args
            if name == "@":
                job.initialised = True
                job.chinese_mode = False
                style.update(bold=False, dw=False, dh=False, align="left")
            elif name == "E":
                style["bold"] = bool(args[0] & 1)
            elif name == "!":
                style.update(bold=bool(args[0] & 0x08), dh=bool(args[0] & 0x10), dw=bool(args[0] & 0x20))
            elif name == "a":
                style["align"] = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center",
                                  50: "right"}.get(args[0], "left")
            elif name in ("d", "J"):
                if current:
                    flush()
            elif name == "i" or name == "m":
                job.cuts += 1
        elif token.kind == "gs":
            name = token.name
            if name == "!":
                style.update(dw=bool(token.args[0] & 0xF0), dh=bool(token.args[0] & 0x0F))
            elif name == "V":
                job.cuts += 1
            elif name == "(k" and len(token.data) >= 3 and token.data[0] == 0x31:
                fn = token.data[1]
                if fn == 0x50:  # store: cn fn m d…
                    stored_qr = token.data[3:]
                elif fn == 0x51 and stored_qr is not None and native_qr:  # print stored symbol
                    job.qr_payloads.append(stored_qr.decode("utf-8", errors="replace"))
            elif name == "v0":
                image = raster_to_image(token.args, token.data)
                job.images.append(image)
                if decode_images:
                    job.qr_payloads.extend(decode_qr_images(image))
            elif name not in ("(L", "B", "b", "h", "w", "H", "f", "L", "W", "k"):
                job.unknown.append("GS " + name)
        elif token.kind == "fs":
            if token.name == "&":
                job.chinese_mode = True
            elif token.name == ".":
                job.chinese_mode = False
            elif token.name == "!":
                style.update(dw=bool(token.args[0] & 0x04), dh=bool(token.args[0] & 0x08))
    if current:
        flush()
    return job
