"""Bad input gets a clear 4xx, never a 500: every route of the API, called as an admin and as a
dealer with malformed path values and bodies, on the demo data. 503 stays allowed (a document
renderer or provider that is not available)."""

from __future__ import annotations

import re
import shutil
import time

import jwt
import pytest
from litestar.testing import TestClient

import dealercrm
from dealercrm.config import load_settings
from dealercrm.domain.aftersales import FaultCategory
from dealercrm.entrypoints.demo import DEMO_PASSWORD, load_demo
from dealercrm.entrypoints.http.aftersales_schemas import ServiceRequestBody
from dealercrm.entrypoints.http.app import create_app
from dealercrm.entrypoints.http.openapi import request_example

pytestmark = pytest.mark.slow


def test_no_route_answers_500_to_malformed_input(sqlite_url):
    settings = load_settings({}, database_url=sqlite_url, jwt_secret="n" * 48, log_level="CRITICAL",
                             login_rate_per_minute=100_000, register_rate_per_hour=100_000)
    crm = dealercrm.bootstrap(settings)
    load_demo(crm)
    app = create_app(settings, container=crm)
    failures = []
    with TestClient(app, raise_server_exceptions=False) as client:
        headers = {}
        for user in ("admin", "dealer01"):
            token = client.post("/api/v1/auth/login", json={"username": user, "password": DEMO_PASSWORD})
            headers[user] = {"Authorization": f"Bearer {token.json()['access_token']}"}
        routes = sorted({(m, r.path) for r in app.routes for m in getattr(r, "methods", ())
                         if m not in ("HEAD", "OPTIONS")})
        probes = set()  # each distinct request once: a GET sends no body, a path without an id takes no value
        for method, path in routes:
            for value in ("x", "999999", "9223372036854775808"):  # the last: no BIGINT holds it
                for user in ("admin", "dealer01"):
                    for body in ((), (("unknown", 1),)):
                        probes.add((method, re.sub(r"\{[^}]+\}", value, path), user, body if method != "GET" else ()))
        for method, url, user, body in sorted(probes):
            r = client.request(method, url, headers=headers[user], json=dict(body))
            if r.status_code >= 500 and r.status_code != 503:
                failures.append((method, url, user, dict(body), r.status_code, r.text[:200]))
        huge = client.get("/api/v1/orders/9223372036854775808", headers=headers["admin"])
        assert (huge.status_code, huge.json()["code"]) == (404, "order.not_found")
        failures += _typed_probes(client, headers["admin"])
        crm.close()

    assert len(routes) > 200
    assert failures == []


WRONG_QUERY_VALUES = ("null", "9" * 32, "0.5")  # an unknown enum value, beyond 64 bits, not a date
WRONG_BODY_VALUES = (10**24, 0, "null", 0.5)


def _typed_probes(client: TestClient, headers: dict[str, str]) -> list[tuple[object, ...]]:
    """Every query parameter and every top-level body field the OpenAPI document names, one at a
    time, with values of the wrong type or range: a 4xx, never a 500."""
    failures: list[tuple[object, ...]] = []
    spec = client.get("/schema/openapi.json").json()
    components = spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        url = re.sub(r"\{[^}]+\}", "1", path)
        for method, op in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            for p in op.get("parameters", []):
                for value in WRONG_QUERY_VALUES if p["in"] == "query" else ():
                    r = client.request(method, url, headers=headers, params={p["name"]: value})
                    if r.status_code >= 500 and r.status_code != 503:
                        failures.append((method, path, p["name"], value, r.status_code, r.text[:200]))
            schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            properties = components[schema["$ref"].split("/")[-1]].get("properties", {}) if "$ref" in schema else {}
            for name in properties:
                for value in WRONG_BODY_VALUES:
                    r = client.request(method, url, headers=headers, json={name: value})
                    if r.status_code >= 500 and r.status_code != 503:
                        failures.append((method, path, name, value, r.status_code, r.text[:200]))
    return failures


@pytest.fixture(scope="module")
def api(tmp_path_factory, _sqlite_template):
    """One demo database for the probes below: none of them changes anything."""
    path = tmp_path_factory.mktemp("strict-input") / "dealercrm.db"
    shutil.copyfile(_sqlite_template, path)
    settings = load_settings({}, database_url=f"sqlite:///{path}", jwt_secret="n" * 48, log_level="CRITICAL",
                             login_rate_per_minute=100_000, register_rate_per_hour=100_000)
    crm = dealercrm.bootstrap(settings)
    load_demo(crm)
    with TestClient(create_app(settings, container=crm), raise_server_exceptions=False) as client:
        token = client.post("/api/v1/auth/login", json={"username": "admin", "password": DEMO_PASSWORD})
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield client, settings
    crm.close()


def test_an_unknown_enum_value_in_a_body_is_422_naming_the_field_and_the_allowed_values(api):
    client, _ = api
    body = request_example(ServiceRequestBody) | {"fault_category": "welding"}

    r = client.post("/api/v1/aftersales/requests", json=body)

    problem = r.json()
    assert (r.status_code, problem["code"], problem["field"]) == (422, "request.enum", "fault_category")
    assert set(problem["allowed"]) == {c.value for c in FaultCategory}


@pytest.mark.parametrize("path", ["/api/v1/campaigns?status=null", "/api/v1/leads?status=null",
                                  "/api/v1/trainings?status=null", "/api/v1/knowledge/articles?kind=null",
                                  "/api/v1/aftersales/requests?warranty_state=null"])
def test_an_unknown_enum_value_in_a_filter_is_422_listing_the_allowed_values(api, path):
    client, _ = api

    r = client.get(path)

    body = r.json()
    assert (r.status_code, body["code"]) == (422, "request.enum")
    assert body["field"] == path.split("?")[1].split("=")[0]
    assert body["allowed"] and "null" not in body["allowed"]


def test_integers_beyond_64_bits_are_422_naming_the_field(api):
    client, _ = api

    query = client.get("/api/v1/workflows", params={"subject_type": "order", "subject_id": "1" * 32})
    body = client.post("/api/v1/care/batches", json={"template_id": 10**23})

    assert (query.status_code, query.json()["field"]) == (422, "subject_id")
    assert (body.status_code, body.json()["field"]) == (422, "template_id")


def test_booleans_dates_and_numbers_must_have_their_json_type(api):
    client, _ = api
    campaign = {"name": "春季促销", "target_segment": "华中危化品运输企业", "budget_fen": 100_000,
                "starts_on": "2026-03-01", "ends_on": "2026-03-31", "activate": 0}

    as_number = client.post("/api/v1/campaigns", json=campaign)
    timestamp = client.get("/api/v1/trainings", params={"starts_from": "0.5"})
    quoted = client.post("/api/v1/care/batches", json={"template_id": "1"})

    assert (as_number.status_code, as_number.json()["field"]) == (422, "activate")
    assert (timestamp.status_code, timestamp.json()["field"]) == (422, "starts_from")
    assert (quoted.status_code, quoted.json()["field"]) == (422, "template_id")


@pytest.mark.parametrize("sub", ["x", "1" * 32, "²", "-1", "0"])
def test_a_signed_token_whose_subject_is_not_a_user_id_is_401(api, sub):
    client, settings = api
    now = int(time.time())
    token = jwt.encode({"sub": sub, "iat": now, "nbf": now, "exp": now + 600, "iss": settings.jwt_issuer,
                        "aud": settings.jwt_audience}, settings.jwt_secret, algorithm="HS256")

    r = client.get("/api/v1/dealers/", headers={"Authorization": f"Bearer {token}"})

    assert r.status_code == 401
