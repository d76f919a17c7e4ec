"""In-memory twins of the customers and parts-supply repositories (``uow.customers`` and
``uow.parts_supply`` on ``MemoryUnitOfWork``), so the library's customers and parts-supply use
cases run without a database.

Same semantics as ``SqlAlchemyCustomerRepository`` and ``SqlAlchemyPartsSupplyRepository`` for
one process: state lives in the memory unit of work's working copy (nothing visible before
``commit()``, a rollback discards it); a new entity gets its id when added; customers, bills,
orders and transfers get ``version + 1`` on a flush that changed them, as the SQL mapping's
``version_id_col`` does. Service contracts live with the after-sales twin's (one table in SQL,
read by both repositories).
"""

from __future__ import annotations

from typing import Any

import attrs

from dealercrm.adapters.aftersales_memory import MemoryAftersalesRepository
from dealercrm.adapters.memory_tables import MemoryTable, MemoryWorkspace
from dealercrm.domain.customers import CustomerVehicle, EndCustomer, ServiceContract
from dealercrm.domain.parts_supply import PartsOrder, RepairBill, StockTransfer


@attrs.define
class CustomersMemoryState:
    customers: MemoryTable[EndCustomer] = attrs.field(factory=MemoryTable)
    vehicles: MemoryTable[CustomerVehicle] = attrs.field(factory=lambda: MemoryTable(versioned=False))
    bills: MemoryTable[RepairBill] = attrs.field(factory=MemoryTable)
    orders: MemoryTable[PartsOrder] = attrs.field(factory=MemoryTable)
    transfers: MemoryTable[StockTransfer] = attrs.field(factory=MemoryTable)
    levels: dict[tuple[int, str], tuple[int, int]] = attrs.field(factory=dict)  # (station, part) → (min, max)

    def flush(self) -> None:
        for table in (self.customers, self.vehicles, self.bills, self.orders, self.transfers):
            table.flush()


def customers_state(uow: MemoryWorkspace) -> CustomersMemoryState:
    working = uow.working
    if not hasattr(working, "customers_context"):
        working.customers_context = CustomersMemoryState()
    return working.customers_context  # type: ignore[no-any-return]


def _next_id(uow: MemoryWorkspace) -> Any:
    return lambda: next(uow.working.ids)


class MemoryCustomerRepository:
    """``CustomerRepository`` twin: customers, the vehicles they own (one owner per VIN), contracts."""

    def __init__(self, uow: MemoryWorkspace, aftersales: MemoryAftersalesRepository) -> None:
        self.uow = uow
        self.aftersales = aftersales

    @property
    def s(self) -> CustomersMemoryState:
        return customers_state(self.uow)

    def add(self, obj: object) -> None:
        if isinstance(obj, ServiceContract):
            self.aftersales.add(obj)
        elif isinstance(obj, EndCustomer):
            self.s.customers.add(obj, _next_id(self.uow))
        elif isinstance(obj, CustomerVehicle):
            self.s.vehicles.add(obj, _next_id(self.uow))
        else:
            raise TypeError(f"not kept by the customers repository: {type(obj).__name__}")

    def customer(self, customer_id: int) -> EndCustomer | None:
        return self.s.customers.get(customer_id)

    def owner_of(self, vin: str) -> CustomerVehicle | None:
        return next(iter(self.s.vehicles.where(lambda v: v.vin == vin)), None)

    def contract(self, contract_id: int) -> ServiceContract | None:
        return self.aftersales.s.contracts.get(contract_id)

    def contracts_of_vin(self, vin: str) -> list[ServiceContract]:
        return self.aftersales.service_contracts_of(vin)


class MemoryPartsSupplyRepository:
    """``PartsSupplyRepository`` twin: paid-repair bills (one per record), parts orders, transfers
    and per-station min/max levels. No row locks are needed in one process."""

    def __init__(self, uow: MemoryWorkspace) -> None:
        self.uow = uow

    @property
    def s(self) -> CustomersMemoryState:
        return customers_state(self.uow)

    def add(self, obj: object) -> None:
        tables: dict[type, MemoryTable[Any]] = {RepairBill: self.s.bills, PartsOrder: self.s.orders,
                                                StockTransfer: self.s.transfers}
        table = tables.get(type(obj))
        if table is None:
            raise TypeError(f"not kept by the parts-supply repository: {type(obj).__name__}")
        table.add(obj, _next_id(self.uow))

    def bill(self, bill_id: int) -> RepairBill | None:
        return self.s.bills.get(bill_id)

    def bill_of_record(self, record_id: int) -> RepairBill | None:
        return next(iter(self.s.bills.where(lambda b: b.record_id == record_id)), None)

    def order(self, order_id: int) -> PartsOrder | None:
        return self.s.orders.get(order_id)

    def transfer(self, transfer_id: int) -> StockTransfer | None:
        return self.s.transfers.get(transfer_id)

    def set_levels(self, station_id: int, part_no: str, min_qty: int, max_qty: int) -> None:
        self.s.levels[(station_id, part_no)] = (min_qty, max_qty)

    def levels(self, station_id: int) -> dict[str, tuple[int, int]]:
        """Min/max per part at a station (what the SQL twin keeps in ``parts_stock_levels``)."""
        return {p: lv for (sid, p), lv in sorted(self.s.levels.items()) if sid == station_id}
