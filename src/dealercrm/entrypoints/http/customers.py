"""HTTP API of end customers and service contracts (issue 18 §4, seed §4.2.1 1)–2)).

A dealer records its own customers and the vehicles it sold them; another dealer's customer,
vehicle or contract is 404. A station reads the customers it has served. Contracts are made
and cancelled by after-sales staff; a request on a VIN whose contract has expired or does not
cover the fault is flagged (``GET /service-contracts/check`` answers the same check first).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dealercrm.application.services.customers import (
    READERS,
    STAFF,
    WRITERS,
    ContractIn,
    CustomerIn,
    CustomersService,
)
from dealercrm.domain.customers import ContractCheck
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.http import customers_schemas as s
from dealercrm.entrypoints.http.controllers import decode_cursor, encode_cursor
from dealercrm.entrypoints.http.security import requires

User = Request[Principal, Any, Any]
Limit = Annotated[int, Parameter(ge=1, le=200, description="page size")]


def _plain(r: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.value if hasattr(v, "value") else v) for k, v in r.items()}


def _customer(r: dict[str, Any]) -> s.CustomerOut:
    return msgspec.convert(_plain(r), s.CustomerOut, strict=False)


def _contract(r: dict[str, Any]) -> s.ContractOut:
    return msgspec.convert(_plain(r), s.ContractOut, strict=False)


def contract_check_out(c: ContractCheck) -> s.ContractCheckOut:
    return s.ContractCheckOut(c.state.value, c.state.label, c.contract_id, c.contract_no, c.ends_on, c.warning)


class CustomersController(Controller):
    path = "/api/v1"
    tags = ["customers 终端客户与维修合同"]

    @post("/customers", guards=[requires(*WRITERS)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="建立终端客户档案 Open an end customer's service archive")
    def create(self, data: s.CustomerBody, request: User, customers: CustomersService) -> s.CustomerOut:
        cid = customers.create_customer(request.user, CustomerIn(
            data.name, data.phone, data.kind, data.dealer_id, data.province, data.city, data.address, data.note))
        return _customer(customers.customer(request.user, cid))

    @get("/customers", guards=[requires(*READERS)], sync_to_thread=True,
         summary="终端客户列表 Customers in scope; q (ranked) matches Chinese words of name or place, phone digits, number or an owned VIN")
    def list(self, request: User, customers: CustomersService,
             q: Annotated[str | None, Parameter(max_length=60)] = None, cursor: str | None = None,
             limit: Limit = 50) -> s.CustomerPage:
        if q and q.strip():  # ranked: the cursor is the offset of the next page
            offset = decode_cursor(cursor, "at") or 0
            rows = customers.list_customers(request.user, q=q, offset=offset, limit=limit + 1)
            nxt = encode_cursor(offset + limit, "at") if len(rows) > limit else None
        else:
            rows = customers.list_customers(request.user, after_id=decode_cursor(cursor), limit=limit + 1)
            nxt = encode_cursor(rows[limit - 1]["id"]) if len(rows) > limit else None
        return s.CustomerPage([_customer(r) for r in rows[:limit]], nxt)

    @get("/customers/{customer_id:int}", guards=[requires(*READERS)], sync_to_thread=True,
         summary="客户360视图 The customer with vehicles, warranty, contracts, requests, claims and care")
    def view(self, customer_id: int, request: User, customers: CustomersService) -> s.Customer360Out:
        v = customers.customer_360(request.user, customer_id)
        return s.Customer360Out(
            customer=_customer(v.customer),
            vehicles=[msgspec.convert(_plain(x), s.CustomerVehicleOut, strict=False) for x in v.vehicles],
            contracts=[_contract(c) for c in v.contracts],
            requests=[_plain(r) for r in v.requests], claims=[_plain(c) for c in v.claims],
            care=[_plain(c) for c in v.care], warnings=v.warnings)

    @put("/customers/{customer_id:int}", guards=[requires(*WRITERS)], status_code=HTTP_200_OK, sync_to_thread=True,
         summary="修改客户档案 Edit a customer's archive (version optional: 409 when changed since)")
    def edit(self, customer_id: int, data: s.CustomerEditBody, request: User, customers: CustomersService) -> s.CustomerOut:
        customers.update_customer(request.user, customer_id, CustomerIn(
            data.name, data.phone, data.kind, data.dealer_id, data.province, data.city, data.address, data.note),
            data.version)
        return _customer(customers.customer(request.user, customer_id))

    @post("/customers/{customer_id:int}/vehicles", guards=[requires(*WRITERS)], status_code=HTTP_201_CREATED,
          sync_to_thread=True, summary="登记客户车辆 Record a vehicle the customer owns (one owner per VIN)")
    def add_vehicle(self, customer_id: int, data: s.CustomerVehicleBody, request: User,
                    customers: CustomersService) -> dict[str, str]:
        return {"vin": customers.add_vehicle(request.user, customer_id, data.vin, data.since)}

    @post("/customers/{customer_id:int}/contracts", guards=[requires(*STAFF)], status_code=HTTP_201_CREATED,
          sync_to_thread=True, summary="签订维修合同 A service contract on one of the customer's vehicles")
    def create_contract(self, customer_id: int, data: s.ContractBody, request: User,
                        customers: CustomersService) -> s.ContractOut:
        cid = customers.create_contract(request.user, customer_id, ContractIn(
            data.vin, data.starts_on, data.ends_on, tuple(data.coverage), data.terms, data.price_fen, data.km_limit))
        return _contract(customers.contract(request.user, cid))

    @get("/service-contracts", guards=[requires(*READERS)], sync_to_thread=True,
         summary="维修合同列表 Contracts in scope (vin, status=active|cancelled)")
    def contracts(self, request: User, customers: CustomersService,
                  vin: Annotated[str | None, Parameter(max_length=17)] = None,
                  status: Annotated[str | None, Parameter(max_length=12)] = None, cursor: str | None = None,
                  limit: Limit = 50) -> s.ContractPage:
        rows = customers.contracts(request.user, vin=vin, status=status, after_id=decode_cursor(cursor),
                                   limit=limit + 1)
        nxt = encode_cursor(rows[limit - 1]["id"]) if len(rows) > limit else None
        return s.ContractPage([_contract(r) for r in rows[:limit]], nxt)

    @get("/service-contracts/check", guards=[requires(*STAFF, Role.STATION)], sync_to_thread=True,
         summary="维修合同检查 Would a request on this VIN and fault be covered by a contract today?")
    def check(self, request: User, customers: CustomersService, vin: Annotated[str, Parameter(max_length=17)],
              fault_category: Annotated[str, Parameter(max_length=20)],
              odometer_km: Annotated[int | None, Parameter(ge=0, le=10_000_000)] = None) -> s.ContractCheckOut:
        return contract_check_out(customers.check(request.user, vin, fault_category, odometer_km))

    @get("/service-contracts/{contract_id:int}", guards=[requires(*READERS)], sync_to_thread=True,
         summary="维修合同 One contract with its terms and validity")
    def contract(self, contract_id: int, request: User, customers: CustomersService) -> s.ContractOut:
        return _contract(customers.contract(request.user, contract_id))

    @post("/service-contracts/{contract_id:int}/cancel", guards=[requires(*STAFF)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="作废维修合同 Cancel a contract, with the reason")
    def cancel(self, contract_id: int, data: s.CancelBody, request: User, customers: CustomersService) -> s.ContractOut:
        customers.cancel_contract(request.user, contract_id, data.reason)
        return _contract(customers.contract(request.user, contract_id))
