"""Value objects: small, immutable, valid by construction.

Each constructor checks its rule and raises :class:`InvalidValue` with a stable code and a
Chinese message, so a bad USCC or VIN can never reach an aggregate. ``field`` names the value
for error reporting; callers building from a request pass the request's field name.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from collections.abc import Iterable
from typing import Any, ClassVar

import attrs

from dealercrm.domain.errors import InvalidValue, InvariantBroken

# ---------------------------------------------------------------------------------------------
# The business calendar: the factory, its dealers and stations keep Beijing time. Stored
# moments are UTC; every "which day / which year" question (due dates, ageing, document
# numbers, reports) is answered here.

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def as_tuple(items: Iterable[Any]) -> tuple[Any, ...]:
    """An attrs converter to a tuple (``converter=tuple`` would make mypy's attrs plugin type the
    argument ``Iterable[_T_co]`` with the type variable unbound)."""
    return tuple(items)


def stored_id(entity_id: int | None) -> int:
    """The id of an aggregate its unit of work has stored (loaded, or added and flushed): ``None``
    there is a defect (an aggregate used before the flush), never the caller's doing."""
    if entity_id is None:
        raise InvariantBroken("aggregate has no id: not flushed")
    return entity_id


def _stripped_upper(raw: object) -> Any:
    # Non-text passes through unchanged so the class's own check names the field.
    return raw.strip().upper() if isinstance(raw, str) else raw


def _phone_text(raw: object) -> Any:
    return _normalise_phone(raw) if isinstance(raw, str) else raw


def beijing_date(moment: dt.datetime) -> dt.date:
    """The calendar day in Beijing at ``moment`` (an aware datetime)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime refused; use an aware datetime")
    return moment.astimezone(SHANGHAI).date()


# ---------------------------------------------------------------------------------------------
# Money


@attrs.frozen(order=True)
class Money:
    """An exact amount in fen (1/100 CNY). Never a float."""

    fen: int
    currency: str = "CNY"

    def __attrs_post_init__(self) -> None:
        if isinstance(self.fen, bool) or not isinstance(self.fen, int):
            raise InvalidValue("amount", "金额必须是以分为单位的整数", code="money.not_integer_fen")
        if self.currency != "CNY":
            raise InvalidValue("currency", "仅支持人民币（CNY）", code="money.currency_unsupported")

    @classmethod
    def zero(cls) -> Money:
        return cls(0)

    @classmethod
    def yuan(cls, amount: str | int | Decimal, field: str = "amount") -> Money:
        """From a yuan amount with at most two decimals (``"12345.67"``)."""
        try:
            value = Decimal(str(amount))
        except (InvalidOperation, ValueError):
            raise InvalidValue(field, "金额格式不正确", code="money.malformed") from None
        exponent = value.as_tuple().exponent  # an int once the value is finite
        if not value.is_finite() or not isinstance(exponent, int) or exponent < -2:
            raise InvalidValue(field, "金额最多保留两位小数", code="money.too_precise")
        return cls(int((value * 100).to_integral_value(ROUND_HALF_EVEN)))

    @property
    def as_yuan(self) -> Decimal:
        return (Decimal(self.fen) / 100).quantize(Decimal("0.01"))

    def __add__(self, other: Money) -> Money:
        return Money(self.fen + other.fen)

    def __sub__(self, other: Money) -> Money:
        return Money(self.fen - other.fen)

    def __mul__(self, factor: int) -> Money:
        if not isinstance(factor, int):
            raise TypeError("Money can only be multiplied by an int; use .apply_rate for rates")
        return Money(self.fen * factor)

    def apply_rate(self, rate: Decimal) -> Money:
        """Multiply by an exact decimal rate, rounding half-even to the fen (banker's rule)."""
        return Money(int((Decimal(self.fen) * rate).to_integral_value(ROUND_HALF_EVEN)))

    def is_negative(self) -> bool:
        return self.fen < 0

    def __composite_values__(self) -> tuple[int]:
        return (self.fen,)

    def __str__(self) -> str:
        return f"¥{self.as_yuan:,}"


# ---------------------------------------------------------------------------------------------
# VIN — ISO 3779 with the North-American/GB 16735 check digit in position 9


_VIN_TRANSLIT = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9))),
    **dict(zip("JKLMN", range(1, 6))),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10))),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_RE = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")


@attrs.frozen
class Vin:
    """A vehicle identification number: 17 characters, no I/O/Q, check digit at position 9."""

    value: str = attrs.field(converter=_stripped_upper)
    field_name: ClassVar[str] = "vin"

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.value, str) or not _VIN_RE.match(self.value):
            raise InvalidValue(
                self.field_name, "车架号（VIN）须为17位字母数字，且不含 I、O、Q", code="vin.malformed"
            )
        if self.value[8] != self.check_digit(self.value):
            raise InvalidValue(self.field_name, "车架号（VIN）校验位不正确", code="vin.check_digit")

    @staticmethod
    def check_digit(vin17: str) -> str:
        """The check character for a 17-character VIN (position 9 is ignored)."""
        total = sum(_VIN_TRANSLIT[c] * w for c, w in zip(vin17.upper(), _VIN_WEIGHTS))
        r = total % 11
        return "X" if r == 10 else str(r)

    @classmethod
    def build(cls, wmi: str, vds: str, year_code: str, plant: str, serial: str) -> Vin:
        """Assemble a VIN from WMI(3) + VDS(5) + check + year(1) + plant(1) + serial(6)."""
        raw = f"{wmi}{vds}0{year_code}{plant}{serial}".upper()
        return cls(raw[:8] + cls.check_digit(raw) + raw[9:])

    def __str__(self) -> str:
        return self.value


# ---------------------------------------------------------------------------------------------
# Chinese resident ID number — GB 11643, ISO 7064 MOD 11-2

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_RE = re.compile(r"^\d{17}[\dX]$")


@attrs.frozen
class ChineseIdNumber:
    """An 18-character resident identity card number with a valid check character."""

    value: str = attrs.field(converter=_stripped_upper)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.value, str) or not _ID_RE.match(self.value):
            raise InvalidValue("id_number", "身份证号须为18位（末位可为X）", code="id_number.malformed")
        y, m, d = int(self.value[6:10]), int(self.value[10:12]), int(self.value[12:14])
        import datetime as _dt

        try:
            _dt.date(y, m, d)
        except ValueError:
            raise InvalidValue("id_number", "身份证号中的出生日期无效", code="id_number.birth_date") from None
        if y < 1900:
            raise InvalidValue("id_number", "身份证号中的出生日期无效", code="id_number.birth_date")
        if self.value[17] != self.check_char(self.value):
            raise InvalidValue("id_number", "身份证号校验位不正确", code="id_number.check_digit")

    @staticmethod
    def check_char(id17: str) -> str:
        total = sum(int(c) * w for c, w in zip(id17[:17], _ID_WEIGHTS))
        return "10X98765432"[total % 11]

    @property
    def masked(self) -> str:
        """For display and logs: region prefix and check character only."""
        return self.value[:4] + "*" * 10 + self.value[14:]

    def __str__(self) -> str:
        return self.value


# ---------------------------------------------------------------------------------------------
# Unified social credit code — GB 32100

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


@attrs.frozen
class Uscc:
    """统一社会信用代码: 18 characters, the last a MOD 31 check character."""

    value: str = attrs.field(converter=_stripped_upper)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.value, str) or not _USCC_RE.match(self.value):
            raise InvalidValue("uscc", "统一社会信用代码须为18位，且不含 I、O、S、V、Z", code="uscc.malformed")
        if self.value[17] != self.check_char(self.value):
            raise InvalidValue("uscc", "统一社会信用代码校验位不正确", code="uscc.check_digit")

    @staticmethod
    def check_char(code17: str) -> str:
        total = sum(_USCC_CHARS.index(c) * w for c, w in zip(code17[:17], _USCC_WEIGHTS))
        return _USCC_CHARS[(31 - total % 31) % 31]

    def __str__(self) -> str:
        return self.value


# ---------------------------------------------------------------------------------------------
# Phone numbers — mainland mobile, or a landline with area code

_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")


@attrs.frozen
class Phone:
    """A mainland China phone number: an 11-digit mobile (1[3-9]…) or 0AA(A)-NNNNNNN(N)."""

    value: str = attrs.field(converter=_phone_text)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.value, str) or not (
            _MOBILE_RE.match(self.value) or _LANDLINE_RE.match(self.value)
        ):
            raise InvalidValue("phone", "电话号码格式不正确（手机号为11位，座机须含区号）", code="phone.malformed")

    @property
    def is_mobile(self) -> bool:
        return bool(_MOBILE_RE.match(self.value))

    @property
    def masked(self) -> str:
        return self.value[:3] + "****" + self.value[-4:] if self.is_mobile else self.value[:-4] + "****"

    def __str__(self) -> str:
        return self.value


def _normalise_phone(raw: str) -> str:
    v = raw.strip().replace(" ", "")
    if v.startswith("+86"):
        v = v[3:]
    elif v.startswith("0086"):
        v = v[4:]
    return v.lstrip("-")


def check_coordinates(latitude: float | None, longitude: float | None) -> tuple[float | None, float | None]:
    """Both or neither; latitude in [-90, 90], longitude in [-180, 180]."""
    if latitude is None and longitude is None:
        return None, None
    if latitude is None or longitude is None:
        raise InvalidValue("latitude" if latitude is None else "longitude", "经纬度须同时填写",
                           code="geo.coordinates_incomplete")
    for field, value, bound, label in (("latitude", latitude, 90.0, "纬度"), ("longitude", longitude, 180.0, "经度")):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or not -bound <= value <= bound:
            raise InvalidValue(field, f"{label}须在 -{bound:g} 到 {bound:g} 之间", code=f"geo.{field}_invalid")
    return float(latitude), float(longitude)
