"""Tables, mapping and repositories of the order flow after the review: e-contracts (with their
rendered documents) and the ERP sync's own memory (cursor, seen events, rejected events,
per-order progress, ERP change records).

``contracts`` maps the :class:`Contract` aggregate; ``contract_documents`` keeps the exact bytes
whose SHA-256 the contract carries, and the document's content as JSON (the contract page).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    insert,
    select,
)
from sqlalchemy.orm import Session

from dealercrm.adapters.db.base import IdType, mapper_registry, metadata
from dealercrm.adapters.db.locks import lock_dealer, locks_rows
from dealercrm.adapters.db.types import StrEnumType, UtcDateTime
from dealercrm.domain.contracts import Contract, ContractStatus
from dealercrm.domain.erp_rejections import ErpRejection
from dealercrm.domain.order_changes import ChangeStatus, OrderChangeRequest

contracts = Table(
    "contracts",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("contract_no", String(40), nullable=False, unique=True),
    Column("order_id", IdType, ForeignKey("orders.id"), nullable=False),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("document_sha256", String(64), nullable=False),
    Column("generated_at", UtcDateTime, nullable=False),
    Column("status", StrEnumType(ContractStatus), nullable=False),
    Column("accepted_by_user_id", IdType),
    Column("accepted_at", UtcDateTime),
    Column("accepted_from_ip", String(64)),
    Column("accepted_user_agent", String(300)),
    Column("finance_by_user_id", IdType),
    Column("finance_at", UtcDateTime),
    Column("finance_reason", String(500)),
    Column("credit_override_reason", String(500)),
    Column("erp_tracking_no", String(40)),
    Column("released_at", UtcDateTime),
    Column("voided_at", UtcDateTime),
    Column("void_reason", String(500)),
    Column("version", Integer, nullable=False),
    Index("ix_contracts_order_id", "order_id"),
    Index("ix_contracts_dealer_id", "dealer_id"),
)

contract_documents = Table(
    "contract_documents",
    metadata,
    Column("contract_id", IdType, ForeignKey("contracts.id", ondelete="CASCADE"), primary_key=True,
           autoincrement=False),
    Column("media_type", String(60), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("document", JSON, nullable=False),
)

erp_sync_cursors = Table(
    "erp_sync_cursors",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("cursor", String(200), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

erp_seen_events = Table(
    "erp_seen_events",
    metadata,
    Column("event_id", String(100), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("seen_at", UtcDateTime, nullable=False),
)

erp_rejected_events = Table(
    "erp_rejected_events",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("event_id", String(100), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("type", String(40), nullable=False),
    Column("tracking_no", String(40)),
    Column("code", String(64), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),  # a person marked it handled (domain.erp_rejections)
    Column("resolved_by", String(60)),
    Column("resolution_note", String(500)),
    Index("ix_erp_rejected_events_at", "at"),
)

erp_order_progress = Table(
    "erp_order_progress",
    metadata,
    Column("tracking_no", String(40), primary_key=True),
    Column("order_id", IdType, ForeignKey("orders.id"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("percent", Integer, nullable=False),
    Column("order_seq", BigInteger, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
)

erp_change_records = Table(
    "erp_change_records",
    metadata,
    Column("change_id", String(100), primary_key=True),
    Column("order_id", IdType, ForeignKey("orders.id"), nullable=False),
    Column("tracking_no", String(40), nullable=False),
    Column("change_no", String(60)),
    Column("description", Text, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Index("ix_erp_change_records_order_id", "order_id"),
)


order_change_requests = Table(
    "order_change_requests",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("change_no", String(40), nullable=False, unique=True),
    Column("order_id", IdType, ForeignKey("orders.id"), nullable=False),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), nullable=False),
    Column("contract_no", String(40)),
    Column("description", String(1000), nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("requested_by", String(60), nullable=False),
    Column("status", StrEnumType(ChangeStatus), nullable=False),
    Column("decided_at", UtcDateTime),
    Column("decision_reason", String(500)),
    Column("erp_tracking_no", String(40)),
    Column("erp_change_id", String(100)),
    Column("forwarded_at", UtcDateTime),
    Column("version", Integer, nullable=False),
    Index("ix_order_change_requests_order_id", "order_id"),
)


def start_orderflow_mappers() -> None:
    """Called once from ``mapping.start_mappers()``."""
    mapper_registry.map_imperatively(Contract, contracts, version_id_col=contracts.c.version)
    mapper_registry.map_imperatively(OrderChangeRequest, order_change_requests,
                                     version_id_col=order_change_requests.c.version)
    mapper_registry.map_imperatively(ErpRejection, erp_rejected_events)


class SqlAlchemyContractRepository:
    """Contracts and their rendered documents. Never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _locking(self, q: Any) -> Any:
        """Lock the contracts ``q`` finds, after their dealer (adapters.db.locks)."""
        if not locks_rows(self.session):
            return q
        for dealer_id in self.session.scalars(q.with_only_columns(Contract.dealer_id)):  # type: ignore[attr-defined]
            lock_dealer(self.session, dealer_id)
        return q.with_for_update()

    def add(self, contract: Contract, *, document: dict[str, Any], content: bytes, media_type: str) -> None:
        self.session.add(contract)
        self.session.flush()
        self.session.connection().execute(insert(contract_documents).values(
            contract_id=contract.id, media_type=media_type, sha256=contract.document_sha256, content=content,
            document=document))

    def current_of_order(self, order_id: int) -> Contract | None:
        """The order's contract that is not voided (at most one), locked for change."""
        q = (select(Contract).where(Contract.order_id == order_id,  # type: ignore[arg-type]
                                    Contract.status != ContractStatus.VOIDED)  # type: ignore[arg-type]
             .order_by(Contract.id.desc()))  # type: ignore[attr-defined]
        return self.session.scalars(self._locking(q)).first()

    def by_no(self, contract_no: str) -> Contract | None:
        q = select(Contract).where(Contract.contract_no == contract_no)  # type: ignore[arg-type]
        return self.session.scalars(self._locking(q)).first()


class SqlAlchemyOrderChangeRepository:
    """Change requests of orders. Never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, change: OrderChangeRequest) -> None:
        self.session.add(change)

    def get(self, change_id: int) -> OrderChangeRequest | None:
        locks = self.session.get_bind().dialect.name == "postgresql"
        return self.session.get(OrderChangeRequest, change_id, with_for_update=locks or None)

    def returned_on_contract(self, order_id: int, contract_no: str) -> OrderChangeRequest | None:
        """The change that returned the order (退单) and voided ``contract_no``, if any."""
        q = select(OrderChangeRequest).where(
            OrderChangeRequest.order_id == order_id,  # type: ignore[arg-type]
            OrderChangeRequest.contract_no == contract_no,  # type: ignore[arg-type]
            OrderChangeRequest.status == ChangeStatus.RETURNED,  # type: ignore[arg-type]
        ).order_by(OrderChangeRequest.id.desc())  # type: ignore[attr-defined]
        return self.session.scalars(q).first()

    def pending_of_order(self, order_id: int) -> OrderChangeRequest | None:
        q = select(OrderChangeRequest).where(
            OrderChangeRequest.order_id == order_id,  # type: ignore[arg-type]
            OrderChangeRequest.status.in_([ChangeStatus.PENDING, ChangeStatus.FORWARDING]))  # type: ignore[attr-defined]
        return self.session.scalars(q).first()


class SqlAlchemyErpRejectionRepository:
    """Rejected ERP events (written by ``SqlErpSyncTarget`` in Core), loaded to be resolved.
    Never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, rejection_id: int) -> ErpRejection | None:
        """The event, locked for change on PostgreSQL (SQLite's write transaction is exclusive)."""
        locks = self.session.get_bind().dialect.name == "postgresql"
        return self.session.get(ErpRejection, rejection_id, with_for_update=locks or None)
