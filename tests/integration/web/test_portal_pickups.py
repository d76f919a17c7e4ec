"""提货委托 in the dealer portal with Litestar's test client on the demo data: the dealer names the
collector of vehicles in factory stock, sees it masked, revokes it; bad input stays in the form
with the error beside the field; another dealer's authorization is the 404 page."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from .conftest import csrf_token

pytestmark = pytest.mark.slow
PERSON = {"person_name": "李提车", "id_number": "11010519491231002X", "phone": "13912345678",
          "valid_from": "2026-12-07T09:00", "valid_to": "2026-12-10T18:00"}


def _stock(crm, n: int = 2) -> tuple[str, list[str], str]:
    """A dealer login with ``n`` vehicles of one contract in factory stock."""
    with crm.engine.connect() as conn:
        dealer_id, contract_no = conn.execute(sa.text(
            "select dealer_id, contract_no from vehicles where state = 'in_factory_stock' "
            "group by dealer_id, contract_no having count(*) >= :n order by dealer_id"), {"n": n}).first()
        vins = list(conn.execute(sa.text(
            "select vin from vehicles where state = 'in_factory_stock' and contract_no = :c order by vin limit :n"),
            {"c": contract_no, "n": n}).scalars())
        username = conn.execute(sa.text("select min(username) from users where dealer_id = :d and role = 'dealer'"),
                                {"d": dealer_id}).scalar_one()
    return username, vins, contract_no


def test_the_dealer_names_a_collector_sees_it_masked_and_revokes_it(browser, crm):
    username, vins, contract_no = _stock(crm)
    client = browser(username)

    form = client.get("/pickups/new")
    created = client.post("/pickups/", data={"_csrf_token": csrf_token(form.text), "vins": vins, **PERSON},
                          follow_redirects=False)
    detail = client.get(created.headers["location"])
    listing = client.get("/pickups/")
    auth_id = int(re.search(r"/pickups/(\d+)", created.headers["location"]).group(1))
    revoked = client.post(f"/pickups/{auth_id}/revoke", data={"_csrf_token": csrf_token(detail.text),
                                                              "reason": "提车人更换"}, follow_redirects=False)
    again = client.post(f"/pickups/{auth_id}/revoke", data={"_csrf_token": csrf_token(detail.text),
                                                            "reason": "再次撤销"})

    assert form.status_code == 200 and all(v in form.text for v in vins)
    assert created.status_code == 303
    assert detail.status_code == 200 and "提货委托已登记" in detail.text
    assert contract_no in detail.text and "李提车" in detail.text and "11010519491231002X" not in detail.text
    assert all(v in detail.text for v in vins)
    assert "李提车" in listing.text
    assert revoked.status_code == 303 and "已撤销" in client.get(revoked.headers["location"]).text
    assert again.status_code == 409


def test_bad_input_stays_in_the_form_with_the_error_beside_the_field(browser, crm):
    username, vins, _ = _stock(crm, 1)
    client = browser(username)
    token = csrf_token(client.get("/pickups/new").text)

    nothing = client.post("/pickups/", data={"_csrf_token": token, **PERSON})
    bad_id = client.post("/pickups/", data={"_csrf_token": token, "vins": vins, **{**PERSON, "id_number": "123"}})
    foreign = client.post("/pickups/", data={"_csrf_token": token, "vins": ["LZZ1CLVB0PA999999"], **PERSON})

    assert nothing.status_code == 422 and 'id="vins-error"' in nothing.text and "李提车" in nothing.text
    assert bad_id.status_code == 422 and 'id="id_number-error"' in bad_id.text
    assert 'value="123"' in bad_id.text and f'value="{vins[0]}" id="vin-{vins[0]}" checked' in bad_id.text
    assert foreign.status_code == 422 and "不在可提车的成品库存中" in foreign.text


def test_another_dealers_authorization_is_the_404_page_and_staff_are_refused(browser, crm):
    with crm.engine.connect() as conn:
        auth_id, dealer_id = conn.execute(sa.text(
            "select id, dealer_id from pickup_authorizations order by id")).first()
        other = conn.execute(sa.text("select min(username) from users where role = 'dealer' and dealer_id != :d"),
                             {"d": dealer_id}).scalar_one()

    assert browser(other).get(f"/pickups/{auth_id}").status_code == 404
    assert browser("finance").get("/pickups/").status_code in (403, 404)
