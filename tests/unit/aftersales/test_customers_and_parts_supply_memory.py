"""The customers and parts-supply use cases on the in-memory unit of work (no database): a
customer opened, edited once per version and owning a vehicle; a repair outside warranty billed
once; a two-step transfer and the one-step one booking the same movements."""

from __future__ import annotations

import datetime as dt

import pytest

from dealercrm.application import aftersales as af
from dealercrm.application.services.customers import CustomerIn, CustomersService
from dealercrm.application.services.parts_supply import PartsSupplyService
from dealercrm.domain.aftersales import MovementKind
from dealercrm.domain.errors import Conflict, NotFound
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import Vin

from .test_aftersales_use_cases import NOW, STAFF, _uscc, clock, uow  # noqa: F401  (the memory unit of work)

DEALER = Principal(3, "dealer", Role.DEALER, dealer_id=9)
VIN = Vin.build("LZZ", "1CSVC", "T", "A", "000888").value


def _station(uow, n: int) -> tuple[int, Principal]:  # noqa: F811
    sid = af.create_station(af.StationIn(f"服务站{n}", _uscc(n), "华中", "河南省", "郑州市", "经开区", "李", "13912345678",
                                         ("tanker",), 8000, "class_2"), uow(STAFF), clock)
    return sid, Principal(100 + sid, f"st{sid}", Role.STATION, station_id=sid)


def test_a_customer_is_opened_edited_once_per_version_and_owns_a_vehicle_without_a_database(uow):  # noqa: F811
    customers = CustomersService(uow, clock, queries=None)  # type: ignore[arg-type]  (reads are not used)
    with uow(STAFF) as u:
        u.aftersales.put_vehicle(VIN, dealer_id=9, product_line="tanker")
        u.commit()

    cid = customers.create_customer(DEALER, CustomerIn("赵师傅", "13700001111"))
    customers.update_customer(DEALER, cid, CustomerIn("河南中原石化物流有限公司", "0371-66881234", "company"), version=1)
    with pytest.raises(Conflict) as stale:
        customers.update_customer(DEALER, cid, CustomerIn("赵师傅", "13700001111"), version=1)
    with pytest.raises(NotFound):
        customers.update_customer(Principal(4, "other", Role.DEALER, dealer_id=8), cid, CustomerIn("某", "13700001111"))
    customers.add_vehicle(DEALER, cid, VIN)

    with uow(STAFF) as u:
        customer = u.customers.customer(cid)
        assert (customer.name, customer.kind.value, customer.version) == ("河南中原石化物流有限公司", "company", 2)
        assert u.customers.owner_of(VIN).customer_id == cid
    assert stale.value.details["current_version"] == 2


def test_a_repair_outside_warranty_is_billed_once_and_transfers_book_the_same_movements(uow):  # noqa: F811
    (a, a_user), (b, b_user) = _station(uow, 1), _station(uow, 2)
    af.put_part(af.PartCatalogIn("SL-0105", "密封圈", 1_250, 2_000), uow(STAFF))
    with uow(STAFF) as u:
        u.aftersales.put_vehicle(VIN, dealer_id=None, product_line="tanker")
        u.commit()
    af.book_stock(af.StockIn(a, "SL-0105", "receipt", 10), uow(a_user), clock)
    req = af.create_request(af.RequestIn(VIN, "钱师傅", "13700002222", "tank_body", "渗漏", "河南省", "郑州市", "园区"),
                            uow(STAFF), clock)
    af.assign_request(req.request_id, a, uow(STAFF), clock)
    af.accept_request(req.request_id, uow(a_user), clock)
    record_id, _ = af.record_repair(req.request_id, af.RepairIn(
        "渗漏", "更换密封圈", "园区", NOW - dt.timedelta(hours=1), NOW, 100, None,
        (af.PartIn("SL-0105", 2, "sale"),)), uow(a_user), clock)
    supply = PartsSupplyService(uow, clock, queries=None, exporter=None)  # type: ignore[arg-type]

    billed = supply.bill_repair(a_user, record_id, "钱师傅")
    with pytest.raises(Conflict):
        supply.bill_repair(a_user, record_id)
    transfer_id, _ = supply.ship_transfer(a_user, a, b, [("SL-0105", 3)])
    received = supply.receive_transfer(b_user, transfer_id)
    left, arrived = af.transfer_stock(a, b, "SL-0105", 1, "急用", uow(STAFF), clock)

    assert billed.kind == "bill" and billed.number.startswith("YC-2026-")
    assert supply.bill_of_record(a_user, record_id)["total_fen"] == 8_000 + 2 * 2_000
    assert received == {"SL-0105": 3} and (left, arrived) == (4, 4)
    with uow(STAFF) as u:
        kinds = [(m.station_id, m.kind) for m in u.aftersales.s.movements if m.kind in (
            MovementKind.TRANSFER_OUT, MovementKind.TRANSFER_IN)]
        assert kinds == [(a, MovementKind.TRANSFER_OUT), (b, MovementKind.TRANSFER_IN)] * 2
        assert [t.state.value for t in u.parts_supply.s.transfers] == ["received", "received"]
