"""Use cases of self-pickup at the gate: authorization letters, gate passes, kiosk calls.

Flow (seed 000 §3.6): the dealer registers a :class:`PickupAuthorization` → the person's ID is
matched (card read at the kiosk, or read/typed at the dispatch desk) → dispatch creates the
:class:`GatePass` → finance approves it, applying the credit rule (``VehicleReleasePolicy``)
and the pass gets its signed QR token → dispatch hands the vehicles over (the credit rule is
applied again) → the guard confirms the exit, which releases the vehicles — once.

ID numbers are never stored in clear: :class:`IdDigester` turns them into keyed HMAC digests
(a database dump cannot be brute-forced back to the numbers without the key), and people see
the masked form.

Kiosk calls carry a client event id; :func:`run_client_event` records the first answer
(success or refusal) under it, so an offline agent can replay and get the same answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

import attrs

from dealercrm.application.access import dealer_scope, not_found, require_role
from dealercrm.application.identity import guard_of_badge
from dealercrm.application.ports.credit_gate import VehicleReleasePolicy
from dealercrm.application.ports.gate import ClientEventsUnitOfWork, GateUnitOfWork
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.ports.signing import (
    PassExpired,
    PassForged,
    PassMalformed,
    PassNotYetValid,
    PassSigner,
    PassTokenError,
    PassVerifier,
)
from dealercrm.domain.errors import (
    BusinessRuleViolation,
    Conflict,
    DomainError,
    IllegalTransition,
    InvalidValue,
    InvariantBroken,
    NotFound,
    PermissionDenied,
)
from dealercrm.domain.gate import (
    AlreadyExited,
    AuthorizationStatus,
    GateExit,
    GatePass,
    GatePassRefused,
    GatePassStatus,
    PickupAuthorization,
    masked_holder,
    qr_digest,
)
from dealercrm.domain.identity import Principal, Role, User
from dealercrm.domain.printing import document_to_wire
from dealercrm.domain.values import SHANGHAI, ChineseIdNumber, Phone, Vin, beijing_date, stored_id
from dealercrm.domain.vehicles import VehicleState

DISPATCH = (Role.DISPATCH, Role.ADMIN)
FINANCE = (Role.FINANCE,)
GUARD = (Role.GUARD,)
GATE_STAFF = (Role.DISPATCH, Role.FINANCE, Role.GUARD, Role.ADMIN)
OFFLINE_REPLAY_WINDOW = dt.timedelta(days=7)  # how old an offline scan may be when it is replayed
CLOCK_SKEW = dt.timedelta(minutes=2)
RECENT_PASSES = dt.timedelta(days=7)  # the kiosk explains passes that ended this recently


# ---------------------------------------------------------------------------------------------
# Keyed digests of ID numbers


class IdDigester:
    """HMAC-SHA256 digests of ID numbers under a server secret.

    ``lookup`` finds a person's letters and passes (indexed column); ``for_pass`` is what a
    pass's QR carries — keyed and salted with the pass number, so two passes of one person are
    unlinkable and nobody without the key can test guesses against it. ``fingerprint`` keys the
    request fingerprints of the idempotency ledger (requests may contain ID numbers).
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the ID digest key must be at least 16 bytes")
        self._key = key

    def _mac(self, *parts: str) -> str:
        return hmac.new(self._key, "\x1f".join(parts).encode("utf-8"), hashlib.sha256).hexdigest()

    def lookup(self, id_number: ChineseIdNumber) -> str:
        return self._mac("lookup", id_number.value)

    def for_pass(self, pass_no: str, lookup_digest: str) -> str:
        return self._mac("pass", pass_no, lookup_digest)

    def fingerprint(self, kind: str, request: dict[str, Any]) -> str:
        return self._mac("request", kind, json.dumps(request, sort_keys=True, ensure_ascii=False, default=str))


class GatePassSigner(PassSigner, Protocol):
    kid: str


def gate_pass_claims(gate_pass: GatePass, digester: IdDigester) -> dict[str, Any]:
    """What the QR of a pass says: enough for a gate device to decide offline."""
    return {
        "typ": "gate_pass",
        "v": 1,
        "pass_no": gate_pass.pass_no,
        "vins": list(gate_pass.vins),
        "id_hmac": digester.for_pass(gate_pass.pass_no, gate_pass.id_digest),
        "valid_from": gate_pass.valid_from.isoformat(),
        "valid_to": gate_pass.valid_to.isoformat(),
    }


# ---------------------------------------------------------------------------------------------
# Commands


@attrs.frozen
class RegisterAuthorization:
    contract_no: str
    vins: tuple[str, ...]
    person_name: str
    id_number: str
    phone: str
    valid_from: dt.datetime
    valid_to: dt.datetime


@attrs.frozen
class CreateGatePass:
    authorization_id: int
    id_number: str | None = None  # None: use the card check made at the kiosk
    id_source: str = "desk"  # "card" (read by the desk's reader) or "desk" (typed)
    vins: tuple[str, ...] = ()  # empty: every vehicle of the letter
    valid_to: dt.datetime | None = None


@attrs.frozen
class Created:
    id: int
    number: str


def _masked(id_number: ChineseIdNumber) -> str:
    return id_number.masked


def _who(principal: Principal) -> str:
    return principal.username


# ---------------------------------------------------------------------------------------------
# Authorization letters


def _visible_authorization(uow: GateUnitOfWork, authorization_id: int) -> PickupAuthorization:
    auth = uow.pickup_authorizations.get(authorization_id)
    if auth is None or not admits(uow, auth.dealer_id):
        raise not_found("pickup_authorization", "介绍信")
    return auth


def admits(uow: GateUnitOfWork, dealer_id: int) -> bool:
    scope = dealer_scope(uow.actor)
    if scope.nothing:
        return False
    if scope.dealer_id is not None:
        return scope.dealer_id == dealer_id
    if scope.regions is not None:
        dealer = uow.dealers.get(dealer_id)
        return dealer is not None and dealer.region in scope.regions
    return True


def _lapse(uow: GateUnitOfWork, auth: PickupAuthorization, now: dt.datetime, why: str) -> None:
    """End a letter whose window is over (or that was revoked): void its live passes and put its
    vehicles that are still waiting back into factory stock."""
    for gate_pass in uow.gate_passes.live_for_authorization(stored_id(auth.id)):
        gate_pass.void(why, now, _who(uow.actor))
    for vehicle in uow.vehicles.many(auth.vins):
        if vehicle.state is VehicleState.PICKUP_AUTHORIZED and vehicle.pickup_authorization_id == auth.id:
            vehicle.withdraw_pickup(now, _who(uow.actor), auth.number, why)


def register_authorization(cmd: RegisterAuthorization, uow: GateUnitOfWork, clock: Clock,
                           digester: IdDigester) -> Created:
    """A dealer user registers who collects which of its vehicles, for which contract, when."""
    require_role(uow.actor, Role.DEALER)
    dealer_id = uow.actor.dealer_id
    if dealer_id is None:
        raise InvariantBroken("a dealer principal has no dealer id")
    id_number = ChineseIdNumber(cmd.id_number)
    phone = Phone(cmd.phone)
    now = clock()
    with uow:
        vins = [Vin(v).value for v in cmd.vins]
        vehicles = {v.vin.value: v for v in uow.vehicles.many(vins)}
        for vin in vins:
            vehicle = vehicles.get(vin)
            if vehicle is None or vehicle.dealer_id != dealer_id:
                raise NotFound(f"车辆 {vin} 不存在", code="vehicle.not_found", vin=vin)
        shipped = uow.shipments.planned_with_any(vins)
        if shipped:
            raise Conflict(f"车辆已在待发车的发运单 {shipped[0].shipment_no} 中",
                           code="shipment.vehicle_already_planned")
        for vin, vehicle in vehicles.items():
            if vehicle.contract_no is not None and vehicle.contract_no != cmd.contract_no.strip():
                raise InvalidValue("vins", f"车辆 {vin} 不属于合同 {cmd.contract_no}", code="vehicle.contract_mismatch")
            if vehicle.state is VehicleState.PICKUP_AUTHORIZED and vehicle.pickup_authorization_id is not None:
                earlier = uow.pickup_authorizations.get(vehicle.pickup_authorization_id)
                if earlier is not None and earlier.effective_status(now) is AuthorizationStatus.EXPIRED \
                        and earlier.status is AuthorizationStatus.ACTIVE:
                    earlier.lapse(now)
                    _lapse(uow, earlier, now, "介绍信已过期")
        auth = PickupAuthorization.register(
            number=uow.numbers.formatted("PA", year=beijing_date(now).year), dealer_id=dealer_id, contract_no=cmd.contract_no,
            person_name=cmd.person_name, id_digest=digester.lookup(id_number), id_masked=_masked(id_number),
            phone=phone, vins=vins, valid_from=cmd.valid_from, valid_to=cmd.valid_to, now=now,
            by=_who(uow.actor),
        )
        uow.pickup_authorizations.add(auth)
        uow.flush()
        if auth.id is None:
            raise InvariantBroken("pickup authorization has no id: not flushed")
        for vin in auth.vins:
            vehicles[vin].authorize_pickup(auth.id, dealer_id, now, _who(uow.actor), auth.number)
        result = Created(auth.id, auth.number)
        uow.commit()
    return result


def revoke_authorization(authorization_id: int, reason: str, uow: GateUnitOfWork, clock: Clock) -> str:
    """The dealer withdraws a letter: its live passes are voided, its vehicles go back to stock."""
    require_role(uow.actor, Role.DEALER, Role.ADMIN)
    now = clock()
    with uow:
        auth = _visible_authorization(uow, authorization_id)
        auth.revoke(reason, now)
        _lapse(uow, auth, now, f"介绍信已撤销：{reason.strip()}")
        status = auth.status.value
        uow.commit()
    return status


# ---------------------------------------------------------------------------------------------
# Gate passes


def _visible_pass(uow: GateUnitOfWork, gate_pass_id: int) -> GatePass:
    gate_pass = uow.gate_passes.get(gate_pass_id)
    if gate_pass is None or not admits(uow, gate_pass.dealer_id):
        raise not_found("gate_pass", "出门证")
    return gate_pass


def _pass_vehicles_waiting(uow: GateUnitOfWork, gate_pass: GatePass) -> None:
    for vehicle in uow.vehicles.many(gate_pass.vins):
        if vehicle.state is not VehicleState.PICKUP_AUTHORIZED \
                or vehicle.pickup_authorization_id != gate_pass.authorization_id:
            raise IllegalTransition("vehicle", vehicle.state.value, "release",
                                    f"车辆 {vehicle.vin} 当前状态为“{vehicle.state.label}”，不在本介绍信的待提车辆中",
                                    code="vehicle.not_waiting_for_pickup")


def create_gate_pass(cmd: CreateGatePass, uow: GateUnitOfWork, clock: Clock, digester: IdDigester) -> Created:
    """Dispatch submits the pass once the person's ID matched the letter."""
    require_role(uow.actor, *DISPATCH)
    now = clock()
    with uow:
        result = _issue_pass(uow, cmd, now, digester)
        uow.commit()
    return result


def reissue_gate_pass(gate_pass_id: int, reason: str, cmd: CreateGatePass | None, uow: GateUnitOfWork, clock: Clock,
                      digester: IdDigester) -> Created:
    """Dispatch replaces a live pass (paper lost, wrong person's ID, validity to change): the old
    pass is voided with the reason and a new one for the same letter and vehicles is created, in
    one transaction; the new pass goes to finance approval like any other. ``cmd`` may carry a
    newly checked ID (its ``authorization_id`` and ``vins`` are taken from the old pass)."""
    require_role(uow.actor, *DISPATCH)
    now = clock()
    with uow:
        old = _visible_pass(uow, gate_pass_id)
        old.void(reason, now, _who(uow.actor))
        uow.flush()
        fresh = CreateGatePass(old.authorization_id, cmd.id_number if cmd else None,
                               cmd.id_source if cmd else "desk", tuple(old.vins), cmd.valid_to if cmd else None)
        result = _issue_pass(uow, fresh, now, digester)
        uow.commit()
    return result


def _issue_pass(uow: GateUnitOfWork, cmd: CreateGatePass, now: dt.datetime, digester: IdDigester) -> Created:
    """A new pass inside the caller's open unit of work (flushed, not committed)."""
    if cmd.id_source not in ("card", "desk"):
        raise InvalidValue("id_source", "身份核验来源须为 card 或 desk", code="gate_pass.id_source")
    typed = ChineseIdNumber(cmd.id_number) if cmd.id_number is not None else None
    auth = _visible_authorization(uow, cmd.authorization_id)
    auth.require_usable(now, "create_gate_pass")
    if typed is not None:
        digest, via, checked_at = digester.lookup(typed), cmd.id_source, now
        if auth.matches(digest):
            auth.record_id_check(f"dispatch_{cmd.id_source}", now)
    elif auth.has_recent_id_check(now) and auth.id_checked_at is not None:
        digest, via, checked_at = auth.id_digest, "card", auth.id_checked_at
    else:
        raise BusinessRuleViolation("提车人身份尚未核验：请在自助终端刷身份证，或在发车处读卡/录入身份证号",
                                    code="gate_pass.id_not_verified")
    chosen = [Vin(v).value for v in cmd.vins] if cmd.vins else list(auth.vins)
    busy = {vin for p in uow.gate_passes.live_for_authorization(stored_id(auth.id)) for vin in p.vins}
    if busy & set(chosen):
        raise Conflict(f"车辆已有未完成的出门证：{'、'.join(sorted(busy & set(chosen)))}", code="gate_pass.exists")
    gate_pass = GatePass.for_authorization(
        auth, pass_no=uow.numbers.formatted("GP", year=beijing_date(now).year), vins=chosen, id_digest=digest, id_via=via,
        id_checked_at=checked_at, valid_to=cmd.valid_to, now=now, by=_who(uow.actor),
    )
    _pass_vehicles_waiting(uow, gate_pass)
    uow.gate_passes.add(gate_pass)
    uow.flush()
    if gate_pass.id is None:
        raise InvariantBroken("gate pass has no id: not flushed")
    return Created(gate_pass.id, gate_pass.pass_no)




def approve_gate_pass(gate_pass_id: int, uow: GateUnitOfWork, clock: Clock, signer: GatePassSigner,
                      digester: IdDigester, policy: VehicleReleasePolicy) -> str:
    """Finance approves after the credit rule allowed the release; the pass gets its signed QR."""
    require_role(uow.actor, *FINANCE)
    now = clock()
    with uow:
        gate_pass = _visible_pass(uow, gate_pass_id)
        auth = _visible_authorization(uow, gate_pass.authorization_id)
        auth.require_usable(now, "approve_gate_pass")
        gate_pass.require_action("approve")
        policy.check_release(uow, gate_pass.dealer_id, gate_pass.contract_no, list(gate_pass.vins))
        token = signer.sign(gate_pass_claims(gate_pass, digester))
        gate_pass.approve(now, _who(uow.actor), token, signer.kid)
        if auth.phone.is_mobile:  # the person is told by SMS, in the same transaction
            vins = gate_pass.vins
            uow.outbox.enqueue("gate_pass.approved", {
                "pass_no": gate_pass.pass_no,
                "vin": vins[0] if len(vins) == 1 else f"{vins[0]}等{len(vins)}台",
                "valid_until": gate_pass.valid_to.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
            }, auth.phone.value, f"gate_pass.approved:{gate_pass.pass_no}")
        status = gate_pass.status.value
        uow.commit()
    return status


def reject_gate_pass(gate_pass_id: int, reason: str, uow: GateUnitOfWork, clock: Clock) -> str:
    require_role(uow.actor, *FINANCE)
    now = clock()
    with uow:
        gate_pass = _visible_pass(uow, gate_pass_id)
        gate_pass.reject(reason, now, _who(uow.actor))
        status = gate_pass.status.value
        uow.commit()
    return status


def hand_over_gate_pass(gate_pass_id: int, uow: GateUnitOfWork, clock: Clock, policy: VehicleReleasePolicy) -> str:
    """Dispatch hands the vehicles to the person; the credit rule is checked once more here,
    the last online step before the gate."""
    require_role(uow.actor, *DISPATCH)
    now = clock()
    with uow:
        gate_pass = _visible_pass(uow, gate_pass_id)
        auth = _visible_authorization(uow, gate_pass.authorization_id)
        auth.require_usable(now, "hand_over")
        gate_pass.require_action("hand_over")
        _pass_vehicles_waiting(uow, gate_pass)
        policy.check_release(uow, gate_pass.dealer_id, gate_pass.contract_no, list(gate_pass.vins))
        gate_pass.hand_over(now, _who(uow.actor))
        status = gate_pass.status.value
        uow.commit()
    return status


def void_gate_pass(gate_pass_id: int, reason: str, uow: GateUnitOfWork, clock: Clock) -> str:
    require_role(uow.actor, *DISPATCH)
    now = clock()
    with uow:
        gate_pass = _visible_pass(uow, gate_pass_id)
        gate_pass.void(reason, now, _who(uow.actor))
        status = gate_pass.status.value
        uow.commit()
    return status


def _record_exit(uow: GateUnitOfWork, gate_pass: GatePass, at: dt.datetime, now: dt.datetime, source: str,
                 event_id: str | None, guard: User | None = None, guard_badge: str | None = None) -> dict[str, Any]:
    """The one exit: pass → exited, vehicles → released, the letter completed when nothing is left.
    ``gate_exits`` has a unique pass id, so even a lost lock cannot record two."""
    by = _who(uow.actor)
    gate_pass.exit(at, by)
    auth = uow.pickup_authorizations.get(gate_pass.authorization_id)
    if auth is None:
        raise InvariantBroken(f"pickup authorization {gate_pass.authorization_id} of a gate pass is missing")
    vehicles = uow.vehicles.many(auth.vins)
    for vehicle in vehicles:
        if vehicle.vin.value in gate_pass.vins:
            if vehicle.state is not VehicleState.PICKUP_AUTHORIZED \
                    or vehicle.pickup_authorization_id != gate_pass.authorization_id:
                raise IllegalTransition("vehicle", vehicle.state.value, "release",
                                        f"车辆 {vehicle.vin} 当前状态为“{vehicle.state.label}”，不能放行",
                                        code="vehicle.not_waiting_for_pickup")
            vehicle.release(at, by, gate_pass.pass_no)
    waiting = [v for v in vehicles
               if v.state is VehicleState.PICKUP_AUTHORIZED and v.pickup_authorization_id == auth.id]
    if not waiting and auth.status is AuthorizationStatus.ACTIVE:
        auth.complete(at)
    uow.gate_exits.add(GateExit(gate_pass_id=stored_id(gate_pass.id), pass_no=gate_pass.pass_no,
                                vins=list(gate_pass.vins), exited_at=at, recorded_at=now, source=source,
                                actor=by, client_event_id=event_id,
                                guard_user_id=guard.id if guard is not None else None, guard_badge=guard_badge))
    uow.flush()
    return {
        "pass_no": gate_pass.pass_no,
        "status": gate_pass.status.value,
        "exited_at": at.isoformat(),
        "recorded_at": now.isoformat(),
        "vins": list(gate_pass.vins),
        "released": len(gate_pass.vins),
        "source": source,
        "guard": None if guard is None else {"user_id": guard.id, "name": guard.display_name},
        "holder": masked_holder(gate_pass.person_name),
    }


def _desk_guard(uow: GateUnitOfWork) -> User | None:
    """At the desk the guard is the signed-in user confirming the exit."""
    return uow.users.get(uow.actor.user_id) if uow.actor.user_id is not None else None


def confirm_exit_at_desk(gate_pass_id: int, uow: GateUnitOfWork, clock: Clock) -> dict[str, Any]:
    """The guard confirms the exit in the system (no scan)."""
    require_role(uow.actor, *GUARD)
    now = clock()
    with uow:
        gate_pass = _visible_pass(uow, gate_pass_id)
        answer = _record_exit(uow, gate_pass, now, now, "desk", None, _desk_guard(uow))
        uow.commit()
    return answer


# ---------------------------------------------------------------------------------------------
# Scanned QR codes


def _claims(token: str, verifier: PassVerifier, at: dt.datetime) -> dict[str, Any]:
    """Verified claims, or a refusal with the reason (forged / malformed → 422 on the field;
    expired / not yet valid → 409)."""
    try:
        claims = verifier.verify(token, at)
    except (PassForged, PassMalformed) as err:
        raise InvalidValue("qr_payload", err.message, code=err.code) from None
    except (PassExpired, PassNotYetValid) as err:
        raise GatePassRefused(err.message, code=err.code, **err.details) from None
    except PassTokenError as err:
        raise InvalidValue("qr_payload", err.message, code=err.code) from None
    if claims.get("typ") != "gate_pass" or not isinstance(claims.get("pass_no"), str):
        raise InvalidValue("qr_payload", "二维码不是出门证", code="gate_pass.malformed")
    return claims


def _scanned_pass(uow: GateUnitOfWork, token: str, claims: dict[str, Any]) -> GatePass:
    gate_pass = uow.gate_passes.by_pass_no(claims["pass_no"])
    if gate_pass is None:
        raise NotFound("出门证不存在", code="gate_pass.not_found")
    if gate_pass.qr_payload != token.strip():
        raise GatePassRefused(f"出门证 {gate_pass.pass_no} 的二维码已失效（已重新签发或已作废）",
                              code="gate_pass.superseded", pass_no=gate_pass.pass_no)
    return gate_pass


def _pass_view(gate_pass: GatePass) -> dict[str, Any]:
    return {
        "pass_no": gate_pass.pass_no,
        "status": gate_pass.status.value,
        "status_label": gate_pass.status.label,
        "person_name": gate_pass.person_name,
        "vins": list(gate_pass.vins),
        "valid_from": gate_pass.valid_from.isoformat(),
        "valid_to": gate_pass.valid_to.isoformat(),
        "exited_at": gate_pass.exited_at.isoformat() if gate_pass.exited_at else None,
    }


def verify_scan(token: str, uow: GateUnitOfWork, verifier: PassVerifier, at: dt.datetime) -> dict[str, Any]:
    """May this scanned QR let vehicles out at ``at``? Always an answer, never a refusal error:
    ``valid`` with ``code`` "ok", or not valid with the reason's code and message."""
    empty: dict[str, Any] = {"pass_no": None, "status": None, "status_label": None, "person_name": None, "vins": [],
             "valid_from": None, "valid_to": None, "exited_at": None}
    try:
        claims = _claims(token, verifier, at)
    except (InvalidValue, GatePassRefused) as err:
        return {"valid": False, "code": err.code, "message": err.message, **empty}
    try:
        gate_pass = _scanned_pass(uow, token, claims)
    except (NotFound, GatePassRefused) as err:
        return {"valid": False, "code": err.code, "message": err.message, **empty}
    refusal = gate_pass.exit_refusal(at)
    if refusal is not None:
        return {"valid": False, "code": refusal.code, "message": refusal.message, **_pass_view(gate_pass)}
    return {"valid": True, "code": "ok", "message": f"出门证 {gate_pass.pass_no} 有效，共 {len(gate_pass.vins)} 台车辆，可以放行",
            **_pass_view(gate_pass)}


def verify_at_desk(token: str, uow: GateUnitOfWork, clock: Clock, verifier: PassVerifier) -> dict[str, Any]:
    require_role(uow.actor, *GUARD, Role.DISPATCH, Role.ADMIN)
    with uow:
        return verify_scan(token, uow, verifier, clock())


def _scan_time(scanned_at: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    if scanned_at is None:
        return now
    if scanned_at.tzinfo is None:
        raise InvalidValue("scanned_at", "扫码时间必须带时区", code="time.naive")
    if scanned_at > now + CLOCK_SKEW or scanned_at < now - OFFLINE_REPLAY_WINDOW:
        raise InvalidValue("scanned_at", "扫码时间不在允许范围内（不晚于当前时间，不早于7天前）",
                           code="gate.scanned_at_out_of_range")
    return scanned_at


# ---------------------------------------------------------------------------------------------
# Kiosk (device credential) — every call answered once per client event id


EVENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{7,63}$")


@attrs.frozen
class ClientKey:
    """How a caller names the key of its client events, for the errors that name it."""

    field: str
    missing_code: str
    missing_message: str
    reused_code: str
    reused_message: str


EVENT_ID = ClientKey("event_id", "client_event.malformed", "事件编号须为8到64位字母、数字或 .-_:（建议使用 UUID）",
                     "client_event.reused", "该事件编号已用于另一请求")
IDEMPOTENCY_KEY = ClientKey("Idempotency-Key", "idempotency.key_required",
                            "须提供 Idempotency-Key 请求头（8–64位字母、数字或 .-_:，建议使用 UUID）",
                            "idempotency.key_reused", "该 Idempotency-Key 已用于另一请求")

_ERROR_TYPES: dict[str, type[DomainError]] = {
    cls.__name__: cls
    for cls in (DomainError, InvalidValue, NotFound, Conflict, IllegalTransition, BusinessRuleViolation,
                PermissionDenied, GatePassRefused, AlreadyExited)
}


def client_key(principal: Principal) -> str:
    return f"device:{principal.device_id}" if principal.device_id is not None else f"user:{principal.user_id}"


def _encode_error(err: DomainError) -> dict[str, Any]:
    cls = next((c for c in type(err).__mro__ if c.__name__ in _ERROR_TYPES), DomainError)
    return {"type": cls.__name__, "code": err.code, "message": err.message,
            "details": json.loads(json.dumps(err.details, default=str))}


def _decode_error(record: dict[str, Any]) -> DomainError:
    cls = _ERROR_TYPES.get(record.get("type", ""), DomainError)
    err = cls.__new__(cls)
    Exception.__init__(err, record["message"])
    err.message = record["message"]
    err.code = record["code"]
    err.details = dict(record.get("details") or {})
    if isinstance(err, InvalidValue):
        err.field = err.details.get("field", "")
    if isinstance(err, IllegalTransition):
        err.current_state = err.details.get("current_state", "")
    return err


def _replay(stored: dict[str, Any], kind: str, fingerprint: str, key: ClientKey = EVENT_ID) -> dict[str, Any]:
    if stored["kind"] != kind or stored["fingerprint"] != fingerprint:
        raise InvalidValue(key.field, key.reused_message, code=key.reused_code)
    if stored["outcome"] == "ok":
        return dict(stored["answer"])
    raise _decode_error(stored["answer"])


PASS_BOOK_GRACE = dt.timedelta(hours=1)  # passes that ended this recently stay in the book


def pass_book(queries: Any, clock: Clock) -> dict[str, Any]:
    """The guard device's offline book: every pass it may still be shown that is voided, exited
    or rejected (refused offline, as the server would), or approved with the digest of the QR it
    carries now (an older QR of a reissued pass is refused offline). Fetched while online."""
    now = clock()
    return {"as_of": now.isoformat(), "passes": [
        {"pass_no": r["pass_no"], "status": GatePassStatus(r["status"]).value,
         "qr_sha256": qr_digest(r["qr_payload"]) if r["qr_payload"] else None,
         "holder": masked_holder(r.get("person_name"))}
        for r in queries.pass_book(now - PASS_BOOK_GRACE)]}


_Ledgered = TypeVar("_Ledgered", bound=ClientEventsUnitOfWork)


def run_client_event(new_uow: Callable[[], _Ledgered], clock: Clock, *, roles: Sequence[Role], event_id: str | None,
                     kind: str, fingerprint: str, work: Callable[[_Ledgered], dict[str, Any]],
                     key: ClientKey = EVENT_ID) -> dict[str, Any]:
    """Run ``work`` once per (client, event id) and give every replay the first answer.

    The answer — or the refusal (a ``DomainError`` other than a transient ``db.*`` one) — is
    stored with the event id; the same id with a different request is a 422. ``work`` runs in
    its own unit of work and must not commit: the ledger row commits with its changes. ``key``
    says how the caller names the id in errors (a kiosk's ``event_id``, an HTTP
    ``Idempotency-Key`` header).
    """
    probe = new_uow()
    require_role(probe.actor, *roles)
    if not isinstance(event_id, str) or not EVENT_ID_RE.match(event_id):
        raise InvalidValue(key.field, key.missing_message, code=key.missing_code)
    client = client_key(probe.actor)
    with probe.snapshot() as reading:  # a replay is answered without queueing behind the writers
        stored = reading.client_events.get(client, event_id)
    if stored is not None:
        return _replay(stored, kind, fingerprint, key)
    try:
        uow = new_uow()
        with uow:
            answer = work(uow)
            again = uow.client_events.get(client, event_id)  # a racing replay may have won meanwhile
            if again is not None:
                return _replay(again, kind, fingerprint, key)
            uow.client_events.add(client, event_id, kind, fingerprint, "ok", answer, clock())
            uow.commit()
        return answer
    except DomainError as err:
        if err.code.startswith("db."):
            first = _stored(new_uow, client, event_id)  # lost the race on the ledger row
        else:
            first = _store_refusal(new_uow, clock, client, event_id, kind, fingerprint, err)
        if first is not None:
            return _replay(first, kind, fingerprint, key)
        raise


def _stored(new_uow: Callable[[], ClientEventsUnitOfWork], client: str, event_id: str) -> dict[str, Any] | None:
    with new_uow().snapshot() as reading:
        return reading.client_events.get(client, event_id)


def _store_refusal(new_uow: Callable[[], ClientEventsUnitOfWork], clock: Clock, client: str, event_id: str, kind: str,
                   fingerprint: str, err: DomainError) -> dict[str, Any] | None:
    """Remember a refusal. None when ours is now the answer; else the answer stored first."""
    try:
        uow = new_uow()
        with uow:
            first = uow.client_events.get(client, event_id)
            if first is not None:
                return first
            uow.client_events.add(client, event_id, kind, fingerprint, "error", _encode_error(err), clock())
            uow.commit()
            return None
    except Conflict:
        return _stored(new_uow, client, event_id)


def _kiosk_pass(gate_pass: GatePass, now: dt.datetime) -> dict[str, Any]:
    refusal = gate_pass.print_refusal(now)
    printable = refusal is None
    return {
        **_pass_view(gate_pass),
        "printable": printable,
        "code": "ok" if refusal is None else refusal.code,
        "message": f"出门证 {gate_pass.pass_no} 可以打印" if refusal is None else refusal.message,
        "print_count": gate_pass.print_count,
        "qr_payload": gate_pass.qr_payload if printable else None,
        "layout": document_to_wire(gate_pass.document()) if printable else None,
    }


def kiosk_find_passes(id_number: str, event_id: str, new_uow: Callable[[], GateUnitOfWork], clock: Clock,
                      digester: IdDigester) -> dict[str, Any]:
    """The card holder's passes (printable ones with QR and layout, others with the reason) and
    letters still waiting for dispatch. Tapping the card counts as the ID check of those letters.
    A number with no letter or pass gets an empty answer and nothing else."""
    parsed = ChineseIdNumber(id_number)
    digest = digester.lookup(parsed)

    def work(uow: GateUnitOfWork) -> dict[str, Any]:
        now = clock()
        passes = uow.gate_passes.for_id(digest, now - RECENT_PASSES)
        out_passes = [_kiosk_pass(p, now) for p in passes]
        waiting = []
        busy = {vin for p in passes if p.status.is_live for vin in p.vins}
        for auth in uow.pickup_authorizations.active_for_id(digest):
            if auth.effective_status(now) is not AuthorizationStatus.ACTIVE or now < auth.valid_from:
                continue
            auth.record_id_check("kiosk", now)
            left = [v for v in auth.vins if v not in busy]
            if left:
                waiting.append({"number": auth.number, "contract_no": auth.contract_no, "vins": left,
                                "valid_to": auth.valid_to.isoformat(),
                                "message": f"介绍信 {auth.number} 身份已核验，请到发车处办理出门证"})
        if any(p["printable"] for p in out_passes):
            message = "请打印您的出门证"
        elif out_passes or waiting:
            message = str(out_passes[0]["message"] if out_passes else waiting[0]["message"])
        else:
            message = "未找到您的出门证或提车介绍信，请联系经销商或发车处"
        return {"passes": out_passes, "authorizations": waiting, "message": message}

    fingerprint = digester.fingerprint("find_passes", {"id": digest})
    return run_client_event(new_uow, clock, roles=(Role.KIOSK,), event_id=event_id, kind="find_passes", fingerprint=fingerprint, work=work)


def kiosk_record_print(pass_no: str, event_id: str, new_uow: Callable[[], GateUnitOfWork], clock: Clock,
                       digester: IdDigester) -> dict[str, Any]:
    """The kiosk printed the pass successfully: count it (reprints counted too)."""

    def work(uow: GateUnitOfWork) -> dict[str, Any]:
        now = clock()
        gate_pass = uow.gate_passes.by_pass_no(pass_no)
        if gate_pass is None:
            raise not_found("gate_pass", "出门证")
        reprint = gate_pass.record_print(now)
        return {"pass_no": gate_pass.pass_no, "print_count": gate_pass.print_count, "reprint": reprint,
                "printed_at": now.isoformat()}

    fingerprint = digester.fingerprint("record_print", {"pass_no": pass_no})
    return run_client_event(new_uow, clock, roles=(Role.KIOSK,), event_id=event_id, kind="record_print", fingerprint=fingerprint, work=work)


def kiosk_verify(token: str, event_id: str, scanned_at: dt.datetime | None, new_uow: Callable[[], GateUnitOfWork],
                 clock: Clock, verifier: PassVerifier, digester: IdDigester) -> dict[str, Any]:
    def work(uow: GateUnitOfWork) -> dict[str, Any]:
        return verify_scan(token, uow, verifier, _scan_time(scanned_at, clock()))

    fingerprint = digester.fingerprint("verify", {"qr": token.strip(), "at": scanned_at})
    return run_client_event(new_uow, clock, roles=(Role.KIOSK,), event_id=event_id, kind="verify", fingerprint=fingerprint, work=work)


def kiosk_confirm_exit(token: str, event_id: str, scanned_at: dt.datetime | None,
                       new_uow: Callable[[], GateUnitOfWork], clock: Clock, verifier: PassVerifier,
                       digester: IdDigester, guard_badge: str | None = None) -> dict[str, Any]:
    """The gate device confirms the exit of a scanned pass — live, or replayed from its offline
    journal with the original scan time (checked against the pass's validity at that time).
    ``guard_badge`` is the digest of the badge of the guard signed in at the device (see
    ``identity.badge_book``): the exit records that guard. A digest that matches no enrolled guard
    (revoked since) is kept as sent; the vehicles have left either way."""

    def work(uow: GateUnitOfWork) -> dict[str, Any]:
        now = clock()
        at = _scan_time(scanned_at, now)
        claims = _claims(token, verifier, at)
        gate_pass = _scanned_pass(uow, token, claims)
        guard = guard_of_badge(guard_badge, uow)
        return {**_record_exit(uow, gate_pass, at, now, "kiosk", event_id, guard, guard_badge),
                "event_id": event_id}

    facts: dict[str, Any] = {"qr": token.strip(), "at": scanned_at}
    if guard_badge is not None:  # an exit sent without a guard keeps the fingerprint it always had
        facts["guard"] = guard_badge
    fingerprint = digester.fingerprint("exit", facts)
    return run_client_event(new_uow, clock, roles=(Role.KIOSK,), event_id=event_id, kind="exit", fingerprint=fingerprint, work=work)


def confirm_exit_idempotent(gate_pass_id: int, event_id: str, new_uow: Callable[[], GateUnitOfWork], clock: Clock,
                            digester: IdDigester) -> dict[str, Any]:
    """The guard's desk confirmation with a client event id (a double click records one exit)."""

    def work(uow: GateUnitOfWork) -> dict[str, Any]:
        now = clock()
        gate_pass = _visible_pass(uow, gate_pass_id)
        return {**_record_exit(uow, gate_pass, now, now, "desk", event_id, _desk_guard(uow)), "event_id": event_id}

    fingerprint = digester.fingerprint("desk_exit", {"gate_pass_id": gate_pass_id})
    return run_client_event(new_uow, clock, roles=GUARD, event_id=event_id, kind="desk_exit", fingerprint=fingerprint, work=work)



def pass_print_layout(gate_pass_id: int, uow: GateUnitOfWork, clock: Clock) -> dict[str, Any]:
    """The slip for printing at the dispatch desk (same layout and QR as the kiosk's)."""
    require_role(uow.actor, *DISPATCH)
    with uow:
        gate_pass = _visible_pass(uow, gate_pass_id)
        refusal = gate_pass.print_refusal(clock())
        if refusal is not None:
            raise refusal
        return {"pass_no": gate_pass.pass_no, "qr_payload": gate_pass.qr_payload,
                "layout": document_to_wire(gate_pass.document())}
