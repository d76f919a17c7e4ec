"""The real python-escpos adapter over TCP to the ESC/POS printer simulator."""

import socket

import pytest

from dealercrm.adapters.devices.escpos_printer import EscposReceiptPrinter, UnprintableText
from dealercrm.adapters.devices.sim.escpos_printer import EscposPrinterSimulator
from dealercrm.adapters.signing import Ed25519PassSigner
from dealercrm.application.ports.devices import PrinterStatus, PrinterUnavailable
from dealercrm.application.ports.signing import gate_pass_claims
from dealercrm.domain.printing import Cut, PrintDocument, QrCode, Text, layout_gate_pass, plain_text

pytestmark = pytest.mark.devices

VINS = ["LFV2A21K8N3000001", "LFV2A21K8N3000002"]


@pytest.fixture
def signer():
    return Ed25519PassSigner.generate()


@pytest.fixture
def gate_pass(at, signer):
    token = signer.sign(gate_pass_claims("GP-20250307-0001", VINS, "110105199003071239",
                                         at(8), at(18)))
    return layout_gate_pass("GP-20250307-0001", "张伟", VINS, at(8), at(18), token, at(7, 55))


def printer_for(sim, **options):
    options.setdefault("status_timeout", 0.3)
    return EscposReceiptPrinter.network("127.0.0.1", sim.port, **options)


def test_printer_reports_online(printer_sim):
    assert printer_for(printer_sim).status() is PrinterStatus.ONLINE


def test_gate_pass_prints_with_chinese_text_and_native_qr(printer_sim, gate_pass, signer, at):
    outcome = printer_for(printer_sim, qr_mode="native").print(gate_pass)

    [job] = printer_sim.wait_for_jobs(1)
    assert outcome.faithful
    assert job.text_lines == plain_text(gate_pass)
    assert job.qr_payloads == gate_pass.qr_payloads
    assert signer.verifier().verify(job.qr_payloads[0], at(9))["vins"] == VINS
    assert job.cuts == 1


def test_gate_pass_prints_with_a_raster_qr_that_decodes_back(printer_sim, gate_pass):
    printer_for(printer_sim, qr_mode="raster").print(gate_pass)

    [job] = printer_sim.wait_for_jobs(1)
    assert len(job.images) == 1
    assert job.qr_payloads == gate_pass.qr_payloads
    assert "出门证" in job.text_lines


def test_status_is_asked_before_the_job_is_sent(printer_sim, gate_pass):
    printer_for(printer_sim).print(gate_pass)

    printer_sim.wait_for_jobs(1)
    assert printer_sim.status_requests >= 2
    assert printer_sim.raw_jobs[0].startswith(b"\x1b@\x1c&")


def test_out_of_paper_printer_refuses_and_prints_nothing(printer_sim, gate_pass):
    printer_sim.paper_out = True

    with pytest.raises(PrinterUnavailable) as caught:
        printer_for(printer_sim).print(gate_pass)

    assert caught.value.status is PrinterStatus.PAPER_OUT
    assert printer_sim.jobs == [] and printer_sim.discarded_bytes == 0


def test_open_cover_is_reported(printer_sim):
    printer_sim.cover_open = True

    assert printer_for(printer_sim).status() is PrinterStatus.COVER_OPEN


def test_printer_that_does_not_answer_status_is_offline(printer_sim, gate_pass):
    printer_sim.silent = True

    with pytest.raises(PrinterUnavailable) as caught:
        printer_for(printer_sim).print(gate_pass)

    assert caught.value.status is PrinterStatus.OFFLINE
    assert printer_sim.jobs == []


def test_printer_whose_status_answer_is_garbled_is_offline_and_gets_nothing(printer_sim, gate_pass):
    printer_sim.garbled = True

    with pytest.raises(PrinterUnavailable) as caught:
        printer_for(printer_sim).print(gate_pass)

    assert caught.value.status is PrinterStatus.OFFLINE
    assert printer_sim.jobs == [] and printer_sim.discarded_bytes == 0


def test_printer_that_drops_the_connection_is_offline(printer_sim, gate_pass):
    printer_sim.disconnect = True

    with pytest.raises(PrinterUnavailable):
        printer_for(printer_sim).print(gate_pass)

    assert printer_sim.jobs == []


def test_unreachable_printer_is_offline():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]

    printer = EscposReceiptPrinter.network("127.0.0.1", free_port, status_timeout=0.3)

    assert printer.status() is PrinterStatus.OFFLINE


def test_name_outside_gbk_prints_with_marker_and_is_flagged(printer_sim, at):
    document = PrintDocument([Text("提车人：王䶮")])

    outcome = printer_for(printer_sim).print(document)

    [job] = printer_sim.wait_for_jobs(1)
    assert job.text_lines == ["提车人：王□"]
    assert outcome.substituted == ("䶮",)
    assert not outcome.faithful


def test_strict_printer_refuses_a_name_outside_gbk_and_sends_nothing(printer_sim):
    with pytest.raises(UnprintableText):
        printer_for(printer_sim, strict=True).print(PrintDocument([Text("𠮷")]))

    assert printer_sim.status_requests == 0
    assert printer_sim.jobs == []


def test_consecutive_passes_are_separate_jobs(printer_sim, gate_pass):
    printer = printer_for(printer_sim)

    printer.print(gate_pass)
    printer.print(gate_pass)

    jobs = printer_sim.wait_for_jobs(2)
    assert [job.cuts for job in jobs] == [1, 1]


def test_serial_printer_prints_and_reports_paper_out():
    from dealercrm.adapters.devices.sim.escpos_printer import EscposPrinterSimulator

    with EscposPrinterSimulator(serial=True) as simulator:
        printer = EscposReceiptPrinter.serial(simulator.serial_path, 115200, status_timeout=0.3,
                                              qr_mode="native")
        outcome = printer.print(PrintDocument([Text("出门证 串口"), QrCode("serial-qr"), Cut()]))
        [job] = simulator.wait_for_jobs(1)
        simulator.paper_out = True
        status = printer.status()

    assert outcome.faithful
    assert job.text_lines == ["出门证 串口"]
    assert job.qr_payloads == ["serial-qr"]
    assert status is PrinterStatus.PAPER_OUT


def test_warm_up_loads_the_printing_libraries_and_sends_nothing(printer_sim):
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from dealercrm.adapters.devices.escpos_printer import EscposReceiptPrinter\n"
        f"printer = EscposReceiptPrinter.network('127.0.0.1', {printer_sim.port}, qr_mode='raster')\n"
        "before = {m for m in ('escpos.printer', 'qrcode', 'PIL.Image') if m in sys.modules}\n"
        "size = printer.warm_up()\n"
        "after = {m for m in ('escpos.printer', 'qrcode', 'PIL.Image') if m in sys.modules}\n"
        "print(sorted(before), sorted(after), size)\n"
    )

    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)

    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("[] ['PIL.Image', 'escpos.printer', 'qrcode'] ")
    assert printer_sim.jobs == [] and printer_sim.status_requests == 0


def test_a_native_qr_slip_is_under_2_kb_and_a_raster_one_is_not(printer_sim, gate_pass, signer, at):
    native = printer_for(printer_sim).print(gate_pass)
    raster = printer_for(printer_sim, qr_mode="raster").print(gate_pass)

    first, second = printer_sim.wait_for_jobs(2)
    assert native.bytes_sent <= 2048 < raster.bytes_sent
    assert first.qr_payloads == second.qr_payloads == gate_pass.qr_payloads
    assert signer.verifier().verify(first.qr_payloads[0], at(9))["vins"] == VINS


def test_a_printer_without_native_qr_gets_a_readable_raster_code_from_its_profile(gate_pass):
    from edge_agent.config import PrinterConfig
    from edge_agent.devices_cli import build_printer

    with EscposPrinterSimulator(native_qr=False) as cheap:
        build_printer(PrinterConfig(host="127.0.0.1", port=cheap.port, qr_mode="native",
                                    status_timeout=0.3)).print(gate_pass)
        build_printer(PrinterConfig(host="127.0.0.1", port=cheap.port, profile="POS-5890",
                                    status_timeout=0.3)).print(gate_pass)
        wrong, right = cheap.wait_for_jobs(2)

    assert wrong.qr_payloads == []  # what a forced native QR gives on such a printer
    assert right.qr_payloads == gate_pass.qr_payloads and len(right.images) == 1
