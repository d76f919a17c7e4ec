"""The systemd units in deploy/systemd (issue 19 §2): ``systemd-analyze verify`` finds nothing in
them, and their command lines, run as written (the install path swapped for this checkout's
virtualenv), migrate the database, serve /health with four workers and start the worker."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dealercrm.entrypoints.cli import main

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]
UNITS = ROOT / "deploy" / "systemd"
INSTALLED = "/opt/dealercrm/.venv/bin/"
HERE = str(Path(sys.executable).parent) + "/"


def _unit(name: str) -> dict[str, list[str]]:
    """The unit's ``key=value`` lines, key → values in order (continuation lines joined)."""
    out: dict[str, list[str]] = {}
    for line in (UNITS / name).read_text().replace("\\\n", " ").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def _environment(unit: dict[str, list[str]], **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEALERCRM_")}
    for item in unit.get("Environment", []):
        key, _, value = item.partition("=")
        env[key] = value
    return {**env, **extra}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_finds_nothing(tmp_path):
    for name in ("dealercrm.service", "dealercrm-worker.service"):
        (tmp_path / name).write_text((UNITS / name).read_text().replace(INSTALLED, HERE))

    done = subprocess.run(["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.glob("*.service"))],
                          capture_output=True, text=True, timeout=60)

    assert done.returncode == 0 and done.stdout == "" and done.stderr == "", done.stderr


def test_the_units_command_lines_migrate_serve_and_deliver(tmp_path):
    api, worker = _unit("dealercrm.service"), _unit("dealercrm-worker.service")
    keys, runtime, smtp, sms = tmp_path / "keys", tmp_path / "run", socket.socket(), socket.socket()
    runtime.mkdir()
    main(["keys", "init", "--dir", str(keys)])
    for s in (smtp, sms):
        s.bind(("127.0.0.1", 0))
        s.listen()
    port = _free_port()
    config = tmp_path / "dealercrm.toml"
    config.write_text(f'[dealercrm]\ndatabase_url = "sqlite:///{tmp_path / "crm.db"}"\n'
                      f'smtp_host = "127.0.0.1"\nsmtp_port = {smtp.getsockname()[1]}\n'
                      f'sms_url = "http://127.0.0.1:{sms.getsockname()[1]}/send"\nlog_level = "WARNING"\n')
    paths = {"DEALERCRM_CONFIG_FILE": str(config), "DEALERCRM_KEY_DIR": str(keys)}

    def command(line: str) -> list[str]:
        return line.replace(INSTALLED, HERE).replace("--port 8000", f"--port {port}").split()

    pre = subprocess.run(command(api["ExecStartPre"][0]), env=_environment(api, **paths), capture_output=True,
                         text=True, timeout=300, cwd=tmp_path)
    server = subprocess.Popen(command(api["ExecStart"][0]),
                              env=_environment(api, **paths, PROMETHEUS_MULTIPROC_DIR=str(runtime)),
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    delivery = subprocess.Popen(command(worker["ExecStart"][0]), env=_environment(worker, **paths), cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        status = None
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    status = r.status
                    break
            except OSError:
                time.sleep(0.5)
        time.sleep(2)
        worker_alive = delivery.poll() is None
    finally:
        for proc in (server, delivery):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        out = [proc.communicate(timeout=60)[0].decode(errors="replace") for proc in (server, delivery)]
        smtp.close()
        sms.close()

    assert pre.returncode == 0, pre.stdout + pre.stderr
    assert status == 200, out[0][-2000:]
    assert worker_alive, out[1][-2000:]
    assert "--workers 4" in api["ExecStart"][0]
