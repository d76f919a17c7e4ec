"""Use cases of the vehicle life cycle that other contexts call: stock-in from the ERP.

``stock_in_vehicle`` works inside the caller's open unit of work and never commits, so the SQL
ERP sync target (which commits once per page of ERP events) and the orders context can call it
as one step of their own transaction.
"""

from __future__ import annotations

import datetime as dt

import attrs

from dealercrm.application.access import require_role
from dealercrm.application.ports.gate import GateUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.domain.channel import ProductLine
from dealercrm.domain.errors import Conflict, InvalidValue, InvariantBroken, NotFound
from dealercrm.domain.identity import Role
from dealercrm.domain.vehicles import Vehicle, VehicleState
from dealercrm.domain.values import Vin

STOCK_KEEPERS = (Role.ADMIN, Role.PRODUCTION, Role.DISPATCH)


@attrs.frozen
class StockInResult:
    vin: str
    vehicle_id: int
    created: bool  # False: the VIN was known (a repeated stock-in changes nothing)
    state: str


def stock_in_vehicle(
    uow: GateUnitOfWork,
    *,
    vin: str,
    stocked_at: dt.datetime,
    dealer_id: int | None = None,
    order_no: str | None = None,
    contract_no: str | None = None,
    erp_tracking_no: str | None = None,
    erp_line_no: int | None = None,
    product_line: str | None = None,
    model_code: str | None = None,
    configuration: str | None = None,
    agreed_delivery_date: dt.date | None = None,
    actor: str = "erp",
) -> StockInResult:
    """Put a vehicle into factory stock (已入库待提), idempotently per VIN.

    * unknown VIN → created in ``in_factory_stock`` with its references;
    * known VIN still planned / in production → stocked in now (references filled in);
    * known VIN already stocked in or beyond → nothing changes (a replayed ERP event);
    * known VIN on another dealer, contract or ERP tracking number → ``Conflict``
      (``vehicle.reference_conflict``) and nothing changes.

    Runs inside the caller's ``with uow:`` block and does not commit.
    """
    if stocked_at.tzinfo is None:
        raise InvalidValue("stocked_at", "入库时间必须带时区", code="time.naive")
    parsed = Vin(vin)
    if product_line is not None and product_line not in ProductLine.__members__.values():
        raise InvalidValue("product_line", f"未知的产品线：{product_line}", code="product_line.unknown")
    references = {
        "dealer_id": dealer_id, "order_no": order_no, "contract_no": contract_no, "erp_tracking_no": erp_tracking_no,
        "erp_line_no": erp_line_no, "product_line": product_line, "model_code": model_code,
        "configuration": configuration, "agreed_delivery_date": agreed_delivery_date,
    }
    if dealer_id is not None and uow.dealers.get(dealer_id) is None:
        raise NotFound("经销商不存在", code="dealer.not_found", dealer_id=dealer_id)
    vehicle = uow.vehicles.get(parsed.value)
    if vehicle is None:
        vehicle = Vehicle.register(parsed, VehicleState.IN_FACTORY_STOCK, stocked_at, actor,
                                   reference=erp_tracking_no, **{k: v for k, v in references.items() if v is not None})
        vehicle.stocked_at = stocked_at
        uow.vehicles.add(vehicle)
        uow.flush()
        if vehicle.id is None:
            raise InvariantBroken("vehicle has no id: not flushed")
        return StockInResult(parsed.value, vehicle.id, True, vehicle.state.value)
    # conflicts first, so a refused event changes nothing
    for name in ("dealer_id", "contract_no", "erp_tracking_no"):
        current, new = getattr(vehicle, name), references[name]
        if current is not None and new is not None and current != new:
            raise Conflict(f"车架号 {parsed} 已属于其他{_LABELS[name]}", code="vehicle.reference_conflict",
                           vin=parsed.value, field=name)
    vehicle.link_order(**{k: v for k, v in references.items() if getattr(vehicle, k) is None})
    if vehicle.state in (VehicleState.PLANNED, VehicleState.IN_PRODUCTION):
        vehicle.stock_in(stocked_at, actor, erp_tracking_no)
    if vehicle.id is None:
        raise InvariantBroken("vehicle has no id: not flushed")
    return StockInResult(parsed.value, vehicle.id, False, vehicle.state.value)


_LABELS = {"dealer_id": "经销商", "contract_no": "合同", "erp_tracking_no": "内部流转单号"}


@attrs.frozen
class StockIn:
    """A manual stock-in (the ERP feed is the normal path)."""

    vin: str
    dealer_id: int | None = None
    order_no: str | None = None
    contract_no: str | None = None
    erp_tracking_no: str | None = None
    product_line: str | None = None
    model_code: str | None = None
    configuration: str | None = None
    agreed_delivery_date: dt.date | None = None
    stocked_at: dt.datetime | None = None


def stock_in(cmd: StockIn, uow: GateUnitOfWork, clock: Clock) -> StockInResult:
    require_role(uow.actor, *STOCK_KEEPERS)
    with uow:
        result = stock_in_vehicle(
            uow, vin=cmd.vin, stocked_at=cmd.stocked_at or clock(), dealer_id=cmd.dealer_id, order_no=cmd.order_no,
            contract_no=cmd.contract_no, erp_tracking_no=cmd.erp_tracking_no, product_line=cmd.product_line,
            model_code=cmd.model_code, configuration=cmd.configuration,
            agreed_delivery_date=cmd.agreed_delivery_date, actor=uow.actor.username,
        )
        uow.commit()
    return result
