"""``EscposReceiptPrinter``: prints ``PrintDocument``s on an ESC/POS receipt printer.

Transports (python-escpos 3.x): TCP port 9100 (``Network``), a serial line (``Serial``) or USB
(``Usb``, needs pyusb). Each ``print()`` opens the transport, asks the printer for its status
with a short timeout (``DLE EOT 1/2/4``) and only when it is online with paper sends the whole
job in one write, then closes. Paper out, cover open or no answer raise ``PrinterUnavailable``
and nothing is sent.

Chinese text: escpos's "magic" encoder never sends ``ESC @`` / ``FS &`` and prints full-width
punctuation as ``?``, so the job starts with ``ESC @`` then ``FS &`` (Chinese mode) and text
goes out as GB18030 bytes we encode ourselves.

**Policy for characters a GBK printer cannot render.** Thermal printers ship a GBK font;
rare name characters (䶮, 𠮷 …) encode to GB18030 extension or 4-byte sequences that print as
garbage. Every character that does not encode to GBK is replaced by a marker (``□`` by
default) and listed in ``PrintOutcome.substituted``; the print still happens because the gate
pass is authenticated by its signed QR code (which carries a hash of the ID number), not by
the printed name. The caller decides whether a substituted name is acceptable (the kiosk logs
``gate_pass_name_substituted`` and shows the guard a note). ``marker`` is configurable; pass
``strict=True`` to raise ``UnprintableText`` instead and print nothing.

QR codes go out natively (``GS ( k``, the printer draws them: about 1 KB per slip) or as a
raster image (``GS v 0``, drawn here with ``qrcode``: about 16 KB, 16 s at 9600 baud) —
``qr_mode``. Native is the default wherever the printer supports it: :func:`resolve_qr_mode`
turns ``auto`` into ``raster`` for a printer **recognised by its model** — its python-escpos
capability profile (the escpos-printer-db, e.g. ``POS-5890`` or ``ZJ-5870`` have no
``qrCode`` feature) — **or by a configured list** of models that print no native QR; every
other printer gets ``native``.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs
import structlog

from dealercrm.application.ports.devices import (
    DeviceError,
    PrinterStatus,
    PrinterUnavailable,
    PrintOutcome,
)
from dealercrm.domain.printing import (
    Align,
    Cut,
    Feed,
    KeyValue,
    PrintDocument,
    QrCode,
    Separator,
    Text,
    Title,
    kv_text,
    separator_text,
)

log = structlog.get_logger(__name__)

ESC_INIT = b"\x1b@"
FS_CHINESE_ON = b"\x1c&"
DLE_EOT = b"\x10\x04"
DEFAULT_MARKER = "□"

QrMode = Literal["native", "raster"]
QR_MODES = ("auto", "native", "raster")


class UnknownPrinterProfile(DeviceError):
    """The configured printer model is not a python-escpos capability profile."""

    code = "device.printer.unknown_profile"


def printer_profiles() -> dict[str, bool]:
    """python-escpos's printer models (its capability profiles) → whether they print ``GS ( k`` QR."""
    from escpos import capabilities

    return {name: bool(profile.get("features", {}).get("qrCode"))
            for name, profile in capabilities.CAPABILITIES["profiles"].items()}


def resolve_qr_mode(qr_mode: str, profile: str = "", raster_models: tuple[str, ...] | list[str] = ()) -> tuple[QrMode, str]:
    """The QR mode to print with, and why.

    ``native`` / ``raster`` are taken as configured. ``auto``: ``raster`` when ``profile`` is in
    ``raster_models`` (case-insensitive) or is a python-escpos profile without the ``qrCode``
    feature; ``native`` otherwise (no profile configured, or one that prints native QR). A
    profile that is neither in the list nor a python-escpos profile is an error, so a typo does
    not silently pick the wrong mode.
    """
    if qr_mode not in QR_MODES:
        raise ValueError(f"qr_mode must be one of {', '.join(QR_MODES)}, not {qr_mode!r}")
    if qr_mode != "auto":
        return qr_mode, "configured"  # type: ignore[return-value]
    if not profile:
        return "native", "default"
    if profile.lower() in {m.lower() for m in raster_models}:
        return "raster", "configured raster_models"
    profiles = printer_profiles()
    if profile not in profiles:
        raise UnknownPrinterProfile(f"未知的打印机型号：{profile}", profile=profile,
                                    known=sorted(profiles))
    if profiles[profile]:
        return "native", f"profile {profile} prints QR"
    return "raster", f"profile {profile} has no native QR"

# A slip shaped like a gate pass (a QR payload as long as a signed pass token), for warm_up().
_WARM_UP_SLIP = PrintDocument([
    Title("出门证"),
    KeyValue("证号", "GP-0000-000000"),
    Text("预热打印样张，不会打印"),
    QrCode("W" * 320),
    Cut(),
])


class UnprintableText(DeviceError):
    """``strict`` printing refused text with characters outside GBK."""

    code = "device.printer.unprintable_text"


@attrs.frozen
class NetworkTransport:
    host: str
    port: int = 9100


@attrs.frozen
class SerialTransport:
    devfile: str
    baudrate: int = 9600


@attrs.frozen
class UsbTransport:
    vendor_id: int
    product_id: int


Transport = NetworkTransport | SerialTransport | UsbTransport


# ---------------------------------------------------------------------------------------------
# Rendering (no I/O)


def gbk_safe(text: str, marker: str = DEFAULT_MARKER) -> tuple[str, list[str]]:
    """``text`` with every non-GBK character replaced by ``marker``, and the replaced ones."""
    out: list[str] = []
    replaced: list[str] = []
    for ch in text:
        try:
            ch.encode("gbk")
        except UnicodeEncodeError:
            out.append(marker)
            replaced.append(ch)
        else:
            out.append(ch)
    return "".join(out), replaced


_ALIGN = {Align.LEFT: b"\x1ba\x00", Align.CENTER: b"\x1ba\x01", Align.RIGHT: b"\x1ba\x02"}
_BOLD = {False: b"\x1bE\x00", True: b"\x1bE\x01"}
_SIZE = {False: b"\x1d!\x00", True: b"\x1d!\x11"}


def _qr_bytes(line: QrCode, mode: QrMode, paper_dots: int) -> bytes:
    if mode == "native":
        from escpos.printer import Dummy

        dummy = Dummy()
        dummy.qr(line.payload, size=line.size, native=True)
        return bytes(dummy.output)
    # Raster: draw it ourselves (escpos's image() prints a warning to stdout for the default
    # profile) and send it as one GS v 0 image no wider than the paper.
    import qrcode
    from escpos.image import EscposImage

    code = qrcode.QRCode(border=1, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(line.payload)
    code.make(fit=True)
    code.box_size = max(1, min(line.size, paper_dots // (code.modules_count + 2)))
    image = EscposImage(code.make_image().get_image().convert("RGB"))
    header = (b"\x1dv0\x00" + image.width_bytes.to_bytes(2, "little")
              + image.height.to_bytes(2, "little"))
    return b"\n" + header + image.to_raster_format() + b"\n"


def render(document: PrintDocument, *, qr_mode: QrMode = "native", marker: str = DEFAULT_MARKER,
           paper_dots: int = 384) -> tuple[bytes, tuple[str, ...]]:
    """The ESC/POS bytes for ``document`` and the characters replaced by ``marker``."""
    out = bytearray(ESC_INIT + FS_CHINESE_ON)
    replaced: list[str] = []

    def text_line(text: str, *, bold: bool, double: bool, align: Align) -> None:
        safe, lost = gbk_safe(text, marker)
        replaced.extend(lost)
        out.extend(_ALIGN[align] + _BOLD[bold] + _SIZE[double])
        out.extend(safe.encode("gb18030") + b"\n")
        out.extend(_ALIGN[Align.LEFT] + _BOLD[False] + _SIZE[False])

    for line in document.lines:
        if isinstance(line, (Title, Text)):
            text_line(line.text, bold=line.bold, double=line.double_size, align=line.align)
        elif isinstance(line, KeyValue):
            text_line(kv_text(line), bold=line.bold, double=False, align=Align.LEFT)
        elif isinstance(line, Separator):
            text_line(separator_text(line, document.width), bold=False, double=False, align=Align.LEFT)
        elif isinstance(line, QrCode):
            out.extend(_ALIGN[Align.CENTER])
            out.extend(_qr_bytes(line, qr_mode, paper_dots))
            out.extend(b"\n" + _ALIGN[Align.LEFT])
        elif isinstance(line, Feed):
            out.extend(b"\x1bd" + bytes((min(line.lines, 255),)))
        elif isinstance(line, Cut):
            out.extend(b"\x1bd\x06\x1dV\x00")  # feed past the cutter, then full cut
    return bytes(out), tuple(replaced)


def is_status_byte(value: int | None) -> bool:
    """A ``DLE EOT`` answer has fixed bits (bit 1 and 4 set, bit 0 and 7 clear); a byte
    without them is line noise or another device talking, not a status."""
    return value is not None and value & 0x93 == 0x12


def interpret_status(online: int | None, cause: int | None, paper: int | None) -> PrinterStatus:
    """Map ``DLE EOT 1`` / ``2`` / ``4`` answers (``None`` = no answer) to a status.

    A garbled answer (see :func:`is_status_byte`) counts as no answer: the printer is treated
    as offline and nothing is sent to it.
    """
    online, cause, paper = (v if v is None or is_status_byte(v) else None for v in (online, cause, paper))
    if online is None:
        return PrinterStatus.OFFLINE
    if online & 0x08:  # offline: ask why
        if cause is not None and cause & 0x04:
            return PrinterStatus.COVER_OPEN
        if cause is not None and cause & 0x20:
            return PrinterStatus.PAPER_OUT
        return PrinterStatus.OFFLINE
    if paper is not None and paper & 0x60 == 0x60:
        return PrinterStatus.PAPER_OUT
    return PrinterStatus.ONLINE


# ---------------------------------------------------------------------------------------------
# Adapter


class EscposReceiptPrinter:
    """A receipt printer reached over TCP, serial or USB through python-escpos."""

    def __init__(self, transport: Transport, *, qr_mode: QrMode = "native",
                 marker: str = DEFAULT_MARKER, strict: bool = False,
                 status_timeout: float = 1.5, send_timeout: float = 10.0,
                 paper_dots: int = 384) -> None:
        if qr_mode not in ("native", "raster"):
            raise ValueError(f"qr_mode must be 'native' or 'raster', not {qr_mode!r}")
        self.transport = transport
        self.qr_mode = qr_mode
        self.marker = marker
        self.strict = strict
        self.status_timeout = status_timeout
        self.send_timeout = send_timeout
        self.paper_dots = paper_dots

    @classmethod
    def network(cls, host: str, port: int = 9100, **options: Any) -> EscposReceiptPrinter:
        return cls(NetworkTransport(host, port), **options)

    @classmethod
    def serial(cls, devfile: str, baudrate: int = 9600, **options: Any) -> EscposReceiptPrinter:
        return cls(SerialTransport(devfile, baudrate), **options)

    @classmethod
    def usb(cls, vendor_id: int, product_id: int, **options: Any) -> EscposReceiptPrinter:
        return cls(UsbTransport(vendor_id, product_id), **options)

    @property
    def describe(self) -> str:
        t = self.transport
        if isinstance(t, NetworkTransport):
            return f"tcp://{t.host}:{t.port}"
        if isinstance(t, SerialTransport):
            return f"serial://{t.devfile}"
        return f"usb://{t.vendor_id:04x}:{t.product_id:04x}"

    # -- transport ---------------------------------------------------------------------------

    def _connect(self) -> Any:
        """An opened escpos device, or ``None`` when it cannot be reached."""
        from escpos.exceptions import DeviceNotFoundError

        t = self.transport
        try:
            if isinstance(t, NetworkTransport):
                import socket

                from escpos.printer import Network

                # Connect ourselves: escpos's Network.open() leaks the socket when the
                # connection is refused.
                try:
                    sock = socket.create_connection((t.host, t.port), timeout=self.status_timeout)
                except OSError:
                    return None
                device = Network(t.host, t.port, timeout=self.status_timeout)
                device.device = sock
                return device
            if isinstance(t, SerialTransport):
                from escpos.printer import Serial

                device = Serial(t.devfile, baudrate=t.baudrate, timeout=self.status_timeout)
            else:
                from escpos.printer import Usb

                if not Usb.is_usable():
                    raise DeviceError("USB 打印需要安装 pyusb", code="device.printer.usb_unusable")
                device = Usb(t.vendor_id, t.product_id, timeout=int(self.status_timeout * 1000))
            device.open()
        except DeviceNotFoundError:
            return None
        except OSError:
            return None
        if not device.device:
            return None
        return device

    def _query(self, device: Any, n: int) -> int | None:
        try:
            if isinstance(self.transport, SerialTransport):
                # escpos reads 16 bytes and so always waits out the timeout; one is enough.
                device._raw(DLE_EOT + bytes((n,)))  # noqa: SLF001
                answer = device.device.read(1)
            else:
                answer = device.query_status(DLE_EOT + bytes((n,)))
        except Exception:  # noqa: BLE001 - any transport failure here means "no answer"
            return None
        if answer and not is_status_byte(answer[0]):
            log.warning("printer_status_garbled", printer=self.describe, byte=answer[0])
        return answer[0] if answer else None

    def _status_of(self, device: Any) -> PrinterStatus:
        online = self._query(device, 1)
        cause = self._query(device, 2) if online is not None and online & 0x08 else None
        paper = self._query(device, 4) if online is not None and not online & 0x08 else None
        return interpret_status(online, cause, paper)

    @staticmethod
    def _close(device: Any) -> None:
        try:
            device.close()
        except Exception:  # noqa: BLE001 - closing a broken connection must not mask the cause
            log.debug("printer_close_failed")

    # -- start-up ----------------------------------------------------------------------------

    def warm_up(self) -> int:
        """Load now what the first print would otherwise pay for — python-escpos and its
        capability database, and for a raster QR qrcode and Pillow — by rendering a sample slip
        in this printer's QR mode. Nothing is sent. Returns the sample's size in bytes."""
        from escpos.exceptions import DeviceNotFoundError  # noqa: F401 - loaded for _connect
        from escpos.printer import Network  # noqa: F401 - loaded for _connect

        job, _ = render(_WARM_UP_SLIP, qr_mode=self.qr_mode, marker=self.marker, paper_dots=self.paper_dots)
        log.info("printer_warmed_up", printer=self.describe, qr_mode=self.qr_mode, bytes=len(job))
        return len(job)

    # -- port --------------------------------------------------------------------------------

    def status(self) -> PrinterStatus:
        device = self._connect()
        if device is None:
            return PrinterStatus.OFFLINE
        try:
            return self._status_of(device)
        finally:
            self._close(device)

    def print(self, document: PrintDocument) -> PrintOutcome:
        job, replaced = render(document, qr_mode=self.qr_mode, marker=self.marker,
                               paper_dots=self.paper_dots)
        if replaced and self.strict:
            raise UnprintableText("含有打印机无法显示的字符", characters=len(replaced))
        device = self._connect()
        if device is None:
            log.warning("printer_unavailable", printer=self.describe, status="offline")
            raise PrinterUnavailable(PrinterStatus.OFFLINE, printer=self.describe)
        try:
            status = self._status_of(device)
            if status is not PrinterStatus.ONLINE:
                log.warning("printer_unavailable", printer=self.describe, status=status.value)
                raise PrinterUnavailable(status, printer=self.describe)
            if isinstance(self.transport, NetworkTransport):
                device.device.settimeout(self.send_timeout)
            try:
                device._raw(job)  # noqa: SLF001 - escpos's documented transport primitive
            except Exception as exc:  # noqa: BLE001 - socket, serial and usb errors differ
                log.warning("printer_send_failed", printer=self.describe, reason=type(exc).__name__)
                raise PrinterUnavailable(PrinterStatus.OFFLINE, printer=self.describe) from exc
        finally:
            self._close(device)
        if replaced:
            log.warning("printer_text_substituted", printer=self.describe, characters=len(replaced))
        log.info("document_printed", printer=self.describe, bytes=len(job), qr_mode=self.qr_mode)
        return PrintOutcome(substituted=replaced, bytes_sent=len(job))
