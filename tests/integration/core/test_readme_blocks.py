"""The README's and docs' runnable code blocks run, so they cannot rot (issue 19).

A block is runnable when the line before its fence is ``<!-- runnable -->`` (Python or bash, run
in an empty folder), ``<!-- runnable: server -->`` (bash against a real ``dealercrm serve`` on a
free loopback port: the block's ``http://127.0.0.1:8000`` is rewritten to it; the server's
database holds the demo's admin login) or ``<!-- runnable: settings -->`` (a TOML settings file,
structured by ``load_settings``).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import dealercrm
from dealercrm.application.identity import CreateUser
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.demo import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[3]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^<!-- runnable(?:: (?P<kind>[a-z]+))? -->\n```(?P<lang>[a-z]+)\n(?P<code>.*?)^```$",
                   re.MULTILINE | re.DOTALL)
DEMO_URL = "http://127.0.0.1:8000"


def _blocks() -> list[tuple[str, str, str, str]]:
    found = []
    for doc in DOCUMENTS:
        text = doc.read_text(encoding="utf-8")
        for m in BLOCK.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            found.append((f"{doc.relative_to(ROOT)}:{line}", m["kind"] or "plain", m["lang"], m["code"]))
    return found


BLOCKS = _blocks()


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "DEALERCRM_LOG_LEVEL": "WARNING"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``dealercrm serve`` (not the demo) with a key folder and the demo's admin login."""
    folder = tmp_path_factory.mktemp("readme-server")
    url = f"sqlite:///{folder / 'crm.db'}"
    crm = dealercrm.bootstrap(load_settings({}, database_url=url, log_level="WARNING"))
    crm.identity.create_user(Principal.system(), CreateUser("admin", "系统管理员", "admin", DEMO_PASSWORD))
    crm.close()
    port = _free_port()
    env = {**_env(), "DEALERCRM_DATABASE_URL": url, "DEALERCRM_KEY_DIR": str(folder / "keys")}
    cli = [sys.executable, "-m", "dealercrm.entrypoints.cli"]
    subprocess.run([*cli, "keys", "init", "--dir", str(folder / "keys")], env=env, check=True, capture_output=True)
    log = (folder / "server.log").open("w")
    proc = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                            cwd=folder)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"dealercrm serve did not start:\n{(folder / 'server.log').read_text()[-3000:]}")
            time.sleep(0.3)
    yield base
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


def test_the_readme_has_runnable_blocks_of_each_kind():
    kinds = {(kind, lang) for where, kind, lang, _ in BLOCKS if where.startswith("README.md")}

    assert {("plain", "python"), ("server", "bash"), ("settings", "toml")} <= kinds


@pytest.mark.parametrize(("where", "kind", "lang", "code"), BLOCKS, ids=[b[0] for b in BLOCKS])
def test_runnable_block(where, kind, lang, code, tmp_path, request):
    if kind == "settings":
        (tmp_path / "dealercrm.toml").write_text(code, encoding="utf-8")

        settings = load_settings({}, config_file=tmp_path / "dealercrm.toml", key_dir="")

        assert settings.database_url
        return
    env = _env()
    if kind == "server":
        code = code.replace(DEMO_URL, request.getfixturevalue("server"))
    command = [sys.executable, "-c", code] if lang == "python" else ["bash", "-euo", "pipefail", "-c", code]

    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, f"{where} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    assert done.stdout.strip(), f"{where} printed nothing"
