"""The hexagon's rule, checked on every build: dependencies point inward.

An allow-list: for each layer, the layers of ours it may import and the libraries beyond the
standard library it may use. Anything not listed is refused — a new framework in ``application/``
fails here without anyone having to think of forbidding it first. Every import statement counts,
wherever it stands (module level, inside a function, under ``if TYPE_CHECKING:``).

The layers:

* ``domain`` — entities, value objects, rules;
* ``application`` — use cases and the ports (Protocols) they need;
* ``adapters`` — the ports' implementations (SQL, devices, ERP, e-mail, documents);
* ``entrypoints`` — HTTP, CLI, worker and demos: the outermost ring, nothing imports it;
* ``composition`` — ``bootstrap*.py`` and the package facade ``dealercrm/__init__.py``: the one
  place that names concrete adapters;
* ``config`` (settings from the environment) and ``context`` (the request-id context variable),
  leaves every ring may lean on as listed;
* ``edge_agent`` — the gate-side agent, a small hexagon of its own that reuses the server's
  domain, ports and device adapters, and the log-redaction processor;
* ``wire`` — the kiosk API's answers as msgspec structs, declared once and imported by both
  the HTTP entrypoints (which build them) and the edge agent (which decodes them).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SRC = ROOT / "src" / "dealercrm"
EDGE = ROOT / "edge_agent"

STDLIB = frozenset(sys.stdlib_module_names) | {"__future__"}

# layer → the layers (or single modules, written with a dot) of ours it may import
MAY_IMPORT: dict[str, frozenset[str]] = {
    "domain": frozenset({"domain"}),
    "application": frozenset({"application", "domain"}),
    "adapters": frozenset({"adapters", "application", "domain", "context"}),
    "entrypoints": frozenset({"entrypoints", "composition", "adapters", "application", "domain", "config", "context",
                              "wire"}),
    "composition": frozenset({"composition", "adapters", "application", "domain", "config"}),
    "config": frozenset(),
    "context": frozenset(),
    "edge_agent": frozenset({"edge_agent", "adapters", "application", "domain", "entrypoints.logging", "wire"}),
    "wire": frozenset({"wire"}),  # a leaf: the structs on the wire, imported by the server and the agent
}

# layer → the third-party libraries it may use (the standard library is always allowed)
MAY_USE: dict[str, frozenset[str]] = {
    "domain": frozenset({"attrs"}),
    "application": frozenset({"attrs"}),
    "adapters": frozenset({
        "attrs", "sqlalchemy", "alembic", "argon2", "jwt", "cryptography", "httpx", "msgspec", "structlog",
        "fpdf", "PIL", "qrcode", "escpos", "serial", "smartcard", "zxingcpp", "jieba",
        "xlsxwriter",
    }),
    "entrypoints": frozenset({"attrs", "litestar", "msgspec", "structlog", "uvicorn", "anyio", "litestar_htmx", "jinja2", "markupsafe",
                             "prometheus_client"}),
    "composition": frozenset({"attrs"}),
    "config": frozenset({"attrs", "cattrs"}),
    "context": frozenset(),
    # msgspec: the agent decodes the server's answers into the shared ``wire`` structs
    "edge_agent": frozenset({"attrs", "cattrs", "cryptography", "httpx", "msgspec", "serial", "smartcard", "structlog"}),
    "wire": frozenset({"msgspec"}),
}

INNER_RINGS = ("domain", "application", "adapters")


def layer_of_file(path: Path) -> str:
    if path.is_relative_to(EDGE):
        return "edge_agent"
    parts = path.relative_to(SRC).parts
    if len(parts) > 1:
        return parts[0]
    stem = path.stem
    if stem == "__init__" or stem.startswith("bootstrap"):
        return "composition"
    return stem


def layer_of_module(name: str) -> str:
    """The layer of a ``dealercrm.…`` module name."""
    parts = name.split(".")
    if len(parts) == 1:
        return "composition"  # the package facade
    if parts[1] in ("domain", "application", "adapters", "entrypoints"):
        return parts[1]
    if parts[1].startswith("bootstrap"):
        return "composition"
    return parts[1]


def imported_names(path: Path) -> list[str]:
    """Absolute names of everything ``path`` imports; relative imports resolved."""
    if path.is_relative_to(SRC):
        package = ("dealercrm", *path.parent.relative_to(SRC).parts)
    else:
        package = ("edge_agent", *path.parent.relative_to(EDGE).parts)
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                names.append(".".join([*base, *([node.module] if node.module else [])]))
            elif node.module:
                names.append(node.module)
    return names


def offences_of(path: Path) -> list[str]:
    layer = layer_of_file(path)
    allowed_layers, allowed_libraries = MAY_IMPORT[layer], MAY_USE[layer]
    offences = []
    for name in imported_names(path):
        top = name.split(".")[0]
        if top == "dealercrm":
            target = layer_of_module(name)
            module = ".".join(name.split(".")[1:3])
            if target not in allowed_layers and module not in allowed_layers:
                offences.append(f"{layer} → {target}: {name}")
        elif top == "edge_agent":
            if layer != "edge_agent":
                offences.append(f"{layer} → edge_agent: {name}")
        elif top not in STDLIB and top not in allowed_libraries:
            offences.append(f"{layer} → library {top}: {name}")
    return offences


def _files() -> list[Path]:
    return sorted([*SRC.rglob("*.py"), *EDGE.rglob("*.py")])


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_each_layer_imports_only_what_its_allow_list_names(layer):
    offences = [f"{path.relative_to(ROOT)}: {o}" for path in _files() if layer_of_file(path) == layer
                for o in offences_of(path)]

    assert offences == []


def test_every_module_belongs_to_a_listed_layer():
    unknown = sorted(str(p.relative_to(ROOT)) for p in _files() if layer_of_file(p) not in MAY_IMPORT)

    assert unknown == []


def test_the_inner_rings_never_reach_outward():
    for inner in INNER_RINGS:
        assert not MAY_IMPORT[inner] & {"entrypoints", "composition", "config", "edge_agent"}
    assert not MAY_IMPORT["domain"] & {"application", "adapters"}
    assert not MAY_IMPORT["application"] & {"adapters"}
    assert MAY_USE["domain"] == MAY_USE["application"] == {"attrs"}


def test_the_allow_list_refuses_what_it_does_not_name(tmp_path, monkeypatch):
    fake = tmp_path / "src" / "dealercrm" / "application" / "rogue.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("import sqlalchemy\nfrom dealercrm.adapters.db import orm\n"
                    "def later():\n    from dealercrm.entrypoints.http import app\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path / "src" / "dealercrm")
    monkeypatch.setattr(sys.modules[__name__], "EDGE", tmp_path / "edge_agent")

    offences = offences_of(fake)

    assert offences == [
        "application → library sqlalchemy: sqlalchemy",
        "application → adapters: dealercrm.adapters.db",
        "application → entrypoints: dealercrm.entrypoints.http",
    ]


def test_the_layers_exist_as_the_design_card_says():
    for folder in ["src/dealercrm/domain", "src/dealercrm/application", "src/dealercrm/adapters/erp",
                   "src/dealercrm/adapters/devices", "src/dealercrm/entrypoints", "edge_agent", "tests/unit",
                   "tests/integration"]:
        assert (ROOT / folder).is_dir(), folder
