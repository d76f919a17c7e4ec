"""RELIABILITY.md invariant 2 and issue 17 §6, generated from the route table, on both engines: every API route
that takes the id of something a dealer (or a service station) owns is called by a user of
another dealer (station) with a real id of someone else's record, on the demo data. The answer is
404 — or 403 where the caller's role may not use the route at all — never the record, never a
state-revealing 409, never one of the owner's names in an error; and nothing changes.

``SOURCES`` says where each path parameter's ids come from. A route with a parameter it does not
know fails the test, so a new route is either probed or consciously listed as not owned."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.routes import HTTPRoute
from litestar.testing import TestClient
from sqlalchemy import inspect, select, text

import dealercrm
from dealercrm.config import load_settings
from dealercrm.domain.identity import Role
from dealercrm.entrypoints.demo import DEMO_PASSWORD, load_demo
from dealercrm.entrypoints.http.app import create_app
from tests.conftest import _pg_database

pytestmark = pytest.mark.slow

# (parameter, path pattern or "", SQL giving a row of someone else's: :me is the caller's dealer
# or station id). A row may fill several parameters of one path (a contact with its dealer).
DEALER_SOURCES: tuple[tuple[str, str, str], ...] = (
    ("order_id", r"/supplied-parts/\{line_no\}",
     "SELECT o.id AS order_id, p.line_no FROM order_supplied_parts p JOIN orders o ON o.id = p.order_id "
     "WHERE o.dealer_id != :me"),
    ("line_no", "", "SELECT o.id AS order_id, p.line_no FROM order_supplied_parts p "
                    "JOIN orders o ON o.id = p.order_id WHERE o.dealer_id != :me"),
    ("order_id", "", "SELECT id AS order_id FROM orders WHERE dealer_id != :me"),
    ("contact_id", "", "SELECT id AS contact_id, dealer_id FROM dealer_contacts WHERE dealer_id != :me"),
    ("agreement_id", "", "SELECT id AS agreement_id, dealer_id FROM dealer_agreements WHERE dealer_id != :me"),
    ("dealer_id", "", "SELECT id AS dealer_id FROM dealers WHERE id != :me"),
    ("gate_pass_id", "", "SELECT id AS gate_pass_id FROM gate_passes WHERE dealer_id != :me"),
    ("shipment_id", "", "SELECT id AS shipment_id FROM shipments WHERE dealer_id != :me"),
    ("authorization_id", "", "SELECT id AS authorization_id FROM pickup_authorizations WHERE dealer_id != :me"),
    ("invoice_id", "", "SELECT id AS invoice_id FROM credit_invoices WHERE dealer_id != :me"),
    ("payment_id", "", "SELECT id AS payment_id FROM credit_payments WHERE dealer_id != :me"),
    ("contract_no", "", "SELECT contract_no FROM credit_commitments WHERE dealer_id != :me"),
    ("request_id", r"^/api/v1/credit/",
     "SELECT id AS request_id FROM credit_change_requests WHERE dealer_id != :me"),
    ("request_id", r"^/api/v1/aftersales/",
     "SELECT id AS request_id FROM service_requests WHERE dealer_id != :me"),
    ("workflow_id", "", "SELECT id AS workflow_id FROM workflows WHERE dealer_id != :me"),
    ("step_id", "", "SELECT s.id AS step_id FROM workflow_steps s JOIN workflows w ON w.id = s.workflow_id "
                    "WHERE w.dealer_id != :me"),
    ("account_id", "", "SELECT id AS account_id FROM key_accounts WHERE dealer_id != :me"),
    ("lead_id", "", "SELECT id AS lead_id FROM campaign_leads WHERE dealer_id != :me"),
    ("sale_id", "", "SELECT id AS sale_id FROM retail_sales WHERE dealer_id != :me"),
    ("vin", "", "SELECT vin FROM vehicles WHERE dealer_id != :me"),
    ("media_id", "", "SELECT m.id AS media_id FROM service_media m JOIN service_repair_records r ON r.id = m.owner_id "
                     "JOIN service_requests q ON q.id = r.request_id "
                     "WHERE m.owner_type = 'repair_record' AND q.dealer_id != :me"),
    ("owner_id", "", "SELECT r.id AS owner_id FROM service_repair_records r "
                     "JOIN service_requests q ON q.id = r.request_id WHERE q.dealer_id != :me"),
    ("plan_id", "", "SELECT id AS plan_id FROM service_maintenance_plans WHERE dealer_id IS NOT NULL "
                    "AND dealer_id != :me"),
    ("conversation_id", "", "SELECT c.id AS conversation_id FROM conversations c JOIN orders o ON o.id = c.record_id "
                            "WHERE c.record_kind = 'order' AND o.dealer_id != :me"),
    ("message_id", "", "SELECT m.id AS message_id FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                       "JOIN orders o ON o.id = c.record_id WHERE c.record_kind = 'order' AND o.dealer_id != :me"),
    ("attachment_id", "", "SELECT a.id AS attachment_id FROM message_attachments a JOIN messages m ON m.id = a.message_id "
                          "JOIN conversations c ON c.id = m.conversation_id JOIN orders o ON o.id = c.record_id "
                          "WHERE c.record_kind = 'order' AND o.dealer_id != :me"),
    ("customer_id", "", "SELECT id AS customer_id FROM end_customers WHERE dealer_id IS NULL OR dealer_id != :me"),
    ("contract_id", r"^/api/v1/service-contracts/",
     "SELECT k.id AS contract_id FROM service_contracts k JOIN end_customers c ON c.id = k.customer_id "
     "WHERE c.dealer_id IS NULL OR c.dealer_id != :me"),
)
STATION_SOURCES: tuple[tuple[str, str, str], ...] = (
    ("station_id", "", "SELECT id AS station_id FROM service_stations WHERE id != :me"),
    ("request_id", r"^/api/v1/aftersales/",
     "SELECT id AS request_id FROM service_requests WHERE station_id IS NOT NULL AND station_id != :me"),
    ("record_id", "", "SELECT id AS record_id FROM service_repair_records WHERE station_id != :me"),
    ("claim_id", "", "SELECT id AS claim_id FROM service_claims WHERE station_id != :me"),
    ("media_id", "", "SELECT m.id AS media_id FROM service_media m JOIN service_repair_records r ON r.id = m.owner_id "
                     "WHERE m.owner_type = 'repair_record' AND r.station_id != :me"),
    ("owner_id", "", "SELECT id AS owner_id FROM service_repair_records WHERE station_id != :me"),
    ("technician_id", "", "SELECT id AS technician_id FROM service_technicians WHERE station_id != :me"),
    ("plan_id", "", "SELECT id AS plan_id FROM service_maintenance_plans WHERE station_id IS NOT NULL "
                    "AND station_id != :me"),
    ("conversation_id", "", "SELECT id AS conversation_id FROM conversations WHERE record_kind = 'order'"),
    ("message_id", "", "SELECT m.id AS message_id FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                       "WHERE c.record_kind = 'order'"),
    ("attachment_id", "", "SELECT a.id AS attachment_id FROM message_attachments a JOIN messages m ON m.id = a.message_id "
                          "JOIN conversations c ON c.id = m.conversation_id WHERE c.record_kind = 'order'"),
    ("customer_id", "", "SELECT c.id AS customer_id FROM end_customers c WHERE NOT EXISTS (SELECT 1 FROM "
                        "customer_vehicles v JOIN service_requests r ON r.vin = v.vin "
                        "WHERE v.customer_id = c.id AND r.station_id = :me)"),
    ("order_id", r"^/api/v1/parts-supply/", "SELECT id AS order_id FROM parts_orders WHERE station_id != :me"),
    ("bill_id", "", "SELECT id AS bill_id FROM service_repair_bills WHERE station_id != :me"),
    ("transfer_id", "", "SELECT id AS transfer_id FROM parts_transfers WHERE from_station_id != :me "
                        "AND to_station_id != :me"),
    ("contract_id", r"^/api/v1/service-contracts/",
     "SELECT k.id AS contract_id FROM service_contracts k WHERE NOT EXISTS (SELECT 1 FROM customer_vehicles v "
     "JOIN service_requests r ON r.vin = v.vin WHERE v.customer_id = k.customer_id AND r.station_id = :me)"),
)
# Path parameters that name nothing a dealer or a station owns, with the value used when such a
# parameter sits beside an owned one (an action word, a version number).
NOT_OWNED: dict[str, object] = {
    "part_no": "FV-2301", "model_code": "HZ5320GYYE6",  # the parts catalogue: shared by all, edited by staff
    "action": "deactivate", "decision": "approve", "version": 1, "sha256": "0" * 64,
    "owner_type": "repair_record",  # beside owner_id: the repair record's media (probed through owner_id)
    "assignment_id": 1,  # required reading: its routes are the editors' (a dealer sees its own in the list)
    # staff-only or shared by all: catalog, marketing, knowledge, care, announcements, alerts,
    # administration, the ERP's rejections; public tokens (approval links, calendar feeds)
    "template_id": 1, "campaign_id": 1, "training_id": 1, "participant_id": 1, "survey_id": 1,
    "response_id": 1, "follow_up_id": 1, "task_id": 1, "batch_id": 1, "evaluation_id": 1,
    "announcement_id": 1, "article_id": 1, "alert_id": 1, "user_id": 1, "device_id": 1, "delegation_id": 1,
    "rejection_id": 1, "notification_id": 1, "pass_no": "GP-2026-000001", "token": "x", "filename": "x.ics",
    "region_id": 1,  # 大区: read by all staff, kept by the administrators
    "post_id": 1, "answer_id": 1,  # the community (互动社区): public to every dealer and station, moderated by staff
    "year": 2026,  # a year beside an owned id (a dealer's growth plan), or the staff's marketing plan
}
CALLERS = {"dealer": ("dealer01", DEALER_SOURCES), "station": ("station_jn", STATION_SOURCES)}
NO_DEMO_ROWS = {"sale_id"}  # the demo records no retail sale: those routes are not probed


def _source(sources, param: str, path: str) -> str | None:
    return next((sql for p, where, sql in sources if p == param and re.search(where, path)), None)


def _routes(app) -> list[tuple[str, str, Any]]:
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/api/"):
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                found.append((method, route.path_format, handler))
    return found


def _roles(handler) -> frozenset[Role]:
    return frozenset(r for guard in handler.resolve_guards() for r in getattr(guard, "roles", ()))


def _fingerprint(engine) -> dict[str, str]:
    """A digest of every table's rows except the audit trail and the outbox, which nothing here writes."""
    digests = {}
    with engine.connect() as conn:
        for name in sorted(inspect(conn).get_table_names()):
            if name in ("audit_log", "alembic_version"):
                continue
            rows = conn.execute(text(f'SELECT * FROM "{name}"')).all()
            digests[name] = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
    return digests


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def demo_url(request, tmp_path_factory) -> Iterator[str]:
    """One demo database per engine for the whole module (the probes change nothing)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("isolation") / "demo.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        yield from _pg_database(request.getfixturevalue("pg_admin_url"), request.getfixturevalue("_pg_template"))


@pytest.fixture(scope="module")
def demo(demo_url):
    settings = load_settings({}, database_url=demo_url, jwt_secret="i" * 48, log_level="CRITICAL",
                             login_rate_per_minute=100_000, register_rate_per_hour=100_000)
    crm = dealercrm.bootstrap(settings)
    load_demo(crm)
    app = create_app(settings, container=crm)
    with TestClient(app) as client:
        yield crm, app, client
    crm.close()


def test_every_route_parameter_is_a_known_id_source_or_listed_as_not_owned(demo):
    _, app, _ = demo
    unknown = set()

    for _, path, _ in _routes(app):
        for param in re.findall(r"\{(\w+)\}", path):
            if param not in NOT_OWNED and not any(_source(s, param, path) for _, s in CALLERS.values()):
                unknown.add((param, path))

    assert unknown == set()


@pytest.mark.parametrize("kind", sorted(CALLERS))
def test_another_dealers_or_stations_ids_answer_404_on_every_route_and_change_nothing(demo, kind):
    crm, app, client = demo
    username, sources = CALLERS[kind]
    login = client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    with crm.engine.connect() as conn:
        me_row = conn.execute(text("SELECT dealer_id, station_id, role FROM users WHERE username = :u"),
                              {"u": username}).one()
        me = me_row.dealer_id if kind == "dealer" else me_row.station_id
        others = set(conn.execute(select(text("legal_name")).select_from(text("dealers"))
                                  .where(text("id != :me")), {"me": me}).scalars()) if kind == "dealer" else set()
    role = Role(me_row.role)
    before = _fingerprint(crm.engine)
    probed, wrong, unprobed = [], [], []

    for method, path, handler in _routes(app):
        params = re.findall(r"\{(\w+)\}", path)
        owned = [p for p in params if _source(sources, p, path)]
        if not owned:
            continue
        values: dict[str, object] = {}
        with crm.engine.connect() as conn:
            for param in reversed(owned):
                row = conn.execute(text(_source(sources, param, path) + " ORDER BY 1 LIMIT 1"), {"me": me}).first()
                if row is not None:
                    values = {**row._asdict(), **values}
        if any(p not in values for p in owned):
            unprobed.append((method, path))
            continue
        url = path.format(**{p: values.get(p, NOT_OWNED.get(p, 1)) for p in params})
        r = client.request(method, url, headers=headers, **({"json": {}} if method != "GET" else {}))
        probed.append((method, path))
        allowed = {404} | ({403} if role not in _roles(handler) else set())
        body_refused = r.status_code == 422 and method != "GET"  # the body was refused before any lookup
        leaked = [name for name in others if name in r.text]
        if (r.status_code not in allowed and not body_refused) or leaked:
            wrong.append((method, url, r.status_code, r.text[:160]))

    assert wrong == []
    assert _fingerprint(crm.engine) == before
    assert len(probed) > (80 if kind == "dealer" else 15)
    assert all(re.search(r"\{(\w+)\}", path).group(1) in NO_DEMO_ROWS for _, path in unprobed), unprobed
