"""``SamSerialIdCardReader``: a GA/T 467 SAM ID card reader on a serial port (pyserial).

One ``read()`` is find card → select card → read text + photo. Every response's length and
checksum are verified; a malformed (short LEN, bad CHK, noise, cut off mid-transfer) or
missing response is retried ``retries`` times (after flushing the input) before it becomes a
``MalformedFrame`` (a ``CardReadError``) or a ``DeviceTimeout`` (nothing at all arrived). "No card" (find or select
failed) is ``None``, not an error: the kiosk polls. Find commands are never sent less than
300 ms apart — the readers' documented minimum — and ``poll()`` loops on that cadence.

Usage::

    with SamSerialIdCardReader("/dev/ttyUSB0") as reader:
        card = reader.poll(timeout=30)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import structlog

from dealercrm.adapters.devices import sam_protocol as p
from dealercrm.application.ports.devices import (
    CardReadError,
    DeviceError,
    DeviceTimeout,
    IdCardData,
)

log = structlog.get_logger(__name__)

MIN_POLL_INTERVAL = 0.3


class SamSerialIdCardReader:
    """Resident ID card reader speaking the SAM serial protocol at 115200 8N1."""

    def __init__(
        self,
        port: str,
        baudrate: int = 115200,
        timeout: float = 1.0,
        retries: int = 2,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.timeout = timeout
        self.retries = retries
        self._clock = clock
        self._sleep = sleep
        self._serial: Any = None
        self._last_find: float | None = None
        # called when a card answered "find" and is about to be read (~0.1 s on the wire), so a
        # screen can say 读取中 before the data is in; set by whoever shows it
        self.on_card_found: Callable[[], None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def open(self) -> None:
        import serial  # device library imported inside its adapter only

        if self._serial is not None:
            return
        try:
            self._serial = serial.Serial(
                self.port, self.baudrate, bytesize=8, parity="N", stopbits=1,
                timeout=0.05, write_timeout=self.timeout, xonxoff=False, rtscts=False,
            )
        except (serial.SerialException, OSError) as exc:
            raise DeviceError("无法打开身份证阅读器串口", code="device.id_card.unavailable",
                              port=self.port, reason=str(exc)) from exc
        log.info("id_card_reader_opened", port=self.port, baudrate=self.baudrate)

    def close(self) -> None:
        if self._serial is not None:
            self._serial.close()
            self._serial = None
            log.info("id_card_reader_closed", port=self.port)

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- protocol ----------------------------------------------------------------------------

    def _read_frame(self) -> bytes:
        buffer = bytearray()
        received = 0
        deadline = self._clock() + self.timeout
        while True:
            body, consumed = p.split_frame(buffer)
            if body is not None:
                return body
            del buffer[:consumed]
            if self._clock() >= deadline:
                if not received:
                    raise DeviceTimeout("身份证阅读器无响应", port=self.port)
                if buffer:  # what is left is the start of a frame: it was cut off
                    raise p.MalformedFrame("身份证阅读器应答不完整", code="device.id_card.truncated_frame",
                                           port=self.port, received=received)
                raise p.MalformedFrame("身份证阅读器应答无法识别", code="device.id_card.garbled_frame",
                                       port=self.port, received=received)
            chunk = self._serial.read(max(1, self._serial.in_waiting))
            received += len(chunk)
            buffer.extend(chunk)

    def transact(self, command: tuple[int, int], data: bytes = b"") -> p.Response:
        """Send one command and return the verified response, retrying corrupt or lost ones."""
        import serial

        if self._serial is None:
            raise DeviceError("身份证阅读器未打开", code="device.id_card.not_open", port=self.port)
        request = p.build_request(command[0], command[1], data)
        failure: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                log.warning("id_card_reader_retry", port=self.port, attempt=attempt,
                            reason=type(failure).__name__)
                self._serial.reset_input_buffer()
            try:
                self._serial.write(request)
                response = p.parse_response(self._read_frame())
            except (DeviceTimeout, p.MalformedFrame) as exc:
                failure = exc
                continue
            except (serial.SerialException, OSError) as exc:
                raise DeviceError("身份证阅读器通信失败", code="device.id_card.io",
                                  port=self.port, reason=str(exc)) from exc
            if response.sw3 == p.SW3_CHECKSUM:
                failure = p.error_for_sw3(response.sw3, "transact")
                continue
            return response
        if isinstance(failure, (DeviceTimeout, CardReadError)):
            log.warning("id_card_reader_failed", port=self.port, code=failure.code)
            raise failure
        raise CardReadError("身份证阅读器应答校验失败", code="device.id_card.checksum", port=self.port)

    def sam_status(self) -> bool:
        return self.transact(p.SAM_STATUS).sw3 == p.SW3_OK

    def _respect_poll_interval(self) -> None:
        if self._last_find is not None:
            wait = self._last_find + MIN_POLL_INTERVAL - self._clock()
            if wait > 0:
                self._sleep(wait)
        self._last_find = self._clock()

    def read(self) -> IdCardData | None:
        self._respect_poll_interval()
        found = self.transact(p.FIND_CARD)
        if found.sw3 == p.SW3_FIND_FAILED:
            return None
        if found.sw3 != p.SW3_CARD_FOUND:
            raise p.error_for_sw3(found.sw3, "find")
        if self.on_card_found is not None:
            self.on_card_found()
        selected = self.transact(p.SELECT_CARD)
        if selected.sw3 == p.SW3_SELECT_FAILED:
            # The card left the field between find and select: same as no card.
            return None
        if selected.sw3 != p.SW3_OK:
            raise p.error_for_sw3(selected.sw3, "select")
        result = self.transact(p.READ_TEXT_PHOTO)
        if result.sw3 != p.SW3_OK:
            raise p.error_for_sw3(result.sw3, "read")
        card = self._parse_read(result.data)
        log.info("id_card_read", port=self.port, id_number=card.masked_id)
        return card

    @staticmethod
    def _parse_read(data: bytes) -> IdCardData:
        if len(data) < 4:
            raise CardReadError("身份证读卡应答过短", code="device.id_card.bad_data")
        text_len = int.from_bytes(data[0:2], "big")
        if text_len != p.TEXT_LEN or len(data) < 4 + text_len:
            raise CardReadError("身份证读卡应答长度错误", code="device.id_card.bad_data",
                                text_length=text_len)
        return p.parse_text_block(data[4:4 + text_len])

    def poll(self, timeout: float | None = None, interval: float = MIN_POLL_INTERVAL,
             stop: Callable[[], bool] | None = None) -> IdCardData | None:
        """Read until a card is there, ``timeout`` passes or ``stop()`` is true.

        ``interval`` below 300 ms is raised to 300 ms: faster polling makes the SAM miss cards.
        """
        interval = max(interval, MIN_POLL_INTERVAL)
        deadline = None if timeout is None else self._clock() + timeout
        while True:
            started = self._clock()
            card = self.read()
            if card is not None:
                return card
            if stop is not None and stop():
                return None
            if deadline is not None and self._clock() + interval > deadline:
                return None
            remaining = started + interval - self._clock()
            if remaining > 0:
                self._sleep(remaining)
