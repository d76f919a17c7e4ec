"""A virtual contactless badge for vsmartcard-vpcd, and a pcscd runner for tests.

``VirtualBadge`` connects to vpcd's TCP port (35963 = reader "Virtual PCD 00 00") on
127.0.0.1 and speaks its protocol: every message is a 2-byte big-endian length and a payload;
a 1-byte payload is a control message (0 power off, 1 power on, 2 reset, 4 get ATR — only
the last is answered, with the ATR), anything longer is an APDU to answer. Connected = card
in the field; ``remove()`` closes the connection. Only ``GET DATA`` (``FF CA 00 00 xx``,
the PC/SC part 3 pseudo-APDU for the UID) is implemented; other APDUs get ``6D 00``.

``Pcscd`` starts ``pcscd --foreground`` (which loads the vpcd driver from
``/etc/reader.conf.d/vpcd``) and stops it with SIGTERM. vpcd listens on all interfaces:
install it on test machines only, never on a kiosk.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from types import TracebackType
from typing import Self

import structlog

log = structlog.get_logger(__name__)

VPCD_PORT = 35963
# A MIFARE Classic 1K as a PC/SC part 3 contactless ATR.
DEFAULT_ATR = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")
PCSCD_SOCKET = "/run/pcscd/pcscd.comm"
VPCD_DRIVER = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"


class VirtualBadge:
    def __init__(self, uid: bytes, *, host: str = "127.0.0.1", port: int = VPCD_PORT,
                 atr: bytes = DEFAULT_ATR) -> None:
        self.uid = uid
        self.host = host
        self.port = port
        self.atr = atr
        self.apdus: list[bytes] = []
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def inserted(self) -> bool:
        return self._sock is not None

    def insert(self, timeout: float = 5.0) -> None:
        """Put the badge on the reader (connect to vpcd, retrying until it listens)."""
        if self._sock is not None:
            return
        deadline = time.monotonic() + timeout
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if hasattr(socket, "TCP_QUICKACK"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        sock.settimeout(0.1)
        self._sock = sock
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(sock,), name="vpcd-badge", daemon=True)
        self._thread.start()
        log.info("virtual_badge_inserted", port=self.port)

    def remove(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            log.info("virtual_badge_removed", port=self.port)

    def __enter__(self) -> Self:
        self.insert()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.remove()

    def answer(self, apdu: bytes) -> bytes:
        if len(apdu) >= 4 and apdu[0] == 0xFF and apdu[1] == 0xCA and apdu[2] == 0x00:
            return self.uid + b"\x90\x00"
        return b"\x6d\x00"

    def _recv_exact(self, sock: socket.socket, n: int) -> bytes | None:
        data = bytearray()
        while len(data) < n:
            if self._stop.is_set():
                return None
            try:
                chunk = sock.recv(n - len(data))
            except TimeoutError:
                continue
            except OSError:
                return None
            if not chunk:
                return None
            data.extend(chunk)
        return bytes(data)

    def _send(self, sock: socket.socket, payload: bytes) -> None:
        sock.sendall(len(payload).to_bytes(2, "big") + payload)

    def _run(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            header = self._recv_exact(sock, 2)
            if header is None:
                return
            payload = self._recv_exact(sock, int.from_bytes(header, "big"))
            if payload is None:
                return
            try:
                if len(payload) == 1:
                    if payload[0] == 4:
                        self._send(sock, self.atr)
                    continue  # power off / on / reset: nothing to say
                self.apdus.append(payload)
                self._send(sock, self.answer(payload))
            except OSError:
                return
            if hasattr(socket, "TCP_QUICKACK"):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


def pcscd_missing() -> str | None:
    """Why pcscd + vpcd cannot run here, or ``None`` when they can."""
    if shutil.which("pcscd") is None and not os.path.exists("/usr/sbin/pcscd"):
        return "pcscd is not installed (Debian package pcscd)"
    if not os.path.exists(VPCD_DRIVER):
        return "the vpcd driver is not installed (Debian package vsmartcard-vpcd)"
    return None


def pcscd_running() -> bool:
    if not os.path.exists(PCSCD_SOCKET):
        return False
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(PCSCD_SOCKET)
    except OSError:
        return False
    finally:
        probe.close()
    return True


class Pcscd:
    """``with Pcscd():`` runs pcscd in the foreground for the block (reusing one already up)."""

    def __init__(self, startup_timeout: float = 5.0) -> None:
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        problem = pcscd_missing()
        if problem is not None:
            raise RuntimeError(problem)
        if pcscd_running():
            log.info("pcscd_already_running")
            return self
        binary = shutil.which("pcscd") or "/usr/sbin/pcscd"
        self.process = subprocess.Popen([binary, "--foreground", "--error"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + self.startup_timeout
        while not pcscd_running():
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                self.process = None
                raise RuntimeError(f"pcscd exited at start: {err.strip()}")
            if time.monotonic() >= deadline:
                self.stop()
                raise RuntimeError("pcscd did not open its socket in time")
            time.sleep(0.02)
        log.info("pcscd_started", pid=self.process.pid)
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        if self.process.stderr is not None:
            self.process.stderr.close()
        log.info("pcscd_stopped", pid=self.process.pid)
        self.process = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
