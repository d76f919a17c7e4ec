"""In-memory twins of the device ports, for use-case tests and the demo.

They live beside the real adapters and behave like them at the port: a reader returns
``None`` without a card, a printer out of paper raises ``PrinterUnavailable`` and records
nothing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from dealercrm.adapters.devices.escpos_printer import gbk_safe
from dealercrm.application.ports.devices import (
    IdCardData,
    PrinterStatus,
    PrinterUnavailable,
    PrintOutcome,
)
from dealercrm.domain.printing import KeyValue, PrintDocument, Text, Title


class FixedCardIdCardReader:
    """Returns ``card`` on every read until ``remove()``; ``present(card)`` puts one back."""

    def __init__(self, card: IdCardData | None = None) -> None:
        self.card = card
        self.reads = 0

    def present(self, card: IdCardData) -> None:
        self.card = card

    def remove(self) -> None:
        self.card = None

    def read(self) -> IdCardData | None:
        self.reads += 1
        return self.card


class FixedBadgeReader:
    def __init__(self, uid: str | None = None) -> None:
        self.uid = uid

    def read_uid(self) -> str | None:
        return self.uid


class RecordingReceiptPrinter:
    """Keeps every printed document; ``state`` simulates paper out, cover open, offline."""

    def __init__(self, state: PrinterStatus = PrinterStatus.ONLINE) -> None:
        self.state = state
        self.printed: list[PrintDocument] = []

    def status(self) -> PrinterStatus:
        return self.state

    def print(self, document: PrintDocument) -> PrintOutcome:
        if self.state is not PrinterStatus.ONLINE:
            raise PrinterUnavailable(self.state)
        self.printed.append(document)
        lost: list[str] = []
        for line in document.lines:
            text = line.text if isinstance(line, (Title, Text)) else (
                line.key + line.value if isinstance(line, KeyValue) else "")
            lost.extend(gbk_safe(text)[1])
        return PrintOutcome(substituted=tuple(lost))


class ScriptedQrScanner:
    """Hands out queued payloads, then ``None``."""

    def __init__(self, payloads: Iterable[str] = ()) -> None:
        self._payloads = deque(payloads)

    def push(self, payload: str) -> None:
        self._payloads.append(payload)

    def read_line(self, timeout: float | None) -> str | None:
        return self._payloads.popleft() if self._payloads else None
