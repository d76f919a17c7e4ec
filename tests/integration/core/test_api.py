"""The HTTP API through Litestar's test client, on SQLite and PostgreSQL."""

import time

import jwt
import pytest
from litestar.testing import TestClient

import dealercrm
from dealercrm.application.identity import CreateUser
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal
from tests.apps import app_for

SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
PASSWORD = "Passw0rd123"


def body(uscc="91350100M000100Y43", username="hongda", **over):
    b = {
        "legal_name": "郑州宏达专用车销售有限公司", "uscc": uscc, "region": "华中",
        "address": {"province": "河南省", "city": "郑州市", "detail": "经开区第八大街88号"},
        "contact": {"name": "王建国", "title": "总经理", "phone": "13800138000", "birthday": "1975-03-08"},
        "applicant_username": username, "applicant_password": PASSWORD,
    }
    b.update(over)
    return b


def make_client(db_url, **settings):
    s = load_settings({}, database_url=db_url, jwt_secret=SECRET, log_json=True, log_level="WARNING",
                      principal_cache_seconds=0, **{"login_rate_per_minute": 1000, "register_rate_per_hour": 1000,
                                                    **settings})
    crm = dealercrm.bootstrap(s)
    return TestClient(app_for(crm, s)), crm


@pytest.fixture
def api(db_url):
    client, crm = make_client(db_url)
    with client:
        system = Principal.system()
        crm.identity.create_user(system, CreateUser("admin", "管理员", "admin", PASSWORD))
        crm.identity.create_user(system, CreateUser("finance", "财务", "finance", PASSWORD))
        crm.identity.create_user(system, CreateUser("east", "华东销售", "sales", PASSWORD, regions=("华东",)))
        yield client, crm


def login(client, username, password=PASSWORD):
    r = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def register(client, **kw):
    r = client.post("/api/v1/dealers/register", json=body(**kw))
    assert r.status_code == 201, r.text
    return r.json()


def assert_problem(r, status, code=None, field=None):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    p = r.json()
    assert p["status"] == status
    assert p["request_id"] == r.headers["x-request-id"]
    if code:
        assert p["code"] == code
    if field:
        assert p["field"] == field
    return p


def test_dealer_registration_review_and_approval_over_http(api):
    client, _ = api
    reg = register(client)
    dealer = login(client, "hongda")
    admin = login(client, "admin")

    assert client.post(f"/api/v1/dealers/{reg['dealer_id']}/submit", headers=dealer).json()["status"] == "under_review"
    r = client.post(f"/api/v1/dealers/{reg['dealer_id']}/approve", headers=admin)

    assert r.json() == {"id": reg["dealer_id"], "status": "approved", "status_label": "已准入"}
    detail = client.get(f"/api/v1/dealers/{reg['dealer_id']}", headers=dealer).json()
    assert detail["status"] == "approved" and detail["contacts"][0]["is_primary"]
    history = client.get(f"/api/v1/dealers/{reg['dealer_id']}/history", headers=admin).json()["items"]
    dealer_rows = [h for h in history if h["entity"] == "dealer"]
    assert [h["changes"].get("status", {}).get("new") for h in dealer_rows[:2]] == ["approved", "under_review"]
    # the review runs through the approval workflow, whose steps show in the dealer's history
    step_rows = [h for h in history if h["entity"] == "workflow_step"]
    assert [h["changes"].get("status", {}).get("new") for h in step_rows[:1]] == ["approved"]


@pytest.mark.parametrize(
    ("override", "field", "code"),
    [
        ({"uscc": "91350100M000100Y44"}, "uscc", "uscc.check_digit"),
        ({"contact": {"name": "王", "title": "总", "phone": "123"}}, "contact.phone", "phone.malformed"),
        ({"contact": {"name": "王", "title": "总", "phone": "13800138000", "id_number": "110105199003071238"}},
         "contact.id_number", "id_number.check_digit"),
        ({"region": "火星"}, "region", "region.unknown"),
        ({"status": "approved"}, "status", "request.unknown_field"),
        ({"dealer_id": 7}, "dealer_id", "request.unknown_field"),
        ({"applicant_password": "short"}, "password", "password.weak"),
    ],
)
def test_bad_registration_input_gets_422_naming_the_field_and_writes_nothing(api, override, field, code):
    client, crm = api

    r = client.post("/api/v1/dealers/register", json=body(**override))

    p = assert_problem(r, 422, code, field)
    assert p["detail"]  # Chinese message for people
    assert crm.channel.list_dealers(Principal.system()) == []


def test_approving_a_rejected_dealer_is_409_with_the_current_state(api):
    client, _ = api
    reg = register(client)
    admin = login(client, "admin")
    client.post(f"/api/v1/dealers/{reg['dealer_id']}/submit", headers=admin)
    client.post(f"/api/v1/dealers/{reg['dealer_id']}/reject", headers=admin, json={"reason": "资质不全"})

    r = client.post(f"/api/v1/dealers/{reg['dealer_id']}/approve", headers=admin)

    p = assert_problem(r, 409, "state.illegal_transition")
    assert p["current_state"] == "rejected"


def test_oversized_and_malformed_bodies_are_refused_cleanly(db_url):
    client, _ = make_client(db_url, max_body_bytes=4096)
    with client:
        assert_problem(client.post("/api/v1/dealers/register", content=b"{" + b" " * 10_000 + b"}",
                                   headers={"content-type": "application/json"}), 413, "request.too_large")
        assert_problem(client.post("/api/v1/dealers/register", content=b"{not json",
                                   headers={"content-type": "application/json"}), 400)
        deep = b"[" * 2000 + b"]" * 2000
        r = client.post("/api/v1/dealers/register", content=deep, headers={"content-type": "application/json"})
        assert r.status_code in (400, 422)


def test_duplicate_registration_is_409(api):
    client, _ = api
    register(client)

    assert_problem(client.post("/api/v1/dealers/register", json=body(username="other")), 409, "dealer.uscc_taken")


# --- authentication ---------------------------------------------------------------------------


def _token(**claims):
    now = int(time.time())
    base = {"sub": "1", "role": "admin", "iss": "dealercrm", "aud": "dealercrm-api", "iat": now, "nbf": now,
            "exp": now + 600}
    base.update(claims)
    return jwt.encode(base, SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(_token(exp=int(time.time()) - 600), id="expired"),
        pytest.param(_token(nbf=int(time.time()) + 600), id="not-yet-valid"),
        pytest.param(_token(aud="someone-else"), id="wrong-audience"),
        pytest.param(jwt.encode({"sub": "1", "iss": "dealercrm", "aud": "dealercrm-api", "exp": int(time.time()) + 600,
                                 "iat": int(time.time()), "nbf": int(time.time())}, "another-secret-another-secret-123456",
                                algorithm="HS256"), id="wrong-key"),
        pytest.param(_token()[:-4] + "AAAA", id="tampered"),
        pytest.param(jwt.encode({"sub": "1", "iss": "dealercrm", "aud": "dealercrm-api", "exp": int(time.time()) + 600},
                                None, algorithm="none"), id="alg-none"),
        pytest.param("not-a-jwt", id="garbage"),
    ],
)
def test_bad_tokens_are_401(api, token):
    client, _ = api

    r = client.get("/api/v1/dealers/", headers={"Authorization": f"Bearer {token}"})

    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_missing_token_and_wrong_password_are_401(api):
    client, _ = api

    assert_problem(client.get("/api/v1/dealers/"), 401, "auth.required")
    assert_problem(client.post("/api/v1/auth/login", json={"username": "admin", "password": "wrong-password1"}), 401,
                   "auth.invalid_credentials")
    assert_problem(client.post("/api/v1/auth/login", json={"username": "nobody", "password": "wrong-password1"}), 401,
                   "auth.invalid_credentials")


def test_a_deactivated_users_token_stops_working(api):
    client, _ = api
    reg = register(client)
    dealer = login(client, "hongda")
    admin = login(client, "admin")

    client.post(f"/api/v1/admin/users/{reg['user_id']}/deactivate", headers=admin)

    assert_problem(client.get("/api/v1/dealers/", headers=dealer), 401)


def test_a_dealer_token_on_staff_routes_is_403(api):
    client, _ = api
    reg = register(client)
    dealer = login(client, "hongda")

    assert_problem(client.get("/api/v1/admin/users", headers=dealer), 403)
    assert_problem(client.post(f"/api/v1/dealers/{reg['dealer_id']}/approve", headers=dealer), 403)
    assert_problem(client.put(f"/api/v1/dealers/{reg['dealer_id']}/territory", headers=dealer,
                              json={"regions": ["河南省"]}), 403)


def test_login_is_rate_limited(db_url):
    client, crm = make_client(db_url, login_rate_per_minute=3)
    with client:
        for _ in range(3):
            client.post("/api/v1/auth/login", json={"username": "ghost", "password": "Wrongpass123"})

        r = client.post("/api/v1/auth/login", json={"username": "ghost", "password": "Wrongpass123"})

        assert_problem(r, 429, "rate_limited")
        assert int(r.headers["retry-after"]) >= 1


def test_registration_is_rate_limited(db_url):
    client, _ = make_client(db_url, register_rate_per_hour=1)
    with client:
        register(client)

        assert_problem(client.post("/api/v1/dealers/register", json=body("91110000600037341L", "xx2")), 429)


# --- device credentials -----------------------------------------------------------------------


def test_device_keys_reach_kiosk_routes_only_and_can_be_revoked(api):
    client, _ = api
    admin = login(client, "admin")
    issued = client.post("/api/v1/admin/devices", headers=admin, json={"name": "1号门岗自助机", "location": "北门"}).json()
    device = {"X-Device-Key": issued["api_key"]}

    assert client.get("/api/v1/kiosk/whoami", headers=device).json()["role"] == "kiosk"
    assert_problem(client.get("/api/v1/dealers/", headers=device), 403)
    assert_problem(client.get("/api/v1/kiosk/whoami", headers=admin), 403)
    assert_problem(client.get("/api/v1/kiosk/whoami", headers={"X-Device-Key": issued["api_key"] + "x"}), 401)

    client.post(f"/api/v1/admin/devices/{issued['id']}/revoke", headers=admin)

    assert_problem(client.get("/api/v1/kiosk/whoami", headers=device), 401)


# --- isolation --------------------------------------------------------------------------------


def _routes_for(dealer_id: int, contact_id: int, agreement_id: int):
    contact = {"name": "李四", "title": "销售", "phone": "13700137000"}
    return [
        ("GET", f"/api/v1/dealers/{dealer_id}", None),
        ("GET", f"/api/v1/dealers/{dealer_id}/history", None),
        ("POST", f"/api/v1/dealers/{dealer_id}/submit", None),
        ("PATCH", f"/api/v1/dealers/{dealer_id}/profile", {"short_name": "改名"}),
        ("POST", f"/api/v1/dealers/{dealer_id}/contacts", contact),
        ("PUT", f"/api/v1/dealers/{dealer_id}/contacts/{contact_id}", contact),
        ("DELETE", f"/api/v1/dealers/{dealer_id}/contacts/{contact_id}", None),
    ]


def test_isolation_matrix_dealer_a_on_every_dealer_b_route_is_404(api):
    client, crm = api
    a = register(client)
    b = register(client, uscc="91110000600037341L", username="dealer_b")
    admin = login(client, "admin")
    agreement = client.post(f"/api/v1/dealers/{b['dealer_id']}/agreements", headers=admin, json={
        "product_lines": ["tanker"], "territory": ["北京市"], "settlement_method": "credit",
        "valid_from": "2026-01-01", "valid_to": "2026-12-31"}).json()
    b_detail = client.get(f"/api/v1/dealers/{b['dealer_id']}", headers=admin).json()
    token_a = login(client, "hongda")

    for method, path, payload in _routes_for(b["dealer_id"], b_detail["contacts"][0]["id"], agreement["id"]):
        r = client.request(method, path, headers=token_a, json=payload)
        assert_problem(r, 404)
        assert "北京" not in r.text and "91110000600037341L" not in r.text

    listing = client.get("/api/v1/dealers/", headers=token_a).json()
    assert [d["id"] for d in listing["items"]] == [a["dealer_id"]]
    for q in ("?q=9111", "?region=华中", "?status=registered", "?product_line=tanker"):
        assert all(d["id"] == a["dealer_id"] for d in client.get("/api/v1/dealers/" + q, headers=token_a).json()["items"])
    after = client.get(f"/api/v1/dealers/{b['dealer_id']}", headers=admin).json()
    assert after == b_detail


def test_regional_staff_do_not_see_other_regions(api):
    client, _ = api
    a = register(client)
    east = login(client, "east")

    assert client.get("/api/v1/dealers/", headers=east).json()["items"] == []
    assert_problem(client.get(f"/api/v1/dealers/{a['dealer_id']}", headers=east), 404)


def test_keyset_pagination_walks_every_dealer_once(api):
    client, crm = api
    from dealercrm.domain.values import Uscc

    ids = []
    for i in range(5):
        code = f"9111000060003{i:04d}"
        ids.append(register(client, uscc=code + Uscc.check_char(code), username=f"d{i}x")["dealer_id"])
    admin = login(client, "admin")

    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/dealers/", headers=admin, params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break

    assert seen == ids
    assert_problem(client.get("/api/v1/dealers/", headers=admin, params={"cursor": "%%%"}), 422, "cursor.invalid")
    assert_problem(client.get("/api/v1/dealers/", headers=admin, params={"limit": 0}), 422)


def test_agreement_overlap_over_http_is_409(api):
    client, _ = api
    reg = register(client)
    admin = login(client, "admin")
    payload = {"product_lines": ["tanker"], "territory": ["河南省"], "settlement_method": "credit",
               "valid_from": "2026-01-01", "valid_to": "2026-12-31"}

    assert client.post(f"/api/v1/dealers/{reg['dealer_id']}/agreements", headers=admin, json=payload).status_code == 201
    assert_problem(client.post(f"/api/v1/dealers/{reg['dealer_id']}/agreements", headers=admin, json=payload), 409,
                   "agreement.overlap")


def test_admin_creates_users_and_lists_them_without_password_hashes(api):
    client, _ = api
    admin = login(client, "admin")

    r = client.post("/api/v1/admin/users", headers=admin, json={"username": "guard1", "display_name": "门卫张",
                                                                 "role": "guard", "password": "Guard2026pass"})
    assert r.status_code == 201
    assert_problem(client.post("/api/v1/admin/users", headers=admin, json={"username": "x1x", "display_name": "x",
                                                                            "role": "emperor", "password": "Guard2026pass"}),
                   422, "request.enum", "role")
    users = client.get("/api/v1/admin/users", headers=admin).json()["items"]
    assert "guard1" in [u["username"] for u in users]
    assert "password" not in r.text and all("password_hash" not in u for u in users)


def test_health_ready_and_openapi_are_public(api):
    client, _ = api

    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"status": "ready"}
    schema = client.get("/schema/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert "/api/v1/dealers/register" in schema["paths"]


def test_every_route_is_guarded_or_on_the_anchored_public_list(api):
    client, _ = api
    from dealercrm.entrypoints.http.security import is_public

    unguarded = []
    for route in client.app.routes:
        for handler in getattr(route, "route_handlers", []):
            if handler.http_methods == {"OPTIONS"}:
                continue
            guards = [getattr(g, "func", g) for g in handler.resolve_guards()]
            marked_public = any(getattr(g, "is_public", False) for g in guards)
            has_roles = any(getattr(g, "roles", None) for g in guards)
            if route.path.startswith("/schema"):
                continue
            if marked_public != is_public(route.path) or not (marked_public or has_roles):
                unguarded.append(route.path)

    assert unguarded == []
    assert not is_public("/api/v1/dealers/register/../1")
    assert not is_public("/x/health")


def test_logs_carry_the_request_id_and_redact_phone_numbers(api, capsys):
    client, _ = api

    r = client.post("/api/v1/dealers/register", json=body(uscc="bad"), headers={"X-Request-ID": "req-12345678"})

    assert r.headers["x-request-id"] == "req-12345678"
    from dealercrm.entrypoints.logging import redact_text

    assert redact_text("电话13800138000 身份证110105199003071239") == "电话138****8000 身份证1101**********1239"
