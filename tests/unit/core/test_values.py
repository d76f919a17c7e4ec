from decimal import Decimal

import pytest

from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.values import ChineseIdNumber, Money, Phone, Uscc, Vin


@pytest.mark.parametrize("raw", ["110105199003071239", "11010519491231002X", "11010519491231002x"])
def test_valid_id_numbers_are_accepted_and_normalised(raw):
    assert ChineseIdNumber(raw).value == raw.upper()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("110105199003071238", "id_number.check_digit"),
        ("11010519900307123", "id_number.malformed"),
        ("110105199013071234", "id_number.birth_date"),
        ("abc", "id_number.malformed"),
    ],
)
def test_invalid_id_numbers_name_the_field_and_reason(raw, code):
    with pytest.raises(InvalidValue) as err:
        ChineseIdNumber(raw)

    assert err.value.field == "id_number"
    assert err.value.code == code


def test_id_number_mask_hides_the_birth_date():
    assert ChineseIdNumber("110105199003071239").masked == "1101**********1239"


def test_uscc_check_character_follows_gb32100():
    assert Uscc("91350100M000100Y43").value == "91350100M000100Y43"
    body = "91110105MA01ABCD1"
    assert Uscc(body + Uscc.check_char(body)).value.startswith("91110105")


@pytest.mark.parametrize(("raw", "code"), [("91350100M000100Y44", "uscc.check_digit"), ("9135010OM000100Y43", "uscc.malformed")])
def test_invalid_uscc_is_refused(raw, code):
    with pytest.raises(InvalidValue) as err:
        Uscc(raw)

    assert err.value.code == code


def test_vin_check_digit_is_verified():
    assert Vin("1M8GDM9AXKP042788").value == "1M8GDM9AXKP042788"
    with pytest.raises(InvalidValue) as err:
        Vin("1M8GDM9A1KP042788")
    assert err.value.code == "vin.check_digit"


@pytest.mark.parametrize("raw", ["1M8GDM9AXKP04278", "IM8GDM9AXKP042788", "1M8GDM9AXKP0427888"])
def test_malformed_vins_are_refused(raw):
    with pytest.raises(InvalidValue) as err:
        Vin(raw)

    assert err.value.code == "vin.malformed"


def test_built_vins_carry_a_valid_check_digit():
    for serial in range(1, 200):
        vin = Vin.build("LJC", "9CG3A", "T", "Z", f"{serial:06d}")
        assert Vin(vin.value) == vin


@pytest.mark.parametrize("raw", ["13800138000", "+86 138 0013 8000", "010-62345678", "0371-66881234"])
def test_mainland_phone_numbers_are_accepted(raw):
    assert Phone(raw).value


@pytest.mark.parametrize("raw", ["12345", "23800138000", "1380013800a", "62345678"])
def test_bad_phone_numbers_are_refused(raw):
    with pytest.raises(InvalidValue) as err:
        Phone(raw)

    assert err.value.field == "phone"


def test_money_is_exact_and_refuses_floats():
    assert Money.yuan("0.10") + Money.yuan("0.20") == Money.yuan("0.30")
    assert Money(12345).as_yuan == Decimal("123.45")
    assert Money(1001).apply_rate(Decimal("0.5")) == Money(500)  # half-even
    with pytest.raises(InvalidValue):
        Money(1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue):
        Money.yuan("1.001")


def test_the_business_calendar_is_beijing_time_and_refuses_naive_moments():
    import datetime as dt

    from dealercrm.domain.values import beijing_date

    assert beijing_date(dt.datetime(2026, 12, 31, 16, 30, tzinfo=dt.UTC)) == dt.date(2027, 1, 1)
    assert beijing_date(dt.datetime(2026, 12, 31, 15, 59, tzinfo=dt.UTC)) == dt.date(2026, 12, 31)
    with pytest.raises(ValueError):
        beijing_date(dt.datetime(2026, 12, 31, 16, 30))
