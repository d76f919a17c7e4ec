"""Issue 20 §2, the SQLite write lock: the configurator's reads (estimate, configuration check)
and the idempotency ledger's lookup before a write run in a read-only snapshot, so they neither
queue behind nor hold up the process's writers; order creation still prices and writes under the
write lock, as the concurrency tests expect."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dealercrm.application.orders import EstimateIn
from dealercrm.domain.identity import Principal

from .test_order_statement_budget import OPTIONS, _world

SYSTEM = Principal.system()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path) -> Iterator[Any]:
    # One world for the module (its setup hashes a dozen passwords); the tests touch disjoint rows.
    target = tmp_path_factory.mktemp("snapshot") / "dealercrm.db"
    shutil.copyfile(_sqlite_template, target)
    yield from _world(f"sqlite:///{target}")


def test_an_estimate_answers_while_a_write_transaction_holds_the_write_lock(world):
    # The writer below holds this process's write queue and SQLite's write lock until it commits;
    # the estimate, asked meanwhile on the same thread, would wait for it (30 s, then db.busy).
    with world.crm.uow(SYSTEM) as writer:
        writer.numbers.formatted("FP", year=2031)

        estimate = world.orders.estimate(world.dealer, EstimateIn(world.template_id, OPTIONS))
        check = world.orders.check_configuration(world.dealer, EstimateIn(world.template_id, OPTIONS))
        writer.commit()

    assert estimate.tier.code == "B"
    assert check.problems == () and check.estimate == estimate


def test_a_replayed_form_answers_from_the_ledger_while_a_write_transaction_holds_the_write_lock(world):
    first = world.orders.create_once(world.dealer, world.draft, submit=True, form_token="form-token-0001")

    with world.crm.uow(SYSTEM) as writer:
        writer.numbers.formatted("FP", year=2031)

        again = world.orders.create_once(world.dealer, world.draft, submit=True, form_token="form-token-0001")
        writer.commit()

    assert again == first


def test_a_snapshot_keeps_nothing_written_in_it(world):
    with world.crm.uow(SYSTEM).snapshot() as reading:
        reading.numbers.formatted("FP", year=2032)

    with world.crm.uow(SYSTEM) as uow:
        first = uow.numbers.formatted("FP", year=2032)

    assert first == "FP-2032-000001"
