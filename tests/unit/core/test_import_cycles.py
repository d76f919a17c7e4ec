"""No import circles among the modules of ``src/dealercrm``.

What counts as an import: every ``import`` / ``from … import`` statement in a module, wherever it
stands — at module level, inside a function (a lazy import), or under ``if TYPE_CHECKING:``. A
lazy import only moves a circle from import time to call time, and a type-only import is still a
dependency the reader has to follow, so neither is a way out. ``from pkg import name`` depends on
the module ``pkg.name`` when there is one, otherwise on ``pkg``. Not counted: the parent packages
Python runs on the way (``import dealercrm.domain.orders`` also runs ``dealercrm/__init__.py``),
which would make every module depend on the package facade.

A circle is a strongly connected component of that graph with more than one module (or a module
importing itself).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src"

def modules_under(src: Path, package: str) -> dict[str, tuple[Path, bool]]:
    """Module name → (file, is a package ``__init__``)."""
    found = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        found[".".join(parts)] = (path, is_package)
    return found


def import_graph(src: Path, package: str) -> dict[str, set[str]]:
    """Module → the modules of ``package`` it imports (every import statement, see above)."""
    modules = modules_under(src, package)

    def owner(name: str) -> str | None:  # the longest prefix of ``name`` that is one of ours
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {t for a in node.names if (t := owner(a.name))}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    target = submodule if submodule in modules else owner(source)
                    if target:
                        targets.add(target)
        graph[name] = targets
    return graph


def circles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components with a circle in them (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            advanced = False
            for nxt in edges:
                if nxt not in graph:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(sorted(component))
    return sorted(found)


def test_no_module_of_dealercrm_is_part_of_an_import_circle():
    found = circles(import_graph(SRC, "dealercrm"))

    assert found == []
