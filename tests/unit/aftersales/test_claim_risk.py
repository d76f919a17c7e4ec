"""Each anti-fraud rule catches one case and passes another; the score and the config."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from dealercrm.domain import claim_risk as cr
from dealercrm.domain.errors import InvalidValue

D = dt.date
CFG = cr.RiskConfig()


def ev(**kw) -> cr.ClaimEvidence:
    base = {"vin": "LZZ1CSVCTA0000011", "station_id": 1, "repaired_on": D(2026, 3, 10),
            "parts": (cr.ClaimedPart("FV-2301", "罐体紧急切断阀", 1),), "labour_centihours": 250}
    base.update(kw)
    return cr.ClaimEvidence(**base)


def test_repeat_part_catches_the_same_part_claimed_within_the_window():
    e = ev(prior_claim_parts=(cr.PriorClaimPart("JS-1", "FV-2301", D(2026, 1, 20)),))

    r = cr.repeat_part(e, CFG)

    assert r is not None and r.code == "repeat_part" and r.facts["days"] == 49 and r.weight == 40


def test_repeat_part_passes_an_old_claim_or_another_part():
    e = ev(prior_claim_parts=(cr.PriorClaimPart("JS-1", "FV-2301", D(2025, 10, 1)),
                              cr.PriorClaimPart("JS-2", "SL-0105", D(2026, 3, 1))))

    assert cr.repeat_part(e, CFG) is None


def test_odometer_backwards_catches_a_lower_later_reading():
    e = ev(odometer_readings=(cr.OdometerReading("FW-1", D(2026, 1, 1), 52_000),
                              cr.OdometerReading("FW-2", D(2026, 3, 1), 31_000)))

    r = cr.odometer_backwards(e, CFG)

    assert r is not None and (r.facts["earlier_km"], r.facts["later_km"]) == (52_000, 31_000)


def test_odometer_backwards_passes_rising_readings():
    e = ev(odometer_readings=(cr.OdometerReading("FW-1", D(2026, 1, 1), 31_000),
                              cr.OdometerReading("FW-2", D(2026, 3, 1), 52_000)))

    assert cr.odometer_backwards(e, CFG) is None


def test_outside_warranty_dates_catches_a_repair_before_the_sale_and_after_the_end():
    before = cr.outside_warranty_dates(ev(warranty_starts_on=D(2026, 4, 1), warranty_ends_on=D(2028, 3, 31)), CFG)
    after = cr.outside_warranty_dates(ev(warranty_starts_on=D(2024, 1, 1), warranty_ends_on=D(2025, 12, 31)), CFG)

    assert before is not None and "早于车辆交付日期" in before.text
    assert after is not None and "晚于保修截止日" in after.text


def test_outside_warranty_dates_passes_a_repair_inside_the_warranty():
    assert cr.outside_warranty_dates(ev(warranty_starts_on=D(2025, 6, 1), warranty_ends_on=D(2027, 5, 31)), CFG) is None


def test_phone_many_vins_catches_a_phone_on_more_vehicles_than_allowed():
    e = ev(customer_phone="13700001111", phone_vins=("A" * 17, "B" * 17, "C" * 17, "D" * 17))

    r = cr.phone_many_vins(e, CFG)

    assert r is not None and r.facts == {"vins": 5, "limit": 3}


def test_phone_many_vins_passes_a_phone_on_few_vehicles():
    assert cr.phone_many_vins(ev(customer_phone="13700001111", phone_vins=("A" * 17,)), CFG) is None


def test_parts_over_fitment_catches_more_parts_than_the_model_carries():
    e = ev(parts=(cr.ClaimedPart("FV-2301", "罐体紧急切断阀", 3),), fitment={"FV-2301": 2})

    r = cr.parts_over_fitment(e, CFG)

    assert r is not None and r.facts["parts"] == [{"part_no": "FV-2301", "quantity": 3, "fitted": 2}]


def test_parts_over_fitment_passes_within_fitment_and_skips_when_quantities_are_unknown():
    assert cr.parts_over_fitment(ev(fitment={"FV-2301": 2}), CFG) is None
    with pytest.raises(cr.Skip):
        cr.parts_over_fitment(ev(fitment=None), CFG)

    a = cr.assess(ev(fitment=None), CFG)

    assert [s.code for s in a.skipped] == ["parts_over_fitment"] and a.score == 0


def test_labour_over_standard_catches_hours_above_standard_plus_tolerance():
    r = cr.labour_over_standard(ev(labour_centihours=400, operation_code="TK-VALVE", standard_centihours=200), CFG)

    assert r is not None and r.facts["standard_centihours"] == 200


def test_labour_over_standard_passes_within_tolerance_or_without_an_operation():
    assert cr.labour_over_standard(ev(labour_centihours=240, operation_code="TK-VALVE", standard_centihours=200),
                                   CFG) is None
    assert cr.labour_over_standard(ev(labour_centihours=9_000), CFG) is None


def test_photo_reused_catches_a_hash_already_on_another_claim():
    r = cr.photo_reused(ev(reused_photos=(cr.ReusedPhoto("ab" * 32, "WX-2026-000001"),)), CFG)

    assert r is not None and r.facts["others"] == ["WX-2026-000001"]


def test_photo_reused_passes_fresh_photos():
    assert cr.photo_reused(ev(), CFG) is None


def _peers(mine: cr.StationStat) -> tuple[cr.StationStat, ...]:
    others = tuple(cr.StationStat(i, 100, 10 + i % 3, (10 + i % 3) * (60_000 + 1_000 * (i % 4)))
                   for i in range(2, 10))
    return (mine, *others)


def test_station_outlier_catches_a_station_far_above_its_peers():
    e = ev(station_stats=_peers(cr.StationStat(1, 100, 60, 60 * 250_000)))

    r = cr.station_outlier(e, CFG)

    assert r is not None and set(r.facts["metrics"]) == {"claim_rate", "average_fen"}


def test_station_outlier_passes_a_typical_station_and_too_few_peers():
    assert cr.station_outlier(ev(station_stats=_peers(cr.StationStat(1, 100, 11, 11 * 61_000))), CFG) is None
    few = (cr.StationStat(1, 100, 60, 60 * 250_000), cr.StationStat(2, 100, 10, 600_000))
    assert cr.station_outlier(ev(station_stats=few), CFG) is None


def test_robust_z_uses_the_median_absolute_deviation():
    assert cr.robust_z(10, [1, 2, 3, 4, 5]) == pytest.approx(0.6745 * 7 / 1)
    assert cr.robust_z(5, [5, 5, 5]) is None


def test_the_score_sums_the_weights_found_capped_at_100_and_flags_at_the_threshold():
    e = ev(warranty_starts_on=D(2026, 4, 1), reused_photos=(cr.ReusedPhoto("ab" * 32, "JS-1"),), fitment={})

    a = cr.assess(e, CFG)

    assert a.score == 100 and a.flagged and [r.code for r in a.reasons] == ["outside_warranty_dates", "photo_reused"]
    assert cr.assess(ev(fitment={}), CFG).flagged is False


def test_a_weight_of_zero_turns_a_rule_off():
    cfg = attrs.evolve(CFG, weights={**cr.DEFAULT_WEIGHTS, "photo_reused": 0})

    a = cr.assess(ev(reused_photos=(cr.ReusedPhoto("ab" * 32, "JS-1"),), fitment={}), cfg)

    assert a.score == 0 and a.reasons == ()


@pytest.mark.parametrize("data, field", [({"threshold": 0}, "threshold"), ({"weights": {"nope": 3}}, "weights"),
                                         ({"weights": {"repeat_part": 101}}, "weights.repeat_part"),
                                         ({"outlier_z": "x"}, "outlier_z"), ({"colour": 1}, "colour")])
def test_bad_config_names_the_field(data, field):
    with pytest.raises(InvalidValue) as e:
        cr.RiskConfig.from_dict(data)

    assert e.value.field == field


def test_config_round_trips_through_a_dict_with_defaults_for_what_is_left_out():
    cfg = cr.RiskConfig.from_dict({"threshold": 70, "weights": {"phone_many_vins": 5}})

    assert cr.RiskConfig.from_dict(cfg.as_dict()) == cfg
    assert cfg.weights["phone_many_vins"] == 5 and cfg.weights["repeat_part"] == 40
