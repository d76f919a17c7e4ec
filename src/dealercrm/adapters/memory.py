"""In-memory twins of the persistence ports, shipped beside the SQL adapters.

Unit tests and embedding teams' own tests use them: same semantics as the SQL unit of work —
nothing is visible to others until ``commit()``; leaving the block without commit discards
every change (the store is snapshotted on enter and restored on rollback).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import itertools
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any, Self

from dealercrm.adapters.workflow_memory import (
    MemoryStandingDelegationRepository,
    MemoryWorkflowRepository,
)
from dealercrm.adapters.workflow_memory import children as workflow_children
from dealercrm.adapters.aftersales_memory import MemoryAftersalesRepository
from dealercrm.adapters.credit_memory import MemoryCreditRepository
from dealercrm.adapters.customers_memory import MemoryCustomerRepository, MemoryPartsSupplyRepository, customers_state
from dealercrm.adapters.gate_memory import (
    MemoryClientEventLog,
    MemoryDeliveryReceiptRepository,
    MemoryGateExitRepository,
    MemoryGatePassRepository,
    MemoryPickupAuthorizationRepository,
    MemoryShipmentRepository,
    MemoryStaffDirectory,
    MemoryVehicleRepository,
    flush_gate,
)
from dealercrm.adapters.orders_memory import MemoryCatalogRepository, MemoryOrderRepository, MemoryPriceTierRepository
from dealercrm.application.ports.persistence import Clock, QueuedMessage
from dealercrm.domain.channel import Dealer
from dealercrm.domain.errors import Conflict
from dealercrm.domain.identity import DeviceCredential, Principal, User
from dealercrm.domain.regions import Region, RegionUse

#: The regions a fresh store starts with: the seven the ``regions`` migration seeds (0035).
SEED_REGIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("north", "华北", ("北京", "天津", "河北", "山西", "内蒙古")),
    ("northeast", "东北", ("辽宁", "吉林", "黑龙江")),
    ("east", "华东", ("上海", "江苏", "浙江", "安徽", "福建", "江西", "山东")),
    ("central", "华中", ("河南", "湖北", "湖南")),
    ("south", "华南", ("广东", "广西", "海南")),
    ("southwest", "西南", ("重庆", "四川", "贵州", "云南", "西藏")),
    ("northwest", "西北", ("陕西", "甘肃", "青海", "宁夏", "新疆")),
)
_SEEDED_AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class MemoryStore:
    def __init__(self) -> None:
        self.dealers: dict[int, Dealer] = {}
        self.users: dict[int, User] = {}
        self.devices: dict[int, DeviceCredential] = {}
        self.device_reports: dict[int, dict[str, Any]] = {}  # device id → {"reported_at", "report"}
        self.sequences: dict[str, int] = {}
        self.assessment_rules: list[dict[str, Any]] = []  # versions of the registration checklist
        self.growth_plans: dict[tuple[int, int], dict[str, Any]] = {}  # (dealer id, year) → plan
        self.outbox: dict[str, dict[str, Any]] = {}  # idempotency key → message
        self.workflows: dict[int, Any] = {}
        self.delegations: dict[int, Any] = {}
        self.link_nonces: dict[str, dict[str, Any]] = {}
        self.alerts: dict[int, Any] = {}
        self.ids = itertools.count(1)
        self.regions: dict[int, Region] = {}
        for n, (code, name, provinces) in enumerate(SEED_REGIONS, start=1):
            region_id = next(self.ids)
            self.regions[region_id] = Region(code=code, name=name, sort_order=n * 10, provinces=list(provinces),
                                             created_at=_SEEDED_AT, updated_at=_SEEDED_AT, id=region_id)
        self.commits = 0


class _Repo:
    def __init__(self, uow: MemoryUnitOfWork, table: str) -> None:
        self.uow = uow
        self.table = table

    @property
    def rows(self) -> dict[int, Any]:
        return getattr(self.uow.working, self.table)

    def add(self, obj: Any) -> None:
        self.uow.pending.append((self.table, obj))

    def get(self, obj_id: int) -> Any:
        return self.rows.get(obj_id)


class MemoryDealerRepository(_Repo):
    def by_uscc(self, uscc: str) -> Dealer | None:
        return next((d for d in self._all() if d.uscc.value == uscc), None)

    def next_code(self) -> str:
        seq = self.uow.working.sequences
        seq["DL"] = seq.get("DL", 0) + 1
        return f"DL-{seq['DL']:06d}"

    def assessment_rules(self) -> dict[str, Any] | None:
        versions = self.uow.working.assessment_rules
        return dict(versions[-1]) if versions else None

    def save_assessment_rules(self, items: list[dict[str, Any]], at: Any, by: str) -> None:
        self.uow.working.assessment_rules.append({"items": list(items), "created_at": at, "created_by": by})

    def growth_plan(self, dealer_id: int, year: int) -> dict[str, Any] | None:
        plan = self.uow.working.growth_plans.get((dealer_id, year))
        return dict(plan) if plan else None

    def save_growth_plan(self, dealer_id: int, plan: dict[str, Any], at: Any, by: str) -> None:
        self.uow.working.growth_plans[(dealer_id, plan["year"])] = {**plan, "updated_at": at, "updated_by": by}

    def _all(self) -> list[Dealer]:
        return [*self.rows.values(), *(o for t, o in self.uow.pending if t == "dealers")]


class MemoryUserRepository(_Repo):
    def by_username(self, username: str) -> User | None:
        pool = [*self.rows.values(), *(o for t, o in self.uow.pending if t == "users")]
        return next((u for u in pool if u.username == username), None)

    def of_dealer(self, dealer_id: int) -> list[User]:
        return [u for u in self.rows.values() if u.dealer_id == dealer_id]

    def by_badge(self, badge_uid: str) -> User | None:
        return next((u for u in self.rows.values() if u.badge_uid == badge_uid), None)

    def with_badges(self) -> list[User]:
        return sorted((u for u in self.rows.values() if u.badge_uid is not None and u.is_active),
                      key=lambda u: u.id or 0)


class MemoryRegionRepository(_Repo):
    """The regions of the store; ``save`` checks the version read as the SQL one does."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        super().__init__(uow, "regions")
        self._read: dict[int, int] = {}

    def add(self, obj: Any) -> None:
        obj.id = next(self.uow.working.ids)
        self.rows[obj.id] = obj
        self._read[obj.id] = obj.version

    def get(self, obj_id: int) -> Region | None:
        found: Region | None = self.rows.get(obj_id)
        if found is not None:
            self._read.setdefault(obj_id, found.version)
        return found

    def all(self) -> list[Region]:
        found = sorted(self.rows.values(), key=lambda r: (r.sort_order, r.id or 0))
        for r in found:
            self._read.setdefault(r.id or 0, r.version)
        return found

    def active_names(self) -> list[str]:
        return [r.name for r in sorted(self.rows.values(), key=lambda r: (r.sort_order, r.id or 0)) if r.active]

    def save(self, region: Region) -> None:
        stored = self.uow.store.regions.get(region.id or 0)
        if stored is not None and stored.version != self._read.get(region.id or 0, stored.version):
            raise Conflict("大区已被他人修改，请刷新后重试", code="region.stale")
        self._read[region.id or 0] = region.version

    def usage(self, name: str, *, active_only: bool) -> RegionUse:
        from dealercrm.domain.channel import DealerStatus

        dealers = sum(1 for d in self.uow.working.dealers.values()
                      if d.region == name and not (active_only and d.status is DealerStatus.TERMINATED))
        users = sum(1 for u in self.uow.working.users.values()
                    if name in u.regions and not (active_only and not u.is_active))
        stations = sum(1 for s in self.uow.aftersales.s.stations.values() if s.region == name
                       and not (active_only and str(getattr(s.status, "value", s.status)) == "terminated"))
        return RegionUse(dealers=dealers, users=users, stations=stations)


class MemoryDeviceReports:
    """``DeviceReports`` twin: the last report per device, in the unit of work's working copy."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.uow = uow

    def put(self, device_id: int, reported_at: dt.datetime, report: dict[str, Any]) -> None:
        self.uow.working.device_reports[device_id] = {"reported_at": reported_at, "report": dict(report)}


class MemoryDeviceCredentialRepository(_Repo):
    def by_prefix(self, key_prefix: str) -> DeviceCredential | None:
        return next((d for d in self.rows.values() if d.key_prefix == key_prefix), None)


class MemoryOutbox:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.uow = uow

    def enqueue(self, template_code: str, variables: dict[str, object], recipient: str, idempotency_key: str) -> str:
        from dealercrm.domain.notifications import render

        message = render(template_code, variables)  # variables checked now, as the real outbox does
        box = self.uow.working.outbox
        box.setdefault(idempotency_key, {"template_code": template_code, "recipient": recipient,
                                         "subject": message.subject, "body": message.body})
        return idempotency_key

    def enqueue_many(self, messages: Sequence[QueuedMessage]) -> None:
        for m in messages:
            self.enqueue(m.template_code, dict(m.variables), m.recipient, m.idempotency_key)


class MemoryAlertRepository(_Repo):
    """``AlertRepository`` twin: one alert per (rule, key), as the table's unique constraint."""

    def by_key(self, rule: str, key: str) -> Any:
        return next((a for a in (*self.rows.values(), *self._pending()) if a.rule == rule and a.key == key), None)

    def live_for_rule(self, rule: str) -> list[Any]:
        from dealercrm.domain.alerts import LIVE_STATES

        return sorted((a for a in self.rows.values() if a.rule == rule and a.state in LIVE_STATES),
                      key=lambda a: a.key)

    def add_once(self, alert: Any) -> bool:
        if self.by_key(alert.rule, alert.key) is not None:
            return False
        self.add(alert)
        self.uow.flush()
        return True

    def _pending(self) -> list[Any]:
        return [obj for table, obj in self.uow.pending if table == self.table]


class MemoryDocumentNumbers:
    """``DocumentNumbers`` twin: ``formatted("FP", year=2026)`` → ``FP-2026-000001``."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self.uow = uow

    def next(self, name: str) -> int:
        seq = self.uow.working.sequences
        seq[name] = seq.get(name, 0) + 1
        return seq[name]

    def formatted(self, prefix: str, *, year: int | None = None, width: int = 6) -> str:
        name = f"{prefix}-{year}" if year else prefix
        return f"{name}-{self.next(name):0{width}d}"


class MemoryUnitOfWork:
    def __init__(self, store: MemoryStore, actor: Principal, approval_mail: Any = None,
                 clock: Clock | None = None, workflow_handlers: Any = None) -> None:
        self.store = store
        self.actor = actor
        self.approval_mail = approval_mail
        self.workflow_handlers = workflow_handlers  # application.workflow.WorkflowHandlers
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.pending: list[tuple[str, Any]] = []
        self.committed = False

    def __enter__(self) -> Self:
        self.working = copy.deepcopy(self.store)
        self.pending = []
        self.dealers = MemoryDealerRepository(self, "dealers")
        self.users = MemoryUserRepository(self, "users")
        self.regions = MemoryRegionRepository(self)
        self.devices = MemoryDeviceCredentialRepository(self, "devices")
        self.device_reports = MemoryDeviceReports(self)
        self.outbox = MemoryOutbox(self)
        self.workflows = MemoryWorkflowRepository(self)
        self.delegations = MemoryStandingDelegationRepository(self)
        self.numbers = MemoryDocumentNumbers(self)
        self.credit = MemoryCreditRepository(self)
        self.aftersales = MemoryAftersalesRepository(self)
        self.customers = MemoryCustomerRepository(self, self.aftersales)
        self.parts_supply = MemoryPartsSupplyRepository(self)
        self.catalog = MemoryCatalogRepository(self)
        self.price_tiers = MemoryPriceTierRepository(self)
        self.orders = MemoryOrderRepository(self)
        self.vehicles = MemoryVehicleRepository(self)
        self.pickup_authorizations = MemoryPickupAuthorizationRepository(self)
        self.gate_passes = MemoryGatePassRepository(self)
        self.gate_exits = MemoryGateExitRepository(self)
        self.client_events = MemoryClientEventLog(self)
        self.shipments = MemoryShipmentRepository(self)
        self.receipts = MemoryDeliveryReceiptRepository(self)
        self.staff_directory = MemoryStaffDirectory(self)
        self.alerts = MemoryAlertRepository(self, "alerts")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.pending = []

    @contextlib.contextmanager
    def snapshot(self, *, per_statement: bool = False) -> Iterator[Self]:
        """Read-only (there are no locks in memory): the unit of work itself, never committed."""
        with self:
            yield self

    def flush(self) -> None:
        for table, obj in self.pending:
            if obj.id is None:
                obj.id = next(self.working.ids)
            getattr(self.working, table)[obj.id] = obj
            if isinstance(obj, Dealer):
                for child in (*obj.contacts, *obj.agreements, *obj.qualifications):
                    if child.id is None:
                        child.id = next(self.working.ids)
        self.pending = []
        for dealer in self.working.dealers.values():
            for child in (*dealer.contacts, *dealer.agreements, *dealer.qualifications):
                if child.id is None:
                    child.id = next(self.working.ids)
        for workflow in self.working.workflows.values():
            for child in workflow_children(workflow):
                if child.id is None:
                    child.id = next(self.working.ids)
        self.aftersales.flush()
        customers_state(self).flush()
        self.orders.flush()
        flush_gate(self)

    def commit(self) -> None:
        self.flush()
        self.working.commits = self.store.commits + 1
        self.store.__dict__.update(self.working.__dict__)
        self.working = copy.deepcopy(self.store)
        self.committed = True

    def rollback(self) -> None:
        self.working = copy.deepcopy(self.store)
        self.pending = []


def memory_uow_factory(store: MemoryStore | None = None, approval_mail: Any = None,  # type: ignore[no-untyped-def]
                       clock: Clock | None = None, workflow_handlers: Any = None):
    store = store or MemoryStore()

    def factory(actor: Principal) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(store, actor, approval_mail, clock, workflow_handlers)

    factory.store = store  # type: ignore[attr-defined]
    return factory
