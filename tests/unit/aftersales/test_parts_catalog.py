"""The parts catalogue's rules (issue 18 §5): a model's fitment and a part's substitutes are
checked before they replace the stored lists; and a claim replacing more of a part than the
model carries is flagged once the model's fitment is kept (the rule was skipped before)."""

from __future__ import annotations

import pytest

from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.parts_catalog import (
    FitmentLine,
    Substitute,
    check_fitment,
    check_substitutes,
    model_code_of,
)


def test_a_fitment_is_normalised_and_sorted_by_part_number():
    lines = check_fitment([("sl-0105", 4), ("FV-2301", 1)])

    assert lines == [FitmentLine("FV-2301", 1), FitmentLine("SL-0105", 4)]


@pytest.mark.parametrize(("lines", "field", "code"), [
    ([("FV-2301", 1), ("fv-2301", 2)], "parts", "parts.duplicate"),
    ([("FV-2301", 0)], "parts.quantity", "parts.quantity_invalid"),
    ([("FV-2301", 10_001)], "parts.quantity", "parts.quantity_invalid"),
    ([("阀门", 1)], "part_no", "aftersales.part_no_invalid"),
])
def test_a_bad_fitment_is_refused_naming_the_field(lines, field, code):
    with pytest.raises(InvalidValue) as err:
        check_fitment(lines)

    assert (err.value.field, err.value.code) == (field, code)


def test_substitutes_never_name_the_part_itself_nor_twice():
    ok = check_substitutes("FV-2301", [("FV-2301A", "新版阀芯，可直接替换"), ("FV-2300", None)])

    with pytest.raises(InvalidValue) as itself:
        check_substitutes("FV-2301", [("fv-2301", None)])
    with pytest.raises(InvalidValue) as twice:
        check_substitutes("FV-2301", [("FV-2300", None), ("FV-2300", "同上")])

    assert ok == [Substitute("FV-2301", "FV-2300", None), Substitute("FV-2301", "FV-2301A", "新版阀芯，可直接替换")]
    assert (itself.value.code, twice.value.code) == ("parts.substitute_self", "parts.duplicate")


def test_a_model_code_is_upper_case_letters_digits_and_dashes():
    assert model_code_of(" hz5320gyye6 ") == "HZ5320GYYE6"
    with pytest.raises(InvalidValue):
        model_code_of("罐车")
