"""Use cases of the catalog: vehicle templates (draft → publish versions → retire) and the
dealers' discount tiers, plus the scoped catalog reads.

Who manages what (seed 000 §3.1–§3.2, DOMAIN.md context 2):

* templates — admin, technical (规格与选装) and region managers (销售管理, prices);
* discount tiers — admin and region managers, for dealers in their regions;
* dealers read only published templates that are on sale (``active``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from dealercrm.application.access import dealer_scope, not_found, require_role
from dealercrm.application.ports.orders import OrderQueries, OrdersUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.reads.orders import PriceTierRow
from dealercrm.domain.catalog import (
    DealerPriceTier,
    Option,
    OptionGroup,
    SpecField,
    TemplateContent,
    TemplateStatus,
    VehicleTemplate,
)
from dealercrm.domain.channel import ProductLine
from dealercrm.domain.errors import Conflict, InvalidValue, InvariantBroken
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.orders import beijing_today
from dealercrm.domain.values import Money

CATALOG_MANAGERS = (Role.ADMIN, Role.TECHNICAL, Role.REGION_MANAGER)
TIER_MANAGERS = (Role.ADMIN, Role.REGION_MANAGER)


# ---------------------------------------------------------------------------------------------
# Commands


@attrs.frozen
class SpecFieldIn:
    key: str
    label: str
    value: str
    unit: str = ""
    kind: str = "text"


@attrs.frozen
class OptionIn:
    code: str
    name: str
    price_delta_fen: int
    special: bool = False
    requires: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    description: str = ""


@attrs.frozen
class OptionGroupIn:
    code: str
    name: str
    mode: str
    required: bool
    options: tuple[OptionIn, ...]


@attrs.frozen
class TemplateContentIn:
    name: str
    base_price_fen: int
    spec_fields: tuple[SpecFieldIn, ...] = ()
    option_groups: tuple[OptionGroupIn, ...] = ()
    special: bool = False
    description: str = ""


@attrs.frozen
class CreateTemplate:
    model_code: str
    product_line: str
    content: TemplateContentIn
    publish: bool = False


@attrs.frozen
class SetPriceTier:
    dealer_id: int
    product_line: str
    tier_code: str
    discount_bp: int


@attrs.frozen
class TemplateRef:
    id: int
    model_code: str
    status: str
    latest_version: int


# ---------------------------------------------------------------------------------------------
# Builders: request values → domain values, errors naming the request path


def _at(prefix: str, err: InvalidValue) -> InvalidValue:
    return InvalidValue(f"{prefix}.{err.field}" if prefix else err.field, err.message, code=err.code)


def _money(fen: int, field: str) -> Money:
    try:
        return Money(fen)
    except InvalidValue as e:
        raise InvalidValue(field, e.message, code=e.code) from None


def build_content(c: TemplateContentIn, prefix: str = "content") -> TemplateContent:
    """Build and validate; an error's field is the path in the request body (``content.…``)."""
    try:
        return _build_content(c)
    except InvalidValue as e:
        raise _at(prefix, e) from None


def _build_content(c: TemplateContentIn) -> TemplateContent:
    specs = []
    for i, s in enumerate(c.spec_fields):
        try:
            specs.append(SpecField(s.key, s.label.strip(), s.value.strip(), s.unit.strip(), _spec_kind(s.kind)))
        except InvalidValue as e:
            raise _at(f"spec_fields[{i}]", e) from None
    groups = []
    for gi, g in enumerate(c.option_groups):
        options = []
        for oi, o in enumerate(g.options):
            path = f"option_groups[{gi}].options[{oi}]"
            try:
                options.append(Option(o.code, o.name.strip(), _money(o.price_delta_fen, "price_delta_fen"), o.special,
                                      tuple(o.requires), tuple(o.excludes), o.description.strip()))
            except InvalidValue as e:
                raise _at(path, e) from None
        if g.mode not in ("single", "multiple"):
            raise InvalidValue(f"option_groups[{gi}].mode", "选择方式须为 single（单选）或 multiple（多选）",
                               code="catalog.group_mode_unknown")
        try:
            groups.append(OptionGroup(g.code, g.name.strip(), g.mode, g.required, tuple(options)))
        except InvalidValue as e:
            raise _at(f"option_groups[{gi}]", e) from None
    return TemplateContent(c.name.strip(), _money(c.base_price_fen, "base_price_fen"), tuple(specs), tuple(groups),
                           c.special, c.description.strip())


def _spec_kind(kind: str) -> str:
    if kind not in ("text", "number"):
        raise InvalidValue("kind", "规格参数类型须为 text 或 number", code="catalog.spec_kind_unknown")
    return kind


def product_line(value: str, field: str = "product_line") -> ProductLine:
    try:
        return ProductLine(value)
    except ValueError:
        raise InvalidValue(field, "产品线须为 tanker（罐式车）、dump_truck（自卸车）或 semi_trailer（半挂车）",
                           code="product_line.unknown") from None


# ---------------------------------------------------------------------------------------------
# Templates


def _template(uow: OrdersUnitOfWork, template_id: int) -> VehicleTemplate:
    template = uow.catalog.get(template_id)
    if template is None:
        raise not_found("vehicle_template", "车型模板")
    return template


def create_template(cmd: CreateTemplate, uow: OrdersUnitOfWork, clock: Clock) -> TemplateRef:
    """A new template in ``draft``; with ``publish`` its first version is published at once."""
    require_role(uow.actor, *CATALOG_MANAGERS)
    line = product_line(cmd.product_line)
    content = build_content(cmd.content)
    now = clock()
    with uow:
        if uow.catalog.by_model_code(cmd.model_code) is not None:
            raise Conflict("车型代码已存在", code="catalog.model_code_taken", field="model_code")
        template = VehicleTemplate(model_code=cmd.model_code, product_line=line, draft=content, created_at=now,
                                   updated_at=now)
        uow.catalog.add(template)
        uow.flush()
        if cmd.publish:
            uow.catalog.add_version(template.publish(now, uow.actor.username))
        ref = _ref(template)
        uow.commit()
    return ref


def revise_template(template_id: int, content_in: TemplateContentIn, uow: OrdersUnitOfWork, clock: Clock,
                    expected_lock_version: int | None = None) -> TemplateRef:
    require_role(uow.actor, *CATALOG_MANAGERS)
    content = build_content(content_in)
    with uow:
        template = _template(uow, template_id)
        if expected_lock_version is not None and expected_lock_version != template.lock_version:
            raise Conflict("车型模板已被他人修改，请刷新后重试", code="catalog.stale", current=template.lock_version)
        template.revise(content, clock())
        uow.flush()
        ref = _ref(template)
        uow.commit()
    return ref


def publish_template(template_id: int, uow: OrdersUnitOfWork, clock: Clock) -> TemplateRef:
    """Freeze the draft as the next immutable version. Orders already priced keep theirs."""
    require_role(uow.actor, *CATALOG_MANAGERS)
    with uow:
        template = _template(uow, template_id)
        uow.catalog.add_version(template.publish(clock(), uow.actor.username))
        ref = _ref(template)
        uow.commit()
    return ref


def retire_template(template_id: int, uow: OrdersUnitOfWork, clock: Clock) -> TemplateRef:
    require_role(uow.actor, *CATALOG_MANAGERS)
    with uow:
        template = _template(uow, template_id)
        template.retire(clock())
        ref = _ref(template)
        uow.commit()
    return ref


def _ref(t: VehicleTemplate) -> TemplateRef:
    if t.id is None:
        raise InvariantBroken("vehicle template has no id: not flushed")
    return TemplateRef(t.id, t.model_code, t.status.value, t.latest_version)


# ---------------------------------------------------------------------------------------------
# Discount tiers


def set_price_tier(cmd: SetPriceTier, uow: OrdersUnitOfWork, clock: Clock) -> int:
    """Create or change a dealer's tier for one product line (one row per dealer and line)."""
    require_role(uow.actor, *TIER_MANAGERS)
    with uow:
        tier_id = set_price_tier_in(uow, cmd, clock())
        uow.commit()
    return tier_id


def set_price_tier_in(uow: OrdersUnitOfWork, cmd: SetPriceTier, now: dt.datetime) -> int:
    """:func:`set_price_tier` inside the caller's open unit of work (no commit): several lines,
    or a tier together with the caller's own change, commit or roll back as one."""
    require_role(uow.actor, *TIER_MANAGERS)
    line = product_line(cmd.product_line)
    terms = uow.orders.dealer_terms(cmd.dealer_id, beijing_today(now))
    if terms is None or not dealer_scope(uow.actor).admits(terms.dealer_id, terms.region):
        raise not_found("dealer", "经销商")
    tier = uow.price_tiers.get(cmd.dealer_id, line.value)
    if tier is None:
        tier = DealerPriceTier(cmd.dealer_id, line, cmd.tier_code.strip(), cmd.discount_bp, now, uow.actor.username)
        uow.price_tiers.add(tier)
    else:
        tier.change(cmd.tier_code.strip(), cmd.discount_bp, now, uow.actor.username)
    uow.flush()
    if tier.id is None:
        raise InvariantBroken("tier has no id: not flushed")
    return tier.id


# ---------------------------------------------------------------------------------------------
# Reads


def _is_dealer(actor: Principal) -> bool:
    return actor.role is Role.DEALER


def list_templates(actor: Principal, queries: OrderQueries, product_line_filter: str | None) -> list[dict[str, Any]]:
    if product_line_filter:
        product_line(product_line_filter)
    if dealer_scope(actor).nothing:
        return []
    return queries.list_templates(product_line=product_line_filter, published_only=_is_dealer(actor))


def template_detail(actor: Principal, queries: OrderQueries, template_id: int) -> dict[str, Any]:
    row = queries.template_detail(template_id)
    if row is None or dealer_scope(actor).nothing:
        raise not_found("vehicle_template", "车型模板")
    if _is_dealer(actor):
        if str(row["status"]) != TemplateStatus.ACTIVE.value or row["published"] is None:
            raise not_found("vehicle_template", "车型模板")
        row = {**row, "draft": None, "has_unpublished_changes": None}
    return row


def template_version(actor: Principal, queries: OrderQueries, template_id: int, version: int) -> dict[str, Any]:
    row = queries.template_version(template_id, version)
    if row is None or dealer_scope(actor).nothing or (
            _is_dealer(actor) and str(row["status"]) != TemplateStatus.ACTIVE.value):
        raise not_found("vehicle_template_version", "车型模板版本")
    return row


def list_price_tiers(actor: Principal, queries: OrderQueries, dealer_id: int | None) -> list[PriceTierRow]:
    scope = dealer_scope(actor)
    if scope.nothing:
        return []
    return queries.list_price_tiers(dealer_id=scope.dealer_id, regions=scope.regions,
                                    filter_dealer_id=dealer_id)
