"""Tables, mappers and the repository of the credit context.

The credit account row is the serialisation point: every change to a dealer's exposure locks
it first (``FOR UPDATE`` on PostgreSQL; SQLite write transactions already began IMMEDIATE). A
CHECK constraint repeats the invariant in the database: receivable + uninvoiced − prepayment
never exceeds the limit, whatever code path wrote the row.

Indexes are chosen so that the credit check does not depend on a dealer's history: the overdue
lookup walks ``(dealer_id, open_fen, due_on)`` and only touches open invoices; contracts are
found by their unique number.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Select,
    String,
    Table,
    Text,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from dealercrm.adapters.db.base import IdType, mapper_registry, metadata
from dealercrm.adapters.db.locks import lock_dealer
from dealercrm.adapters.db.orm import dealer_contacts, dealers, users
from dealercrm.adapters.db.types import StrEnumType, UtcDateTime
from dealercrm.application.ports.credit import (
    DealerRef,
    OpenReceivable,
    SettledItem,
    StaffContact,
    StoredAnswer,
)
from dealercrm.domain.credit import (
    AccountStatus,
    Allocation,
    ChangeRequestState,
    Commitment,
    CommitmentState,
    CreditAccount,
    CreditChangeRequest,
    CreditEvaluation,
    CreditOverride,
    ExposureParts,
    Invoice,
    InvoiceState,
    OverdueSummary,
    Payment,
    PaymentCycle,
    PaymentMethod,
    PaymentSource,
    VehicleInvoiceStatus,
)
from dealercrm.domain.errors import NotFound
from dealercrm.domain.identity import Role

Fen = BigInteger
ZERO = literal_column("0")  # a literal, so the planner can use the open-invoice index range

credit_accounts = Table(
    "credit_accounts",
    metadata,
    Column("dealer_id", IdType, ForeignKey("dealers.id"), primary_key=True, autoincrement=False),
    Column("limit_fen", Fen, nullable=False),
    Column("term_days", Integer, nullable=False),
    Column("payment_cycle", StrEnumType(PaymentCycle, 16), nullable=False),
    Column("warning_threshold_permille", Integer, nullable=False),
    Column("status", StrEnumType(AccountStatus, 10), nullable=False),
    Column("receivable_fen", Fen, nullable=False),
    Column("uninvoiced_fen", Fen, nullable=False),
    Column("prepayment_fen", Fen, nullable=False),
    Column("warning_active", Boolean, nullable=False),
    Column("warning_crossings", Integer, nullable=False),
    Column("opened_at", UtcDateTime),
    Column("version", Integer, nullable=False),
    Column("credit_grade", String(1)),
    CheckConstraint("limit_fen >= 0", name="limit_not_negative"),
    CheckConstraint("receivable_fen >= 0 AND uninvoiced_fen >= 0 AND prepayment_fen >= 0", name="parts_not_negative"),
    CheckConstraint("receivable_fen + uninvoiced_fen - prepayment_fen <= limit_fen", name="exposure_within_limit"),
)

credit_commitments = Table(
    "credit_commitments",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("contract_no", String(40), nullable=False, unique=True),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), nullable=False),
    Column("amount_fen", Fen, nullable=False),
    Column("invoiced_fen", Fen, nullable=False),
    Column("state", StrEnumType(CommitmentState, 16), nullable=False),
    Column("reserved_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime),
    Column("cancel_reason", String(500)),
    Column("dunning_level", Integer, nullable=False),
    Column("dunning_due_on", Date),
    Column("reminded_due_on", Date),
    Column("version", Integer, nullable=False),
    CheckConstraint("amount_fen > 0 AND invoiced_fen >= 0 AND invoiced_fen <= amount_fen", name="amounts"),
    Index("ix_credit_commitments_dealer_id_id", "dealer_id", "id"),
)

credit_invoices = Table(
    "credit_invoices",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("invoice_no", String(30), nullable=False, unique=True),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), nullable=False),
    Column("contract_no", String(40), ForeignKey("credit_commitments.contract_no"), nullable=False, index=True),
    Column("amount_fen", Fen, nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("issued_by", String(60), nullable=False),
    Column("vins", JSON, nullable=False),
    Column("vehicle_count", Integer, nullable=False),
    Column("state", StrEnumType(InvoiceState, 10), nullable=False),
    Column("paid_fen", Fen, nullable=False),
    Column("open_fen", Fen, nullable=False),
    Column("settled_on", Date),
    Column("voided_at", UtcDateTime),
    Column("voided_by", String(60)),
    Column("void_reason", String(500)),
    Column("version", Integer, nullable=False),
    CheckConstraint("amount_fen > 0 AND paid_fen >= 0 AND open_fen >= 0 AND paid_fen + open_fen <= amount_fen",
                    name="amounts"),
    Index("ix_credit_invoices_dealer_id_open_fen_due_on", "dealer_id", "open_fen", "due_on"),
    Index("ix_credit_invoices_dealer_id_id", "dealer_id", "id"),
)

credit_vehicle_invoices = Table(
    "credit_vehicle_invoices",
    metadata,
    Column("vin", String(17), primary_key=True),
    Column("invoice_id", IdType, ForeignKey("credit_invoices.id"), nullable=False, index=True),
    Column("contract_no", String(40), nullable=False),
    Column("dealer_id", IdType, nullable=False),
    Column("status", StrEnumType(VehicleInvoiceStatus, 16), nullable=False),
)

credit_payments = Table(
    "credit_payments",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("payment_no", String(30), nullable=False, unique=True),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), nullable=False),
    Column("amount_fen", Fen, nullable=False),
    Column("received_on", Date, nullable=False),
    Column("method", StrEnumType(PaymentMethod, 16), nullable=False),
    Column("source", StrEnumType(PaymentSource, 10), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("recorded_by", String(60), nullable=False),
    Column("contract_no", String(40)),
    Column("reference", String(100)),
    Column("erp_payment_id", String(64), unique=True),
    Column("note", String(500)),
    Column("unapplied_fen", Fen, nullable=False),
    Column("version", Integer, nullable=False),
    CheckConstraint("amount_fen > 0 AND unapplied_fen >= 0 AND unapplied_fen <= amount_fen", name="amounts"),
    Index("ix_credit_payments_dealer_id_unapplied_fen", "dealer_id", "unapplied_fen"),
    Index("ix_credit_payments_dealer_id_id", "dealer_id", "id"),
)

credit_allocations = Table(
    "credit_allocations",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("payment_id", IdType, ForeignKey("credit_payments.id"), nullable=False, index=True),
    Column("invoice_id", IdType, ForeignKey("credit_invoices.id"), nullable=False, index=True),
    Column("dealer_id", IdType, nullable=False),
    Column("contract_no", String(40), nullable=False),
    Column("amount_fen", Fen, nullable=False),
    Column("allocated_at", UtcDateTime, nullable=False),
    Column("allocated_by", String(60), nullable=False),
    Column("reversed_at", UtcDateTime),
    CheckConstraint("amount_fen > 0", name="amount_positive"),
)

credit_change_requests = Table(
    "credit_change_requests",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("request_no", String(30), nullable=False, unique=True),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), nullable=False),
    Column("changes", JSON, nullable=False),
    Column("previous", JSON),
    Column("reason", String(500), nullable=False),
    Column("requested_by_id", IdType),
    Column("requested_by", String(60), nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("state", StrEnumType(ChangeRequestState, 10), nullable=False),
    Column("decided_by_id", IdType),
    Column("decided_by", String(60)),
    Column("decided_at", UtcDateTime),
    Column("decision_note", String(500)),
    Column("version", Integer, nullable=False),
    Index("ix_credit_change_requests_dealer_id_state", "dealer_id", "state"),
)

credit_overrides = Table(
    "credit_overrides",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), nullable=False, index=True),
    Column("contract_no", String(40), nullable=False),
    Column("action", String(20), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("overdue_fen", Fen, nullable=False),
    Column("oldest_due_on", Date, nullable=False),
    Column("actor_id", IdType),
    Column("actor", String(60), nullable=False),
    Column("at", UtcDateTime, nullable=False),
)

credit_evaluations = Table(
    "credit_evaluations",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("dealer_id", IdType, ForeignKey("dealers.id"), nullable=False),
    Column("evaluated_at", UtcDateTime, nullable=False),
    Column("score", Integer, nullable=False),
    Column("grade", String(2), nullable=False),
    Column("inputs", JSON, nullable=False),
    Column("breakdown", JSON, nullable=False),
    Column("formula", Text, nullable=False),
    Index("ix_credit_evaluations_dealer_id_id", "dealer_id", "id"),
)

credit_idempotency_keys = Table(
    "credit_idempotency_keys",
    metadata,
    Column("scope", String(40), nullable=False),
    Column("key", String(200), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("actor_id", IdType),
    Column("created_at", UtcDateTime, nullable=False),
    Column("answer", JSON),
    PrimaryKeyConstraint("scope", "key"),
)

# Statements of the hot path, built once (only their parameters change per call).
_DEALER_EXISTS = select(dealers.c.id).where(dealers.c.id == bindparam("dealer_id"))
_OVERDUE = (select(func.coalesce(func.sum(credit_invoices.c.open_fen), 0), func.min(credit_invoices.c.due_on),
                   func.count())
            .where(credit_invoices.c.dealer_id == bindparam("dealer_id"), credit_invoices.c.open_fen > ZERO,
                   credit_invoices.c.due_on < bindparam("today")))


def start_credit_mappers() -> None:
    """Map the credit classes (``mapping.start_mappers`` calls this once)."""
    mapper_registry.map_imperatively(CreditAccount, credit_accounts, version_id_col=credit_accounts.c.version)
    mapper_registry.map_imperatively(Commitment, credit_commitments, version_id_col=credit_commitments.c.version)
    mapper_registry.map_imperatively(Invoice, credit_invoices, version_id_col=credit_invoices.c.version)
    mapper_registry.map_imperatively(Payment, credit_payments, version_id_col=credit_payments.c.version)
    mapper_registry.map_imperatively(Allocation, credit_allocations)
    mapper_registry.map_imperatively(CreditChangeRequest, credit_change_requests,
                                     version_id_col=credit_change_requests.c.version)
    mapper_registry.map_imperatively(CreditOverride, credit_overrides)
    mapper_registry.map_imperatively(CreditEvaluation, credit_evaluations)


@functools.lru_cache(maxsize=1)
def _lock_account() -> Select[Any]:
    """The account row, locked for update (hot path: built once, after mapping)."""
    return (select(CreditAccount).where(credit_accounts.c.dealer_id == bindparam("dealer_id"))
            .with_for_update().execution_options(populate_existing=True))


@functools.lru_cache(maxsize=2)
def _commitment(refresh: bool) -> Select[Any]:
    """A commitment by contract number; ``refresh`` overwrites what the session holds."""
    q = select(Commitment).where(credit_commitments.c.contract_no == bindparam("contract_no"))
    return q.execution_options(populate_existing=True) if refresh else q


def _insert_for(session: Session):  # type: ignore[no-untyped-def]
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def new_account_row(dealer_id: int, now: dt.datetime | None = None) -> dict[str, Any]:
    """Column values of a fresh account: limit 0 (prepayment only), 30-day term, monthly, 80 %."""
    return dict(dealer_id=dealer_id, limit_fen=0, term_days=30, payment_cycle=PaymentCycle.MONTHLY.value,
                warning_threshold_permille=800, status=AccountStatus.ACTIVE.value, receivable_fen=0,
                uninvoiced_fen=0, prepayment_fen=0, warning_active=False, warning_crossings=0, opened_at=now,
                version=1)


class SqlAlchemyCreditRepository:
    """``uow.credit`` on the unit of work's session. Implements every narrow port of
    ``application/ports/credit.py`` (``CreditAccounts``, ``CreditDirectory``, ``Commitments``,
    ``Invoices``, ``Payments``, ``CreditChangeRequests``, ``PostingLedger``, ``CreditFacts``), hence
    ``CreditRepository`` and the release check's ``ReleaseChecks``."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, obj: object) -> None:
        self.session.add(obj)

    # -- accounts and dealers ---------------------------------------------------------------

    def lock_account(self, dealer_id: int) -> CreditAccount:
        lock_dealer(self.session, dealer_id)  # the dealer first (adapters.db.locks)
        account = self.session.scalars(_lock_account(), {"dealer_id": dealer_id}).first()
        if account is None:
            if self.session.execute(_DEALER_EXISTS, {"dealer_id": dealer_id}).first() is None:
                raise NotFound("经销商不存在", code="dealer.not_found")
            clock = self.session.info.get("clock")
            stmt = _insert_for(self.session)(credit_accounts).values(
                **new_account_row(dealer_id, clock() if clock else None)
            ).on_conflict_do_nothing(index_elements=["dealer_id"])
            self.session.execute(stmt)
            account = self.session.scalars(_lock_account(), {"dealer_id": dealer_id}).one()
        return account

    def find_account(self, dealer_id: int) -> CreditAccount | None:
        return self.session.get(CreditAccount, dealer_id)

    def dealer(self, dealer_id: int | None = None, *, code: str | None = None) -> DealerRef | None:
        q = select(dealers.c.id, dealers.c.code, dealers.c.legal_name, dealers.c.region, dealers.c.sales_rep_id)
        q = q.where(dealers.c.id == dealer_id) if code is None else q.where(dealers.c.code == code)
        row = self.session.execute(q).first()
        if row is None:
            return None
        c = self.session.execute(
            select(dealer_contacts.c.name, dealer_contacts.c.email, dealer_contacts.c.phone)
            .where(dealer_contacts.c.dealer_id == row.id)
            .order_by(dealer_contacts.c.is_primary.desc(), dealer_contacts.c.id)
            .limit(1)
        ).first()
        return DealerRef(row.id, row.code, row.legal_name, row.region, row.sales_rep_id,
                         c.name if c else None, c.email if c else None, str(c.phone) if c else None)

    def staff(self, role: Role) -> list[StaffContact]:
        rows = self.session.execute(
            select(users.c.id, users.c.display_name, users.c.email, users.c.phone)
            .where(users.c.role == role.value, users.c.is_active.is_(True)).order_by(users.c.id)
        )
        return [StaffContact(r.id, r.display_name, r.email, r.phone) for r in rows]

    def user_contact(self, user_id: int) -> StaffContact | None:
        r = self.session.execute(
            select(users.c.id, users.c.display_name, users.c.email, users.c.phone)
            .where(users.c.id == user_id, users.c.is_active.is_(True))
        ).first()
        return StaffContact(r.id, r.display_name, r.email, r.phone) if r else None

    def dealers_with_accounts(self) -> list[int]:
        return list(self.session.scalars(select(credit_accounts.c.dealer_id).order_by(credit_accounts.c.dealer_id)))

    # -- contracts ----------------------------------------------------------------------------

    def commitment(self, contract_no: str, *, refresh: bool = False) -> Commitment | None:
        q = _commitment(refresh)
        return self.session.scalars(q, {"contract_no": contract_no}).first()

    def add_override(self, **fields: Any) -> None:
        self.session.add(CreditOverride(**fields))

    # -- invoices -----------------------------------------------------------------------------

    def invoice(self, invoice_id: int, *, refresh: bool = False) -> Invoice | None:
        q = select(Invoice).where(credit_invoices.c.id == invoice_id)
        if refresh:
            q = q.execution_options(populate_existing=True)
        return self.session.scalars(q).first()

    def open_invoices(self, dealer_id: int, contract_no: str | None = None) -> list[Invoice]:
        q = (select(Invoice)
             .where(credit_invoices.c.dealer_id == dealer_id, credit_invoices.c.open_fen > ZERO)
             .order_by(credit_invoices.c.due_on, credit_invoices.c.id)
             .execution_options(populate_existing=True))
        if contract_no is not None:
            q = q.where(credit_invoices.c.contract_no == contract_no)
        return list(self.session.scalars(q))

    def overdue(self, dealer_id: int, today: dt.date) -> OverdueSummary | None:
        row = self.session.execute(_OVERDUE, {"dealer_id": dealer_id, "today": today}).one()
        if not row[2]:
            return None
        return OverdueSummary(int(row[0]), row[1], int(row[2]), today)

    def vehicle_invoices(self, vins: Sequence[str]) -> dict[str, tuple[int, str, VehicleInvoiceStatus]]:
        if not vins:
            return {}
        t = credit_vehicle_invoices.c
        rows = self.session.execute(select(t.vin, t.invoice_id, t.contract_no, t.status).where(t.vin.in_(list(vins))))
        return {r.vin: (r.invoice_id, r.contract_no, VehicleInvoiceStatus(r.status)) for r in rows}

    def contract_invoice_status(self, contract_nos: Sequence[str]) -> dict[str, VehicleInvoiceStatus]:
        rows = self.session.execute(contract_invoice_status_query(list(contract_nos)))
        return {r[0]: VehicleInvoiceStatus.INVOICED_UNPAID if r[1] else VehicleInvoiceStatus.INVOICED_PAID
                for r in rows}

    def link_vehicles(self, invoice: Invoice) -> None:
        if invoice.vins:
            self.session.execute(insert(credit_vehicle_invoices), [
                dict(vin=v, invoice_id=invoice.id, contract_no=invoice.contract_no, dealer_id=invoice.dealer_id,
                     status=invoice.vehicle_status.value)
                for v in invoice.vins
            ])

    def unlink_vehicles(self, invoice: Invoice) -> None:
        self.session.execute(delete(credit_vehicle_invoices).where(credit_vehicle_invoices.c.invoice_id == invoice.id))

    def mark_vehicles_paid(self, invoice: Invoice) -> None:
        self.session.execute(
            update(credit_vehicle_invoices).where(credit_vehicle_invoices.c.invoice_id == invoice.id)
            .values(status=VehicleInvoiceStatus.INVOICED_PAID.value)
        )

    # -- payments -----------------------------------------------------------------------------

    def payment(self, payment_id: int, *, refresh: bool = False) -> Payment | None:
        q = select(Payment).where(credit_payments.c.id == payment_id)
        if refresh:
            q = q.execution_options(populate_existing=True)
        return self.session.scalars(q).first()

    def payment_by_erp_id(self, erp_payment_id: str) -> Payment | None:
        return self.session.scalars(
            select(Payment).where(credit_payments.c.erp_payment_id == erp_payment_id)
            .execution_options(populate_existing=True)
        ).first()

    def unapplied_payments(self, dealer_id: int) -> list[Payment]:
        return list(self.session.scalars(
            select(Payment).where(credit_payments.c.dealer_id == dealer_id, credit_payments.c.unapplied_fen > ZERO)
            .order_by(credit_payments.c.received_on, credit_payments.c.id)
            .execution_options(populate_existing=True)
        ))

    def allocations_of_invoice(self, invoice_id: int) -> list[Allocation]:
        return list(self.session.scalars(
            select(Allocation).where(credit_allocations.c.invoice_id == invoice_id,
                                     credit_allocations.c.reversed_at.is_(None))
            .order_by(credit_allocations.c.id)
        ))

    def allocations_of_payment(self, payment_id: int) -> list[Allocation]:
        return list(self.session.scalars(
            select(Allocation).where(credit_allocations.c.payment_id == payment_id,
                                     credit_allocations.c.reversed_at.is_(None))
            .order_by(credit_allocations.c.id)
        ))

    # -- change requests ----------------------------------------------------------------------

    def change_request(self, request_id: int, *, refresh: bool = False) -> CreditChangeRequest | None:
        q = select(CreditChangeRequest).where(credit_change_requests.c.id == request_id)
        if refresh:
            q = q.execution_options(populate_existing=True)
        return self.session.scalars(q).first()

    def pending_change_request(self, dealer_id: int) -> CreditChangeRequest | None:
        return self.session.scalars(
            select(CreditChangeRequest).where(credit_change_requests.c.dealer_id == dealer_id,
                                              credit_change_requests.c.state == ChangeRequestState.PENDING.value)
        ).first()

    def last_grade_proposal(self, dealer_id: int) -> CreditChangeRequest | None:
        c = credit_change_requests.c  # only the value analysis files requests without a person
        last = self.session.scalars(
            select(CreditChangeRequest).where(c.dealer_id == dealer_id, c.requested_by_id.is_(None))
            .order_by(c.id.desc()).limit(1)).first()
        return last if last is not None and last.is_grade_proposal else None

    # -- idempotency ----------------------------------------------------------------------------

    def claim_idempotency_key(self, scope: str, key: str, fingerprint: str, actor_id: int | None,
                              now: dt.datetime) -> StoredAnswer | None:
        t = credit_idempotency_keys
        # On PostgreSQL a concurrent holder of the same key makes this INSERT wait until it
        # commits (then: nothing inserted, its row is visible) or rolls back (then: ours).
        inserted = self.session.execute(
            _insert_for(self.session)(t).values(scope=scope, key=key, fingerprint=fingerprint, actor_id=actor_id,
                                                created_at=now, answer=None)
            .on_conflict_do_nothing(index_elements=["scope", "key"])
            .returning(t.c.key)
        ).first()
        if inserted is not None:
            return None
        row = self.session.execute(
            select(t.c.fingerprint, t.c.answer).where(t.c.scope == scope, t.c.key == key)
        ).one()
        return StoredAnswer(row.fingerprint, row.answer)

    def store_answer(self, scope: str, key: str, answer: dict[str, Any]) -> None:
        t = credit_idempotency_keys
        self.session.execute(update(t).where(t.c.scope == scope, t.c.key == key).values(answer=answer))

    # -- facts, reminders, evaluation -------------------------------------------------------

    def exposure_from_facts(self, dealer_id: int) -> ExposureParts:
        return exposure_from_facts(self.session, dealer_id)

    def open_receivables(self, *, dealer_id: int | None = None, due_before: dt.date | None = None
                         ) -> list[OpenReceivable]:
        i, c = credit_invoices.c, credit_commitments.c
        q = (select(i.id, i.invoice_no, i.dealer_id, i.contract_no, c.id.label("cid"), i.amount_fen, i.open_fen,
                    i.issued_on, i.due_on)
             .join_from(credit_invoices, credit_commitments, c.contract_no == i.contract_no)
             .where(i.open_fen > ZERO).order_by(i.dealer_id, i.due_on, i.id))
        if dealer_id is not None:
            q = q.where(i.dealer_id == dealer_id)
        if due_before is not None:
            q = q.where(i.due_on < due_before)
        return [OpenReceivable(r.id, r.invoice_no, r.dealer_id, r.contract_no, r.cid, r.amount_fen, r.open_fen,
                               r.issued_on, r.due_on) for r in self.session.execute(q)]

    def settlement_history(self, dealer_id: int, due_from: dt.date, due_to: dt.date) -> list[SettledItem]:
        i, a, p = credit_invoices.c, credit_allocations.c, credit_payments.c
        window = (i.dealer_id == dealer_id, i.state == InvoiceState.ISSUED.value, i.due_on >= due_from,
                  i.due_on < due_to)
        paid = self.session.execute(
            select(i.id, i.due_on, a.amount_fen, p.received_on)
            .join_from(credit_invoices, credit_allocations, a.invoice_id == i.id)
            .join(credit_payments, p.id == a.payment_id)
            .where(*window, a.reversed_at.is_(None))
        )
        items = [SettledItem(r[0], r[1], r[2], r[3]) for r in paid]
        still_open = self.session.execute(select(i.id, i.due_on, i.open_fen).where(*window, i.open_fen > ZERO))
        items += [SettledItem(r[0], r[1], r[2], None) for r in still_open]
        return items


def contract_invoice_status_query(contract_nos: list[str]) -> Any:
    """(contract_no, 1 if any per-contract invoice is open else 0) for contracts whose whole value
    is invoiced and that have invoices naming no vehicle: only then do those invoices speak for
    every vehicle of the contract. A partly invoiced contract says nothing about a vehicle."""
    t, c = credit_invoices.c, credit_commitments.c
    return (select(t.contract_no, func.max(case((t.open_fen > 0, 1), else_=0)))
            .join_from(credit_invoices, credit_commitments, c.contract_no == t.contract_no)
            .where(t.contract_no.in_(contract_nos), t.state == InvoiceState.ISSUED.value, t.vehicle_count == 0,
                   c.state == CommitmentState.RELEASED.value)
            .group_by(t.contract_no))


def exposure_from_facts(session_or_conn: Any, dealer_id: int) -> ExposureParts:
    """Σ over the facts, independent of the account's maintained sums (and of the maintained
    ``open_fen`` / ``invoiced_fen`` / ``unapplied_fen`` columns): invoices, allocations,
    payments and commitments."""
    i, a, p, c = credit_invoices.c, credit_allocations.c, credit_payments.c, credit_commitments.c
    issued = i.state == InvoiceState.ISSUED.value

    def scalar(q: Any) -> int:
        return int(session_or_conn.execute(q).scalar() or 0)

    invoiced_total = scalar(select(func.sum(i.amount_fen)).where(i.dealer_id == dealer_id, issued))
    applied_on_issued = scalar(
        select(func.sum(a.amount_fen)).join_from(credit_allocations, credit_invoices, i.id == a.invoice_id)
        .where(a.dealer_id == dealer_id, a.reversed_at.is_(None), issued)
    )
    active = c.state != CommitmentState.CANCELLED.value
    contracts_total = scalar(select(func.sum(c.amount_fen)).where(c.dealer_id == dealer_id, active))
    invoiced_on_active = scalar(
        select(func.sum(i.amount_fen)).join_from(credit_invoices, credit_commitments, c.contract_no == i.contract_no)
        .where(i.dealer_id == dealer_id, issued, active)
    )
    received = scalar(select(func.sum(p.amount_fen)).where(p.dealer_id == dealer_id))
    applied = scalar(select(func.sum(a.amount_fen)).where(a.dealer_id == dealer_id, a.reversed_at.is_(None)))
    return ExposureParts(invoiced_total - applied_on_issued, contracts_total - invoiced_on_active, received - applied)
