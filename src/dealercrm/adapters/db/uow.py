"""The SQLAlchemy unit of work."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, overload

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.pool import StaticPool

from dealercrm.adapters.db import engagement_repositories as eng
from dealercrm.adapters.db import gate_tables, orderflow_tables, orders_repositories
from dealercrm.adapters.db.aftersales_tables import SqlAlchemyAftersalesRepository
from dealercrm.adapters.db.customers_tables import SqlAlchemyCustomerRepository
from dealercrm.adapters.db.parts_catalog_queries import SqlAlchemyPartsCatalogRepository
from dealercrm.adapters.db.parts_supply_tables import SqlAlchemyPartsSupplyRepository
from dealercrm.adapters.db.care_tables import SqlCareRepository
from dealercrm.adapters.db.credit_tables import SqlAlchemyCreditRepository
from dealercrm.adapters.db.engine import read_bind, write_bind
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
    ReviewStaffCache,
    SqlAlchemyStandingDelegationRepository,
    SqlAlchemyWorkflowRepository,
)
from dealercrm.application.ports.persistence import Clock, QueuedMessage
from dealercrm.domain.errors import Conflict, InvariantBroken
from dealercrm.domain.identity import Principal


R = TypeVar("R")


class _Opened(Generic[R]):
    """A repository of the unit of work, built on the transaction's session the first time a use
    case reads the attribute, and kept until the next transaction of this unit of work begins.
    A transaction pays only for the repositories it uses, instead of about forty every time."""

    def __init__(self, build: Callable[[SqlAlchemyUnitOfWork, Session], R]) -> None:
        self.build = build
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, uow: None, owner: type) -> Self: ...

    @overload
    def __get__(self, uow: SqlAlchemyUnitOfWork, owner: type) -> R: ...

    def __get__(self, uow: SqlAlchemyUnitOfWork | None, owner: type) -> R | Self:
        if uow is None:
            return self
        if uow.session is None:
            # as before the repositories were opened lazily: they exist only inside ``with uow:``
            raise AttributeError(f"{self.name}: the unit of work is not open")
        repository = self.build(uow, uow.session)
        uow.__dict__[self.name] = repository  # a non-data descriptor: the instance's copy wins now
        return repository


def _marketing() -> Any:
    from dealercrm.adapters.db import marketing_tables

    return marketing_tables


def _regions() -> Any:
    from dealercrm.adapters.db import regions

    return regions


def _learning() -> Any:
    from dealercrm.adapters.db import learning_tables

    return learning_tables


def _outbox(uow: SqlAlchemyUnitOfWork, session: Session) -> eng.OwnedOutbox:
    return eng.OwnedOutbox(SessionOutbox(session, uow.clock), session, uow.actor)


class SqlAlchemyUnitOfWork:
    """One transaction. On SQLite it begins IMMEDIATE; leaving without commit rolls back.

    On PostgreSQL its repositories take row locks in one order: dealer → credit account → order →
    contract → workflow → the rest. Each repository that locks a row belonging to a dealer locks
    the dealer's row first (``FOR NO KEY UPDATE``, ``adapters.db.locks``), so two transactions
    touching one dealer queue on that row before holding anything else of it and cannot deadlock.

    Database errors that mean "someone else got there first" (unique violations, stale versions,
    a lock that could not be had) become :class:`Conflict`, never a 500.

    It satisfies every context's unit-of-work Protocol (``application/ports/<context>.py``);
    each repository is opened on first use (see :class:`_Opened`).
    """

    review_staff: ReviewStaffCache | None
    dealers = _Opened(lambda uow, s: SqlAlchemyDealerRepository(s))
    users = _Opened(lambda uow, s: SqlAlchemyUserRepository(s))
    regions = _Opened(lambda uow, s: _regions().SqlAlchemyRegionRepository(s))
    devices = _Opened(lambda uow, s: SqlAlchemyDeviceCredentialRepository(s))
    device_reports = _Opened(lambda uow, s: SqlAlchemyDeviceReports(s))
    numbers = _Opened(lambda uow, s: DocumentNumbers(s))
    outbox = _Opened(_outbox)
    workflows = _Opened(lambda uow, s: SqlAlchemyWorkflowRepository(s, uow.review_staff))
    delegations = _Opened(lambda uow, s: SqlAlchemyStandingDelegationRepository(s, uow.review_staff))
    alerts = _Opened(lambda uow, s: eng.SqlAlchemyAlertRepository(s))
    announcements = _Opened(lambda uow, s: eng.SqlAlchemyAnnouncementRepository(s))
    engagement = _Opened(lambda uow, s: eng.SqlAlchemyEngagementDirectory(s))
    catalog = _Opened(lambda uow, s: orders_repositories.SqlAlchemyCatalogRepository(s))
    price_tiers = _Opened(lambda uow, s: orders_repositories.SqlAlchemyPriceTierRepository(s))
    orders = _Opened(lambda uow, s: orders_repositories.SqlAlchemyOrderRepository(s))
    vehicles = _Opened(lambda uow, s: gate_tables.SqlAlchemyVehicleRepository(s))
    pickup_authorizations = _Opened(lambda uow, s: gate_tables.SqlAlchemyPickupAuthorizationRepository(s))
    gate_passes = _Opened(lambda uow, s: gate_tables.SqlAlchemyGatePassRepository(s))
    gate_exits = _Opened(lambda uow, s: gate_tables.SqlAlchemyGateExitRepository(s))
    client_events = _Opened(lambda uow, s: gate_tables.SqlKioskEventLog(s))
    shipments = _Opened(lambda uow, s: gate_tables.SqlAlchemyShipmentRepository(s))
    receipts = _Opened(lambda uow, s: gate_tables.SqlAlchemyDeliveryReceiptRepository(s))
    staff_directory = _Opened(lambda uow, s: gate_tables.SqlStaffDirectory(s))
    credit = _Opened(lambda uow, s: SqlAlchemyCreditRepository(s))
    stock = _Opened(lambda uow, s: SqlDealerStockRepository(s))
    supplied_parts = _Opened(lambda uow, s: SqlAlchemySuppliedPartsRepository(s))
    delivery_deadlines = _Opened(lambda uow, s: SqlAlchemyDeliveryDeadlines(s))
    aftersales = _Opened(lambda uow, s: SqlAlchemyAftersalesRepository(s))
    customers = _Opened(lambda uow, s: SqlAlchemyCustomerRepository(s))
    parts_catalog = _Opened(lambda uow, s: SqlAlchemyPartsCatalogRepository(s))
    parts_supply = _Opened(lambda uow, s: SqlAlchemyPartsSupplyRepository(s))
    care = _Opened(lambda uow, s: SqlCareRepository(s))
    contracts = _Opened(lambda uow, s: orderflow_tables.SqlAlchemyContractRepository(s))
    order_changes = _Opened(lambda uow, s: orderflow_tables.SqlAlchemyOrderChangeRepository(s))
    erp_rejections = _Opened(lambda uow, s: orderflow_tables.SqlAlchemyErpRejectionRepository(s))
    trainings = _Opened(lambda uow, s: _marketing().SqlAlchemyTrainingRepository(s))
    articles = _Opened(lambda uow, s: _marketing().SqlAlchemyArticleRepository(s))
    reading = _Opened(lambda uow, s: _learning().SqlAlchemyReadingRepository(s))
    forecasts = _Opened(lambda uow, s: _marketing().SqlAlchemyForecastRepository(s))
    key_accounts = _Opened(lambda uow, s: _marketing().SqlAlchemyKeyAccountRepository(s))
    campaigns = _Opened(lambda uow, s: _marketing().SqlAlchemyCampaignRepository(s))

    def __init__(self, session_factory: sessionmaker[Session], actor: Principal, clock: Clock,
                 approval_mail: Any = None, write_lock: threading.Lock | None = None,
                 review_staff: ReviewStaffCache | None = None,
                 read_session_factory: sessionmaker[Session] | None = None,
                 statement_session_factory: sessionmaker[Session] | None = None) -> None:
        self.session_factory = session_factory
        self.read_session_factory = read_session_factory  # None: snapshots queue like writes
        self.statement_session_factory = statement_session_factory  # None: per-statement reads use the above
        self.actor = actor
        self.clock = clock
        self.approval_mail = approval_mail  # how approval e-mails are written (application.approval_links)
        self.workflow_handlers: Any = None  # the container's workflow handler table (application.workflow)
        self.live: Any = None  # the container's LiveRelay: workbench changes announced after commit (live_changes)
        self.write_lock = write_lock
        self.review_staff = review_staff  # shared by the units of work of one factory (one process)
        self.session: Session | None = None

    def __enter__(self) -> Self:
        if self.session is not None:
            raise RuntimeError("unit of work is already open")
        if self.write_lock is not None and not self.write_lock.acquire(timeout=30):
            raise Conflict("数据库繁忙，请稍后重试", code="db.busy")
        self._begin(self.session_factory)
        return self

    def _begin(self, session_factory: sessionmaker[Session]) -> None:
        session = session_factory()
        session.info["actor"] = self.actor
        session.info["clock"] = self.clock
        session.info["live"] = self.live
        for name in _REPOSITORY_NAMES:  # this transaction opens its own, on its own session
            self.__dict__.pop(name, None)
        self.session = session

    @contextlib.contextmanager
    def snapshot(self, *, per_statement: bool = False) -> Iterator[Self]:
        """The same repositories in a read-only transaction: on SQLite it begins DEFERRED (WAL lets
        it read beside the writer) and does not queue on this process's write lock, so a read-only
        use case never waits for, or holds up, the writers. It always rolls back.

        ``per_statement``: no BEGIN at all (SQLite's autocommit, PostgreSQL's AUTOCOMMIT), each
        statement its own snapshot: one round trip for a use case that reads in one statement."""
        if self.read_session_factory is None:  # one shared connection (in-memory SQLite)
            with self:
                yield self
            return
        if self.session is not None:
            raise RuntimeError("unit of work is already open")
        factory = self.statement_session_factory if per_statement else None
        self._begin(factory or self.read_session_factory)
        try:
            yield self
        finally:
            self._close()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._close()
        finally:
            if self.write_lock is not None:
                self.write_lock.release()
        if exc is not None and not isinstance(exc, Conflict):
            translated = _translate(exc)
            if translated is not None:
                raise translated from exc

    def _close(self) -> None:
        """Roll back whatever was not committed and give the connection back."""
        session = self._open()
        try:
            session.rollback()
        finally:
            session.close()
            self.session = None

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

    def enqueue_many(self, messages: Sequence[QueuedMessage]) -> None:
        from dealercrm.application.outbox import enqueue_notifications

        enqueue_notifications(self.store, self.session, [(m.template_code, m.variables, m.recipient,
                                                          m.idempotency_key) for m in messages], clock=self.clock)


def _translate(exc: BaseException) -> Conflict | None:
    if isinstance(exc, IntegrityError):
        return Conflict("数据冲突，未保存，请重试", code="db.integrity_conflict")
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


_REPOSITORY_NAMES = tuple(name for name, value in vars(SqlAlchemyUnitOfWork).items() if isinstance(value, _Opened))


# 40P01 deadlock_detected, 40001 serialization_failure; 55P03 lock_not_available, 57014
# query_canceled (lock_timeout / statement_timeout).
_RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
_BUSY_SQLSTATES = frozenset({"55P03", "57014"})


def make_uow_factory(engine: Engine, clock: Clock = lambda: dt.datetime.now(dt.UTC), approval_mail: Any = None):
    factory = sessionmaker(bind=write_bind(engine), expire_on_commit=False)
    # Snapshots read on their own connection, BEGIN DEFERRED on SQLite; an in-memory database has
    # one connection for every thread, so there they queue on the write lock like writes.
    reader = None if isinstance(engine.pool, StaticPool) else sessionmaker(bind=engine, expire_on_commit=False)
    statement_reader = None if reader is None else sessionmaker(bind=read_bind(engine), expire_on_commit=False)
    # SQLite has one writer at a time. Queue this process's write transactions on one lock (not
    # FIFO: the OS picks the waiter it wakes) instead of letting them poll in SQLite's busy
    # handler, whose sleeps leave the database
    # idle between writers (measured: benchmarks/order_submit.py). Other processes still meet
    # the busy timeout as before.
    write_lock = threading.Lock() if engine.dialect.name == "sqlite" else None
    review_staff = ReviewStaffCache()

    def uow_for(actor: Principal) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(factory, actor, clock, approval_mail, write_lock, review_staff, reader, statement_reader)

    return uow_for
