"""产品模板 in the web UI: the templates list, a template's draft and versions, adding an option
to the draft (constraint errors beside the field, a draft changed meanwhile is 已被他人修改) and
publishing it, after which the dealer's configurator offers it."""

from __future__ import annotations

import re

import pytest

from dealercrm.domain.identity import Principal

from .conftest import csrf_token

pytestmark = pytest.mark.slow
SYSTEM = Principal.system()
TANKER = 1  # the demo's tanker, which dealer32 may order


def _add_option(client, **fields):
    page = client.get(f"/admin/catalog/{TANKER}")
    lock = re.search(r'name="lock_version" value="(\d+)"', page.text).group(1)
    group = re.search(r'<option value="([^"]+)"', page.text.split('name="group"')[1]).group(1)
    data = {"_csrf_token": csrf_token(page.text), "lock_version": lock, "group": group, "code": "", "name": "",
            "price": "0", "requires": "", "excludes": "", "description": "", **fields}
    return client.post(f"/admin/catalog/{TANKER}/options", data=data, follow_redirects=False)


def test_the_catalog_lists_templates_with_their_status_and_versions(browser, crm):
    admin = browser("admin")

    listed = admin.get("/admin/catalog")
    detail = admin.get(f"/admin/catalog/{TANKER}")
    bad_line = admin.get("/admin/catalog?line=boat")

    model = crm.orders.template_detail(SYSTEM, TANKER)["model_code"]
    assert listed.status_code == 200 and f'href="/admin/catalog/{TANKER}"' in listed.text and "在售" in listed.text
    assert detail.status_code == 200 and model in detail.text and "已发布版本" in detail.text
    assert bad_line.status_code == 422 and "产品线须为" in bad_line.text


def test_an_added_option_is_in_the_draft_and_after_publishing_in_the_dealers_configurator(browser, crm):
    admin = browser("admin")
    before = crm.orders.template_detail(SYSTEM, TANKER)["latest_version"]

    added = _add_option(admin, code="LED-BAR", name="车顶LED警示灯", price="1,280.50")
    page = admin.get(added.headers["location"])
    published = admin.post(f"/admin/catalog/{TANKER}/publish", data={"_csrf_token": csrf_token(page.text)},
                           follow_redirects=False)
    configurator = browser("dealer32").get(f"/orders/new?template={TANKER}")

    assert added.status_code == 303 and "车顶LED警示灯" in page.text and "有未发布修改" in page.text
    assert published.status_code == 303
    assert crm.orders.template_detail(SYSTEM, TANKER)["latest_version"] == before + 1
    assert "车顶LED警示灯" in configurator.text and 'value="LED-BAR"' in configurator.text


def test_a_malformed_code_and_an_unknown_requirement_show_beside_their_fields_with_input_kept(browser):
    admin = browser("admin")

    bad_code = _add_option(admin, code="坏 编码", name="镀铬踏板", price="300")
    unknown = _add_option(admin, code="STEP-CHROME", name="镀铬踏板", price="300", requires="NO-SUCH")
    bad_price = _add_option(admin, code="STEP-CHROME", name="镀铬踏板", price="三百")

    assert bad_code.status_code == 422 and 'id="code-error"' in bad_code.text and 'value="镀铬踏板"' in bad_code.text
    assert unknown.status_code == 422 and 'id="requires-error"' in unknown.text
    assert 'value="NO-SUCH"' in unknown.text
    assert bad_price.status_code == 422 and 'id="price-error"' in bad_price.text


def test_a_draft_changed_meanwhile_is_shown_as_changed_by_someone_else(browser):
    admin = browser("admin")
    page = admin.get(f"/admin/catalog/{TANKER}")
    token = csrf_token(page.text)
    lock = re.search(r'name="lock_version" value="(\d+)"', page.text).group(1)
    _add_option(admin, code="FIRST-ONE", name="先加的", price="10")

    stale = admin.post(f"/admin/catalog/{TANKER}/options", data={
        "_csrf_token": token, "lock_version": lock, "group": re.search(
            r'<option value="([^"]+)"', page.text.split('name="group"')[1]).group(1),
        "code": "SECOND-ONE", "name": "后加的", "price": "20"})

    assert stale.status_code == 409 and "已被他人修改" in stale.text
    assert "先加的" in stale.text and 'value="后加的"' in stale.text


def test_publishing_an_unchanged_draft_says_there_is_nothing_to_publish(browser):
    admin = browser("admin")
    page = admin.get(f"/admin/catalog/{TANKER}")

    r = admin.post(f"/admin/catalog/{TANKER}/publish", data={"_csrf_token": csrf_token(page.text)})

    assert r.status_code == 409 and "无需发布" in r.text


@pytest.mark.parametrize("value", ["x", "999999", "9223372036854775808"])
def test_catalog_routes_answer_malformed_ids_without_a_500(browser, value):
    admin = browser("admin")
    token = csrf_token(admin.get("/admin/catalog").text)

    answers = [admin.get(f"/admin/catalog/{value}").status_code,
               admin.post(f"/admin/catalog/{value}/options", data={"_csrf_token": token, "lock_version": value,
                                                                   "price": value}).status_code,
               admin.post(f"/admin/catalog/{value}/publish", data={"_csrf_token": token}).status_code]

    assert all(400 <= code < 500 for code in answers), answers


def test_the_catalog_editor_is_forbidden_to_finance_and_dealers(browser):
    assert browser("finance").get("/admin/catalog").status_code == 403
    assert browser("dealer32").get(f"/admin/catalog/{TANKER}").status_code == 403
