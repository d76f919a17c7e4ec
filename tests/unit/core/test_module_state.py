"""Nothing registers at import time, and no module-level registry changes afterwards (issue 13).

Read from the source, so it covers every path, not only those a test happens to run
(``tests/integration/core/test_no_module_registries.py`` checks the running system):

* a module's top-level statements define things; none calls a function for its effect (a
  ``register_…(…)`` at import) or grows a module global (``X += …``, ``X.append(…)``).
  SQLAlchemy schema constructs that attach themselves to the metadata (``Index(…)``) are exempt,
  as the metadata is;
* no function changes a module-level container (``X[k] = v``, ``X.append(v)``, ``X |= …``,
  ``del X[k]``) or rebinds a module global (``global X``).

Memoised pure functions (``functools.lru_cache``) are not registries: their contents follow from
their arguments alone.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src" / "dealercrm"

SCHEMA_CONSTRUCTS = {"Index"}
MUTATORS = {"append", "extend", "insert", "add", "update", "setdefault", "pop", "popitem", "clear", "remove",
            "discard", "register", "register_job", "appendleft", "extendleft"}
CONTAINER_CALLS = {"dict", "list", "set", "defaultdict", "OrderedDict", "Counter", "deque", "bytearray",
                   "WeakValueDictionary", "WeakKeyDictionary", "WeakSet"}


def _is_container(value: ast.expr) -> bool:
    if isinstance(value, (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)):
        return True
    if isinstance(value, ast.Call):
        func = value.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        return name in CONTAINER_CALLS
    return False


def module_containers(tree: ast.Module) -> set[str]:
    """Names a module binds to a mutable container at top level."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and _is_container(node.value):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and node.value is not None and _is_container(node.value):
            if isinstance(node.target, ast.Name):
                names.add(node.target.id)
    return names


def _local_names(func: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    """Names bound inside a function (its parameters and assignments): they shadow module names."""
    args = func.args
    names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def _target_name(node: ast.expr) -> str | None:
    return node.id if isinstance(node, ast.Name) else None


def offences_in(source: str, where: str) -> list[str]:
    tree = ast.parse(source)
    offences = []
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            func = node.value.func
            callee = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if callee not in SCHEMA_CONSTRUCTS:
                offences.append(f"{where}:{node.lineno}: called at import: {ast.unparse(node)[:80]}")
        elif isinstance(node, ast.AugAssign):
            offences.append(f"{where}:{node.lineno}: module global grown at import: {ast.unparse(node)[:80]}")
    containers = module_containers(tree)
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        shadowed = _local_names(func)
        watched = containers - shadowed
        for node in ast.walk(func):
            if isinstance(node, ast.Global):
                offences.append(f"{where}:{node.lineno}: rebinds module global {', '.join(node.names)}")
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
                targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
                for t in targets:
                    base = t.value if isinstance(t, ast.Subscript) else None
                    name = _target_name(base) if base is not None else None
                    if name in watched:
                        offences.append(f"{where}:{node.lineno}: changes module-level {name}")
                if isinstance(node, ast.AugAssign) and _target_name(node.target) in containers:
                    offences.append(f"{where}:{node.lineno}: changes module-level {_target_name(node.target)}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name = _target_name(node.func.value)
                if name in watched and node.func.attr in MUTATORS:
                    offences.append(f"{where}:{node.lineno}: changes module-level {name}.{node.func.attr}(…)")
    return sorted(set(offences))


def test_no_module_of_dealercrm_registers_at_import_or_changes_a_module_registry_later():
    offences = []
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:  # alembic scripts: op.create_table(…) at top level is their job
            continue
        offences += offences_in(path.read_text(encoding="utf-8"), str(path.relative_to(SRC)))

    assert offences == []


def test_a_handler_registered_at_import_is_refused():
    source = "from x import wf\n_HANDLERS = {}\ndef on_review(uow, w, o):\n    pass\nwf.register('review', on_review)\n"

    assert offences_in(source, "m.py") == ["m.py:5: called at import: wf.register('review', on_review)"]


def test_a_registry_filled_or_a_cache_grown_after_import_is_refused():
    source = (
        "_HANDLERS: dict = {}\n_SEEN = set()\n_STARTED = False\n"
        "def register(kind, handler):\n    _HANDLERS[kind] = handler\n"
        "def remember(key):\n    _SEEN.add(key)\n"
        "def start():\n    global _STARTED\n    _STARTED = True\n"
        "def shadow(_SEEN):\n    _SEEN.add(1)\n"
    )

    assert offences_in(source, "m.py") == [
        "m.py:5: changes module-level _HANDLERS",
        "m.py:7: changes module-level _SEEN.add(…)",
        "m.py:9: rebinds module global _STARTED",
    ]


def test_a_schema_index_and_a_constant_table_are_fine():
    source = (
        "from sqlalchemy import Index\nLABELS = {'a': 1}\nIndex('ix_t_a', t.c.a)\n"
        "def label(k):\n    table = {}\n    table[k] = LABELS[k]\n    return table\n"
    )

    assert offences_in(source, "m.py") == []
