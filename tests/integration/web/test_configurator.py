"""The configurator: options grouped from the catalog template, exclusions greyed as the user
picks (htmx), a live estimate, and a double-clicked submit that creates one order."""

from __future__ import annotations

import re

import pytest

from dealercrm.domain.identity import Principal

from .conftest import csrf_token

pytestmark = pytest.mark.slow
SYSTEM = Principal.system()
TANKER = 1  # the demo's 40 m³ aluminium tanker semi-trailer, which dealer32 may order


def _checked(page_html: str) -> list[tuple[str, str]]:
    return re.findall(r'<input type="(?:radio|checkbox)" name="([^"]+)" value="([^"]+)" checked', page_html)


def _form(page_html: str, **fields) -> dict[str, list[str]]:
    token = re.search(r'name="form_token" value="([^"]+)"', page_html).group(1)
    base = [("_csrf_token", csrf_token(page_html)), ("template_id", str(TANKER)), ("form_token", token),
            ("quantity", "2"), ("requested_delivery_date", "2027-03-01"), ("delivery_method", "self_pickup")]
    out: dict[str, list[str]] = {}
    for key, value in base + _checked(page_html) + list(fields.items()):
        out.setdefault(key, []).append(value)
    return out


def test_the_configurator_groups_the_templates_options_and_estimates_the_standard_build(browser):
    client = browser("dealer32")

    picker = client.get("/orders/new")
    page = client.get(f"/orders/new?template={TANKER}")

    assert picker.status_code == 200 and f'href="/orders/new?template={TANKER}"' in picker.text
    assert page.status_code == 200
    assert "<legend>" in page.text and "必选" in page.text and "价格估算" in page.text
    assert re.search(r'id="total">¥[\d,]+\.\d\d<', page.text)
    assert 'hx-get="/orders/new/check?template=1"' in page.text


def test_picking_an_option_greys_what_it_excludes_and_reports_a_missing_requirement(browser):
    client = browser("dealer32")
    page = client.get(f"/orders/new?template={TANKER}")
    picks = dict(_checked(page.text))

    six = client.get("/orders/new/check", params={"template": TANKER, **picks, "group:compartments": "COMP-6"},
                     headers={"HX-Request": "true"})
    tyre = client.get("/orders/new/check", params={"template": TANKER, **picks, "group:tyre": "TYRE-385"},
                      headers={"HX-Request": "true"})

    assert six.status_code == 200 and "<html" not in six.text
    assert re.search(r'value="TANK-5083-6" disabled>', six.text)
    assert re.search(r'class="field-error">选择「[^」]+」须同时选择', tyre.text) and 'id="total"' not in tyre.text


def test_a_double_clicked_submit_creates_one_order_in_review(browser, crm):
    client = browser("dealer32")
    page = client.get(f"/orders/new?template={TANKER}")
    before = len(crm.orders.list_orders(SYSTEM, {}, None, 1000))
    form = _form(page.text, action="submit")

    first = client.post("/orders/new", data=form, follow_redirects=False)
    second = client.post("/orders/new", data=form, follow_redirects=False)

    assert (first.status_code, second.status_code) == (303, 303)
    assert first.headers["location"] == second.headers["location"]
    assert len(crm.orders.list_orders(SYSTEM, {}, None, 1000)) == before + 1
    order = client.get(first.headers["location"])
    assert "配置与价格" in order.text and "¥" in order.text
    assert order.status_code == 200 and "已提交待评审" in order.text, re.findall(r"class=\"state [a-z_]+\">([^<]*)", order.text)


def test_a_form_error_stays_beside_its_field_and_keeps_the_input(browser, crm):
    client = browser("dealer32")
    page = client.get(f"/orders/new?template={TANKER}")
    before = len(crm.orders.list_orders(SYSTEM, {}, None, 1000))
    form = _form(page.text, action="draft", remarks="加急")
    del form["requested_delivery_date"]

    r = client.post("/orders/new", data=form)

    assert r.status_code == 422
    assert "请选择要求交货日期" in r.text and 'aria-invalid="true"' in r.text and "加急" in r.text
    assert len(crm.orders.list_orders(SYSTEM, {}, None, 1000)) == before


def test_a_saved_draft_is_submitted_from_its_page_and_a_stale_version_shows_the_current_state(browser):
    client = browser("dealer32")
    page = client.get(f"/orders/new?template={TANKER}")
    draft = client.post("/orders/new", data=_form(page.text, action="draft"), follow_redirects=False)
    order_page = client.get(draft.headers["location"])
    version = re.search(r'name="version" value="(\d+)"', order_page.text).group(1)
    token = csrf_token(order_page.text)

    stale = client.post(f"{draft.headers['location']}/submit", data={"_csrf_token": token, "version": "999"})
    submitted = client.post(f"{draft.headers['location']}/submit", data={"_csrf_token": token, "version": version},
                            follow_redirects=False)

    assert "订单填报" in order_page.text
    assert stale.status_code == 409 and "已被他人修改" in stale.text and "订单填报" in stale.text
    assert submitted.status_code == 303
    assert "已提交待评审" in client.get(draft.headers["location"]).text
