"""Mass assignment: every request body of the API — and every struct nested in one — refuses
fields it does not declare (422 naming the field), so a client can never slip in a ``dealer_id``,
``status`` or price that a handler forgot to drop. Walks the app's routes, so a new body is
covered the day it is added."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from typing import Any

import msgspec

import dealercrm
from dealercrm.config import load_settings
from dealercrm.entrypoints.http.app import create_app
from dealercrm.entrypoints.http.care import ApplyBody


def _structs(annotation: Any) -> Iterator[type[msgspec.Struct]]:
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        yield annotation
        for field in msgspec.structs.fields(annotation):
            yield from _structs(field.type)
    for arg in typing.get_args(annotation):
        yield from _structs(arg)


def test_every_request_body_refuses_unknown_fields(sqlite_url):
    settings = load_settings({}, database_url=sqlite_url, jwt_secret="b" * 48, log_level="CRITICAL")
    crm = dealercrm.bootstrap(settings)
    app = create_app(settings, container=crm)
    bodies: set[type[msgspec.Struct]] = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            data = handler.parsed_fn_signature.parameters.get("data")
            if data is not None:
                bodies.update(_structs(data.annotation))

    lax = sorted(f"{b.__module__}.{b.__qualname__}" for b in bodies if not b.__struct_config__.forbid_unknown_fields)
    assert len(bodies) > 100
    assert lax == []

    # the care bodies were the lax ones: a smuggled dealer id is now refused by name
    try:
        msgspec.json.decode(b'{"product_lines": ["tanker"], "dealer_id": 7}', type=ApplyBody)
    except msgspec.ValidationError as exc:
        assert "dealer_id" in str(exc)
    else:
        raise AssertionError("an unknown field was accepted")
    crm.close()
