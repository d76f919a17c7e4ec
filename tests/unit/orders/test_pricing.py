"""The automatic estimate: base + options, the dealer's tier, integer fen, rounding stated."""

from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dealercrm.domain.catalog import (
    NO_TIER,
    ROUNDING_RULE,
    DealerPriceTier,
    PublishedVersion,
    Tier,
    estimate_price,
)
from dealercrm.domain.errors import BusinessRuleViolation, InvalidValue
from dealercrm.domain.values import Money


def test_the_estimate_lists_base_options_and_the_tier_discount_line_by_line(version, standard):
    configuration = version.content.configure(["AXLE-BPW", "SUSP-AIR", "EBS", "TANK-5182", "GPS"])

    e = estimate_price(version, configuration, 3, Tier("A", 500))

    assert [(li.kind.value, li.code, li.amount.fen) for li in e.lines] == [
        ("base", "HTL9400GYY", 238_000_00), ("option", "AXLE-BPW", 18_000_00), ("option", "SUSP-AIR", 22_000_00),
        ("option", "EBS", 9_800_00), ("option", "TANK-5182", 0), ("option", "GPS", 1_500_00),
        ("discount", "A", -14_465_00),
    ]
    assert e.list_unit == Money(289_300_00)
    assert e.discount_unit == Money(-14_465_00)
    assert e.net_unit == Money(274_835_00)
    assert e.total == Money(824_505_00)
    assert e.rounding == ROUNDING_RULE
    assert e.requires_quote is False


def test_negative_option_deltas_lower_the_price(version, standard):
    e = estimate_price(version, version.content.configure([*standard, "COMP-LIGHT"]), 1)

    assert e.list_unit == Money(235_000_00)
    assert [li.kind.value for li in e.lines].count("discount") == 0  # no tier, no discount line


def test_the_unit_discount_rounds_half_even_to_the_fen(make_content, standard):
    # list price 100.50 yuan × 1 % = 100.5 fen → 100 (half-even); 101.50 × 1 % = 101.5 → 102
    for base, expected in ((100_50, -100), (101_50, -102)):
        v = PublishedVersion(1, 1, "T-1", "tanker", make_content(base_fen=base), None, "x")  # type: ignore[arg-type]
        e = estimate_price(v, v.content.configure(list(standard)), 7, Tier("C", 100))
        assert e.discount_unit.fen == expected
        assert e.total.fen == (base + expected) * 7


def test_a_special_configuration_is_still_estimated_but_needs_a_quote(version, standard):
    e = estimate_price(version, version.content.configure([*standard, "LIVERY"]), 2)

    assert e.requires_quote is True
    assert e.total == Money(476_000_00)


@pytest.mark.parametrize("quantity", [0, -1, 501, True, 1.5])
def test_quantity_must_be_a_sensible_integer(version, standard, quantity):
    with pytest.raises(InvalidValue) as err:
        estimate_price(version, version.content.configure(list(standard)), quantity)

    assert err.value.field == "quantity"


def test_a_configuration_below_zero_is_refused(make_content, standard):
    v = PublishedVersion(1, 1, "T-1", "tanker", make_content(base_fen=1_000_00), None, "x")  # type: ignore[arg-type]

    with pytest.raises(BusinessRuleViolation) as err:
        estimate_price(v, v.content.configure([*standard, "COMP-LIGHT"]), 1)

    assert err.value.code == "pricing.non_positive"


@pytest.mark.parametrize(("code", "bp", "field"), [("", 100, "tier_code"), ("A", -1, "discount_bp"),
                                                    ("A", 3001, "discount_bp"), ("A", 1.5, "discount_bp")])
def test_tiers_are_checked(code, bp, field):
    with pytest.raises(InvalidValue) as err:
        DealerPriceTier(1, "tanker", code, bp)

    assert err.value.field == field


@given(base=st.integers(1, 10**9), bp=st.integers(0, 3000), quantity=st.integers(1, 500),
       extras=st.sets(st.sampled_from(["VAPOR", "GPS", "LIVERY"])))
def test_estimates_are_exact_integer_arithmetic(make_content, base, bp, quantity, extras):
    v = PublishedVersion(1, 1, "T-1", "tanker", make_content(base_fen=base), None, "x")  # type: ignore[arg-type]
    configuration = v.content.configure(["AXLE-FUWA", "SUSP-MECH", "ABS", "TANK-5182", *sorted(extras)])

    e = estimate_price(v, configuration, quantity, Tier("X", bp) if bp else NO_TIER)

    expected_list = base + sum({"VAPOR": 5_600_00, "GPS": 1_500_00, "LIVERY": 0}[x] for x in extras)
    discount = int((Decimal(expected_list) * bp / Decimal(10_000)).to_integral_value(ROUND_HALF_EVEN))
    assert e.list_unit.fen == sum(li.amount.fen for li in e.lines if li.kind.value != "discount") == expected_list
    assert e.net_unit.fen == expected_list - discount
    assert e.total.fen == e.net_unit.fen * quantity
