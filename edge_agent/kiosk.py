"""The self-service kiosk: tap the ID card → find the passes → print → record the print.

1. The reader is polled no faster than every 300 ms; a card is handled once per tap (it must
   leave the reader before the same card is handled again).
2. The ID number goes to the server (``POST /kiosk/passes/lookup``) and nowhere else: not to
   logs (masked), not to the journal.
3. Printable passes are laid out from the server's ``layout`` (``domain.printing``; the local
   ``layout_gate_pass`` when a server sent none) — title 出门证, pass number, person, VINs,
   validity, signed QR.
4. The printer's status is asked first; paper out, cover open or offline → a clear message and
   nothing printed, nothing recorded.
5. Only after ``printer.print`` returned is the print recorded — journaled first with its
   client event id, so a print whose record could not reach the server is replayed later
   (``Replayer``) and never counted twice.

Every outcome is a :class:`KioskResult` with a stable ``code`` and a Chinese message for the
screen.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs
import msgspec
import structlog

from dealercrm.application.ports.devices import (
    CardReadError,
    DeviceError,
    DeviceTimeout,
    IdCardData,
    IdCardReader,
    PrinterStatus,
    PrinterUnavailable,
    ReceiptPrinter,
)
from dealercrm.domain.errors import DomainError
from dealercrm.domain.printing import (
    PrintDocument,
    document_from_wire,
    layout_gate_pass,
)
from dealercrm.wire.kiosk import KioskLookupOut, KioskPassOut
from edge_agent.journal import Journal
from edge_agent.messages import say
from edge_agent.server import ServerRefused, ServerUnreachable
from edge_agent.supervisor import DeviceHealth

log = structlog.get_logger(__name__)

MIN_POLL_INTERVAL = 0.3

PRINTER_CODES = {status: f"device.printer.{status.value}" for status in PrinterStatus}


def printer_message(status: PrinterStatus) -> str:
    """What the kiosk says about a printer that cannot print (paper out, cover open, offline)."""
    return say(PRINTER_CODES[status], "driver", default=say("device.printer.failed", "driver"))


@attrs.frozen
class KioskResult:
    ok: bool
    code: str
    message: str
    printed: tuple[str, ...] = ()
    substituted: tuple[str, ...] = ()  # characters the printer could not render (name policy)
    recorded: tuple[str, ...] = ()  # passes whose print the server has counted already
    passes: tuple[dict[str, Any], ...] = ()  # what the screen lists: number, vehicles, validity


def _tap_key(card: IdCardData) -> str:
    """Which card is on the reader, without keeping the number itself around."""
    return hashlib.sha256(card.id_number.encode("utf-8")).hexdigest()


def _parse_time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def document_for(slip: KioskPassOut) -> PrintDocument:
    """The slip to print: the server's layout, or the standard one built from the pass fields."""
    if slip.layout is not None:
        document = document_from_wire(msgspec.to_builtins(slip.layout))
    else:
        document = layout_gate_pass(slip.pass_no, slip.person_name, slip.vins,
                                    _parse_time(slip.valid_from), _parse_time(slip.valid_to),
                                    slip.qr_payload, _parse_time(slip.valid_from))  # type: ignore[arg-type]
    if slip.qr_payload and slip.qr_payload not in document.qr_payloads:
        raise ValueError("the layout does not carry the pass's QR payload")
    return document


class Kiosk:
    def __init__(self, reader: IdCardReader, printer: ReceiptPrinter, server: Any, journal: Journal, *,
                 show: Callable[[str], None] | None = None,
                 on_result: Callable[[KioskResult], None] | None = None,
                 send_lock: threading.Lock | None = None,
                 poll_interval: float = MIN_POLL_INTERVAL,
                 health: DeviceHealth | None = None,
                 printer_check_every: float = 30.0,
                 on_phase: Callable[..., None] | None = None,
                 in_maintenance: Callable[[], bool] = lambda: False) -> None:
        self.reader = reader
        self.printer = printer
        self.server = server
        self.journal = journal
        self.show = show or (lambda message: None)
        self.on_result = on_result
        self.send_lock = send_lock or threading.Lock()
        self.poll_interval = max(poll_interval, MIN_POLL_INTERVAL)
        self.last_result: KioskResult | None = None
        self.health = health or DeviceHealth(("reader", "printer"))
        self.printer_check_every = printer_check_every
        self._next_printer_check = 0.0
        # the screens: on_phase(phase, **fields) as a tap walks reading → verifying → found →
        # printing (the result itself goes to on_result); errors between taps too
        self.on_phase = on_phase or (lambda phase, **fields: None)
        self._reading_shown = False
        self._card_on_reader = False  # the last poll found a card (the same tap is not read anew)
        self.in_maintenance = in_maintenance  # a maintenance badge is in: cards are not handled
        self._commands: queue.Queue[tuple[str, Callable[[Any], None]]] = queue.Queue()

    # -- one tap -----------------------------------------------------------------------------

    def card_found(self) -> None:
        """The reader saw a card and is reading it (before its data is in): 读取中."""
        if not self._reading_shown and not self._card_on_reader and not self.in_maintenance():
            self._reading_shown = True
            self.on_phase("reading")

    def handle_card(self, card: IdCardData) -> KioskResult:
        self.card_found()
        self._reading_shown = False
        result = self._handle(card)
        self.last_result = result
        log.info("kiosk_result", ok=result.ok, code=result.code, printed=list(result.printed),
                 id_number=card.masked_id)
        self.show(result.message)
        if self.on_result is not None:
            self.on_result(result)
        return result

    def _handle(self, card: IdCardData) -> KioskResult:
        self.on_phase("verifying")
        try:
            answer = msgspec.convert(self.server.find_passes(card.id_number, str(uuid.uuid4())), KioskLookupOut)
        except msgspec.ValidationError as exc:  # not the answer docs/kiosk-api.md describes
            log.error("kiosk_lookup_malformed", reason=str(exc))
            return KioskResult(False, "server.answer_malformed", say("server.answer_malformed", "driver"))
        except ServerUnreachable as exc:
            log.warning("kiosk_server_unreachable", reason=exc.reason)
            return KioskResult(False, "server.unreachable", say("server.unreachable", "driver"))
        except ServerRefused as exc:
            log.warning("kiosk_lookup_refused", status=exc.status, code=exc.code)
            message = (say("kiosk.id_number_unreadable", "driver") if exc.code.startswith("id_number")
                       else f"服务器拒绝请求：{exc.detail or exc.code}，请联系工作人员")
            return KioskResult(False, exc.code, message)

        printable = [p for p in answer.passes if p.printable]
        if not printable:
            if answer.passes:
                first = answer.passes[0]
                message = say(first.code, "driver", default=first.message, pass_no=first.pass_no)
                return KioskResult(False, first.code, message, passes=(_screen_line(first),))
            if answer.authorizations:
                return KioskResult(False, "authorization.waiting", answer.authorizations[0].message)
            return KioskResult(False, "gate_pass.none", say("gate_pass.none", "driver"))

        try:
            documents = [(slip.pass_no, document_for(slip)) for slip in printable]
        except (DomainError, KeyError, TypeError, ValueError) as exc:
            log.error("kiosk_layout_invalid", reason=type(exc).__name__)
            return KioskResult(False, "print.layout_malformed", say("print.layout_malformed", "driver"))
        lines = tuple(_screen_line(slip) for slip in printable)
        self.on_phase("found", passes=[dict(line) for line in lines])

        status = self.printer.status()
        if status is not PrinterStatus.ONLINE:
            log.warning("kiosk_printer_unavailable", status=status.value)
            self.health.fault("printer", PRINTER_CODES[status], say(PRINTER_CODES[status]))
            return KioskResult(False, PRINTER_CODES[status], printer_message(status), passes=lines)

        printed: list[str] = []
        recorded: list[str] = []
        substituted: list[str] = []
        for number, (pass_no, document) in enumerate(documents, start=1):
            self.on_phase("printing", message=f"正在打印第 {number} 张（共 {len(documents)} 张），请稍候",
                          passes=[dict(line) for line in lines])
            try:
                outcome = self.printer.print(document)
            except PrinterUnavailable as exc:
                log.warning("kiosk_print_failed", pass_no=pass_no, status=exc.status.value)
                message = printer_message(exc.status)
                self.health.fault("printer", exc.code, say(exc.code, default=exc.message))
                if printed:
                    message = f"已打印 {'、'.join(printed)}；{message}"
                return KioskResult(False, exc.code, message, tuple(printed), tuple(substituted), tuple(recorded),
                                   lines)
            except DeviceError as exc:
                log.error("kiosk_print_failed", pass_no=pass_no, code=exc.code)
                self.health.fault("printer", exc.code, say("device.printer.failed"), exc.message)
                return KioskResult(False, exc.code, say("device.printer.failed", "driver"), tuple(printed),
                                   tuple(substituted), tuple(recorded), lines)
            self.health.ok("printer")
            printed.append(pass_no)
            if outcome.substituted:
                substituted.extend(outcome.substituted)
                log.warning("gate_pass_name_substituted", pass_no=pass_no, characters=len(outcome.substituted))
            if self._record_print(pass_no):
                recorded.append(pass_no)
        message = f"出门证 {'、'.join(printed)} 已打印，请取走出门证，出厂时交门卫扫码"
        if substituted:
            message += "（姓名中有生僻字以□代替，不影响扫码核验）"
        return KioskResult(True, "ok", message, tuple(printed), tuple(substituted), tuple(recorded), lines)

    def _record_print(self, pass_no: str) -> bool:
        """Journal the print, then tell the server; unreachable → the replayer sends it later."""
        event_id = self.journal.record("print", {"pass_no": pass_no})
        with self.send_lock:
            try:
                answer = self.server.record_print(pass_no, event_id)
            except ServerUnreachable as exc:
                self.journal.note_failure(event_id, exc.reason)
                log.warning("kiosk_print_record_queued", pass_no=pass_no, reason=exc.reason)
                return False
            except ServerRefused as exc:
                if exc.status in (401, 403):
                    self.journal.note_failure(event_id, f"{exc.status} {exc.code}")
                    return False
                self.journal.mark_refused(event_id, exc.body, exc.detail or exc.code)
                log.warning("kiosk_print_record_refused", pass_no=pass_no, code=exc.code)
                return False
        self.journal.mark_sent(event_id, answer)
        return True

    # -- maintenance (a maintenance badge is in) -------------------------------------------

    def submit(self, command: str, done: Callable[[Any], None]) -> None:
        """Run a maintenance ``command`` (``print_test``, ``paper``) on the kiosk's own thread —
        the only one that talks to the printer — and hand its outcome to ``done``."""
        self._commands.put((command, done))

    def _run_commands(self) -> None:
        while True:
            try:
                command, done = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                outcome: Any = self._maintenance_command(command)
            except DomainError as exc:
                log.warning("kiosk_maintenance_failed", command=command, code=exc.code)
                outcome = {"ok": False, "code": exc.code, "message": say(exc.code, default=exc.message)}
            done(outcome)

    def _maintenance_command(self, command: str) -> dict[str, Any]:
        if command == "paper":
            status = self.check_printer()
            if status is PrinterStatus.ONLINE:
                return {"ok": True, "code": "ok", "message": "打印机正常，纸张充足"}
            return {"ok": False, "code": PRINTER_CODES[status], "message": say(PRINTER_CODES[status])}
        if command == "print_test":
            from edge_agent.devices_cli import sample_gate_pass

            status = self.check_printer()
            if status is not PrinterStatus.ONLINE:
                return {"ok": False, "code": PRINTER_CODES[status], "message": say(PRINTER_CODES[status])}
            outcome = self.printer.print(sample_gate_pass(datetime.now().astimezone()))
            self.health.ok("printer")
            log.info("kiosk_test_print", bytes=outcome.bytes_sent)
            return {"ok": True, "code": "ok", "message": f"测试页已打印（{outcome.bytes_sent} 字节）"}
        return {"ok": False, "code": "maintenance.unknown_command", "message": "未知的维护操作"}

    # -- the loop ----------------------------------------------------------------------------

    def check_printer(self) -> PrinterStatus:
        """Ask the printer how it is and say so in the device health (paper refilled → ok)."""
        status = self.printer.status()
        if status is PrinterStatus.ONLINE:
            self.health.ok("printer")
        else:
            self.health.fault("printer", PRINTER_CODES[status], say(PRINTER_CODES[status]))
        return status

    def _check_printer_when_due(self) -> None:
        now = time.monotonic()
        if now < self._next_printer_check:
            return
        status = self.check_printer()
        # a faulty printer is asked more often, so the screen clears soon after the paper is in
        every = self.printer_check_every if status is PrinterStatus.ONLINE else min(5.0, self.printer_check_every)
        self._next_printer_check = now + every

    def run(self, stop: threading.Event) -> None:
        """Poll the reader until ``stop`` is set; each tap of a card is handled once.

        Reader errors (a failure status, a malformed frame, no answer) are shown and put the
        reader in ``fault`` until a poll succeeds again; a broken port (any other
        ``DeviceError``) is raised, so the supervisor closes and reopens it.
        """
        on_reader: str | None = None
        while not stop.is_set():
            started = time.monotonic()
            self._run_commands()
            if self.in_maintenance():
                stop.wait(self.poll_interval)
                continue
            try:
                card = self.reader.read()
            except CardReadError as exc:
                log.warning("kiosk_card_read_failed", code=exc.code)
                self.health.fault("reader", exc.code, say(exc.code, default=exc.message))
                self.show(say("kiosk.card_read_failed", "driver"))
                if self._reading_shown:  # a card was being read (pulled mid-read …): tell the driver;
                    # garbage on an idle poll is the reader's fault, shown as 设备故障 by its health
                    self.on_phase("error", code="kiosk.card_read_failed",
                                  message=say("kiosk.card_read_failed", "driver"))
                self._reading_shown = False
                # a failed read is not a removal: the same card is not handled twice
            except DeviceTimeout as exc:
                log.error("kiosk_reader_failed", code=exc.code)
                self.health.fault("reader", exc.code, say(exc.code, default=exc.message))
                self.show(say("kiosk.reader_failed", "driver"))
                self._reading_shown = False
                stop.wait(2.0)
                continue
            except DeviceError as exc:
                log.error("kiosk_reader_failed", code=exc.code)
                self.health.fault("reader", exc.code, say(exc.code, default=exc.message))
                self.show(say("kiosk.reader_failed", "driver"))
                raise
            else:
                self.health.ok("reader")
                if card is None:
                    on_reader = None
                    self._reading_shown = False
                    self._check_printer_when_due()
                elif _tap_key(card) != on_reader:
                    on_reader = _tap_key(card)
                    self.handle_card(card)
                self._card_on_reader = card is not None
            remaining = started + self.poll_interval - time.monotonic()
            if remaining > 0:
                stop.wait(remaining)


def _screen_line(slip: KioskPassOut) -> dict[str, Any]:
    from edge_agent.screens import pass_line

    return pass_line(slip)


__all__ = ["Kiosk", "KioskResult", "PRINTER_CODES", "document_for", "printer_message"]
