"""``assert`` is not a runtime check: ``python -O`` strips it, and a failed one says nothing to a caller.
src/ raises typed errors instead (a DomainError subclass, or InvariantBroken for a broken guarantee)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _asserts_in(package: Path) -> list[str]:
    found = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found += [f"{path.relative_to(ROOT)}:{node.lineno}" for node in ast.walk(tree) if isinstance(node, ast.Assert)]
    return found


@pytest.mark.parametrize("package", ["src/dealercrm", "edge_agent"])
def test_shipped_code_has_no_assert_statement(package):
    assert (ROOT / package).is_dir(), package

    offences = _asserts_in(ROOT / package)

    assert offences == []
