"""After-sales use cases on the in-memory unit of work (no database): dispatch and refusal,
station isolation, a repair that consumes stock (all or nothing) and a claim approved through
the two-stage workflow."""

from __future__ import annotations

import datetime as dt

import pytest

from dealercrm.adapters.memory import memory_uow_factory
from dealercrm.application import aftersales as af
from dealercrm.application.workflow import WorkflowHandlers
from dealercrm.domain.errors import Conflict, NotFound
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.service_network import GeoPoint
from dealercrm.domain.values import Uscc, Vin

NOW = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)
STAFF = Principal(1, "shouhou", Role.AFTER_SALES)
FINANCE = Principal(2, "caiwu", Role.FINANCE)
VIN = Vin.build("LZZ", "1CSVC", "T", "A", "000777").value


def clock() -> dt.datetime:
    return NOW


def _uscc(n: int) -> str:
    body = f"91{430000 + n:06d}MA{n:07d}"
    return body + Uscc.check_char(body)


@pytest.fixture
def uow():
    return memory_uow_factory(clock=clock, workflow_handlers=WorkflowHandlers.of(af.CLAIM_REVIEW_HANDLERS))


@pytest.fixture
def world(uow):
    def station(n: int, city: str, lines=("tanker",)) -> tuple[int, Principal]:
        sid = af.create_station(af.StationIn(f"服务站{n}", _uscc(n), "华中", "河南省", city, "经开区", "李", "13912345678",
                                             lines, 8000, "class_2"), uow(STAFF), clock)
        return sid, Principal(100 + sid, f"st{sid}", Role.STATION, station_id=sid)

    near, far = station(1, "郑州市"), station(2, "洛阳市")
    station(3, "郑州市", lines=("dump_truck",))
    af.put_policy(af.PolicyIn("tanker", 24, None), uow(STAFF))
    af.put_part(af.PartCatalogIn("FV-2301", "切断阀", 45_000, 68_000), uow(STAFF))
    with uow(STAFF) as u:
        u.aftersales.put_vehicle(VIN, dealer_id=None, product_line="tanker", model_code="HT5250GYY")
        u.commit()
    af.record_warranty(af.WarrantyIn(VIN, "赵师傅", "13700001111", dt.date(2025, 6, 1)), uow(STAFF), clock)
    req = af.create_request(af.RequestIn(VIN, "赵师傅", "13700001111", "tank_body", "渗漏", "河南省", "郑州市", "物流园"),
                            uow(STAFF), clock)
    return {"near": near, "far": far, "request": req.request_id}


def _repair(parts=()) -> af.RepairIn:
    return af.RepairIn("阀芯磨损", "更换", "物流园", NOW - dt.timedelta(hours=2), NOW, 250, None, tuple(parts))


def test_refused_request_goes_to_the_next_capable_station(uow, world):
    (near, near_user), (far, _) = world["near"], world["far"]
    rid = world["request"]

    assert af.assign_request(rid, None, uow(STAFF), clock) == near
    af.refuse_request(rid, "技师外出", uow(near_user), clock)

    assert af.assign_request(rid, None, uow(STAFF), clock) == far
    with pytest.raises(NotFound):
        af.accept_request(rid, uow(near_user), clock)


def test_short_stock_leaves_request_and_stock_untouched(uow, world):
    (near, user), rid = world["near"], world["request"]
    af.assign_request(rid, near, uow(STAFF), clock)
    af.accept_request(rid, uow(user), clock)
    af.book_stock(af.StockIn(near, "FV-2301", "receipt", 1), uow(user), clock)

    with pytest.raises(Conflict):
        af.record_repair(rid, _repair([af.PartIn("FV-2301", 2, "warranty")]), uow(user), clock)

    with uow(STAFF) as u:
        assert u.aftersales.request(rid).state.value == "accepted"
        assert u.aftersales.lock_stock(near, "FV-2301", NOW).quantity == 1
        assert u.aftersales.record_of_request(rid) is None


def test_claim_is_approved_by_after_sales_then_finance_and_closes_the_request(uow, world):
    (near, user), rid = world["near"], world["request"]
    af.assign_request(rid, near, uow(STAFF), clock)
    af.accept_request(rid, uow(user), clock)
    af.book_stock(af.StockIn(near, "FV-2301", "receipt", 2), uow(user), clock)
    record_id, _ = af.record_repair(rid, _repair([af.PartIn("FV-2301", 1, "warranty")]), uow(user), clock)
    af.confirm_repair(record_id, af.ConfirmIn("赵师傅", 4), uow(user), clock)

    claim_id, _ = af.submit_claim(record_id, uow(user), clock)
    with pytest.raises(Conflict):
        af.submit_claim(record_id, uow(user), clock)
    assert af.decide_claim(claim_id, "approve", None, uow(STAFF), clock) == "in_review"
    assert af.decide_claim(claim_id, "approve", None, uow(FINANCE), clock) == "approved"

    with uow(STAFF) as u:
        claim = u.aftersales.claim(claim_id)
        assert (claim.labour_fen, claim.parts_fen, claim.total_fen, claim.settlement_month) == (
            20_000, 45_000, 65_000, "2026-03")
        assert u.aftersales.request(rid).state.value == "closed"


def test_a_request_on_a_vin_whose_contract_expired_is_recorded_with_the_flag(uow, world):
    from dealercrm.domain.customers import ContractState, ServiceContract

    with uow(STAFF) as u:
        u.aftersales.add(ServiceContract(
            number="WX-2025-000001", customer_id=1, vin=VIN, starts_on=dt.date(2025, 1, 1),
            ends_on=dt.date(2025, 12, 31), coverage=["tank_body"], terms="罐体维修", price_fen=500_000,
            created_at=NOW, created_by="shouhou"))
        u.commit()

    out = af.create_request(af.RequestIn(VIN, "赵师傅", "13700001111", "tank_body", "渗漏", "河南省", "郑州市", "物流园"),
                            uow(STAFF), clock)

    assert out.contract.state is ContractState.EXPIRED
    with uow(STAFF) as u:
        stored = u.aftersales.request(out.request_id)
    assert (stored.contract_state, stored.contract_warning) == ("expired", "维修合同WX-2025-000001已于2025-12-31到期")


def test_a_claim_replacing_more_of_a_part_than_the_model_carries_is_flagged_once_the_fitment_is_kept(uow, world):
    (near, user), rid = world["near"], world["request"]
    af.assign_request(rid, near, uow(STAFF), clock)
    af.accept_request(rid, uow(user), clock)
    af.book_stock(af.StockIn(near, "FV-2301", "receipt", 5), uow(user), clock)
    rec, _ = af.record_repair(rid, _repair([af.PartIn("FV-2301", 3, "warranty")]), uow(user), clock)
    af.confirm_repair(rec, af.ConfirmIn("赵师傅", 5, None), uow(user), clock)
    with uow(STAFF) as u:
        u.aftersales.s.fitment["HT5250GYY"] = {"FV-2301": 2}
        u.commit()

    claim_id, _ = af.submit_claim(rec, uow(user), clock)

    with uow(STAFF) as u:
        claim = u.aftersales.claim(claim_id)
    assert [r["code"] for r in claim.risk_reasons] == ["parts_over_fitment"]
    assert claim.risk_reasons[0]["text"] == "配件FV-2301更换3件，整车仅装配2件"
    assert claim.risk_skipped == []


def test_automatic_dispatch_from_a_point_goes_to_the_nearest_station_with_coordinates(uow, world):
    (near, _), (far, _) = world["near"], world["far"]
    with uow(STAFF) as u:  # 洛阳 station at Luoyang, 郑州 station at Zhengzhou
        u.aftersales.station(far).latitude, u.aftersales.station(far).longitude = 34.62, 112.45
        u.aftersales.station(near).latitude, u.aftersales.station(near).longitude = 34.75, 113.62
        u.commit()
    luoyang_roadside = GeoPoint(34.66, 112.38)

    by_city = af.suggest_for(world["request"], uow(STAFF))
    by_distance = af.suggest_for(world["request"], uow(STAFF), luoyang_roadside)
    chosen = af.assign_request(world["request"], None, uow(STAFF), clock, at=luoyang_roadside)

    assert by_city[0].station_id == near  # the request was filed in 郑州市
    assert [s.station_id for s in by_distance[:2]] == [far, near] and chosen == far
