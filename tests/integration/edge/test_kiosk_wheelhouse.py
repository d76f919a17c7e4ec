"""Issue 19 §2, the kiosk's offline install: ``scripts/kiosk-wheelhouse`` builds the edge agent's
wheel from this checkout and installs it with ``--no-index --find-links`` into a fresh virtualenv,
where ``pip check`` passes and ``edge-agent --help`` runs from the installed copy.

Tests never reach the network, so the dependencies are not fetched: the wheelhouse holds our
wheel alone (``--no-deps``) and the new virtualenv sees the dependencies of the test's own
environment (a ``.pth`` line: the stand-in for a machine whose Python holds them already)."""

from __future__ import annotations

import email
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "kiosk-wheelhouse"
# The children import only what is installed where they run, never this checkout's sources (nor,
# through the current directory, its edge_agent/: they run in tmp_path).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
DATABASE_DRIVERS = {"psycopg", "psycopg-binary", "psycopg2", "psycopg2-binary", "asyncpg", "pymysql"}


def _script(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                          timeout=300, check=False, env=ENV)


def _requirements_for_the_edge_extra(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        metadata = email.message_from_bytes(zf.read("dealercrm-0.1.0.dist-info/METADATA"))
    wanted = set()
    for requirement in metadata.get_all("Requires-Dist") or []:
        name, _, marker = requirement.partition(";")
        if not marker or 'extra == "edge"' in marker:
            wanted.add(name.split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip().lower())
    return wanted


def test_the_kiosk_wheelhouse_installs_the_edge_agent_without_network_or_database_drivers(tmp_path):
    wheelhouse, venv = tmp_path / "wheelhouse", tmp_path / "kiosk"
    egg_info_before = (ROOT / "dealercrm.egg-info").exists()  # `pip install -e .` makes it; the build must not

    built = _script("build", "--wheel-dir", wheelhouse, "--no-deps", "--no-build-isolation")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120, env=ENV)
    site = Path(subprocess.run([venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True, env=ENV).stdout.strip())
    (site / "test-environment.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    installed = _script("install", "--wheel-dir", wheelhouse, "--venv", venv, "--no-deps", "--ignore-installed",
                        "--no-compile")
    imported = "import edge_agent, dealercrm; print(edge_agent.__file__); print(dealercrm.__file__)"
    where = subprocess.run([venv / "bin" / "python", "-c", imported],
                           capture_output=True, text=True, check=True, env=ENV, cwd=tmp_path).stdout.split()

    assert built.returncode == 0, built.stdout + built.stderr
    wheels = sorted(wheelhouse.glob("*.whl"))
    assert [w.name for w in wheels] == ["dealercrm-0.1.0-py3-none-any.whl"]
    names = set(zipfile.ZipFile(wheels[0]).namelist())
    assert {"edge_agent/cli.py", "edge_agent/systemd/edge-agent.service", "dealercrm/py.typed"} <= names
    assert any(n.startswith("edge_agent/screens/") and n.endswith(".html") for n in names)
    needed = _requirements_for_the_edge_extra(wheels[0])
    assert {"qrcode", "pyserial", "python-escpos", "httpx"} <= needed
    assert needed & DATABASE_DRIVERS == set()
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert "No broken requirements found." in installed.stdout
    assert "usage: edge-agent" in installed.stdout
    assert all(Path(p).is_relative_to(site) for p in where), where
    # setuptools' leftovers (build/lib, build/bdist.*); build/screenshots belongs to the browser tests
    assert [*ROOT.glob("build/lib*"), *ROOT.glob("build/bdist*")] == []
    assert (ROOT / "dealercrm.egg-info").exists() == egg_info_before
