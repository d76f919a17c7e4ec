"""The hexagon's rule, checked on every build: dependencies point inward."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[3] / "src" / "dealercrm"
FORBIDDEN = {
    "sqlalchemy", "litestar", "msgspec", "structlog", "serial", "escpos", "smartcard", "httpx", "requests",
    "alembic", "psycopg", "jinja2", "uvicorn", "argon2", "jwt", "cryptography", "fpdf", "reportlab", "qrcode",
    "aiosmtpd", "cattrs",
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("layer", ["domain", "application"])
def test_inner_layers_import_no_framework_driver_or_adapter(layer):
    offences = []
    for path in (SRC / layer).rglob("*.py"):
        for name in _imports(path):
            top = name.split(".")[0]
            if top in FORBIDDEN or name.startswith(("dealercrm.adapters", "dealercrm.entrypoints", "dealercrm.bootstrap")):
                offences.append(f"{path.relative_to(SRC)}: {name}")
            if layer == "domain" and name.startswith("dealercrm.application"):
                offences.append(f"{path.relative_to(SRC)}: {name}")

    assert offences == []


def test_the_layers_exist_as_the_design_card_says():
    root = SRC.parents[1]
    for folder in ["src/dealercrm/domain", "src/dealercrm/application", "src/dealercrm/adapters/erp",
                   "src/dealercrm/adapters/devices", "src/dealercrm/entrypoints", "edge_agent", "tests/unit",
                   "tests/integration"]:
        assert (root / folder).is_dir(), folder
