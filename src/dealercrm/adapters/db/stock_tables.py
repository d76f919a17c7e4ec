"""Tables, mapping and the repository of dealer stock (经销商库存).

``retail_sales`` + ``retail_sale_payments`` (终端销售 and the customer's payments),
``dealer_stock_limits`` (min/max per dealer and model code, with crossing episodes),
``stock_ageing_policy`` (one row: the ageing thresholds) and ``stock_imports`` (one opening-stock
import per dealer; the unique dealer id is what makes "imported once" hold).

The stock itself lives in ``vehicles`` / ``vehicle_events`` (gate_tables): it is derived from the
vehicles' states, never stored as a number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    func,
    insert,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session, relationship

from dealercrm.adapters.db.base import IdType, mapper_registry, metadata
from dealercrm.adapters.db.gate_tables import vehicle_events, vehicles
from dealercrm.adapters.db.orders_tables import catalog_templates
from dealercrm.adapters.db.types import StrEnumType, UtcDateTime
from dealercrm.domain.dealer_stock import (
    AgeingPolicy,
    CustomerKind,
    OpeningStockRow,
    RetailSale,
    SalePayment,
    SaleStatus,
    StockLimit,
)
from dealercrm.domain.vehicles import VehicleState

retail_sales = Table(
    "retail_sales",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("sale_no", String(30), nullable=False, unique=True),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), nullable=False),
    Column("vin", String(17), nullable=False),
    Column("customer_kind", StrEnumType(CustomerKind), nullable=False),
    Column("customer_name", String(100), nullable=False),
    Column("customer_phone", String(20), nullable=False),
    Column("customer_id_masked", String(18)),
    Column("customer_id_digest", String(64)),
    Column("customer_uscc", String(18)),
    Column("price_fen", BigInteger, nullable=False),
    Column("customer_receipt_no", String(60), nullable=False),
    Column("sold_at", UtcDateTime, nullable=False),
    Column("recorded_by", String(60), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("status", StrEnumType(SaleStatus), nullable=False),
    Column("paid_fen", BigInteger, nullable=False),
    Column("confirmed_at", UtcDateTime),
    Column("ended_at", UtcDateTime),
    Column("end_reason", String(500)),
    Column("replaces_sale_id", IdType, ForeignKey("retail_sales.id")),
    Column("note", String(500)),
    Column("version", Integer, nullable=False),
    Index("ix_retail_sales_dealer_id_id", "dealer_id", "id"),
    Index("ix_retail_sales_vin", "vin"),
)

retail_sale_payments = Table(
    "retail_sale_payments",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("sale_id", IdType, ForeignKey("retail_sales.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("paid_at", UtcDateTime, nullable=False),
    Column("reference", String(60)),
    Column("recorded_by", String(60), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    UniqueConstraint("sale_id", "seq"),
)

dealer_stock_limits = Table(
    "dealer_stock_limits",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), nullable=False),
    Column("model_code", String(30), nullable=False),
    Column("min_units", Integer),
    Column("max_units", Integer),
    Column("below_min_episode", Integer, nullable=False),
    Column("below_min_active", Boolean, nullable=False),
    Column("above_max_episode", Integer, nullable=False),
    Column("above_max_active", Boolean, nullable=False),
    Column("updated_at", UtcDateTime),
    Column("updated_by", String(60)),
    Column("version", Integer, nullable=False),
    UniqueConstraint("dealer_id", "model_code"),
)

stock_ageing_policy = Table(
    "stock_ageing_policy",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("yellow_from_days", Integer, nullable=False),
    Column("red_from_days", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(60), nullable=False),
)

stock_imports = Table(
    "stock_imports",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("import_no", String(30), nullable=False, unique=True),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), nullable=False, unique=True),
    Column("row_count", Integer, nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("imported_at", UtcDateTime, nullable=False),
    Column("imported_by", String(60), nullable=False),
)

# stock lists filter by template and state and page by id
Index("ix_vehicles_model_code_state_id", vehicles.c.model_code, vehicles.c.state, vehicles.c.id)


def start_stock_mappers() -> None:
    """Called once from ``mapping.start_mappers``."""
    mapper_registry.map_imperatively(SalePayment, retail_sale_payments,
                                     properties={"sale_id": retail_sale_payments.c.sale_id})
    mapper_registry.map_imperatively(
        RetailSale, retail_sales,
        properties={"payments": relationship(SalePayment, order_by=retail_sale_payments.c.seq,
                                             cascade="all, delete-orphan", lazy="selectin")},
        version_id_col=retail_sales.c.version,
    )
    mapper_registry.map_imperatively(StockLimit, dealer_stock_limits, version_id_col=dealer_stock_limits.c.version)


def _locks(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


class SqlDealerStockRepository:
    """Retail sales, limits, the ageing policy and opening-stock imports; never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- retail sales -----------------------------------------------------------------------

    def add_sale(self, sale: RetailSale) -> None:
        self.session.add(sale)

    def sale(self, sale_id: int) -> RetailSale | None:
        return self.session.get(RetailSale, sale_id, with_for_update=_locks(self.session) or None)

    # -- limits ------------------------------------------------------------------------------

    def add_limit(self, limit: StockLimit) -> None:
        self.session.add(limit)

    def limit(self, dealer_id: int, model_code: str) -> StockLimit | None:
        q = select(StockLimit).where(dealer_stock_limits.c.dealer_id == dealer_id,
                                     dealer_stock_limits.c.model_code == model_code)
        if _locks(self.session):
            q = q.with_for_update()
        return self.session.scalars(q).first()

    def all_limits(self) -> list[StockLimit]:
        q = select(StockLimit).order_by(dealer_stock_limits.c.id)
        if _locks(self.session):
            q = q.with_for_update()
        return list(self.session.scalars(q))

    def units_by_dealer_and_model(self) -> dict[tuple[int, str], int]:
        """Vehicles in dealer stock, counted per (dealer, model code)."""
        rows = self.session.connection().execute(
            select(vehicles.c.dealer_id, vehicles.c.model_code, func.count())
            .where(vehicles.c.state == VehicleState.IN_DEALER_STOCK, vehicles.c.dealer_id.is_not(None),
                   vehicles.c.model_code.is_not(None))
            .group_by(vehicles.c.dealer_id, vehicles.c.model_code))
        return {(r[0], r[1]): r[2] for r in rows}

    def dealer_stock_entries(self) -> list[tuple[int, str, str | None, dt.datetime, dt.datetime]]:
        """(dealer id, VIN, model code, stock-in time, state entered at) of every vehicle in dealer stock."""
        rows = self.session.connection().execute(
            select(vehicles.c.dealer_id, vehicles.c.vin, vehicles.c.model_code,
                   func.coalesce(vehicles.c.received_at, vehicles.c.state_changed_at), vehicles.c.state_changed_at)
            .where(vehicles.c.state == VehicleState.IN_DEALER_STOCK, vehicles.c.dealer_id.is_not(None))
            .order_by(vehicles.c.id))
        return [(r[0], str(r[1]), r[2], r[3], r[4]) for r in rows]

    def template_lines(self, model_codes: Sequence[str]) -> dict[str, str]:
        """model code → product line, for the templates that exist."""
        if not model_codes:
            return {}
        rows = self.session.connection().execute(
            select(catalog_templates.c.model_code, catalog_templates.c.product_line)
            .where(catalog_templates.c.model_code.in_(list(model_codes))))
        return {r[0]: getattr(r[1], "value", r[1]) for r in rows}

    # -- ageing policy -----------------------------------------------------------------------

    def ageing_policy(self) -> AgeingPolicy:
        row = self.session.connection().execute(
            select(stock_ageing_policy.c.yellow_from_days, stock_ageing_policy.c.red_from_days)
            .where(stock_ageing_policy.c.id == 1)).first()
        return AgeingPolicy(row[0], row[1]) if row else AgeingPolicy()

    def set_ageing_policy(self, policy: AgeingPolicy, at: dt.datetime, by: str) -> None:
        conn = self.session.connection()
        values = {"yellow_from_days": policy.yellow_from_days, "red_from_days": policy.red_from_days,
                  "updated_at": at, "updated_by": by}
        done = conn.execute(update(stock_ageing_policy).where(stock_ageing_policy.c.id == 1).values(**values))
        if done.rowcount == 0:
            conn.execute(insert(stock_ageing_policy).values(id=1, **values))

    # -- opening stock -----------------------------------------------------------------------

    def has_import(self, dealer_id: int) -> bool:
        return self.session.connection().execute(
            select(stock_imports.c.id).where(stock_imports.c.dealer_id == dealer_id)).first() is not None

    def existing_vins(self, vins: Sequence[str]) -> set[str]:
        found: set[str] = set()
        conn = self.session.connection()
        for start in range(0, len(vins), 900):  # SQLite's bound-parameter limit
            chunk = list(vins[start:start + 900])
            raw = type_coerce(vehicles.c.vin, String)
            found.update(conn.execute(select(raw).where(raw.in_(chunk))).scalars())
        return found

    def insert_opening_stock(self, dealer_id: int, rows: Sequence[OpeningStockRow], *, import_no: str,
                             file_sha256: str, at: dt.datetime, actor: str) -> None:
        """The import record, then every vehicle and its ``initial_stock`` event, with Core
        ``executemany`` on the unit of work's connection (same transaction)."""
        self.session.flush()
        conn = self.session.connection()
        conn.execute(insert(stock_imports).values(import_no=import_no, dealer_id=dealer_id, row_count=len(rows),
                                                  file_sha256=file_sha256, imported_at=at, imported_by=actor))
        state = VehicleState.IN_DEALER_STOCK
        batch = 5000
        for start in range(0, len(rows), batch):
            part = rows[start:start + batch]
            conn.execute(insert(vehicles), [
                {"vin": r.vin, "state": state, "dealer_id": dealer_id, "order_no": None,
                 "contract_no": r.contract_no, "erp_tracking_no": r.erp_tracking_no, "erp_line_no": None,
                 "product_line": r.product_line, "model_code": r.model_code, "configuration": r.configuration,
                 "agreed_delivery_date": r.agreed_delivery_date, "stocked_at": None, "released_at": None,
                 "received_at": r.received_at, "pickup_authorization_id": None, "state_changed_at": r.received_at,
                 "version": 1}
                for r in part])
            first = conn.execute(select(vehicles.c.id).where(vehicles.c.vin == part[0].vin)).scalar_one()
            ids = dict(conn.execute(select(type_coerce(vehicles.c.vin, String), vehicles.c.id)
                                    .where(vehicles.c.dealer_id == dealer_id, vehicles.c.id >= first)).all())
            conn.execute(insert(vehicle_events), [
                {"vehicle_id": ids[r.vin.value], "seq": 1, "action": "initial_stock", "at": r.received_at,
                 "from_state": None, "to_state": state, "actor": actor, "reference": import_no,
                 "note": f"期初库存导入第{r.row}行"}
                for r in part])
