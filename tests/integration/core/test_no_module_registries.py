"""Nothing registers at import time, and nothing module-level changes afterwards (issue 13).

Two containers built in one process must not see each other through module state: no registry
of handlers, sources, jobs or caches may live in a module and fill up as containers are built or
used. The test imports every module of ``dealercrm``, maps the domain classes (SQLAlchemy's
metadata and mapper registry are process-wide by design, and exempt), snapshots every
module-level global and every container held by a class defined in our modules, then builds two
containers, drives a dealer through its review workflow in each, builds the HTTP app on each,
and checks that no global was rebound and no container changed.

Memoised pure functions (``functools.lru_cache`` on a statement builder) are not registries: what
they hold follows from their arguments alone, so no container can observe another through them.
Loggers are exempt too; they are objects, not containers, and are not looked at.
"""

from __future__ import annotations

import collections
import copy
import datetime as dt
import importlib
import pkgutil
import weakref
from typing import Any

import attrs
from sqlalchemy.orm import configure_mappers

import dealercrm
from dealercrm.adapters.db.mapping import start_mappers
from dealercrm.application import channel as ch
from dealercrm.application import workflow as wfa
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal
from dealercrm.entrypoints.http.app import create_app

ADMIN = Principal.system()
NOW = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)
CONTAINERS = (dict, list, set, bytearray, collections.deque, weakref.WeakKeyDictionary,
              weakref.WeakValueDictionary, weakref.WeakSet)


def _all_modules() -> list[Any]:
    modules = []
    for info in pkgutil.walk_packages(dealercrm.__path__, "dealercrm."):
        if ".migrations" in info.name:  # alembic scripts run only inside alembic
            continue
        try:
            modules.append(importlib.import_module(info.name))
        except ModuleNotFoundError as exc:  # an optional device library that is not installed
            if (exc.name or "").startswith("dealercrm"):
                raise
    return modules


def _snapshot(modules: list[Any]) -> dict[str, Any]:
    """Where each global points, and a copy of each container's contents."""
    seen: dict[str, Any] = {}
    for module in modules:
        for name, value in vars(module).items():
            if name.startswith("__"):
                continue
            where = f"{module.__name__}.{name}"
            seen[where] = (id(value), copy.copy(value) if isinstance(value, CONTAINERS) else None)
            if isinstance(value, type) and value.__module__ == module.__name__:
                for attr, held in vars(value).items():
                    if not attr.startswith("__") and isinstance(held, CONTAINERS):
                        seen[f"{where}.{attr}"] = (id(held), copy.copy(held))
    return seen


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    changed = []
    for where, (ident, contents) in before.items():
        now = after.get(where)
        if now is None:
            changed.append(f"{where}: gone")
        elif now[0] != ident:
            changed.append(f"{where}: rebound")
        elif contents is not None and now[1] != contents:
            changed.append(f"{where}: contents changed")
    changed += [f"{where}: new" for where in after.keys() - before.keys()]
    return sorted(changed)


def _review_a_dealer(crm: Any) -> str:
    reg = crm.channel.register_dealer(ch.RegisterDealer(
        legal_name="郑州宏达专用车销售有限公司", uscc="91350100M000100Y43", region="华中",
        address=ch.AddressIn("河南省", "郑州市", "经开区88号"),
        contact=ch.ContactIn(name="王建国", title="总经理", phone="13800138000", email="gm@hongda.example.cn"),
        applicant_username="hongda", applicant_password="Passw0rd123"))
    crm.channel.submit(ADMIN, reg.dealer_id)
    return crm.channel.approve(ADMIN, reg.dealer_id)


def test_building_and_using_two_containers_changes_no_module_level_state(tmp_path):
    modules = _all_modules()
    start_mappers()
    configure_mappers()  # backrefs are added on first use: finish the mapping before looking
    before = _snapshot(modules)

    containers = []
    for name in ("first", "second"):
        settings = load_settings({}, database_url=f"sqlite:///{tmp_path / name}.db",
                                 jwt_secret="test-secret-that-is-long-enough-for-hs256-0123456789")
        crm = dealercrm.bootstrap(settings, clock=lambda: NOW)
        containers.append(crm)
        create_app(settings, container=crm)
        status = _review_a_dealer(crm)
        assert status == "approved"
    for crm in containers:
        crm.close()

    assert _changes(before, _snapshot(modules)) == []


def test_each_container_carries_its_own_handler_table(tmp_path):
    own = wfa.WorkflowHandlers.of(ch.DEALER_REVIEW_HANDLERS)
    settings = load_settings({}, database_url=f"sqlite:///{tmp_path / 'own'}.db",
                             jwt_secret="test-secret-that-is-long-enough-for-hs256-0123456789")
    custom = dealercrm.bootstrap(settings, clock=lambda: NOW, workflow_handlers=own)
    standard = dealercrm.bootstrap(attrs.evolve(settings, database_url=f"sqlite:///{tmp_path / 'std'}.db"), clock=lambda: NOW)

    try:
        with custom.uow(ADMIN) as a, standard.uow(ADMIN) as b:
            assert a.workflow_handlers is own
            assert b.workflow_handlers is not own
            assert b.workflow_handlers.subject_types > own.subject_types
    finally:
        custom.close()
        standard.close()
