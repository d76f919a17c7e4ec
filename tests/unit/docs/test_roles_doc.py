"""docs/roles.md against the code: every test a row names exists, every row names one, every web
page route has a row, and every page route a row writes exists with the methods written. Reads files and the pages' route table; starts no app or database.

The rules of the table are written at the top of docs/roles.md:
- a test is a code span ``file.py::test_name`` (optionally ``[param…]``); ``…::test_name`` is in
  the file named last before it in the same cell; a file is found under tests/ by its unique name
  (or given as ``tests/…``); a span naming only a file (``tests/…/x.py``) names that module;
- a route is a code span in the route column, optionally after a method (``GET``, ``GET/POST``) and
  with a query string; ``…/rest`` continues the route of the span before it in the same cell (at
  any of its segments: ``/a/{id}/b``, ``…/c`` is ``/a/{id}/b/c``, ``/a/{id}/c`` or ``/a/c``); a span
  ending in ``…`` names an area, not a route; ``{id}`` matches any integer parameter, a
  ``{name:str}`` parameter matches any written segment; ``a\\|b`` and ``{a,b}`` are alternatives.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from itertools import product
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ROLES = ROOT / "docs" / "roles.md"
TESTS = ROOT / "tests"
ELLIPSIS = "…"
METHOD = re.compile(r"^(?:(?:GET|POST|PUT|PATCH|DELETE)(?:/(?:GET|POST|PUT|PATCH|DELETE))*)\s+")
REFERENCE = re.compile(r"^(?P<file>[\w./-]+\.py|…)?::(?P<name>\w+)(?:\[(?P<param>[^\]]*)\])?$")
NOT_PAGES = ("/api/", "/static", "/schema", "/health", "/ready", "/metrics", "/live")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def _rows() -> list[tuple[int, list[str]]]:
    """(line number, cells) of each body row of the tables in docs/roles.md."""
    rows = []
    lines = ROLES.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        if not line.startswith("|") or set(line) <= set("|- "):
            continue
        if number < len(lines) and set(lines[number]) <= set("|- ") and "---" in lines[number]:
            continue  # a header row
        rows.append((number, _cells(line)))
    return rows


def _spans(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


@cache
def _files_named(name: str) -> tuple[Path, ...]:
    return tuple(sorted(TESTS.rglob(name)))


def _test_file(name: str) -> Path | str:
    """The path of a test module, or why it cannot be found."""
    if "/" in name:
        path = ROOT / name
        return path if path.is_file() else f"{name} does not exist"
    found = _files_named(name)
    if len(found) != 1:
        return f"{name} is {'ambiguous: ' + ', '.join(str(p.relative_to(ROOT)) for p in found) if found else 'not under tests/'}"
    return found[0]


@cache
def _tests_in(path: Path) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for node in tree.body:
        members = node.body if isinstance(node, ast.ClassDef) else [node]
        for member in members:
            if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions[member.name] = member
    return functions


def _parameter_values(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Every string in the function's ``parametrize`` decorators (ids and values)."""
    return {n.value for d in function.decorator_list for n in ast.walk(d)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def _check_reference(span: str, last_file: str | None) -> tuple[str | None, str | None]:
    """(the file this span names or continues, what is wrong with it or None)."""
    if span.endswith(".py") and re.fullmatch(r"[\w./-]+", span):  # a whole module
        found = _test_file(span)
        return span, found if isinstance(found, str) else None
    match = REFERENCE.match(span)
    if match is None:
        return last_file, None
    file = match["file"]
    if file in (None, ELLIPSIS):
        if last_file is None:
            return None, f"`{span}` continues no file named before it in its cell"
        file = last_file
    found = _test_file(file)
    if isinstance(found, str):
        return file, found
    function = _tests_in(found).get(match["name"])
    if function is None:
        return file, f"{file} has no test {match['name']}"
    param = (match["param"] or "").rstrip(ELLIPSIS)
    if param and not any(v.startswith(param) for v in _parameter_values(function)):
        return file, f"{file}::{match['name']} has no parameter {match['param']}"
    return file, None


def _references(cell: str) -> list[str]:
    return [s for s in _spans(cell) if "::" in s or s.endswith(".py")]


def test_every_test_roles_md_names_exists():
    problems = []
    for number, cells in _rows():
        last_file = None
        for span in _references(cells[-1]):
            last_file, problem = _check_reference(span, last_file)
            if problem:
                problems.append(f"line {number}: {problem}")
    text = ROLES.read_text(encoding="utf-8")
    for paragraph in text.split("\n\n"):  # tests named in the prose too (not the rules' examples)
        if not paragraph.startswith("|"):
            last_file = None
            for span in [s for s in _references(paragraph) if re.match(r"(tests/[\w/]+/)?test_\w+\.py", s)]:
                last_file, problem = _check_reference(span, last_file)
                if problem:
                    problems.append(f"prose: {problem}")

    assert len(_rows()) > 50
    assert problems == []


def test_every_row_of_roles_md_names_a_test():
    assert [(n, cells[0]) for n, cells in _rows() if len(cells) != 4] == [], "each row has four cells"
    assert [(n, cells[0]) for n, cells in _rows() if not any("::" in s or s.endswith(".py")
                                                           for s in _references(cells[-1]))] == []


def _alternatives(segment: str) -> list[str]:
    braces = re.fullmatch(r"\{([^}:]+,[^}]+)\}", segment)
    if braces:
        return braces[1].split(",")
    return segment.replace("\\|", "|").split("|")


def _written_spans(cell: str) -> list[tuple[str, frozenset[str], list[tuple[str, ...]]]]:
    """Each route span of a cell: (the span, its methods (empty: any), the paths it may stand for,
    as tuples of segments with the alternatives expanded)."""
    spans = []
    last: list[tuple[str, ...]] = []  # what the span before named
    for written in _spans(cell):
        method = METHOD.match(written.strip())
        methods = frozenset(method[0].split()[0].split("/")) if method else frozenset()
        span = METHOD.sub("", written.strip()).split("?")[0].strip()
        if span.endswith(ELLIPSIS) or " " in span:
            continue  # an area (`/finance…`), not a route
        if span.startswith("/"):
            segments = [s for s in span.split("/") if s]
            bases: set[tuple[str, ...]] = {()}
        elif span.startswith(ELLIPSIS + "/") and last:
            segments = [s for s in span[len(ELLIPSIS):].split("/") if s]
            bases = {path[:cut] for path in last for cut in range(1, len(path) + 1)}
        else:
            continue
        last = [base + choice for base in sorted(bases)
                for choice in product(*(_alternatives(s) for s in segments))]
        spans.append((written, methods, last))
    return spans


def _written_paths(cell: str) -> list[tuple[str, ...]]:
    """The paths the route cell names."""
    return [path for _, _, paths in _written_spans(cell) for path in paths]


def _matches(route: tuple[str, ...], written: tuple[str, ...]) -> bool:
    if len(route) != len(written):
        return False
    for r, w in zip(route, written):
        if r.startswith("{") and r.endswith(":str}") or r.endswith(":path}"):
            continue
        if r.startswith("{"):
            if not w.startswith("{"):
                return False
        elif r != w:
            return False
    return True


@cache
def _page_route_methods() -> dict[str, frozenset[str]]:
    """Each page route of the web UI (from the routers ``create_app`` mounts) with its methods."""
    from dealercrm.entrypoints.web.app import web_routers

    return {r.path: frozenset(r.methods) - {"HEAD", "OPTIONS"} for router in web_routers() for r in router.routes
            if getattr(r, "methods", None) and not r.path.startswith(NOT_PAGES)}


def _page_routes() -> set[str]:
    return set(_page_route_methods())


def _segments(path: str) -> tuple[str, ...]:
    return tuple(s for s in path.split("/") if s)


def test_every_web_page_route_has_a_row_in_roles_md():
    written = [p for _, cells in _rows() if len(cells) == 4 for p in _written_paths(cells[1])]
    routes = _page_routes()
    missing = sorted(r for r in routes if not any(_matches(_segments(r), w) for w in written))

    assert len(routes) > 100
    assert missing == []


def test_every_route_roles_md_writes_is_a_page_route_with_that_method():
    routes = _page_route_methods()
    wrong = []
    for number, cells in _rows():
        for written, methods, paths in _written_spans(cells[1]) if len(cells) == 4 else ():
            if any(p[:1] == ("api",) for p in paths):
                continue  # the JSON API beside the page
            if not any(_matches(_segments(r), p) and methods <= allowed for r, allowed in routes.items()
                       for p in paths):
                wrong.append(f"line {number}: `{written}`")

    assert wrong == []


def test_the_rules_read_routes_and_references_as_roles_md_writes_them():
    paths = _written_paths("`GET /finance/credit-changes`, `…/new`, `GET …/{id}`, `POST …/{id}/decide`, `/finance…`")
    actions = _written_paths("`POST /leads/{id}/contacted\\|convert`, `GET /analytics/{stock,credit}?x=1`")

    assert ("finance", "credit-changes", "{id}", "decide") in paths and ("finance", "new") in paths
    assert ("finance",) not in paths
    assert set(actions) == {("leads", "{id}", "contacted"), ("leads", "{id}", "convert"),
                            ("analytics", "stock"), ("analytics", "credit")}
    assert [m for _, m, _ in _written_spans("`GET/POST /a`, `…/b`, `POST …/c`")] == [
        {"GET", "POST"}, set(), {"POST"}]
    assert _matches(("analytics", "{code:str}"), ("analytics", "stock"))
    assert _matches(("orders", "{order_id:int}"), ("orders", "{id}"))
    assert not _matches(("orders", "{order_id:int}"), ("orders", "new"))
    assert _check_reference("…::test_x", None)[1] == "`…::test_x` continues no file named before it in its cell"
    assert "not under tests/" in _check_reference("no_such_file.py::test_x", None)[1]
    assert "has no test test_nothing_here" in _check_reference("test_roles_doc.py::test_nothing_here", None)[1]
    assert _check_reference("…::test_every_row_of_roles_md_names_a_test", "test_roles_doc.py") == ("test_roles_doc.py", None)
