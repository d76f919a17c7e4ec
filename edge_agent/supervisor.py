"""No silent death: device health for ``status.json`` and a supervisor for every agent thread.

:class:`DeviceHealth` holds what each device (``reader``, ``printer``, ``scanner`` …) is doing
right now — ``ok`` or ``fault`` (shown as 设备故障) — with its last error, how many faults it
had and how often its thread was restarted. The loops report into it as they go (a good poll
says ``ok``, a reader error says ``fault``), so ``status.json`` tells the device's real state,
not the process's.

:class:`Supervisor` runs one thread's body; when the body raises (or returns without being
asked to stop) it logs the failure with its traceback, marks the thread's devices as faulty,
calls ``reset`` (close the port so the next start reopens it) and starts the body again after
a backoff that doubles from ``min_backoff`` to ``max_backoff`` and starts over once a run
lasted ``healthy_after`` seconds. ``wait`` and ``clock`` are injected so tests do not sleep.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
import structlog

from dealercrm.domain.errors import DomainError
from edge_agent.messages import FAULT_LABEL, OK_LABEL, message_for

log = structlog.get_logger(__name__)

OK = "ok"
FAULT = "fault"


@attrs.define
class _Device:
    state: str = OK
    last_error: dict[str, Any] | None = None
    faults: int = 0
    restarts: int = 0
    since: str | None = None


def describe_error(exc: BaseException) -> tuple[str, str, str]:
    """(stable code, Chinese message, technical detail) of any exception a device thread saw."""
    if isinstance(exc, DomainError):
        return exc.code, message_for(exc.code, exc.message), f"{type(exc).__name__}: {exc.message}"
    return "device.thread_crashed", message_for("device.thread_crashed"), f"{type(exc).__name__}: {exc}"


class DeviceHealth:
    """Each device's current state; thread-safe. ``on_change`` runs (outside the lock) whenever a
    device goes from ok to fault, back, or reports a new error."""

    def __init__(self, names: Iterable[str] = (), *, now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 on_change: Callable[[], None] | None = None) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._devices: dict[str, _Device] = {name: _Device(since=now().isoformat()) for name in names}
        self.on_change = on_change

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def ok(self, name: str) -> None:
        with self._lock:
            device = self._devices.setdefault(name, _Device(since=self._now().isoformat()))
            if device.state == OK:
                return
            device.state = OK
            device.since = self._now().isoformat()
        log.info("device_recovered", device=name)
        self._changed()

    def fault(self, name: str, code: str, message: str, detail: str | None = None) -> None:
        with self._lock:
            device = self._devices.setdefault(name, _Device())
            error = {"code": code, "message": message, "detail": detail, "at": self._now().isoformat()}
            if device.state == FAULT and device.last_error and device.last_error["code"] == code:
                device.last_error = error  # the same fault again (every poll): not a new one
                return
            if device.state != FAULT:
                device.since = self._now().isoformat()
            device.state = FAULT
            device.faults += 1
            device.last_error = error
        log.warning("device_fault", device=name, code=code)
        self._changed()

    def error(self, name: str, exc: BaseException) -> None:
        code, message, detail = describe_error(exc)
        self.fault(name, code, message, detail)

    def restarted(self, name: str) -> None:
        with self._lock:
            self._devices.setdefault(name, _Device()).restarts += 1

    def state(self, name: str) -> str:
        with self._lock:
            device = self._devices.get(name)
            return device.state if device else OK

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {
                name: {"state": d.state, "label": FAULT_LABEL if d.state == FAULT else OK_LABEL, "since": d.since,
                       "last_error": dict(d.last_error) if d.last_error else None, "faults": d.faults,
                       "restarts": d.restarts}
                for name, d in sorted(self._devices.items())
            }


def _wait(stop: threading.Event, seconds: float) -> bool:
    return stop.wait(seconds)


class Supervisor:
    """Runs ``body(stop)`` until ``stop`` is set, restarting it with backoff when it dies."""

    def __init__(self, name: str, body: Callable[[threading.Event], None], *,
                 health: DeviceHealth | None = None, devices: Sequence[str] = (),
                 reset: Callable[[], None] | None = None,
                 wait: Callable[[threading.Event, float], bool] = _wait,
                 clock: Callable[[], float] = time.monotonic,
                 min_backoff: float = 0.5, max_backoff: float = 30.0, healthy_after: float = 60.0) -> None:
        self.name = name
        self.body = body
        self.health = health
        self.devices = tuple(devices)
        self.reset = reset
        self.wait = wait
        self.clock = clock
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.healthy_after = healthy_after
        self.backoff = min_backoff
        self.restarts = 0
        self.last_error: dict[str, Any] | None = None
        self.delays: list[float] = []

    def _failed(self, exc: BaseException | None) -> None:
        if exc is None:
            code, message, detail = "device.thread_exited", message_for("device.thread_exited"), "returned"
            log.error("supervised_thread_exited", thread=self.name, restarts=self.restarts)
        else:
            code, message, detail = describe_error(exc)
            log.error("supervised_thread_failed", thread=self.name, code=code, restarts=self.restarts,
                      exc_info=exc)
        self.last_error = {"code": code, "message": message, "detail": detail}
        if self.health is not None:
            for device in self.devices:
                self.health.fault(device, code, message, detail)
                self.health.restarted(device)
        if self.reset is not None:
            try:
                self.reset()
            except Exception as reset_exc:  # noqa: BLE001 - a failing reset must not stop the restarts
                log.warning("supervised_reset_failed", thread=self.name, reason=type(reset_exc).__name__)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            started = self.clock()
            failure: BaseException | None = None
            try:
                self.body(stop)
            except Exception as exc:  # noqa: BLE001 - the supervisor exists to outlive any failure
                failure = exc
            else:
                if stop.is_set():
                    return
            if self.clock() - started >= self.healthy_after:
                self.backoff = self.min_backoff
            self.restarts += 1
            self._failed(failure)
            delay = self.backoff
            self.backoff = min(self.backoff * 2, self.max_backoff)
            self.delays.append(delay)
            log.info("supervised_thread_restarting", thread=self.name, in_seconds=delay, restarts=self.restarts)
            if self.wait(stop, delay):
                return

    def snapshot(self) -> dict[str, Any]:
        return {"restarts": self.restarts, "last_error": self.last_error, "devices": list(self.devices)}


__all__ = ["DeviceHealth", "Supervisor", "describe_error", "OK", "FAULT"]
