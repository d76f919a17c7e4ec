"""Read side of the credit context: Core queries into plain dicts, scoped in SQL.

The dealer's credit page is read in one transaction (REPEATABLE READ on PostgreSQL, one WAL
snapshot on SQLite), so its parts always add up to the exposure it shows.

For the stock queries (vehicles & stock context) there are two entry points for the seed's
status words (未开票 / 已开票未收款 / 已开票已收款): :meth:`SqlCreditQueries.invoice_status_of`
for a page of VINs, and :func:`vehicle_invoice_status_expr`, a SQL expression to select or
filter on inside their own Core query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import BigInteger, Connection, case, func, literal, or_, select, type_coerce
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from dealercrm.adapters.db.analytics_queries import ageing_sums
from dealercrm.adapters.db.credit_tables import (
    ZERO,
    credit_accounts,
    credit_allocations,
    credit_change_requests,
    credit_commitments,
    credit_evaluations,
    credit_invoices,
    credit_overrides,
    credit_payments,
    credit_vehicle_invoices,
    contract_invoice_status_query,
    exposure_from_facts,
    new_account_row,
)
from dealercrm.adapters.db.orm import audit_log, dealers
from dealercrm.adapters.notify.sql_outbox import notification_outbox
from dealercrm.application.reads.credit import AllocationRow, EvaluationRow, PaymentRow
from dealercrm.domain.credit import (
    AGEING_BUCKETS,
    CommitmentState,
    ExposureParts,
    InvoiceState,
    VehicleInvoiceStatus,
    ageing_bucket,
    dunning_level,
)

_V = credit_vehicle_invoices.c
_I = credit_invoices.c


def vehicle_invoice_status_expr(vin_col: ColumnElement[Any],
                                contract_no_col: ColumnElement[Any] | None = None) -> ColumnElement[str]:
    """``not_invoiced`` / ``invoiced_unpaid`` / ``invoiced_paid`` for a vehicle, as a SQL
    expression over the caller's VIN (and optionally contract number) column: the vehicle's own
    invoice if one names it, else the contract's invoices that name no vehicle."""
    own = select(_V.status).where(_V.vin == vin_col).scalar_subquery()
    fallback: ColumnElement[Any] = literal(VehicleInvoiceStatus.NOT_INVOICED.value)
    if contract_no_col is not None:
        released = (select(credit_commitments.c.id)
                    .where(credit_commitments.c.contract_no == contract_no_col,
                           credit_commitments.c.state == CommitmentState.RELEASED.value)
                    .correlate_except(credit_commitments)  # two levels down: name the outer row's table
                    .exists())
        per_contract = (
            select(case((func.max(_I.open_fen) > 0, literal(VehicleInvoiceStatus.INVOICED_UNPAID.value)),
                        else_=literal(VehicleInvoiceStatus.INVOICED_PAID.value)))
            .where(_I.contract_no == contract_no_col, _I.state == InvoiceState.ISSUED.value, _I.vehicle_count == 0,
                   released)
            .having(func.count() > 0)
            .scalar_subquery()
        )
        fallback = func.coalesce(per_contract, fallback)
    return func.coalesce(own, fallback)


def _plain(row: Any) -> dict[str, Any]:
    d = dict(row._mapping)
    for k, v in d.items():
        if hasattr(v, "value") and not isinstance(v, (str, int)):
            d[k] = v.value
    return d


class SqlCreditQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    # -- dealers ---------------------------------------------------------------------------------

    def dealer_brief(self, dealer_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(dealers.c.id, dealers.c.code, dealers.c.legal_name, dealers.c.region)
                               .where(dealers.c.id == dealer_id)).first()
        return _plain(row) if row else None

    def contract_dealer(self, contract_no: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(select(credit_commitments.c.dealer_id)
                                .where(credit_commitments.c.contract_no == contract_no)).scalar()

    def invoice_dealer(self, invoice_id: int) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(select(_I.dealer_id).where(_I.id == invoice_id)).scalar()

    def payment_dealer(self, payment_id: int) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(select(credit_payments.c.dealer_id).where(credit_payments.c.id == payment_id)).scalar()

    # -- the credit page ---------------------------------------------------------------------

    def credit_page(self, dealer_id: int, today: dt.date, *, payments: int = 50) -> dict[str, Any]:
        """Everything a dealer's credit page shows, from one snapshot."""
        with self._snapshot() as conn:
            row = conn.execute(select(credit_accounts).where(credit_accounts.c.dealer_id == dealer_id)).first()
            account = _plain(row) if row else new_account_row(dealer_id)
            receivables = self._open_receivables(conn, dealer_id, today)
            contracts = self._contracts(conn, dealer_id, open_only=True)
            recent = self._payments(conn, dealer_id, after_id=None, limit=payments)
            unapplied = conn.execute(
                select(credit_payments.c.id, credit_payments.c.payment_no, credit_payments.c.contract_no,
                       credit_payments.c.unapplied_fen)
                .where(credit_payments.c.dealer_id == dealer_id, credit_payments.c.unapplied_fen > ZERO)
                .order_by(credit_payments.c.received_on, credit_payments.c.id)
            ).all()
            evaluation = next(iter(self._evaluations(conn, dealer_id, 1)), None)
        parts = ExposureParts(account["receivable_fen"], account["uninvoiced_fen"], account["prepayment_fen"])
        overdue = [r for r in receivables if r["days_overdue"] > 0]
        return {
            "account": account,
            "parts": parts,
            "open_receivables": receivables,
            "contracts": contracts,
            "payments": recent,
            "unapplied_payments": [_plain(r) for r in unapplied],
            "overdue_fen": sum(r["open_fen"] for r in overdue),
            "max_days_overdue": max((r["days_overdue"] for r in overdue), default=0),
            "evaluation": evaluation,
        }

    def _open_receivables(self, conn: Connection, dealer_id: int | None, today: dt.date,
                          regions: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
        q = (select(_I.id, _I.invoice_no, _I.dealer_id, _I.contract_no, _I.amount_fen, _I.paid_fen, _I.open_fen,
                    _I.issued_on, _I.due_on, _I.vins)
             .where(_I.open_fen > ZERO).order_by(_I.dealer_id, _I.due_on, _I.id))
        if dealer_id is not None:
            q = q.where(_I.dealer_id == dealer_id)
        if regions is not None:
            q = q.join(dealers, dealers.c.id == _I.dealer_id).where(dealers.c.region.in_(regions))
        out = []
        for r in conn.execute(q):
            d = _plain(r)
            d["days_overdue"] = max(0, (today - d["due_on"]).days)
            d["age_days"] = max(0, (today - d["issued_on"]).days)
            d["bucket"] = ageing_bucket(d["age_days"])
            out.append(d)
        return out

    def _contracts(self, conn: Connection, dealer_id: int, *, open_only: bool) -> list[dict[str, Any]]:
        c = credit_commitments.c
        billed = (select(_I.contract_no.label("contract_no"),
                         func.sum(_I.paid_fen).label("paid_fen"), func.sum(_I.open_fen).label("open_fen"))
                  .where(_I.dealer_id == dealer_id, _I.state == InvoiceState.ISSUED.value)
                  .group_by(_I.contract_no).subquery())
        q = (select(c.id, c.contract_no, c.amount_fen, c.invoiced_fen, c.state, c.reserved_at,
                    func.coalesce(billed.c.paid_fen, 0).label("paid_fen"),
                    func.coalesce(billed.c.open_fen, 0).label("receivable_fen"))
             .join_from(credit_commitments, billed, billed.c.contract_no == c.contract_no, isouter=True)
             .where(c.dealer_id == dealer_id).order_by(c.id))
        if open_only:
            q = q.where(or_(c.state.in_(("reserved", "invoiced_part")), billed.c.open_fen > 0))
        out = []
        earmarked = dict(conn.execute(
            select(credit_payments.c.contract_no, func.sum(credit_payments.c.unapplied_fen))
            .where(credit_payments.c.dealer_id == dealer_id, credit_payments.c.unapplied_fen > ZERO,
                   credit_payments.c.contract_no.is_not(None))
            .group_by(credit_payments.c.contract_no)
        ).all())
        for r in conn.execute(q):
            d = _plain(r)
            d["uninvoiced_fen"] = 0 if d["state"] == "cancelled" else d["amount_fen"] - d["invoiced_fen"]
            d["prepaid_fen"] = int(earmarked.get(d["contract_no"], 0))
            out.append(d)
        return out

    def _payments(self, conn: Connection, dealer_id: int | None, *, after_id: int | None, limit: int,
                  regions: tuple[str, ...] | None = None) -> list[PaymentRow]:
        p = credit_payments.c
        q = (select(p.id, p.payment_no, p.dealer_id, p.amount_fen, p.received_on, p.method, p.source, p.contract_no,
                    p.reference, p.unapplied_fen, p.recorded_by).order_by(p.id.desc()).limit(limit))
        if dealer_id is not None:
            q = q.where(p.dealer_id == dealer_id)
        if regions is not None:
            q = q.join(dealers, dealers.c.id == p.dealer_id).where(dealers.c.region.in_(regions))
        if after_id is not None:
            q = q.where(p.id < after_id)
        rows = [_plain(r) for r in conn.execute(q)]
        allocs: dict[int, list[AllocationRow]] = {}
        if rows:
            a = credit_allocations.c
            for r in conn.execute(
                select(a.payment_id, _I.invoice_no, a.contract_no, a.amount_fen, a.allocated_at, a.reversed_at)
                .join_from(credit_allocations, credit_invoices, _I.id == a.invoice_id)
                .where(a.payment_id.in_([row["id"] for row in rows])).order_by(a.id)
            ):
                allocs.setdefault(r.payment_id, []).append(
                    AllocationRow(r.invoice_no, r.contract_no, r.amount_fen, r.allocated_at, r.reversed_at))
        return [PaymentRow(**row, allocations=tuple(allocs.get(row["id"], ()))) for row in rows]

    # -- lists -----------------------------------------------------------------------------------

    def list_accounts(self, *, regions: tuple[str, ...] | None, dealer_id: int | None, status: str | None,
                      warning_only: bool, after_id: int | None, limit: int) -> list[dict[str, Any]]:
        a = credit_accounts.c
        q = (select(a.dealer_id, dealers.c.code, dealers.c.legal_name, dealers.c.region, a.limit_fen, a.term_days,
                    a.payment_cycle, a.warning_threshold_permille, a.status, a.receivable_fen, a.uninvoiced_fen,
                    a.prepayment_fen, a.warning_active)
             .join_from(credit_accounts, dealers, dealers.c.id == a.dealer_id)
             .order_by(a.dealer_id).limit(limit))
        if regions is not None:
            q = q.where(dealers.c.region.in_(regions))
        if dealer_id is not None:
            q = q.where(a.dealer_id == dealer_id)
        if status:
            q = q.where(a.status == status)
        if warning_only:
            q = q.where(a.warning_active.is_(True))
        if after_id is not None:
            q = q.where(a.dealer_id > after_id)
        with self.engine.connect() as conn:
            return [_plain(r) for r in conn.execute(q)]

    def list_invoices(self, *, regions: tuple[str, ...] | None, dealer_id: int | None, contract_no: str | None,
                      state: str | None, open_only: bool, after_id: int | None, limit: int) -> list[dict[str, Any]]:
        q = select(credit_invoices).order_by(_I.id.desc()).limit(limit)
        if regions is not None:
            q = q.join(dealers, dealers.c.id == _I.dealer_id).where(dealers.c.region.in_(regions))
        if dealer_id is not None:
            q = q.where(_I.dealer_id == dealer_id)
        if contract_no:
            q = q.where(_I.contract_no == contract_no)
        if state:
            q = q.where(_I.state == state)
        if open_only:
            q = q.where(_I.open_fen > ZERO)
        if after_id is not None:
            q = q.where(_I.id < after_id)
        with self.engine.connect() as conn:
            return [_plain(r) for r in conn.execute(q)]

    def list_payments(self, *, regions: tuple[str, ...] | None, dealer_id: int | None, after_id: int | None,
                      limit: int) -> list[PaymentRow]:
        with self.engine.connect() as conn:
            return self._payments(conn, dealer_id, after_id=after_id, limit=limit, regions=regions)

    def contract(self, contract_no: str) -> dict[str, Any] | None:
        dealer_id = self.contract_dealer(contract_no)
        if dealer_id is None:
            return None
        with self._snapshot() as conn:
            contract = next(c for c in self._contracts(conn, dealer_id, open_only=False)
                            if c["contract_no"] == contract_no)
            contract["dealer_id"] = dealer_id
            contract["invoices"] = [_plain(r) for r in conn.execute(
                select(credit_invoices).where(_I.contract_no == contract_no).order_by(_I.id))]
            o = credit_overrides.c
            contract["overrides"] = [_plain(r) for r in conn.execute(
                select(o.action, o.reason, o.overdue_fen, o.oldest_due_on, o.actor, o.at)
                .where(o.contract_no == contract_no).order_by(o.id))]
        return contract

    def change_requests(self, *, regions: tuple[str, ...] | None, dealer_id: int | None, state: str | None,
                        after_id: int | None, limit: int) -> list[dict[str, Any]]:
        r = credit_change_requests.c
        q = select(credit_change_requests).order_by(r.id.desc()).limit(limit)
        if regions is not None:
            q = q.join(dealers, dealers.c.id == r.dealer_id).where(dealers.c.region.in_(regions))
        if dealer_id is not None:
            q = q.where(r.dealer_id == dealer_id)
        if state:
            q = q.where(r.state == state)
        if after_id is not None:
            q = q.where(r.id < after_id)
        with self.engine.connect() as conn:
            return [_plain(x) for x in conn.execute(q)]

    def change_request(self, request_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(credit_change_requests)
                               .where(credit_change_requests.c.id == request_id)).first()
        return _plain(row) if row else None

    def invoice(self, invoice_id: int) -> dict[str, Any] | None:
        """The invoice with the payments applied to it (``allocations``, oldest first)."""
        a, p = credit_allocations.c, credit_payments.c
        with self.engine.connect() as conn:
            row = conn.execute(select(credit_invoices).where(_I.id == invoice_id)).first()
            if row is None:
                return None
            out = _plain(row)
            out["allocations"] = [_plain(r) for r in conn.execute(
                select(p.payment_no, p.received_on, a.amount_fen, a.allocated_at, a.allocated_by, a.reversed_at)
                .join_from(credit_allocations, credit_payments, p.id == a.payment_id)
                .where(a.invoice_id == invoice_id).order_by(a.id))]
        return out

    def dunning(self, *, regions: tuple[str, ...] | None, dealer_id: int | None,
                today: dt.date) -> list[dict[str, Any]]:
        c, o = credit_commitments.c, notification_outbox.c
        with self._snapshot() as conn:
            overdue = [r for r in self._open_receivables(conn, dealer_id, today, regions) if r["days_overdue"] > 0]
            if not overdue:
                return []
            contract_nos = sorted({r["contract_no"] for r in overdue})
            contracts = {r.contract_no: r for r in conn.execute(
                select(c.id, c.contract_no, c.dunning_level, c.dunning_due_on).where(c.contract_no.in_(contract_nos)))}
            names = {r.id: r for r in conn.execute(
                select(dealers.c.id, dealers.c.code, dealers.c.legal_name, dealers.c.region)
                .where(dealers.c.id.in_({r["dealer_id"] for r in overdue})))}
            sent: dict[str, list[dict[str, Any]]] = {}
            prefixes = {f"receivable.dunning:{k.id}:": no for no, k in contracts.items()}
            if prefixes:
                q = (select(o.idempotency_key, o.channel, o.recipient, o.template_code, o.status, o.created_at,
                            o.sent_at)
                     .where(or_(*(o.idempotency_key.startswith(prefix) for prefix in prefixes)))
                     .order_by(o.created_at, o.id))
                for m in conn.execute(q):
                    prefix = m.idempotency_key[:m.idempotency_key.index(":", len("receivable.dunning:")) + 1]
                    sent.setdefault(prefixes[prefix], []).append(_plain(m))
        by_dealer: dict[int, dict[str, Any]] = {}
        for r in overdue:
            d = names[r["dealer_id"]]
            dealer = by_dealer.setdefault(r["dealer_id"], {
                "dealer_id": d.id, "dealer_code": d.code, "dealer_name": d.legal_name, "region": d.region,
                "overdue_fen": 0, "max_days_overdue": 0, "contracts": {}})
            dealer["overdue_fen"] += r["open_fen"]
            dealer["max_days_overdue"] = max(dealer["max_days_overdue"], r["days_overdue"])
            k = contracts[r["contract_no"]]
            contract = dealer["contracts"].setdefault(r["contract_no"], {
                "contract_no": r["contract_no"], "invoices": [], "overdue_fen": 0, "oldest_due_on": r["due_on"],
                "days_overdue": 0, "reminders": sent.get(r["contract_no"], [])})
            contract["invoices"].append(r)
            contract["overdue_fen"] += r["open_fen"]
            contract["oldest_due_on"] = min(contract["oldest_due_on"], r["due_on"])
            contract["days_overdue"] = max(contract["days_overdue"], r["days_overdue"])
            contract["episode"] = (k.dunning_due_on, k.dunning_level)
        out = sorted(by_dealer.values(), key=lambda d: (-d["max_days_overdue"], d["dealer_code"]))
        for dealer in out:
            dealer["contracts"] = list(dealer["contracts"].values())
            for contract in dealer["contracts"]:
                contract["level_due"] = dunning_level(contract["days_overdue"])
                episode_due_on, level = contract.pop("episode")
                # the level reached counts for this overdue episode only (named by its oldest due date)
                contract["level_reached"] = level if episode_due_on == contract["oldest_due_on"] else 0
        return out

    def evaluations(self, dealer_id: int, limit: int = 20) -> list[EvaluationRow]:
        with self.engine.connect() as conn:
            return self._evaluations(conn, dealer_id, limit)

    @staticmethod
    def _evaluations(conn: Connection, dealer_id: int, limit: int) -> list[EvaluationRow]:
        e = credit_evaluations.c
        return [EvaluationRow(r.id, r.evaluated_at, r.score, r.grade, r.inputs, r.breakdown, r.formula)
                for r in conn.execute(select(e.id, e.evaluated_at, e.score, e.grade, e.inputs, e.breakdown, e.formula)
                                      .where(e.dealer_id == dealer_id).order_by(e.id.desc()).limit(limit))]

    def history(self, dealer_id: int, limit: int = 200) -> list[dict[str, Any]]:
        """The audit trail of the dealer's credit: terms, contracts, invoices, payments."""
        q = (select(audit_log).where(audit_log.c.root_entity == "credit_account", audit_log.c.root_id == dealer_id)
             .order_by(audit_log.c.id.desc()).limit(limit))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    # -- receivables -------------------------------------------------------------------------------

    def ageing(self, *, regions: tuple[str, ...] | None, dealer_id: int | None, today: dt.date) -> dict[str, Any]:
        """账龄: open receivables by days since the invoice date, per dealer and in total, with
        the overdue part (past its due date) beside it — summed in the database, one row per dealer."""
        d = dealers.c
        q = (select(_I.dealer_id, d.code, d.legal_name, d.region, *ageing_sums(today),
                    func.sum(type_coerce(_I.open_fen, BigInteger)).label("open_fen"))
             .select_from(credit_invoices.join(dealers, d.id == _I.dealer_id))
             .where(_I.open_fen > ZERO).group_by(_I.dealer_id, d.code, d.legal_name, d.region).order_by(_I.dealer_id))
        if dealer_id is not None:
            q = q.where(_I.dealer_id == dealer_id)
        if regions is not None:
            q = q.where(d.region.in_(regions))
        names = ("days_0_30", "days_31_60", "days_61_90", "over_90", "overdue_fen", "open_fen")
        keys = (*AGEING_BUCKETS, "overdue_fen", "open_fen")
        per: list[dict[str, Any]] = []
        total = dict.fromkeys(keys, 0)
        with self._snapshot() as conn:
            for r in conn.execute(q).mappings():
                row = {"dealer_id": r["dealer_id"], "dealer_code": r["code"], "dealer_name": r["legal_name"],
                       "region": r["region"]} | {k: int(r[n]) for k, n in zip(keys, names, strict=True)}
                per.append(row)
                for k in keys:
                    total[k] += row[k]
        return {"as_of": today, "dealers": per, "total": total}

    # -- vehicles --------------------------------------------------------------------------------

    def invoice_status_of(self, vins: Sequence[str], contract_of: Mapping[str, str] | None = None,
                          *, dealer_id: int | None = None, regions: tuple[str, ...] | None = None
                          ) -> dict[str, VehicleInvoiceStatus]:
        """Status word of each VIN for a page of stock; ``contract_of`` (VIN → contract number)
        lets per-contract invoices count for vehicles they do not name. A VIN outside the
        caller's scope (``dealer_id`` / ``regions``) reads as 未开票."""
        vins = list(dict.fromkeys(vins))
        if not vins:
            return {}
        q = select(_V.vin, _V.status).where(_V.vin.in_(vins))
        if dealer_id is not None:
            q = q.where(_V.dealer_id == dealer_id)
        if regions is not None:
            q = q.join(dealers, dealers.c.id == _V.dealer_id).where(dealers.c.region.in_(regions))
        with self.engine.connect() as conn:
            own = {r.vin: VehicleInvoiceStatus(r.status) for r in conn.execute(q)}
            by_contract: dict[str, VehicleInvoiceStatus] = {}
            wanted = sorted({contract_of[v] for v in vins if contract_of and v in contract_of and v not in own})
            if wanted:
                cq = contract_invoice_status_query(wanted)
                if dealer_id is not None:
                    cq = cq.where(_I.dealer_id == dealer_id)
                if regions is not None:
                    cq = cq.join(dealers, dealers.c.id == _I.dealer_id).where(dealers.c.region.in_(regions))
                by_contract = {r[0]: (VehicleInvoiceStatus.INVOICED_UNPAID if r[1] else VehicleInvoiceStatus.INVOICED_PAID)
                               for r in conn.execute(cq)}
        out = {}
        for v in vins:
            if v in own:
                out[v] = own[v]
            elif contract_of and contract_of.get(v) in by_contract:
                out[v] = by_contract[contract_of[v]]
            else:
                out[v] = VehicleInvoiceStatus.NOT_INVOICED
        return out

    def exposure_from_facts(self, dealer_id: int) -> ExposureParts:
        with self._snapshot() as conn:
            return exposure_from_facts(conn, dealer_id)


__all__ = ["SqlCreditQueries", "vehicle_invoice_status_expr"]
