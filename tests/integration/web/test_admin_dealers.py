"""经销商与协议 for the administrators: the dealer list, a dealer's agreements and territory, signing
and terminating an agreement (errors beside the field, an overlap beside the window, a repeated
termination as 已被他人修改)."""

from __future__ import annotations

import re

import pytest

from dealercrm.domain.identity import Principal

from .conftest import csrf_token

pytestmark = pytest.mark.slow
SYSTEM = Principal.system()


def _dealer_with_agreement(crm):
    for row in crm.channel.list_dealers(SYSTEM, status="approved", limit=100):
        detail = crm.channel.dealer_detail(SYSTEM, row["id"])
        if any(str(getattr(a["status"], "value", a["status"])) == "active" for a in detail["agreements"]):
            return detail
    raise LookupError("the demo has no active dealer with an active agreement")


def _post(client, dealer_id, path, data):
    page = client.get(f"/admin/dealers/{dealer_id}")
    return client.post(f"/admin/dealers/{dealer_id}{path}", data={"_csrf_token": csrf_token(page.text), **data},
                       follow_redirects=False)


def test_the_dealer_list_filters_and_links_each_dealer_to_its_agreements(browser, crm):
    d = _dealer_with_agreement(crm)
    admin = browser("admin")

    listed = admin.get("/admin/dealers", params={"region": d["region"]})
    detail = admin.get(f"/admin/dealers/{d['id']}")
    bad = admin.get("/admin/dealers?status=flying")

    assert listed.status_code == 200 and f'href="/admin/dealers/{d["id"]}"' in listed.text
    assert detail.status_code == 200 and d["agreements"][0]["number"] in detail.text and "终止" in detail.text
    assert bad.status_code == 422 and "请选择列表中的状态" in bad.text


def test_an_admin_signs_an_agreement_and_an_overlap_shows_beside_the_window(browser, crm):
    d = _dealer_with_agreement(crm)
    admin = browser("admin")
    taken = {p for a in d["agreements"] for p in a["product_lines"]}
    free = [p for p in ("tanker", "dump_truck", "semi_trailer") if p not in taken]
    active = next(a for a in d["agreements"] if str(getattr(a["status"], "value", a["status"])) == "active")

    overlap = _post(admin, d["id"], "/agreements", {
        "product_lines": active["product_lines"][0], "territory": d["region"], "settlement_method": "credit",
        "valid_from": str(active["valid_from"]), "valid_to": str(active["valid_to"])})
    inverted = _post(admin, d["id"], "/agreements", {
        "product_lines": "tanker", "territory": "华东", "settlement_method": "credit",
        "valid_from": "2027-06-01", "valid_to": "2027-01-01"})
    no_day = _post(admin, d["id"], "/agreements", {"product_lines": "tanker", "territory": "华东",
                                                   "settlement_method": "credit", "valid_from": "昨天", "valid_to": ""})

    assert overlap.status_code == 409 and 'id="valid_from-error"' in overlap.text and "重叠" in overlap.text
    assert inverted.status_code == 422 and 'id="valid_to-error"' in inverted.text
    assert 'value="2027-06-01"' in inverted.text
    assert no_day.status_code == 422 and 'id="valid_from-error"' in no_day.text
    if free:
        signed = _post(admin, d["id"], "/agreements", {
            "product_lines": free[0], "territory": d["region"], "settlement_method": "prepayment",
            "valid_from": "2027-01-01", "valid_to": "2027-12-31"})
        assert signed.status_code == 303
        after = crm.channel.dealer_detail(SYSTEM, d["id"])["agreements"]
        assert len(after) == len(d["agreements"]) + 1


def test_an_admin_terminates_an_agreement_and_a_second_termination_is_shown_as_stale(browser, crm):
    d = _dealer_with_agreement(crm)
    admin = browser("admin")
    active = next(a for a in d["agreements"] if str(getattr(a["status"], "value", a["status"])) == "active")

    first = _post(admin, d["id"], f"/agreements/{active['id']}/terminate", {})
    second = _post(admin, d["id"], f"/agreements/{active['id']}/terminate", {})

    assert first.status_code == 303
    assert second.status_code == 409 and "已被他人修改" in second.text


def test_an_admin_sets_the_territory_and_a_blank_region_is_refused_beside_the_field(browser, crm):
    d = _dealer_with_agreement(crm)
    admin = browser("admin")

    saved = _post(admin, d["id"], "/territory", {"regions": "华东，华中", "industries": "危化品运输"})
    blank = _post(admin, d["id"], "/territory", {"regions": "", "industries": "x" * 41})

    assert saved.status_code == 303
    assert crm.channel.dealer_detail(SYSTEM, d["id"])["territory_regions"] == ["华东", "华中"]
    assert blank.status_code == 422 and re.search(r'id="(regions|industries)-error"', blank.text)


@pytest.mark.parametrize("value", ["x", "999999", "9223372036854775808"])
def test_dealer_admin_routes_answer_malformed_ids_and_forms_without_a_500(browser, value):
    admin = browser("admin")
    token = csrf_token(admin.get("/admin/dealers").text)
    form = {"_csrf_token": token, "product_lines": value, "territory": value, "settlement_method": value,
            "valid_from": value, "valid_to": value, "regions": value, "industries": value}

    answers = [admin.get(f"/admin/dealers/{value}").status_code,
               admin.get(f"/admin/dealers?after={value}&status={value}").status_code,
               admin.post(f"/admin/dealers/{value}/agreements", data=form).status_code,
               admin.post(f"/admin/dealers/{value}/agreements/{value}/terminate", data=form).status_code,
               admin.post(f"/admin/dealers/{value}/territory", data=form).status_code]

    assert all(code < 500 for code in answers), answers


def test_the_dealer_admin_pages_are_forbidden_to_sales_and_dealers(browser):
    assert browser("sales_huazhong").get("/admin/dealers").status_code == 403
    assert browser("dealer32").get("/admin/dealers").status_code == 403
