"""A bounded schemathesis run over every operation of the OpenAPI document (issue 17 §5): the
operations, each with a fixed seed, every failed check collected rather than stopping at the
first, so one run shows everything that is wrong."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
# Operations that take the caller's own access away (deactivate or demote a user, revoke a device
# key, change a password) run last, each followed by a fresh login, so that later answers are not
# 401s caused by the fuzz itself.
DESTRUCTIVE = re.compile(r"deactivate|revoke|password|/role|/admin/users/\{")


def operations(schema: Any) -> list[Any]:
    ops = [r.ok() for r in schema.get_all_operations()]
    return sorted(ops, key=lambda op: (bool(DESTRUCTIVE.search(op.path)), op.path, op.method))


def fuzz(schema: Any, tokens: Callable[[], dict[str, str]], *, examples: int,
         fixed_seed: int = 17) -> Iterator[tuple[str, str]]:
    """Yields (operation, failure) for every failed check: ``examples`` cases per operation and caller,
    the callers' tokens from ``tokens()`` (called again after each destructive operation)."""
    current = tokens()
    for op in operations(schema):
        headers_of = {who: {"Authorization": f"Bearer {token}"} for who, token in current.items()}
        for who, headers in headers_of.items():
            failures: list[str] = []

            @seed(fixed_seed)
            @settings(max_examples=examples, database=None, deadline=None, print_blob=False,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=op.as_strategy())
            def run(case: Any) -> None:
                response = case.call(headers=headers)
                try:
                    case.validate_response(response, checks=CHECKS, headers=headers)
                except (Failure, FailureGroup) as exc:  # each failure is reported, the run goes on
                    found = getattr(exc, "exceptions", None) or [exc]
                    for e in found:
                        title = str(e).strip().splitlines()[0]
                        body = response.text[:160] if response.status_code >= 500 else ""
                        failures.append(f"{who}: {title} (got {response.status_code}) {body}".strip())

            run()
            for f in dict.fromkeys(failures):
                yield f"{op.method.upper()} {op.path}", f
        if DESTRUCTIVE.search(op.path):
            current = tokens()
