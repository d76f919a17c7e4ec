"""Native ``GS ( k`` QR wherever the printer prints it; raster for the models that do not."""

import pytest

from dealercrm.adapters.devices.escpos_printer import (
    UnknownPrinterProfile,
    printer_profiles,
    resolve_qr_mode,
)
from edge_agent.config import ConfigError, PrinterConfig
from edge_agent.devices_cli import build_printer


def test_auto_is_native_when_no_model_is_configured():
    assert resolve_qr_mode("auto") == ("native", "default")


@pytest.mark.parametrize("profile", ["TM-T20II", "TM-T88V", "default"])
def test_auto_is_native_for_a_model_whose_profile_prints_qr(profile):
    assert resolve_qr_mode("auto", profile)[0] == "native"


@pytest.mark.parametrize("profile", ["POS-5890", "ZJ-5870", "simple"])
def test_auto_falls_back_to_raster_for_a_model_whose_profile_has_no_qr(profile):
    mode, reason = resolve_qr_mode("auto", profile)

    assert mode == "raster" and "no native QR" in reason
    assert printer_profiles()[profile] is False


def test_auto_falls_back_to_raster_for_a_model_on_the_configured_list():
    assert resolve_qr_mode("auto", "xp-58iih", ["XP-58IIH"]) == ("raster", "configured raster_models")


def test_the_configured_list_wins_over_the_profile():
    assert resolve_qr_mode("auto", "TM-T20II", ["TM-T20II"])[0] == "raster"


def test_an_explicit_mode_is_taken_as_configured():
    assert resolve_qr_mode("raster", "TM-T20II") == ("raster", "configured")
    assert resolve_qr_mode("native", "POS-5890") == ("native", "configured")


def test_an_unknown_model_is_an_error_not_a_guess():
    with pytest.raises(UnknownPrinterProfile):
        resolve_qr_mode("auto", "NO-SUCH-PRINTER")


def test_the_agent_builds_a_native_printer_by_default_and_a_raster_one_for_a_listed_model():
    native = build_printer(PrinterConfig(host="10.0.0.9"))
    raster = build_printer(PrinterConfig(host="10.0.0.9", profile="POS-5890"))
    listed = build_printer(PrinterConfig(host="10.0.0.9", profile="XP-58IIH", raster_models=("XP-58IIH",)))

    assert (native.qr_mode, raster.qr_mode, listed.qr_mode) == ("native", "raster", "raster")


def test_a_typo_in_the_model_is_a_configuration_error():
    with pytest.raises(ConfigError) as caught:
        build_printer(PrinterConfig(host="10.0.0.9", profile="TM-T20"))

    assert "raster_models" in str(caught.value)
