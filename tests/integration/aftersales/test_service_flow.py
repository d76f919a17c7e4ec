"""After-sales use cases on SQLite and PostgreSQL: a warranty repair from the customer's call to
the monthly settlement statement, with the parts leaving the station's stock on the way."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from dealercrm.adapters.db.aftersales_tables import service_stock_movements
from dealercrm.application import aftersales as af
from dealercrm.domain.errors import BusinessRuleViolation, Conflict, IllegalTransition, NotFound



def _repair(kit, request_id: int, who, parts=(), hours: int = 250) -> tuple[int, str]:
    now = kit.clock()
    return kit.svc.record_repair(who, request_id, af.RepairIn(
        problem="紧急切断阀阀芯磨损", solution="更换切断阀及密封圈，试压无渗漏", place="郑州市中牟县物流园",
        started_at=now - dt.timedelta(hours=3), finished_at=now - dt.timedelta(minutes=30),
        labour_centihours=hours, result="修复", parts=tuple(parts)))


def test_warranty_repair_from_call_to_monthly_settlement(kit):
    kit.policies()
    kit.parts()
    dealer = kit.dealer()
    v = kit.vehicle(1, dealer)
    kit.svc.record_warranty(kit.staff, af.WarrantyIn(v, "赵师傅", "13700001111", dt.date(2025, 6, 1)))
    near = kit.station(1, city="郑州市")
    kit.station(2, region="华东", province="山东省", city="济南市")
    station_user = kit.station_user(near)
    kit.svc.book_stock(station_user, af.StockIn(near, "FV-2301", "receipt", 3, "RK-001"))
    kit.svc.book_stock(station_user, af.StockIn(near, "SL-0105", "receipt", 10, "RK-001"))

    created = kit.request(v)
    assert created.warranty.in_warranty
    suggestions = kit.svc.suggest(kit.staff, created.request_id)
    assert suggestions[0].station_id == near
    assert kit.svc.assign(kit.staff, created.request_id, None) == near
    assert kit.svc.accept(station_user, created.request_id) == "accepted"
    record_id, _ = _repair(kit, created.request_id, station_user,
                           [af.PartIn("FV-2301", 1, "warranty"), af.PartIn("SL-0105", 2, "sale")])
    assert kit.svc.confirm_repair(station_user, record_id, af.ConfirmIn("赵师傅", 5, "及时")) == "confirmed"
    claim_id, _ = kit.svc.submit_claim(station_user, record_id)
    assert kit.svc.decide_claim(kit.staff, claim_id, "approve") == "in_review"
    assert kit.svc.decide_claim(kit.finance, claim_id, "approve") == "approved"

    claim = kit.svc.claim(kit.staff, claim_id)
    assert (claim["labour_fen"], claim["parts_fen"], claim["total_fen"]) == (20_000, 45_000, 65_000)
    statement = kit.svc.settlement(kit.finance, "2026-03")
    assert [(s["station_id"], s["claims"], s["total_fen"]) for s in statement] == [(near, 1, 65_000)]
    stock = {r["part_no"]: r["quantity"] for r in kit.svc.stock_report(kit.staff, station_id=near)}
    assert stock == {"FV-2301": 2, "SL-0105": 8}
    assert kit.svc.request(kit.staff, created.request_id)["state"] == "closed"
    quality = kit.svc.station(kit.staff, near)["quality"]
    assert (quality["repairs"], quality["confirmed"], quality["avg_satisfaction"]) == (1, 1, 5.0)


def test_short_stock_refuses_the_whole_repair_record(kit, crm):
    kit.policies()
    kit.parts()
    v = kit.vehicle(2, kit.dealer())
    kit.svc.record_warranty(kit.staff, af.WarrantyIn(v, "赵师傅", "13700001111", dt.date(2025, 6, 1)))
    sid = kit.station(3)
    user = kit.station_user(sid)
    kit.svc.book_stock(user, af.StockIn(sid, "SL-0105", "receipt", 5))
    req = kit.request(v)
    kit.svc.assign(kit.staff, req.request_id, sid)
    kit.svc.accept(user, req.request_id)

    with pytest.raises(Conflict) as err:
        _repair(kit, req.request_id, user, [af.PartIn("SL-0105", 2, "warranty"), af.PartIn("FV-2301", 1, "warranty")])

    assert err.value.code == "aftersales.stock_insufficient"
    assert err.value.details["part_no"] == "FV-2301" and err.value.details["balance"] == 0
    assert kit.svc.request(kit.staff, req.request_id)["state"] == "accepted"
    assert {r["part_no"]: r["quantity"] for r in kit.svc.stock_report(kit.staff, station_id=sid)} == {"SL-0105": 5}
    with crm.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(service_stock_movements)).scalar_one() == 1


def test_out_of_warranty_request_is_flagged_and_cannot_use_warranty_parts(kit, clock):
    kit.policies()
    kit.parts()
    v = kit.vehicle(3, kit.dealer(), product_line="dump_truck", model_code="HT3310ZLJ")
    kit.svc.record_warranty(kit.staff, af.WarrantyIn(v, "钱老板", "13600002222", dt.date(2024, 1, 5)))
    sid = kit.station(4)
    user = kit.station_user(sid)
    kit.svc.book_stock(user, af.StockIn(sid, "SL-0105", "receipt", 5))

    req = kit.request(v, phone="13600002222", fault_category="hydraulic", description="举升缸漏油")

    assert not req.warranty.in_warranty and "2025-01-04" in req.warranty.warning
    kit.svc.assign(kit.staff, req.request_id, sid)
    kit.svc.accept(user, req.request_id)
    with pytest.raises(BusinessRuleViolation) as err:
        _repair(kit, req.request_id, user, [af.PartIn("SL-0105", 1, "warranty")])
    assert err.value.code == "aftersales.out_of_warranty"
    record_id, _ = _repair(kit, req.request_id, user, [af.PartIn("SL-0105", 1, "repair")])
    kit.svc.confirm_repair(kit.staff, record_id, af.ConfirmIn("钱老板", 4))
    with pytest.raises(BusinessRuleViolation):
        kit.svc.submit_claim(user, record_id)


def test_refusing_station_is_skipped_and_illegal_moves_name_the_state(kit):
    kit.policies()
    v = kit.vehicle(4, kit.dealer())
    first = kit.station(5, city="郑州市")
    second = kit.station(6, city="洛阳市")
    req = kit.request(v)
    assert kit.svc.assign(kit.staff, req.request_id, None) == first

    kit.svc.refuse(kit.station_user(first), req.request_id, "技师外出，三天内无法到场")

    with pytest.raises(NotFound):  # no longer its request
        kit.svc.accept(kit.station_user(first), req.request_id)
    assert kit.svc.assign(kit.staff, req.request_id, None) == second
    with pytest.raises(IllegalTransition) as err:
        kit.svc.assign(kit.staff, req.request_id, second)
    assert err.value.current_state == "assigned"


def test_transfer_moves_parts_between_stations_and_never_below_zero(kit):
    kit.parts()
    a, b = kit.station(7), kit.station(8, city="洛阳市")
    kit.svc.book_stock(kit.station_user(a), af.StockIn(a, "FV-2301", "receipt", 4))

    assert kit.svc.transfer(kit.staff, a, b, "FV-2301", 3) == (1, 3)
    with pytest.raises(Conflict) as err:
        kit.svc.transfer(kit.staff, a, b, "FV-2301", 2)

    assert err.value.details["balance"] == 1
    assert kit.svc.book_stock(kit.station_user(b), af.StockIn(b, "FV-2301", "stocktake", 2)) == 2
    kinds = [m["kind"].value for m in kit.svc.movements(kit.staff, b)]
    assert kinds == ["stocktake", "transfer_in"]


def test_dealer_satisfaction_is_derived_from_the_customers_scores_on_service_records(kit):
    import attrs

    from dealercrm.domain.errors import InvalidValue
    from dealercrm.domain.identity import Role

    happy, unhappy, elsewhere = kit.dealer(), kit.dealer(), kit.dealer("华东")
    sid = kit.station(7)
    user = kit.station_user(sid)
    for n, (dealer, score, comment) in enumerate([(happy, 5, "及时"), (happy, 4, None), (unhappy, 2, "等了三天才来"),
                                                  (unhappy, 3, None), (elsewhere, 1, "没修好")], start=20):
        req = kit.request(kit.vehicle(n, dealer))
        kit.svc.assign(kit.staff, req.request_id, sid)
        kit.svc.accept(user, req.request_id)
        record_id, _ = _repair(kit, req.request_id, user)
        kit.svc.confirm_repair(user, record_id, af.ConfirmIn("赵师傅", score, comment))
    marketing = kit.user("shichang", Role.MARKETING)
    central = attrs.evolve(kit.user("huazhong", Role.SALES, regions=("华中",)), regions=("华中",))

    report = kit.crm.care.service_satisfaction(marketing, days=30, threshold=3)
    rows = {d["dealer_id"]: d for d in report["dealers"]}
    assert [d["dealer_id"] for d in report["dealers"]][:2] == [elsewhere, unhappy]  # dissatisfied first, worst first
    assert (rows[unhappy]["average"], rows[unhappy]["low_scores"], rows[unhappy]["dissatisfied"]) == (2.5, 1, True)
    assert rows[unhappy]["reasons"] == ["终端客户维修满意度均分2.5，低于3分", "1次维修评价低于3分", "客户意见：等了三天才来"]
    assert (rows[happy]["average"], rows[happy]["dissatisfied"], rows[happy]["reasons"]) == (4.5, False, [])
    assert report["dissatisfied"] == 2
    assert {d["dealer_id"] for d in kit.crm.care.service_satisfaction(central)["dealers"]} == {happy, unhappy}
    with pytest.raises(InvalidValue) as err:
        kit.crm.care.service_satisfaction(marketing, threshold=6)
    assert err.value.field == "threshold"
