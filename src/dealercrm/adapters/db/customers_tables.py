"""Tables, mapping and repository of end customers and service contracts (``domain.customers``)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.orm import Session

from dealercrm.adapters.db.base import IdType, mapper_registry, metadata
from dealercrm.adapters.db.types import UtcDateTime
from dealercrm.domain.customers import CustomerVehicle, EndCustomer, ServiceContract

end_customers = Table(
    "end_customers",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("number", String(30), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("phone", String(30), nullable=False, index=True),
    Column("kind", String(10), nullable=False),
    Column("dealer_id", IdType, ForeignKey("dealers.id")),
    Column("province", String(60)),
    Column("city", String(60)),
    Column("address", String(200)),
    Column("note", String(500)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(60), nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_end_customers_dealer_id_id", "dealer_id", "id"),
)

customer_vehicles = Table(
    "customer_vehicles",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("customer_id", IdType, ForeignKey("end_customers.id"), nullable=False, index=True),
    Column("vin", String(17), nullable=False, unique=True),  # one owner per VIN
    Column("since", Date, nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
    Column("added_by", String(60), nullable=False),
)

service_contracts = Table(
    "service_contracts",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("number", String(30), nullable=False, unique=True),
    Column("customer_id", IdType, ForeignKey("end_customers.id"), nullable=False, index=True),
    Column("vin", String(17), nullable=False, index=True),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("coverage", JSON, nullable=False),
    Column("terms", Text, nullable=False),
    Column("price_fen", Integer, nullable=False),
    Column("km_limit", Integer),
    Column("status", String(12), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(60), nullable=False),
    Column("cancelled_at", UtcDateTime),
    Column("cancel_reason", String(500)),
    Column("version", Integer, nullable=False),
    CheckConstraint("ends_on >= starts_on", name="period"),
    CheckConstraint("price_fen >= 0", name="price_not_negative"),
)

TABLES = {"end_customers", "customer_vehicles", "service_contracts"}


def start_customer_mappers() -> None:
    m = mapper_registry.map_imperatively
    m(EndCustomer, end_customers, version_id_col=end_customers.c.version)
    m(CustomerVehicle, customer_vehicles)
    m(ServiceContract, service_contracts, version_id_col=service_contracts.c.version)


def contracts_of_vin(session: Session, vin: str) -> list[ServiceContract]:
    """Every contract ever made on the VIN (the check ignores cancelled ones itself)."""
    return list(session.scalars(select(ServiceContract).where(service_contracts.c.vin == vin)
                                .order_by(service_contracts.c.id)))


class SqlAlchemyCustomerRepository:
    """Loads and stores customers, their vehicles and contracts; never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, obj: object) -> None:
        self.session.add(obj)

    def customer(self, customer_id: int) -> EndCustomer | None:
        return self.session.get(EndCustomer, customer_id)

    def owner_of(self, vin: str) -> CustomerVehicle | None:
        return self.session.scalars(select(CustomerVehicle).where(customer_vehicles.c.vin == vin)).first()

    def contract(self, contract_id: int) -> ServiceContract | None:
        return self.session.get(ServiceContract, contract_id)

    def contracts_of_vin(self, vin: str) -> list[ServiceContract]:
        return contracts_of_vin(self.session, vin)
