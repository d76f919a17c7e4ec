import os
import tty

import pytest

from dealercrm.adapters.devices.scanner import SerialQrScanner
from dealercrm.application.ports.devices import DeviceError

pytestmark = pytest.mark.devices


@pytest.fixture
def pty_pair():
    master, slave = os.openpty()
    tty.setraw(slave)
    yield master, os.ttyname(slave)
    os.close(master)
    os.close(slave)


def test_serial_scanner_returns_each_scanned_line(pty_pair):
    master, path = pty_pair

    with SerialQrScanner(path) as scanner:
        os.write(master, b"eyJhIjoxfQ.c2ln\r\nsecond\r")
        lines = [scanner.read_line(2.0), scanner.read_line(2.0)]

    assert lines == ["eyJhIjoxfQ.c2ln", "second"]


def test_serial_scanner_times_out_with_none(pty_pair):
    _, path = pty_pair

    with SerialQrScanner(path) as scanner:
        assert scanner.read_line(0.2) is None


def test_serial_scanner_on_a_missing_port_is_a_device_error():
    with pytest.raises(DeviceError):
        SerialQrScanner("/dev/ttyNOPE-dealercrm").open()
