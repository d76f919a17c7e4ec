"""A confirmed retail sale starts the vehicle's warranty (issue 18 §6), on SQLite and
PostgreSQL: shipped, received into the dealer's stock, sold and paid in full → a warranty record
from the sale date under the product line's policy; an unconfirmed sale starts none, and a
vehicle of a line without a policy is sold and confirmed all the same."""

from __future__ import annotations

from dealercrm.application import aftersales as af
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import beijing_date

from .test_dealer_stock_over_http import _pay, _sale_body, _ship_and_receive

AFTERSALES = Principal(None, "shouhou", Role.AFTER_SALES)


def test_paying_a_sale_in_full_starts_the_warranty_from_the_sale_date(world):
    c, dealer = world.client, world.login("dealer1")
    world.crm.aftersales.put_policy(AFTERSALES, af.PolicyIn("tanker", 24, 200_000))
    v = world.vin(1)
    _ship_and_receive(world, [v])
    sale_id = c.post("/api/v1/retail-sales/", headers=dealer, json=_sale_body(v)).json()["id"]

    _pay(c, dealer, sale_id, "pay-half-0001", amount_fen=19_000_000)
    unconfirmed = world.crm.aftersales.check_warranty(AFTERSALES, v, None)
    _pay(c, dealer, sale_id, "pay-rest-0001", amount_fen=19_000_000)
    confirmed = world.crm.aftersales.check_warranty(AFTERSALES, v, None)

    assert unconfirmed["record"] is None
    record = confirmed["record"]
    sold_on = beijing_date(world.clock())
    assert (record["customer_name"], record["customer_phone"], record["starts_on"]) == ("李强", "13911112222", sold_on)
    assert record["km_limit"] == 200_000 and record["dealer_id"] == world.dealer_a
    assert confirmed["check"].in_warranty


def test_a_sale_of_a_line_without_a_policy_is_confirmed_without_a_warranty(world):
    c, dealer = world.client, world.login("dealer1")
    v = world.vin(2)
    _ship_and_receive(world, [v])
    sale_id = c.post("/api/v1/retail-sales/", headers=dealer, json=_sale_body(v)).json()["id"]

    paid = _pay(c, dealer, sale_id, "pay-full-0002", amount_fen=38_000_000)

    assert paid.json()["status"] == "confirmed"
    assert world.crm.aftersales.check_warranty(AFTERSALES, v, None)["record"] is None
