"""Issue 17 §4: the OpenAPI document tells the truth about every operation — its request and
response schemas, the credential it takes and the problem+json errors it can answer. The checks
walk the document, so a route added later is held to the same rules."""

from __future__ import annotations

import jsonschema_rs
import pytest
from litestar.testing import TestClient

import dealercrm
from dealercrm.config import load_settings
from dealercrm.domain.identity import Role
from dealercrm.domain.orders import OrderState
from dealercrm.entrypoints.http.app import create_app
from dealercrm.entrypoints.http.openapi import operations
from dealercrm.entrypoints.http.security import is_public

WRITES = ("POST", "PUT", "PATCH", "DELETE")
PROBLEM = "#/components/schemas/Problem"


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'schema.db'}"
    settings = load_settings({}, database_url=url, jwt_secret="o" * 48, log_level="CRITICAL")
    crm = dealercrm.bootstrap(settings)
    with TestClient(create_app(settings, container=crm)) as client:
        document = client.get("/schema/openapi.json").json()
    crm.close()
    return document


def _problem_statuses(op: dict) -> set[int]:
    found = set()
    for status, response in op["responses"].items():
        content = response.get("content", {})
        if status.startswith("4") and (content.get("application/problem+json", {}).get("schema", {}).get("$ref")
                                       == PROBLEM or "text/html" in content):
            found.add(int(status))
    return found


def test_the_document_lists_every_api_route(spec):
    ops = operations(spec)

    assert len(ops) > 250
    assert all(path.startswith(("/api/", "/health", "/ready")) for _, path, _ in ops)


def test_every_operation_documents_its_success_body(spec):
    missing = []
    for method, path, op in operations(spec):
        success = {s: r for s, r in op["responses"].items() if s.startswith("2")}
        if not success:
            missing.append((method, path, "no success response"))
        for status, response in success.items():
            if status != "204" and not any(c.get("schema") for c in response.get("content", {}).values()):
                missing.append((method, path, status))
        body = op.get("requestBody", {}).get("content", {})
        if body and not all(c.get("schema") for c in body.values()):
            missing.append((method, path, "request body"))

    assert missing == []


def test_every_guarded_operation_takes_a_credential_and_documents_401_and_403(spec):
    wrong = []
    for method, path, op in operations(spec):
        if is_public(path):
            if op.get("security") or 403 in _problem_statuses(op):
                wrong.append((method, path, "public route documented as guarded"))
        elif not op.get("security") or not {401, 403} <= _problem_statuses(op):
            wrong.append((method, path, op.get("security"), sorted(_problem_statuses(op))))

    assert wrong == []


def test_every_operation_documents_the_errors_its_input_can_cause(spec):
    wrong = []
    for method, path, op in operations(spec):
        statuses = _problem_statuses(op)
        expected = set()
        if "{" in path:
            expected |= {404, 422}
        if method in WRITES:
            expected.add(409)
        if op.get("parameters") or op.get("requestBody"):
            expected |= {400, 422}
        if expected - statuses:
            wrong.append((method, path, sorted(expected - statuses)))

    assert wrong == []


def test_errors_are_problem_json_with_a_stable_code_and_an_example(spec):
    problem = spec["components"]["schemas"]["Problem"]
    examples = [c["examples"] for _, _, op in operations(spec) for s, r in op["responses"].items()
                if s.startswith("4") for mt, c in r.get("content", {}).items() if mt == "application/problem+json"]

    assert {"type", "title", "status", "detail", "code"} <= set(problem["required"])
    assert examples and all(e and all(x["value"]["code"] for x in e.values()) for e in examples)


def test_login_and_registration_document_rate_limits_and_take_no_credential(spec):
    ops = {(m, p): op for m, p, op in operations(spec)}

    for key in (("POST", "/api/v1/auth/login"), ("POST", "/api/v1/dealers/register")):
        assert 429 in _problem_statuses(ops[key]) and not ops[key].get("security")
    assert 401 in _problem_statuses(ops[("POST", "/api/v1/auth/login")])


def test_payments_mark_their_idempotency_key_header_required(spec):
    ops = {(m, p): op for m, p, op in operations(spec)}

    for key in (("POST", "/api/v1/credit/payments"), ("POST", "/api/v1/retail-sales/{sale_id}/payments")):
        headers = {p["name"]: p for p in ops[key]["parameters"] if p["in"] == "header"}
        assert headers["Idempotency-Key"]["required"] is True


def _bodies(spec):
    return [(method, path, media_type, media) for method, path, op in operations(spec)
            for media_type, media in op.get("requestBody", {}).get("content", {}).items()]


def test_every_request_body_shows_an_example(spec):
    bodies = _bodies(spec)

    assert len(bodies) > 100
    assert [(method, path, media_type) for method, path, media_type, media in bodies
            if media.get("example") is None and not media.get("examples")] == []


def test_every_request_example_is_valid_against_its_schema(spec):
    invalid = []
    for method, path, _, media in _bodies(spec):
        validator = jsonschema_rs.validator_for({**media["schema"], "components": spec["components"]})
        errors = [str(e).splitlines()[0] for e in validator.iter_errors(media["example"])]
        if errors:
            invalid.append((method, path, errors))

    assert invalid == []


def test_state_role_and_category_fields_list_their_allowed_values(spec):
    schemas = spec["components"]["schemas"]

    def enum_of(struct: str, field: str) -> list[str]:
        prop = schemas[struct]["properties"][field]
        target = next((alt for alt in prop.get("oneOf", [prop]) if "$ref" in alt), prop)
        return schemas[target["$ref"].rsplit("/", 1)[-1]]["enum"] if "$ref" in target else target["enum"]

    assert "engine" in enum_of("ServiceRequestBody", "fault_category")
    assert set(enum_of("UserIn", "role")) == {role.value for role in Role}
    assert set(enum_of("OrderSummaryOut", "state")) == {state.value for state in OrderState}
    assert "published" in enum_of("AnnouncementOut", "status")


def test_every_list_answers_items_and_next_cursor_except_the_kiosks(spec):
    schemas = spec["components"]["schemas"]
    bare, pages = [], 0
    for method, path, op in operations(spec):
        for status, response in op["responses"].items():
            if not status.startswith("2"):
                continue
            for media in response.get("content", {}).values():
                schema = media.get("schema", {})
                if schema.get("type") == "array" and not path.startswith("/api/v1/kiosk/"):
                    bare.append((method, path, status))
                target = schemas.get(schema.get("$ref", "").rsplit("/", 1)[-1], {})
                pages += {"items", "next_cursor"} <= set(target.get("properties", {}))

    assert bare == []
    assert pages > 60
