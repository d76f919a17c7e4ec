"""HTTP for vehicles, pickup authorizations (介绍信), gate passes (出门证) and the kiosk API.

The kiosk routes admit only a device credential (``X-Device-Key``); every other route here
admits only user tokens of the roles named on it. Kiosk calls are idempotent by the device's
``event_id``: a replay gets the first answer (success or refusal) again.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import structlog
from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from dealercrm.application import gate as g
from dealercrm.application import shipping as sh
from dealercrm.application.vehicles import StockIn
from dealercrm.domain.errors import InvalidValue
from dealercrm.domain.gate import AuthorizationStatus, GatePassStatus
from dealercrm.domain.shipping import ShipmentStatus
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.vehicles import ACTION_LABELS, VehicleState
from dealercrm.entrypoints.http import gate_schemas as gs
from dealercrm.entrypoints.http import schemas as s
from dealercrm.entrypoints.http.controllers import decode_cursor, encode_cursor
from dealercrm.entrypoints.http.security import STAFF, requires
from dealercrm.application.services.gate import GateService
from dealercrm.application.services.identity import IdentityService

log = structlog.get_logger(__name__)

VEHICLE_READERS = (*STAFF, Role.DEALER)
STOCK_KEEPERS = (Role.ADMIN, Role.PRODUCTION, Role.DISPATCH)
GATE_READERS = (Role.DISPATCH, Role.FINANCE, Role.GUARD, Role.ADMIN, Role.SALES, Role.REGION_MANAGER, Role.DEALER)
DISPATCHERS = (Role.DISPATCH, Role.ADMIN)

Limit = Annotated[int, Parameter(ge=1, le=200, description="page size")]


def _enum_value(v: Any) -> Any:
    return v.value if hasattr(v, "value") else v


def _page(rows: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], str | None]:
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]["id"]) if more and rows else None


def _vehicle(row: dict[str, Any]) -> gs.VehicleOut:
    state = VehicleState(_enum_value(row["state"]))
    return gs.VehicleOut(
        id=row["id"], vin=str(row["vin"]), state=state, state_label=state.label, dealer_id=row["dealer_id"],
        dealer_code=row["dealer_code"], dealer_name=row["dealer_name"], region=row["region"],
        order_no=row["order_no"], contract_no=row["contract_no"], erp_tracking_no=row["erp_tracking_no"],
        product_line=row["product_line"], model_code=row["model_code"], configuration=row["configuration"],
        agreed_delivery_date=row["agreed_delivery_date"], stocked_at=row["stocked_at"],
        released_at=row["released_at"], received_at=row["received_at"], state_changed_at=row["state_changed_at"],
    )


def _vehicle_detail(row: dict[str, Any]) -> gs.VehicleDetailOut:
    base = msgspec.structs.asdict(_vehicle(row))
    history = []
    for e in row["history"]:
        to_state = VehicleState(_enum_value(e["to_state"]))
        history.append(gs.VehicleEventOut(
            seq=e["seq"], action=e["action"], action_label=ACTION_LABELS.get(e["action"], e["action"]), at=e["at"],
            from_state=_enum_value(e["from_state"]), to_state=to_state, to_state_label=to_state.label,
            actor=e["actor"], reference=e["reference"], note=e["note"]))
    return gs.VehicleDetailOut(**base, history=history)


def _authorization(row: dict[str, Any]) -> gs.AuthorizationOut:
    status = AuthorizationStatus(_enum_value(row["status"]))
    passes = row.get("gate_passes")
    return gs.AuthorizationOut(
        id=row["id"], number=row["number"], dealer_id=row["dealer_id"], dealer_code=row["dealer_code"],
        dealer_name=row["dealer_name"], contract_no=row["contract_no"], person_name=row["person_name"],
        id_masked=row["id_masked"], phone=str(row["phone"]), vins=list(row["vins"]), valid_from=row["valid_from"],
        valid_to=row["valid_to"], status=status, status_label=status.label,
        status_reason=row["status_reason"], created_at=row["created_at"], created_by=row["created_by"],
        id_checked_at=row["id_checked_at"], id_checked_via=row["id_checked_via"],
        gate_passes=None if passes is None else [
            gs.GatePassRef(p["id"], p["pass_no"], _enum_value(p["status"]), list(p["vins"])) for p in passes],
    )


def _gate_pass(row: dict[str, Any]) -> gs.GatePassOut:
    status = GatePassStatus(_enum_value(row["status"]))
    exit_row = row.get("exit")
    return gs.GatePassOut(
        id=row["id"], pass_no=row["pass_no"], authorization_id=row["authorization_id"],
        authorization_no=row["authorization_no"], dealer_id=row["dealer_id"], dealer_code=row["dealer_code"],
        dealer_name=row["dealer_name"], contract_no=row["contract_no"], vins=list(row["vins"]),
        person_name=row["person_name"], id_masked=row["id_masked"], id_verified_via=row["id_verified_via"],
        id_verified_at=row["id_verified_at"], valid_from=row["valid_from"], valid_to=row["valid_to"],
        status=status, status_label=status.label, created_at=row["created_at"], created_by=row["created_by"],
        approved_at=row["approved_at"], approved_by=row["approved_by"], rejected_reason=row["rejected_reason"],
        handed_over_at=row["handed_over_at"], handed_over_by=row["handed_over_by"], exited_at=row["exited_at"],
        exited_by=row["exited_by"], voided_at=row["voided_at"], void_reason=row["void_reason"],
        key_id=row["key_id"], print_count=row["print_count"], last_printed_at=row["last_printed_at"],
        exit=None if not exit_row else gs.GateExitOut(exit_row["exited_at"], exit_row["recorded_at"],
                                                      exit_row["source"], exit_row["actor"],
                                                      exit_row["client_event_id"], exit_row.get("guard_user_id"),
                                                      exit_row.get("guard_name")),
    )


def _pass_status(gate_pass_id: int, status: str) -> gs.StatusOut:
    return gs.StatusOut(gate_pass_id, status, GatePassStatus(status).label)


def _check_choice(name: str, value: str | None, allowed: Any, label: str) -> None:
    if value is not None and value not in {m.value for m in allowed}:
        raise InvalidValue(name, f"未知的{label}", code=f"{name}.unknown")


class VehicleController(Controller):
    path = "/api/v1/vehicles"
    tags = ["vehicles 车辆"]

    @get("/", guards=[requires(*VEHICLE_READERS)], sync_to_thread=True,
         summary="车辆列表 Vehicles by state, dealer, region, contract, product line (a dealer sees only its own)")
    def list_vehicles(
        self, request: Request[Principal, Any, Any], gate: GateService, vehicle_state: Annotated[
            str | None, Parameter(query="state", description="state code, e.g. in_factory_stock")] = None,
        dealer_id: int | None = None, contract_no: str | None = None, product_line: str | None = None,
        erp_tracking_no: str | None = None, region: str | None = None, cursor: str | None = None,
        limit: Limit = 50,
    ) -> gs.VehiclePage:
        _check_choice("state", vehicle_state, VehicleState, "车辆状态")
        rows = gate.list_vehicles(
            request.user, state=vehicle_state, dealer_id=dealer_id, contract_no=contract_no,
            product_line=product_line, erp_tracking_no=erp_tracking_no, region=region, after_id=decode_cursor(cursor),
            limit=limit + 1)
        rows, next_cursor = _page(rows, limit)
        return gs.VehiclePage([_vehicle(r) for r in rows], next_cursor)

    @get("/{vin:str}", guards=[requires(*VEHICLE_READERS)], sync_to_thread=True,
         summary="车辆详情与履历 A vehicle by VIN with its history")
    def detail(self, vin: str, request: Request[Principal, Any, Any], gate: GateService) -> gs.VehicleDetailOut:
        return _vehicle_detail(gate.vehicle(request.user, vin))

    @post("/stock-in", guards=[requires(*STOCK_KEEPERS)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="手工入库 Put a vehicle into factory stock (idempotent per VIN; ERP is the normal path)")
    def stock_in(self, data: gs.StockInIn, request: Request[Principal, Any, Any], gate: GateService) -> gs.StockInOut:
        r = gate.stock_in(request.user, StockIn(
            vin=data.vin, dealer_id=data.dealer_id, order_no=data.order_no, contract_no=data.contract_no,
            erp_tracking_no=data.erp_tracking_no, product_line=data.product_line, model_code=data.model_code,
            configuration=data.configuration, agreed_delivery_date=data.agreed_delivery_date,
            stocked_at=data.stocked_at))
        return gs.StockInOut(r.vin, r.vehicle_id, r.created, VehicleState(r.state))


class PickupAuthorizationController(Controller):
    path = "/api/v1/pickup-authorizations"
    tags = ["gate 提车与出门"]

    @post("/", guards=[requires(Role.DEALER)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="登记提车介绍信 A dealer registers who collects which vehicles, when")
    def register(self, data: gs.AuthorizationIn, request: Request[Principal, Any, Any],
                 gate: GateService) -> s.CreatedOut:
        created = gate.register_authorization(request.user, g.RegisterAuthorization(
            contract_no=data.contract_no, vins=tuple(data.vins), person_name=data.person_name,
            id_number=data.id_number, phone=data.phone, valid_from=data.valid_from, valid_to=data.valid_to))
        return s.CreatedOut(created.id, created.number)

    @get("/", guards=[requires(*GATE_READERS)], sync_to_thread=True,
         summary="介绍信列表 Authorization letters (a dealer sees only its own)")
    def list_authorizations(self, request: Request[Principal, Any, Any], gate: GateService, status: str | None = None,
                            cursor: str | None = None, limit: Limit = 50) -> gs.AuthorizationPage:
        _check_choice("status", status, AuthorizationStatus, "介绍信状态")
        rows = gate.list_authorizations(request.user, status=status,
                                                        after_id=decode_cursor(cursor), limit=limit + 1)
        rows, next_cursor = _page(rows, limit)
        return gs.AuthorizationPage([_authorization(r) for r in rows], next_cursor)

    @get("/{authorization_id:int}", guards=[requires(*GATE_READERS)], sync_to_thread=True,
         summary="介绍信详情 An authorization letter and its gate passes")
    def detail(self, authorization_id: int, request: Request[Principal, Any, Any],
               gate: GateService) -> gs.AuthorizationOut:
        return _authorization(gate.authorization(request.user, authorization_id))

    @post("/{authorization_id:int}/revoke", guards=[requires(Role.DEALER, Role.ADMIN)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="撤销介绍信 Revoke (voids its open passes, vehicles back to stock)")
    def revoke(self, authorization_id: int, data: s.ReasonIn, request: Request[Principal, Any, Any],
               gate: GateService) -> gs.StatusOut:
        status = gate.revoke_authorization(request.user, authorization_id, data.reason)
        return gs.StatusOut(authorization_id, status, AuthorizationStatus(status).label)


class GatePassController(Controller):
    path = "/api/v1/gate-passes"
    tags = ["gate 提车与出门"]

    @post("/", guards=[requires(*DISPATCHERS)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="提交出门证 Dispatch creates a pass after the person's ID matched the letter")
    def create(self, data: gs.GatePassIn, request: Request[Principal, Any, Any], gate: GateService) -> s.CreatedOut:
        created = gate.create_pass(request.user, g.CreateGatePass(
            authorization_id=data.authorization_id, id_number=data.id_number, id_source=data.id_source,
            vins=tuple(data.vins), valid_to=data.valid_to))
        return s.CreatedOut(created.id, created.number)

    @get("/", guards=[requires(*GATE_READERS)], sync_to_thread=True,
         summary="出门证列表 Gate passes (a dealer sees only its own)")
    def list_passes(self, request: Request[Principal, Any, Any], gate: GateService, status: str | None = None,
                    cursor: str | None = None, limit: Limit = 50) -> gs.GatePassPage:
        _check_choice("status", status, GatePassStatus, "出门证状态")
        rows = gate.list_passes(request.user, status=status, after_id=decode_cursor(cursor),
                                                limit=limit + 1)
        rows, next_cursor = _page(rows, limit)
        return gs.GatePassPage([_gate_pass(r) for r in rows], next_cursor)

    @get("/{gate_pass_id:int}", guards=[requires(*GATE_READERS)], sync_to_thread=True,
         summary="出门证详情 A gate pass")
    def detail(self, gate_pass_id: int, request: Request[Principal, Any, Any], gate: GateService) -> gs.GatePassOut:
        return _gate_pass(gate.gate_pass(request.user, gate_pass_id))

    @post("/{gate_pass_id:int}/approve", guards=[requires(Role.FINANCE)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="财务审核通过 Finance approves (credit rule applied; QR signed)")
    def approve(self, gate_pass_id: int, request: Request[Principal, Any, Any], gate: GateService) -> gs.StatusOut:
        return _pass_status(gate_pass_id, gate.approve_pass(request.user, gate_pass_id))

    @post("/{gate_pass_id:int}/reject", guards=[requires(Role.FINANCE)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="财务驳回 Finance rejects with a reason")
    def reject(self, gate_pass_id: int, data: s.ReasonIn, request: Request[Principal, Any, Any],
               gate: GateService) -> gs.StatusOut:
        return _pass_status(gate_pass_id, gate.reject_pass(request.user, gate_pass_id, data.reason))

    @post("/{gate_pass_id:int}/handover", guards=[requires(*DISPATCHERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="交车 Dispatch hands the vehicles over (credit rule applied again)")
    def hand_over(self, gate_pass_id: int, request: Request[Principal, Any, Any], gate: GateService) -> gs.StatusOut:
        return _pass_status(gate_pass_id, gate.hand_over(request.user, gate_pass_id))

    @post("/{gate_pass_id:int}/void", guards=[requires(*DISPATCHERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="作废 Void a pass that has not been used")
    def void(self, gate_pass_id: int, data: s.ReasonIn, request: Request[Principal, Any, Any],
             gate: GateService) -> gs.StatusOut:
        return _pass_status(gate_pass_id, gate.void_pass(request.user, gate_pass_id, data.reason))

    @post("/{gate_pass_id:int}/exit", guards=[requires(Role.GUARD)], status_code=HTTP_200_OK, sync_to_thread=True,
          summary="门卫确认出门 The guard confirms the exit (once; optional event_id makes retries safe)")
    def exit(self, gate_pass_id: int, request: Request[Principal, Any, Any], gate: GateService,
             data: gs.ExitIn | None = None) -> gs.ExitOut:
        answer = gate.confirm_exit(request.user, gate_pass_id, data.event_id if data else None)
        log.info("gate_exit_confirmed", pass_no=answer["pass_no"], vehicles=answer["released"], source="desk")
        return msgspec.convert(answer, gs.ExitOut)

    @get("/{gate_pass_id:int}/print", guards=[requires(*DISPATCHERS)], sync_to_thread=True,
         summary="打印版式 The pass slip (layout + signed QR) for printing at the desk")
    def print_layout(self, gate_pass_id: int, request: Request[Principal, Any, Any],
                     gate: GateService) -> gs.PrintableOut:
        return msgspec.convert(gate.print_layout(request.user, gate_pass_id), gs.PrintableOut)

    @post("/verify", guards=[requires(Role.GUARD, Role.DISPATCH, Role.ADMIN)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="核验二维码 Check a scanned pass QR (signature, validity, state)")
    def verify(self, data: gs.VerifyIn, request: Request[Principal, Any, Any], gate: GateService) -> gs.VerifyOut:
        return msgspec.convert(gate.verify(request.user, data.qr_payload), gs.VerifyOut)

    @post("/{gate_pass_id:int}/receipt", guards=[requires(Role.DEALER)], status_code=HTTP_201_CREATED,
          sync_to_thread=True, summary="自提回执 The dealer confirms each vehicle its driver took out (into its stock; "
                                       "discrepancies raise an alarm)")
    def pickup_receipt(self, gate_pass_id: int, data: gs.ReceiptIn, request: Request[Principal, Any, Any],
                       gate: GateService) -> s.CreatedOut:
        created = gate.submit_pickup_receipt(request.user, gate_pass_id, sh.SubmitReceipt(
            lines=tuple(sh.ReceiptLineIn(x.vin, x.outcome, x.configuration_ok, x.note, tuple(x.photos))
                        for x in data.lines),
            receiver_name=data.receiver_name, extra_vins=tuple(data.extra_vins), received_at=data.received_at))
        return s.CreatedOut(created.id, created.number)


class KioskController(Controller):
    """Routes a device credential may reach — and nothing else may reach them."""

    path = "/api/v1/kiosk"
    tags = ["kiosk 自助终端"]
    guards = [requires(Role.KIOSK)]
    security = [{"DeviceKey": []}]

    @get("/whoami", summary="设备身份 The device credential in use")
    async def whoami(self, request: Request[Principal, Any, Any]) -> s.MeOut:
        p = request.user
        return s.MeOut(p.user_id, p.username, p.role, p.dealer_id, list(p.regions), p.device_id)

    @get("/verification-keys", sync_to_thread=False,
         summary="验签公钥 Public keys that verify pass QR codes offline (Ed25519, by kid)")
    def verification_keys(self, gate: GateService) -> list[gs.VerificationKeyOut]:
        return [msgspec.convert(k, gs.VerificationKeyOut) for k in gate.verification_keys()]

    @get("/pass-book", sync_to_thread=True,
         summary="离线核验名册 Passes a guard must refuse offline: voided, exited, rejected; the current QR of live ones")
    def pass_book(self, gate: GateService) -> gs.PassBookOut:
        return msgspec.convert(gate.pass_book(), gs.PassBookOut)

    @post("/passes/lookup", status_code=HTTP_200_OK, sync_to_thread=True,
          summary="刷身份证查出门证 Passes and letters for the ID number read from a card")
    def lookup(self, data: gs.KioskLookupIn, request: Request[Principal, Any, Any],
               gate: GateService) -> gs.KioskLookupOut:
        answer = gate.kiosk_find(request.user, data.id_number, data.event_id)
        log.info("kiosk_lookup", device_id=request.user.device_id, passes=len(answer["passes"]),
                 printable=sum(1 for p in answer["passes"] if p["printable"]))
        return msgspec.convert(answer, gs.KioskLookupOut)

    @post("/passes/{pass_no:str}/prints", status_code=HTTP_200_OK, sync_to_thread=True,
          summary="记录打印 Record a successful print (reprints counted)")
    def record_print(self, pass_no: str, data: gs.KioskPrintIn, request: Request[Principal, Any, Any],
                     gate: GateService) -> gs.KioskPrintOut:
        answer = gate.kiosk_print(request.user, pass_no, data.event_id)
        log.info("gate_pass_printed", pass_no=pass_no, print_count=answer["print_count"],
                 device_id=request.user.device_id)
        return msgspec.convert(answer, gs.KioskPrintOut)

    @post("/verify", status_code=HTTP_200_OK, sync_to_thread=True,
          summary="核验二维码 Check a scanned pass QR (signature, validity, not voided, not used)")
    def verify(self, data: gs.KioskScanIn, request: Request[Principal, Any, Any], gate: GateService) -> gs.VerifyOut:
        answer = gate.kiosk_verify(request.user, data.qr_payload, data.event_id, data.scanned_at)
        return msgspec.convert(answer, gs.VerifyOut)

    @post("/exits", status_code=HTTP_200_OK, sync_to_thread=True,
          summary="确认出门 Confirm the exit of a scanned pass (once; replays answer the same)")
    def exit(self, data: gs.KioskExitIn, request: Request[Principal, Any, Any], gate: GateService) -> gs.ExitOut:
        answer = gate.kiosk_exit(request.user, data.qr_payload, data.event_id, data.scanned_at, data.guard_badge)
        log.info("gate_exit_confirmed", pass_no=answer["pass_no"], vehicles=answer["released"], source="kiosk",
                 device_id=request.user.device_id, event_id=data.event_id,
                 guard_user_id=(answer.get("guard") or {}).get("user_id"))
        return msgspec.convert(answer, gs.ExitOut)

    @get("/badges", sync_to_thread=True,
         summary="工牌名册 The guard and maintenance badges, as digests keyed by this device's secret")
    def badges(self, request: Request[Principal, Any, Any], identity: IdentityService) -> gs.BadgeBookOut:
        return msgspec.convert(identity.badge_book(request.user), gs.BadgeBookOut)

    @post("/status", status_code=HTTP_200_OK, sync_to_thread=True,
          summary="上报状态 The agent's status (devices, last errors, journal backlog, last replay)")
    def status(self, data: gs.DeviceStatusIn, request: Request[Principal, Any, Any],
               identity: IdentityService) -> gs.DeviceStatusOut:
        return msgspec.convert(identity.record_device_status(request.user, data.report), gs.DeviceStatusOut)


def _shipment(row: dict[str, Any]) -> gs.ShipmentOut:
    status = ShipmentStatus(_enum_value(row["status"]))
    r = row.get("receipt")
    receipt = None if not r else gs.ReceiptOut(
        id=r["id"], receipt_no=r["receipt_no"],
        lines=[gs.ReceiptLineOut(x["vin"], x["outcome"], x["configuration_ok"], x.get("note"), list(x.get("photos") or []))
               for x in r["lines"]],
        extra_vins=list(r["extra_vins"]), discrepancies=list(r["discrepancies"]),
        has_discrepancy=bool(r["discrepancies"]), receiver_name=r["receiver_name"], received_at=r["received_at"],
        recorded_by=r["recorded_by"])
    return gs.ShipmentOut(
        id=row["id"], shipment_no=row["shipment_no"], dealer_id=row["dealer_id"], dealer_code=row["dealer_code"],
        dealer_name=row["dealer_name"], contract_no=row["contract_no"], carrier=row["carrier"],
        driver_name=row["driver_name"], driver_id_masked=row["driver_id_masked"], driver_phone=str(row["driver_phone"]),
        truck_plate=row["truck_plate"], vins=list(row["vins"]), planned_departure=row["planned_departure"],
        expected_arrival=row["expected_arrival"], status=status, status_label=status.label,
        created_at=row["created_at"], created_by=row["created_by"], departed_at=row["departed_at"],
        delivered_at=row["delivered_at"], cancelled_at=row["cancelled_at"], cancel_reason=row["cancel_reason"],
        receipt_reminded_at=row["receipt_reminded_at"], receipt_no=row["receipt_no"], receipt=receipt,
    )


class ShipmentController(Controller):
    path = "/api/v1/shipments"
    tags = ["shipping 外送与回执"]

    @post("/", guards=[requires(*DISPATCHERS)], status_code=HTTP_201_CREATED, sync_to_thread=True,
          summary="登记外送 Carrier, driver, truck and vehicles of one dealer")
    def create(self, data: gs.ShipmentIn, request: Request[Principal, Any, Any], gate: GateService) -> s.CreatedOut:
        created = gate.create_shipment(request.user, sh.CreateShipment(
            vins=tuple(data.vins), carrier=data.carrier, driver_name=data.driver_name,
            driver_id_number=data.driver_id_number, driver_phone=data.driver_phone, truck_plate=data.truck_plate,
            planned_departure=data.planned_departure, expected_arrival=data.expected_arrival,
            contract_no=data.contract_no))
        return s.CreatedOut(created.id, created.number)

    @get("/", guards=[requires(*GATE_READERS)], sync_to_thread=True,
         summary="发运单列表 Shipments (a dealer sees only its own)")
    def list_shipments(self, request: Request[Principal, Any, Any], gate: GateService, status: str | None = None,
                       cursor: str | None = None, limit: Limit = 50) -> gs.ShipmentPage:
        _check_choice("status", status, ShipmentStatus, "发运单状态")
        rows = gate.list_shipments(request.user, status=status, after_id=decode_cursor(cursor),
                                                   limit=limit + 1)
        rows, next_cursor = _page(rows, limit)
        return gs.ShipmentPage([_shipment(r) for r in rows], next_cursor)

    @get("/{shipment_id:int}", guards=[requires(*GATE_READERS)], sync_to_thread=True,
         summary="发运单详情 A shipment and its receipt")
    def detail(self, shipment_id: int, request: Request[Principal, Any, Any], gate: GateService) -> gs.ShipmentOut:
        return _shipment(gate.shipment(request.user, shipment_id))

    @post("/{shipment_id:int}/depart", guards=[requires(*DISPATCHERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="发车 The truck leaves (credit rule applied; vehicles in transit)")
    def depart(self, shipment_id: int, request: Request[Principal, Any, Any], gate: GateService) -> gs.StatusOut:
        status = gate.depart_shipment(request.user, shipment_id)
        return gs.StatusOut(shipment_id, status, ShipmentStatus(status).label)

    @post("/{shipment_id:int}/cancel", guards=[requires(*DISPATCHERS)], status_code=HTTP_200_OK,
          sync_to_thread=True, summary="取消 Cancel a shipment before it departs")
    def cancel(self, shipment_id: int, data: s.ReasonIn, request: Request[Principal, Any, Any],
               gate: GateService) -> gs.StatusOut:
        status = gate.cancel_shipment(request.user, shipment_id, data.reason)
        return gs.StatusOut(shipment_id, status, ShipmentStatus(status).label)

    @post("/{shipment_id:int}/receipt", guards=[requires(Role.DEALER)], status_code=HTTP_201_CREATED,
          sync_to_thread=True, summary="收货回执 The dealer confirms each vehicle (discrepancies raise an alarm)")
    def receipt(self, shipment_id: int, data: gs.ReceiptIn, request: Request[Principal, Any, Any],
                gate: GateService) -> s.CreatedOut:
        created = gate.submit_receipt(request.user, shipment_id, sh.SubmitReceipt(
            lines=tuple(sh.ReceiptLineIn(x.vin, x.outcome, x.configuration_ok, x.note, tuple(x.photos))
                        for x in data.lines),
            receiver_name=data.receiver_name, extra_vins=tuple(data.extra_vins), received_at=data.received_at))
        return s.CreatedOut(created.id, created.number)

    @get("/{shipment_id:int}/receipt/print", guards=[requires(*GATE_READERS)], sync_to_thread=True,
         summary="打印回执 The paper receipt for the driver, as a print layout")
    def receipt_print(self, shipment_id: int, request: Request[Principal, Any, Any],
                      gate: GateService) -> gs.ReceiptPrintOut:
        return msgspec.convert(gate.receipt_layout(request.user, shipment_id), gs.ReceiptPrintOut)

    @get("/{shipment_id:int}/receipt/pdf", guards=[requires(*GATE_READERS)], sync_to_thread=True,
         media_type="application/pdf", summary="回执PDF The paper receipt for the driver, as a PDF (A5)")
    def receipt_pdf(self, shipment_id: int, request: Request[Principal, Any, Any], gate: GateService) -> Response[bytes]:
        receipt_no, pdf = gate.receipt_pdf(request.user, shipment_id)
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{receipt_no}.pdf"'})

    @post("/receipt-reminders", guards=[requires(*DISPATCHERS)], status_code=HTTP_200_OK, sync_to_thread=True,
          summary="回执逾期提醒 Remind dealers whose receipt is overdue (once per shipment)")
    def remind(self, request: Request[Principal, Any, Any], gate: GateService,
               data: gs.ReminderIn | None = None) -> gs.RemindedOut:
        days = data.grace_days if data else 3
        return gs.RemindedOut(gate.remind_missing_receipts(request.user, days))


GATE_CONTROLLERS = [VehicleController, PickupAuthorizationController, GatePassController, ShipmentController,
                    KioskController]
