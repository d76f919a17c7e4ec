"""uvicorn's own records go through structlog (issue 19 §4): a server that cannot bind its port
says so in a JSON line with the level, the logger and a timestamp, like every other line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]


def test_a_port_already_taken_is_reported_as_a_json_line(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    env = {**os.environ, "DEALERCRM_DATABASE_URL": f"sqlite:///{tmp_path / 'crm.db'}", "DEALERCRM_LOG_LEVEL": "INFO",
           "DEALERCRM_JWT_SECRET": "j" * 48, "DEALERCRM_SESSION_SECRET": "s" * 48,
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    try:
        done = subprocess.run([sys.executable, "-m", "dealercrm.entrypoints.cli", "serve", "--demo", "--port",
                               str(taken.getsockname()[1])], env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=300)
    finally:
        taken.close()

    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    bound = [line for line in lines if str(line.get("logger", "")).startswith("uvicorn")]
    assert done.returncode != 0
    assert bound, done.stderr[-2000:]
    assert any(line["level"] == "error" and "address" in line["event"].lower() for line in bound), bound
    assert all("timestamp" in line for line in bound)
