"""The customers service (``crm.customers``): end customers' service archive (终端客户服务档案),
the vehicles they own, their service contracts (维修合同), and the customer 360 view
(seed 000 §4.2.1 1)–2)).

Who may do what:

* after-sales staff and administrators: everything, for every customer;
* a dealer: records its own customers and the vehicles it sold them, reads them; another
  dealer's customer is 404 (as is its contract);
* a station: reads the customers owning a vehicle it has a request for (the 360 view shows
  only its own requests and claims); any other is 404;
* contracts are made and cancelled by after-sales staff only (the factory's service signs them).

Each write is one transaction; reads go straight to the ``CustomerQueries`` port.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs

from dealercrm.application.access import not_found, require_role
from dealercrm.application.ports.customers import (
    CustomerQueries,
    CustomersUnitOfWork,
    CustomerVisibility,
)
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.saving import save_new
from dealercrm.domain.customers import (
    FAULT_LABELS,
    ContractCheck,
    CustomerKind,
    CustomerVehicle,
    EndCustomer,
    ServiceContract,
    check_service_contracts,
)
from dealercrm.domain.errors import Conflict, InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import SHANGHAI, Vin

CustomersUnitOfWorkFactory = Callable[[Principal], CustomersUnitOfWork]

STAFF = (Role.AFTER_SALES, Role.ADMIN)
WRITERS = (*STAFF, Role.DEALER)
READERS = (*STAFF, Role.DEALER, Role.STATION)


def visibility(p: Principal) -> CustomerVisibility:
    if p.role is Role.DEALER:
        return CustomerVisibility(dealer_id=p.dealer_id if p.dealer_id is not None else -1)
    if p.role is Role.STATION:
        return CustomerVisibility(station_id=p.station_id if p.station_id is not None else -1)
    return CustomerVisibility()


def _vin(value: str) -> str:
    return Vin((value or "").strip().upper()).value


@attrs.frozen
class CustomerIn:
    name: str
    phone: str
    kind: str = "person"
    dealer_id: int | None = None  # staff may name the dealer; a dealer's own customers are its own
    province: str | None = None
    city: str | None = None
    address: str | None = None
    note: str | None = None


@attrs.frozen
class ContractIn:
    vin: str
    starts_on: dt.date
    ends_on: dt.date
    coverage: tuple[str, ...]
    terms: str
    price_fen: int
    km_limit: int | None = None


@attrs.frozen
class Customer360:
    """The customer 360 view: the archive, what it owns, and everything that happened to it."""

    customer: dict[str, Any]
    vehicles: list[dict[str, Any]]
    contracts: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    claims: list[dict[str, Any]]
    care: list[dict[str, Any]]
    warnings: list[str]  # 超期预警: each vehicle out of warranty and without a contract in force


class CustomersService:
    """End customers (终端客户): the service archive, the vehicles they own, service contracts (维修合同)
    and the customer 360 view; who may do what is in the module docstring."""
    def __init__(self, uow: CustomersUnitOfWorkFactory, clock: Clock, queries: CustomerQueries) -> None:
        self._u: CustomersUnitOfWorkFactory = uow
        self._clock: Clock = clock
        self.queries: CustomerQueries = queries

    def today(self) -> dt.date:
        """Today in Beijing: the day contracts and warranties are judged on."""
        return self._clock().astimezone(SHANGHAI).date()

    # -- writes ------------------------------------------------------------------------------

    def create_customer(self, actor: Principal, cmd: CustomerIn) -> int:
        """Open a customer's service archive (``KH-YYYY-NNNNNN``)."""
        require_role(actor, *WRITERS)
        dealer_id = actor.dealer_id if actor.role is Role.DEALER else cmd.dealer_id
        now = self._clock()
        uow = self._u(actor)
        with uow:
            customer = EndCustomer(
                number=uow.numbers.formatted("KH", year=now.astimezone(SHANGHAI).year), name=cmd.name,
                phone=cmd.phone, kind=CustomerKind.parse(cmd.kind), created_at=now, created_by=actor.username,
                dealer_id=dealer_id, province=cmd.province, city=cmd.city, address=cmd.address, note=cmd.note)
            return save_new(uow, uow.customers, customer, "end customer")

    def update_customer(self, actor: Principal, customer_id: int, cmd: CustomerIn, version: int | None = None) -> None:
        """Edit a customer's archive (name, phone, kind, where it is, note); staff may also move it to
        another dealer (``cmd.dealer_id``), a dealer edits only its own customers (another's is 404).
        ``version`` (optional) is the version the caller read: another edit since is ``Conflict``
        (409 with the current version)."""
        require_role(actor, *WRITERS)
        uow = self._u(actor)
        with uow:
            customer = self._customer_or_404(uow, actor, customer_id)
            if version is not None and version != customer.version:
                raise Conflict("客户档案已被他人修改，请刷新后重试", code="customer.stale",
                               current_version=customer.version)
            customer.edit(name=cmd.name, phone=cmd.phone, kind=cmd.kind, province=cmd.province, city=cmd.city,
                          address=cmd.address, note=cmd.note)
            if actor.role in STAFF and cmd.dealer_id is not None and cmd.dealer_id != customer.dealer_id:
                if uow.dealers.get(cmd.dealer_id) is None:
                    raise InvalidValue("dealer_id", "经销商不存在", code="customer.dealer_unknown")
                customer.dealer_id = cmd.dealer_id
            uow.commit()

    def _customer_or_404(self, uow: CustomersUnitOfWork, actor: Principal, customer_id: int) -> EndCustomer:
        customer = uow.customers.customer(customer_id)
        if customer is None or (actor.role is Role.DEALER and customer.dealer_id != actor.dealer_id):
            raise not_found("customer", "客户")
        return customer

    def add_vehicle(self, actor: Principal, customer_id: int, vin: str, since: dt.date | None = None) -> str:
        """Record a vehicle the customer owns. A dealer may add only vehicles it was sold; a VIN
        owned by another customer is a conflict (409)."""
        require_role(actor, *WRITERS)
        now = self._clock()
        uow = self._u(actor)
        with uow:
            self._customer_or_404(uow, actor, customer_id)
            vin = _vin(vin)
            vehicle = uow.aftersales.vehicle(vin)
            if vehicle is None or (actor.role is Role.DEALER and vehicle["dealer_id"] != actor.dealer_id):
                raise not_found("vehicle", "车辆")
            since = since or now.astimezone(SHANGHAI).date()
            if since > now.astimezone(SHANGHAI).date():
                raise InvalidValue("since", "购车日期不能晚于今天", code="customer.since_future")
            owner = uow.customers.owner_of(vin)
            if owner is not None:
                if owner.customer_id == customer_id:
                    return vin
                raise Conflict("该车辆已登记在其他客户名下", code="customer.vehicle_owned", vin=vin)
            uow.customers.add(CustomerVehicle(customer_id, vin, since, now, actor.username))
            uow.commit()
        return vin

    def create_contract(self, actor: Principal, customer_id: int, cmd: ContractIn) -> int:
        """Sign a service contract (``WX-YYYY-NNNNNN``) on one of the customer's vehicles."""
        require_role(actor, *STAFF)
        now = self._clock()
        uow = self._u(actor)
        with uow:
            self._customer_or_404(uow, actor, customer_id)
            vin = _vin(cmd.vin)
            owner = uow.customers.owner_of(vin)
            if owner is None or owner.customer_id != customer_id:
                raise InvalidValue("vin", "维修合同只能签在该客户名下的车辆上", code="service_contract.vin_not_owned")
            contract = ServiceContract(
                number=uow.numbers.formatted("WX", year=now.astimezone(SHANGHAI).year), customer_id=customer_id,
                vin=vin, starts_on=cmd.starts_on, ends_on=cmd.ends_on, coverage=list(cmd.coverage),
                terms=cmd.terms, price_fen=cmd.price_fen, created_at=now, created_by=actor.username,
                km_limit=cmd.km_limit)
            return save_new(uow, uow.customers, contract, "service contract")

    def cancel_contract(self, actor: Principal, contract_id: int, reason: str) -> None:
        """Cancel a service contract with a reason; after-sales or admin. ``InvalidValue`` (no reason),
        ``IllegalTransition`` (already cancelled), ``PermissionDenied``, ``NotFound``."""
        require_role(actor, *STAFF)
        uow = self._u(actor)
        with uow:
            contract = uow.customers.contract(contract_id)
            if contract is None:
                raise not_found("service_contract", "维修合同")
            contract.cancel(reason, self._clock())
            uow.commit()

    # -- reads -------------------------------------------------------------------------------

    def list_customers(self, actor: Principal, *, q: str | None = None, after_id: int | None = None,
                       offset: int = 0, limit: int = 50) -> list[dict[str, Any]]:
        """The customers the caller may see (staff all, a dealer its own, a station those with a vehicle it
        has a request for): keyset-paged by id, or, matching a text, ranked best first and paged by
        ``offset``. ``PermissionDenied`` for other roles."""
        require_role(actor, *READERS)
        return self.queries.list_customers(visibility(actor), q=(q or "").strip() or None, after_id=after_id,
                                           offset=offset, limit=limit)

    def customer(self, actor: Principal, customer_id: int) -> dict[str, Any]:
        """One customer's archive as the caller may see it; ``NotFound`` when missing or not visible,
        ``PermissionDenied`` for roles that read no customers."""
        require_role(actor, *READERS)
        row = self.queries.customer(visibility(actor), customer_id)
        if row is None:
            raise not_found("customer", "客户")
        return row

    def customer_360(self, actor: Principal, customer_id: int) -> Customer360:
        """客户信息提示 for one customer: vehicles with warranty, contracts with today's validity,
        requests, claims and care history; and the 超期预警 per vehicle."""
        customer = self.customer(actor, customer_id)
        today = self.today()
        station = actor.station_id if actor.role is Role.STATION else None
        vehicles = self.queries.vehicles(customer_id, today)
        contracts = self.queries.contracts(customer_id=customer_id)
        for c in contracts:
            c["in_force"] = c["status"] == "active" and c["starts_on"] <= today <= c["ends_on"]
            c["expired"] = c["status"] == "active" and c["ends_on"] < today
        warnings = []
        for v in vehicles:
            covered = any(c["vin"] == v["vin"] and c["in_force"] for c in contracts)
            v["contract_in_force"] = covered
            if not v["in_warranty"] and not covered:
                why = f"保修期已于{v['warranty_ends_on'].isoformat()}到期" if v["warranty_ends_on"] else "无保修记录"
                warnings.append(f"车辆 {v['vin']} {why}，且无有效维修合同")
        return Customer360(
            customer=customer, vehicles=vehicles, contracts=contracts,
            requests=self.queries.requests(customer_id, station_id=station),
            claims=self.queries.claims(customer_id, station_id=station) if actor.role is not Role.DEALER else [],
            care=self.queries.care(customer_id) if actor.role is not Role.STATION else [],
            warnings=warnings)

    def contracts(self, actor: Principal, *, vin: str | None = None, status: str | None = None,
                  after_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Service contracts the caller may see, by VIN and status (``active`` / ``cancelled``), keyset-paged
        by id; ``InvalidValue`` (status), ``PermissionDenied``."""
        require_role(actor, *READERS)
        if status is not None and status not in ("active", "cancelled"):
            raise InvalidValue("status", "状态须为 active 或 cancelled", code="service_contract.status_unknown")
        return self.queries.contracts(vin=_vin(vin) if vin else None, status=status, seen=visibility(actor),
                                      after_id=after_id, limit=limit)

    def contract(self, actor: Principal, contract_id: int) -> dict[str, Any]:
        """One service contract as the caller may see it; ``NotFound``, ``PermissionDenied``."""
        require_role(actor, *READERS)
        row = self.queries.contract(visibility(actor), contract_id)
        if row is None:
            raise not_found("service_contract", "维修合同")
        return row

    def check(self, actor: Principal, vin: str, fault_category: str, odometer_km: int | None = None) -> ContractCheck:
        """The contract check a request on the VIN would get today (for the hotline, before recording)."""
        require_role(actor, *STAFF, Role.STATION)
        vin = _vin(vin)
        if fault_category not in FAULT_LABELS:
            raise InvalidValue("fault_category", "故障类别不正确", code="aftersales.fault_category_unknown")
        uow = self._u(actor)
        with uow:
            return check_service_contracts(uow.customers.contracts_of_vin(vin), fault_category=fault_category,
                                           on=self.today(), odometer_km=odometer_km)
