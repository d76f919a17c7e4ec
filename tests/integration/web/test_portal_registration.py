"""The public dealer registration (no login), the applicant's status page, and the regional
manager's 我的经销商 and approval, with Litestar's test client on the demo data."""

from __future__ import annotations

import re

import pytest

from dealercrm.application import channel as ch
from dealercrm.domain.errors import NotFound
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import Uscc

from .conftest import csrf_token

pytestmark = pytest.mark.slow
SYSTEM = Principal.system()


def uscc(seed: str = "320100MA1XK9P7") -> str:
    body = "91" + seed + "0"
    return body + Uscc.check_char(body)


def form(page_html: str, **changes: str) -> dict[str, str]:
    values = {"legal_name": "南京通达专用车销售有限公司", "short_name": "南京通达", "uscc": uscc(), "region": "华东",
              "province": "江苏省", "city": "南京市", "address_detail": "江宁区汽车城18号", "contact_name": "周立新",
              "contact_title": "总经理", "contact_phone": "13951001234", "contact_email": "gm@tongda.example.cn",
              "license_no": "320100000123456", "applicant_username": "tongda_nj",
              "applicant_password": "Tongda2026nj", "confirm_password": "Tongda2026nj"}
    return {"_csrf_token": csrf_token(page_html), **values, **changes}


def test_the_registration_form_needs_no_login_and_keeps_the_input_beside_an_error(browser):
    client = browser()
    page = client.get("/register")

    r = client.post("/register", data=form(page.text, uscc="91320100MA1XK9P7X0"), follow_redirects=False)

    assert page.status_code == 200 and "<h1>经销商注册</h1>" in page.text
    assert r.status_code == 422
    assert 'id="uscc-error"' in r.text and 'value="南京通达专用车销售有限公司"' in r.text
    assert 'name="applicant_password" type="password"' in r.text and "Tongda2026nj" not in r.text


def test_a_taken_username_is_shown_beside_the_username(browser):
    client = browser()

    r = client.post("/register", data=form(client.get("/register").text, applicant_username="dealer01"),
                    follow_redirects=False)

    assert r.status_code == 409
    assert re.search(r'id="applicant_username-error">用户名已被占用', r.text)


def test_a_new_dealer_registers_and_the_regional_manager_approves_it(browser, crm):
    applicant = browser()

    r = applicant.post("/register", data=form(applicant.get("/register").text), follow_redirects=False)
    status = applicant.get(r.headers["location"])
    manager = browser("rm_huadong")
    listed = manager.get("/my-dealers?status=under_review")
    review = manager.get("/dealers/registrations")
    dealer_id = int(re.search(r'<tr id="dealer-(\d+)">\s*<td>南京通达', review.text).group(1))
    decided = manager.post(f"/dealers/{dealer_id}/review", data={"_csrf_token": csrf_token(review.text),
                                                                 "decision": "approve"}, follow_redirects=False)

    assert r.status_code == 303 and r.headers["location"] == "/registration?done=1"
    assert "审核中" in status.text and "注册资料已提交" in status.text
    assert "南京通达专用车销售有限公司" in listed.text
    assert decided.status_code == 303
    assert "已准入" in applicant.get("/registration").text
    assert crm.channel.dealer_detail(SYSTEM, dealer_id)["status"].value == "approved"


def test_my_dealers_shows_only_the_managers_regions(browser):
    client = browser("rm_huadong")

    own = client.get("/my-dealers/3")  # 华东
    foreign = client.get("/my-dealers/18")  # 华中
    bad = client.get("/my-dealers?status=nonsense")

    assert own.status_code == 200 and "陈海燕" in own.text
    assert foreign.status_code == 404
    assert bad.status_code == 422 and "未知的经销商状态" in bad.text


def test_a_rejected_applicant_corrects_the_registration_and_submits_it_again(browser, crm):
    client = browser("dealer03")  # rejected (demo)
    before = client.get("/registration")
    edit = client.get("/registration/edit")
    token = csrf_token(edit.text)
    fixed = {"short_name": "新简称", "province": "江苏省", "city": "南京市", "address_detail": "江宁区天元路1号",
             "license_no": "913200001234567", "contact_name": "王五", "contact_title": "总经理",
             "contact_phone": "13912345678", "contact_email": ""}

    bad = client.post("/registration/edit", data={"_csrf_token": token, **fixed, "contact_phone": "123"})
    saved = client.post("/registration/edit", data={"_csrf_token": token, **fixed}, follow_redirects=False)
    status = client.get(saved.headers["location"])
    submitted = client.post("/registration/submit", data={"_csrf_token": token}, follow_redirects=False)
    late = client.post("/registration/edit", data={"_csrf_token": token, **fixed})

    assert 'href="/registration/edit"' in before.text
    assert edit.status_code == 200 and "审核意见" in edit.text
    assert bad.status_code == 422 and 'id="contact_phone-error"' in bad.text and 'value="江宁区天元路1号"' in bad.text
    assert saved.status_code == 303 and "注册资料已保存" in status.text and "提交审核" in status.text
    assert submitted.status_code == 303 and late.status_code == 409
    dealer = crm.channel.dealer_detail(SYSTEM, 3)
    assert dealer["status"].value == "under_review" and dealer["address_detail"] == "江宁区天元路1号"
    assert [c["name"] for c in dealer["contacts"] if c["is_primary"]] == ["王五"]
    assert ("营业执照", "913200001234567") in [(q["kind"], q["number"]) for q in dealer["qualifications"]]


def test_a_registration_under_review_or_approved_cannot_be_edited(browser):
    assert browser("dealer02").get("/registration/edit", follow_redirects=False).status_code == 303
    assert browser("dealer05").get("/registration/edit", follow_redirects=False).status_code == 303


def test_a_correction_whose_contact_half_fails_leaves_the_stored_registration_unchanged(crm):
    dealer03 = Principal(user_id=None, username="dealer03", role=Role.DEALER, dealer_id=3)
    before = crm.channel.dealer_detail(SYSTEM, 3)
    stale_contact = max(c["id"] for c in before["contacts"]) + 1000
    cmd = ch.CorrectRegistration(
        dealer_id=3, short_name="新简称", address=ch.AddressIn("江苏省", "南京市", "江宁区天元路1号"),
        qualifications=(ch.QualificationIn("营业执照", "913200001234567"),),
        contact=ch.ContactIn("王五", "总经理", "13912345678", kind="management"), contact_id=stale_contact)

    with pytest.raises(NotFound):
        crm.channel.correct_registration(dealer03, cmd)

    after = crm.channel.dealer_detail(SYSTEM, 3)
    assert (after["short_name"], after["address_detail"], after["qualifications"], after["contacts"]) == (
        before["short_name"], before["address_detail"], before["qualifications"], before["contacts"])
