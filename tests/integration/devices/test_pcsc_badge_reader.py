"""The real pyscard adapter against pcscd + vsmartcard-vpcd with our virtual badge.

pcscd and the vpcd driver are Debian packages the test command installs; when they are
missing these tests fail with the reason rather than skip, so a broken setup is visible.
"""

import os
import subprocess
import sys

import pytest

from dealercrm.adapters.devices.pcsc_badge import PcscBadgeReader
from dealercrm.adapters.devices.sim.vpcd_card import Pcscd, VirtualBadge, pcscd_missing

pytestmark = pytest.mark.devices

READER = "Virtual PCD 00 00"
UID = bytes.fromhex("04A1B2C3D4E5F6")


@pytest.fixture(scope="module")
def pcscd():
    problem = pcscd_missing()
    if problem is not None:
        pytest.fail(f"PC/SC tests need pcscd and vsmartcard-vpcd: {problem}", pytrace=False)
    with Pcscd() as daemon:
        yield daemon


@pytest.fixture
def reader(pcscd):
    return PcscBadgeReader(READER)


def test_badge_uid_is_read_with_get_data(reader):
    with VirtualBadge(UID) as badge:
        uid = reader.wait_for_uid(timeout=5.0)

    assert uid == "04A1B2C3D4E5F6"
    assert bytes.fromhex("FFCA000000") in badge.apdus


def test_no_badge_reads_as_none(reader):
    assert reader.read_uid() is None


def test_removed_badge_reads_as_none_again(reader):
    badge = VirtualBadge(UID)
    badge.insert()
    reader.wait_for_uid(timeout=5.0)

    badge.remove()

    assert reader.wait_for_removal(timeout=5.0)
    assert reader.read_uid() is None


def test_another_badge_gives_its_own_uid(reader):
    with VirtualBadge(bytes.fromhex("DEADBEEF")):
        assert reader.wait_for_uid(timeout=5.0) == "DEADBEEF"


def test_unknown_reader_name_is_a_device_error(pcscd):
    from dealercrm.application.ports.devices import DeviceError

    with pytest.raises(DeviceError) as caught:
        PcscBadgeReader("No Such Reader").read_uid()

    assert caught.value.code == "device.badge.reader_not_found"


def test_without_pcscd_the_reader_raises_a_typed_error(tmp_path):
    # A separate process pointed at a socket nobody serves: independent of any running pcscd.
    script = (
        "from dealercrm.adapters.devices.pcsc_badge import PcscBadgeReader\n"
        "from dealercrm.application.ports.devices import DeviceError\n"
        "try:\n"
        "    PcscBadgeReader('x').read_uid()\n"
        "except DeviceError as e:\n"
        "    print(e.code)\n"
    )
    env = dict(os.environ, PCSCLITE_CSOCK_NAME=str(tmp_path / "no-pcscd.comm"))

    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=30)

    assert result.stdout.strip() == "device.badge.pcscd_unavailable"
