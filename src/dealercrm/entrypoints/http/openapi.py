"""What the OpenAPI document says about errors and credentials, derived from each route itself.

Every operation lists the problem+json answers it can give (``problems.py`` renders them all in
one shape) and the credential it takes, from facts the route already declares:

* a route on the anchored public list (``security.PUBLIC_PATTERNS``) takes no credential; every
  other one takes a bearer token (``X-Device-Key`` for the gate kiosk's routes) and answers 401
  without a valid one and 403 to a role it does not serve (services own finer access checks);
* a path with an id answers 404 for an unknown id — or another dealer's or station's id;
* a write answers 409 when the record's current state forbids it;
* any input (path, query, header, body) is checked strictly: 422 naming the field; a JSON body
  that is not JSON, or nested too deeply, is 400; one over the size limit 413; an id in a filter
  or a body that names no record (of the caller's) is 404;
* a route that counts attempts (login, registration) answers 429.

Every JSON request body also gets an example, built from the schema its struct decodes with
(``request_example``), so it shows the struct's fields, enum values and limits as they are.

``document_routes(app)`` runs once in ``create_app``, before the document is first built, so a
controller added later is documented without anyone remembering to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Litestar, MediaType
from litestar.constants import RESERVED_KWARGS
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, Operation, RequestBody
from litestar.routes import HTTPRoute

from dealercrm.domain.identity import Role
from dealercrm.entrypoints.http.problems import PROBLEM_JSON, TITLES
from dealercrm.entrypoints.http.security import is_public

BODY_PARAMETERS = frozenset({"data", "body"})  # Litestar's names for the decoded and the raw body
_ID_SUFFIXES = ("_id", "_no", "_code")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RATE_LIMITED_PATHS = frozenset({"/api/v1/auth/login", "/api/v1/dealers/register"})
BEARER: list[dict[str, list[str]]] = [{"BearerToken": []}]
DEVICE_KEY: list[dict[str, list[str]]] = [{"DeviceKey": []}]


class FieldProblem(msgspec.Struct):
    field: str
    code: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details, the body of every error answer; ``code`` is stable English."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    request_id: str | None = None
    field: str | None = None
    errors: list[FieldProblem] | None = None


_CODES = {
    400: ("request.malformed_json", "请求体不是有效的 JSON"),
    401: ("auth.required", "需要登录或有效的凭证"),
    403: ("auth.forbidden", "当前角色无权访问此资源"),
    404: ("not_found", "资源不存在"),
    409: ("state.conflict", "当前状态不允许此操作"),
    413: ("request.too_large", "请求体超过允许的大小"),
    422: ("request.wrong_type", "字段类型或取值不正确"),
    429: ("rate_limited", "请求过于频繁，请稍后再试"),
}
_DESCRIPTIONS = {
    400: "Malformed request: JSON that does not parse or nests too deeply (request.malformed_json, "
         "request.too_deep), a bad link token",
    401: "No valid credential: missing, expired, forged or revoked (auth.required)",
    403: "The caller's role may not use this route (auth.forbidden) or this record",
    404: "No such record, in the path or named in the body — also one of another dealer or station "
         "(…not_found)",
    409: "The record's current state forbids this; the body names the state (…conflict, db.retry)",
    413: "Body over the configured maximum (request.too_large)",
    422: "A field is missing, of the wrong type, out of range or not allowed; `field` names it",
    429: "Too many attempts; retry after the Retry-After header (rate_limited)",
}


def problem_response(status: int, code: str | None = None, description: str | None = None) -> ResponseSpec:
    """A problem+json answer for ``responses=``: the shared shape, with an example of ``code``."""
    default_code, detail = _CODES[status]
    code = code or default_code
    example = {"type": f"urn:dealercrm:problem:{code}", "title": TITLES[status], "status": status,
               "detail": detail, "code": code}
    return ResponseSpec(data_container=Problem, description=description or _DESCRIPTIONS[status],
                        media_type=PROBLEM_JSON, generate_examples=False,
                        examples=[Example(summary=code, value=example)])


def _page_response(status: int) -> ResponseSpec:
    """A route that answers browsers (an e-mail link) shows its errors as an HTML page."""
    return ResponseSpec(data_container=str, description=_DESCRIPTIONS[status], media_type=MediaType.HTML,
                        generate_examples=False)


def error_statuses(handler: HTTPRouteHandler, path: str, method: str) -> list[int]:
    """The problem+json statuses one operation can answer, from its route's own declarations."""
    statuses: list[int] = []
    if not is_public(path):
        statuses += [401, 403]
    inputs = _inputs(handler)
    has_body = bool(inputs & BODY_PARAMETERS)
    if "{" in path or (method in WRITE_METHODS and has_body) or any(n.endswith(_ID_SUFFIXES) for n in inputs):
        statuses.append(404)  # a record named in the path, the body or a filter does not exist (for the caller)
    if method in WRITE_METHODS:
        statuses.append(409)
    if has_body:
        statuses.append(413)
    if inputs:
        statuses += [400, 422]
    if path in RATE_LIMITED_PATHS:
        statuses.append(429)
    return sorted(statuses)


def _inputs(handler: HTTPRouteHandler) -> set[str]:
    """The handler's parameters the client supplies (path, query, header, body), not injected ones."""
    injected = set(handler.resolve_dependencies()) | (RESERVED_KWARGS - BODY_PARAMETERS)
    return {name for name in handler.parsed_fn_signature.parameters if name not in injected}


def _security(handler: HTTPRouteHandler, path: str) -> list[dict[str, list[str]]]:
    if is_public(path):
        return []
    roles = {role for guard in handler.resolve_guards() for role in getattr(guard, "roles", ())}
    return DEVICE_KEY if roles == {Role.KIOSK} else BEARER


def document_routes(app: Litestar) -> None:
    """Give every API operation its error answers and its credential (see the module docstring).

    A route's own ``responses=`` entries win over the derived ones."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            method = sorted(handler.http_methods)[0]
            answer = _page_response if handler.media_type == MediaType.HTML else problem_response
            derived = {status: answer(status) for status in error_statuses(handler, route.path_format, method)}
            handler.responses = {**derived, **(handler.responses or {})}
            if not any(layer.security for layer in handler.ownership_layers):  # a layer's own declaration wins
                handler.security = _security(handler, route.path_format)
            body = handler.parsed_fn_signature.parameters.get("data")
            if body is not None:
                handler.operation_class = _with_example(request_example(body.annotation))


# -- request examples ------------------------------------------------------------------------------
# Every JSON body gets an example built from the very schema msgspec decodes it with, so the example
# follows the struct's fields, enums and limits without anyone keeping a second copy in step.

_DAY = "2026-12-01"
_PATTERN_SAMPLES = {  # the few pattern-constrained strings, by their pattern
    r"^\d{4}-\d{2}$": "2026-12",
    "^[0-9a-fA-F]{64}$": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    r"^\d{1,3}(\.\d{1,2})?$": "1.5",
    "^(card|desk)$": "desk",
}
_FORMAT_SAMPLES = {"date": _DAY, "date-time": f"{_DAY}T09:30:00+08:00", "time": "09:30:00",
                   "email": "dealer@example.com", "uuid": "3f2b8c1e-6a4d-4f5e-9b7a-1c2d3e4f5a6b",
                   "uri": "https://example.com/"}
_NAMED_SAMPLES = {  # field name (or its last word) -> a realistic value, used when it fits the field's limits
    "phone": "13800138000", "mobile": "13800138000", "email": "dealer@example.com", "vin": "LZZ1CLVB5PW000001",
    "username": "dealer01", "password": "Secret-pass-2026", "new_password": "Secret-pass-2027",
    "region": "华东", "province": "江苏省", "city": "南京市", "name": "示例名称", "title": "示例标题",
    "reason": "示例说明", "note": "示例说明", "comment": "示例说明", "model_code": "CLW5250GYY",
    "part_no": "P-1001", "contract_no": "HT-2026-0001", "uscc": "91320100MA1W2X3Y4K", "event_id": "3f2b8c1e-6a4d-4f5e-9b7a-1c2d3e4f5a6b",
}


def request_example(annotation: Any) -> Any:
    """A JSON value the decoder of ``annotation`` (a msgspec struct, maybe optional) accepts."""
    schema = msgspec.json.schema(annotation)
    return _example(schema, schema.get("$defs", {}), "")


def _example(schema: dict[str, Any], defs: dict[str, Any], name: str) -> Any:
    if "$ref" in schema:
        return _example(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, name)
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            choices = [c for c in schema[key] if c.get("type") != "null"] or schema[key]
            return _example(choices[0], defs, name)
    kind = schema.get("type")
    if kind == "object":
        return {field: _example(sub, defs, field) for field, sub in schema.get("properties", {}).items()}
    if kind == "array":
        count = max(1, schema.get("minItems", 1)) if schema.get("maxItems", 1) else 0
        return [_example(schema.get("items", {}), defs, name.removesuffix("s")) for _ in range(count)]
    if kind == "string":
        return _string(schema, name)
    if kind == "integer":
        return _number(schema, 1)
    if kind == "number":
        return float(_number(schema, 1))
    if kind == "boolean":
        return True
    return None


def _string(schema: dict[str, Any], name: str) -> str:
    if "pattern" in schema:
        return _PATTERN_SAMPLES[schema["pattern"]]
    if "format" in schema:
        return _FORMAT_SAMPLES[schema["format"]]
    low, high = schema.get("minLength", 0), schema.get("maxLength", 10_000)
    known = [key for key in _NAMED_SAMPLES if name == key or name.endswith(f"_{key}")]  # customer_phone: a phone
    value = _NAMED_SAMPLES[max(known, key=len)] if known else "示例"
    if not low <= len(value) <= high:
        value = ("A" * low if low else "示例")[:high]
    return value


def _number(schema: dict[str, Any], value: int) -> int:
    low = schema.get("minimum", schema.get("exclusiveMinimum", value - 1) + 1)
    high = schema.get("maximum", schema.get("exclusiveMaximum", value + 1) - 1)
    return min(max(value, low), high)


def _with_example(example: Any) -> type[Operation]:
    """Litestar builds each operation with the handler's ``operation_class``; this one also gives
    every media type of the request body the example."""

    @dataclass
    class OperationWithExample(Operation):
        def __post_init__(self) -> None:
            if isinstance(self.request_body, RequestBody):
                for media in self.request_body.content.values():
                    media.example = example

    return OperationWithExample


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(METHOD, path, operation) of every operation in an OpenAPI document."""
    return [(method.upper(), path, op) for path, item in spec.get("paths", {}).items()
            for method, op in item.items() if method in ("get", "post", "put", "patch", "delete")]
