"""SQLAlchemy repositories, one per aggregate. They never commit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dealercrm.adapters.db.orm import device_reports, document_sequences
from dealercrm.domain.channel import Dealer
from dealercrm.domain.identity import DeviceCredential, User
from dealercrm.domain.values import Uscc


class DocumentNumbers:
    """Gap-free-per-commit human numbers (``DL-000123``, ``SO-2026-000045``).

    One row per sequence, bumped with ``UPDATE … RETURNING`` in the caller's transaction: the row
    lock serialises concurrent writers on PostgreSQL, BEGIN IMMEDIATE does it on SQLite, and a
    rolled-back transaction gives its number back.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    _BUMP = (
        update(document_sequences)
        .where(document_sequences.c.name == bindparam("sequence_name"))
        .values(next_value=document_sequences.c.next_value + 1)
        .returning(document_sequences.c.next_value)
    )  # built once: every numbered document runs it

    def next(self, name: str) -> int:
        conn = self.session.connection()
        row = conn.execute(self._BUMP, {"sequence_name": name}).first()
        if row is not None:
            return int(row[0]) - 1
        conn.execute(insert(document_sequences).values(name=name, next_value=2))
        return 1

    def formatted(self, prefix: str, *, year: int | None = None, width: int = 6) -> str:
        name = f"{prefix}-{year}" if year else prefix
        return f"{name}-{self.next(name):0{width}d}"


class SqlAlchemyDealerRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.numbers = DocumentNumbers(session)

    def add(self, dealer: Dealer) -> None:
        self.session.add(dealer)

    def get(self, dealer_id: int) -> Dealer | None:
        lock = self.session.get_bind().dialect.name == "postgresql"
        return self.session.get(Dealer, dealer_id, with_for_update=lock or None)

    def by_uscc(self, uscc: str) -> Dealer | None:
        return self.session.scalars(select(Dealer).where(Dealer.uscc == Uscc(uscc))).first()  # type: ignore[arg-type]

    def next_code(self) -> str:
        return self.numbers.formatted("DL")


class SqlAlchemyUserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, user: User) -> None:
        self.session.add(user)

    def get(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def by_username(self, username: str) -> User | None:
        return self.session.scalars(select(User).where(User.username == username)).first()  # type: ignore[arg-type]

    def of_dealer(self, dealer_id: int) -> list[User]:
        return list(self.session.scalars(select(User).where(User.dealer_id == dealer_id)))  # type: ignore[arg-type]

    def by_badge(self, badge_uid: str) -> User | None:
        return self.session.scalars(select(User).where(User.badge_uid == badge_uid)).first()  # type: ignore[arg-type]

    def with_badges(self) -> list[User]:
        return list(self.session.scalars(
            select(User).where(User.badge_uid.is_not(None), User.is_active.is_(True))  # type: ignore[attr-defined]
            .order_by(User.id)))  # type: ignore[arg-type]


class SqlAlchemyDeviceReports:
    """One row per device, overwritten (update, else insert) in the unit of work's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def put(self, device_id: int, reported_at: dt.datetime, report: dict[str, Any]) -> None:
        overwrite = (update(device_reports).where(device_reports.c.device_id == device_id)
                     .values(reported_at=reported_at, report=report))
        if self.session.execute(overwrite).rowcount:  # type: ignore[attr-defined]
            return
        try:
            with self.session.begin_nested():
                self.session.execute(insert(device_reports).values(device_id=device_id, reported_at=reported_at,
                                                                   report=report))
        except IntegrityError:  # a concurrent first report of the same device won the insert
            self.session.execute(overwrite)


class SqlAlchemyDeviceCredentialRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, credential: DeviceCredential) -> None:
        self.session.add(credential)

    def get(self, credential_id: int) -> DeviceCredential | None:
        return self.session.get(DeviceCredential, credential_id)

    def by_prefix(self, key_prefix: str) -> DeviceCredential | None:
        return self.session.scalars(
            select(DeviceCredential).where(DeviceCredential.key_prefix == key_prefix)  # type: ignore[arg-type]
        ).first()

    def touch(self, credential: DeviceCredential, now: dt.datetime) -> None:
        credential.last_used_at = now
