"""The web UI with Litestar's test client on the demo data: people sessions (login, logout,
expiry, deactivation, password change), CSRF, dealer scope and the main pages."""

from __future__ import annotations

import datetime as dt
import re

import attrs
import pytest
from litestar.testing import TestClient

from dealercrm.domain.channel import DealerStatus
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.demo import DEMO_PASSWORD
from dealercrm.entrypoints.http.app import create_app

from .conftest import csrf_token, login

pytestmark = pytest.mark.slow
SYSTEM = Principal.system()


def _dealer_of(crm, username):
    return crm.identity.login(username, DEMO_PASSWORD).principal.dealer_id


def test_an_anonymous_visitor_is_sent_to_the_login_page(browser):
    client = browser()

    r = client.get("/orders?state=draft", follow_redirects=False)

    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/orders%3Fstate%3Ddraft"
    assert "<h1>登录</h1>" in client.get(r.headers["location"]).text


def test_a_dealer_logs_in_with_an_httponly_lax_cookie_and_lands_on_the_workbench(browser):
    client = browser()

    r = login(client, "dealer01")

    assert (r.status_code, r.headers["location"]) == (303, "/")
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("dealercrm_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    page = client.get("/")
    assert page.status_code == 200
    assert "<h1>工作台</h1>" in page.text and "经销商用户" in page.text and "待审批" in page.text


def test_a_wrong_password_shows_the_error_and_keeps_the_username(browser):
    client = browser()

    r = login(client, "dealer01", "not-the-password1")

    assert r.status_code == 401
    assert "用户名或密码错误" in r.text and 'value="dealer01"' in r.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_logging_in_returns_to_the_page_asked_for_but_never_to_another_host(browser):
    client = browser()
    form = client.get("/login?next=/orders")

    r = client.post("/login?next=/orders", data={"username": "dealer01", "password": DEMO_PASSWORD,
                                                 "_csrf_token": csrf_token(form.text)}, follow_redirects=False)
    evil = client.post("/login?next=//evil.example/x", data={"username": "dealer01", "password": DEMO_PASSWORD,
                                                             "_csrf_token": csrf_token(form.text)},
                       follow_redirects=False)

    assert r.headers["location"] == "/orders"
    assert evil.headers["location"] == "/"


def test_logout_ends_the_session_on_the_server(browser):
    client = browser("dealer01")
    stolen = client.cookies.get("dealercrm_session")
    token = csrf_token(client.get("/").text)

    r = client.post("/logout", data={"_csrf_token": token}, follow_redirects=False)
    client.cookies.set("dealercrm_session", stolen)

    assert (r.status_code, r.headers["location"]) == (303, "/login")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_form_without_the_csrf_token_is_refused(browser):
    client = browser("dealer01")

    r = client.post("/logout", data={}, follow_redirects=False)

    assert r.status_code == 403
    assert "请刷新页面后重新提交" in r.text
    assert client.get("/").status_code == 200  # still logged in


def test_an_htmx_write_carries_the_csrf_token_in_its_header(browser):
    client = browser("dealer01")
    token = csrf_token(client.get("/").text)

    r = client.post("/logout", headers={"HX-Request": "true", "X-CSRFToken": token}, follow_redirects=False)

    assert r.status_code == 303
    page = browser("dealer02").get("/")
    assert re.search(r"hx-headers='\{\"X-CSRFToken\": \"[^\"]+\"\}'", page.text)


def test_the_session_expires_on_the_server_after_its_idle_lifetime(browser, clock, crm):
    client = browser("dealer01")

    clock.now += dt.timedelta(minutes=crm.settings.session_ttl_minutes, seconds=1)

    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_deactivated_user_is_logged_out_at_once(browser, crm):
    client = browser("dealer01")
    user_id = crm.identity.login("dealer01", DEMO_PASSWORD).principal.user_id
    admin = crm.identity.login("admin", DEMO_PASSWORD).principal

    crm.identity.deactivate_user(admin, user_id)
    client.app.state.principal_cache.invalidate(user_id)

    assert client.get("/", follow_redirects=False).status_code == 303


def test_changing_the_password_keeps_this_session_and_ends_the_others(browser, crm):
    here, elsewhere = browser("dealer01"), browser("dealer01")
    token = csrf_token(here.get("/account/password").text)

    weak = here.post("/account/password", data={"_csrf_token": token, "current_password": DEMO_PASSWORD,
                                                 "new_password": "short", "confirm_password": "short"})
    r = here.post("/account/password", data={"_csrf_token": token, "current_password": DEMO_PASSWORD,
                                              "new_password": "NewSecret2026", "confirm_password": "NewSecret2026"})

    assert weak.status_code == 422 and "密码至少10位" in weak.text
    assert r.status_code == 200 and "密码已修改" in r.text
    assert here.get("/", follow_redirects=False).status_code == 200
    assert elsewhere.get("/", follow_redirects=False).status_code == 303
    assert crm.identity.login("dealer01", "NewSecret2026").principal.username == "dealer01"


def test_another_dealers_order_is_the_404_page(browser, crm):
    mine = _dealer_of(crm, "dealer01")
    foreign = next(o for o in crm.orders.list_orders(SYSTEM, {}, None, 500) if o.dealer_id != mine)
    client = browser("dealer01")

    r = client.get(f"/orders/{foreign.id}")

    assert r.status_code == 404
    assert "页面不存在" in r.text and foreign.order_no not in r.text


def test_a_dealer_sees_only_their_orders_with_the_seeds_status_words(browser, crm):
    mine = _dealer_of(crm, "dealer32")
    own = [o for o in crm.orders.list_orders(SYSTEM, {}, None, 500) if o.dealer_id == mine]
    others = [o for o in crm.orders.list_orders(SYSTEM, {}, None, 500) if o.dealer_id != mine]
    client = browser("dealer32")

    r = client.get("/orders")
    detail = client.get(f"/orders/{own[0].id}")

    assert r.status_code == 200 and own
    assert all(o.order_no in r.text for o in own)
    assert not any(o.order_no in r.text for o in others)
    assert "评审中" in r.text or "订单填报" in r.text
    assert detail.status_code == 200 and "订单进程" in detail.text


def test_the_order_list_filters_by_state_and_date_and_refuses_a_bad_date_beside_the_field(browser):
    client = browser("admin")

    drafts = client.get("/orders?state=draft")
    bad = client.get("/orders?from=2026-13-01")
    unknown = client.get("/orders?state=nonsense")

    assert drafts.status_code == 200 and "订单填报" in drafts.text and "评审中</span>" not in drafts.text
    assert bad.status_code == 200 and "日期格式应为" in bad.text and 'aria-invalid="true"' in bad.text
    assert unknown.status_code == 200 and "未知的订单状态" in unknown.text


def test_a_reviewer_decides_a_task_from_the_workbench(browser):
    client = browser("procurement")
    workbench = client.get("/")
    step = re.search(r'href="/tasks/(\d+)"', workbench.text).group(1)
    task = client.get(f"/tasks/{step}")
    token = csrf_token(task.text)

    no_reason = client.post(f"/tasks/{step}/decide", data={"_csrf_token": token, "decision": "reject"})
    r = client.post(f"/tasks/{step}/decide", data={"_csrf_token": token, "decision": "approve", "comment": "同意"},
                    follow_redirects=False)
    again = client.get(f"/tasks/{step}")

    assert task.status_code == 200 and "同意" in task.text
    assert no_reason.status_code == 422 and "请填写驳回原因" in no_reason.text
    assert r.status_code == 303
    assert again.status_code == 404


def test_a_dealer_may_not_open_the_review_pages(browser):
    client = browser("dealer01")

    assert client.get("/tasks").status_code == 403
    assert client.get("/dealers/registrations").status_code == 403


def test_the_web_ui_and_api_docs_load_nothing_from_another_host(browser):
    client = browser("admin")
    hosts = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)

    pages = {path: client.get(path) for path in ("/schema", "/schema/swagger", "/login", "/", "/orders")}

    for path, r in pages.items():
        assert r.status_code == 200, path
        assert not hosts.search(r.text), path
    assert "/static/vendor/scalar/standalone.js" in pages["/schema"].text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in pages["/schema/swagger"].text
    for asset in ("/static/vendor/htmx/htmx.min.js", "/static/vendor/scalar/standalone.js",
                  "/static/vendor/swagger-ui/swagger-ui.css", "/static/app.css"):
        assert client.get(asset).status_code == 200, asset


def test_the_json_api_needs_no_csrf_token_and_a_session_cookie_opens_none_of_it(browser):
    client = browser()

    r = client.post("/api/v1/auth/login", json={"username": "dealer01", "password": DEMO_PASSWORD})
    cookie_only = browser("dealer01").get("/api/v1/auth/me")

    assert r.status_code == 200 and r.json()["token_type"] == "Bearer"
    assert cookie_only.status_code == 401 and cookie_only.headers["content-type"].startswith("application/problem+json")


def test_no_web_page_answers_500_or_anything_but_html_to_malformed_input(browser, app):
    routes = sorted({(m, r.path) for r in app.routes for m in getattr(r, "methods", ())
                     if m not in ("HEAD", "OPTIONS")
                     and any(h.opt.get("web_ui") for h in getattr(r, "route_handlers", ()))})
    failures = []

    for user in ("admin", "dealer32", "procurement", None):  # None: a visitor (the public registration form)
        client = browser(user)
        token = csrf_token(client.get("/" if user else "/register").text)
        probes = {}  # each distinct request once: a GET sends no form, a path without an id takes no value
        for method, path in routes:
            if path == "/logout":
                continue
            for value in ("x", "999999", "9223372036854775808"):
                url = re.sub(r"\{[^}]+\}", value, path)
                for query in ("", "?template=x&state=%00&from=99999-1-1&before=-1&after=x&next=%0d%0a",
                              "?template=1&quantity=-5&options=NOPE&group:x=" + "y" * 300):
                    for form in ({}, {"template_id": "abc", "quantity": "1e9", "decision": "maybe",
                                      "form_token": "!", "requested_delivery_date": "2027-02-30"}):
                        form = form if method != "GET" else {}
                        probes[(method, url + query, tuple(form.items()))] = form
        for (method, url, _), form in probes.items():
            data = {**form, "_csrf_token": token} if method != "GET" else None
            r = client.request(method, url, data=data, follow_redirects=False)
            html = r.headers.get("content-type", "").startswith("text/html")
            download = r.status_code == 200 and r.headers.get("content-disposition", "").startswith(
                "attachment")  # an export
            if r.status_code >= 500 or (r.status_code != 303 and not html and not download):
                failures.append((user, method, url, form, r.status_code, r.headers.get("content-type")))

    assert len(routes) >= 12
    assert failures == []


def test_an_announcement_is_read_from_the_workbench_with_an_htmx_read_receipt(browser):
    client = browser("dealer32")
    link = re.search(r'href="(/announcements/\d+)"', client.get("/").text).group(1)
    page = client.get(link)
    token = csrf_token(page.text)

    refused = client.post(f"{link}/read", headers={"HX-Request": "true"})
    receipt = client.post(f"{link}/read", headers={"HX-Request": "true", "X-CSRFToken": token})

    assert page.status_code == 200 and "我已阅读" in page.text
    assert refused.status_code == 403
    assert receipt.status_code == 200 and "已阅读" in receipt.text and "<html" not in receipt.text
    assert "我已阅读" not in client.get(link).text


def test_a_region_manager_reviews_dealer_registrations(browser, crm):
    client = browser("rm_huadong")
    page = client.get("/dealers/registrations")
    dealer_ids = re.findall(r'action="/dealers/(\d+)/review"', page.text)
    assert page.status_code == 200 and dealer_ids, "the demo has dealers under review in 华东"
    token = csrf_token(page.text)

    no_reason = client.post(f"/dealers/{dealer_ids[0]}/review", data={"_csrf_token": token, "decision": "reject"})
    approved = client.post(f"/dealers/{dealer_ids[0]}/review", data={"_csrf_token": token, "decision": "approve"},
                           follow_redirects=False)

    assert no_reason.status_code == 422 and "请填写驳回原因" in no_reason.text
    assert approved.status_code == 303
    assert crm.channel.dealer_detail(SYSTEM, int(dealer_ids[0]))["status"] in ("approved", DealerStatus.APPROVED)
    assert f'action="/dealers/{dealer_ids[0]}/review"' not in client.get("/dealers/registrations").text


def test_the_login_page_sends_a_logged_in_user_on_to_the_workbench(browser):
    client = browser("dealer01")

    r = client.get("/login", follow_redirects=False)

    assert (r.status_code, r.headers["location"]) == (303, "/")


def test_the_login_form_has_the_apis_rate_limit(crm):
    app = create_app(attrs.evolve(crm.settings, login_rate_per_minute=2), container=crm)
    client = TestClient(app, raise_server_exceptions=False)

    tries = [login(client, "dealer01", "wrong-password-1").status_code for _ in range(3)]

    assert tries == [401, 401, 429]
    assert "请求过于频繁" in login(client, "dealer01").text


def test_a_reviewer_delegates_their_tasks_to_a_colleague_for_a_period_and_ends_it(browser):
    giver, colleague, other = browser("procurement"), browser("technical"), browser("production")
    tasks = giver.get("/tasks")
    form = giver.get("/delegations")
    token = csrf_token(form.text)
    technical = re.search(r'<option value="(\d+)"[^>]*>技术评审', form.text).group(1)
    tasks_before = colleague.get("/tasks").text.count("代办")

    missing = giver.post("/delegations", data={"_csrf_token": token, "to_user_id": "", "starts_on": "2026-12-32",
                                                "ends_on": "", "note": "出差"})
    inverted = giver.post("/delegations", data={"_csrf_token": token, "to_user_id": technical,
                                                 "starts_on": "2026-12-09", "ends_on": "2026-12-08", "note": "出差"})
    made = giver.post("/delegations", data={"_csrf_token": token, "to_user_id": technical, "starts_on": "2026-12-07",
                                             "ends_on": "2026-12-11", "note": "出差"}, follow_redirects=False)
    listed = giver.get(made.headers["location"])
    overlap = giver.post("/delegations", data={"_csrf_token": token, "to_user_id": technical,
                                                "starts_on": "2026-12-10", "ends_on": "", "note": ""})
    received = colleague.get("/delegations")
    tasks_covered = colleague.get("/tasks").text.count("代办")
    delegation = re.search(r'<tr id="delegation-(\d+)">', listed.text).group(1)
    foreign_end = other.post(f"/delegations/{delegation}/end", data={"_csrf_token": csrf_token(other.get("/delegations").text)})
    ended = giver.post(f"/delegations/{delegation}/end", data={"_csrf_token": token}, follow_redirects=False)
    again = giver.post(f"/delegations/{delegation}/end", data={"_csrf_token": token})

    assert 'href="/delegations"' in tasks.text
    assert form.status_code == 200 and 'value="2026-12-07"' in form.text and ">采购评审（" not in form.text
    assert missing.status_code == 422 and re.search(r'id="to_user_id-error">请选择受托人', missing.text)
    assert 'value="2026-12-32"' in missing.text and "出差" in missing.text
    assert inverted.status_code == 422 and re.search(r'id="ends_on-error">委托结束日期不能早于开始日期', inverted.text)
    assert made.status_code == 303 and "委托已设置" in listed.text and "生效中" in listed.text
    assert overlap.status_code == 409 and "该期间已有生效的委托" in overlap.text
    assert "采购评审" in received.text and "委托给我的" in received.text
    assert tasks_covered > tasks_before
    assert foreign_end.status_code == 404
    assert ended.status_code == 303 and "已收回" in giver.get(ended.headers["location"]).text
    assert again.status_code == 409 and "该委托已收回或已到期" in again.text
    assert browser("dealer01").get("/delegations").status_code == 403
