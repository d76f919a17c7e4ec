import io

import pytest

from dealercrm.adapters.devices.memory import (
    FixedCardIdCardReader,
    RecordingReceiptPrinter,
    ScriptedQrScanner,
)
from dealercrm.adapters.devices.scanner import KeyboardWedgeQrScanner
from dealercrm.application.ports.devices import PrinterStatus, PrinterUnavailable, mask_id_number
from dealercrm.domain.printing import PrintDocument, Text


def test_recording_printer_keeps_printed_documents():
    printer = RecordingReceiptPrinter()
    document = PrintDocument([Text("出门证")])

    outcome = printer.print(document)

    assert printer.printed == [document]
    assert outcome.faithful


def test_recording_printer_out_of_paper_refuses_and_records_nothing():
    printer = RecordingReceiptPrinter(PrinterStatus.PAPER_OUT)

    with pytest.raises(PrinterUnavailable) as caught:
        printer.print(PrintDocument([Text("x")]))

    assert caught.value.status is PrinterStatus.PAPER_OUT
    assert caught.value.code == "device.printer.paper_out"
    assert printer.printed == []


def test_recording_printer_flags_characters_outside_gbk():
    outcome = RecordingReceiptPrinter().print(PrintDocument([Text("王䶮")]))

    assert outcome.substituted == ("䶮",)


def test_fixed_reader_returns_nothing_once_the_card_is_removed(card):
    reader = FixedCardIdCardReader(card)

    first = reader.read()
    reader.remove()

    assert first == card
    assert reader.read() is None


def test_scripted_scanner_hands_out_payloads_in_order():
    scanner = ScriptedQrScanner(["a", "b"])

    assert [scanner.read_line(0), scanner.read_line(0), scanner.read_line(0)] == ["a", "b", None]


def test_keyboard_wedge_splits_on_cr_lf_and_skips_blank_lines():
    scanner = KeyboardWedgeQrScanner(io.StringIO("first\r\n\nsecond\rthird\n"))

    lines = [scanner.read_line(1.0) for _ in range(3)]

    assert lines == ["first", "second", "third"]


def test_keyboard_wedge_returns_none_at_end_of_stream():
    scanner = KeyboardWedgeQrScanner(io.StringIO("only\n"))

    assert scanner.read_line(1.0) == "only"
    assert scanner.read_line(0.05) is None
    assert scanner.read_line(0.05) is None


def test_masked_id_keeps_region_and_check_only():
    assert mask_id_number("110105199003071239") == "1101**********1239"
