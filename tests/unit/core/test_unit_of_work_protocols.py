"""Each context's unit-of-work Protocol is satisfied, member by member, by the SQL unit of work
(every context) and by the in-memory one (the contexts it has twins for): every repository the
Protocol names is there, with every method the Protocol's repository port names."""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import types
import typing

import pytest

import dealercrm.application.ports as ports_package
from dealercrm.adapters.db.uow import SqlAlchemyUnitOfWork, _Opened
from dealercrm.adapters.memory import memory_uow_factory
from dealercrm.application.ports import aftersales, care, credit, credit_gate, gate, marketing, orders, stock
from dealercrm.application.ports import persistence, workflow
from dealercrm.application.ports import customers, parts_catalog
from dealercrm.application.ports import parts_supply
from dealercrm.domain.identity import Principal, Role

NOW = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)
ADMIN = Principal(user_id=1, username="admin", role=Role.ADMIN)

SQL_CONTEXTS = [persistence.UnitOfWork, orders.OrdersUnitOfWork, orders.OrderFlowUnitOfWork,
                orders.ErpRejectionsUnitOfWork, gate.GateUnitOfWork, stock.DealerStockUnitOfWork,
                credit.CreditUnitOfWork, aftersales.AftersalesUnitOfWork, care.CareUnitOfWork,
                marketing.TrainingUnitOfWork, marketing.KnowledgeUnitOfWork, marketing.ForecastUnitOfWork,
                marketing.KeyAccountUnitOfWork, marketing.CampaignUnitOfWork]
SQL_CONTEXTS += [customers.CustomersUnitOfWork, parts_catalog.PartsCatalogUnitOfWork]
SQL_CONTEXTS += [parts_supply.PartsSupplyUnitOfWork]
MEMORY_CONTEXTS = [persistence.UnitOfWork, orders.OrdersUnitOfWork, gate.GateUnitOfWork, credit.CreditUnitOfWork,
                   aftersales.AftersalesUnitOfWork]
_PLUMBING = {"actor", "clock", "__enter__", "__exit__", "commit", "rollback", "flush"}


def _namespace() -> dict[str, typing.Any]:
    names: dict[str, typing.Any] = {}
    for info in pkgutil.iter_modules(ports_package.__path__):
        names.update(vars(importlib.import_module(f"{ports_package.__name__}.{info.name}")))
    names.update(vars(workflow))
    return names


def _members(protocol: type) -> dict[str, typing.Any]:
    """Attribute name → its declared type, over the Protocol's bases."""
    hints = typing.get_type_hints(protocol, globalns=_namespace())
    props = {name: typing.get_type_hints(value.fget, globalns=_namespace()).get("return")
             for klass in protocol.__mro__ for name, value in vars(klass).items() if isinstance(value, property)}
    return {**hints, **props}


def _methods(port: type) -> set[str]:
    return {name for klass in port.__mro__ if klass not in (object, typing.Protocol, typing.Generic)
            and getattr(klass, "_is_protocol", False)
            for name, value in vars(klass).items() if callable(value) and not name.startswith("_")}


def _missing(protocol: type, get: typing.Callable[[str], typing.Any]) -> list[str]:
    missing = []
    for name, declared in _members(protocol).items():
        if name in _PLUMBING:
            continue
        try:
            repository = get(name)
        except AttributeError:
            missing.append(name)
            continue
        if getattr(declared, "_is_protocol", False):
            missing += [f"{name}.{m}" for m in sorted(_methods(declared)) if not hasattr(repository, m)]
    return missing


class _FakeSession:
    """Enough of a session for the repositories' constructors (they only keep it)."""

    def get_bind(self) -> None:
        return None


def _sql_repository(name: str) -> typing.Any:
    found = vars(SqlAlchemyUnitOfWork).get(name)
    if not isinstance(found, _Opened):
        raise AttributeError(name)
    if name == "outbox":
        from dealercrm.adapters.db.engagement_repositories import OwnedOutbox

        return OwnedOutbox
    uow = types.SimpleNamespace(clock=lambda: NOW, actor=ADMIN, review_staff=None)
    return found.build(uow, _FakeSession())  # type: ignore[arg-type]


@pytest.mark.parametrize("protocol", SQL_CONTEXTS, ids=lambda p: p.__name__)
def test_the_sql_unit_of_work_satisfies_every_context_protocol(protocol):
    missing = _missing(protocol, _sql_repository)

    assert missing == []


@pytest.mark.parametrize("protocol", MEMORY_CONTEXTS, ids=lambda p: p.__name__)
def test_the_memory_unit_of_work_satisfies_the_contexts_it_has_twins_for(protocol):
    with memory_uow_factory(clock=lambda: NOW)(ADMIN) as uow:
        missing = _missing(protocol, lambda name: getattr(uow, name))

    assert missing == []


def test_the_gates_unit_of_work_is_one_the_credit_rule_can_run_in():
    release_check = set(_members(credit.ReleaseCheckUnitOfWork))
    policy_takes = typing.get_type_hints(credit_gate.VehicleReleasePolicy.check_release, globalns=_namespace())["uow"]

    assert policy_takes is credit.ReleaseCheckUnitOfWork
    assert release_check <= set(_members(gate.GateUnitOfWork)) | {"flush"}
    assert _methods(credit.ReleaseChecks) <= _methods(credit.CreditRepository)


def test_the_sql_unit_of_work_opens_a_repository_only_when_it_is_used():
    opened = [name for name, value in vars(SqlAlchemyUnitOfWork).items() if isinstance(value, _Opened)]
    uow = SqlAlchemyUnitOfWork(None, ADMIN, lambda: NOW)  # type: ignore[arg-type]
    uow.session = _FakeSession()  # type: ignore[assignment]

    first = uow.orders

    assert len(opened) > 30
    assert uow.orders is first
    assert [name for name in opened if name in vars(uow)] == ["orders"]
