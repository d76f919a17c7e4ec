"""Persistence ports: repositories per aggregate and the unit of work that commits them.

Repositories never commit. A use case opens ``with uow:``, changes aggregates and calls
``uow.commit()``; leaving the block without committing rolls everything back, so an error
part-way leaves nothing behind. Adapters translate integrity errors into our ``Conflict``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

import attrs

from dealercrm.domain.channel import Dealer
from dealercrm.domain.identity import DeviceCredential, Principal, User
from dealercrm.domain.regions import Region, RegionUse

if TYPE_CHECKING:
    from dealercrm.application.ports.workflow import (
        StandingDelegationRepository,
        WorkflowRepository,
    )

Clock = Callable[[], datetime]


class DealerRepository(Protocol):
    def add(self, dealer: Dealer) -> None: ...

    def assessment_rules(self) -> dict[str, Any] | None:
        """The newest registration checklist: ``{"items": [...], "created_at", "created_by"}`` (None: none set)."""
        ...

    def save_assessment_rules(self, items: list[dict[str, Any]], at: datetime, by: str) -> None:
        """Store a new version of the checklist (the older ones stay)."""
        ...

    def growth_plan(self, dealer_id: int, year: int) -> dict[str, Any] | None:
        """The dealer's growth plan of ``year``: the ``GrowthPlan`` fields plus updated_at/updated_by."""
        ...

    def save_growth_plan(self, dealer_id: int, plan: dict[str, Any], at: datetime, by: str) -> None:
        """Insert or replace the dealer's plan of ``plan["year"]``."""
        ...

    def get(self, dealer_id: int) -> Dealer | None:
        """Load for change; on PostgreSQL the dealer's row is locked until the transaction ends."""

    def by_uscc(self, uscc: str) -> Dealer | None: ...

    def next_code(self) -> str:
        """The next human dealer number (``DL-000123``)."""


class RegionRepository(Protocol):
    """The sales regions (大区) the administrators keep; the one place the application reads which
    regions are known (``active_names``) before a rule checks a dealer's, station's, campaign's
    or key account's region."""

    def add(self, region: Region) -> None:
        """Insert (the id is assigned now); a taken code or name is ``Conflict``."""

    def get(self, region_id: int) -> Region | None: ...

    def all(self) -> list[Region]:
        """Every region, active or not, by sort order then id."""

    def active_names(self) -> list[str]:
        """The active regions' names in their sort order: one small query."""

    def save(self, region: Region) -> None:
        """Write a region read by ``get``; ``Conflict`` (``region.stale``) when another
        transaction saved it since."""

    def usage(self, name: str, *, active_only: bool) -> RegionUse:
        """How many dealers, users and service stations name the region (only the active ones:
        dealers not terminated, active users, stations not terminated)."""


class UserRepository(Protocol):
    def add(self, user: User) -> None: ...

    def get(self, user_id: int) -> User | None: ...

    def by_username(self, username: str) -> User | None: ...

    def of_dealer(self, dealer_id: int) -> list[User]: ...

    def by_badge(self, badge_uid: str) -> User | None:
        """The user holding this (normalised) badge UID, active or not."""

    def with_badges(self) -> list[User]:
        """Active users that hold a badge (what the gate devices may accept)."""


class DeviceReports(Protocol):
    """The last status report of each edge agent: one per device credential, overwritten."""

    def put(self, device_id: int, reported_at: datetime, report: dict[str, Any]) -> None: ...


class DeviceCredentialRepository(Protocol):
    def add(self, credential: DeviceCredential) -> None: ...

    def get(self, credential_id: int) -> DeviceCredential | None: ...

    def by_prefix(self, key_prefix: str) -> DeviceCredential | None: ...


class NotificationOutbox(Protocol):
    """Messages written in the unit of work's transaction; the worker delivers them after commit.

    A rolled-back transaction sends nothing; a repeated ``idempotency_key`` is a harmless no-op.
    """

    def enqueue(self, template_code: str, variables: dict[str, object], recipient: str,
                idempotency_key: str) -> str: ...

    def enqueue_many(self, messages: Sequence[QueuedMessage]) -> None:
        """Several messages at once (one statement in SQL): the review e-mails of a step that
        opens for a dozen people. Same rules as :meth:`enqueue`, message by message."""
        ...


@attrs.frozen
class QueuedMessage:
    """One message for :meth:`NotificationOutbox.enqueue_many`."""

    template_code: str
    variables: Mapping[str, object]
    recipient: str
    idempotency_key: str


class DocumentNumbering(Protocol):
    """Human document numbers from a shared sequence: ``formatted("FP", year=2026)`` →
    ``FP-2026-000001``."""

    def next(self, name: str) -> int: ...

    def formatted(self, prefix: str, *, year: int | None = None, width: int = 6) -> str: ...


class Transaction(Protocol):
    """One business transaction, before any repository: each context's unit of work Protocol
    adds just the repositories its use cases use. ``actor`` is recorded in the audit trail of
    every change."""

    actor: Principal

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def flush(self) -> None:
        """Assign ids to new aggregates without committing."""

    def snapshot(self, *, per_statement: bool = False) -> AbstractContextManager[Self]:
        """The same repositories in a read-only transaction that takes no write lock (SQLite: BEGIN
        DEFERRED instead of IMMEDIATE, and no place in the process's writer queue), for reads that
        need no lock: a configurator's estimate, an idempotency ledger's lookup before the write.
        Nothing is ever committed.

        ``per_statement``: no transaction around the reads, each statement sees its own snapshot
        (no BEGIN/ROLLBACK round trips), for a use case that reads in one statement or re-checks
        what it read inside its write transaction (creating an order)."""
        ...


class UnitOfWork(Transaction, Protocol):
    """The shared unit of work: the channel's and identity's repositories, the outbox and the
    approval workflow's (a context whose use cases start or decide workflows extends this one)."""

    dealers: DealerRepository
    users: UserRepository
    regions: RegionRepository
    devices: DeviceCredentialRepository
    device_reports: DeviceReports
    outbox: NotificationOutbox
    workflows: WorkflowRepository
    delegations: StandingDelegationRepository


UnitOfWorkFactory = Callable[[Principal], UnitOfWork]


class DealerQueries(Protocol):
    """Read side for the channel: plain dict rows straight from SQL, never live entities."""

    def list_dealers(
        self,
        *,
        dealer_id: int | None,
        regions: tuple[str, ...] | None,
        status: str | None,
        region: str | None,
        product_line: str | None,
        text: str | None,
        after_id: int | None,
        limit: int,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Without ``text``: by id after ``after_id``. With ``text``: ranked best first from ``offset``."""

    def dealer_detail(self, dealer_id: int) -> dict[str, Any] | None: ...

    def dealer_overview(self, dealer_id: int, since: datetime, until: datetime) -> dict[str, Any]:
        """The figures of the dealer 360 view (seed 000 §二): orders, stock, retail sales, credit, value,
        service requests and their customers' satisfaction, campaign leads and trainings, the period
        ones in [since, until)."""
        ...

    def audit_history(self, entity: str, entity_id: int, limit: int = 200) -> list[dict[str, Any]]: ...

    def list_users(self, *, after_id: int | None, limit: int, role: str | None = None, active: bool | None = None,
                   text: str | None = None) -> list[dict[str, Any]]: ...

    def list_devices(self) -> list[dict[str, Any]]:
        """Every device credential (never its key hash) with its last status report and time."""

    def user_status(self, user_id: int) -> dict[str, Any] | None:
        """The user's role, scope and active flag (``None``: no such user)."""

    def ping(self) -> None:
        """Reach the database (readiness probe)."""


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...

    def needs_rehash(self, password_hash: str) -> bool: ...


class TokenService(Protocol):
    def issue(self, principal: Principal) -> tuple[str, datetime]:
        """A signed bearer token for the principal and its expiry."""

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims; raises ``AuthenticationFailed`` when anything is off."""
