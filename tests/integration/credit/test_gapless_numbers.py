"""Issue 17 §2, gapless kinds on both engines: invoices (FP) and payment receipts (SK) take their
number as the use case's last statement before COMMIT, so a transaction rolled back after
numbering leaves no gap, concurrent writers get one unbroken series, and the series' counter row
is locked only for the document's own number update, the audit rows and the COMMIT."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import event, select

from dealercrm.adapters.db.credit_tables import credit_invoices, credit_payments
from dealercrm.application import credit
from tests.fakes import race

W = 10_000_00
WRITERS = 20


class CommitRefused(Exception):
    """The database refused COMMIT (a lost connection, a failed disk): the transaction rolls back."""


class CommitFails:
    """A unit of work whose COMMIT fails after the use case did everything, numbering included."""

    def __init__(self, uow: Any) -> None:
        self._uow = uow

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uow, name)

    def __enter__(self) -> CommitFails:
        self._uow.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._uow.__exit__(*exc)

    def commit(self) -> None:
        raise CommitRefused


def _invoice(crm, kit, contract_no: str, *, commit_fails: bool = False) -> str:
    uow = crm.uow(kit.invoicer)
    issued = credit.issue_invoice(credit.IssueInvoice(contract_no, 1 * W), CommitFails(uow) if commit_fails else uow,
                                  kit.clock)
    return issued.invoice_no


def _pay(crm, kit, dealer_id: int, key: str, *, commit_fails: bool = False) -> str:
    uow = crm.uow(kit.fin_a)
    answer = credit.record_payment(credit.RecordPayment(dealer_id, 1 * W, kit.clock().date(), allocation="none"),
                                   key, CommitFails(uow) if commit_fails else uow, kit.clock)
    return answer["payment_no"]


def _stored(crm, column) -> list[str]:
    with crm.engine.connect() as conn:
        return sorted(conn.execute(select(column)).scalars())


def _series(prefix: str, n: int) -> list[str]:
    return [f"{prefix}-2026-{i:06d}" for i in range(1, n + 1)]


def test_an_invoice_rolled_back_after_numbering_leaves_no_gap(crm, kit):
    dealer_id = kit.add_dealer()
    kit.grant(dealer_id, 100 * W)
    for n in (1, 2, 3):
        kit.reserve(dealer_id, f"HT-GAP-{n}", 10 * W)

    first = _invoice(crm, kit, "HT-GAP-1")
    with pytest.raises(CommitRefused):
        _invoice(crm, kit, "HT-GAP-2", commit_fails=True)
    second = _invoice(crm, kit, "HT-GAP-3")

    assert (first, second) == ("FP-2026-000001", "FP-2026-000002")
    assert _stored(crm, credit_invoices.c.invoice_no) == _series("FP", 2)


def test_a_payment_rolled_back_after_numbering_leaves_no_gap(crm, kit):
    dealer_id = kit.add_dealer()
    kit.grant(dealer_id, 100 * W)

    first = _pay(crm, kit, dealer_id, "gap-pay-000001")
    with pytest.raises(CommitRefused):
        _pay(crm, kit, dealer_id, "gap-pay-000002", commit_fails=True)
    second = _pay(crm, kit, dealer_id, "gap-pay-000003")

    assert (first, second) == ("SK-2026-000001", "SK-2026-000002")
    assert _stored(crm, credit_payments.c.payment_no) == _series("SK", 2)


def test_concurrent_invoices_half_rolled_back_after_numbering_form_one_unbroken_series(crm, kit):
    dealers = [kit.add_dealer() for _ in range(4)]
    for d in dealers:
        kit.grant(d, 100 * W)
    for i in range(WRITERS):
        kit.reserve(dealers[i % 4], f"HT-RACE-{i:02d}", 10 * W)

    outcomes = race(WRITERS, lambda i: _invoice(crm, kit, f"HT-RACE-{i:02d}", commit_fails=i % 2 == 1),
                    catch=(CommitRefused,))

    committed = sorted(o for o in outcomes if isinstance(o, str))
    assert committed == _series("FP", WRITERS // 2)
    assert sum(isinstance(o, CommitRefused) for o in outcomes) == WRITERS // 2
    assert _stored(crm, credit_invoices.c.invoice_no) == committed


def test_concurrent_payments_half_rolled_back_after_numbering_form_one_unbroken_series(crm, kit):
    dealers = [kit.add_dealer() for _ in range(4)]
    for d in dealers:
        kit.grant(d, 100 * W)

    outcomes = race(WRITERS, lambda i: _pay(crm, kit, dealers[i % 4], f"race-pay-{i:06d}", commit_fails=i % 2 == 1),
                    catch=(CommitRefused,))

    committed = sorted(o for o in outcomes if isinstance(o, str))
    assert committed == _series("SK", WRITERS // 2)
    assert _stored(crm, credit_payments.c.payment_no) == committed


def _statements_after_the_counter(crm, act) -> list[str]:
    """Every statement the engine ran from the gapless counter's bump to COMMIT, as 'VERB table'."""
    seen: list[str] = []

    def statement(conn, cursor, sql, params, context, executemany) -> None:
        seen.append(" ".join(re.sub(r"\s+", " ", sql).split(" ")[:3]))

    def commit(conn) -> None:
        seen.append("COMMIT")

    event.listen(crm.engine, "before_cursor_execute", statement)
    event.listen(crm.engine, "commit", commit)
    try:
        act()
    finally:
        event.remove(crm.engine, "before_cursor_execute", statement)
        event.remove(crm.engine, "commit", commit)
    bump = max(i for i, s in enumerate(seen) if s.startswith("UPDATE document_sequences"))
    return seen[bump + 1:seen.index("COMMIT", bump) + 1]


def test_the_gapless_counter_is_taken_last_just_before_commit(crm, kit):
    dealer_id = kit.add_dealer()
    kit.grant(dealer_id, 100 * W)
    kit.reserve(dealer_id, "HT-LAST-1", 10 * W)

    after_invoice = _statements_after_the_counter(crm, lambda: _invoice(crm, kit, "HT-LAST-1"))
    after_payment = _statements_after_the_counter(crm, lambda: _pay(crm, kit, dealer_id, "last-pay-000001"))

    # the audit trail of the transaction's changes is written at commit, insert-only
    assert sorted(after_invoice[:-1]) == ["INSERT INTO audit_log", "UPDATE credit_invoices SET"]
    assert sorted(after_payment[:-1]) == ["INSERT INTO audit_log", "UPDATE credit_idempotency_keys SET",
                                          "UPDATE credit_payments SET"]
    assert after_invoice[-1] == after_payment[-1] == "COMMIT"
