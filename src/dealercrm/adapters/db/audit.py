"""The audit trail: who changed what, when, old → new — in the same transaction as the change.

Installed as a Session ``after_flush`` listener, so no use case can forget it: every insert,
update and delete of an audited entity flushed through a unit of work writes a row to
``audit_log`` on the same connection, and commits or rolls back with it. The actor comes from
``session.info["actor"]`` (set by the unit of work), the request id from the request context.
Secrets are never copied into the trail.

What a row records is what changed: an update its changed fields (old → new; ``updated_at``
only when nothing else changed, the row's own ``at`` being that moment), a delete the
row's last values, a create the short scalar values it was created with — not its documents
(JSON lists and objects such as an order's price estimate) nor long texts, which the created row
itself holds and later updates record as changes. The rows of all flushes of a transaction are
written together, in one statement just before COMMIT (inside a savepoint: at once, so they roll
back with it).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Table, event, insert, inspect
from sqlalchemy.orm import Session

from dealercrm.adapters.db.base import IdType, metadata
from dealercrm.adapters.db.types import UtcDateTime
from dealercrm.context import request_id_var
from dealercrm.domain.aftersales import (
    RepairRecord,
    ServiceRequest,
    ServiceStation,
    SettlementClaim,
    WarrantyPolicy,
    WarrantyRecord,
)
from dealercrm.domain.customers import CustomerVehicle, EndCustomer, ServiceContract
from dealercrm.domain.alerts import Alert
from dealercrm.domain.announcements import Announcement, AnnouncementTarget
from dealercrm.domain.campaigns import Campaign, Lead
from dealercrm.domain.catalog import DealerPriceTier, VehicleTemplate
from dealercrm.domain.channel import Agreement, Contact, Dealer, Qualification
from dealercrm.domain.contracts import Contract
from dealercrm.domain.credit import (
    Commitment,
    CreditAccount,
    CreditChangeRequest,
    Invoice,
    Payment,
)
from dealercrm.domain.dealer_stock import RetailSale, SalePayment, StockLimit
from dealercrm.domain.erp_rejections import ErpRejection
from dealercrm.domain.forecasts import ForecastLine, SalesForecast
from dealercrm.domain.gate import GateExit, GatePass, PickupAuthorization
from dealercrm.domain.identity import DeviceCredential, Principal, User
from dealercrm.domain.key_accounts import BidCase, KeyAccount
from dealercrm.domain.knowledge import Article
from dealercrm.domain.order_changes import OrderChangeRequest
from dealercrm.domain.orders import Order, PriceQuote, SuppliedPart
from dealercrm.domain.shipping import DeliveryReceipt, Shipment
from dealercrm.domain.supplied_parts import PartPhoto, SuppliedItem, SuppliedPartsLedger
from dealercrm.domain.training import Invitation, Participant, Training
from dealercrm.domain.vehicles import Vehicle
from dealercrm.domain.workflow import StandingDelegation, Workflow, WorkflowStep

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor_id", IdType),
    Column("actor_name", String(60), nullable=False),
    Column("actor_role", String(32), nullable=False),
    Column("request_id", String(64)),
    Column("entity", String(40), nullable=False),
    Column("entity_id", IdType, nullable=False),
    Column("root_entity", String(40), nullable=False),
    Column("root_id", IdType, nullable=False),
    Column("action", String(20), nullable=False),
    Column("changes", JSON, nullable=False),
    Index("ix_audit_log_root", "root_entity", "root_id", "id"),
)

_SECRET_FIELDS = {"password_hash", "key_hash", "badge_uid"}

# Every audited entity: its name, and how to find the aggregate root the change belongs to. A
# constant, so the trail does not depend on which mappers ran first.
AUDITED: Mapping[type, tuple[str, Any]] = MappingProxyType({
    # channel and identity
    Dealer: ("dealer", lambda o: ("dealer", o.id)),
    Contact: ("dealer_contact", lambda o: ("dealer", o.dealer_id)),
    Qualification: ("dealer_qualification", lambda o: ("dealer", o.dealer_id)),
    Agreement: ("dealer_agreement", lambda o: ("dealer", o.dealer_id)),
    User: ("user", lambda o: ("user", o.id)),
    DeviceCredential: ("device_credential", lambda o: ("device_credential", o.id)),
    # aftersales
    ServiceStation: ("service_station", lambda o: ("service_station", o.id)),
    WarrantyPolicy: ("warranty_policy", lambda o: ("warranty_policy", o.id)),
    WarrantyRecord: ("warranty", lambda o: ("warranty", o.id)),
    ServiceRequest: ("service_request", lambda o: ("service_request", o.id)),
    RepairRecord: ("repair_record", lambda o: ("service_request", o.request_id)),
    SettlementClaim: ("settlement_claim", lambda o: ("service_station", o.station_id)),
    EndCustomer: ("end_customer", lambda o: ("end_customer", o.id)),
    CustomerVehicle: ("customer_vehicle", lambda o: ("end_customer", o.customer_id)),
    ServiceContract: ("service_contract", lambda o: ("end_customer", o.customer_id)),
    # credit
    CreditAccount: ("credit_account", lambda o: ("credit_account", o.dealer_id)),
    Commitment: ("credit_commitment", lambda o: ("credit_account", o.dealer_id)),
    Invoice: ("credit_invoice", lambda o: ("credit_account", o.dealer_id)),
    Payment: ("credit_payment", lambda o: ("credit_account", o.dealer_id)),
    CreditChangeRequest: ("credit_change_request", lambda o: ("credit_account", o.dealer_id)),
    # engagement
    Alert: ("alert", lambda o: ("alert", o.id)),
    Announcement: ("announcement", lambda o: ("announcement", o.id)),
    AnnouncementTarget: ("announcement_target", lambda o: ("announcement", o.announcement_id)),
    # gate
    Vehicle: ("vehicle", lambda o: ("vehicle", o.id)),
    PickupAuthorization: ("pickup_authorization", lambda o: ("pickup_authorization", o.id)),
    GatePass: ("gate_pass", lambda o: ("gate_pass", o.id)),
    GateExit: ("gate_exit", lambda o: ("gate_pass", o.gate_pass_id)),
    Shipment: ("shipment", lambda o: ("shipment", o.id)),
    DeliveryReceipt: ("delivery_receipt", lambda o: ("shipment", o.shipment_id)),
    # marketing
    Training: ("training", lambda o: ("training", o.id)),
    Invitation: ("training_invitation", lambda o: ("training", o.training_id)),
    Participant: ("training_participant", lambda o: ("training", o.training_id)),
    Article: ("kb_article", lambda o: ("kb_article", o.id)),
    SalesForecast: ("sales_forecast", lambda o: ("dealer", o.dealer_id)),
    ForecastLine: ("sales_forecast_line", lambda o: ("sales_forecast", o.forecast_id)),
    KeyAccount: ("key_account", lambda o: ("key_account", o.id)),
    BidCase: ("bid_case", lambda o: ("key_account", o.key_account_id)),
    Campaign: ("campaign", lambda o: ("campaign", o.id)),
    Lead: ("campaign_lead", lambda o: ("campaign", o.campaign_id)),
    # orderflow
    Contract: ("contract", lambda c: ("order", c.order_id)),
    OrderChangeRequest: ("order_change_request", lambda c: ("order", c.order_id)),
    ErpRejection: ("erp_rejected_event", lambda r: ("erp_rejected_event", r.id)),
    # orders
    VehicleTemplate: ("vehicle_template", lambda o: ("vehicle_template", o.id)),
    DealerPriceTier: ("dealer_price_tier", lambda o: ("dealer", o.dealer_id)),
    Order: ("order", lambda o: ("order", o.id)),
    SuppliedPart: ("order_supplied_part", lambda o: ("order", o.order_id)),
    PriceQuote: ("order_price_quote", lambda o: ("order", o.order_id)),
    # stock
    RetailSale: ("retail_sale", lambda o: ("retail_sale", o.id)),
    SalePayment: ("retail_sale_payment", lambda o: ("retail_sale", o.sale_id)),
    StockLimit: ("dealer_stock_limit", lambda o: ("dealer", o.dealer_id)),
    # supplied_parts
    SuppliedPartsLedger: ("supplied_parts_ledger", lambda o: ("order", o.order_id)),
    # movements are their own history (who, when, what) and are never changed: not audited again
    SuppliedItem: ("supplied_part_item", lambda o: ("supplied_parts_ledger", o.ledger_id)),
    PartPhoto: ("supplied_part_photo", lambda o: ("order", o.order_id)),
    # workflow
    Workflow: ("workflow", lambda w: (w.subject_type, w.subject_id)),
    WorkflowStep: ("workflow_step", lambda s: (s.workflow.subject_type, s.workflow.subject_id)),
    StandingDelegation: ("workflow_delegation", lambda d: ("user", d.from_user_id)),
})


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str, float)):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "value"):
        return _plain(value.value)
    return str(value)


#: A created row's values longer than this (as text) are left to the row itself.
_CREATE_VALUE_MAX = 120

# What the create row of an entity created many times a minute records: what identifies it and
# the state it starts in (the rest is in the row, and every later change is recorded). Others
# record all their short scalar values.
_CREATE_FIELDS: Mapping[type, tuple[str, ...]] = MappingProxyType({
    Order: ("order_no", "dealer_id", "template_id", "template_version", "quantity", "state",
            "price_source"),
    Workflow: ("number", "definition_code", "subject_type", "subject_id", "status"),
    WorkflowStep: ("workflow_id", "key", "assignee_kind", "assignee_value", "status"),
})


def _created(key: str, value: Any) -> Any:
    """What the create row records of ``value``; ``_SKIP`` for documents and long texts."""
    if key in _SECRET_FIELDS:
        return "***"
    plain = _plain(value)
    if isinstance(plain, (list, dict)) or (isinstance(plain, str) and len(plain) > _CREATE_VALUE_MAX):
        return _SKIP
    return plain


_SKIP = object()

#: When an update happened: the audit row's own ``at`` says it, so an update row records this
#: column only when nothing else changed (a row that just marks a moment keeps its trail).
_TOUCHED_AT = "updated_at"


def _changes(state: Any, action: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if action == "create":  # the values set: straight from the instance's dict, no history
        values = state.dict
        for key in _CREATE_FIELDS.get(state.class_) or _column_keys(state.mapper):
            value = values.get(key)
            if value is not None and key != "id":
                recorded = _created(key, value)
                if recorded is not _SKIP:
                    out[key] = recorded
        return out
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in ("version",):
            continue
        hist = state.attrs[key].history
        if action == "delete":
            value = hist.unchanged[0] if hist.unchanged else (hist.deleted[0] if hist.deleted else None)
            out[key] = "***" if key in _SECRET_FIELDS else _plain(value)
        elif hist.has_changes():
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if _plain(old) == _plain(new):
                continue
            out[key] = {"old": "***", "new": "***"} if key in _SECRET_FIELDS else {"old": _plain(old), "new": _plain(new)}
    if action == "update" and len(out) > 1:
        out.pop(_TOUCHED_AT, None)
    return out


@functools.lru_cache(maxsize=256)
def _column_keys(mapper: Any) -> tuple[str, ...]:
    return tuple(a.key for a in mapper.column_attrs if a.key != "version")


def _after_flush(session: Session, _flush_context: Any) -> None:
    actor: Principal | None = session.info.get("actor")
    if actor is None:
        return
    now = session.info.get("clock", lambda: dt.datetime.now(dt.UTC))()
    rows: list[dict[str, Any]] = []
    for action, objects in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            spec = AUDITED.get(type(obj))
            if spec is None:
                continue
            if action == "update" and not session.is_modified(obj, include_collections=False):
                continue
            state = inspect(obj)
            changes = _changes(state, action)
            if action == "update" and not changes:
                continue
            rows.append(_row(actor, now, obj, state, spec, action, changes))
    _write(session, rows)


def record_created(session: Session, objects: Sequence[Any]) -> None:
    """The create rows of ``objects`` inserted without a flush (``adapters.db.new_rows``), exactly
    as a flush that inserted them would record them, before they join the session."""
    actor: Principal | None = session.info.get("actor")
    if actor is None:
        return
    now = session.info.get("clock", lambda: dt.datetime.now(dt.UTC))()
    rows = []
    for obj in objects:
        spec = AUDITED.get(type(obj))
        if spec is not None:
            state = inspect(obj)
            rows.append(_row(actor, now, obj, state, spec, "create", _changes(state, "create")))
    _write(session, rows)


def _row(actor: Principal, now: dt.datetime, obj: Any, state: Any, spec: tuple[str, Any], action: str,
         changes: dict[str, Any]) -> dict[str, Any]:
    entity, root = spec
    root_entity, root_id = root(obj)
    return {
        "at": now,
        "actor_id": actor.user_id,
        "actor_name": actor.username,
        "actor_role": actor.role.value,
        "request_id": request_id_var.get(),
        "entity": entity,
        # a row just inserted has its key on the object but no identity yet (that comes after the flush)
        "entity_id": (state.identity or state.mapper.primary_key_from_instance(obj))[0] or 0,
        "root_entity": root_entity,
        "root_id": root_id or 0,
        "action": action,
        "changes": changes,
    }


def _write(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if session.in_nested_transaction():
        session.connection().execute(_INSERT, rows)
    else:
        session.info.setdefault(_PENDING, []).extend(rows)


_PENDING = "dealercrm.audit_pending"
_INSERT = insert(audit_log)  # built once: a statement built per call costs its construction and cache key


def _before_commit(session: Session) -> None:
    if session.info.get("actor") is None:
        return
    session.flush()  # the last changes' rows join the pending ones
    rows = session.info.pop(_PENDING, None)
    if rows:
        session.connection().execute(_INSERT, rows)


def _forget(session: Session, _previous_transaction: Any = None) -> None:
    if not session.in_transaction():
        session.info.pop(_PENDING, None)


def install() -> None:
    for name, listener in (("after_flush", _after_flush), ("before_commit", _before_commit),
                           ("after_soft_rollback", _forget)):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
