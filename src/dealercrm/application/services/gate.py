"""Vehicles by VIN, pickup authorizations (介绍信), gate passes (出门证), outbound shipping with
the dealer's receipt (回执), and the kiosk API — with their dependencies bound. Writes check the
caller's role in ``application.gate`` / ``shipping`` / ``vehicles``; reads are filtered by the
caller's dealer scope in the query, and what it does not admit answers 404."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs

from dealercrm.application import gate, shipping, vehicles
from dealercrm.application.access import dealer_scope, not_found
from dealercrm.application.ports.credit_gate import VehicleReleasePolicy
from dealercrm.application.ports.documents import PrintRenderer
from dealercrm.application.ports.gate import GateUnitOfWork
from dealercrm.application.ports.gate_queries import GateQueries
from dealercrm.application.ports.persistence import Clock
from dealercrm.application.ports.reads import ReadModelUnavailable
from dealercrm.application.ports.signing import GateKeys
from dealercrm.domain.identity import Principal
from dealercrm.domain.printing import document_from_wire


@attrs.define
class GateService:
    """Vehicles by VIN, pickup authorizations (介绍信), gate passes (出门证), outbound shipping (外送) with
    the dealer's receipt (回执), and the kiosk API. Writes check the caller's role; reads are filtered
    by the caller's dealer scope and what it does not admit is 404."""
    _uow: Callable[[Principal], GateUnitOfWork]
    _clock: Clock
    _queries: GateQueries | None
    _keys: GateKeys
    _release_policy: VehicleReleasePolicy
    _renderer: PrintRenderer
    _portal_url: str

    @property
    def queries(self) -> GateQueries:
        """The gate read port; ``ReadModelUnavailable`` when the container was built without one."""
        if self._queries is None:
            raise ReadModelUnavailable("车辆与出门证")
        return self._queries

    def now(self) -> dt.datetime:
        """The service's clock (a form's default validity starts now)."""
        return self._clock()

    def _new(self, actor: Principal) -> Callable[[], GateUnitOfWork]:
        return lambda: self._uow(actor)

    @property
    def _digester(self) -> gate.IdDigester:
        return gate.IdDigester(self._keys.id_key)

    # vehicles
    def stock_in(self, actor: Principal, cmd: vehicles.StockIn) -> vehicles.StockInResult:
        """Put a vehicle into factory stock by hand (已入库待提; the ERP feed is the normal path), idempotent
        per VIN; admin, production or dispatch. Returns ``StockInResult``; ``InvalidValue`` (VIN), ``Conflict``, ``PermissionDenied``."""
        return vehicles.stock_in(cmd, self._uow(actor), self._clock)

    def list_vehicles(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        """Vehicles within the caller's dealer scope, filtered (state, VIN, order …); rows for lists."""
        return self.queries.list_vehicles(dealer_scope(actor), **filters)

    def vehicle(self, actor: Principal, vin: str) -> dict[str, Any]:
        """One vehicle by VIN with its history, within the caller's scope; ``NotFound`` otherwise."""
        row = self.queries.vehicle_detail(dealer_scope(actor), vin.strip().upper())
        if row is None:
            raise not_found("vehicle", "车辆")
        return row

    # pickup authorizations (介绍信)
    def register_authorization(self, actor: Principal, cmd: gate.RegisterAuthorization) -> gate.Created:
        """A dealer registers an authorization letter (介绍信): who collects which of its vehicles, for which
        contract, when; dealers only. Returns ``Created``; ``InvalidValue`` (ID number, window, vehicles),
        ``IllegalTransition`` / ``Conflict`` (vehicle not collectable), ``PermissionDenied``, ``NotFound``."""
        return gate.register_authorization(cmd, self._uow(actor), self._clock, self._digester)

    def revoke_authorization(self, actor: Principal, authorization_id: int, reason: str) -> str:
        """Withdraw a letter with a reason: its live passes are voided, its vehicles go back to stock. The
        dealer or admin; returns the letter's status. ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return gate.revoke_authorization(authorization_id, reason, self._uow(actor), self._clock)

    def list_authorizations(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        """Authorization letters within the caller's dealer scope, filtered."""
        return self.queries.list_authorizations(dealer_scope(actor), **filters)

    def authorization(self, actor: Principal, authorization_id: int) -> dict[str, Any]:
        """One authorization letter within the caller's scope; ``NotFound`` otherwise."""
        row = self.queries.authorization_detail(dealer_scope(actor), authorization_id)
        if row is None:
            raise not_found("pickup_authorization", "介绍信")
        return row

    # gate passes (出门证)
    def create_pass(self, actor: Principal, cmd: gate.CreateGatePass) -> gate.Created:
        """Dispatch issues a gate pass (出门证) once the person's ID matched the letter; dispatch or admin.
        Returns ``Created``; ``InvalidValue``, ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return gate.create_gate_pass(cmd, self._uow(actor), self._clock, self._digester)

    def approve_pass(self, actor: Principal, gate_pass_id: int) -> str:
        """Finance approves a pass after the credit rule allowed the release; the pass gets its signed QR.
        Finance only; returns the pass status. ``BusinessRuleViolation`` (credit), ``IllegalTransition``,
        ``PermissionDenied``, ``NotFound``."""
        return gate.approve_gate_pass(gate_pass_id, self._uow(actor), self._clock, self._keys.signer,
                                      self._digester, self._release_policy)

    def reject_pass(self, actor: Principal, gate_pass_id: int, reason: str) -> str:
        """Finance refuses a pass with a reason; finance only. Returns the pass status;
        ``InvalidValue``, ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return gate.reject_gate_pass(gate_pass_id, reason, self._uow(actor), self._clock)

    def hand_over(self, actor: Principal, gate_pass_id: int) -> str:
        """Dispatch hands the vehicles over to the person (交车), the credit rule asked once more; dispatch or
        admin. Returns the pass status; ``BusinessRuleViolation``, ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return gate.hand_over_gate_pass(gate_pass_id, self._uow(actor), self._clock, self._release_policy)

    def reissue_pass(self, actor: Principal, gate_pass_id: int, reason: str,
                     cmd: gate.CreateGatePass | None = None) -> gate.Created:
        """Replace a live pass (补办: paper lost, wrong ID, new validity): the old one is voided and a new one
        made, optionally with new terms; dispatch or admin. Returns ``Created``; ``InvalidValue``,
        ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return gate.reissue_gate_pass(gate_pass_id, reason, cmd, self._uow(actor), self._clock, self._digester)

    def void_pass(self, actor: Principal, gate_pass_id: int, reason: str) -> str:
        """Void a pass (作废) with a reason; dispatch or admin. Returns the pass status;
        ``InvalidValue``, ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return gate.void_gate_pass(gate_pass_id, reason, self._uow(actor), self._clock)

    def confirm_exit(self, actor: Principal, gate_pass_id: int, event_id: str | None = None) -> dict[str, Any]:
        """The guard confirms a pass's exit at the desk (出厂确认), once per ``event_id`` when one is given;
        guards only. Returns the exit answer; ``IllegalTransition`` (pass not live), ``PermissionDenied``, ``NotFound``."""
        if event_id is None:
            return gate.confirm_exit_at_desk(gate_pass_id, self._uow(actor), self._clock)
        return gate.confirm_exit_idempotent(gate_pass_id, event_id, self._new(actor), self._clock, self._digester)

    def verify(self, actor: Principal, qr_payload: str) -> dict[str, Any]:
        """Check a scanned QR at the desk: may it let vehicles out now? Guard, dispatch or admin. Returns the
        verified claims or the refusal reason; ``InvalidValue`` (forged or malformed), ``PermissionDenied``."""
        return gate.verify_at_desk(qr_payload, self._uow(actor), self._clock, self._keys.verifier)

    def print_layout(self, actor: Principal, gate_pass_id: int) -> dict[str, Any]:
        """The pass slip for printing at the dispatch desk (same layout and QR as the kiosk's); dispatch or
        admin. ``IllegalTransition`` (not printable), ``PermissionDenied``, ``NotFound``."""
        return gate.pass_print_layout(gate_pass_id, self._uow(actor), self._clock)

    def list_passes(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        """Gate passes within the caller's dealer scope, filtered."""
        return self.queries.list_passes(dealer_scope(actor), **filters)

    def gate_pass(self, actor: Principal, gate_pass_id: int) -> dict[str, Any]:
        """One gate pass within the caller's scope; ``NotFound`` otherwise."""
        row = self.queries.pass_detail(dealer_scope(actor), gate_pass_id)
        if row is None:
            raise not_found("gate_pass", "出门证")
        return row

    # outbound shipping (外送) and the dealer's receipt (回执)
    def create_shipment(self, actor: Principal, cmd: shipping.CreateShipment) -> gate.Created:
        """Dispatch registers an outbound shipment (发运单): carrier, driver, truck and one dealer's vehicles
        in stock; dispatch or admin. Returns ``Created``; ``InvalidValue``, ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return shipping.create_shipment(cmd, self._uow(actor), self._clock, self._digester)

    def depart_shipment(self, actor: Principal, shipment_id: int) -> str:
        """The truck leaves: the credit rule is asked and the vehicles go in transit; dispatch or admin.
        Returns the shipment status; ``BusinessRuleViolation``, ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return shipping.depart_shipment(shipment_id, self._uow(actor), self._clock, self._release_policy)

    def cancel_shipment(self, actor: Principal, shipment_id: int, reason: str) -> str:
        """Cancel a shipment with a reason, its vehicles back in stock; dispatch or admin. Returns the status;
        ``InvalidValue``, ``IllegalTransition``, ``PermissionDenied``, ``NotFound``."""
        return shipping.cancel_shipment(shipment_id, reason, self._uow(actor), self._clock)

    def submit_receipt(self, actor: Principal, shipment_id: int, cmd: shipping.SubmitReceipt) -> gate.Created:
        """The dealer confirms each shipped vehicle (收货回执); its stock follows and discrepancies alarm sales
        and dispatch. Dealers only; returns ``Created``. ``InvalidValue``, ``IllegalTransition`` / ``Conflict``
        (already receipted), ``PermissionDenied``, ``NotFound``."""
        return shipping.submit_receipt(shipment_id, cmd, self._uow(actor), self._clock, self._portal_url)

    def submit_pickup_receipt(self, actor: Principal, gate_pass_id: int, cmd: shipping.SubmitReceipt) -> gate.Created:
        """自提回执: the dealer's confirmation of vehicles its driver took out of the gate."""
        return shipping.submit_pickup_receipt(gate_pass_id, cmd, self._uow(actor), self._clock, self._portal_url)

    def remind_missing_receipts(self, actor: Principal, grace_days: int = 3) -> list[str]:
        """Remind dealers whose receipt is ``grace_days`` past the expected arrival, once per shipment;
        dispatch or admin. Returns the shipment numbers reminded; ``PermissionDenied``."""
        return shipping.remind_missing_receipts(self._uow(actor), self._clock, self._portal_url,
                                                dt.timedelta(days=grace_days))

    def receipt_layout(self, actor: Principal, shipment_id: int) -> dict[str, Any]:
        """The paper receipt of a shipment for the driver, as a print layout; whoever sees the shipment.
        ``NotFound`` (shipment not visible, or no receipt yet)."""
        return shipping.receipt_print_layout(shipment_id, self._uow(actor))

    def receipt_pdf(self, actor: Principal, shipment_id: int) -> tuple[str, bytes]:
        """The shipment's receipt as a PDF: (receipt number, bytes); as ``receipt_layout``."""
        slip = self.receipt_layout(actor, shipment_id)
        pdf = self._renderer.render(document_from_wire(slip["layout"]), f"收货回执单 {slip['receipt_no']}")
        return slip["receipt_no"], pdf

    def list_shipments(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        """Shipments within the caller's dealer scope, filtered."""
        return self.queries.list_shipments(dealer_scope(actor), **filters)

    def list_receipts(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        """Dealer receipts within the caller's dealer scope, filtered."""
        return self.queries.list_receipts(dealer_scope(actor), **filters)

    def list_pickup_receipts(self, actor: Principal, **filters: Any) -> list[dict[str, Any]]:
        """Dealers' pickup receipts (自提回执) within the caller's dealer scope, newest first."""
        return self.queries.list_pickup_receipts(dealer_scope(actor), **filters)

    def shipment(self, actor: Principal, shipment_id: int) -> dict[str, Any]:
        """One shipment within the caller's scope; ``NotFound`` otherwise."""
        row = self.queries.shipment_detail(dealer_scope(actor), shipment_id)
        if row is None:
            raise not_found("shipment", "发运单")
        return row

    # kiosk (device credential); each call idempotent by the device's event id
    def verification_keys(self) -> list[dict[str, Any]]:
        """The public keys (key id and key) gate devices verify pass signatures with; public data."""
        return [dict(k) for k in self._keys.public_keys]

    def pass_book(self) -> dict[str, Any]:
        """The guard device's offline pass book: passes it may still be shown that are voided, exited or
        rejected, and approved ones with the digest of their current QR. The kiosk API checks the device."""
        return gate.pass_book(self.queries, self._clock)

    def kiosk_find(self, actor: Principal, id_number: str, event_id: str) -> dict[str, Any]:
        """The kiosk looks up the ID card holder's passes (printable ones with QR and layout, others with the
        reason), once per ``event_id``; kiosk devices only. ``InvalidValue`` (ID number, replayed event
        with other content), ``PermissionDenied``."""
        return gate.kiosk_find_passes(id_number, event_id, self._new(actor), self._clock, self._digester)

    def kiosk_print(self, actor: Principal, pass_no: str, event_id: str) -> dict[str, Any]:
        """The kiosk reports a pass printed (reprints counted too), once per ``event_id``; kiosk devices only.
        ``PermissionDenied``, ``NotFound``."""
        return gate.kiosk_record_print(pass_no, event_id, self._new(actor), self._clock, self._digester)

    def kiosk_verify(self, actor: Principal, qr_payload: str, event_id: str,
                     scanned_at: dt.datetime | None = None) -> dict[str, Any]:
        """A gate device checks a scanned QR (always an answer: let out, or the reason), once per
        ``event_id``; kiosk devices only. ``PermissionDenied``, ``InvalidValue`` (replayed event with other content)."""
        return gate.kiosk_verify(qr_payload, event_id, scanned_at, self._new(actor), self._clock,
                                 self._keys.verifier, self._digester)

    def kiosk_exit(self, actor: Principal, qr_payload: str, event_id: str,
                   scanned_at: dt.datetime | None = None, guard_badge: str | None = None) -> dict[str, Any]:
        """A gate device confirms the exit of a scanned pass, live or replayed from its offline journal, with
        the guard's badge; once per ``event_id``; kiosk devices only. ``PermissionDenied``, ``InvalidValue``."""
        return gate.kiosk_confirm_exit(qr_payload, event_id, scanned_at, self._new(actor), self._clock,
                                       self._keys.verifier, self._digester, guard_badge)
