"""The type checker runs in the test command: mypy over ``src/dealercrm`` with the configuration
in pyproject.toml (``[tool.mypy]``; its baseline of modules with known errors is listed there),
``domain/`` and ``application/`` checked strictly with no baseline entry, and the package ships
``py.typed`` so embedding teams' checkers read our annotations."""

from __future__ import annotations

import re
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


# mypy's --strict, flag by flag (``strict`` itself in an override leaks into other modules); the
# global-only part of it (warn_redundant_casts, strict_equality) is set in [tool.mypy] itself.
STRICT_FLAGS = {
    "disallow_any_generics": True, "disallow_subclassing_any": True, "disallow_untyped_calls": True,
    "disallow_untyped_defs": True, "disallow_incomplete_defs": True, "check_untyped_defs": True,
    "disallow_untyped_decorators": True, "warn_unused_ignores": True, "warn_return_any": True,
    "implicit_reexport": False, "strict_equality": True, "extra_checks": True,
}
CORE = ("dealercrm.domain", "dealercrm.application")


def test_domain_and_application_are_checked_strictly_without_a_baseline():
    mypy = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    overrides = mypy["overrides"]

    strict = [o for o in overrides if sorted(o["module"]) == sorted(f"{c}.*" for c in CORE)]
    relaxed = [m for o in overrides if o.get("ignore_errors") or o.get("disable_error_code")
               for m in o["module"] if m.startswith(CORE)]
    assert len(strict) == 1
    assert {k: strict[0].get(k) for k in STRICT_FLAGS} == STRICT_FLAGS
    assert mypy["warn_redundant_casts"] is True and mypy["strict_equality"] is True
    assert relaxed == []


def test_type_ignores_in_domain_and_application_name_their_error_and_why():
    # Only where a third-party stub forces one: ``# type: ignore[code]  # why``.
    explained = re.compile(r"#\s*type:\s*ignore\[[a-z-]+(?:,\s*[a-z-]+)*\]\s+#\s*\S")
    files = [*(ROOT / "src/dealercrm/domain").rglob("*.py"), *(ROOT / "src/dealercrm/application").rglob("*.py")]

    found = [f"{f.relative_to(ROOT)}:{n}" for f in files
             for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
             if "type: ignore" in line and not explained.search(line)]

    assert files and found == []
