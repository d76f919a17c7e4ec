"""``edge-agent devices`` commands, end to end against the simulators."""

import io

import pytest

from dealercrm.adapters.devices.sim import start_all_simulators
from edge_agent.devices_cli import main_devices

pytestmark = pytest.mark.devices


def run(*argv):
    out = io.StringIO()
    code = main_devices(list(argv), out=out)
    return code, out.getvalue()


def test_list_under_simulation_shows_reader_and_online_printer():
    code, text = run("--simulate", "list")

    assert code == 0
    assert "printer: tcp://127.0.0.1:" in text and "(online)" in text
    assert "id card reader: /dev/pts/" in text


def test_print_test_under_simulation_prints_a_decodable_pass():
    code, text = run("--simulate", "print-test", "--qr-mode", "native")

    assert code == 0
    assert "| 出门证" in text
    assert "qr codes: 1, cuts: 1" in text


def test_read_test_under_simulation_shows_the_card_masked():
    code, text = run("--simulate", "read-test", "--timeout", "2")

    assert code == 0
    assert "1101**********1239" in text
    assert "110105199003071239" not in text
    assert "张*" in text and "张伟" not in text


def test_commands_read_a_toml_config(tmp_path):
    with start_all_simulators(wire_delay=False) as sims:
        host, port = sims.printer_address
        config = tmp_path / "edge-agent.toml"
        config.write_text(
            f'[reader]\nport = "{sims.reader_path}"\n\n'
            f'[printer]\nkind = "network"\nhost = "{host}"\nport = {port}\n',
            encoding="utf-8",
        )

        listed, _ = run("--config", str(config), "list")
        printed, _ = run("--config", str(config), "print-test")
        jobs = sims.printer.wait_for_jobs(1)

    assert (listed, printed) == (0, 0)
    assert jobs[0].cuts == 1


def test_paper_out_makes_print_test_fail_with_the_reason(tmp_path):
    with start_all_simulators(wire_delay=False) as sims:
        sims.printer.paper_out = True
        host, port = sims.printer_address
        config = tmp_path / "edge-agent.toml"
        config.write_text(f'[printer]\nhost = "{host}"\nport = {port}\nstatus_timeout = 0.3\n',
                          encoding="utf-8")

        code, text = run("--config", str(config), "print-test")

    assert code == 1
    assert "device.printer.paper_out" in text


def test_missing_config_file_exits_with_usage_error(tmp_path):
    code, text = run("--config", str(tmp_path / "none.toml"), "list")

    assert code == 2
    assert "configuration error" in text
