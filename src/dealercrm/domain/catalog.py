"""Catalog & pricing (seed 000 §3.1 车型模板, §3.2 订单价格测算).

A :class:`VehicleTemplate` is one model of one product line (罐式车 / 自卸车 / 半挂车) with a
working **draft** (:class:`TemplateContent`: name, typed specification fields, base price,
option groups with single or multiple choice, option price deltas, requires / excludes rules,
"special" flags). Publishing the draft freezes it as an immutable :class:`PublishedVersion`
(1, 2, 3 …); an order is priced on one version and keeps it forever. A retired template
accepts no new orders; its versions stay readable for the orders that use them.

:meth:`TemplateContent.configure` checks a dealer's selection against the template and names
the offending entry of the request's ``options`` list (``options[3]``) in Chinese.
:func:`estimate_price` is the automatic price estimate: base + option deltas, then the dealer's
discount tier for the product line, line by line, in integer fen, with the rounding stated.
A configuration that touches anything *special* still gets an indicative estimate but needs a
manual quote (see ``domain.orders``) — nobody outside the factory ever sets a price.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import attrs

from dealercrm.domain.channel import ProductLine
from dealercrm.domain.errors import BusinessRuleViolation, Conflict, IllegalTransition, InvalidValue
from dealercrm.domain.values import Money, as_tuple

MAX_DISCOUNT_BP = 3000  # 30 %: anything above is a typo, not a tier
ROUNDING_RULE = "unit_discount_half_even_to_fen"
ROUNDING_NOTE = "折扣额按单台列表价×折扣率计算，银行家舍入（四舍六入五成双）到分；总价=单台价×数量，不再舍入"

_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_MODEL_RE = re.compile(r"^[A-Z0-9][A-Z0-9\-]{2,29}$")


class ChoiceMode(enum.StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"

    @property
    def label(self) -> str:
        return "单选" if self is ChoiceMode.SINGLE else "多选"


class SpecKind(enum.StrEnum):
    NUMBER = "number"
    TEXT = "text"


class TemplateStatus(enum.StrEnum):
    DRAFT = "draft"  # never published: invisible to dealers
    ACTIVE = "active"  # on sale: dealers order its latest version
    RETIRED = "retired"  # 停售: no new orders, versions stay readable

    @property
    def label(self) -> str:
        return {"draft": "未发布", "active": "在售", "retired": "已停售"}[self.value]


def _blank(value: str) -> bool:
    return not isinstance(value, str) or not value.strip()


# ---------------------------------------------------------------------------------------------
# The content of a template (a value: two equal contents are the same template version)


@attrs.frozen
class SpecField:
    """One specification line (规格参数): ``tank_volume`` 罐体容积 = 40 m³."""

    key: str
    label: str
    value: str
    unit: str = ""
    kind: SpecKind = attrs.field(default=SpecKind.TEXT, converter=SpecKind)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.key, str) or not _KEY_RE.match(self.key):
            raise InvalidValue("key", "规格参数键须为小写字母开头的字母、数字或下划线", code="catalog.spec_key_malformed")
        if _blank(self.label) or _blank(self.value):
            raise InvalidValue("label", "规格参数的名称和取值不能为空", code="catalog.spec_blank")
        if self.kind is SpecKind.NUMBER:
            try:
                number = Decimal(self.value)
            except ArithmeticError:
                number = None
            if number is None or not number.is_finite():
                raise InvalidValue("value", f"规格参数「{self.label}」须为数值", code="catalog.spec_not_number")


@attrs.frozen
class Option:
    """One choice inside a group. ``price_delta`` may be negative (e.g. a lighter standard part)."""

    code: str
    name: str
    price_delta: Money
    special: bool = False  # 特殊配置: manual price review (核价) before the order may be submitted
    requires: tuple[str, ...] = attrs.field(default=(), converter=as_tuple)
    excludes: tuple[str, ...] = attrs.field(default=(), converter=as_tuple)
    description: str = ""

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.code, str) or not _CODE_RE.match(self.code):
            raise InvalidValue("code", "选装项编码须为1到40位字母、数字、点、下划线或连字符", code="catalog.option_code_malformed")
        if _blank(self.name):
            raise InvalidValue("name", "选装项名称不能为空", code="catalog.option_name_blank")


@attrs.frozen
class OptionGroup:
    """A group of options (轴数, 轮胎, 悬挂 …): single or multiple choice, required or optional."""

    code: str
    name: str
    mode: ChoiceMode = attrs.field(converter=ChoiceMode)
    required: bool
    options: tuple[Option, ...] = attrs.field(converter=as_tuple)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.code, str) or not _CODE_RE.match(self.code):
            raise InvalidValue("code", "选装组编码须为1到40位字母、数字、点、下划线或连字符", code="catalog.group_code_malformed")
        if _blank(self.name):
            raise InvalidValue("name", "选装组名称不能为空", code="catalog.group_name_blank")
        if not self.options:
            raise InvalidValue("options", f"选装组「{self.name}」至少需要一个选项", code="catalog.group_empty")


@attrs.frozen(slots=False)
class TemplateContent:
    """Everything a version of a template says. Validated as a whole on construction; the
    ``field`` of an error is the path in the request body (``option_groups[1].options[0].requires``)."""

    name: str
    base_price: Money
    spec_fields: tuple[SpecField, ...] = attrs.field(default=(), converter=as_tuple)
    option_groups: tuple[OptionGroup, ...] = attrs.field(default=(), converter=as_tuple)
    special: bool = False  # the whole model needs manual pricing (非标车型)
    description: str = ""

    def __attrs_post_init__(self) -> None:
        if _blank(self.name):
            raise InvalidValue("name", "车型名称不能为空", code="catalog.name_blank")
        if self.base_price.fen <= 0:
            raise InvalidValue("base_price_fen", "基础价格须大于0", code="catalog.base_price_not_positive")
        keys: set[str] = set()
        for i, spec in enumerate(self.spec_fields):
            if spec.key in keys:
                raise InvalidValue(f"spec_fields[{i}].key", f"规格参数键重复：{spec.key}", code="catalog.spec_key_duplicate")
            keys.add(spec.key)
        group_codes: set[str] = set()
        owner: dict[str, tuple[int, int]] = {}
        for gi, group in enumerate(self.option_groups):
            if group.code in group_codes:
                raise InvalidValue(f"option_groups[{gi}].code", f"选装组编码重复：{group.code}",
                                   code="catalog.group_code_duplicate")
            group_codes.add(group.code)
            for oi, option in enumerate(group.options):
                if option.code in owner:
                    raise InvalidValue(f"option_groups[{gi}].options[{oi}].code", f"选装项编码重复：{option.code}",
                                       code="catalog.option_code_duplicate")
                owner[option.code] = (gi, oi)
        for gi, group in enumerate(self.option_groups):
            for oi, option in enumerate(group.options):
                path = f"option_groups[{gi}].options[{oi}]"
                for rule in ("requires", "excludes"):
                    for target in getattr(option, rule):
                        if target not in owner:
                            raise InvalidValue(f"{path}.{rule}", f"「{option.name}」的约束引用了不存在的选装项：{target}",
                                               code="catalog.rule_unknown_option")
                        if target == option.code:
                            raise InvalidValue(f"{path}.{rule}", f"「{option.name}」不能约束自身",
                                               code="catalog.rule_self")
                both = set(option.requires) & set(option.excludes)
                if both:
                    raise InvalidValue(f"{path}.excludes", f"「{option.name}」不能同时要求并排斥同一选装项",
                                       code="catalog.rule_contradiction")
                for target in option.requires:
                    tg, _ = owner[target]
                    if tg == gi and group.mode is ChoiceMode.SINGLE:
                        raise InvalidValue(f"{path}.requires",
                                           f"单选组「{group.name}」内的「{option.name}」不能要求同组的其他选项",
                                           code="catalog.rule_unsatisfiable")

    def __str__(self) -> str:  # short form for logs and the audit trail
        count = sum(len(g.options) for g in self.option_groups)
        return f"{self.name}（基础价{self.base_price}，{len(self.option_groups)}组{count}项选装）"

    # -- lookups -----------------------------------------------------------------------------

    @functools.cached_property
    def _index(self) -> dict[str, tuple[OptionGroup, Option]]:
        return {o.code: (g, o) for g in self.option_groups for o in g.options}

    def option(self, code: str) -> tuple[OptionGroup, Option] | None:
        return self._index.get(code)

    def label_of(self, code: str) -> str:
        found = self._index.get(code)
        return found[1].name if found else code

    # -- configuration -----------------------------------------------------------------------

    def blocked_by(self, selected: Sequence[str]) -> dict[str, str]:
        """Options that cannot join ``selected`` because of an exclusion (either side names it):
        option code → the name of the chosen option that excludes it. A configurator greys them."""
        chosen = [c for c in selected if c in self._index]
        out: dict[str, str] = {}
        for code in chosen:
            option = self._index[code][1]
            for other in option.excludes:
                if other not in chosen:
                    out.setdefault(other, option.name)
        for group in self.option_groups:
            for option in group.options:
                if option.code not in chosen and any(c in option.excludes for c in chosen):
                    out.setdefault(option.code, self.label_of(next(c for c in chosen if c in option.excludes)))
        return out

    def configure(self, selected: Sequence[str], field: str = "options") -> Configuration:
        """Check a selection; raise ``InvalidValue`` naming ``options[i]`` for the first problem
        (all problems are listed in ``errors``). Returns the configuration in request order."""
        problems: list[tuple[str, str, str]] = []
        seen: dict[str, int] = {}
        chosen_in_group: dict[str, tuple[int, Option]] = {}
        for i, code in enumerate(selected):
            where = f"{field}[{i}]"
            found = self._index.get(code) if isinstance(code, str) else None
            if found is None:
                problems.append((where, "order.option_unknown", f"未知的选装项：{code}（不属于车型「{self.name}」的此版本）"))
                continue
            group, option = found
            if code in seen:
                problems.append((where, "order.option_duplicate", f"选装项「{option.name}」重复选择"))
                continue
            seen[code] = i
            if group.mode is ChoiceMode.SINGLE and group.code in chosen_in_group:
                earlier = chosen_in_group[group.code][1]
                problems.append((where, "order.option_group_single",
                                 f"「{group.name}」为单选，不能同时选择「{earlier.name}」和「{option.name}」"))
                continue
            chosen_in_group.setdefault(group.code, (i, option))
        for code, i in seen.items():
            option = self._index[code][1]
            for other in option.excludes:
                if other in seen:  # named in the order chosen, so A→B and B→A report once
                    first, second = sorted((i, seen[other]))
                    problems.append((f"{field}[{second}]", "order.option_excludes",
                                     f"「{self.label_of(selected[first])}」与「{self.label_of(selected[second])}」互斥，"
                                     "不能同时选择"))
            for other in option.requires:
                if other not in seen:
                    problems.append((f"{field}[{i}]", "order.option_requires",
                                     f"选择「{option.name}」须同时选择「{self.label_of(other)}」"))
        for group in self.option_groups:
            if group.required and not any(o.code in seen for o in group.options):
                problems.append((field, "order.option_group_required", f"必选项「{group.name}」未选择"))
        if problems:
            unique = list(dict.fromkeys(problems))  # an exclusion found from both sides is one problem
            where, code, message = unique[0]
            raise InvalidValue(where, message, code=code,
                               errors=[{"field": f, "code": c, "message": m} for f, c, m in unique])
        codes = tuple(seen)
        special = self.special or any(self._index[c][1].special for c in codes)
        return Configuration(codes, special)


@attrs.frozen
class Configuration:
    """A validated selection: option codes in the order chosen; ``special`` → manual quote."""

    options: tuple[str, ...]
    special: bool


@attrs.frozen
class PublishedVersion:
    """An immutable, published version of a template. Orders reference (template_id, version)."""

    template_id: int
    version: int
    model_code: str
    product_line: ProductLine = attrs.field(converter=ProductLine)
    content: TemplateContent
    published_at: dt.datetime
    published_by: str


# ---------------------------------------------------------------------------------------------
# The template aggregate


@attrs.frozen
class TemplateEvent:
    template_id: int | None
    name: str
    data: dict[str, Any] = attrs.field(factory=dict)


@attrs.define(slots=False, eq=False)
class VehicleTemplate:
    model_code: str
    product_line: ProductLine
    draft: TemplateContent
    status: TemplateStatus = TemplateStatus.DRAFT
    latest_version: int = 0
    has_unpublished_changes: bool = True
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    retired_at: dt.datetime | None = None
    lock_version: int = 1
    id: int | None = None
    events: list[TemplateEvent] = attrs.field(factory=list)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.model_code, str) or not _MODEL_RE.match(self.model_code):
            raise InvalidValue("model_code", "车型代码须为3到30位大写字母、数字或连字符（如 HTL9400GYY）",
                               code="catalog.model_code_malformed")
        if self.product_line not in set(ProductLine):
            raise InvalidValue("product_line", "产品线须为 tanker、dump_truck 或 semi_trailer", code="product_line.unknown")

    @property
    def is_orderable(self) -> bool:
        return self.status is TemplateStatus.ACTIVE and self.latest_version > 0

    def revise(self, content: TemplateContent, now: dt.datetime) -> None:
        """Replace the working draft. Orders and published versions are untouched."""
        if self.status is TemplateStatus.RETIRED:
            raise IllegalTransition("vehicle_template", self.status.value, "revise")
        if content == self.draft:
            return
        self.draft = content
        self.has_unpublished_changes = True
        self.updated_at = now
        self.events.append(TemplateEvent(self.id, "template_revised"))

    def publish(self, now: dt.datetime, published_by: str) -> PublishedVersion:
        """Freeze the draft as the next version; dealers order it from now on."""
        if self.status is TemplateStatus.RETIRED:
            raise IllegalTransition("vehicle_template", self.status.value, "publish")
        if not self.has_unpublished_changes:
            raise Conflict("草稿与最新发布版本相同，无需发布", code="catalog.nothing_to_publish",
                           current_version=self.latest_version)
        if self.id is None:
            raise BusinessRuleViolation("车型须先保存再发布", code="catalog.not_saved")
        self.latest_version += 1
        self.status = TemplateStatus.ACTIVE
        self.has_unpublished_changes = False
        self.updated_at = now
        self.events.append(TemplateEvent(self.id, "template_published", {"version": self.latest_version}))
        return PublishedVersion(self.id, self.latest_version, self.model_code, self.product_line, self.draft, now,
                                published_by)

    def retire(self, now: dt.datetime) -> None:
        if self.status is not TemplateStatus.ACTIVE:
            raise IllegalTransition("vehicle_template", self.status.value, "retire")
        self.status = TemplateStatus.RETIRED
        self.retired_at = now
        self.updated_at = now
        self.events.append(TemplateEvent(self.id, "template_retired"))


# ---------------------------------------------------------------------------------------------
# Discount tiers and the price estimate


@attrs.define(slots=False, eq=False)
class DealerPriceTier:
    """A dealer's discount tier (优惠等级) for one product line, set by sales management."""

    dealer_id: int
    product_line: ProductLine
    tier_code: str
    discount_bp: int  # basis points: 350 = 3.50 %
    updated_at: dt.datetime | None = None
    updated_by: str | None = None
    id: int | None = None

    def __attrs_post_init__(self) -> None:
        check_tier(self.tier_code, self.discount_bp)

    def change(self, tier_code: str, discount_bp: int, now: dt.datetime, by: str) -> None:
        check_tier(tier_code, discount_bp)
        self.tier_code = tier_code
        self.discount_bp = discount_bp
        self.updated_at = now
        self.updated_by = by


def check_tier(tier_code: str, discount_bp: int) -> None:
    if _blank(tier_code) or len(tier_code) > 20:
        raise InvalidValue("tier_code", "优惠等级代码须为1到20个字符", code="pricing.tier_code_malformed")
    if isinstance(discount_bp, bool) or not isinstance(discount_bp, int) or not 0 <= discount_bp <= MAX_DISCOUNT_BP:
        raise InvalidValue("discount_bp", f"折扣须为0到{MAX_DISCOUNT_BP}个基点（0%–{MAX_DISCOUNT_BP // 100}%）的整数",
                           code="pricing.discount_out_of_range")


@attrs.frozen
class Tier:
    """The tier applied to one estimate; ``NO_TIER`` when the dealer has none for the line."""

    code: str
    discount_bp: int

    @property
    def rate(self) -> Decimal:
        return Decimal(self.discount_bp) / Decimal(10_000)


NO_TIER = Tier("标准", 0)


class PriceLineKind(enum.StrEnum):
    BASE = "base"
    OPTION = "option"
    DISCOUNT = "discount"


@attrs.frozen
class PriceLine:
    kind: PriceLineKind = attrs.field(converter=PriceLineKind)
    code: str
    label: str
    amount: Money
    group: str | None = None
    special: bool = False


@attrs.frozen
class PriceEstimate:
    """The automatic estimate for one unit and for the quantity. All amounts in fen.

    ``list_unit`` = base + option deltas; ``discount_unit`` (≤ 0) = −round(list_unit × rate);
    ``net_unit`` = list_unit + discount_unit; ``total`` = net_unit × quantity.
    """

    template_id: int
    template_version: int
    model_code: str
    lines: tuple[PriceLine, ...] = attrs.field(converter=as_tuple)
    list_unit: Money
    tier: Tier
    discount_unit: Money
    net_unit: Money
    quantity: int
    total: Money
    requires_quote: bool
    rounding: str = ROUNDING_RULE


    def __str__(self) -> str:
        return f"{self.model_code} v{self.template_version}：单台{self.net_unit}×{self.quantity}={self.total}"


def estimate_price(version: PublishedVersion, configuration: Configuration, quantity: int,
                   tier: Tier = NO_TIER) -> PriceEstimate:
    """Base + options, then the dealer's tier, line by line (see :class:`PriceEstimate`)."""
    check_quantity(quantity)
    content = version.content
    lines = [PriceLine(PriceLineKind.BASE, version.model_code, f"{content.name}（基础价）", content.base_price,
                       special=content.special)]
    for code in configuration.options:
        found = content.option(code)
        if found is None:  # a configuration always comes from this content's configure()
            raise InvalidValue("options", f"未知的选装项：{code}", code="order.option_unknown")
        group, option = found
        lines.append(PriceLine(PriceLineKind.OPTION, option.code, option.name, option.price_delta, group.name,
                               option.special))
    list_unit = sum((line.amount for line in lines), Money.zero())
    if list_unit.fen <= 0:
        raise BusinessRuleViolation("所选配置的单台价格须大于0", code="pricing.non_positive")
    discount = Money(-list_unit.apply_rate(tier.rate).fen)
    if tier.discount_bp:
        lines.append(PriceLine(PriceLineKind.DISCOUNT, tier.code,
                               f"经销商优惠（{tier.code}级，{Decimal(tier.discount_bp) / 100:.2f}%）", discount))
    net = list_unit + discount
    return PriceEstimate(version.template_id, version.version, version.model_code, tuple(lines), list_unit, tier,
                         discount, net, quantity, net * quantity, configuration.special)


MAX_QUANTITY = 500


def check_quantity(quantity: int, field: str = "quantity") -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidValue(field, f"数量须为1到{MAX_QUANTITY}之间的整数", code="order.quantity_out_of_range")
