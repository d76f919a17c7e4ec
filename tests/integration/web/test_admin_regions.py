"""大区 in the web UI and the API, with Litestar's test client on the demo data: the seven seeded
regions listed, a region added once per form and offered on the registration form, a used region
that cannot be deactivated (error beside the field), a stale form shown as 已被他人修改, and the
API's 422 naming the field and 409 with the current region."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest

from litestar.testing import TestClient

from dealercrm.adapters.memory import SEED_REGIONS
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.demo import DEMO_PASSWORD

from .conftest import csrf_token

pytestmark = pytest.mark.slow
SEVEN = [name for _, name, _ in SEED_REGIONS]


def _form(client, url):
    page = client.get(url)
    token = re.search(r'name="form_token" value="([0-9a-f]+)"', page.text)
    return {"_csrf_token": csrf_token(page.text), **({"form_token": token.group(1)} if token else {})}


def _bearer(client, username):
    r = client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_admins_add_a_region_once_that_forms_then_offer_and_deactivate_it(browser):
    admin = browser("admin")
    listed = admin.get("/admin/regions")
    form = {**_form(admin, "/admin/regions"), "code": "hkmo", "name": "港澳", "sort_order": "80",
            "provinces": "香港、澳门"}

    first = admin.post("/admin/regions", data=form, follow_redirects=False)
    again = admin.post("/admin/regions", data=form, follow_redirects=False)
    offered = browser().get("/register").text
    region_url = first.headers["location"].split("?")[0]
    off = admin.post(f"{region_url}/deactivate", data={**_form(admin, region_url), "version": "1"},
                     follow_redirects=False)

    assert listed.status_code == 200 and all(name in listed.text for name in SEVEN)
    assert first.status_code == 303 and again.headers["location"] == first.headers["location"]
    assert admin.get("/admin/regions").text.count(">港澳</a>") == 1
    assert '<option value="港澳"' in offered and '<option value="华中"' in offered
    assert off.status_code == 303 and "已停用" in admin.get(region_url).text
    assert '<option value="港澳"' not in browser().get("/register").text
    header, *rows = list(openpyxl.load_workbook(io.BytesIO(admin.get("/admin/regions/export?format=xlsx").content))
                         .active.values)
    assert header[:3] == ("排序", "编码", "名称") and len(rows) == 8 and rows[0][:3] == (10, "north", "华北")
    assert rows[-1][2:5] == ("港澳", "香港、澳门", "已停用")


def test_a_bad_or_taken_value_sits_beside_its_field_with_the_input_kept(browser):
    admin = browser("admin")

    bad = admin.post("/admin/regions", data={**_form(admin, "/admin/regions"), "code": "BAD CODE", "name": "港澳",
                                             "sort_order": "80", "provinces": ""})
    taken = admin.post("/admin/regions", data={**_form(admin, "/admin/regions"), "code": "central2", "name": "华中",
                                               "sort_order": "80", "provinces": ""})
    province = admin.post("/admin/regions", data={**_form(admin, "/admin/regions"), "code": "north2", "name": "京津",
                                                  "sort_order": "80", "provinces": "北京"})

    assert bad.status_code == 422 and "编码须为" in bad.text and 'value="港澳"' in bad.text
    assert taken.status_code == 409 and "已有名为华中的大区" in taken.text
    assert province.status_code == 422 and "北京已属于大区华北" in province.text


def test_a_used_region_stays_active_and_a_stale_form_shows_the_current_state(browser, crm):
    admin = browser("admin")
    central = next(r for r in crm.regions.list_regions(Principal.system()) if r["name"] == "华中")
    url = f"/admin/regions/{central['id']}"

    refused = admin.post(f"{url}/deactivate", data={**_form(admin, url), "version": str(central["version"])})
    saved = admin.post(url, data={**_form(admin, url), "name": "华中", "sort_order": "41",
                                  "provinces": "河南、湖北、湖南", "version": str(central["version"])},
                       follow_redirects=False)
    stale = admin.post(url, data={**_form(admin, url), "name": "华中", "sort_order": "42",
                                  "provinces": "河南", "version": str(central["version"])})

    assert refused.status_code == 409 and "不能停用" in refused.text and 'class="field-error"' in refused.text
    assert saved.status_code == 303
    assert stale.status_code == 409 and "已被他人修改" in stale.text and 'value="41"' in stale.text


def test_the_api_lists_regions_to_staff_and_lets_admins_change_them(app):
    client = TestClient(app, raise_server_exceptions=False)
    admin, sales, dealer = (_bearer(client, u) for u in ("admin", "sales_huazhong", "dealer01"))

    listed = client.get("/api/v1/regions?active_only=true", headers=sales)
    forbidden = client.get("/api/v1/regions", headers=dealer)
    not_admin = client.post("/api/v1/regions", headers=sales, json={"code": "hkmo", "name": "港澳"})
    created = client.post("/api/v1/regions", headers=admin, json={"code": "hkmo", "name": "港澳",
                                                                   "provinces": ["香港"], "sort_order": 80})
    bad = client.post("/api/v1/regions", headers=admin, json={"code": "macau", "name": "港澳以外的很长名字"})
    rid = created.json()["id"]
    changed = client.patch(f"/api/v1/regions/{rid}", headers=admin, json={"version": 1, "provinces": ["香港", "澳门"]})
    stale = client.patch(f"/api/v1/regions/{rid}", headers=admin, json={"version": 1, "active": False})
    used = next(r for r in listed.json()["items"] if r["name"] == "华中")
    in_use = client.patch(f"/api/v1/regions/{used['id']}", headers=admin, json={"version": used["version"],
                                                                              "active": False})

    assert listed.status_code == 200 and [r["name"] for r in listed.json()["items"]] == SEVEN
    assert forbidden.status_code == 403 and not_admin.status_code == 403
    assert created.status_code == 201 and created.json()["active"] is True
    assert bad.status_code == 422 and "name" in bad.text
    assert changed.status_code == 200 and changed.json()["provinces"] == ["香港", "澳门"] and changed.json()["version"] == 2
    assert stale.status_code == 409 and stale.json()["current"]["version"] == 2
    assert in_use.status_code == 409 and in_use.json()["code"] == "region.in_use"
