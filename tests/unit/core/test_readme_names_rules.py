"""The README's "Where things live" table names a file and a function for each rule; each must
exist, so the table cannot drift from the code."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

README = Path(__file__).resolve().parents[3] / "README.md"
NAMED = re.compile(r"`((?:domain|application|adapters|entrypoints)/[\w/]+)\.py:([\w.]+)`")


def _table() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("**Where things live**")
    return text[start:text.index("\n\n", text.index("| --- |", start))]


def test_every_rule_in_the_readme_table_names_a_function_that_exists():
    named = NAMED.findall(_table())
    missing = []
    for path, qualname in named:
        target: object = importlib.import_module("dealercrm." + path.replace("/", "."))
        for part in qualname.split("."):
            if not hasattr(target, part):
                missing.append(f"{path}.py:{qualname}")
                break
            target = getattr(target, part)

    assert len(named) >= 5
    assert missing == []


def test_the_table_covers_the_rules_a_newcomer_looks_for():
    table = _table()

    for rule in ("credit rule", "gate-pass rules", "order transitions", "warranty rule", "review routing"):
        assert rule in table
