"""No silent death, against a real ``dealercrm serve`` and the device simulators: the SAM reader
sends ``AA AA AA 96 69 00 03 00 00 90`` (LEN 3, below the 4 a reply needs) while the kiosk is
idle and in the middle of a card read, or the kiosk thread is killed by an injected fault; each
time ``status.json`` shows the reader as 设备故障 with its last error, and the next tap prints."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from dealercrm.adapters.devices import sam_protocol as p
from dealercrm.adapters.devices.sam_serial import SamSerialIdCardReader
from dealercrm.adapters.devices.sim import DEMO_CARD
from dealercrm.application.ports.devices import IdCardData
from edge_agent.config import (
    AgentConfig,
    DeviceConfig,
    PrinterConfig,
    ReaderConfig,
    ServerConfig,
)
from edge_agent.runner import run_agent

from .conftest import wait_for

pytestmark = pytest.mark.devices

FOREVER = 10**6


def status_of(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def reader_state(path: Path, state: str) -> dict[str, Any] | None:
    status = status_of(path)
    if status and status["state"] == "running" and status["devices"]["reader"]["state"] == state:
        return status
    return None


def printed_and_ok(path: Path) -> dict[str, Any] | None:
    status = reader_state(path, "ok")
    return status if status and (status["kiosk"]["last"] or {}).get("printed") else None


@contextmanager
def running_agent(server, world, sam, printer, state_dir: Path, reader: Any = None) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    config = DeviceConfig(
        reader=ReaderConfig(port=sam.path, timeout=0.3, retries=2),
        printer=PrinterConfig(kind="network", host=printer.host, port=printer.port, qr_mode="native",
                              status_timeout=0.5),
        server=ServerConfig(url=server.url, device_key=world.device_key),
        agent=AgentConfig(roles=("kiosk",), state_dir=str(state_dir), log_json=True),
    )
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(run_agent(config, out=io.StringIO(), stop=stop,
                                                                     reader=reader, min_backoff=0.2)),
                              daemon=True)
    thread.start()
    status = state_dir / "status.json"
    try:
        wait_for(lambda: reader_state(status, "ok"))
        yield status
    finally:
        stop.set()
        if reader is not None:
            reader.may_reopen.set()
        thread.join(15)
    assert result == [0]


@pytest.mark.parametrize("when", ["idle", "mid-read"])
def test_a_reply_with_a_length_below_4_is_a_reader_fault_and_the_next_tap_prints(
        gate_world, make_server, sam_reader, printer_sim, tmp_path, when):
    [(pass_no, _)] = gate_world.passes(1)
    server = make_server(gate_world)

    with running_agent(server, gate_world, sam_reader, printer_sim, tmp_path / "agent") as status_path:
        if when == "idle":
            sam_reader.malform_next(FOREVER, "short_length", on=p.FIND_CARD)
        else:
            sam_reader.malform_next(FOREVER, "short_length", on=p.READ_TEXT_PHOTO)
            sam_reader.insert_card(DEMO_CARD)
        faulty = wait_for(lambda: reader_state(status_path, "fault"))
        printed_while_faulty = len(printer_sim.jobs)
        sam_reader.malform_next(0)
        sam_reader.insert_card(DEMO_CARD)
        [job] = printer_sim.wait_for_jobs(1, timeout=15)
        recovered = wait_for(lambda: printed_and_ok(status_path))

    reader = faulty["devices"]["reader"]
    assert reader["label"] == "设备故障" and faulty["faulty_devices"] == ["reader"]
    assert reader["last_error"]["code"] == "device.id_card.bad_length"
    assert reader["last_error"]["message"] == "身份证阅读器应答长度错误"
    assert faulty["threads"]["kiosk"]["restarts"] == 0  # handled, not a dead thread
    assert printed_while_faulty == 0
    assert job.qr_payloads and f"证号：{pass_no}" in job.text_lines
    assert recovered["kiosk"]["last"]["printed"] == [pass_no]
    assert recovered["devices"]["reader"]["last_error"]["code"] == "device.id_card.bad_length"
    assert sam_reader.malformed_sent >= 3


class KilledOnce(SamSerialIdCardReader):
    """The real adapter, with one read that dies of an error nothing expects. After it, reopening
    the port (the restart) waits for ``may_reopen``, so the test sees the fault before it clears."""

    def __init__(self, port: str, **options: Any) -> None:
        super().__init__(port, **options)
        self.armed = threading.Event()
        self.killed = False
        self.may_reopen = threading.Event()

    def open(self) -> None:
        if self.killed:
            self.may_reopen.wait(30)
        super().open()

    def read(self) -> IdCardData | None:
        if self.armed.is_set():
            self.armed.clear()
            self.killed = True
            raise RuntimeError("injected fault")
        return super().read()


def test_a_killed_kiosk_thread_is_restarted_shown_in_status_json_and_the_next_tap_prints(
        gate_world, make_server, sam_reader, printer_sim, tmp_path):
    [(pass_no, _)] = gate_world.passes(1)
    server = make_server(gate_world)
    reader = KilledOnce(sam_reader.path, timeout=0.3)

    with running_agent(server, gate_world, sam_reader, printer_sim, tmp_path / "agent", reader) as status_path:
        reader.armed.set()
        faulty = wait_for(lambda: reader_state(status_path, "fault"))
        reader.may_reopen.set()
        sam_reader.insert_card(DEMO_CARD)
        [job] = printer_sim.wait_for_jobs(1, timeout=15)
        recovered = wait_for(lambda: printed_and_ok(status_path))

    assert faulty["devices"]["reader"]["label"] == "设备故障"
    assert faulty["devices"]["reader"]["last_error"]["code"] == "device.thread_crashed"
    assert faulty["devices"]["reader"]["last_error"]["detail"] == "RuntimeError: injected fault"
    assert f"证号：{pass_no}" in job.text_lines
    assert recovered["threads"]["kiosk"]["restarts"] == 1 and recovered["devices"]["reader"]["restarts"] == 1
    assert recovered["kiosk"]["last"]["printed"] == [pass_no]
