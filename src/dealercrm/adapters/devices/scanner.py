"""QR scanners: keyboard-wedge (a text stream such as stdin) and serial (USB-CDC / RS-232).

Both deliver one payload per line; scanners end a scan with CR, LF or CRLF depending on
their setup, so any of those ends a line and empty lines are ignored.
"""

from __future__ import annotations

import queue
import threading
import time
from types import TracebackType
from typing import Any, Self, TextIO

import structlog

from dealercrm.application.ports.devices import DeviceError

log = structlog.get_logger(__name__)

_EOF = object()


class KeyboardWedgeQrScanner:
    """A scanner that types into a text stream (the kiosk's stdin or a tty).

    A daemon thread reads lines into a queue so ``read_line(timeout)`` can time out on any
    stream, including ones without a file descriptor.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lines: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, name="wedge-scanner", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        for raw in iter(self._stream.readline, ""):
            for part in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
                if part.strip():
                    self._lines.put(part.strip())
        self._lines.put(_EOF)

    def read_line(self, timeout: float | None) -> str | None:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            return None
        if line is _EOF:
            self._lines.put(_EOF)  # stay at end of stream for later calls
            return None
        return str(line)


class SerialQrScanner:
    """A scanner on a serial port (``/dev/ttyACM0``), used as ``with scanner:``."""

    def __init__(self, port: str, baudrate: int = 9600, encoding: str = "utf-8") -> None:
        self.port = port
        self.baudrate = baudrate
        self.encoding = encoding
        self._serial: Any = None
        self._buffer = bytearray()

    def open(self) -> None:
        import serial

        if self._serial is not None:
            return
        try:
            self._serial = serial.Serial(self.port, self.baudrate, timeout=0.05)
        except (serial.SerialException, OSError) as exc:
            raise DeviceError("无法打开扫码枪串口", code="device.scanner.unavailable",
                              port=self.port, reason=str(exc)) from exc
        log.info("qr_scanner_opened", port=self.port)

    def close(self) -> None:
        if self._serial is not None:
            self._serial.close()
            self._serial = None

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _take_line(self) -> str | None:
        while True:
            ends = [i for i in (self._buffer.find(b"\r"), self._buffer.find(b"\n")) if i >= 0]
            if not ends:
                return None
            end = min(ends)
            raw = bytes(self._buffer[:end])
            del self._buffer[:end + 1]
            text = raw.decode(self.encoding, errors="replace").strip()
            if text:
                return text

    def read_line(self, timeout: float | None) -> str | None:
        import serial

        if self._serial is None:
            raise DeviceError("扫码枪未打开", code="device.scanner.not_open", port=self.port)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            line = self._take_line()
            if line is not None:
                return line
            if deadline is not None and time.monotonic() >= deadline:
                return None
            try:
                self._buffer.extend(self._serial.read(max(1, self._serial.in_waiting)))
            except (serial.SerialException, OSError) as exc:
                raise DeviceError("扫码枪通信失败", code="device.scanner.io", port=self.port) from exc
