"""500 exits scanned while the server is down, at a guard agent running as its own process
(``edge-agent run`` with a keyboard-wedge scanner on stdin); the link returns, and midway
through the replay the agent is killed with SIGKILL — once with a steady link, once with the
link dropping and returning three times during the replay before the kill. Restarted, it
finishes the replay: exactly 500 exits on the server, each under the client event id the agent
journaled for it.

The server records at most one exit per pass, so the 500 exits are 500 distinct passes (seeded
through the application layer, one vehicle each)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent.guard import KeyRing
from edge_agent.server import KioskServer

from .conftest import child_env, wait_for

pytestmark = [pytest.mark.slow]

N = 500


def _agent(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", "from edge_agent.cli import main; raise SystemExit(main())",
             "run", "--config", str(config)],
            env=child_env(), stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT)


def _journal(state: Path) -> dict[str, int]:
    path = state / "journal.db"
    if not path.exists():
        return {}
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return dict(conn.execute("SELECT state, count(*) FROM gate_journal GROUP BY state").fetchall())
    except sqlite3.OperationalError:
        return {}
    finally:
        conn.close()


def _link(state: Path) -> str | None:
    try:
        return json.loads((state / "status.json").read_text(encoding="utf-8"))["server"]["link"]
    except (OSError, ValueError, KeyError):
        return None


@pytest.mark.parametrize("flaps", [0, 3], ids=["steady-link", "flapping-link"])
def test_500_offline_exits_survive_sigkill_and_count_once(gate_world, make_server, tmp_path, flaps):
    passes = gate_world.passes(N)
    tokens = [qr for (qr,) in gate_world.query("SELECT qr_payload FROM gate_passes ORDER BY id")]
    assert len(tokens) == N
    server = make_server(gate_world)
    state = tmp_path / "agent"
    with KioskServer(server.url, gate_world.device_key) as api:  # the agent was once online: keys cached
        assert KeyRing(state / "keys.json").refresh(api)
    server.stop()
    config = tmp_path / "guard.toml"
    config.write_text(
        f'[server]\nurl = "{server.url}"\ndevice_key = "{gate_world.device_key}"\ntimeout = 3.0\n'
        f'[agent]\nroles = ["guard"]\nstate_dir = "{state}"\nlog_level = "WARNING"\n'
        '[scanner]\nkind = "keyboard"\n', encoding="utf-8")
    log = tmp_path / "agent.log"

    first = _agent(config, log)
    try:
        assert first.stdin is not None
        first.stdin.write("".join(t + "\r\n" for t in tokens).encode("ascii"))  # the scanner types them
        first.stdin.flush()
        wait_for(lambda: _journal(state).get("pending") == N, timeout=120)
        assert gate_world.exits() == 0
        server.start()
        for _ in range(flaps):  # the link drops and returns while the agent replays (issue 17 §7)
            reached = gate_world.exits() + N // 10
            wait_for(lambda: gate_world.exits() >= reached, timeout=120)
            server.stop()
            wait_for(lambda: _link(state) == "down", timeout=60)
            server.start()
        reached = gate_world.exits() + N // 10
        wait_for(lambda: gate_world.exits() >= reached, timeout=120)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    at_kill = gate_world.exits()
    left = _journal(state)

    second = _agent(config, log)
    try:
        wait_for(lambda: _journal(state).get("pending", 0) == 0 and _journal(state).get("sent") == N, timeout=180)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=15) == 0
        status = json.loads((state / "status.json").read_text(encoding="utf-8"))
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()

    print(f"exits on the server when killed: {at_kill}; journal then: {left}")
    assert first.returncode == -signal.SIGKILL
    assert gate_world.exits() == N
    assert left.get("pending", 0) + left.get("sent", 0) == N  # nothing lost at the kill
    conn = sqlite3.connect(str(state / "journal.db"))
    journaled = dict(conn.execute(
        "SELECT client_event_id, json_extract(payload, '$.pass_no') FROM gate_journal WHERE kind = 'exit'").fetchall())
    conn.close()
    recorded = dict(gate_world.query("SELECT client_event_id, pass_no FROM gate_exits"))
    assert recorded == journaled and len(recorded) == N
    assert sorted(recorded.values()) == sorted(p for p, _ in passes)
    released = gate_world.query("SELECT count(*) FROM vehicles WHERE state = 'released'")
    assert released == [(N,)]
    assert status["journal"] == {"pending": 0, "sent": N, "refused": 0} and status["server"]["link"] == "up"
    assert status["state"] == "stopped"
    assert "110105199003071239" not in log.read_text(encoding="utf-8")
