import pytest

from edge_agent.config import ConfigError, load_config, parse_config

EXAMPLE = """
[reader]
port = "/dev/ttyUSB0"

[printer]
kind = "network"
host = "192.168.10.20"
qr_mode = "native"

[scanner]
kind = "serial"
port = "/dev/ttyACM0"

[badge]
reader = "ACS"
"""


def test_full_config_is_read_from_toml(tmp_path):
    path = tmp_path / "edge-agent.toml"
    path.write_text(EXAMPLE, encoding="utf-8")

    config = load_config(path)

    assert config.reader.port == "/dev/ttyUSB0"
    assert config.reader.baudrate == 115200
    assert (config.printer.host, config.printer.port, config.printer.qr_mode) == (
        "192.168.10.20", 9100, "native")
    assert config.scanner.port == "/dev/ttyACM0"
    assert config.badge.reader == "ACS"


def test_missing_sections_mean_not_configured():
    config = parse_config({"reader": {"port": "/dev/ttyUSB0"}})

    assert config.printer is None and config.scanner is None and config.badge is None


@pytest.mark.parametrize(
    "raw",
    [
        {"printer": {"kind": "network"}},
        {"printer": {"kind": "bluetooth", "host": "x"}},
        {"printer": {"kind": "network", "host": "x", "qr_mode": "svg"}},
        {"printer": {"kind": "usb"}},
        {"scanner": {"kind": "serial"}},
        {"reader": {}},
        {"reader": {"port": "/dev/ttyUSB0", "speed": 9600}},
    ],
)
def test_incomplete_or_unknown_settings_are_config_errors(raw):
    with pytest.raises(ConfigError):
        parse_config(raw)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError):
        load_config(tmp_path / "nope.toml")


def test_qr_mode_is_auto_by_default_and_takes_a_model_and_a_raster_list():
    config = parse_config({"printer": {"kind": "network", "host": "x", "profile": "POS-5890",
                                       "raster_models": ["XP-58IIH"]}})

    assert config.printer.qr_mode == "auto"
    assert config.printer.profile == "POS-5890" and config.printer.raster_models == ("XP-58IIH",)


def test_raster_models_must_be_names():
    with pytest.raises(ConfigError):
        parse_config({"printer": {"kind": "network", "host": "x", "raster_models": [58]}})


def test_wrongly_typed_values_are_named_with_their_section_and_key():
    raw = {"reader": {"port": "/dev/ttyUSB0", "baudrate": "fast", "timeout": "1s"}, "server": {"timeout": 5}}

    with pytest.raises(ConfigError) as caught:
        parse_config(raw)

    message = str(caught.value)
    assert "[reader] baudrate: expected a whole number, got 'fast'" in message
    assert "[reader] timeout: expected a number, got '1s'" in message


def test_a_missing_required_key_is_named():
    with pytest.raises(ConfigError) as caught:
        parse_config({"server": {"timeout": 5}})

    assert str(caught.value) == "[server] url: required"


def test_an_integer_where_a_number_belongs_is_accepted():
    config = parse_config({"server": {"url": "http://10.0.0.5:8000", "timeout": 5}, "agent": {"report_every": 10}})

    assert config.server.timeout == 5.0 and config.agent.report_every == 10.0
