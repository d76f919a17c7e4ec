"""The contract's text: Chinese capital amounts and the document's own consistency rules."""

import datetime as dt

import pytest

from dealercrm.domain.contract_document import ContractDocument, ContractItem, Party, rmb_uppercase, yuan_text
from dealercrm.domain.errors import InvalidValue


@pytest.mark.parametrize(
    ("fen", "words"),
    [
        (0, "零元整"),
        (5, "伍分"),
        (50, "伍角整"),
        (100, "壹元整"),
        (105, "壹元零伍分"),
        (1000, "壹拾元整"),
        (100_100, "壹仟零壹元整"),
        (1_000_000, "壹万元整"),
        (10_000_100, "壹拾万零壹元整"),
        (41_800_000, "肆拾壹万捌仟元整"),
        (115_650_050, "壹佰壹拾伍万陆仟伍佰元伍角整"),
        (10_000_000_000, "壹亿元整"),
        (10_000_000_100, "壹亿零壹元整"),
        (10_010_000_000, "壹亿零壹拾万元整"),
        (1_234_567_891, "壹仟贰佰叁拾肆万伍仟陆佰柒拾捌元玖角壹分"),
        (-250, "负贰元伍角整"),
    ],
)
def test_rmb_uppercase(fen, words):
    assert rmb_uppercase(fen) == words


def test_rmb_uppercase_refuses_floats():
    with pytest.raises(TypeError):
        rmb_uppercase(1.5)  # type: ignore[arg-type]


def test_yuan_text_groups_thousands():
    assert yuan_text(115_650_050) == "¥1,156,500.50"
    assert yuan_text(-5) == "-¥0.05"


def _party(label="甲方（卖方）"):
    return Party(label, "程力专用汽车股份有限公司")


def test_item_amount_must_equal_unit_price_times_quantity():
    with pytest.raises(InvalidValue) as err:
        ContractItem("运油车", "CLW9400", (), 2, 100, 150)
    assert err.value.field == "amount_fen"
    with pytest.raises(InvalidValue) as err:
        ContractItem("运油车", "CLW9400", (), 0, 100, 0)
    assert err.value.field == "quantity"


def test_document_totals_and_required_fields():
    items = (ContractItem("运油车", "A", (), 2, 300, 600), ContractItem("自卸车", "B", (), 1, 50, 50))
    doc = ContractDocument("HT1", dt.date(2026, 11, 22), _party(), _party("乙方（买方）"), items, None, "自提")
    assert (doc.total_fen, doc.total_quantity) == (650, 3)
    with pytest.raises(InvalidValue) as err:
        ContractDocument("HT1", dt.date(2026, 11, 22), _party(), _party(), (), None, "自提")
    assert err.value.field == "items"
    with pytest.raises(InvalidValue) as err:
        ContractDocument(" ", dt.date(2026, 11, 22), _party(), _party(), items, None, "自提")
    assert err.value.field == "contract_no"
