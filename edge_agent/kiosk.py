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
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs
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
from dealercrm.domain.printing import PrintDocument, document_from_wire, layout_gate_pass
from edge_agent.journal import Journal
from edge_agent.server import ServerRefused, ServerUnreachable
from edge_agent.supervisor import DeviceHealth

log = structlog.get_logger(__name__)

MIN_POLL_INTERVAL = 0.3

MSG_SERVER_UNREACHABLE = "暂时无法连接服务器，请稍后再试，或到发车处办理"
MSG_NO_PASS = "未找到您的出门证或提车介绍信，请联系经销商或发车处"
MSG_CARD_READ_FAILED = "身份证读取失败，请将身份证平放在感应区后重试"
MSG_READER_FAILED = "身份证阅读器故障，请联系工作人员"
MSG_PRINTER_FAILED = "打印机故障，未能打印，请联系工作人员"
MSG_BAD_LAYOUT = "出门证版式错误，未能打印，请到发车处办理"

PRINTER_MESSAGES = {
    PrinterStatus.PAPER_OUT: "打印机缺纸，暂时无法打印出门证，请联系工作人员加纸",
    PrinterStatus.COVER_OPEN: "打印机上盖未关好，暂时无法打印，请联系工作人员",
    PrinterStatus.OFFLINE: "打印机离线，暂时无法打印，请联系工作人员",
}

# Why a pass cannot be printed, as the person at the kiosk should read it.
PASS_MESSAGES = {
    "gate_pass.not_approved": "您的出门证 {pass_no} 尚未审核通过，请稍后再试或联系发车处",
    "gate_pass.not_handed_over": "您的出门证 {pass_no} 尚未审核通过，请稍后再试或联系发车处",
    "gate_pass.rejected": "您的出门证 {pass_no} 未通过审核，请联系经销商",
    "gate_pass.expired": "您的出门证 {pass_no} 已过期，请联系经销商重新办理",
    "gate_pass.voided": "您的出门证 {pass_no} 已作废，请联系经销商",
    "gate_pass.already_exited": "出门证 {pass_no} 的车辆已出厂，不能再次打印",
}


@attrs.frozen
class KioskResult:
    ok: bool
    code: str
    message: str
    printed: tuple[str, ...] = ()
    substituted: tuple[str, ...] = ()  # characters the printer could not render (name policy)
    recorded: tuple[str, ...] = ()  # passes whose print the server has counted already


def _tap_key(card: IdCardData) -> str:
    """Which card is on the reader, without keeping the number itself around."""
    return hashlib.sha256(card.id_number.encode("utf-8")).hexdigest()


def _parse_time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def document_for(slip: dict[str, Any]) -> PrintDocument:
    """The slip to print: the server's layout, or the standard one built from the pass fields."""
    layout = slip.get("layout")
    if layout:
        document = document_from_wire(layout)
    else:
        document = layout_gate_pass(slip["pass_no"], slip["person_name"], slip["vins"],
                                    _parse_time(slip["valid_from"]), _parse_time(slip["valid_to"]),
                                    slip["qr_payload"], _parse_time(slip.get("printed_at") or slip["valid_from"]))
    if slip.get("qr_payload") and slip["qr_payload"] not in document.qr_payloads:
        raise ValueError("the layout does not carry the pass's QR payload")
    return document


class Kiosk:
    def __init__(self, reader: IdCardReader, printer: ReceiptPrinter, server: Any, journal: Journal, *,
                 show: Callable[[str], None] | None = None,
                 on_result: Callable[[KioskResult], None] | None = None,
                 send_lock: threading.Lock | None = None,
                 poll_interval: float = MIN_POLL_INTERVAL,
                 health: DeviceHealth | None = None,
                 printer_check_every: float = 30.0) -> None:
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

    # -- one tap -----------------------------------------------------------------------------

    def handle_card(self, card: IdCardData) -> KioskResult:
        result = self._handle(card)
        self.last_result = result
        log.info("kiosk_result", ok=result.ok, code=result.code, printed=list(result.printed),
                 id_number=card.masked_id)
        self.show(result.message)
        if self.on_result is not None:
            self.on_result(result)
        return result

    def _handle(self, card: IdCardData) -> KioskResult:
        try:
            answer = self.server.find_passes(card.id_number, str(uuid.uuid4()))
        except ServerUnreachable as exc:
            log.warning("kiosk_server_unreachable", reason=exc.reason)
            return KioskResult(False, "server.unreachable", MSG_SERVER_UNREACHABLE)
        except ServerRefused as exc:
            log.warning("kiosk_lookup_refused", status=exc.status, code=exc.code)
            message = ("身份证号码无法识别，请到发车处办理" if exc.code.startswith("id_number")
                       else f"服务器拒绝请求：{exc.detail or exc.code}，请联系工作人员")
            return KioskResult(False, exc.code, message)

        passes = answer.get("passes") or []
        printable = [p for p in passes if p.get("printable")]
        if not printable:
            if passes:
                first = passes[0]
                template = PASS_MESSAGES.get(first["code"])
                message = template.format(pass_no=first["pass_no"]) if template else first["message"]
                return KioskResult(False, first["code"], message)
            letters = answer.get("authorizations") or []
            if letters:
                return KioskResult(False, "authorization.waiting", letters[0]["message"])
            return KioskResult(False, "gate_pass.none", MSG_NO_PASS)

        try:
            documents = [(slip["pass_no"], document_for(slip)) for slip in printable]
        except (DomainError, KeyError, TypeError, ValueError) as exc:
            log.error("kiosk_layout_invalid", reason=type(exc).__name__)
            return KioskResult(False, "print.layout_malformed", MSG_BAD_LAYOUT)

        status = self.printer.status()
        if status is not PrinterStatus.ONLINE:
            log.warning("kiosk_printer_unavailable", status=status.value)
            self.health.fault("printer", f"device.printer.{status.value}", PRINTER_MESSAGES[status])
            return KioskResult(False, f"device.printer.{status.value}", PRINTER_MESSAGES[status])

        printed: list[str] = []
        recorded: list[str] = []
        substituted: list[str] = []
        for pass_no, document in documents:
            try:
                outcome = self.printer.print(document)
            except PrinterUnavailable as exc:
                log.warning("kiosk_print_failed", pass_no=pass_no, status=exc.status.value)
                message = PRINTER_MESSAGES.get(exc.status, MSG_PRINTER_FAILED)
                self.health.fault("printer", exc.code, message)
                if printed:
                    message = f"已打印 {'、'.join(printed)}；{message}"
                return KioskResult(False, exc.code, message, tuple(printed), tuple(substituted), tuple(recorded))
            except DeviceError as exc:
                log.error("kiosk_print_failed", pass_no=pass_no, code=exc.code)
                self.health.fault("printer", exc.code, MSG_PRINTER_FAILED, exc.message)
                return KioskResult(False, exc.code, MSG_PRINTER_FAILED, tuple(printed), tuple(substituted),
                                   tuple(recorded))
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
        return KioskResult(True, "ok", message, tuple(printed), tuple(substituted), tuple(recorded))

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

    # -- the loop ----------------------------------------------------------------------------

    def check_printer(self) -> PrinterStatus:
        """Ask the printer how it is and say so in the device health (paper refilled → ok)."""
        status = self.printer.status()
        if status is PrinterStatus.ONLINE:
            self.health.ok("printer")
        else:
            self.health.fault("printer", f"device.printer.{status.value}", PRINTER_MESSAGES[status])
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
            try:
                card = self.reader.read()
            except CardReadError as exc:
                log.warning("kiosk_card_read_failed", code=exc.code)
                self.health.fault("reader", exc.code, exc.message)
                self.show(MSG_CARD_READ_FAILED)
                # a failed read is not a removal: the same card is not handled twice
            except DeviceTimeout as exc:
                log.error("kiosk_reader_failed", code=exc.code)
                self.health.fault("reader", exc.code, exc.message)
                self.show(MSG_READER_FAILED)
                stop.wait(2.0)
                continue
            except DeviceError as exc:
                log.error("kiosk_reader_failed", code=exc.code)
                self.health.fault("reader", exc.code, exc.message)
                self.show(MSG_READER_FAILED)
                raise
            else:
                self.health.ok("reader")
                if card is None:
                    on_reader = None
                    self._check_printer_when_due()
                elif _tap_key(card) != on_reader:
                    on_reader = _tap_key(card)
                    self.handle_card(card)
            remaining = started + self.poll_interval - time.monotonic()
            if remaining > 0:
                stop.wait(remaining)


__all__ = ["Kiosk", "KioskResult", "PASS_MESSAGES", "PRINTER_MESSAGES", "document_for"]
