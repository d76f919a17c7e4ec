"""终端客户 and 维修合同 in the web UI on the demo data (issue 18 §4): the customer 360 view with
its vehicles, contracts, requests and the 超期预警; a contract signed through the form (bad dates
beside the field); a dealer's own customers only (another's is 404); the request page's flag."""

from __future__ import annotations

import sqlalchemy as sa
import pytest

from dealercrm.domain.identity import Principal, Role

from .conftest import csrf_token
from .test_aftersales_pages import _png

pytestmark = pytest.mark.slow
ADMIN = Principal(1, "admin", Role.ADMIN)


def _customer(crm, name: str) -> dict:
    return next(c for c in crm.customers.list_customers(ADMIN, limit=100) if c["name"] == name)


def view_vin(crm, customer: dict) -> str:
    return crm.customers.customer_360(ADMIN, customer["id"]).vehicles[0]["vin"]


def test_the_customer_360_view_shows_vehicles_contracts_requests_and_the_overdue_warning(browser, crm):
    client = browser("aftersales")
    covered, lapsed = _customer(crm, "河南中原石化物流有限公司"), _customer(crm, "郑州通达危险品运输有限公司")

    listing = client.get("/customers/?q=中原石化")
    view = client.get(f"/customers/{covered['id']}")
    overdue = client.get(f"/customers/{lapsed['id']}")

    assert listing.status_code == 200 and covered["number"] in listing.text and lapsed["number"] not in listing.text
    assert view.status_code == 200
    assert "HZ5320GYYE6" in view.text and "制动系统、液压系统、罐体" in view.text and "有效" in view.text
    assert view.text.count('href="/aftersales/requests/') >= 2 and "超期预警" not in view.text
    assert overdue.status_code == 200 and "超期预警" in overdue.text and "且无有效维修合同" in overdue.text
    assert "已到期" in overdue.text

    with crm.engine.connect() as conn:
        unowned = conn.execute(sa.text(
            "select min(vin) from vehicles where vin not in (select vin from customer_vehicles)")).scalar_one()
    token = csrf_token(overdue.text)
    taken = client.post(f"/customers/{lapsed['id']}/vehicles", data={"_csrf_token": token, "vin": view_vin(crm, covered)})
    future = client.post(f"/customers/{lapsed['id']}/vehicles", data={"_csrf_token": token, "vin": unowned,
                                                                       "since": "2027-01-01"})
    added = client.post(f"/customers/{lapsed['id']}/vehicles", data={"_csrf_token": token, "vin": unowned,
                                                                      "since": "2026-11-02"}, follow_redirects=False)
    assert taken.status_code == 409 and "该车辆已登记在其他客户名下" in taken.text
    assert future.status_code == 422 and "购车日期不能晚于今天" in future.text
    assert added.status_code == 303 and unowned in client.get(f"/customers/{lapsed['id']}").text
    assert covered["number"] in client.get("/customers/?q=中原物流").text  # jieba: 中原 + 物流

    form_page = client.get(f"/customers/{lapsed['id']}/edit")
    form = {"_csrf_token": csrf_token(form_page.text), "name": lapsed["name"], "phone": lapsed["phone"],
            "kind": "company", "province": lapsed["province"] or "", "city": lapsed["city"] or "",
            "address": "经开区第九大街88号", "note": "", "version": str(lapsed["version"])}
    bad = client.post(f"/customers/{lapsed['id']}/edit", data={**form, "phone": "12"}, follow_redirects=False)
    saved = client.post(f"/customers/{lapsed['id']}/edit", data=form, follow_redirects=False)
    stale = client.post(f"/customers/{lapsed['id']}/edit", data=form, follow_redirects=False)
    assert form_page.status_code == 200 and "修改客户档案" in form_page.text and lapsed["name"] in form_page.text
    assert bad.status_code == 422 and "电话号码格式不正确" in bad.text
    assert saved.status_code == 303 and "经开区第九大街88号" in client.get(f"/customers/{lapsed['id']}").text
    assert stale.status_code == 409 and "已被他人修改" in stale.text


def test_a_contract_signed_through_the_form_refuses_bad_dates_beside_the_field_then_shows(browser, crm):
    client = browser("aftersales")
    customer = _customer(crm, "洛阳城建渣土运输有限公司")
    page = client.get(f"/customers/{customer['id']}")
    vin = crm.customers.customer_360(ADMIN, customer["id"]).vehicles[0]["vin"]
    form = {"_csrf_token": csrf_token(page.text), "vin": vin, "starts_on": "2026-12-01", "ends_on": "2026-11-30",
            "price_yuan": "3800.50", "km_limit": "", "terms": "液压系统保养：每季度一次", "coverage": ["hydraulic"]}

    bad = client.post(f"/customers/{customer['id']}/contracts", data=form, follow_redirects=False)
    good = client.post(f"/customers/{customer['id']}/contracts", data={**form, "ends_on": "2027-11-30"},
                       follow_redirects=False)

    assert bad.status_code == 422 and "合同到期日不能早于生效日" in bad.text and 'id="c-ends_on"' in bad.text
    assert good.status_code == 303
    after = client.get(f"/customers/{customer['id']}")
    assert "液压系统保养：每季度一次" in after.text and "3,800.50" in after.text
    contracts = client.get("/service-contracts/?status=active")
    assert contracts.status_code == 200 and "洛阳城建渣土运输有限公司" in contracts.text

    signed = max(c["id"] for c in crm.customers.customer_360(ADMIN, customer["id"]).contracts)
    cancel = f"/customers/{customer['id']}/contracts/{signed}/cancel"
    no_reason = client.post(cancel, data={"_csrf_token": form["_csrf_token"], "reason": " "})
    cancelled = client.post(cancel, data={"_csrf_token": form["_csrf_token"], "reason": "客户退车"}, follow_redirects=False)
    twice = client.post(cancel, data={"_csrf_token": form["_csrf_token"], "reason": "客户退车"})
    assert no_reason.status_code == 422 and "field-error" in no_reason.text
    assert cancelled.status_code == 303 and twice.status_code == 409
    assert next(c for c in crm.customers.customer_360(ADMIN, customer["id"]).contracts
                if c["id"] == signed)["status"] == "cancelled"


def test_a_dealer_sees_its_own_customers_and_another_dealers_customer_is_404(browser, crm):
    with crm.engine.connect() as conn:
        dealer_id = conn.execute(sa.text("select dealer_id from users where username = 'dealer01'")).scalar()
    rows = crm.customers.list_customers(ADMIN, limit=100)
    foreign = next(c for c in rows if c["dealer_id"] != dealer_id)
    client = browser("dealer01")
    page = client.get("/customers/new")

    listing = client.get("/customers/")
    other = client.get(f"/customers/{foreign['id']}")
    bad_phone = client.post("/customers/", data={"_csrf_token": csrf_token(page.text), "name": "周师傅",
                                                 "phone": "123", "kind": "person"}, follow_redirects=False)
    created = client.post("/customers/", data={"_csrf_token": csrf_token(page.text), "name": "周师傅",
                                               "phone": "13611112222", "kind": "person", "city": "郑州市"},
                          follow_redirects=False)

    assert listing.status_code == 200 and foreign["number"] not in listing.text
    assert other.status_code == 404
    assert bad_phone.status_code == 422 and 'id="phone"' in bad_phone.text and 'aria-invalid="true"' in bad_phone.text
    assert created.status_code == 303
    mine = client.get(created.headers["location"])
    assert mine.status_code == 200 and "周师傅" in mine.text and "签订维修合同" not in mine.text


def test_the_request_page_flags_a_fault_the_vehicles_contract_does_not_cover(browser, crm):
    client = browser("aftersales")
    flagged = next(r for r in crm.aftersales.list_requests(ADMIN, limit=100) if r["contract_state"] == "not_covered")

    page = client.get(f"/aftersales/requests/{flagged['id']}")

    assert page.status_code == 200 and "维修合同" in page.text and "不含“液压系统”故障" in page.text


def test_the_parts_catalog_shows_a_models_parts_with_quantities_prices_and_substitutes(browser):
    client = browser("station_jn")

    everything = client.get("/parts-catalog/")
    model = client.get("/parts-catalog/?model_code=HZ5180GSSE6")
    bad = client.get("/parts-catalog/?model_code=罐车")

    assert everything.status_code == 200 and "FV-2301A" in everything.text and "改进型阀芯" in everything.text
    assert model.status_code == 200 and "每车装配数量" in model.text and "HC-1180" not in model.text
    assert "人孔盖密封圈" in model.text and "¥20.00" in model.text and "HZ5180GSSE6（4 种 8 件）" in model.text
    assert bad.status_code == 422 and "车型编码" in bad.text

    staff = browser("aftersales")  # 配件图片: after-sales uploads on the part's page, every reader sees it
    part_page = staff.get("/parts-catalog/parts/FV-2301")
    files = {"file": ("valve.png", _png(), "image/png")}
    uploaded = staff.post("/parts-catalog/parts/FV-2301/pictures", files=files,
                          data={"_csrf_token": csrf_token(part_page.text), "caption": "阀体正面"}, follow_redirects=False)
    video = staff.post("/parts-catalog/parts/FV-2301/pictures", data={"_csrf_token": csrf_token(part_page.text)},
                       files={"file": ("v.mp4", b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(100),
                                       "video/mp4")}, follow_redirects=False)
    seen = client.get("/parts-catalog/parts/FV-2301")
    thumb = seen.text.split('src="/parts-catalog/pictures/')[1].split('"')[0]
    assert part_page.status_code == 200 and "配件图片" in part_page.text and 'href="/parts-catalog/parts/FV-2301"' in everything.text
    assert uploaded.status_code == 303 and video.status_code == 422 and "只能是照片" in video.text
    assert seen.status_code == 200 and "阀体正面" in seen.text and "/parts-catalog/parts/FV-2301/pictures" not in seen.text
    assert client.get(f"/parts-catalog/pictures/{thumb}").headers["content-type"] == "image/jpeg"
    original = client.get(f"/parts-catalog/pictures/{thumb.split('/')[0]}")
    assert original.status_code == 200 and original.headers["content-type"] == "image/png"
