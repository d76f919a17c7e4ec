"""The SQLAlchemy unit of work."""

from __future__ import annotations

import datetime as dt
import threading
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from dealercrm.adapters.db import engagement_repositories as eng
from dealercrm.adapters.db import gate_tables, orderflow_tables, orders_repositories
from dealercrm.adapters.db.aftersales_tables import SqlAlchemyAftersalesRepository
from dealercrm.adapters.db.care_tables import SqlCareRepository
from dealercrm.adapters.db.credit_tables import SqlAlchemyCreditRepository
from dealercrm.adapters.db.engine import write_bind
from dealercrm.adapters.db.stock_tables import SqlDealerStockRepository
from dealercrm.adapters.db.supplied_parts_queries import SqlAlchemyDeliveryDeadlines
from dealercrm.adapters.db.supplied_parts_tables import SqlAlchemySuppliedPartsRepository
from dealercrm.adapters.db.repositories import (
    DocumentNumbers,
    SqlAlchemyDealerRepository,
    SqlAlchemyDeviceCredentialRepository,
    SqlAlchemyDeviceReports,
    SqlAlchemyUserRepository,
)
from dealercrm.adapters.db.workflow_repositories import (
    SqlAlchemyStandingDelegationRepository,
    SqlAlchemyWorkflowRepository,
)
from dealercrm.application.ports.persistence import Clock
from dealercrm.domain.errors import Conflict, InvariantBroken
from dealercrm.domain.identity import Principal


class SqlAlchemyUnitOfWork:
    """One transaction. On SQLite it begins IMMEDIATE; leaving without commit rolls back.

    Database errors that mean "someone else got there first" (unique violations, stale versions,
    a lock that could not be had) become :class:`Conflict`, never a 500.
    """

    def __init__(self, session_factory: sessionmaker[Session], actor: Principal, clock: Clock,
                 approval_mail: Any = None, write_lock: threading.Lock | None = None) -> None:
        self.session_factory = session_factory
        self.actor = actor
        self.clock = clock
        self.approval_mail = approval_mail  # how approval e-mails are written (application.approval_links)
        self.workflow_handlers: Any = None  # the container's workflow handler table (application.workflow)
        self.write_lock = write_lock
        self.session: Session | None = None

    def __enter__(self) -> Self:
        if self.session is not None:
            raise RuntimeError("unit of work is already open")
        if self.write_lock is not None and not self.write_lock.acquire(timeout=30):
            raise Conflict("数据库繁忙，请稍后重试", code="db.busy")
        session = self.session_factory()
        session.info["actor"] = self.actor
        session.info["clock"] = self.clock
        self.session = session
        self.dealers = SqlAlchemyDealerRepository(session)
        self.users = SqlAlchemyUserRepository(session)
        self.devices = SqlAlchemyDeviceCredentialRepository(session)
        self.device_reports = SqlAlchemyDeviceReports(session)
        self.numbers = DocumentNumbers(session)
        self.outbox = SessionOutbox(session, self.clock)
        self.workflows = SqlAlchemyWorkflowRepository(session)
        self.delegations = SqlAlchemyStandingDelegationRepository(session)
        self.outbox = eng.OwnedOutbox(self.outbox, session, self.actor)
        self.alerts = eng.SqlAlchemyAlertRepository(session)
        self.announcements = eng.SqlAlchemyAnnouncementRepository(session)
        self.engagement = eng.SqlAlchemyEngagementDirectory(session)
        self.catalog = orders_repositories.SqlAlchemyCatalogRepository(session)
        self.price_tiers = orders_repositories.SqlAlchemyPriceTierRepository(session)
        self.orders = orders_repositories.SqlAlchemyOrderRepository(session)
        self.vehicles = gate_tables.SqlAlchemyVehicleRepository(session)
        self.pickup_authorizations = gate_tables.SqlAlchemyPickupAuthorizationRepository(session)
        self.gate_passes = gate_tables.SqlAlchemyGatePassRepository(session)
        self.gate_exits = gate_tables.SqlAlchemyGateExitRepository(session)
        self.client_events = gate_tables.SqlKioskEventLog(session)
        self.shipments = gate_tables.SqlAlchemyShipmentRepository(session)
        self.receipts = gate_tables.SqlAlchemyDeliveryReceiptRepository(session)
        self.staff_directory = gate_tables.SqlStaffDirectory(session)
        self.credit = SqlAlchemyCreditRepository(session)
        self.stock = SqlDealerStockRepository(session)
        self.supplied_parts = SqlAlchemySuppliedPartsRepository(session)
        self.delivery_deadlines = SqlAlchemyDeliveryDeadlines(session)
        self.aftersales = SqlAlchemyAftersalesRepository(session)
        self.care = SqlCareRepository(session)
        self.contracts = orderflow_tables.SqlAlchemyContractRepository(session)
        self.order_changes = orderflow_tables.SqlAlchemyOrderChangeRepository(session)
        self.erp_rejections = orderflow_tables.SqlAlchemyErpRejectionRepository(session)
        from dealercrm.adapters.db import marketing_tables as mk

        self.trainings = mk.SqlAlchemyTrainingRepository(session)
        self.articles = mk.SqlAlchemyArticleRepository(session)
        self.forecasts = mk.SqlAlchemyForecastRepository(session)
        self.key_accounts = mk.SqlAlchemyKeyAccountRepository(session)
        self.campaigns = mk.SqlAlchemyCampaignRepository(session)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        session = self._open()
        try:
            session.rollback()
        finally:
            session.close()
            self.session = None
            if self.write_lock is not None:
                self.write_lock.release()
        if exc is not None and not isinstance(exc, Conflict):
            translated = _translate(exc)
            if translated is not None:
                raise translated from exc

    def _open(self) -> Session:
        if self.session is None:
            raise InvariantBroken("the unit of work is used outside its with block")
        return self.session

    def flush(self) -> None:
        try:
            self._open().flush()
        except (IntegrityError, StaleDataError, OperationalError) as exc:
            raise _translate(exc) or exc from exc

    def commit(self) -> None:
        try:
            self._open().commit()
        except (IntegrityError, StaleDataError, OperationalError) as exc:
            raise _translate(exc) or exc from exc

    def rollback(self) -> None:
        self._open().rollback()


class SessionOutbox:
    """Enqueues rendered notifications on the unit of work's own session (same transaction)."""

    def __init__(self, session: Session, clock: Clock) -> None:
        from dealercrm.adapters.notify.sql_outbox import SqlAlchemyOutboxStore

        self.session = session
        self.clock = clock
        self.store = SqlAlchemyOutboxStore(session.get_bind())  # type: ignore[arg-type]

    def enqueue(self, template_code: str, variables: dict[str, object], recipient: str, idempotency_key: str) -> str:
        from dealercrm.application.outbox import enqueue_notification

        return enqueue_notification(self.store, self.session, template_code=template_code, variables=variables,
                                    recipient=recipient, idempotency_key=idempotency_key, clock=self.clock)


def _translate(exc: BaseException) -> Conflict | None:
    if isinstance(exc, IntegrityError):
        return Conflict("数据与现有记录冲突（可能已被他人修改或重复提交）", code="db.integrity_conflict")
    if isinstance(exc, StaleDataError):
        return Conflict("记录已被他人修改，请刷新后重试", code="db.stale_version")
    if isinstance(exc, OperationalError):
        sqlstate = getattr(exc.orig, "sqlstate", None)  # psycopg; SQLite's errors have none
        if sqlstate in _RETRYABLE_SQLSTATES:
            # PostgreSQL chose this transaction as the victim of a deadlock or a serialization
            # conflict and rolled it back: nothing of it was written, the client may retry.
            return Conflict("与其他操作同时修改了相同数据，本次未保存，请重试", code="db.retry")
        if sqlstate in _BUSY_SQLSTATES or "locked" in str(exc).lower():
            return Conflict("数据库繁忙，请稍后重试", code="db.busy")
    return None


# 40P01 deadlock_detected, 40001 serialization_failure; 55P03 lock_not_available, 57014
# query_canceled (lock_timeout / statement_timeout).
_RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
_BUSY_SQLSTATES = frozenset({"55P03", "57014"})


def make_uow_factory(engine: Engine, clock: Clock = lambda: dt.datetime.now(dt.UTC), approval_mail: Any = None):
    factory = sessionmaker(bind=write_bind(engine), expire_on_commit=False)
    # SQLite has one writer at a time. Queue this process's write transactions on a FIFO lock
    # instead of letting them poll in SQLite's busy handler, whose sleeps leave the database
    # idle between writers (measured: benchmarks/order_submit.py). Other processes still meet
    # the busy timeout as before.
    write_lock = threading.Lock() if engine.dialect.name == "sqlite" else None

    def uow_for(actor: Principal) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(factory, actor, clock, approval_mail, write_lock)

    return uow_for
