"""终端客户 and 维修合同 in the web UI (issue 18 §4): the customer list with search, a new
customer's archive, the customer 360 view (vehicles with warranty and contract, requests,
claims, care history, the 超期预警) with its vehicle and contract forms, and the list of service
contracts with their validity. A dealer sees its own customers, a station those it served;
anything else is 404. Bad input is shown beside its field (422), a taken VIN as 409."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import Parameter
from litestar.response import Redirect, Template

from dealercrm.application.services.customers import (
    READERS,
    STAFF,
    WRITERS,
    ContractIn,
    CustomerIn,
    CustomersService,
)
from dealercrm.domain.customers import FAULT_LABELS, CustomerKind
from dealercrm.domain.errors import Conflict, DomainError, IllegalTransition, InvalidValue
from dealercrm.domain.identity import Principal, Role
from dealercrm.entrypoints.http.security import requires
from dealercrm.entrypoints.web.layout import page

PAGE_SIZE = 50
User = Request[Principal, Any, Any]
_CUSTOMER_FIELDS = ("name", "phone", "kind", "province", "city", "address", "note")
_CONTRACT_FIELDS = ("vin", "starts_on", "ends_on", "terms", "price_yuan", "km_limit")


def _day(values: dict[str, str], field: str, label: str) -> dt.date:
    try:
        return dt.date.fromisoformat(values[field])
    except ValueError:
        raise InvalidValue(field, f"{label}格式应为 YYYY-MM-DD", code="value.invalid_date") from None


def _int(values: dict[str, str], field: str, label: str) -> int | None:
    text = values[field].strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 9:
        raise InvalidValue(field, f"{label}须为正整数", code="value.invalid_integer")
    return int(text)


def _fen(text: str) -> int:
    """"12000.50" 元 → 1200050 fen, exactly (two decimals at most)."""
    whole, _, cents = text.strip().partition(".")
    if not whole.isdigit() or len(whole) > 9 or len(cents) > 2 or (cents and not cents.isdigit()):
        raise InvalidValue("price_yuan", "合同金额须为非负金额（元），最多两位小数", code="value.invalid_money")
    return int(whole) * 100 + int(cents.ljust(2, "0") or 0)


class CustomerPages(Controller):
    path = "/customers"

    @get("/", guards=[requires(*READERS)], sync_to_thread=True)
    def customers(self, request: User, customers: CustomersService,
                  q: Annotated[str | None, Parameter(max_length=60)] = None,
                  after: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None,
                  at: Annotated[int, Parameter(ge=0, le=100_000)] = 0) -> Template:
        ranked = bool(q and q.strip())  # a search is ranked: its pages go by offset, not by id
        rows = customers.list_customers(request.user, q=q, after_id=None if ranked else after, offset=at,
                                        limit=PAGE_SIZE + 1)
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        page_at = {"at": at + PAGE_SIZE} if ranked else {"after": rows[-1]["id"] if rows else 0}
        next_query = urlencode({**({"q": q} if q else {}), **page_at}) if more else None
        return page(request, "customers.html", title="终端客户", section="customers", crumbs=(("终端客户", None),),
                    rows=rows, q=q or "", next_query=next_query, can_create=request.user.role in WRITERS)

    @get("/new", guards=[requires(*WRITERS)], sync_to_thread=True)
    def new(self, request: User) -> Template:
        return self._new_page(request, errors={}, values={"kind": "person"})

    def _new_page(self, request: User, *, errors: dict[str, str], values: dict[str, str],
                  status_code: int = 200) -> Template:
        return page(request, "customer_new.html", title="新建客户档案", section="customers",
                    crumbs=(("终端客户", "/customers/"), ("新建客户档案", None)), errors=errors, values=values,
                    kinds=[(k.value, k.label) for k in CustomerKind], status_code=status_code)

    @post("/", guards=[requires(*WRITERS)], status_code=303)
    async def create(self, request: User, customers: CustomersService) -> Any:
        form = await request.form()
        values = {f: str(form.get(f) or "").strip()[:500] for f in _CUSTOMER_FIELDS}
        try:
            cid = await sync_to_thread(lambda: customers.create_customer(request.user, CustomerIn(
                values["name"], values["phone"], values["kind"] or "person", None, values["province"] or None,
                values["city"] or None, values["address"] or None, values["note"] or None)))
        except InvalidValue as exc:
            field = exc.field if exc.field in values else "name"
            return self._new_page(request, errors={field: exc.message}, values=values, status_code=422)
        return Redirect(path=f"/customers/{cid}", status_code=303)

    @get("/{customer_id:int}/edit", guards=[requires(*WRITERS)], sync_to_thread=True)
    def edit_form(self, customer_id: int, request: User, customers: CustomersService) -> Template:
        row = customers.customer(request.user, customer_id)
        values = {f: str(row.get(f) or "") for f in _CUSTOMER_FIELDS}
        values["kind"] = str(getattr(row["kind"], "value", row["kind"]))
        values["version"] = str(row["version"])
        return self._edit_page(request, row, errors={}, values=values)

    def _edit_page(self, request: User, row: dict[str, Any], *, errors: dict[str, str], values: dict[str, str],
                   status_code: int = 200) -> Template:
        return page(request, "customer_new.html", title=f"修改客户档案 {row['number']}", section="customers",
                    crumbs=(("终端客户", "/customers/"), (row["number"], f"/customers/{row['id']}"), ("修改档案", None)),
                    heading="修改客户档案", form_action=f"/customers/{row['id']}/edit", submit_label="保存修改",
                    errors=errors, values=values, kinds=[(k.value, k.label) for k in CustomerKind],
                    status_code=status_code)

    @post("/{customer_id:int}/edit", guards=[requires(*WRITERS)], status_code=303)
    async def edit(self, customer_id: int, request: User, customers: CustomersService) -> Any:
        form = await request.form()
        values = {f: str(form.get(f) or "").strip()[:500] for f in (*_CUSTOMER_FIELDS, "version")}
        version = int(values["version"]) if values["version"].isdigit() else None
        try:
            await sync_to_thread(lambda: customers.update_customer(request.user, customer_id, CustomerIn(
                values["name"], values["phone"], values["kind"] or "person", None, values["province"] or None,
                values["city"] or None, values["address"] or None, values["note"] or None), version))
            return Redirect(path=f"/customers/{customer_id}", status_code=303)
        except InvalidValue as exc:
            errors, status = {exc.field if exc.field in values else "name": exc.message}, 422
        except Conflict as exc:  # edited by someone else since this form was read: show theirs' version
            errors, status = {"version": exc.message}, 409
        row = await sync_to_thread(customers.customer, request.user, customer_id)
        if status == 409:
            values["version"] = str(row["version"])
        return self._edit_page(request, row, errors=errors, values=values, status_code=status)

    @get("/{customer_id:int}", guards=[requires(*READERS)], sync_to_thread=True)
    def view(self, customer_id: int, request: User, customers: CustomersService) -> Template:
        return self._view(request, customers, customer_id, errors={}, values={})

    def _view(self, request: User, customers: CustomersService, customer_id: int, *, errors: dict[str, str],
              values: dict[str, str], status_code: int = 200) -> Template:
        user = request.user
        v = customers.customer_360(user, customer_id)
        return page(request, "customer.html", title=f"客户 {v.customer['name']}", section="customers",
                    crumbs=(("终端客户", "/customers/"), (v.customer["number"], None)), view=v,
                    can_add_vehicle=user.role in WRITERS, can_contract=user.role in STAFF,
                    staff=user.role in STAFF, dealer=user.role is Role.DEALER,
                    faults=sorted(FAULT_LABELS.items()), errors=errors, values=values, status_code=status_code)

    @post("/{customer_id:int}/vehicles", guards=[requires(*WRITERS)], status_code=303)
    async def add_vehicle(self, customer_id: int, request: User, customers: CustomersService) -> Any:
        form = await request.form()
        values = {"vin": str(form.get("vin") or "").strip().upper()[:17], "since": str(form.get("since") or "")[:10]}
        try:
            since = _day(values, "since", "购车日期") if values["since"] else None
            await sync_to_thread(lambda: customers.add_vehicle(request.user, customer_id, values["vin"], since))
        except (InvalidValue, Conflict) as exc:
            status = 422 if isinstance(exc, InvalidValue) else 409
            field = "since" if isinstance(exc, InvalidValue) and exc.field == "since" else "vin"
            errors = {field: exc.message}
            return await sync_to_thread(lambda: self._view(
                request, customers, customer_id, errors=errors, values=values, status_code=status))
        return Redirect(path=f"/customers/{customer_id}", status_code=303)

    @post("/{customer_id:int}/contracts", guards=[requires(*STAFF)], status_code=303)
    async def create_contract(self, customer_id: int, request: User, customers: CustomersService) -> Any:
        form = await request.form()
        values = {f: str(form.get(f) or "").strip()[:4000] for f in _CONTRACT_FIELDS}
        coverage = tuple(str(c) for c in form.getall("coverage", []) if c)[:20]
        try:
            cmd = ContractIn(values["vin"], _day(values, "starts_on", "生效日"), _day(values, "ends_on", "到期日"),
                             coverage, values["terms"], _fen(values["price_yuan"] or "0"),
                             _int(values, "km_limit", "里程上限"))
            await sync_to_thread(lambda: customers.create_contract(request.user, customer_id, cmd))
        except InvalidValue as exc:
            field = exc.field if exc.field in (*_CONTRACT_FIELDS, "coverage") else "terms"
            if field == "price_fen":
                field = "price_yuan"
            errors = {field: exc.message}
            return await sync_to_thread(lambda: self._view(
                request, customers, customer_id, errors=errors,
                values={**values, "coverage": ",".join(coverage)}, status_code=422))
        return Redirect(path=f"/customers/{customer_id}", status_code=303)

    @post("/{customer_id:int}/contracts/{contract_id:int}/cancel", guards=[requires(*STAFF)], status_code=303)
    async def cancel_contract(self, customer_id: int, contract_id: int, request: User,
                              customers: CustomersService) -> Any:
        form = await request.form()
        reason = str(form.get("reason") or "").strip()[:500]
        try:
            await sync_to_thread(lambda: customers.cancel_contract(request.user, contract_id, reason))
        except (InvalidValue, IllegalTransition) as exc:
            status = 422 if isinstance(exc, InvalidValue) else 409
            errors = {f"cancel_{contract_id}": exc.message}
            return await sync_to_thread(lambda: self._view(
                request, customers, customer_id, errors=errors, values={},
                status_code=status))
        return Redirect(path=f"/customers/{customer_id}", status_code=303)


class ServiceContractPages(Controller):
    path = "/service-contracts"

    @get("/", guards=[requires(*READERS)], sync_to_thread=True)
    def contracts(self, request: User, customers: CustomersService,
                  vin: Annotated[str | None, Parameter(max_length=17)] = None,
                  status: Annotated[str | None, Parameter(max_length=12)] = None,
                  after: Annotated[int | None, Parameter(ge=1, le=2**63 - 1)] = None) -> Template:
        errors: dict[str, str] = {}
        rows: list[dict[str, Any]] = []
        try:
            rows = customers.contracts(request.user, vin=vin or None, status=status or None, after_id=after,
                                       limit=PAGE_SIZE + 1)
        except DomainError as exc:
            errors[getattr(exc, "field", None) or "vin"] = exc.message
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        today = customers.today()
        for r in rows:
            r["in_force"] = r["status"] == "active" and r["starts_on"] <= today <= r["ends_on"]
        filters = {k: v for k, v in (("vin", vin), ("status", status)) if v}
        next_query = urlencode({**filters, "after": rows[-1]["id"]}) if more else None
        return page(request, "service_contracts.html", title="维修合同", section="service_contracts",
                    crumbs=(("维修合同", None),), rows=rows, errors=errors, values=filters, next_query=next_query,
                    status_code=422 if errors else 200)
