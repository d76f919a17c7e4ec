"""The SQLAlchemy unit of work."""

from __future__ import annotations

import datetime as dt
from types import TracebackType
from typing import Self

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from dealercrm.adapters.db.credit_tables import SqlAlchemyCreditRepository
from dealercrm.adapters.db.engine import write_bind
from dealercrm.adapters.db.repositories import (
    DocumentNumbers,
    SqlAlchemyDealerRepository,
    SqlAlchemyDeviceCredentialRepository,
    SqlAlchemyUserRepository,
)
from dealercrm.application.ports.persistence import Clock
from dealercrm.domain.errors import Conflict
from dealercrm.domain.identity import Principal


class SqlAlchemyUnitOfWork:
    """One transaction. On SQLite it begins IMMEDIATE; leaving without commit rolls back.

    Database errors that mean "someone else got there first" (unique violations, stale versions,
    a lock that could not be had) become :class:`Conflict`, never a 500.
    """

    def __init__(self, session_factory: sessionmaker[Session], actor: Principal, clock: Clock) -> None:
        self.session_factory = session_factory
        self.actor = actor
        self.clock = clock
        self.session: Session | None = None

    def __enter__(self) -> Self:
        if self.session is not None:
            raise RuntimeError("unit of work is already open")
        session = self.session_factory()
        session.info["actor"] = self.actor
        session.info["clock"] = self.clock
        self.session = session
        self.dealers = SqlAlchemyDealerRepository(session)
        self.users = SqlAlchemyUserRepository(session)
        self.devices = SqlAlchemyDeviceCredentialRepository(session)
        self.numbers = DocumentNumbers(session)
        self.outbox = SessionOutbox(session, self.clock)
        self.credit = SqlAlchemyCreditRepository(session)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self.session is not None
        try:
            self.session.rollback()
        finally:
            self.session.close()
            self.session = None
        if exc is not None and not isinstance(exc, Conflict):
            translated = _translate(exc)
            if translated is not None:
                raise translated from exc

    def flush(self) -> None:
        assert self.session is not None
        try:
            self.session.flush()
        except (IntegrityError, StaleDataError, OperationalError) as exc:
            raise _translate(exc) or exc from exc

    def commit(self) -> None:
        assert self.session is not None
        try:
            self.session.commit()
        except (IntegrityError, StaleDataError, OperationalError) as exc:
            raise _translate(exc) or exc from exc

    def rollback(self) -> None:
        assert self.session is not None
        self.session.rollback()


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
    if isinstance(exc, OperationalError) and "locked" in str(exc).lower():
        return Conflict("数据库繁忙，请稍后重试", code="db.busy")
    return None


def make_uow_factory(engine: Engine, clock: Clock = lambda: dt.datetime.now(dt.UTC)):
    factory = sessionmaker(bind=write_bind(engine), expire_on_commit=False)

    def uow_for(actor: Principal) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(factory, actor, clock)

    return uow_for
