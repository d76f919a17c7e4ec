"""Device ports for the gate edge agent: ID card reader, badge reader, receipt printer, QR scanner.

Each port is the narrow role the gate flows need; the real adapters (pyserial, pyscard,
python-escpos) live in ``dealercrm.adapters.devices`` and translate every library or wire
failure into the typed errors below, so a use case never sees a ``SerialException``.
Adapters with a lifecycle are used as ``with reader:``; the ports do not require it because
the in-memory twins have nothing to open.
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Any, Protocol

import attrs

from dealercrm.domain.errors import DomainError
from dealercrm.domain.printing import PrintDocument

# ---------------------------------------------------------------------------------------------
# Data


def mask_id_number(id_number: str) -> str:
    """``110105199003071239`` → ``1101**********1239``: the only form logs may carry."""
    if len(id_number) < 8:
        return "*" * len(id_number)
    return id_number[:4] + "*" * (len(id_number) - 8) + id_number[-4:]


@attrs.frozen
class IdCardData:
    """What the SAM returns from a resident identity card (text block only, no photo).

    ``valid_to`` is ``None`` for a card valid for life (长期). ``gender`` and ``nation`` are
    the printed labels (``男``, ``汉``), decoded from the GB/T 2261.1 and GB/T 3304 codes.
    """

    name: str
    gender: str
    nation: str
    birth_date: date
    address: str
    id_number: str
    issuing_authority: str
    valid_from: date
    valid_to: date | None

    @property
    def masked_id(self) -> str:
        return mask_id_number(self.id_number)

    def __repr__(self) -> str:
        # Never let a name or ID number reach a log or a traceback through repr().
        return f"IdCardData(id_number={self.masked_id!r})"


class PrinterStatus(enum.Enum):
    ONLINE = "online"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"


@attrs.frozen
class PrintOutcome:
    """What a printer did with a document.

    ``substituted`` lists the characters the printer could not render and replaced by the
    adapter's marker (see ``EscposReceiptPrinter``); empty when the print is faithful.
    """

    substituted: tuple[str, ...] = ()
    bytes_sent: int = 0

    @property
    def faithful(self) -> bool:
        return not self.substituted


# ---------------------------------------------------------------------------------------------
# Errors


class DeviceError(DomainError):
    """A device is missing, unreachable or answered nonsense."""

    code = "device.error"


class DeviceTimeout(DeviceError):
    """The device did not answer within the adapter's timeout (after retries)."""

    code = "device.timeout"


class CardReadError(DeviceError):
    """The ID card reader answered with a failure status (SW3) or a corrupt frame.

    ``sw3`` is the reader's status byte when there was one; ``code`` is stable per status
    (``device.id_card.read_failed`` for SW3 0x41 …).
    """

    code = "device.id_card.error"

    def __init__(self, message: str, *, sw3: int | None = None, code: str | None = None,
                 **details: Any) -> None:
        super().__init__(message, code=code, sw3=sw3, **details)
        self.sw3 = sw3


class PrinterUnavailable(DeviceError):
    """The printer cannot print now; nothing was sent. ``status`` says why."""

    code = "device.printer.unavailable"

    def __init__(self, status: PrinterStatus, message: str | None = None, **details: Any) -> None:
        super().__init__(
            message or _PRINTER_MESSAGES.get(status, "打印机不可用"),
            code=f"device.printer.{status.value}",
            status=status.value,
            **details,
        )
        self.status = status


_PRINTER_MESSAGES = {
    PrinterStatus.PAPER_OUT: "打印机缺纸",
    PrinterStatus.COVER_OPEN: "打印机上盖未关",
    PrinterStatus.OFFLINE: "打印机离线",
}


# ---------------------------------------------------------------------------------------------
# Ports


class IdCardReader(Protocol):
    """Reads the resident identity card lying on the reader."""

    def read(self) -> IdCardData | None:
        """The card's data, or ``None`` when no card is on the reader.

        Raises ``CardReadError`` when a card is there but cannot be read, ``DeviceError`` /
        ``DeviceTimeout`` when the reader itself fails.
        """


class BadgeReader(Protocol):
    """Reads the UID of a contactless employee badge."""

    def read_uid(self) -> str | None:
        """Upper-case hex UID, or ``None`` when no badge is presented."""


class ReceiptPrinter(Protocol):
    """Prints laid-out documents (gate passes) on a receipt printer."""

    def print(self, document: PrintDocument) -> PrintOutcome:
        """Print, or raise ``PrinterUnavailable`` having sent nothing."""

    def status(self) -> PrinterStatus: ...


class QrScanner(Protocol):
    """A QR scanner that delivers one decoded payload per line."""

    def read_line(self, timeout: float | None) -> str | None:
        """The next scanned payload, or ``None`` if nothing was scanned within ``timeout``."""
