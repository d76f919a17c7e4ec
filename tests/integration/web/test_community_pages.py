"""互动社区 pages with Litestar's test client on the demo data: the list with topic filter and
Chinese search, asking with errors beside the fields, answering, a locked post, hidden posts for
staff only, and a dealer refused moderation."""

from __future__ import annotations

import re

import pytest

from .conftest import csrf_token

pytestmark = pytest.mark.slow


def test_the_demo_community_is_searchable_by_topic_and_chinese_words(browser):
    client = browser("dealer09")

    listing = client.get("/community")
    found = client.get("/community?q=阀座")
    by_topic = client.get("/community?topic=dump_truck")
    bad_topic = client.get("/community?topic=nonsense")

    assert listing.status_code == 200 and "罐车呼吸阀漏油" in listing.text and "已解决" in listing.text
    assert "罐车呼吸阀漏油" in found.text and "自卸车举升缓慢" not in found.text
    assert "自卸车举升缓慢" in by_topic.text and "罐车呼吸阀漏油" not in by_topic.text
    assert bad_topic.status_code == 422 and "请选择话题" in bad_topic.text


def test_asking_keeps_what_was_typed_and_answers_appear_on_the_post(browser, crm):
    client = browser("dealer05")
    html = client.get("/community/ask").text

    missing = client.post("/community/ask", data={"_csrf_token": csrf_token(html), "kind": "question",
                                                  "topic": "", "title": "取力器异响", "body": "挂挡时有异响"},
                          follow_redirects=False)
    asked = client.post("/community/ask", data={"_csrf_token": csrf_token(html), "kind": "question",
                                                "topic": "fault_hydraulic", "title": "取力器异响", "body": "挂挡时有异响"},
                        follow_redirects=False)
    post_page = client.get(asked.headers["location"])
    empty = client.post(asked.headers["location"] + "/answers",
                        data={"_csrf_token": csrf_token(post_page.text), "body": "  "}, follow_redirects=False)
    staff = browser("technical")
    staff_html = staff.get(asked.headers["location"]).text
    answered = staff.post(asked.headers["location"] + "/answers",
                          data={"_csrf_token": csrf_token(staff_html), "body": "检查取力器齿轮啮合间隙"},
                          follow_redirects=False)

    assert missing.status_code == 422 and 'id="a-topic-error"' in missing.text and "取力器异响" in missing.text
    assert asked.status_code == 303
    assert empty.status_code == 422 and 'id="ans-body-error"' in empty.text
    assert answered.status_code == 303
    assert "检查取力器齿轮啮合间隙" in client.get(asked.headers["location"]).text


def test_a_dealer_cannot_moderate_and_a_locked_or_hidden_post_behaves_as_such(browser):
    dealer, staff = browser("dealer05"), browser("technical")
    listing = dealer.get("/community?topic=semi_trailer").text
    url = re.search(r'href="(/community/\d+)"', listing).group(1)
    html = dealer.get(url).text

    refused = dealer.post(url + "/moderation", data={"_csrf_token": csrf_token(html), "action": "hide"},
                          follow_redirects=False)
    staff_html = staff.get(url).text
    locked = staff.post(url + "/moderation", data={"_csrf_token": csrf_token(staff_html), "action": "lock"},
                        follow_redirects=False)
    hidden = staff.post(url + "/moderation", data={"_csrf_token": csrf_token(staff_html), "action": "hide"},
                        follow_redirects=False)

    assert refused.status_code == 403 and "仅厂家工作人员" in refused.text
    assert 'id="moderation"' not in html
    assert (locked.status_code, hidden.status_code) == (303, 303)
    assert dealer.get(url).status_code == 404
    staff_view = staff.get(url).text
    assert "帖子已锁定，不能再回答" in staff_view and "已隐藏" in staff_view
