"""A GA/T 467 SAM ID card reader on a pseudo-terminal.

The real ``SamSerialIdCardReader`` opens ``simulator.path`` (``/dev/pts/N``) exactly as it
opens ``/dev/ttyUSB0`` in the gate, so its whole pyserial code path runs. The simulator owns
the master side, keeps a slave fd open (otherwise the master raises EIO whenever the adapter
closes the port and ``select()`` spins), puts the slave in raw mode and only ever answers
requests — pyserial flushes input on open, so anything said first would be lost anyway.

Faults: ``remove_card()`` (find fails), ``corrupt_next(n)`` (next n responses carry a bad
CHK), ``silence_next(n)`` / ``silent = True`` (no answer), ``fail_read_next(n, sw3)`` (read
returns a failure status), ``malform_next(n, kind, on=command)`` (the next n answers — to
``on`` only, e.g. ``FIND_CARD`` while idle or ``READ_TEXT_PHOTO`` mid-read — are malformed:
``short_length`` sends ``SHORT_LENGTH_FRAME`` = ``AA AA AA 96 69 00 03 00 00 90``,
``noise`` sends bytes with no frame in them, ``noisy`` puts noise before the real answer,
``cut`` stops the answer halfway through the transfer), and ``wire_delay=True`` to sleep
``bytes × 10 / baud`` per response like a real 115200 8N1 line.
"""

from __future__ import annotations

import json
import os
import random
import select
import threading
import time
import tomllib
import tty
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import structlog

from dealercrm.adapters.devices import sam_protocol as p
from dealercrm.application.ports.devices import IdCardData

log = structlog.get_logger(__name__)

# A reply whose LEN (3) is below the 4 bytes SW1 SW2 SW3 CHK need: seen from real readers.
SHORT_LENGTH_FRAME = bytes.fromhex("AAAAAA9669000300" "0090")
MALFORMED_KINDS = ("short_length", "noise", "noisy", "cut")


def noise(length: int, seed: int = 467) -> bytes:
    """Line noise: random bytes that never contain a frame preamble (no 0xAA at all)."""
    rng = random.Random(seed)  # noqa: S311 - test noise, not crypto
    return bytes(b if b != 0xAA else 0x55 for b in rng.randbytes(length))


def card_from_mapping(raw: dict[str, Any]) -> IdCardData:
    valid_to = raw.get("valid_to")
    return IdCardData(
        name=raw["name"],
        gender=raw.get("gender", "男"),
        nation=raw.get("nation", "汉"),
        birth_date=date.fromisoformat(str(raw["birth_date"])),
        address=raw.get("address", ""),
        id_number=raw["id_number"],
        issuing_authority=raw.get("issuing_authority", ""),
        valid_from=date.fromisoformat(str(raw["valid_from"])),
        valid_to=None if valid_to in (None, "", p.LIFELONG) else date.fromisoformat(str(valid_to)),
    )


def load_cards(path: str | os.PathLike[str]) -> list[IdCardData]:
    """Cards from a JSON or TOML file: ``{"cards": [{"name": …, "id_number": …}, …]}``."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    raw = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    return [card_from_mapping(item) for item in raw["cards"]]


class SamReaderSimulator:
    def __init__(self, card: IdCardData | None = None, *, wire_delay: bool = False,
                 baudrate: int = 115200, photo: bytes = b"") -> None:
        self.card = card
        self.wire_delay = wire_delay
        self.baudrate = baudrate
        self.photo = photo
        self.silent = False
        self.requests: list[p.Request] = []
        self.request_times: list[float] = []  # time.monotonic() of each request, for benchmarks
        self._corrupt = 0
        self._silence = 0
        self._fail_read: tuple[int, int] = (0, p.SW3_READ_FAILED)
        self._malform: tuple[int, str, tuple[int, int] | None] = (0, "short_length", None)
        self.malformed_sent = 0
        self._lock = threading.Lock()
        self._master: int | None = None
        self._slave: int | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.path = ""

    # -- control -----------------------------------------------------------------------------

    def insert_card(self, card: IdCardData) -> None:
        with self._lock:
            self.card = card

    def remove_card(self) -> None:
        with self._lock:
            self.card = None

    def corrupt_next(self, n: int = 1) -> None:
        with self._lock:
            self._corrupt = n

    def silence_next(self, n: int = 1) -> None:
        with self._lock:
            self._silence = n

    def fail_read_next(self, n: int = 1, sw3: int = p.SW3_READ_FAILED) -> None:
        with self._lock:
            self._fail_read = (n, sw3)

    def malform_next(self, n: int = 1, kind: str = "short_length", on: tuple[int, int] | None = None) -> None:
        """The next ``n`` answers (to command ``on`` only, when given) are malformed by ``kind``."""
        if kind not in MALFORMED_KINDS:
            raise ValueError(f"kind must be one of {', '.join(MALFORMED_KINDS)}")
        with self._lock:
            self._malform = (n, kind, on)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sam-reader-sim", daemon=True)
        self._thread.start()
        log.info("sam_simulator_started", path=self.path)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- loop --------------------------------------------------------------------------------

    def _run(self) -> None:
        master = self._master
        if master is None:
            return
        buffer = bytearray()
        while not self._stop.is_set():
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:
                continue
            buffer.extend(chunk)
            while True:
                try:
                    body, consumed = p.split_frame(buffer)
                except p.MalformedFrame:
                    buffer.clear()  # garbage from the host: wait for the next request
                    break
                del buffer[:consumed]
                if body is None:
                    break
                response = self._answer(body)
                if response is not None:
                    self._send(master, response)

    def _send(self, master: int, response: bytes) -> None:
        if self.wire_delay:
            time.sleep(len(response) * 10 / self.baudrate)
        os.write(master, response)

    def _answer(self, body: bytes) -> bytes | None:
        try:
            request = p.parse_request(body)
        except ValueError:
            return p.build_response(0x11)
        with self._lock:
            self.requests.append(request)
            self.request_times.append(time.monotonic())
            if self.silent:
                return None
            if self._silence:
                self._silence -= 1
                return None
            response = self._respond(request)
            if self._corrupt:
                self._corrupt -= 1
                response = response[:-1] + bytes((response[-1] ^ 0xFF,))
            count, kind, on = self._malform
            if count and on in (None, (request.cmd, request.para)):
                self._malform = (count - 1, kind, on)
                self.malformed_sent += 1
                response = self._malformed(response, kind)
            return response

    @staticmethod
    def _malformed(response: bytes, kind: str) -> bytes:
        if kind == "short_length":
            return SHORT_LENGTH_FRAME
        if kind == "noise":
            return noise(24)
        if kind == "noisy":
            return noise(7) + response
        return response[:max(len(p.PREAMBLE) + 3, len(response) // 2)]  # cut mid-transfer

    def _respond(self, request: p.Request) -> bytes:
        if not request.checksum_ok:
            return p.build_response(p.SW3_CHECKSUM)
        command = (request.cmd, request.para)
        if command in (p.RESET_SAM, p.SAM_STATUS):
            return p.build_response(p.SW3_OK)
        if command == p.READ_SAM_ID:
            return p.build_response(p.SW3_OK, bytes(range(16)))
        if command == p.FIND_CARD:
            if self.card is None:
                return p.build_response(p.SW3_FIND_FAILED)
            return p.build_response(p.SW3_CARD_FOUND, b"\x00" * 4)
        if command == p.SELECT_CARD:
            if self.card is None:
                return p.build_response(p.SW3_SELECT_FAILED)
            return p.build_response(p.SW3_OK, b"\x00" * 8)
        if command == p.READ_TEXT_PHOTO:
            count, sw3 = self._fail_read
            if count:
                self._fail_read = (count - 1, sw3)
                return p.build_response(sw3)
            if self.card is None:
                return p.build_response(p.SW3_READ_FAILED)
            return p.build_response(p.SW3_OK, p.build_read_payload(self.card, self.photo))
        return p.build_response(0x21)
