"""The sales contract as a document: what it says, independent of how it is rendered.

The orders context builds a :class:`ContractDocument` from an approved order; a
``ContractRenderer`` port (PDF with an embedded Chinese font in ``adapters/documents``) turns it
into bytes whose SHA-256 is stored with the contract. Amounts are integer fen; the total is
also written in Chinese capital numerals (大写金额) as Chinese contracts require.
"""

from __future__ import annotations

import datetime as dt

import attrs

from dealercrm.domain.errors import InvalidValue

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UNITS = ("", "拾", "佰", "仟")
_SECTIONS = ("", "万", "亿", "万亿")


def rmb_uppercase(fen: int) -> str:
    """人民币大写: 1234567 fen → '壹万贰仟叁佰肆拾伍元陆角柒分'; 100 → '壹元整'."""
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise TypeError("amount must be integer fen")
    if fen < 0:
        return "负" + rmb_uppercase(-fen)
    yuan, rest = divmod(fen, 100)
    jiao, cents = divmod(rest, 10)
    if yuan >= 10 ** 16:
        raise InvalidValue("amount", "金额超出可书写范围", code="money.too_large")
    out: list[str] = []
    if yuan:
        digits = str(yuan)
        n = len(digits)
        zero_pending = False
        for i, ch in enumerate(digits):
            d = int(ch)
            pos = n - 1 - i
            if d == 0:
                zero_pending = True
            else:
                if zero_pending:
                    out.append("零")
                    zero_pending = False
                out.append(_DIGITS[d] + _UNITS[pos % 4])
            if pos % 4 == 0 and pos > 0 and int(digits[max(0, i - 3): i + 1]) != 0:
                out.append(_SECTIONS[pos // 4])
        out.append("元")
    if jiao == 0 and cents == 0:
        return "".join(out) + "整" if yuan else "零元整"
    if jiao:
        out.append(_DIGITS[jiao] + "角")
    elif yuan:
        out.append("零")
    if cents:
        out.append(_DIGITS[cents] + "分")
    else:
        out.append("整")
    return "".join(out)


def yuan_text(fen: int) -> str:
    """¥1,234,567.89 — figures as printed in the contract's tables."""
    sign = "-" if fen < 0 else ""
    yuan, rest = divmod(abs(fen), 100)
    return f"{sign}¥{yuan:,}.{rest:02d}"


@attrs.frozen
class Party:
    role_label: str  # 甲方（卖方） / 乙方（买方）
    name: str
    uscc: str = ""
    address: str = ""
    representative: str = ""
    phone: str = ""
    bank: str = ""


@attrs.frozen
class ContractItem:
    description: str  # template name
    model_code: str
    configuration: tuple[str, ...]  # "轴数：三轴", "轮胎：11R22.5 真空胎" ...
    quantity: int
    unit_price_fen: int
    amount_fen: int

    def __attrs_post_init__(self) -> None:
        if self.quantity <= 0:
            raise InvalidValue("quantity", "数量必须大于零", code="contract.quantity_invalid")
        if self.amount_fen != self.unit_price_fen * self.quantity:
            raise InvalidValue("amount_fen", "行金额须等于单价×数量", code="contract.amount_mismatch")


STANDARD_CLAUSES: tuple[str, ...] = (
    "质量标准：产品符合国家及行业现行标准（含GB 1589、GB 7258）及双方确认的技术配置；随车提供合格证、一致性证书及使用说明书。",
    "质保：按甲方《售后服务质量保证条款》执行，质保期自车辆出厂之日起计算，由甲方授权服务站提供服务。",
    "验收：乙方应在车辆到达或提车时当场验收，对外观、数量、配置有异议的应在回执中注明；未注明的视为验收合格。",
    "所有权与风险：车辆所有权自乙方付清全部货款时转移；风险自车辆出厂（自提）或交付承运人（外送）时转移。",
    "变更：合同签订后的配置变更须经双方书面确认，技术设计开始后的变更可能影响价格与交期。",
    "违约责任：任何一方违约应赔偿对方因此遭受的直接损失；逾期付款的，甲方有权顺延交货或暂停发车。",
    "争议解决：因本合同引起的争议，双方协商解决；协商不成的，提交甲方所在地人民法院诉讼解决。",
    "本合同经双方电子确认后生效，电子确认记录与本合同文本的SHA-256摘要具有同等证明效力。",
)


@attrs.frozen
class ContractDocument:
    contract_no: str
    signed_on: dt.date
    seller: Party
    buyer: Party
    items: tuple[ContractItem, ...]
    delivery_date: dt.date | None
    delivery_method: str  # 自提 / 外送
    delivery_address: str = ""
    payment_terms: tuple[str, ...] = ()
    end_customer: str = ""
    order_no: str = ""
    remarks: str = ""
    clauses: tuple[str, ...] = STANDARD_CLAUSES
    title: str = "专用车辆产品购销合同"

    def __attrs_post_init__(self) -> None:
        if not self.contract_no.strip():
            raise InvalidValue("contract_no", "合同编号不能为空", code="contract.no_missing")
        if not self.items:
            raise InvalidValue("items", "合同至少包含一项产品", code="contract.items_missing")

    @property
    def total_fen(self) -> int:
        return sum(item.amount_fen for item in self.items)

    @property
    def total_quantity(self) -> int:
        return sum(item.quantity for item in self.items)
