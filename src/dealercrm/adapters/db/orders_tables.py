"""Tables and imperative mapping of the catalog, discount tiers and orders.

Template contents and price estimates are values: they are stored whole as JSON documents
(``TemplateContentType``, ``PriceEstimateType``) and rebuilt — and so re-validated — on load.
A published version is a row that is inserted once and never updated.

``order_events`` is the order timeline. The :class:`Order` aggregate records entries in its
plain ``events`` list (loading an order never reads its history); a Session ``after_flush``
listener writes them to ``order_events`` on the same connection and empties the list, so they
commit or roll back with the change. Later contexts that do not load the order (ERP sync)
append with :func:`append_order_events`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    insert,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, composite, relationship
from sqlalchemy.types import TypeDecorator

from dealercrm.adapters.db.base import AppendOnlyLog, IdType, mapper_registry, metadata
from dealercrm.adapters.db.types import StrEnumType, UtcDateTime, ValueObjectType
from dealercrm.domain.catalog import (
    ChoiceMode,
    DealerPriceTier,
    Option,
    OptionGroup,
    PriceEstimate,
    PriceLine,
    SpecField,
    TemplateContent,
    TemplateStatus,
    Tier,
    VehicleTemplate,
)
from dealercrm.domain.channel import ProductLine
from dealercrm.domain.orders import (
    DeliveryAddress,
    DeliveryMethod,
    EndCustomer,
    Order,
    OrderEvent,
    OrderState,
    PriceQuote,
    PriceSource,
    QuoteStatus,
    SuppliedPart,
    SuppliedPartKind,
)
from dealercrm.domain.values import Money, Phone

# ---------------------------------------------------------------------------------------------
# JSON documents ⇄ values


def content_to_json(c: TemplateContent) -> dict[str, Any]:
    return {
        "name": c.name,
        "base_price_fen": c.base_price.fen,
        "special": c.special,
        "description": c.description,
        "spec_fields": [{"key": s.key, "label": s.label, "value": s.value, "unit": s.unit, "kind": s.kind.value}
                        for s in c.spec_fields],
        "option_groups": [
            {"code": g.code, "name": g.name, "mode": g.mode.value, "required": g.required,
             "options": [{"code": o.code, "name": o.name, "price_delta_fen": o.price_delta.fen, "special": o.special,
                          "requires": list(o.requires), "excludes": list(o.excludes), "description": o.description}
                         for o in g.options]}
            for g in c.option_groups
        ],
    }


def content_from_json(d: dict[str, Any]) -> TemplateContent:
    return TemplateContent(
        name=d["name"],
        base_price=Money(d["base_price_fen"]),
        special=d.get("special", False),
        description=d.get("description", ""),
        spec_fields=tuple(SpecField(s["key"], s["label"], s["value"], s.get("unit", ""), s.get("kind", "text"))
                          for s in d.get("spec_fields", ())),
        option_groups=tuple(
            OptionGroup(g["code"], g["name"], ChoiceMode(g["mode"]), g["required"], tuple(
                Option(o["code"], o["name"], Money(o["price_delta_fen"]), o.get("special", False),
                       tuple(o.get("requires", ())), tuple(o.get("excludes", ())), o.get("description", ""))
                for o in g["options"]))
            for g in d.get("option_groups", ())
        ),
    )


def estimate_to_json(e: PriceEstimate) -> dict[str, Any]:
    return {
        "template_id": e.template_id,
        "template_version": e.template_version,
        "model_code": e.model_code,
        "lines": [{"kind": li.kind.value, "code": li.code, "label": li.label, "amount_fen": li.amount.fen,
                   "group": li.group, "special": li.special} for li in e.lines],
        "list_unit_fen": e.list_unit.fen,
        "tier_code": e.tier.code,
        "discount_bp": e.tier.discount_bp,
        "discount_unit_fen": e.discount_unit.fen,
        "net_unit_fen": e.net_unit.fen,
        "quantity": e.quantity,
        "total_fen": e.total.fen,
        "requires_quote": e.requires_quote,
        "rounding": e.rounding,
    }


def estimate_from_json(d: dict[str, Any]) -> PriceEstimate:
    return PriceEstimate(
        template_id=d["template_id"], template_version=d["template_version"], model_code=d["model_code"],
        lines=tuple(PriceLine(li["kind"], li["code"], li["label"], Money(li["amount_fen"]), li.get("group"),
                              li.get("special", False)) for li in d["lines"]),
        list_unit=Money(d["list_unit_fen"]), tier=Tier(d["tier_code"], d["discount_bp"]),
        discount_unit=Money(d["discount_unit_fen"]), net_unit=Money(d["net_unit_fen"]), quantity=d["quantity"],
        total=Money(d["total_fen"]), requires_quote=d["requires_quote"], rounding=d["rounding"],
    )


class _JsonValue(TypeDecorator[Any]):
    impl = JSON
    cache_ok = True
    to_json: Any = None
    from_json: Any = None

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return None if value is None else type(self).to_json(value)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return None if value is None else type(self).from_json(value)


class TemplateContentType(_JsonValue):
    cache_ok = True
    to_json = staticmethod(content_to_json)
    from_json = staticmethod(content_from_json)


class PriceEstimateType(_JsonValue):
    cache_ok = True
    to_json = staticmethod(estimate_to_json)
    from_json = staticmethod(estimate_from_json)


class MoneyType(TypeDecorator[Money]):
    """Integer fen ⇄ :class:`Money`."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        return None if value is None else value.fen

    def process_result_value(self, value: int | None, dialect: Any) -> Money | None:
        return None if value is None else Money(int(value))


# ---------------------------------------------------------------------------------------------
# Tables

catalog_templates = Table(
    "catalog_templates",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("model_code", String(30), nullable=False, unique=True),
    Column("product_line", StrEnumType(ProductLine), nullable=False),
    Column("status", StrEnumType(TemplateStatus), nullable=False),
    Column("draft", TemplateContentType, nullable=False),
    Column("latest_version", Integer, nullable=False),
    Column("has_unpublished_changes", Boolean, nullable=False),
    Column("created_at", UtcDateTime),
    Column("updated_at", UtcDateTime),
    Column("retired_at", UtcDateTime),
    Column("lock_version", Integer, nullable=False),
    Index("ix_catalog_templates_line_status", "product_line", "status"),
)

catalog_template_versions = Table(
    "catalog_template_versions",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("template_id", IdType, ForeignKey("catalog_templates.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("model_code", String(30), nullable=False),
    Column("product_line", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("base_price_fen", BigInteger, nullable=False),
    Column("special", Boolean, nullable=False),
    Column("content", JSON, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("published_at", UtcDateTime, nullable=False),
    Column("published_by", String(60), nullable=False),
    UniqueConstraint("template_id", "version"),
)

dealer_price_tiers = Table(
    "dealer_price_tiers",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), nullable=False),
    Column("product_line", StrEnumType(ProductLine), nullable=False),
    Column("tier_code", String(20), nullable=False),
    Column("discount_bp", Integer, nullable=False),
    Column("updated_at", UtcDateTime),
    Column("updated_by", String(60)),
    UniqueConstraint("dealer_id", "product_line"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("order_no", String(30), nullable=False, unique=True),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), nullable=False),
    Column("template_id", IdType, ForeignKey("catalog_templates.id"), nullable=False),
    Column("template_version", Integer, nullable=False),
    Column("model_code", String(30), nullable=False),
    Column("product_line", StrEnumType(ProductLine), nullable=False),
    Column("template_name", String(200), nullable=False),
    Column("options", JSON, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("requested_delivery_date", Date, nullable=False),
    Column("delivery_method", StrEnumType(DeliveryMethod), nullable=False),
    Column("delivery_province", String(20)),
    Column("delivery_city", String(40)),
    Column("delivery_detail", String(200)),
    Column("delivery_consignee", String(60)),
    Column("delivery_consignee_phone", ValueObjectType(Phone, 20)),
    Column("end_customer_name", String(100)),
    Column("end_customer_phone", ValueObjectType(Phone, 20)),
    Column("end_customer_industry", String(60)),
    Column("remarks", String(1000)),
    Column("estimate", PriceEstimateType, nullable=False),
    Column("requires_quote", Boolean, nullable=False),
    Column("unit_price_fen", MoneyType, nullable=False),
    Column("total_fen", MoneyType, nullable=False),
    Column("price_source", StrEnumType(PriceSource), nullable=False),
    Column("state", StrEnumType(OrderState), nullable=False),
    Column("state_changed_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by_id", IdType),
    Column("created_by_name", String(60)),
    Column("updated_at", UtcDateTime),
    Column("submitted_at", UtcDateTime),
    Column("submission_count", Integer, nullable=False),
    Column("release_round", Integer, nullable=False, server_default=text("1")),
    Column("return_reasons", JSON, nullable=False),
    Column("is_major_modification", Boolean, nullable=False),
    Column("contract_no", String(40)),
    Column("agreed_delivery_date", Date),
    Column("erp_tracking_no", String(40), unique=True),
    Column("production_status", String(32)),
    Column("production_percent", Integer),
    Column("version", Integer, nullable=False),
    Index("ix_orders_dealer_id_id", "dealer_id", "id"),
    Index("ix_orders_state_id", "state", "id"),
    Index("ix_orders_template_id_id", "template_id", "id"),
    Index("ix_orders_product_line_id", "product_line", "id"),
    Index("ix_orders_created_at", "created_at"),
    Index("ix_orders_requested_delivery_date", "requested_delivery_date"),
    Index("ix_orders_contract_no", "contract_no"),
)

order_supplied_parts = Table(
    "order_supplied_parts",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("order_id", IdType, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("line_no", Integer, nullable=False),
    Column("kind", StrEnumType(SuppliedPartKind), nullable=False),
    Column("description", String(200), nullable=False),
    Column("serial", String(60)),
    Column("quantity", Integer, nullable=False),
)

order_price_quotes = Table(
    "order_price_quotes",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("order_id", IdType, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("configuration_key", Text, nullable=False),
    Column("status", StrEnumType(QuoteStatus), nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("requested_by", String(60), nullable=False),
    Column("request_note", String(500)),
    Column("unit_price_fen", MoneyType),
    Column("note", String(500)),
    Column("valid_until", Date),
    Column("quoted_at", UtcDateTime),
    Column("quoted_by", String(60)),
    Column("decided_at", UtcDateTime),
    Column("decided_by", String(60)),
    Column("decline_reason", String(500)),
)

order_events = Table(
    "order_events",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("order_id", IdType, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("from_state", String(32)),
    Column("to_state", String(32)),
    Column("actor_id", IdType),
    Column("actor_name", String(60), nullable=False),
    Column("actor_role", String(32), nullable=False),
    Column("summary", String(500), nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_order_events_order_id_id", "order_id", "id"),
)


def _event_row(order_id: int, e: OrderEvent) -> dict[str, Any]:
    return {"order_id": order_id, "at": e.at, "kind": e.kind, "from_state": e.from_state, "to_state": e.to_state,
            "actor_id": e.actor_id, "actor_name": e.actor_name[:60], "actor_role": e.actor_role,
            "summary": e.summary[:500], "data": e.data}


def append_order_events(conn: Connection, order_id: int, entries: list[OrderEvent]) -> None:
    """Append timeline entries without loading the order (for high-volume writers such as the
    ERP sync). Runs on the caller's connection, inside its transaction."""
    if entries:
        conn.execute(insert(order_events), [_event_row(order_id, e) for e in entries])


#: An order's timeline entries, written by every flush (and by ``new_rows.adopt`` for a new order).
ORDER_TIMELINE = AppendOnlyLog(Order, "events", order_events, _event_row)
_store_order_events = ORDER_TIMELINE.after_flush


# ---------------------------------------------------------------------------------------------
# Mapping


def _optional_end_customer(name: str | None, phone: Phone | None, industry: str | None) -> EndCustomer | None:
    return None if name is None else EndCustomer(name, phone, industry)


def _optional_address(province: str | None, city: str | None, detail: str | None, consignee: str | None,
                      phone: Phone | None) -> DeliveryAddress | None:
    return None if province is None else DeliveryAddress(province, city or "", detail or "", consignee, phone)


def _restore_events(target: Any, _context: Any) -> None:
    target.events = []


def start_order_mappers() -> None:
    """Called once from ``mapping.start_mappers()``."""
    mapper_registry.map_imperatively(VehicleTemplate, catalog_templates, version_id_col=catalog_templates.c.lock_version)
    event.listen(VehicleTemplate, "load", _restore_events)
    mapper_registry.map_imperatively(DealerPriceTier, dealer_price_tiers)
    mapper_registry.map_imperatively(
        SuppliedPart, order_supplied_parts, properties={"order_id": order_supplied_parts.c.order_id}
    )
    mapper_registry.map_imperatively(
        PriceQuote, order_price_quotes,
        properties={"order_id": order_price_quotes.c.order_id, "unit_price": order_price_quotes.c.unit_price_fen},
    )
    mapper_registry.map_imperatively(
        Order,
        orders,
        properties={
            "unit_price": orders.c.unit_price_fen,
            "total": orders.c.total_fen,
            "end_customer": composite(_optional_end_customer, orders.c.end_customer_name,
                                      orders.c.end_customer_phone, orders.c.end_customer_industry),
            "delivery_address": composite(_optional_address, orders.c.delivery_province, orders.c.delivery_city,
                                          orders.c.delivery_detail, orders.c.delivery_consignee,
                                          orders.c.delivery_consignee_phone),
            "supplied_parts": relationship(SuppliedPart, order_by=order_supplied_parts.c.line_no,
                                           cascade="all, delete-orphan", lazy="selectin"),
            "quotes": relationship(PriceQuote, order_by=order_price_quotes.c.seq, cascade="all, delete-orphan",
                                   lazy="selectin"),
        },
        version_id_col=orders.c.version,
    )
    event.listen(Order, "load", _restore_events)
    if not event.contains(Session, "after_flush", _store_order_events):
        event.listen(Session, "after_flush", _store_order_events)
