"""The dealer channel and identity tables and their imperative mapping.

The domain never imports this module. Shared table machinery (metadata, the mapper registry, the
id type) is in ``adapters.db.base``; mapping starts in ``adapters.db.mapping.start_mappers()``,
called once by bootstrap. ``audit_log`` lives with the audit trail (``adapters.db.audit``) and
is re-exported here for the readers that know it by this address.
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
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import composite, relationship

from dealercrm.adapters.db.audit import audit_log as audit_log
from dealercrm.adapters.db.base import IdType, mapper_registry, metadata
from dealercrm.adapters.db.types import StrEnumType, UtcDateTime, ValueObjectType
from dealercrm.domain.channel import (
    Address,
    Agreement,
    AgreementStatus,
    BankAccount,
    Contact,
    ContactKind,
    Dealer,
    DealerStatus,
    Qualification,
    SettlementMethod,
)
from dealercrm.domain.identity import BadgePurpose, DeviceCredential, Role, User
from dealercrm.domain.values import ChineseIdNumber, Phone, Uscc

document_sequences = Table(
    "document_sequences",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("next_value", BigInteger, nullable=False),
)

dealers = Table(
    "dealers",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("code", String(20), nullable=False, unique=True),
    Column("legal_name", String(200), nullable=False),
    Column("short_name", String(60)),
    Column("uscc", ValueObjectType(Uscc, 18), nullable=False, unique=True),
    Column("region", String(8), nullable=False),
    Column("province", String(20), nullable=False),
    Column("city", String(40), nullable=False),
    Column("address_detail", String(200), nullable=False),
    Column("bank_name", String(100)),
    Column("bank_account_name", String(200)),
    Column("bank_account_no", String(40)),
    Column("status", StrEnumType(DealerStatus), nullable=False),
    Column("status_reason", String(500)),
    Column("territory_regions", JSON, nullable=False),
    Column("territory_industries", JSON, nullable=False),
    Column("sales_rep_id", IdType),
    Column("registered_at", UtcDateTime),
    Column("approved_at", UtcDateTime),
    Column("version", Integer, nullable=False),
    Column("assessment", JSON, nullable=False, server_default=text("'{}'")),
    Index("ix_dealers_status_id", "status", "id"),
    Index("ix_dealers_region_id", "region", "id"),
)

dealer_contacts = Table(
    "dealer_contacts",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("dealer_id", IdType, ForeignKey("dealers.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(60), nullable=False),
    Column("kind", StrEnumType(ContactKind), nullable=False),
    Column("title", String(60), nullable=False),
    Column("phone", ValueObjectType(Phone, 20), nullable=False),
    Column("email", String(200)),
    Column("birthday", Date),
    Column("is_primary", Boolean, nullable=False),
    Column("id_number", ValueObjectType(ChineseIdNumber, 18)),
    Column("share_permille", Integer),
    Column("abilities", JSON, nullable=False, server_default=text("'[]'")),
)

dealer_assessment_rules = Table(  # versions of the registration checklist (考核规则); the newest applies
    "dealer_assessment_rules",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("items", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(60), nullable=False),
)

dealer_growth_plans = Table(  # 经销商增长计划: one per dealer and year
    "dealer_growth_plans",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("dealer_id", IdType, ForeignKey("dealers.id", ondelete="CASCADE"), nullable=False),
    Column("year", Integer, nullable=False),
    Column("vehicles", Integer, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("retail_vehicles", Integer, nullable=False),
    Column("actions", JSON, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(60), nullable=False),
    UniqueConstraint("dealer_id", "year"),
)

regions = Table(  # 大区: kept by the administrators; dealers, users and stations name theirs by ``name``
    "regions",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("code", String(20), nullable=False, unique=True),
    Column("name", String(8), nullable=False, unique=True),
    Column("active", Boolean, nullable=False),
    Column("sort_order", Integer, nullable=False),
    Column("provinces", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

dealer_qualifications = Table(
    "dealer_qualifications",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("dealer_id", IdType, ForeignKey("dealers.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("kind", String(60), nullable=False),
    Column("number", String(60), nullable=False),
    Column("valid_until", Date),
)

dealer_agreements = Table(
    "dealer_agreements",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("dealer_id", IdType, ForeignKey("dealers.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("number", String(40), nullable=False, unique=True),
    Column("product_lines", JSON, nullable=False),
    Column("territory", JSON, nullable=False),
    Column("settlement_method", StrEnumType(SettlementMethod), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=False),
    Column("status", StrEnumType(AgreementStatus), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("username", String(40), nullable=False, unique=True),
    Column("display_name", String(60), nullable=False),
    Column("role", StrEnumType(Role), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), index=True),
    Column("station_id", IdType),
    Column("regions", JSON, nullable=False),
    Column("phone", String(20)),
    Column("email", String(200)),
    Column("is_active", Boolean, nullable=False),
    Column("created_at", UtcDateTime),
    Column("department", String(60)),
    Column("badge_uid", String(20), unique=True),  # normalised hex; NULLs do not collide
    Column("badge_purpose", StrEnumType(BadgePurpose)),
    Column("badge_enrolled_at", UtcDateTime),
)

device_credentials = Table(
    "device_credentials",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("name", String(60), nullable=False),
    Column("key_prefix", String(20), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False),
    Column("location", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    Column("last_used_at", UtcDateTime),
)

# The last status report of each edge agent (one row per device credential, overwritten): not an
# entity and not audited — agents report every half minute.
device_reports = Table(
    "device_reports",
    metadata,
    Column("device_id", IdType, ForeignKey("device_credentials.id"), primary_key=True),
    Column("reported_at", UtcDateTime, nullable=False),
    Column("report", JSON, nullable=False),
)

def _optional_bank_account(*values: Any) -> BankAccount | None:
    """A dealer may register before giving a bank account: three NULLs load as ``None``. So does
    a partial set, which only SQLAlchemy's change history of the composite builds (a column left
    unchanged is ``None`` among the old values when another one changed)."""
    return None if any(v is None for v in values) else BankAccount(*values)


def _address_or_none(*values: Any) -> Address | None:
    """The dealer's address; ``None`` only for the partial old value of a change history (the
    columns are NOT NULL), which would otherwise fail the address's own checks."""
    return None if any(v is None for v in values) else Address(*values)


def _restore_events(target: Any, _context: Any) -> None:
    target.events = []


def start_channel_mappers() -> None:
    """Map the dealer and identity classes (``adapters.db.mapping.start_mappers`` calls this first)."""
    mapper_registry.map_imperatively(
        Contact, dealer_contacts, properties={"dealer_id": dealer_contacts.c.dealer_id}
    )
    mapper_registry.map_imperatively(Qualification, dealer_qualifications)
    mapper_registry.map_imperatively(Agreement, dealer_agreements)
    mapper_registry.map_imperatively(
        Dealer,
        dealers,
        properties={
            "address": composite(_address_or_none, dealers.c.province, dealers.c.city, dealers.c.address_detail),
            "bank_account": composite(
                _optional_bank_account, dealers.c.bank_name, dealers.c.bank_account_name, dealers.c.bank_account_no
            ),
            "contacts": relationship(
                Contact, order_by=dealer_contacts.c.id, cascade="all, delete-orphan", lazy="selectin"
            ),
            "qualifications": relationship(
                Qualification, order_by=dealer_qualifications.c.id, cascade="all, delete-orphan", lazy="selectin"
            ),
            "agreements": relationship(
                Agreement, order_by=dealer_agreements.c.id, cascade="all, delete-orphan", lazy="selectin"
            ),
        },
        version_id_col=dealers.c.version,
    )
    mapper_registry.map_imperatively(User, users)
    mapper_registry.map_imperatively(DeviceCredential, device_credentials)
    event.listen(Dealer, "load", _restore_events)
