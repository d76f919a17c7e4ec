"""Claim scoring at submission on the in-memory unit of work: the evidence the twin gathers, the
extra 风险复核 step of a flagged claim, and the configuration the score runs under."""

from __future__ import annotations

import datetime as dt

import pytest

from dealercrm.application import aftersales as af
from dealercrm.domain.errors import InvalidValue, PermissionDenied
from dealercrm.domain.media import Media

from .test_aftersales_use_cases import FINANCE, NOW, STAFF, VIN, _repair, clock
from .test_aftersales_use_cases import uow as _uow_fixture
from .test_aftersales_use_cases import world as _world_fixture

uow, world = _uow_fixture, _world_fixture  # the use-case fixtures, shared


def _claimed_repair(uow, world, rid: int, photo: str | None) -> int:
    near, user = world["near"]
    af.assign_request(rid, near, uow(STAFF), clock)
    af.accept_request(rid, uow(user), clock)
    af.book_stock(af.StockIn(near, "FV-2301", "receipt", 1), uow(user), clock)
    record_id, _ = af.record_repair(rid, _repair([af.PartIn("FV-2301", 1, "warranty")]), uow(user), clock)
    if photo is not None:
        with uow(user) as u:
            u.aftersales.add(Media("repair_record", record_id, "photo", NOW, user.username, sha256=photo,
                                   content_type="image/png", size_bytes=10))
            u.commit()
    af.confirm_repair(record_id, af.ConfirmIn("赵师傅", 4), uow(user), clock)
    claim_id, _ = af.submit_claim(record_id, uow(user), clock)
    return claim_id


def _second_request(uow) -> int:
    return af.create_request(af.RequestIn(VIN, "赵师傅", "13700001111", "tank_body", "又渗漏", "河南省", "郑州市",
                                          "物流园"), uow(STAFF), clock).request_id


def test_a_claim_with_a_reused_photo_and_a_repeated_part_is_flagged_and_reviewed_three_times(uow, world):
    first = _claimed_repair(uow, world, world["request"], photo="ab" * 32)

    second = _claimed_repair(uow, world, _second_request(uow), photo="ab" * 32)

    with uow(STAFF) as u:
        clean, flagged = u.aftersales.claim(first), u.aftersales.claim(second)
        assert (clean.risk_score, clean.risk_flagged) == (0, False)
        assert (flagged.risk_score, flagged.risk_flagged) == (100, True)
        assert [r["code"] for r in flagged.risk_reasons] == ["repeat_part", "photo_reused"]
        assert flagged.risk_reasons[1]["facts"]["others"] == [u.aftersales.record(clean.record_id).number]
    assert af.decide_claim(second, "approve", None, uow(STAFF), clock) == "in_review"  # 风险复核
    assert af.decide_claim(second, "approve", None, uow(STAFF), clock) == "in_review"  # 售后审核
    assert af.decide_claim(second, "approve", None, uow(FINANCE), clock) == "approved"


def test_the_stored_config_is_what_the_score_runs_under(uow, world):
    af.put_risk_config({"threshold": 100, "weights": {"photo_reused": 50}}, uow(STAFF), clock)
    _claimed_repair(uow, world, world["request"], photo="cd" * 32)

    second = _claimed_repair(uow, world, _second_request(uow), photo="cd" * 32)

    with uow(STAFF) as u:
        claim = u.aftersales.claim(second)
        assert (claim.risk_score, claim.risk_flagged) == (90, False)
    assert af.risk_config(uow(FINANCE)).weights["photo_reused"] == 50


def test_only_after_sales_staff_change_the_config_and_bad_values_change_nothing(uow, world):
    station_user = world["near"][1]

    with pytest.raises(PermissionDenied):
        af.put_risk_config({"threshold": 10}, uow(station_user), clock)
    with pytest.raises(InvalidValue):
        af.put_risk_config({"threshold": 10, "repeat_part_days": 0}, uow(STAFF), clock)

    assert af.risk_config(uow(STAFF)).threshold == 50


def test_a_repair_names_only_a_known_operation(uow, world):
    near, user = world["near"]
    rid = world["request"]
    af.assign_request(rid, near, uow(STAFF), clock)
    af.accept_request(rid, uow(user), clock)
    af.put_operation(af.OperationIn("tk-valve", "更换切断阀", 150), uow(STAFF))
    cmd = af.RepairIn("阀芯磨损", "更换", "物流园", NOW - dt.timedelta(hours=2), NOW, 250, None, (), "NOPE")

    with pytest.raises(InvalidValue) as e:
        af.record_repair(rid, cmd, uow(user), clock)
    record_id, _ = af.record_repair(rid, _repair_with("TK-VALVE"), uow(user), clock)

    assert e.value.field == "operation_code"
    with uow(STAFF) as u:
        assert u.aftersales.record(record_id).operation_code == "TK-VALVE"


def _repair_with(operation: str) -> af.RepairIn:
    return af.RepairIn("阀芯磨损", "更换", "物流园", NOW - dt.timedelta(hours=2), NOW, 250, None, (), operation)
