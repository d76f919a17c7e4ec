"""公告管理 in the web UI: marketing publishes an announcement (errors beside the field, input
kept), a dealer reads it from the workbench, marketing sees the read receipt and withdraws it."""

from __future__ import annotations

import re

import pytest

from .conftest import csrf_token

pytestmark = pytest.mark.slow


def _publish(client, **fields):
    page = client.get("/marketing/announcements/new")
    data = {"_csrf_token": csrf_token(page.text), "title": "", "body": "", "category": "notice", "audience": "all",
            "dealer_ids": "", "publish_from": "", "publish_until": "", **fields}
    return client.post("/marketing/announcements", data=data, follow_redirects=False)


def test_marketing_publishes_an_announcement_that_a_dealer_reads_and_the_receipt_shows(browser):
    marketing = browser("marketing")
    dealer = browser("dealer32")

    r = _publish(marketing, title="春季订货会通知", body="三月十五日在总部召开。", audience="roles", roles="dealer")
    link = "/announcements/" + re.search(r"/marketing/announcements/(\d+)", r.headers["location"]).group(1)
    workbench = dealer.get("/")
    read = dealer.post(f"{link}/read", headers={"HX-Request": "true", "X-CSRFToken": csrf_token(dealer.get(link).text)})
    detail = marketing.get(r.headers["location"])
    listed = marketing.get("/marketing/announcements")

    assert r.status_code == 303 and "done=published" in r.headers["location"]
    assert f'href="{link}"' in workbench.text and "春季订货会通知" in workbench.text
    assert read.status_code == 200
    assert "春季订货会通知" in listed.text and "已发布" in listed.text
    assert re.search(r'id="read-count">1<', detail.text) and "dealer32" in detail.text


def test_a_missing_title_and_a_role_audience_without_roles_show_beside_their_fields_with_input_kept(browser):
    marketing = browser("marketing")

    no_title = _publish(marketing, body="正文保留")
    no_roles = _publish(marketing, title="只给角色", body="x", audience="roles")
    bad_time = _publish(marketing, title="定时", body="x", publish_from="明天")
    bad_dealers = _publish(marketing, title="给经销商", body="x", audience="dealers", dealer_ids="abc")

    assert no_title.status_code == 422 and 'id="title-error"' in no_title.text and "正文保留" in no_title.text
    assert no_roles.status_code == 422 and 'id="roles-error"' in no_roles.text and 'value="只给角色"' in no_roles.text
    assert bad_time.status_code == 422 and 'id="publish_from-error"' in bad_time.text
    assert bad_dealers.status_code == 422 and 'id="dealer_ids-error"' in bad_dealers.text


def test_a_withdrawn_announcement_disappears_for_readers_and_a_second_withdrawal_is_stale(browser):
    marketing = browser("marketing")
    r = _publish(marketing, title="临时停电通知", body="周六停电。")
    url = r.headers["location"].split("?")[0]
    token = csrf_token(marketing.get(url).text)

    first = marketing.post(f"{url}/withdraw", data={"_csrf_token": token}, follow_redirects=False)
    second = marketing.post(f"{url}/withdraw", data={"_csrf_token": token})
    workbench = browser("dealer32").get("/")

    assert first.status_code == 303
    assert second.status_code == 409 and "已被他人修改" in second.text and "已撤回" in second.text
    assert "临时停电通知" not in workbench.text


@pytest.mark.parametrize("value", ["x", "999999", "9223372036854775808"])
def test_announcement_admin_routes_answer_malformed_input_without_a_500(browser, value):
    marketing = browser("marketing")
    token = csrf_token(marketing.get("/marketing/announcements/new").text)
    form = {"_csrf_token": token, "title": value, "body": value, "category": value, "audience": value,
            "roles": value, "dealer_ids": value, "publish_from": value, "publish_until": value}

    answers = [marketing.get(f"/marketing/announcements/{value}").status_code,
               marketing.get(f"/marketing/announcements?after={value}").status_code,
               marketing.post("/marketing/announcements", data=form).status_code,
               marketing.post(f"/marketing/announcements/{value}/withdraw", data=form).status_code]

    assert all(code < 500 for code in answers), answers


def test_the_announcement_admin_pages_are_forbidden_to_dealers_and_finance(browser):
    assert browser("dealer32").get("/marketing/announcements").status_code == 403
    assert browser("finance").get("/marketing/announcements/new").status_code == 403
