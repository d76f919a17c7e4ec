"""Key accounts (seed 000 §2.5 大客户协同管理): an archive of large end customers — name,
industry, region, contacts, the owning dealer and sales representative — and their bid cases,
won or lost, with amount, competitors and reasons (no tender process: 暂不做招投标过程管理)."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from typing import Literal, overload

import attrs

from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.regions import require_known_region
from dealercrm.domain.values import Phone

PRODUCT_LINES = ("tanker", "dump_truck", "semi_trailer")


class BidOutcome(enum.StrEnum):
    WON = "won"
    LOST = "lost"

    @property
    def label(self) -> str:
        return {"won": "中标", "lost": "未中标"}[self.value]


@attrs.frozen
class AccountContact:
    name: str
    title: str = ""
    phone: str = ""


@overload
def _text(field: str, value: str | None, max_len: int, *, required: Literal[True], label: str) -> str: ...


@overload
def _text(field: str, value: str | None, max_len: int, *, required: bool, label: str) -> str | None: ...


def _text(field: str, value: str | None, max_len: int, *, required: bool, label: str) -> str | None:
    if value is None or not value.strip():
        if required:
            raise InvalidValue(field, f"{label}不能为空", code=f"key_account.{field}_required")
        return None
    if len(value.strip()) > max_len:
        raise InvalidValue(field, f"{label}不能超过{max_len}字", code=f"key_account.{field}_too_long")
    return value.strip()


def _contacts(items: list[AccountContact] | tuple[AccountContact, ...]) -> list[dict[str, str]]:
    if len(items) > 20:
        raise InvalidValue("contacts", "联系人最多20个", code="key_account.too_many_contacts")
    out = []
    for n, c in enumerate(items):
        name = _text(f"contacts[{n}].name", c.name, 60, required=True, label="联系人姓名") or ""
        try:
            phone = Phone(c.phone).value if c.phone else ""
        except InvalidValue as exc:
            raise InvalidValue(f"contacts[{n}].phone", exc.message, code=exc.code) from None
        out.append({"name": name, "title": (c.title or "").strip()[:60], "phone": phone})
    return out


@attrs.define(slots=False, eq=False)
class BidCase:
    title: str
    bid_on: dt.date
    outcome: BidOutcome
    amount_fen: int
    recorded_at: dt.datetime
    recorded_by_name: str
    product_line: str | None = None
    quantity: int | None = None
    competitors: list[str] = attrs.field(factory=list)
    reasons: str | None = None
    key_account_id: int | None = None
    id: int | None = None


@attrs.define(slots=False, eq=False)
class KeyAccount:
    name: str
    industry: str
    region: str
    created_at: dt.datetime
    created_by_name: str
    dealer_id: int | None = None
    sales_rep_id: int | None = None
    contacts: list[dict[str, str]] = attrs.field(factory=list)
    notes: str | None = None
    bid_cases: list[BidCase] = attrs.field(factory=list)
    updated_at: dt.datetime | None = None
    version: int = 1
    id: int | None = None

    @classmethod
    def file(cls, *, name: str, industry: str, region: str, dealer_id: int | None, sales_rep_id: int | None,
             contacts: list[AccountContact], notes: str | None, by_name: str, now: dt.datetime,
             known_regions: Sequence[str]) -> KeyAccount:
        """A key account in one of ``known_regions`` (the active regions, ``domain.regions``)."""
        return cls(name=_text("name", name, 200, required=True, label="客户名称"),
                   industry=_text("industry", industry, 60, required=True, label="行业"),
                   region=require_known_region(region, known_regions), dealer_id=dealer_id, sales_rep_id=sales_rep_id,
                   contacts=_contacts(contacts), notes=_text("notes", notes, 2000, required=False, label="备注"),
                   created_at=now, created_by_name=by_name)

    def update(self, *, name: str | None, industry: str | None, contacts: list[AccountContact] | None,
               notes: str | None, sales_rep_id: int | None, now: dt.datetime) -> None:
        if name is not None:
            self.name = _text("name", name, 200, required=True, label="客户名称")
        if industry is not None:
            self.industry = _text("industry", industry, 60, required=True, label="行业")
        if contacts is not None:
            self.contacts = _contacts(contacts)
        if notes is not None:
            self.notes = _text("notes", notes, 2000, required=False, label="备注")
        if sales_rep_id is not None:
            self.sales_rep_id = sales_rep_id
        self.updated_at = now

    def record_bid(self, *, title: str, bid_on: dt.date, outcome: str, amount_fen: int, product_line: str | None,
                   quantity: int | None, competitors: list[str], reasons: str | None, by_name: str,
                   now: dt.datetime) -> BidCase:
        try:
            result = BidOutcome(outcome)
        except ValueError:
            raise InvalidValue("outcome", "结果须为 won（中标）或 lost（未中标）", code="bid.outcome_unknown") from None
        if not isinstance(amount_fen, int) or amount_fen < 0 or amount_fen > 10**13:
            raise InvalidValue("amount_fen", "金额须为非负整数（分）", code="bid.amount_invalid")
        if product_line is not None and product_line not in PRODUCT_LINES:
            raise InvalidValue("product_line", "产品线未知", code="product_line.unknown")
        if quantity is not None and not 1 <= quantity <= 10_000:
            raise InvalidValue("quantity", "数量须为1到10000", code="bid.quantity_invalid")
        if bid_on > now.date() + dt.timedelta(days=1):
            raise InvalidValue("bid_on", "投标日期不能在将来", code="bid.date_in_future")
        rivals = []
        for c in competitors:
            c = c.strip()
            if not c or len(c) > 100:
                raise InvalidValue("competitors", "竞争对手名称须为1到100字", code="bid.competitor_invalid")
            if c not in rivals:
                rivals.append(c)
        if len(rivals) > 20:
            raise InvalidValue("competitors", "竞争对手最多20个", code="bid.too_many_competitors")
        if result is BidOutcome.LOST and not (reasons and reasons.strip()):
            raise InvalidValue("reasons", "未中标须填写原因（失败案例）", code="bid.reasons_required")
        case = BidCase(title=_text("title", title, 200, required=True, label="项目名称"),
                       bid_on=bid_on, outcome=result, amount_fen=amount_fen, recorded_at=now, recorded_by_name=by_name,
                       product_line=product_line, quantity=quantity, competitors=rivals,
                       reasons=_text("reasons", reasons, 2000, required=False, label="原因"))
        self.bid_cases.append(case)
        self.updated_at = now
        return case
