"""Demo end customers and service contracts (issue 18 §4): each delivered demo vehicle's owner
as a customer of the dealer that sold it, and three contracts that show the request check — one
in force covering the fault, one expired (its out-of-warranty vehicle then carries the 超期预警),
one in force that does not cover the fault reported later."""

from __future__ import annotations

import datetime as dt

from dealercrm.application.services.customers import ContractIn, CustomerIn
from dealercrm.composition.container import Container
from dealercrm.domain.identity import Principal
from dealercrm.domain.values import SHANGHAI

# the delivered vehicle's index → (starts days after delivery, lasts days before today (negative: ended), coverage, terms, price)
_CONTRACTS = {
    0: (0, 3 * 365, ("tank_body", "brake", "hydraulic"), "罐体、制动及液压系统维修保养：工时费全免，配件按三包价结算", 1_800_000),
    1: (1, -30, ("tank_body", "brake"), "罐体及制动系统延保：工时费全免", 1_200_000),
    2: (0, 365, ("engine",), "发动机保养合同：每5000公里免费保养一次", 600_000),
}


def load_customers_demo(container: Container, staff: Principal,
                        delivered: list[tuple[str, str, str, int | None, dt.date]]) -> list[int]:
    """``delivered``: (VIN, customer, phone, dealer id, delivery day) of the demo's sold vehicles.
    Returns the customers' ids."""
    svc = container.customers
    today = container.clock().astimezone(SHANGHAI).date()
    ids = []
    for i, (vin, name, phone, dealer_id, day) in enumerate(delivered):
        cid = svc.create_customer(staff, CustomerIn(name, phone, "company", dealer_id))
        svc.add_vehicle(staff, cid, vin, day)
        ids.append(cid)
        if i in _CONTRACTS:
            starts_after, lasts, coverage, terms, price = _CONTRACTS[i]
            starts = day + dt.timedelta(days=starts_after)
            ends = today + dt.timedelta(days=lasts) if lasts < 0 else starts + dt.timedelta(days=lasts)
            svc.create_contract(staff, cid, ContractIn(vin, starts, ends, coverage, terms, price))
    return ids
