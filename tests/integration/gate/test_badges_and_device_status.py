"""Staff badges (enrolled by an admin, shipped to the gate devices as keyed digests), the guard
recorded on each exit, and the agents' status reports — over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

from sqlalchemy import select

from dealercrm.adapters.db.audit import audit_log
from dealercrm.adapters.db.gate_tables import gate_exits
from dealercrm.application.gate import CreateGatePass, RegisterAuthorization
from dealercrm.domain.identity import badge_digest

UID = "04A1B2C3D4E5F6"


def _handed_over_token(world, vins: list[str]) -> str:  # type: ignore[no-untyped-def]
    gate, now = world.crm.gate, world.clock()
    auth = gate.register_authorization(world.a, RegisterAuthorization(
        contract_no="HT-2026-000101", vins=tuple(vins), person_name="张伟", id_number=world.PERSON_ID,
        phone="13912345678", valid_from=now, valid_to=now + dt.timedelta(days=2)))
    created = gate.create_pass(world.staff["dispatch"], CreateGatePass(auth.id, id_number=world.PERSON_ID))
    gate.approve_pass(world.staff["finance"], created.id)
    gate.hand_over(world.staff["dispatch"], created.id)
    return gate.kiosk_find(world.device, world.PERSON_ID, str(uuid.uuid4()))["passes"][0]["qr_payload"]


def _device_secret(world) -> str:  # type: ignore[no-untyped-def]
    return hashlib.sha256(world.device_headers["X-Device-Key"].encode()).hexdigest()


def test_an_admin_enrols_a_guard_badge_and_the_device_gets_its_keyed_digest(world):
    c, admin = world.client, world.login("admin")
    guard_id = world.staff["guard"].user_id

    enrolled = c.post(f"/api/v1/admin/users/{guard_id}/badge", headers=admin,
                      json={"badge_uid": "04:a1:b2:c3:d4:e5:f6", "purpose": "guard"})
    book = c.get("/api/v1/kiosk/badges", headers=world.device_headers)

    assert enrolled.status_code == 200, enrolled.text
    assert enrolled.json()["badge"] == "****E5F6" and enrolled.json()["purpose"] == "guard"
    assert book.status_code == 200
    assert book.json()["badges"] == [{"digest": badge_digest(_device_secret(world), UID), "purpose": "guard",
                                      "user_id": guard_id, "name": "guard"}]
    assert UID not in book.text
    users = c.get("/api/v1/admin/users", headers=admin).json()["items"]
    assert next(u for u in users if u["id"] == guard_id)["badge"] == "****E5F6"
    with world.crm.engine.connect() as conn:
        trail = conn.execute(select(audit_log.c.changes).where(audit_log.c.entity == "user",
                                                               audit_log.c.entity_id == guard_id)).all()
    assert any("badge_purpose" in (row.changes or {}) for row in trail)
    assert UID not in str([row.changes for row in trail])


def test_a_badge_held_by_another_user_is_refused_with_the_holder(world):
    c, admin = world.client, world.login("admin")
    c.post(f"/api/v1/admin/users/{world.staff['guard'].user_id}/badge", headers=admin,
           json={"badge_uid": UID, "purpose": "guard"})

    taken = c.post(f"/api/v1/admin/users/{world.staff['dispatch'].user_id}/badge", headers=admin,
                   json={"badge_uid": UID.lower(), "purpose": "maintenance"})

    assert taken.status_code == 409
    assert taken.json()["code"] == "badge.taken"
    assert taken.json()["holder"]["username"] == "guard"


def test_a_user_has_one_badge_and_enrolling_the_same_again_changes_nothing(world):
    c, admin, guard_id = world.client, world.login("admin"), world.staff["guard"].user_id
    first = c.post(f"/api/v1/admin/users/{guard_id}/badge", headers=admin, json={"badge_uid": UID})

    again = c.post(f"/api/v1/admin/users/{guard_id}/badge", headers=admin, json={"badge_uid": UID})
    second = c.post(f"/api/v1/admin/users/{guard_id}/badge", headers=admin, json={"badge_uid": "0A0B0C0D"})

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert second.status_code == 409 and second.json()["code"] == "badge.user_has_badge"


def test_badge_input_is_checked_field_by_field(world):
    c, admin = world.client, world.login("admin")

    unknown_user = c.post("/api/v1/admin/users/999999/badge", headers=admin, json={"badge_uid": UID})
    bad_uid = c.post(f"/api/v1/admin/users/{world.staff['guard'].user_id}/badge", headers=admin,
                     json={"badge_uid": "xyz"})
    not_a_guard = c.post(f"/api/v1/admin/users/{world.staff['dispatch'].user_id}/badge", headers=admin,
                         json={"badge_uid": UID, "purpose": "guard"})
    bad_purpose = c.post(f"/api/v1/admin/users/{world.staff['guard'].user_id}/badge", headers=admin,
                         json={"badge_uid": UID, "purpose": "boss"})
    revoke_none = c.delete(f"/api/v1/admin/users/{world.staff['guard'].user_id}/badge", headers=admin)
    revoke_unknown = c.delete("/api/v1/admin/users/999999/badge", headers=admin)

    assert unknown_user.status_code == 404 and revoke_unknown.status_code == 404
    assert bad_uid.status_code == 422 and bad_uid.json()["field"] == "badge_uid"
    assert not_a_guard.status_code == 422 and not_a_guard.json()["code"] == "badge.guard_role_required"
    assert bad_purpose.status_code == 422 and bad_purpose.json()["field"] == "purpose"
    assert revoke_none.status_code == 409 and revoke_none.json()["code"] == "badge.not_enrolled"


def test_only_admins_enrol_badges_and_only_devices_read_the_badge_book(world):
    c = world.client
    guard_id = world.staff["guard"].user_id

    by_dispatch = c.post(f"/api/v1/admin/users/{guard_id}/badge", headers=world.login("dispatch"),
                         json={"badge_uid": UID})
    by_guard = c.delete(f"/api/v1/admin/users/{guard_id}/badge", headers=world.login("guard"))
    book_by_admin = c.get("/api/v1/kiosk/badges", headers=world.login("admin"))
    book_anonymous = c.get("/api/v1/kiosk/badges")
    status_by_admin = c.post("/api/v1/kiosk/status", headers=world.login("admin"), json={"report": {}})
    devices_by_device = c.get("/api/v1/admin/devices", headers=world.device_headers)

    assert by_dispatch.status_code == by_guard.status_code == 403
    assert book_by_admin.status_code == 403 and status_by_admin.status_code == 403
    assert book_anonymous.status_code == 401
    assert devices_by_device.status_code in (401, 403)


def test_a_revoked_badge_leaves_the_book(world):
    c, admin, guard_id = world.client, world.login("admin"), world.staff["guard"].user_id
    c.post(f"/api/v1/admin/users/{guard_id}/badge", headers=admin, json={"badge_uid": UID})

    revoked = c.delete(f"/api/v1/admin/users/{guard_id}/badge", headers=admin)
    book = c.get("/api/v1/kiosk/badges", headers=world.device_headers).json()
    reused = c.post(f"/api/v1/admin/users/{world.staff['dispatch'].user_id}/badge", headers=admin,
                    json={"badge_uid": UID, "purpose": "maintenance"})

    assert revoked.status_code == 200 and revoked.json() == {"user_id": guard_id, "badge": "****E5F6", "revoked": True}
    assert book["badges"] == []
    assert reused.status_code == 200


def test_an_exit_names_the_guard_whose_badge_the_device_sent_and_a_replay_answers_the_same(world):
    c, admin, guard_id = world.client, world.login("admin"), world.staff["guard"].user_id
    c.post(f"/api/v1/admin/users/{guard_id}/badge", headers=admin, json={"badge_uid": UID})
    token = _handed_over_token(world, [world.vin(1)])
    digest = badge_digest(_device_secret(world), UID)
    body = {"event_id": str(uuid.uuid4()), "qr_payload": token, "guard_badge": digest}

    first = c.post("/api/v1/kiosk/exits", headers=world.device_headers, json=body)
    replay = c.post("/api/v1/kiosk/exits", headers=world.device_headers, json=body)

    assert first.status_code == 200, first.text
    assert first.json()["guard"] == {"user_id": guard_id, "name": "guard"}
    assert replay.json() == first.json()
    with world.crm.engine.connect() as conn:
        row = conn.execute(select(gate_exits.c.guard_user_id, gate_exits.c.guard_badge)).one()
    assert (row.guard_user_id, row.guard_badge) == (guard_id, digest)
    with world.crm.engine.connect() as conn:
        pass_id = conn.execute(select(gate_exits.c.gate_pass_id)).scalar_one()
    detail = c.get(f"/api/v1/gate-passes/{pass_id}", headers=admin).json()
    assert (detail["exit"]["guard_user_id"], detail["exit"]["guard_name"]) == (guard_id, "guard")


def test_an_exit_with_an_unknown_badge_is_recorded_without_a_guard_and_old_agents_send_none(world):
    c = world.client
    token_1 = _handed_over_token(world, [world.vin(1)])
    token_2 = _handed_over_token(world, [world.vin(2)])

    unknown = c.post("/api/v1/kiosk/exits", headers=world.device_headers,
                     json={"event_id": str(uuid.uuid4()), "qr_payload": token_1, "guard_badge": "ab" * 32})
    old_agent = c.post("/api/v1/kiosk/exits", headers=world.device_headers,
                       json={"event_id": str(uuid.uuid4()), "qr_payload": token_2})
    malformed = c.post("/api/v1/kiosk/exits", headers=world.device_headers,
                       json={"event_id": str(uuid.uuid4()), "qr_payload": token_2, "guard_badge": "04A1B2C3"})

    assert unknown.status_code == 200 and unknown.json()["guard"] is None
    assert old_agent.status_code == 200 and old_agent.json()["guard"] is None
    assert malformed.status_code in (400, 422)


def test_the_server_keeps_each_agents_last_status_report_for_the_admins(world):
    c, admin = world.client, world.login("admin")
    report = {"state": "running", "devices": {"reader": {"state": "fault", "last_error": "reader.malformed_frame"}},
              "journal": {"pending": 3}, "last_replay": "2026-12-06T10:00:00+00:00"}
    before = c.get("/api/v1/admin/devices", headers=admin).json()["items"]

    first = c.post("/api/v1/kiosk/status", headers=world.device_headers, json={"report": {"state": "starting"}})
    world.clock.advance(seconds=30)
    second = c.post("/api/v1/kiosk/status", headers=world.device_headers, json={"report": report})
    after = c.get("/api/v1/admin/devices", headers=admin).json()["items"]

    assert before[0]["reported_at"] is None and before[0]["report"] is None
    assert first.status_code == second.status_code == 200
    assert after[0]["id"] == world.device.device_id and after[0]["report"] == report
    assert dt.datetime.fromisoformat(after[0]["reported_at"]) == world.clock()
    assert "key_hash" not in after[0]


def test_a_status_report_that_is_not_an_object_or_too_large_is_refused(world):
    c = world.client

    not_object = c.post("/api/v1/kiosk/status", headers=world.device_headers, json={"report": [1, 2]})
    too_large = c.post("/api/v1/kiosk/status", headers=world.device_headers, json={"report": {"x": "y" * 40_000}})

    assert not_object.status_code in (400, 422)
    assert too_large.status_code == 422 and too_large.json()["field"] == "report"


def test_concurrent_first_reports_of_one_device_keep_one_row_and_refuse_none(world):
    from dealercrm.adapters.db.orm import device_reports
    from tests.fakes import race

    results = race(8, lambda i: world.crm.identity.record_device_status(world.device, {"n": i}))

    assert all(isinstance(r, dict) for r in results), results
    with world.crm.engine.connect() as conn:
        rows = conn.execute(select(device_reports.c.report)).all()
    assert len(rows) == 1 and rows[0].report["n"] in range(8)
