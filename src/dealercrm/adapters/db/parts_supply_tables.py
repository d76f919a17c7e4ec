"""Tables, mapping and repository of paid-repair bills, parts orders, transfers between stations
and per-station stock levels (``domain.parts_supply``). The stock itself stays in
``service_stock`` and moves through the after-sales repository's ``lock_stock``."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    select,
)
from sqlalchemy.orm import Session

from dealercrm.adapters.db.base import IdType, mapper_registry, metadata
from dealercrm.adapters.db.types import StrEnumType, UtcDateTime
from dealercrm.domain.parts_supply import (
    BillState,
    OrderState,
    PartsOrder,
    RepairBill,
    StockTransfer,
    TransferState,
)

service_repair_bills = Table(
    "service_repair_bills",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("number", String(30), nullable=False, unique=True),
    Column("record_id", IdType, ForeignKey("service_repair_records.id"), nullable=False, unique=True),
    Column("station_id", IdType, ForeignKey("service_stations.id"), nullable=False),
    Column("vin", String(17), nullable=False),
    Column("labour_fen", Integer, nullable=False),
    Column("parts_fen", Integer, nullable=False),
    Column("total_fen", Integer, nullable=False),
    Column("lines", JSON, nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("issued_by", String(60), nullable=False),
    Column("customer_name", String(100)),
    Column("state", StrEnumType(BillState), nullable=False),
    Column("paid_at", UtcDateTime),
    Column("paid_by", String(60)),
    Column("payment_note", String(500)),
    Column("version", Integer, nullable=False),
    CheckConstraint("labour_fen >= 0 AND parts_fen >= 0 AND total_fen = labour_fen + parts_fen", name="amounts"),
    Index("ix_service_repair_bills_station_id_id", "station_id", "id"),
)

parts_orders = Table(
    "parts_orders",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("number", String(30), nullable=False, unique=True),
    Column("station_id", IdType, ForeignKey("service_stations.id"), nullable=False),
    Column("lines", JSON, nullable=False),
    Column("total_fen", Integer, nullable=False),
    Column("submitted_at", UtcDateTime, nullable=False),
    Column("submitted_by", String(60), nullable=False),
    Column("note", String(500)),
    Column("state", StrEnumType(OrderState), nullable=False),
    Column("confirmed_at", UtcDateTime),
    Column("shipped_at", UtcDateTime),
    Column("waybill", String(100)),
    Column("received_at", UtcDateTime),
    Column("received_by", String(60)),
    Column("cancelled_at", UtcDateTime),
    Column("cancel_reason", String(500)),
    Column("version", Integer, nullable=False),
    CheckConstraint("total_fen >= 0", name="total_not_negative"),
    Index("ix_parts_orders_station_id_id", "station_id", "id"),
    Index("ix_parts_orders_state_id", "state", "id"),
)

parts_transfers = Table(
    "parts_transfers",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("number", String(30), nullable=False, unique=True),
    Column("from_station_id", IdType, ForeignKey("service_stations.id"), nullable=False),
    Column("to_station_id", IdType, ForeignKey("service_stations.id"), nullable=False),
    Column("lines", JSON, nullable=False),
    Column("shipped_at", UtcDateTime, nullable=False),
    Column("shipped_by", String(60), nullable=False),
    Column("note", String(500)),
    Column("state", StrEnumType(TransferState), nullable=False),
    Column("received_at", UtcDateTime),
    Column("received_by", String(60)),
    Column("version", Integer, nullable=False),
    CheckConstraint("from_station_id <> to_station_id", name="two_stations"),
    Index("ix_parts_transfers_from_station_id_id", "from_station_id", "id"),
    Index("ix_parts_transfers_to_station_id_id", "to_station_id", "id"),
)

parts_stock_levels = Table(
    "parts_stock_levels",
    metadata,
    Column("station_id", IdType, ForeignKey("service_stations.id"), nullable=False),
    Column("part_no", String(40), ForeignKey("service_parts.part_no"), nullable=False),
    Column("min_qty", Integer, nullable=False),
    Column("max_qty", Integer, nullable=False),
    PrimaryKeyConstraint("station_id", "part_no"),
    CheckConstraint("min_qty >= 0 AND max_qty >= min_qty", name="levels"),
)

TABLES = {"service_repair_bills", "parts_orders", "parts_transfers", "parts_stock_levels"}


def start_parts_supply_mappers() -> None:
    m = mapper_registry.map_imperatively
    m(RepairBill, service_repair_bills, version_id_col=service_repair_bills.c.version)
    m(PartsOrder, parts_orders, version_id_col=parts_orders.c.version)
    m(StockTransfer, parts_transfers, version_id_col=parts_transfers.c.version)


class SqlAlchemyPartsSupplyRepository:
    """Loads and stores bills, parts orders and transfers, and sets stock levels; never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, obj: object) -> None:
        self.session.add(obj)

    def bill(self, bill_id: int) -> RepairBill | None:
        return self.session.get(RepairBill, bill_id)

    def bill_of_record(self, record_id: int) -> RepairBill | None:
        return self.session.scalars(select(RepairBill).where(service_repair_bills.c.record_id == record_id)).first()

    def order(self, order_id: int) -> PartsOrder | None:
        return self.session.get(PartsOrder, order_id, with_for_update=True, populate_existing=True)

    def transfer(self, transfer_id: int) -> StockTransfer | None:
        return self.session.get(StockTransfer, transfer_id, with_for_update=True, populate_existing=True)

    def set_levels(self, station_id: int, part_no: str, min_qty: int, max_qty: int) -> None:
        t = parts_stock_levels.c
        found = self.session.execute(select(t.station_id).where(t.station_id == station_id, t.part_no == part_no)
                                     .with_for_update()).first()
        if found is None:
            self.session.execute(parts_stock_levels.insert().values(station_id=station_id, part_no=part_no,
                                                                    min_qty=min_qty, max_qty=max_qty))
        else:
            self.session.execute(parts_stock_levels.update().where(t.station_id == station_id, t.part_no == part_no)
                                 .values(min_qty=min_qty, max_qty=max_qty))
