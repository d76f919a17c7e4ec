"""The type checker runs in the test command: mypy over ``src/dealercrm`` with the configuration
in pyproject.toml (``[tool.mypy]``; its baseline of modules with known errors is listed there),
and the package ships ``py.typed`` so embedding teams' checkers read our annotations."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_mypy_passes_on_the_package():
    done = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary"], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)

    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert errors == [], "\n".join(errors)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_checks_the_whole_package_and_it_ships_py_typed():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

    assert project["tool"]["mypy"]["files"] == ["src/dealercrm"]
    assert (ROOT / "src" / "dealercrm" / "py.typed").exists()
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["dealercrm"]
