"""系统管理 in the web UI with Litestar's test client on the demo data: users and roles (filters,
create, role and regions, deactivate and reactivate, staff badges) and the kiosks' device keys
with each kiosk's last reported status."""

from __future__ import annotations

import datetime as dt
import html
import io
import re

import openpyxl
import pytest

from dealercrm.domain.identity import Principal

from .conftest import NOW, csrf_token

pytestmark = pytest.mark.slow
SYSTEM = Principal.system()


def _user_id(crm, username):
    (row,) = [r for r in crm.identity.list_users(SYSTEM, None, 1000) if r["username"] == username]
    return row["id"]


def _post(client, page_url, url, data):
    page = client.get(page_url)
    return client.post(url, data={"_csrf_token": csrf_token(page.text), **data}, follow_redirects=False)


def test_the_user_list_filters_by_role_status_and_name(browser, crm):
    admin = browser("admin")
    admin_link = f'href="/admin/users/{_user_id(crm, "admin")}"'

    guards = admin.get("/admin/users?role=guard")
    by_name = admin.get("/admin/users?q=admi")

    assert guards.status_code == 200
    assert "门卫" in guards.text and admin_link not in guards.text
    assert by_name.status_code == 200 and admin_link in by_name.text


def test_an_unknown_role_filter_is_shown_beside_the_field_not_a_500(browser):
    page = browser("admin").get("/admin/users?role=pilot&q=x")

    assert page.status_code == 422
    assert "请选择列表中的角色" in page.text and 'value="x"' in page.text


def test_an_admin_creates_a_user_who_can_then_sign_in(browser, crm):
    admin = browser("admin")

    r = _post(admin, "/admin/users/new", "/admin/users", {
        "username": "zhangwei", "display_name": "张伟", "role": "finance", "password": "Finance2026ok",
        "regions": "华东，华北"})

    assert r.status_code == 303 and "done=created" in r.headers["location"]
    row = crm.identity.user(SYSTEM, _user_id(crm, "zhangwei"))
    assert str(row["role"].value) == "finance" and list(row["regions"]) == ["华东", "华北"]
    assert admin.get(r.headers["location"]).text.count("用户已创建") == 1
    assert crm.identity.login("zhangwei", "Finance2026ok").token


def test_a_taken_username_and_a_weak_password_show_beside_their_fields_with_input_kept(browser):
    admin = browser("admin")

    taken = _post(admin, "/admin/users/new", "/admin/users", {
        "username": "admin", "display_name": "重名", "role": "sales", "password": "Sales2026okay"})
    weak = _post(admin, "/admin/users/new", "/admin/users", {
        "username": "liuyang", "display_name": "刘洋", "role": "sales", "password": "short"})
    bad_dealer = _post(admin, "/admin/users/new", "/admin/users", {
        "username": "liuyang", "display_name": "刘洋", "role": "dealer", "password": "Sales2026okay",
        "dealer_id": "abc"})

    assert taken.status_code == 409 and "用户名已被占用" in taken.text and 'value="重名"' in taken.text
    assert 'id="username-error"' in taken.text
    assert weak.status_code == 422 and 'value="刘洋"' in weak.text and "Sales2026okay" not in weak.text
    assert 'aria-invalid="true"' in weak.text
    assert bad_dealer.status_code == 422 and 'id="dealer_id-error"' in bad_dealer.text


def test_an_admin_changes_a_users_role_and_regions(browser, crm):
    admin = browser("admin")
    user_id = _user_id(crm, "sales_huazhong")

    r = _post(admin, f"/admin/users/{user_id}", f"/admin/users/{user_id}/role",
              {"role": "region_manager", "regions": "华南、西南"})
    bad = _post(admin, f"/admin/users/{user_id}", f"/admin/users/{user_id}/role", {"role": "pilot", "regions": ""})

    assert r.status_code == 303
    row = crm.identity.user(SYSTEM, user_id)
    assert row["role"].value == "region_manager" and list(row["regions"]) == ["华南", "西南"]
    assert bad.status_code == 422 and "未知角色" in bad.text


def test_a_deactivated_user_is_signed_out_at_once_and_can_be_reactivated(browser, crm):
    admin = browser("admin")
    finance = browser("finance")
    user_id = _user_id(crm, "finance")

    off = _post(admin, f"/admin/users/{user_id}", f"/admin/users/{user_id}/deactivate", {})
    after = finance.get("/finance", follow_redirects=False)
    again = _post(admin, f"/admin/users/{user_id}", f"/admin/users/{user_id}/reactivate", {})
    twice = admin.post(f"/admin/users/{user_id}/reactivate",
                       data={"_csrf_token": csrf_token(admin.get(f"/admin/users/{user_id}").text)})

    assert off.status_code == 303 and after.status_code == 303 and "/login" in after.headers["location"]
    assert again.status_code == 303 and crm.identity.user(SYSTEM, user_id)["is_active"]
    assert twice.status_code == 409 and "已被他人修改" in twice.text and "停用账号" in twice.text


def test_an_admin_cannot_deactivate_themself(browser, crm):
    admin = browser("admin")
    user_id = _user_id(crm, "admin")

    r = _post(admin, f"/admin/users/{user_id}", f"/admin/users/{user_id}/deactivate", {})

    assert r.status_code == 422 and "不能停用自己的账号" in r.text
    assert crm.identity.user(SYSTEM, user_id)["is_active"]


def test_an_admin_enrols_and_revokes_a_guards_badge_and_a_guard_badge_needs_the_guard_role(browser, crm):
    admin = browser("admin")
    guard_id, sales_id = _user_id(crm, "guard"), _user_id(crm, "sales_huazhong")

    enrolled = _post(admin, f"/admin/users/{guard_id}", f"/admin/users/{guard_id}/badge",
                     {"badge_uid": "04A1B2C3D4E5F6", "purpose": "guard"})
    shown = admin.get(f"/admin/users/{guard_id}")
    wrong_role = _post(admin, f"/admin/users/{sales_id}", f"/admin/users/{sales_id}/badge",
                       {"badge_uid": "04FFEEDDCCBBAA", "purpose": "guard"})
    taken = _post(admin, f"/admin/users/{sales_id}", f"/admin/users/{sales_id}/badge",
                  {"badge_uid": "04A1B2C3D4E5F6", "purpose": "maintenance"})
    revoked = _post(admin, f"/admin/users/{guard_id}", f"/admin/users/{guard_id}/badge/revoke", {})

    assert enrolled.status_code == 303 and "****E5F6" in shown.text and "04A1B2C3D4E5F6" not in shown.text
    assert wrong_role.status_code == 422 and "只能登记给门卫" in wrong_role.text
    assert 'value="04FFEEDDCCBBAA"' in wrong_role.text
    assert taken.status_code == 409 and "该工牌已登记给" in taken.text
    assert revoked.status_code == 303 and crm.identity.user(SYSTEM, guard_id)["badge_uid"] is None


def test_the_device_page_shows_each_kiosks_last_status_and_how_long_ago(browser, crm, clock):
    issued = crm.identity.issue_device_key(SYSTEM, "一号自助终端", "成品库北门")
    device = crm.identity.authenticate_device(issued.api_key)
    clock.now = NOW - dt.timedelta(minutes=25)
    crm.identity.record_device_status(device, {
        "state": "running", "devices": {"printer": {"state": "ok"}, "reader": {"state": "fault"}},
        "journal": {"pending": 7}, "replay": {"at": (NOW - dt.timedelta(hours=3)).isoformat(), "answered": 4}})
    clock.now = NOW

    page = browser("admin").get("/admin/devices")

    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "一号自助终端" in text and "成品库北门" in text
    assert "25分钟前" in text and "故障：reader" in text and ">7<" in text and "3小时前（4条）" in text


def test_an_admin_issues_a_device_key_shown_once_and_revokes_it(browser, crm):
    admin = browser("admin")

    blank = _post(admin, "/admin/devices", "/admin/devices", {"name": " ", "location": "门岗"})
    issued = _post(admin, "/admin/devices", "/admin/devices", {"name": "二号门岗", "location": "东门"})
    (row,) = [d for d in crm.identity.list_devices(SYSTEM) if d["name"] == "二号门岗"]
    key = re.search(r'id="issued-key">([^<]+)<', issued.text).group(1)
    key_works = crm.identity.authenticate_device(key).device_id == row["id"]
    listed = admin.get("/admin/devices")
    revoked = _post(admin, "/admin/devices", f"/admin/devices/{row['id']}/revoke", {})
    again = _post(admin, "/admin/devices", f"/admin/devices/{row['id']}/revoke", {})

    assert blank.status_code == 422 and "设备名称不能为空" in blank.text and 'value="门岗"' in blank.text
    assert issued.status_code == 200 and 'id="issued-key"' in issued.text and "dk_" in issued.text
    assert key_works
    assert 'id="issued-key"' not in listed.text and key not in listed.text
    assert revoked.status_code == 303
    (after,) = [d for d in crm.identity.list_devices(SYSTEM) if d["id"] == row["id"]]
    assert after["revoked_at"] is not None
    assert again.status_code in (303, 409)


@pytest.mark.parametrize("path", ["/admin/users", "/admin/users/new", "/admin/devices"])
def test_admin_pages_are_forbidden_to_other_roles(browser, path):
    finance = browser("finance")

    page = finance.get(path)

    assert page.status_code == 403 and "无权访问" in page.text


def test_a_missing_user_is_the_404_page(browser):
    page = browser("admin").get("/admin/users/999999")

    assert page.status_code == 404 and "记录不存在" in page.text


def test_a_post_without_the_csrf_token_is_refused(browser, crm):
    user_id = _user_id(crm, "sales_huazhong")

    r = browser("admin").post(f"/admin/users/{user_id}/deactivate", data={})

    assert r.status_code == 403
    assert crm.identity.user(SYSTEM, user_id)["is_active"]


@pytest.mark.parametrize("value", ["x", "0", "999999", "9223372036854775808"])
def test_admin_routes_answer_malformed_ids_and_forms_without_a_500(browser, value):
    admin = browser("admin")
    token = csrf_token(admin.get("/admin/devices").text)
    gets = ["/admin/users/{}", "/admin/users?after={}&role={}&status={}&q={}", "/admin/devices?done={}"]
    posts = ["/admin/users", "/admin/users/{}/role", "/admin/users/{}/deactivate", "/admin/users/{}/reactivate",
             "/admin/users/{}/badge", "/admin/users/{}/badge/revoke", "/admin/devices", "/admin/devices/{}/revoke"]

    answers = [admin.get(p.format(*[value] * 4)).status_code for p in gets]
    answers += [admin.post(p.format(value), data={"_csrf_token": token, "role": value, "regions": value * 3,
                                                  "badge_uid": value, "purpose": value, "name": value,
                                                  "username": value, "password": value, "dealer_id": value,
                                                  "station_id": value}).status_code for p in posts]

    assert all(code < 500 for code in answers), answers


def test_the_user_list_and_the_device_list_export_as_typed_xlsx_and_csv(browser, crm):
    crm.identity.issue_device_key(SYSTEM, "三号终端", "西门")
    admin = browser("admin")

    page = admin.get("/admin/users?role=guard")
    xlsx = admin.get("/admin/users/export?format=xlsx&role=guard")
    csv = admin.get("/admin/devices/export?format=csv")
    bad = admin.get("/admin/users/export?format=pdf")

    assert 'href="/admin/users/export?format=xlsx&role=guard"' in page.text
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    header, *rows = list(sheet.values)
    assert header[:3] == ("用户名", "姓名", "角色") and rows and all(r[2] == "门卫" for r in rows)
    assert isinstance(rows[0][8], dt.datetime)
    assert csv.status_code == 200 and "三号终端" in csv.content.decode("utf-8-sig")
    assert bad.status_code == 422
