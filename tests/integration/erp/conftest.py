"""The ERP simulator as a real subprocess on 127.0.0.1, started the way operators start it."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from dealercrm.adapters.erp.http_gateway import HttpErpGateway

API_KEY = "test-erp-key"
START_TIMEOUT = 20.0


class SimProcess:
    def __init__(self, process: subprocess.Popen[str], port: int, state: Path) -> None:
        self.process = process
        self.port = port
        self.state = state
        self.api_key = API_KEY
        self.base_url = f"http://127.0.0.1:{port}"
        self.control = httpx.Client(base_url=f"{self.base_url}/erp/v1/_sim",
                                    headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10.0)

    def faults(self, **changes: object) -> dict:
        response = self.control.put("/faults", json=changes)
        response.raise_for_status()
        return response.json()

    def advance(self, steps: int = 1, until: str | None = None, tracking_no: str | None = None) -> dict:
        response = self.control.post("/advance", json={"steps": steps, "until": until, "tracking_no": tracking_no})
        response.raise_for_status()
        return response.json()

    def orders(self, contract_no: str | None = None) -> list[dict]:
        params = {"contract_no": contract_no} if contract_no else {}
        response = self.control.get("/orders", params=params)
        response.raise_for_status()
        return response.json()["orders"]

    def pay(self, **body: object) -> dict:
        response = self.control.post("/payments", json=body)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self.control.post("/reset").raise_for_status()

    def stop(self) -> None:
        self.control.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process.stdout:
            self.process.stdout.close()


def start_simulator(state: Path, log: Path, *extra: str) -> SimProcess:
    with log.open("ab") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "dealercrm.adapters.erp.simulator", "--port", "0", "--state", str(state),
             "--api-key", API_KEY, "--seed", "11", *extra],
            stdout=subprocess.PIPE, stderr=stderr, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
    try:
        first = lines.get(timeout=START_TIMEOUT)
    except queue.Empty:
        process.kill()
        process.wait(timeout=5)
        raise RuntimeError(f"ERP simulator did not start; see {log}") from None
    if not first.startswith("LISTENING "):
        process.kill()
        process.wait(timeout=5)
        raise RuntimeError(f"ERP simulator said {first!r}; see {log}")
    return SimProcess(process, int(first.split()[1]), state)


@pytest.fixture
def launch_simulator(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Start simulators with given extra CLI args; all are stopped at teardown."""
    started: list[SimProcess] = []

    def launch(*extra: str, state: Path | None = None) -> SimProcess:
        sim = start_simulator(state or tmp_path / "erp.sqlite3", tmp_path / "erp-sim.log", *extra)
        started.append(sim)
        return sim

    yield launch
    for sim in started:
        sim.stop()


@pytest.fixture(scope="module")
def shared_simulator(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("erp-sim")
    sim = start_simulator(folder / "erp.sqlite3", folder / "erp-sim.log")
    yield sim
    sim.stop()


@pytest.fixture
def erp_sim(shared_simulator: SimProcess) -> SimProcess:
    """The module's simulator, emptied and without faults."""
    shared_simulator.reset()
    return shared_simulator


@pytest.fixture
def gateway(erp_sim: SimProcess):  # type: ignore[no-untyped-def]
    with HttpErpGateway(erp_sim.base_url, API_KEY, timeout=1.0) as gw:
        yield gw
