"""ESC/POS rendering and our decoder, round-tripped without a printer."""

import pytest
from escpos.printer import Dummy

from dealercrm.adapters.devices import escpos_decode
from dealercrm.adapters.devices.escpos_printer import gbk_safe, interpret_status, render
from dealercrm.application.ports.devices import PrinterStatus
from dealercrm.domain.printing import PrintDocument, Text, Title, layout_gate_pass, plain_text

TOKEN = "eyJraWQiOiJhYmMifQ.c2lnbmF0dXJlLWJ5dGVz-_"


@pytest.fixture
def document(at):
    return layout_gate_pass("GP-20250307-0001", "张伟", ["LFV2A21K8N3000001"], at(8), at(18),
                            TOKEN, at(7, 55))


def test_job_starts_with_init_and_chinese_mode(document):
    job, _ = render(document)

    assert job.startswith(b"\x1b@\x1c&")


def test_rendered_text_decodes_back_to_the_layout(document):
    job, _ = render(document, qr_mode="native")

    decoded = escpos_decode.decode(job)

    assert decoded.text_lines == plain_text(document)
    assert decoded.initialised and decoded.chinese_mode


def test_chinese_text_is_sent_as_gb18030(document):
    job, _ = render(document)

    assert "出门证".encode("gb18030") in job
    assert "出门证".encode("utf-8") not in job


def test_native_qr_payload_is_extracted(document):
    job, _ = render(document, qr_mode="native")

    decoded = escpos_decode.decode(job)

    assert decoded.qr_payloads == [TOKEN]
    assert b"\x1d(k" in job


def test_raster_qr_is_rebuilt_and_decoded(document):
    job, _ = render(document, qr_mode="raster")

    decoded = escpos_decode.decode(job)

    assert b"\x1d(k" not in job
    assert len(decoded.images) == 1
    assert decoded.qr_payloads == [TOKEN]


# A real pass-sized payload in whose raster QR zxing, with every format enabled, also "found" an
# ITF barcode: the kiosk test then saw two payloads on one slip (CI, 2026-12-04).
LOOKS_LIKE_ITF = ("GP1.Dx4-EO2MFkwP6hsA7XcCImuugjIQ9A_h9mdI5V8eFz39xRk0casVO6QFZLpeUUa_3Eu4wyMmctn8xQZ_h-ndDx69ii61o"
                  "KTVdX9Nznx3CaR60Q76c9KAQ57RMmjVTz4BkmQTi7NFYDjp_Cwe7D-vryAcD6xIR0esHH2CneGP659ZJDUGx0b0laEpuMSBb8H"
                  "U0WrmmBK_")


def test_a_raster_qr_decodes_to_its_payload_only_never_to_a_phantom_linear_barcode(at):
    document = layout_gate_pass("GP-2026-000001", "张伟", ["LFV2A21K8N3000001"], at(8), at(18),
                                LOOKS_LIKE_ITF, at(7, 55))
    job, _ = render(document, qr_mode="raster", paper_dots=384)

    assert escpos_decode.decode(job).qr_payloads == [LOOKS_LIKE_ITF]


def test_raster_qr_fits_a_58mm_printer(document):
    job, _ = render(document, qr_mode="raster", paper_dots=384)

    decoded = escpos_decode.decode(job)

    assert decoded.images[0].width <= 384


def test_cut_is_counted_once(document):
    job, _ = render(document)

    assert escpos_decode.decode(job).cuts == 1


def test_title_is_decoded_bold_and_double_size(document):
    job, _ = render(document)

    title = escpos_decode.decode(job).lines[0]

    assert title.text == "出门证"
    assert title.bold and title.double_width and title.double_height
    assert title.align == "center"


def test_characters_outside_gbk_are_replaced_by_the_marker_and_reported():
    document = PrintDocument([Text("提车人：王䶮𠮷")])

    job, replaced = render(document)

    assert escpos_decode.decode(job).text_lines == ["提车人：王□□"]
    assert replaced == ("䶮", "𠮷")


def test_gbk_text_is_left_alone():
    assert gbk_safe("王喆镕堃：（）") == ("王喆镕堃：（）", [])


def test_decoder_reads_python_escpos_dummy_output():
    printer = Dummy()
    printer.set(bold=True, double_height=True, double_width=True, align="center")
    printer._raw("出门证\n".encode("gb18030"))
    printer.set(normal_textsize=True, bold=False, align="left")
    printer.textln("Pass GP-1")
    printer.qr("hello-qr", native=True)
    printer.cut()

    decoded = escpos_decode.decode(printer.output)

    assert decoded.text_lines == ["出门证", "Pass GP-1"]
    assert decoded.lines[0].bold and decoded.lines[0].double_height
    assert decoded.qr_payloads == ["hello-qr"]
    assert decoded.cuts == 1


def test_decoder_reads_python_escpos_raster_qr():
    printer = Dummy()
    printer.qr("raster-payload", native=False, size=4)

    decoded = escpos_decode.decode(printer.output)

    assert decoded.qr_payloads == ["raster-payload"]


def test_tokenizer_stops_before_an_incomplete_command():
    data = b"AB\n\x1d(k\x10\x00123"

    tokens, end = escpos_decode.tokenize(data)

    assert [t.kind for t in tokens] == ["text", "lf"]
    assert end == 3


def test_tokenizer_resumes_where_it_stopped_and_finds_status_requests():
    data = b"\x1b@\x10\x04\x01\x1b"

    first, end = escpos_decode.tokenize(data)
    rest, end2 = escpos_decode.tokenize(data + b"E\x01", end)

    assert [t.kind for t in first] == ["esc", "status"]
    assert first[1].args == b"\x01"
    assert [(t.kind, t.name, t.args) for t in rest] == [("esc", "E", b"\x01")]
    assert end2 == len(data) + 2


def test_title_line_from_layout_is_a_title():
    document = PrintDocument([Title("出门证")])

    job, _ = render(document)

    assert escpos_decode.decode(job).text_lines == ["出门证"]


@pytest.mark.parametrize(
    ("online", "cause", "paper", "expected"),
    [
        (0x12, None, 0x12, PrinterStatus.ONLINE),
        (0x12, None, 0x72, PrinterStatus.PAPER_OUT),
        (0x1A, 0x16, None, PrinterStatus.COVER_OPEN),
        (0x1A, 0x32, None, PrinterStatus.PAPER_OUT),
        (0x1A, 0x12, None, PrinterStatus.OFFLINE),
        (None, None, None, PrinterStatus.OFFLINE),
        (0x12, None, 0x1E, PrinterStatus.ONLINE),  # near end is still printable
        (0xFF, None, None, PrinterStatus.OFFLINE),  # noise, not a status byte
        (0x13, None, 0x12, PrinterStatus.OFFLINE),  # a fixed bit wrong
        (0x12, None, 0x80, PrinterStatus.ONLINE),  # garbled paper answer: no paper verdict
    ],
)
def test_status_bytes_map_to_printer_status(online, cause, paper, expected):
    assert interpret_status(online, cause, paper) is expected
