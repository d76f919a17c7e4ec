"""A network ESC/POS receipt printer on 127.0.0.1 (port 0 → an ephemeral port).

Speaks to python-escpos's ``Network`` transport like a real printer on port 9100: answers
``DLE EOT n`` status requests as they stream in (``0x12`` = online / paper fine, ``0x72`` =
paper out …), stores every connection's bytes as one job and decodes it with
``escpos_decode`` into text lines, QR payloads (native and raster) and cuts.

Faults: ``paper_out``, ``cover_open``, ``offline`` (status bytes say so), ``silent`` (status
requests get no answer), ``garbled`` (status requests get a byte that is no status, 0xFF) and
``disconnect`` (connections are closed as soon as accepted).
While out of paper or with the cover open, received print data is counted in
``discarded_bytes`` and no job is stored — as a real printer would not print it.

``native_qr=False`` plays a printer without ``GS ( k`` support (a cheap 58 mm model): native QR
commands print nothing, so its slips carry no QR unless it was sent as a raster image.

``serial=True`` also serves a pseudo-terminal (``serial_path``) for python-escpos's
``Serial`` transport; there a job ends at each cut, since no connection closes.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import tty
from types import TracebackType
from typing import Self

import structlog

from dealercrm.adapters.devices import escpos_decode
from dealercrm.adapters.devices.escpos_decode import DecodedJob

log = structlog.get_logger(__name__)

STATUS_OK = 0x12


class EscposPrinterSimulator:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, serial: bool = False,
                 native_qr: bool = True) -> None:
        self.host = host
        self.native_qr = native_qr
        self.serial = serial
        self.serial_path = ""
        self._pty: tuple[int, int] | None = None
        self.requested_port = port
        self.port = 0
        self.paper_out = False
        self.cover_open = False
        self.offline = False
        self.silent = False
        self.garbled = False
        self.disconnect = False
        self.raw_jobs: list[bytes] = []
        self.jobs: list[DecodedJob] = []
        self.discarded_bytes = 0
        self.status_requests = 0
        self._server: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._workers: list[threading.Thread] = []
        self._stop = threading.Event()
        self._changed = threading.Condition()

    # -- status bytes ------------------------------------------------------------------------

    def status_byte(self, n: int) -> int:
        if self.garbled:
            return 0xFF
        if n == 1:  # printer status: bit 3 = offline
            return STATUS_OK | (0x08 if (self.offline or self.paper_out or self.cover_open) else 0)
        if n == 2:  # offline cause: bit 2 cover open, bit 5 stopped by paper end
            return STATUS_OK | (0x04 if self.cover_open else 0) | (0x20 if self.paper_out else 0)
        if n == 3:  # error status
            return STATUS_OK
        if n == 4:  # roll paper sensor: bits 5-6 paper end
            return STATUS_OK | (0x60 if self.paper_out else 0)
        return STATUS_OK

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((self.host, self.requested_port))
        server.listen(8)
        server.settimeout(0.1)
        self._server = server
        self.port = server.getsockname()[1]
        self._stop.clear()
        self._thread = threading.Thread(target=self._accept_loop, name="escpos-sim", daemon=True)
        self._thread.start()
        if self.serial:
            master, slave = os.openpty()
            tty.setraw(slave)
            self._pty = (master, slave)
            self.serial_path = os.ttyname(slave)
            worker = threading.Thread(target=self._serve_pty, args=(master,), daemon=True)
            self._workers.append(worker)
            worker.start()
        log.info("printer_simulator_started", host=self.host, port=self.port,
                 serial_path=self.serial_path or None)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        for worker in self._workers:
            worker.join(timeout=2)
        self._workers.clear()
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._pty is not None:
            for fd in self._pty:
                os.close(fd)
            self._pty = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def wait_for_jobs(self, count: int, timeout: float = 5.0) -> list[DecodedJob]:
        """Block until ``count`` jobs are stored (connections fully read), then return them."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.jobs) >= count, timeout=timeout)
            return list(self.jobs)

    # -- server ------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        server = self._server
        if server is None:
            return
        while not self._stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            if self.disconnect:
                conn.close()
                continue
            worker = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._workers = [w for w in self._workers if w.is_alive()] + [worker]
            worker.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.1)
        buffer = bytearray()
        parsed = 0
        printable = bytearray()
        with conn:
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                buffer.extend(chunk)
                tokens, end = escpos_decode.tokenize(buffer, parsed)
                for token in tokens:
                    if token.kind != "status":
                        printable.extend(buffer[token.start:token.end])
                        continue
                    with self._changed:
                        self.status_requests += 1
                    if not self.silent:
                        try:
                            conn.sendall(bytes((self.status_byte(token.args[0]),)))
                        except OSError:
                            break
                parsed = end
        printable.extend(buffer[parsed:])  # a truncated last command is still "received"
        self._store(bytes(printable))

    def _serve_pty(self, master: int) -> None:
        """Serial printer: there is no connection to end a job, so a cut ends it."""
        buffer = bytearray()
        parsed = 0
        printable = bytearray()
        while not self._stop.is_set():
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            try:
                buffer.extend(os.read(master, 65536))
            except OSError:
                continue
            tokens, parsed = escpos_decode.tokenize(buffer, parsed)
            for token in tokens:
                if token.kind == "status":
                    with self._changed:
                        self.status_requests += 1
                    if not self.silent:
                        os.write(master, bytes((self.status_byte(token.args[0]),)))
                    continue
                printable.extend(buffer[token.start:token.end])
                if token.kind == "gs" and token.name == "V":
                    self._store(bytes(printable))
                    printable.clear()
            del buffer[:parsed]
            parsed = 0

    def _store(self, job: bytes) -> None:
        if not job:
            return
        with self._changed:
            if self.paper_out or self.cover_open or self.offline:
                self.discarded_bytes += len(job)
                log.info("printer_simulator_discarded", bytes=len(job))
            else:
                self.raw_jobs.append(job)
                self.jobs.append(escpos_decode.decode(job, native_qr=self.native_qr))
                log.info("printer_simulator_job", bytes=len(job))
            self._changed.notify_all()
