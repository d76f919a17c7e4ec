"""Request and response bodies of end customers and service contracts (issue 18 §4)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from dealercrm.entrypoints.http.schemas import Request

VinStr = Annotated[str, Meta(min_length=17, max_length=17)]
Optional60 = Annotated[str, Meta(max_length=60)] | None


class CustomerBody(Request):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    phone: Annotated[str, Meta(min_length=5, max_length=30)]
    kind: Annotated[str, Meta(max_length=10)] = "person"
    dealer_id: int | None = None  # staff only; a dealer's customers are its own
    province: Optional60 = None
    city: Optional60 = None
    address: Annotated[str, Meta(max_length=200)] | None = None
    note: Annotated[str, Meta(max_length=500)] | None = None


class CustomerEditBody(CustomerBody):
    version: int | None = None  # the version read; another edit since is 409


class CustomerVehicleBody(Request):
    vin: VinStr
    since: dt.date | None = None  # 购车日期; omitted: today


class ContractBody(Request):
    vin: VinStr
    starts_on: dt.date
    ends_on: dt.date
    coverage: Annotated[list[Annotated[str, Meta(max_length=20)]], Meta(min_length=1, max_length=20)]
    terms: Annotated[str, Meta(min_length=1, max_length=4000)]
    price_fen: Annotated[int, Meta(ge=0, le=10**11)]
    km_limit: Annotated[int, Meta(ge=1, le=10_000_000)] | None = None


class CancelBody(Request):
    reason: Annotated[str, Meta(min_length=1, max_length=500)]


class CustomerOut(msgspec.Struct):
    id: int
    number: str
    name: str
    phone: str
    kind: str
    kind_label: str
    dealer_id: int | None
    dealer_name: str | None
    province: str | None
    city: str | None
    address: str | None
    note: str | None
    created_at: dt.datetime
    created_by: str
    version: int = 1  # send it back with an edit: another edit since is 409


class CustomerPage(msgspec.Struct):
    items: list[CustomerOut]
    next_cursor: str | None


class ContractCheckOut(msgspec.Struct):
    """The service contract (维修合同) check of a request: ``warning`` is the flag, never a refusal."""

    state: str
    state_label: str
    contract_id: int | None
    contract_no: str | None
    ends_on: dt.date | None
    warning: str | None


class ContractOut(msgspec.Struct):
    id: int
    number: str
    customer_id: int
    customer_number: str
    customer_name: str
    vin: str
    starts_on: dt.date
    ends_on: dt.date
    coverage: list[str]
    coverage_labels: list[str]
    terms: str
    price_fen: int
    km_limit: int | None
    status: str
    status_label: str
    created_at: dt.datetime
    created_by: str
    cancelled_at: dt.datetime | None
    cancel_reason: str | None
    in_force: bool | None = None


class ContractPage(msgspec.Struct):
    items: list[ContractOut]
    next_cursor: str | None


class CustomerVehicleOut(msgspec.Struct):
    vin: str
    since: dt.date
    state: str | None
    state_label: str | None
    product_line: str | None
    model_code: str | None
    order_no: str | None
    contract_no: str | None
    warranty_starts_on: dt.date | None
    warranty_ends_on: dt.date | None
    in_warranty: bool
    contract_in_force: bool


class Customer360Out(msgspec.Struct):
    """客户信息提示: the archive, vehicles with warranty, contracts, requests, claims, care history."""

    customer: CustomerOut
    vehicles: list[CustomerVehicleOut]
    contracts: list[ContractOut]
    requests: list[dict[str, Any]]
    claims: list[dict[str, Any]]
    care: list[dict[str, Any]]
    warnings: list[str]
