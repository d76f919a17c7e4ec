"""Strict input for every route, checked once before the handler runs (issue 17 §3).

Litestar converts query strings and bodies leniently (``"activate": 0`` became ``False``,
``starts_from=0.5`` a timestamp) and Python integers have no bound, so a 24-digit id reached the
database and came back as a 500. Instead of a check per route, :func:`strict_input` reads each
handler's own signature:

* path ids beyond 64 bits name nothing: 404 (as before);
* query parameters typed ``int`` must fit a BIGINT, typed ``date``/``datetime`` must not be
  bare numbers, typed with an ``Enum`` must be one of its values (the 422 lists them);
* a JSON body is decoded once more, strictly, into the handler's ``data`` type (booleans,
  numbers and dates of the right JSON type; unknown fields refused), and no integer anywhere in
  it may exceed 64 bits.

Every refusal is a 422 naming the field, answered through the usual problem+json handlers.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import types
import typing
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException

from dealercrm.domain.errors import InvalidValue, NotFound

LARGEST_INT = 2**63 - 1  # BIGINT / SQLite INTEGER
_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*")
_NUMBER = re.compile(r"\s*[+-]?[0-9]*\.?[0-9]+([eE][+-]?[0-9]+)?\s*")


async def strict_input(request: Request[Any, Any, Any]) -> None:
    """``before_request`` of the app: refuse input the handler's types do not admit."""
    _path_ids_in_range(request)
    handler = request.route_handler
    parameters = handler.parsed_fn_signature.parameters
    for name, field in parameters.items():
        if name == "data" or field.kwarg_definition is not None and not _is_query(field.kwarg_definition):
            continue
        key = getattr(field.kwarg_definition, "query", None) or name
        if key in request.path_params or key not in request.query_params:
            continue
        for raw in request.query_params.getall(key):
            _check_query_value(key, raw, _base_types(field.annotation))
    data = parameters.get("data")
    if data is not None and "json" in (request.headers.get("content-type") or "application/json"):
        body = await request.body()
        if body:
            _check_body(body, data.annotation)


def _path_ids_in_range(request: Request[Any, Any, Any]) -> None:
    """A path id no table can hold names nothing: 404, before the database refuses the number
    (SQLite: OverflowError, PostgreSQL: numeric out of range — both were a 500)."""
    for name, value in request.path_params.items():
        if isinstance(value, int) and not -LARGEST_INT <= value <= LARGEST_INT:
            raise NotFound("记录不存在", code=f"{name.removesuffix('_id')}.not_found", field=name)


def _is_query(kwarg: Any) -> bool:
    """A ``Parameter(...)`` that is not a header or cookie (those are left to Litestar)."""
    return not (getattr(kwarg, "header", None) or getattr(kwarg, "cookie", None))


def _base_types(annotation: Any) -> tuple[Any, ...]:
    """``int | None`` → ``(int,)``; ``Annotated[X, …]`` → ``(X,)``; ``list[X]`` → ``(X,)``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _base_types(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return tuple(t for arg in typing.get_args(annotation) if arg is not type(None) for t in _base_types(arg))
    if origin in (list, tuple, set, frozenset):
        return tuple(t for arg in typing.get_args(annotation) if arg is not Ellipsis for t in _base_types(arg))
    return (annotation,)


def _check_query_value(key: str, raw: str, kinds: tuple[Any, ...]) -> None:
    if len(kinds) != 1 or not isinstance(kinds[0], type):
        return
    kind = kinds[0]
    if issubclass(kind, enum.Enum):
        allowed = [str(m.value) for m in kind]
        if raw not in allowed:
            raise InvalidValue(key, f"{key} 须为以下取值之一：{', '.join(allowed)}", code="request.enum",
                               allowed=allowed)
    elif kind is int and _INTEGER.fullmatch(raw) and not -LARGEST_INT <= int(raw) <= LARGEST_INT:
        raise InvalidValue(key, f"{key} 超出允许的整数范围（64 位）", code="request.out_of_range")
    elif kind in (dt.date, dt.datetime) and _NUMBER.fullmatch(raw):
        raise InvalidValue(key, f"{key} 须为 ISO 8601 日期/时间（如 2026-01-31）", code="request.wrong_type")


def _check_body(body: bytes, annotation: Any) -> None:
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return  # malformed JSON: Litestar answers 400 as before
    _ints_in_range(decoded, "")
    try:
        msgspec.json.decode(body, type=annotation, strict=True)
    except msgspec.ValidationError as exc:
        # the shape Litestar's own body errors have, so route-level handlers read it alike
        where = str(exc).partition(" - at `$")[2]
        key = where.rstrip("`").lstrip(".") or "data"
        allowed = _allowed_values(annotation, key) if str(exc).startswith("Invalid enum value") else None
        if allowed:
            raise InvalidValue(key, f"{key} 须为以下取值之一：{', '.join(allowed)}", code="request.enum",
                               allowed=allowed) from None
        raise ValidationException(detail=str(exc), extra=[{"message": str(exc), "key": key, "source": "body"}]) from None
    except (TypeError, NotImplementedError):
        return  # a body type msgspec cannot decode by itself: Litestar's own decoding stands


def _ints_in_range(value: Any, path: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool):
        if not -LARGEST_INT <= value <= LARGEST_INT:
            field = path or "body"
            raise InvalidValue(field, f"{field} 超出允许的整数范围（64 位）", code="request.out_of_range")
    elif isinstance(value, dict):
        for k, v in value.items():
            _ints_in_range(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _ints_in_range(v, f"{path}[{i}]")


def _allowed_values(annotation: Any, where: str) -> list[str] | None:
    """The enum values of the body field at ``where`` (``lines[0].kind``), read from the schema the
    body decodes with — the same one the OpenAPI document shows."""
    schema = msgspec.json.schema(annotation)
    defs = schema.get("$defs", {})

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while True:
            if "$ref" in node:
                node = defs.get(node["$ref"].rsplit("/", 1)[-1], {})
            elif "anyOf" in node:
                node = next((alt for alt in node["anyOf"] if alt.get("type") != "null"), {})
            else:
                return node

    node = resolve(schema)
    for part in re.findall(r"[^.\[\]]+", where):
        node = resolve(node.get("items", {}) if part.isdigit() else node.get("properties", {}).get(part, {}))
    values = node.get("enum")
    return [str(v) for v in values] if values else None
