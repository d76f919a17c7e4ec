"""The supervisor keeps every agent thread alive, and the device health says what is down."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dealercrm.adapters.devices.memory import (
    FixedCardIdCardReader,
    RecordingReceiptPrinter,
)
from dealercrm.application.ports.devices import CardReadError, IdCardData, PrinterStatus
from edge_agent.guard import Link
from edge_agent.journal import Journal
from edge_agent.kiosk import Kiosk
from edge_agent.runner import StatusBoard
from edge_agent.supervisor import DeviceHealth, Supervisor

from .test_kiosk_flow import CARD, slip

AT = datetime(2026, 3, 7, 1, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class RecordingWait:
    """Stands in for ``stop.wait``: records the backoff, advances the fake clock, never sleeps."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.delays: list[float] = []

    def __call__(self, stop: threading.Event, seconds: float) -> bool:
        self.delays.append(seconds)
        self.clock.now += seconds
        return stop.is_set()


def dies(times: int, stop: threading.Event, then_stop: bool = True):  # type: ignore[no-untyped-def]
    calls = {"n": 0}

    def body(halt: threading.Event) -> None:
        calls["n"] += 1
        if calls["n"] <= times:
            raise RuntimeError(f"boom {calls['n']}")
        if then_stop:
            stop.set()

    return body, calls


def test_a_dying_thread_is_restarted_with_doubling_backoff_and_its_device_shown_faulty():
    stop = threading.Event()
    clock = FakeClock()
    wait = RecordingWait(clock)
    health = DeviceHealth(["reader"], now=lambda: AT)
    body, calls = dies(4, stop)
    supervisor = Supervisor("kiosk", body, health=health, devices=["reader"], wait=wait, clock=clock,
                            min_backoff=0.5, max_backoff=3.0)

    supervisor.run(stop)

    assert calls["n"] == 5
    assert wait.delays == [0.5, 1.0, 2.0, 3.0]
    reader = health.snapshot()["reader"]
    assert reader["state"] == "fault" and reader["label"] == "设备故障"
    assert reader["last_error"]["code"] == "device.thread_crashed"
    assert reader["last_error"]["detail"] == "RuntimeError: boom 4"
    assert reader["restarts"] == 4 and supervisor.restarts == 4


def test_the_backoff_starts_over_after_a_healthy_run():
    stop = threading.Event()
    clock = FakeClock()
    wait = RecordingWait(clock)
    runs = {"n": 0}

    def body(halt: threading.Event) -> None:
        runs["n"] += 1
        if runs["n"] == 3:
            clock.now += 120  # ran well for two minutes before dying again
        if runs["n"] == 4:
            stop.set()
            return
        raise RuntimeError("boom")

    Supervisor("guard", body, wait=wait, clock=clock, min_backoff=1.0, healthy_after=60.0).run(stop)

    assert wait.delays == [1.0, 2.0, 1.0]


def test_a_thread_that_returns_without_being_stopped_is_restarted():
    stop = threading.Event()
    clock = FakeClock()
    wait = RecordingWait(clock)
    runs = {"n": 0}

    def body(halt: threading.Event) -> None:
        runs["n"] += 1
        if runs["n"] == 2:
            stop.set()

    supervisor = Supervisor("replayer", body, wait=wait, clock=clock)
    supervisor.run(stop)

    assert runs["n"] == 2 and supervisor.last_error["code"] == "device.thread_exited"


def test_the_reset_hook_runs_after_each_death_even_if_it_fails_itself():
    stop = threading.Event()
    clock = FakeClock()
    resets: list[int] = []
    body, _ = dies(2, stop)

    def reset() -> None:
        resets.append(1)
        raise OSError("port already gone")

    Supervisor("kiosk", body, reset=reset, wait=RecordingWait(clock), clock=clock).run(stop)

    assert resets == [1, 1]


def test_a_stop_during_the_backoff_ends_the_supervisor():
    stop = threading.Event()
    clock = FakeClock()

    def body(halt: threading.Event) -> None:
        stop.set()  # asked to stop while dying: no restart
        raise RuntimeError("boom")

    supervisor = Supervisor("kiosk", body, wait=lambda s, t: s.is_set(), clock=clock)
    supervisor.run(stop)

    assert supervisor.restarts == 1


def test_device_health_counts_faults_once_per_new_error_and_recovers():
    changes: list[int] = []
    health = DeviceHealth(["reader"], now=lambda: AT, on_change=lambda: changes.append(1))

    health.fault("reader", "device.id_card.bad_length", "身份证阅读器应答长度错误")
    health.fault("reader", "device.id_card.bad_length", "身份证阅读器应答长度错误")
    health.fault("reader", "device.timeout", "身份证阅读器无响应")
    health.ok("reader")
    health.ok("reader")

    reader = health.snapshot()["reader"]
    assert reader["state"] == "ok" and reader["label"] == "正常" and reader["faults"] == 2
    assert reader["last_error"]["code"] == "device.timeout"
    assert len(changes) == 3


class KillOnce(FixedCardIdCardReader):
    """A reader whose next read kills the thread with an error no handler expects."""

    def __init__(self, card: IdCardData | None = None) -> None:
        super().__init__(card)
        self.armed = threading.Event()

    def read(self) -> IdCardData | None:
        if self.armed.is_set():
            self.armed.clear()
            raise RuntimeError("injected fault")
        return super().read()


def wait_until(predicate, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    done = threading.Event()
    for _ in range(int(timeout / 0.02)):
        value = predicate()
        if value:
            return value
        done.wait(0.02)
    raise AssertionError("condition not reached in time")


def reader_in_fault(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    status = json.loads(path.read_text(encoding="utf-8"))
    return status if status["devices"]["reader"]["state"] == "fault" else None


def test_a_killed_kiosk_thread_shows_in_status_json_and_the_next_tap_prints(FakeServer, tmp_path):
    server = FakeServer({"passes": [slip()], "authorizations": [], "message": "请打印"})
    reader = KillOnce()
    printer = RecordingReceiptPrinter()
    journal = Journal(tmp_path / "j.db")
    health = DeviceHealth(["reader", "printer"])
    board = StatusBoard(tmp_path / "status.json", journal, Link(), ["kiosk"], health)
    health.on_change = board.write_quietly
    kiosk = Kiosk(reader, printer, server, journal, health=health, on_result=board.on_kiosk)
    resumed = threading.Event()  # the restarted thread may run only after the test saw the fault

    def backoff(stop: threading.Event, seconds: float) -> bool:
        resumed.wait(10)
        return stop.is_set()

    supervisor = Supervisor("kiosk", kiosk.run, health=health, devices=["reader"], wait=backoff)
    board.supervisors.append(supervisor)
    stop = threading.Event()
    thread = threading.Thread(target=supervisor.run, args=(stop,), daemon=True)
    thread.start()
    try:
        reader.armed.set()
        status = wait_until(lambda: reader_in_fault(tmp_path / "status.json"))
        resumed.set()
        reader.present(CARD)
        wait_until(lambda: printer.printed)
        wait_until(lambda: health.state("reader") == "ok")
        wait_until(lambda: board.kiosk_count == 1)  # the result reaches the board after the print is recorded
        board.write()
        after = json.loads((tmp_path / "status.json").read_text(encoding="utf-8"))
    finally:
        stop.set()
        resumed.set()
        thread.join(5)
        journal.close()

    assert status["devices"]["reader"]["label"] == "设备故障"
    assert status["devices"]["reader"]["last_error"]["detail"] == "RuntimeError: injected fault"
    assert status["faulty_devices"] == ["reader"] and status["threads"]["kiosk"]["restarts"] == 1
    assert len(printer.printed) == 1 and server.printed() == ["GP-2026-000001"]
    assert after["devices"]["reader"]["state"] == "ok" and after["devices"]["reader"]["restarts"] == 1
    assert after["kiosk"]["last"]["printed"] == ["GP-2026-000001"]


def test_the_kiosk_reports_a_reader_error_and_a_paper_out_printer_as_device_faults(FakeServer, tmp_path):
    server = FakeServer({"passes": [slip()], "authorizations": [], "message": "请打印"})
    health = DeviceHealth(["reader", "printer"])
    printer = RecordingReceiptPrinter(PrinterStatus.PAPER_OUT)

    class FailingReader:
        def read(self) -> IdCardData | None:
            raise CardReadError("身份证阅读器应答长度错误", code="device.id_card.bad_length")

    journal = Journal(tmp_path / "j.db")
    kiosk = Kiosk(FailingReader(), printer, server, journal, health=health)
    stop = threading.Event()
    kiosk.show = lambda message: stop.set()
    kiosk.run(stop)
    result = kiosk.handle_card(CARD)
    journal.close()

    devices = health.snapshot()
    assert devices["reader"]["state"] == "fault"
    assert devices["reader"]["last_error"]["code"] == "device.id_card.bad_length"
    assert devices["printer"]["state"] == "fault" and result.code == "device.printer.paper_out"


class WarmablePrinter(RecordingReceiptPrinter):
    def __init__(self, state: PrinterStatus = PrinterStatus.ONLINE) -> None:
        super().__init__(state)
        self.warmed = 0

    def warm_up(self) -> int:
        self.warmed += 1
        return 1000


def test_the_warm_up_renders_nothing_on_paper_and_sets_the_printer_health(FakeServer, tmp_path):
    from edge_agent.runner import warm_up_kiosk

    printer = WarmablePrinter(PrinterStatus.PAPER_OUT)
    health = DeviceHealth(["reader", "printer"])
    journal = Journal(tmp_path / "j.db")
    kiosk = Kiosk(FixedCardIdCardReader(), printer, FakeServer(), journal, health=health)

    warm_up_kiosk(kiosk, printer)
    journal.close()

    assert printer.warmed == 1 and printer.printed == []
    assert health.snapshot()["printer"]["last_error"]["code"] == "device.printer.paper_out"


def test_a_failing_warm_up_does_not_stop_the_kiosk(FakeServer, tmp_path):
    from edge_agent.runner import warm_up_kiosk

    class Broken(WarmablePrinter):
        def warm_up(self) -> int:
            raise OSError("no fonts")

    journal = Journal(tmp_path / "j.db")
    kiosk = Kiosk(FixedCardIdCardReader(), Broken(), FakeServer(), journal)

    took = warm_up_kiosk(kiosk, kiosk.printer)
    journal.close()

    assert took >= 0


def test_a_broken_reader_port_is_raised_for_the_supervisor_to_reopen(FakeServer, tmp_path):
    from dealercrm.application.ports.devices import DeviceError

    class Unplugged:
        def read(self) -> IdCardData | None:
            raise DeviceError("身份证阅读器通信失败", code="device.id_card.io")

    health = DeviceHealth(["reader", "printer"])
    journal = Journal(tmp_path / "j.db")
    kiosk = Kiosk(Unplugged(), RecordingReceiptPrinter(), FakeServer(), journal, health=health)

    with pytest.raises(DeviceError) as caught:
        kiosk.run(threading.Event())
    journal.close()

    assert caught.value.code == "device.id_card.io"
    assert health.snapshot()["reader"]["last_error"]["code"] == "device.id_card.io"
