"""The one lock order of write transactions on PostgreSQL.

Every repository that locks a row belonging to a dealer (its order, contract, credit account,
price tier, review workflow …) first locks the dealer's row, then its own:

    dealer → credit account → order → contract → workflow → the rest

The dealer row is therefore a per-dealer mutex: two transactions that touch the same dealer's
documents queue on it before they hold anything else of that dealer, so the order in which they
then take that dealer's other rows can no longer form a cycle. Taking it again in the same
transaction is free.

The dealer row is locked ``FOR NO KEY UPDATE``, never ``FOR UPDATE``: inserting a row whose
foreign key names a dealer (an order event, a contract, an outbox message) takes ``KEY SHARE``
on the dealer row, and two transactions that each hold that share and then ask for ``FOR
UPDATE`` deadlock (issue 17: eight concurrent review approvals of one dealer). ``NO KEY
UPDATE`` does not conflict with ``KEY SHARE``; the dealer's key never changes.

SQLite needs none of this: its write transactions begin IMMEDIATE, one at a time.
"""

from __future__ import annotations

from sqlalchemy import bindparam, column, select, table
from sqlalchemy.orm import Session

# Lightweight table clauses: this module is imported by every repository module and imports none.
_DEALERS = table("dealers", column("id"))
_LOCK_DEALER = (select(_DEALERS.c.id).where(_DEALERS.c.id == bindparam("dealer_id"))
                .with_for_update(key_share=True))

DEALER_LOCK = {"key_share": True}  # ``with_for_update`` flags of every lock of a dealer row


def locks_rows(session: Session) -> bool:
    """Whether this session's database takes row locks (PostgreSQL) or serialises writers (SQLite)."""
    return session.get_bind().dialect.name == "postgresql"


def lock_dealer(session: Session, dealer_id: int | None) -> None:
    """Lock the dealer's row first (PostgreSQL; nothing on SQLite or for ``None``)."""
    if dealer_id is not None and locks_rows(session):
        session.execute(_LOCK_DEALER, {"dealer_id": dealer_id})


def lock_dealer_of(session: Session, table_name: str, key_column: str, key: object) -> None:
    """Lock the dealer of the ``table_name`` row whose ``key_column`` is ``key``, before that row
    itself is locked. A row's dealer never changes, so reading it unlocked is safe."""
    if not locks_rows(session):
        return
    rows = table(table_name, column(key_column), column("dealer_id"))
    dealer_id = session.execute(select(rows.c.dealer_id).where(rows.c[key_column] == key).limit(1)).scalar()
    lock_dealer(session, dealer_id)
