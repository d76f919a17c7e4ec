"""Use cases of outbound shipping (外送) and the dealer's receipt (回执).

Dispatch plans a shipment of one dealer's factory-stock vehicles on a carrier's truck; at
departure the credit rule is applied (the vehicles leave the factory like a pickup does) and the
vehicles go in transit. The dealer answers every vehicle in a receipt: received and damaged
vehicles enter the dealer's stock, missing ones are marked missing. A receipt that differs from
the shipment or the contract raises an alarm by e-mail to dispatch and the region's sales staff
(outbox, same transaction). Shipments whose receipt is overdue remind the dealer, once.
"""

from __future__ import annotations

import datetime as dt

import attrs

from dealercrm.application.access import not_found, require_role
from dealercrm.application.gate import DISPATCH, Created, IdDigester, admits
from dealercrm.application.ports.credit_gate import VehicleReleasePolicy
from dealercrm.application.ports.gate import GateUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.domain.alerts import Alert, Audience, Condition, Severity
from dealercrm.domain.errors import Conflict, IllegalTransition, InvalidValue, InvariantBroken, NotFound
from dealercrm.domain.identity import Role
from dealercrm.domain.printing import document_to_wire
from dealercrm.domain.shipping import (
    DeliveryReceipt,
    PickupReceipt,
    ReceiptLine,
    ReceiptOutcome,
    Shipment,
    layout_delivery_receipt,
)
from dealercrm.domain.values import SHANGHAI, ChineseIdNumber, Phone, Vin, beijing_date
from dealercrm.domain.vehicles import VehicleState

ALARM_ROLES = (Role.DISPATCH, Role.SALES, Role.REGION_MANAGER)
ALARM_AUDIENCE = (*ALARM_ROLES, Role.ADMIN)
DISCREPANCY_RULE = "receipt.discrepancy"  # the alert of a receipt that differs (key: the receipt number)
DEFAULT_RECEIPT_GRACE = dt.timedelta(days=3)


@attrs.frozen
class CreateShipment:
    vins: tuple[str, ...]
    carrier: str
    driver_name: str
    driver_id_number: str
    driver_phone: str
    truck_plate: str
    planned_departure: dt.datetime
    expected_arrival: dt.datetime
    contract_no: str | None = None


@attrs.frozen
class ReceiptLineIn:
    vin: str
    outcome: str
    configuration_ok: bool = True
    note: str | None = None
    photos: tuple[str, ...] = ()


@attrs.frozen
class SubmitReceipt:
    lines: tuple[ReceiptLineIn, ...]
    receiver_name: str
    extra_vins: tuple[str, ...] = ()
    received_at: dt.datetime | None = None


def _fmt(moment: dt.datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _visible_shipment(uow: GateUnitOfWork, shipment_id: int) -> Shipment:
    shipment = uow.shipments.get(shipment_id)
    if shipment is None or not admits(uow, shipment.dealer_id):
        raise not_found("shipment", "发运单")
    return shipment


def create_shipment(cmd: CreateShipment, uow: GateUnitOfWork, clock: Clock, digester: IdDigester) -> Created:
    """Dispatch registers the carrier, driver, truck and the vehicles (one dealer's, in stock)."""
    require_role(uow.actor, *DISPATCH)
    try:
        driver_id = ChineseIdNumber(cmd.driver_id_number)
        phone = Phone(cmd.driver_phone)
    except InvalidValue as err:
        raise InvalidValue(f"driver_{err.field}", err.message, code=err.code) from None
    now = clock()
    with uow:
        vins = [Vin(v).value for v in cmd.vins]
        vehicles = {v.vin.value: v for v in uow.vehicles.many(vins)}
        for vin in vins:
            vehicle = vehicles.get(vin)
            if vehicle is None:
                raise NotFound(f"车辆 {vin} 不存在", code="vehicle.not_found", vin=vin)
            if vehicle.state is not VehicleState.IN_FACTORY_STOCK:
                raise IllegalTransition("vehicle", vehicle.state.value, "ship",
                                        f"车辆 {vin} 当前状态为“{vehicle.state.label}”，不能外送",
                                        code="vehicle.not_in_stock")
        dealer_ids = {v.dealer_id for v in vehicles.values()}
        dealer_id = dealer_ids.pop() if len(dealer_ids) == 1 else None
        if dealer_id is None:
            raise InvalidValue("vins", "一张发运单只能装运同一经销商订购的车辆", code="shipment.mixed_dealers")
        contracts = {v.contract_no for v in vehicles.values()}
        contract_no = cmd.contract_no or (contracts.pop() if len(contracts) == 1 else None)
        planned = uow.shipments.planned_with_any(vins)
        if planned:
            raise Conflict(f"车辆已在待发车的发运单 {planned[0].shipment_no} 中", code="shipment.vehicle_already_planned")
        shipment = Shipment(
            shipment_no=uow.numbers.formatted("SH", year=beijing_date(now).year), dealer_id=dealer_id,
            contract_no=contract_no, carrier=cmd.carrier, driver_name=cmd.driver_name,
            driver_id_digest=digester.lookup(driver_id), driver_id_masked=driver_id.masked, driver_phone=phone,
            truck_plate=cmd.truck_plate, vins=vins, planned_departure=cmd.planned_departure,
            expected_arrival=cmd.expected_arrival, created_at=now, created_by=uow.actor.username)
        uow.shipments.add(shipment)
        uow.flush()
        if shipment.id is None:
            raise InvariantBroken("shipment has no id: not flushed")
        result = Created(shipment.id, shipment.shipment_no)
        uow.commit()
    return result


def depart_shipment(shipment_id: int, uow: GateUnitOfWork, clock: Clock, policy: VehicleReleasePolicy) -> str:
    """The truck leaves: the credit rule is asked, the vehicles go in transit."""
    require_role(uow.actor, *DISPATCH)
    now = clock()
    with uow:
        shipment = _visible_shipment(uow, shipment_id)
        shipment.require_action("depart")
        policy.check_release(uow, shipment.dealer_id, shipment.contract_no, list(shipment.vins))
        for vehicle in uow.vehicles.many(shipment.vins):
            vehicle.ship(now, uow.actor.username, shipment.shipment_no)
        shipment.depart(now, uow.actor.username)
        status = shipment.status.value
        uow.commit()
    return status


def cancel_shipment(shipment_id: int, reason: str, uow: GateUnitOfWork, clock: Clock) -> str:
    require_role(uow.actor, *DISPATCH)
    with uow:
        shipment = _visible_shipment(uow, shipment_id)
        shipment.cancel(reason, clock())
        status = shipment.status.value
        uow.commit()
    return status


def _line(item: ReceiptLineIn) -> ReceiptLine:
    try:
        outcome = ReceiptOutcome(item.outcome)
    except ValueError:
        raise InvalidValue("lines.outcome", "收货结果须为 received、damaged 或 missing",
                           code="receipt.outcome_unknown") from None
    return ReceiptLine(vin=item.vin, outcome=outcome, configuration_ok=item.configuration_ok,
                       note=(item.note or "").strip() or None, photos=tuple(item.photos))


def submit_receipt(shipment_id: int, cmd: SubmitReceipt, uow: GateUnitOfWork, clock: Clock,
                   portal_url: str) -> Created:
    """The dealer confirms each vehicle; its stock follows; discrepancies alarm sales and dispatch."""
    require_role(uow.actor, Role.DEALER)
    lines = [_line(item) for item in cmd.lines]
    now = clock()
    at = cmd.received_at or now
    if at.utcoffset() is None or at > now + dt.timedelta(minutes=5):
        raise InvalidValue("received_at", "收货时间须带时区且不晚于当前时间", code="receipt.received_at_invalid")
    with uow:
        shipment = _visible_shipment(uow, shipment_id)
        if uow.receipts.for_shipment(shipment_id) is not None:
            raise Conflict(f"发运单 {shipment.shipment_no} 已回执", code="receipt.exists")
        receipt = DeliveryReceipt.for_shipment(
            shipment, receipt_no=uow.numbers.formatted("RC", year=beijing_date(now).year), lines=lines,
            extra_vins=[Vin(v).value for v in cmd.extra_vins], receiver_name=cmd.receiver_name, received_at=at,
            by=uow.actor.username)
        outcomes = {item["vin"]: item for item in receipt.lines}
        for vehicle in uow.vehicles.many(shipment.vins):
            item = outcomes[vehicle.vin.value]
            if item["outcome"] == ReceiptOutcome.MISSING.value:
                vehicle.report_missing(at, uow.actor.username, receipt.receipt_no, item["note"])
            else:
                vehicle.receive(at, uow.actor.username, receipt.receipt_no, item["note"])
        shipment.deliver(at)
        uow.receipts.add(receipt)
        if receipt.has_discrepancy:
            _raise_alarm(uow, shipment, receipt, portal_url)
        uow.flush()
        if receipt.id is None:
            raise InvariantBroken("receipt has no id: not flushed")
        result = Created(receipt.id, receipt.receipt_no)
        uow.commit()
    return result


def submit_pickup_receipt(gate_pass_id: int, cmd: SubmitReceipt, uow: GateUnitOfWork, clock: Clock,
                          portal_url: str) -> Created:
    """自提回执: the dealer confirms each vehicle its own driver took out of the gate. Received and
    damaged vehicles enter its stock (they were released, on the road, until now), missing ones
    are marked missing; a receipt that differs from the pass or the contract raises the same
    alarm as a shipment's (dispatch and the region's sales, by e-mail, same transaction)."""
    require_role(uow.actor, Role.DEALER)
    lines = [_line(item) for item in cmd.lines]
    now = clock()
    at = cmd.received_at or now
    if at.utcoffset() is None or at > now + dt.timedelta(minutes=5):
        raise InvalidValue("received_at", "收货时间须带时区且不晚于当前时间", code="receipt.received_at_invalid")
    with uow:
        gate_pass = uow.gate_passes.get(gate_pass_id)
        if gate_pass is None or not admits(uow, gate_pass.dealer_id):
            raise not_found("gate_pass", "出门证")
        if uow.receipts.for_gate_pass(gate_pass_id) is not None:
            raise Conflict(f"出门证 {gate_pass.pass_no} 的车辆已回执", code="receipt.exists")
        receipt = PickupReceipt.for_gate_pass(
            gate_pass, receipt_no=uow.numbers.formatted("RC", year=beijing_date(now).year), lines=lines,
            extra_vins=[Vin(v).value for v in cmd.extra_vins], receiver_name=cmd.receiver_name, received_at=at,
            by=uow.actor.username)
        outcomes = {item["vin"]: item for item in receipt.lines}
        for vehicle in uow.vehicles.many(gate_pass.vins):
            item = outcomes[vehicle.vin.value]
            if vehicle.state is not VehicleState.RELEASED:
                raise IllegalTransition("vehicle", vehicle.state.value, "receive",
                                        f"车辆 {vehicle.vin} 当前为“{vehicle.state.label}”，不能自提回执",
                                        code="vehicle.illegal_transition")
            if item["outcome"] == ReceiptOutcome.MISSING.value:
                vehicle.report_missing(at, uow.actor.username, receipt.receipt_no, item["note"])
            else:
                vehicle.receive(at, uow.actor.username, receipt.receipt_no, item["note"])
        uow.receipts.add_pickup(receipt)
        if receipt.has_discrepancy:
            _alarm(uow, gate_pass.dealer_id, "pickup.receipt_discrepancy", {
                "pass_no": gate_pass.pass_no, "contract_no": gate_pass.contract_no or "（未关联合同）"},
                receipt, portal_url)
        uow.flush()
        if receipt.id is None:
            raise InvariantBroken("receipt has no id: not flushed")
        result = Created(receipt.id, receipt.receipt_no)
        uow.commit()
    return result


def _alarm(uow: GateUnitOfWork, dealer_id: int, template: str, document: dict[str, str],
           receipt: DeliveryReceipt | PickupReceipt, portal_url: str) -> None:
    """A receipt's discrepancy alarm: by e-mail to dispatch and to the sales staff of the dealer's
    region, and an alert (到货差异) the same people acknowledge and resolve."""
    dealer = uow.dealers.get(dealer_id)
    if dealer is None:
        raise InvariantBroken(f"dealer {dealer_id} of a receipt is missing")
    shipment_no = document.get("shipment_no")
    subject = ("shipment", receipt.shipment_id) if isinstance(receipt, DeliveryReceipt) else (
        "gate_pass", receipt.gate_pass_id)
    uow.alerts.add_once(Alert.raise_for(DISCREPANCY_RULE, Condition(
        key=receipt.receipt_no, audience=Audience(roles=ALARM_AUDIENCE, region=dealer.region),
        title=f"到货差异：{dealer.legal_name} {shipment_no or document.get('pass_no', '')}（回执 {receipt.receipt_no}）",
        body="\n".join(receipt.discrepancies)[:4000], severity=Severity.WARNING,
        subject_type=subject[0], subject_id=str(subject[1])), receipt.received_at))
    for user_id, name, email, role, regions in uow.staff_directory.active_staff(ALARM_ROLES):
        if role != Role.DISPATCH.value and dealer.region not in regions:
            continue
        uow.outbox.enqueue(template, {
            "recipient_name": name, "dealer_name": dealer.legal_name, **document, "receipt_no": receipt.receipt_no,
            "discrepancies": "\n".join(receipt.discrepancies), "receiver_name": receipt.receiver_name,
            "received_at": _fmt(receipt.received_at), "portal_url": portal_url,
        }, email, f"{template}:{receipt.receipt_no}:{user_id}")


def _raise_alarm(uow: GateUnitOfWork, shipment: Shipment, receipt: DeliveryReceipt, portal_url: str) -> None:
    _alarm(uow, shipment.dealer_id, "shipment.receipt_discrepancy", {
        "shipment_no": shipment.shipment_no, "contract_no": shipment.contract_no or "（未关联合同）"},
        receipt, portal_url)


def remind_missing_receipts(uow: GateUnitOfWork, clock: Clock, portal_url: str,
                            grace: dt.timedelta = DEFAULT_RECEIPT_GRACE) -> list[str]:
    """Remind dealers whose receipt is ``grace`` past the expected arrival (once per shipment).
    Returns the shipment numbers reminded."""
    require_role(uow.actor, *DISPATCH)
    now = clock()
    reminded = []
    with uow:
        for shipment in uow.shipments.overdue_for_receipt(now - grace):
            dealer = uow.dealers.get(shipment.dealer_id)
            contact = next((c for c in dealer.contacts if c.is_primary and c.email), None) if dealer else None
            if dealer is not None and contact is not None and contact.email:
                uow.outbox.enqueue("shipment.receipt_reminder", {
                    "dealer_name": dealer.legal_name, "shipment_no": shipment.shipment_no,
                    "carrier": shipment.carrier, "truck_plate": shipment.truck_plate,
                    "vehicle_count": len(shipment.vins), "expected_arrival": _fmt(shipment.expected_arrival),
                    "portal_url": f"{portal_url.rstrip('/')}/stock/receipts/{shipment.id}",
                }, contact.email, f"shipment.receipt_reminder:{shipment.shipment_no}")
            shipment.receipt_reminded_at = now
            reminded.append(shipment.shipment_no)
        uow.commit()
    return reminded


def receipt_print_layout(shipment_id: int, uow: GateUnitOfWork) -> dict[str, object]:
    """The paper receipt for the driver, as a print layout (the kiosk printer or a PDF)."""
    with uow:
        shipment = _visible_shipment(uow, shipment_id)
        receipt = uow.receipts.for_shipment(shipment_id)
        if receipt is None:
            raise not_found("receipt", "回执")
        dealer = uow.dealers.get(shipment.dealer_id)
        if dealer is None:
            raise InvariantBroken(f"dealer {shipment.dealer_id} of a shipment is missing")
        document = layout_delivery_receipt(shipment, receipt, dealer.legal_name)
        return {"receipt_no": receipt.receipt_no, "layout": document_to_wire(document)}

