"""The kiosk flow on the in-memory device twins and a scripted server: what is printed, what
is recorded, and what the person reads for every failure."""

from __future__ import annotations

import io
import threading
from datetime import UTC, date, datetime, timedelta

from dealercrm.adapters.devices.memory import FixedCardIdCardReader, RecordingReceiptPrinter
from dealercrm.application.ports.devices import IdCardData, PrinterStatus
from dealercrm.domain.printing import document_to_wire, layout_gate_pass, plain_text
from edge_agent.guard import Link, Replayer
from edge_agent.journal import Journal
from edge_agent.kiosk import Kiosk
from edge_agent.logs import configure_logging

CARD = IdCardData(name="张伟", gender="男", nation="汉", birth_date=date(1990, 3, 7), address="北京市朝阳区",
                  id_number="110105199003071239", issuing_authority="北京市公安局朝阳分局",
                  valid_from=date(2020, 5, 1), valid_to=None)
NOW = datetime(2026, 3, 7, 1, 0, tzinfo=UTC)


def slip(pass_no: str = "GP-2026-000001", **over: object) -> dict[str, object]:
    vins = ["LZZ1CLVBXTA000001", "LZZ1CLVB1TA000002"]
    doc = layout_gate_pass(pass_no, "张伟", vins, NOW, NOW + timedelta(days=2), f"{pass_no}:signed", NOW)
    base = {"pass_no": pass_no, "status": "handed_over", "status_label": "已交接", "printable": True, "code": "ok", "message": "可以打印",
            "person_name": "张伟", "vins": vins, "valid_from": NOW.isoformat(),
            "valid_to": (NOW + timedelta(days=2)).isoformat(), "qr_payload": f"{pass_no}:signed",
            "layout": document_to_wire(doc), "print_count": 0, "exited_at": None}
    return base | over


def refused(code: str, pass_no: str = "GP-2026-000002") -> dict[str, object]:
    return slip(pass_no, printable=False, code=code, message="服务器原文", qr_payload=None, layout=None)


def kiosk_for(server, printer=None, tmp_path=None):  # type: ignore[no-untyped-def]
    journal = Journal(tmp_path / "j.db")
    return Kiosk(FixedCardIdCardReader(CARD), printer or RecordingReceiptPrinter(), server, journal), journal


def test_a_printable_pass_is_printed_then_recorded(FakeServer, tmp_path):
    server = FakeServer({"passes": [slip()], "authorizations": [], "message": "请打印"})
    printer = RecordingReceiptPrinter()
    kiosk, journal = kiosk_for(server, printer, tmp_path)

    result = kiosk.handle_card(CARD)

    assert result.ok and result.printed == ("GP-2026-000001",) and result.recorded == ("GP-2026-000001",)
    [document] = printer.printed
    text = plain_text(document)
    assert text[0] == "出门证" and "证号：GP-2026-000001" in text and "提车人：张伟" in text
    assert "LZZ1CLVBXTA000001" in text and document.qr_payloads == ["GP-2026-000001:signed"]
    assert [name for name, _ in server.calls] == ["lookup", "print"]
    [(_, event_id)] = [arg for name, arg in server.calls if name == "print"]
    assert journal.get(event_id).state == "sent"
    assert "已打印" in result.message


def test_paper_out_prints_nothing_records_nothing(FakeServer, tmp_path):
    server = FakeServer({"passes": [slip()], "authorizations": [], "message": "请打印"})
    printer = RecordingReceiptPrinter(PrinterStatus.PAPER_OUT)
    kiosk, journal = kiosk_for(server, printer, tmp_path)

    result = kiosk.handle_card(CARD)

    assert not result.ok and result.code == "device.printer.paper_out" and "缺纸" in result.message
    assert printer.printed == [] and server.printed() == [] and list(journal) == []


class FailsWhilePrinting(RecordingReceiptPrinter):
    """Online when asked, then the paper runs out during the job."""

    def print(self, document):  # type: ignore[no-untyped-def]
        self.state = PrinterStatus.PAPER_OUT
        return super().print(document)


def test_a_print_that_failed_is_not_recorded(FakeServer, tmp_path):
    server = FakeServer({"passes": [slip()], "authorizations": [], "message": "请打印"})
    kiosk, journal = kiosk_for(server, FailsWhilePrinting(), tmp_path)

    result = kiosk.handle_card(CARD)

    assert not result.ok and result.printed == () and "缺纸" in result.message
    assert server.printed() == [] and list(journal) == []


def test_every_refusal_has_a_clear_message(FakeServer, tmp_path):
    cases = {
        "gate_pass.not_approved": "尚未审核通过",
        "gate_pass.expired": "已过期",
        "gate_pass.voided": "已作废",
        "gate_pass.rejected": "未通过审核",
        "gate_pass.already_exited": "已出厂",
    }
    for code, words in cases.items():
        server = FakeServer({"passes": [refused(code)], "authorizations": [], "message": "x"})
        kiosk, _ = kiosk_for(server, tmp_path=tmp_path / code)
        result = kiosk.handle_card(CARD)
        assert (result.ok, result.code) == (False, code)
        assert words in result.message and "GP-2026-000002" in result.message, result.message
        assert server.printed() == []

    nothing = kiosk_for(FakeServer(), tmp_path=tmp_path / "none")[0].handle_card(CARD)
    assert (nothing.code, nothing.message) == ("gate_pass.none", "未找到您的出门证或提车介绍信，请联系经销商或发车处")
    letter = {"passes": [], "authorizations": [{"number": "PA-1", "contract_no": "HT-1", "vins": [],
                                                     "valid_to": NOW.isoformat(),
                                                     "message": "介绍信 PA-1 身份已核验，请到发车处办理出门证"}],
              "message": "x"}
    waiting = kiosk_for(FakeServer(letter), tmp_path=tmp_path / "letter")[0].handle_card(CARD)
    assert waiting.code == "authorization.waiting" and "请到发车处办理出门证" in waiting.message

    down = FakeServer({"passes": [slip()], "authorizations": [], "message": "x"})
    down.down = True
    printer = RecordingReceiptPrinter()
    offline = kiosk_for(down, printer, tmp_path / "down")[0].handle_card(CARD)
    assert offline.code == "server.unreachable" and "无法连接服务器" in offline.message and printer.printed == []


def test_a_print_record_that_cannot_be_sent_is_replayed_once(FakeServer, tmp_path):
    server = FakeServer({"passes": [slip()], "authorizations": [], "message": "请打印"})
    printer = RecordingReceiptPrinter()
    kiosk, journal = kiosk_for(server, printer, tmp_path)
    real_record = server.record_print

    def down_for_the_record(pass_no, event_id):  # type: ignore[no-untyped-def]
        server.down = True
        return real_record(pass_no, event_id)

    server.record_print = down_for_the_record
    result = kiosk.handle_card(CARD)
    assert result.ok and result.printed == ("GP-2026-000001",) and result.recorded == ()
    assert journal.counts()["pending"] == 1

    server.record_print = real_record
    server.down = False
    answered, up = Replayer(server, journal, link=Link()).replay_once()

    assert (answered, up) == (1, True) and journal.counts() == {"pending": 0, "sent": 1, "refused": 0}
    assert len(server.printed()) == 2  # the failed attempt and the replay, under one event id
    assert len({arg[1] for name, arg in server.calls if name == "print"}) == 1


def test_a_card_left_on_the_reader_is_handled_once(FakeServer, tmp_path):
    server = FakeServer({"passes": [slip()], "authorizations": [], "message": "请打印"})
    printer = RecordingReceiptPrinter()
    kiosk, _ = kiosk_for(server, printer, tmp_path)
    reader = kiosk.reader
    stop = threading.Event()
    loop = threading.Thread(target=kiosk.run, args=(stop,), daemon=True)
    loop.start()
    def reads(n: int) -> None:
        for _ in range(200):  # at most 10 s
            if reader.reads >= n:
                return
            stop.wait(0.05)
        raise AssertionError("the kiosk stopped polling")

    reads(4)
    reader.remove()
    reads(6)
    reader.present(CARD)  # tapped again
    reads(9)
    stop.set()
    loop.join(timeout=3)

    assert len(printer.printed) == 2


def test_logs_never_carry_the_id_number_or_the_full_name(FakeServer, tmp_path):
    out = io.StringIO()
    configure_logging("DEBUG", stream=out)
    server = FakeServer({"passes": [refused("gate_pass.expired")], "authorizations": [], "message": "x"})
    kiosk, _ = kiosk_for(server, tmp_path=tmp_path)
    kiosk.handle_card(CARD)
    import structlog

    structlog.get_logger("t").info("holder_seen", person_name="张伟", note=f"card {CARD.id_number}",
                                   qr_payload="secret-token")

    logged = out.getvalue()
    assert "kiosk_result" in logged and "holder_seen" in logged
    assert CARD.id_number not in logged and "张伟" not in logged and "secret-token" not in logged
    assert "1101**********1239" in logged and "张*" in logged
