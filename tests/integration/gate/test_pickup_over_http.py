"""The self-pickup path over HTTP, on SQLite and PostgreSQL: letter → ID match → gate pass →
finance approval → QR verified (also offline with the published key) → exit → vehicles
released; a second exit with the same pass refused."""

from __future__ import annotations

import datetime as dt
import uuid

from dealercrm.adapters.signing import Ed25519PassVerifier
from dealercrm.domain.gate import qr_digest
from dealercrm.domain.printing import document_from_wire, plain_text


def _eid() -> str:
    return str(uuid.uuid4())


def problem(r, status: int, code: str | None = None):  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    if code:
        assert body["code"] == code, body
    return body


def test_pickup_path_from_letter_to_released_vehicles(world):
    c, kiosk = world.client, world.device_headers
    dealer, dispatch, finance, guard = (world.login(u) for u in ("dealer1", "dispatch", "finance", "guard"))
    vins = [world.vin(1), world.vin(2)]

    created = c.post("/api/v1/pickup-authorizations/", headers=dealer, json=world.letter(vins))
    assert created.status_code == 201, created.text
    auth_id = created.json()["id"]
    assert [c.get(f"/api/v1/vehicles/{v}", headers=dealer).json()["state"] for v in vins] == ["pickup_authorized"] * 2

    # the person taps the ID card at the kiosk: the letter's ID check is recorded, no pass yet
    first = c.post("/api/v1/kiosk/passes/lookup", headers=kiosk, json={"event_id": _eid(), "id_number": world.PERSON_ID})
    assert first.status_code == 200, first.text
    assert first.json()["passes"] == [] and first.json()["authorizations"][0]["vins"] == vins
    seen_by_dispatch = c.get(f"/api/v1/pickup-authorizations/{auth_id}", headers=dispatch).json()
    assert seen_by_dispatch["id_checked_via"] == "kiosk" and seen_by_dispatch["id_masked"] == "1101**********1239"

    made = c.post("/api/v1/gate-passes/", headers=dispatch, json={"authorization_id": auth_id})
    assert made.status_code == 201, made.text
    pass_id, pass_no = made.json()["id"], made.json()["number"]
    assert c.post(f"/api/v1/gate-passes/{pass_id}/approve", headers=finance).json()["status"] == "approved"
    assert world.policy.asked == [(world.dealer_a, "HT-2026-000101", vins)]
    with world.crm.engine.connect() as conn:
        sms = conn.exec_driver_sql("SELECT recipient, body FROM notification_outbox "
                                   "WHERE template_code = 'gate_pass.approved'").all()
    assert [r[0] for r in sms] == ["13912345678"] and pass_no in sms[0][1]

    found = c.post("/api/v1/kiosk/passes/lookup", headers=kiosk,
                   json={"event_id": _eid(), "id_number": world.PERSON_ID}).json()
    [slip] = found["passes"]
    assert slip["printable"] and slip["pass_no"] == pass_no and slip["vins"] == vins
    document = document_from_wire(slip["layout"])
    assert document.qr_payloads == [slip["qr_payload"]]
    assert "出门证" in plain_text(document) and "提车人：张伟" in plain_text(document)
    printed = c.post(f"/api/v1/kiosk/passes/{pass_no}/prints", headers=kiosk, json={"event_id": _eid()})
    assert printed.json()["print_count"] == 1 and printed.json()["reprint"] is False

    # the gate device verifies offline with the published key, and online
    keys = c.get("/api/v1/kiosk/verification-keys", headers=kiosk).json()
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    offline = Ed25519PassVerifier([load_pem_public_key(k["public_key_pem"].encode()) for k in keys])
    claims = offline.verify(slip["qr_payload"], world.clock())
    assert claims["pass_no"] == pass_no and claims["vins"] == vins and world.PERSON_ID not in slip["qr_payload"]
    before_handover = c.post("/api/v1/kiosk/verify", headers=kiosk,
                             json={"event_id": _eid(), "qr_payload": slip["qr_payload"]}).json()
    assert (before_handover["valid"], before_handover["code"]) == (False, "gate_pass.not_handed_over")
    assert c.post(f"/api/v1/gate-passes/{pass_id}/handover", headers=dispatch).json()["status"] == "handed_over"
    verified = c.post("/api/v1/kiosk/verify", headers=kiosk,
                      json={"event_id": _eid(), "qr_payload": slip["qr_payload"]}).json()
    assert (verified["valid"], verified["code"], verified["pass_no"]) == (True, "ok", pass_no)

    event_id = _eid()
    exit_ = c.post("/api/v1/kiosk/exits", headers=kiosk, json={"event_id": event_id, "qr_payload": slip["qr_payload"]})

    assert exit_.status_code == 200, exit_.text
    assert exit_.json()["released"] == 2 and exit_.json()["pass_no"] == pass_no
    for v in vins:
        detail = c.get(f"/api/v1/vehicles/{v}", headers=dealer).json()
        assert detail["state"] == "released"
        assert [h["action"] for h in detail["history"]] == ["create", "authorize_pickup", "release"]
    assert c.get(f"/api/v1/vehicles/{world.vin(3)}", headers=dealer).json()["state"] == "in_factory_stock"
    assert c.get(f"/api/v1/pickup-authorizations/{auth_id}", headers=dealer).json()["status"] == "completed"
    # a replay of the same event answers the same; another exit of the pass is refused with when
    replay = c.post("/api/v1/kiosk/exits", headers=kiosk, json={"event_id": event_id, "qr_payload": slip["qr_payload"]})
    assert (replay.status_code, replay.json()) == (200, exit_.json())
    again = problem(c.post("/api/v1/kiosk/exits", headers=kiosk,
                           json={"event_id": _eid(), "qr_payload": slip["qr_payload"]}), 409, "gate_pass.already_exited")
    assert again["exited_at"] == exit_.json()["exited_at"] and again["current_state"] == "exited"
    problem(c.post(f"/api/v1/gate-passes/{pass_id}/exit", headers=guard), 409, "gate_pass.already_exited")
    after = c.post("/api/v1/kiosk/verify", headers=kiosk,
                   json={"event_id": _eid(), "qr_payload": slip["qr_payload"]}).json()
    assert (after["valid"], after["code"]) == (False, "gate_pass.already_exited")
    detail = c.get(f"/api/v1/gate-passes/{pass_id}", headers=guard).json()
    assert detail["status"] == "exited" and detail["print_count"] == 1 and detail["exit"]["source"] == "kiosk"


def test_the_guard_confirms_at_the_desk_and_a_double_click_records_one_exit(world):
    c = world.client
    dealer, dispatch, finance, guard = (world.login(u) for u in ("dealer1", "dispatch", "finance", "guard"))
    auth_id = c.post("/api/v1/pickup-authorizations/", headers=dealer, json=world.letter([world.vin(3)])).json()["id"]
    pass_id = c.post("/api/v1/gate-passes/", headers=dispatch,
                     json={"authorization_id": auth_id, "id_number": world.PERSON_ID, "id_source": "card"}).json()["id"]
    c.post(f"/api/v1/gate-passes/{pass_id}/approve", headers=finance)
    problem(c.post(f"/api/v1/gate-passes/{pass_id}/exit", headers=guard), 409, "gate_pass.not_handed_over")
    c.post(f"/api/v1/gate-passes/{pass_id}/handover", headers=dispatch)
    event = {"event_id": _eid()}

    first = c.post(f"/api/v1/gate-passes/{pass_id}/exit", headers=guard, json=event)
    second = c.post(f"/api/v1/gate-passes/{pass_id}/exit", headers=guard, json=event)

    assert first.status_code == 200 and second.json() == first.json()
    assert first.json()["source"] == "desk"
    assert first.json()["guard"] == {"user_id": world.staff["guard"].user_id, "name": "guard"}
    assert first.json()["holder"] == "张*"  # 张伟, masked for the guard screen
    assert c.get(f"/api/v1/vehicles/{world.vin(3)}", headers=guard).json()["state"] == "released"
    assert c.get(f"/api/v1/gate-passes/{pass_id}", headers=guard).json()["id_verified_via"] == "card"


def test_finance_approval_applies_the_credit_rule(world):
    c = world.client
    dealer, dispatch, finance = (world.login(u) for u in ("dealer1", "dispatch", "finance"))
    auth_id = c.post("/api/v1/pickup-authorizations/", headers=dealer, json=world.letter([world.vin(1)])).json()["id"]
    pass_id = c.post("/api/v1/gate-passes/", headers=dispatch,
                     json={"authorization_id": auth_id, "id_number": world.PERSON_ID}).json()["id"]
    world.policy.refusal = "credit.limit_exceeded"

    refused = c.post(f"/api/v1/gate-passes/{pass_id}/approve", headers=finance)

    problem(refused, 409, "credit.limit_exceeded")
    assert c.get(f"/api/v1/gate-passes/{pass_id}", headers=finance).json()["status"] == "pending_approval"
    world.policy.refusal = None
    assert c.post(f"/api/v1/gate-passes/{pass_id}/approve", headers=finance).json()["status"] == "approved"
    world.policy.refusal = "credit.overdue"  # checked again when the vehicles are handed over
    problem(c.post(f"/api/v1/gate-passes/{pass_id}/handover", headers=dispatch), 409, "credit.overdue")
    assert c.get(f"/api/v1/gate-passes/{pass_id}", headers=finance).json()["status"] == "approved"


def test_the_person_must_match_the_letter(world):
    c = world.client
    dealer, dispatch = world.login("dealer1"), world.login("dispatch")
    auth_id = c.post("/api/v1/pickup-authorizations/", headers=dealer, json=world.letter([world.vin(1)])).json()["id"]

    not_checked = c.post("/api/v1/gate-passes/", headers=dispatch, json={"authorization_id": auth_id})
    wrong = c.post("/api/v1/gate-passes/", headers=dispatch, json={"authorization_id": auth_id, "id_number": world.OTHER_ID})
    bad = c.post("/api/v1/gate-passes/", headers=dispatch,
                 json={"authorization_id": auth_id, "id_number": "110105199003071238"})

    problem(not_checked, 409, "gate_pass.id_not_verified")
    assert problem(wrong, 422, "gate_pass.id_mismatch")["field"] == "id_number"
    assert problem(bad, 422, "id_number.check_digit")["field"] == "id_number"
    assert c.get("/api/v1/gate-passes/", headers=dispatch).json()["items"] == []


def test_a_wrong_id_at_the_kiosk_learns_nothing(world):
    c, kiosk = world.client, world.device_headers
    dealer = world.login("dealer1")
    c.post("/api/v1/pickup-authorizations/", headers=dealer, json=world.letter([world.vin(1)]))

    r = c.post("/api/v1/kiosk/passes/lookup", headers=kiosk, json={"event_id": _eid(), "id_number": world.OTHER_ID})

    assert r.status_code == 200
    assert r.json()["passes"] == [] and r.json()["authorizations"] == []
    assert "张伟" not in r.text and world.vin(1) not in r.text


def test_revoking_the_letter_voids_the_pass_and_returns_the_vehicles_to_stock(world):
    c, kiosk = world.client, world.device_headers
    dealer, dispatch, finance = (world.login(u) for u in ("dealer1", "dispatch", "finance"))
    auth_id = c.post("/api/v1/pickup-authorizations/", headers=dealer, json=world.letter([world.vin(4)])).json()["id"]
    pass_id = c.post("/api/v1/gate-passes/", headers=dispatch,
                     json={"authorization_id": auth_id, "id_number": world.PERSON_ID}).json()["id"]
    c.post(f"/api/v1/gate-passes/{pass_id}/approve", headers=finance)
    c.post(f"/api/v1/gate-passes/{pass_id}/handover", headers=dispatch)
    token = c.post("/api/v1/kiosk/passes/lookup", headers=kiosk,
                   json={"event_id": _eid(), "id_number": world.PERSON_ID}).json()["passes"][0]["qr_payload"]
    pass_no = c.get(f"/api/v1/gate-passes/{pass_id}", headers=dispatch).json()["pass_no"]
    live = {p["pass_no"]: p for p in c.get("/api/v1/kiosk/pass-book", headers=kiosk).json()["passes"]}
    assert (live[pass_no]["status"], live[pass_no]["qr_sha256"]) == ("handed_over", qr_digest(token))
    assert live[pass_no]["holder"] == "张*"  # the guard screen shows it offline too, masked

    r = c.post(f"/api/v1/pickup-authorizations/{auth_id}/revoke", headers=dealer, json={"reason": "提车人离职"})

    assert r.json()["status"] == "revoked"
    assert c.get(f"/api/v1/gate-passes/{pass_id}", headers=dispatch).json()["status"] == "voided"
    assert c.get(f"/api/v1/vehicles/{world.vin(4)}", headers=dealer).json()["state"] == "in_factory_stock"
    problem(c.post("/api/v1/kiosk/exits", headers=kiosk, json={"event_id": _eid(), "qr_payload": token}), 409,
            "gate_pass.voided")
    lookup = c.post("/api/v1/kiosk/passes/lookup", headers=kiosk,
                    json={"event_id": _eid(), "id_number": world.PERSON_ID}).json()
    assert [(p["printable"], p["code"]) for p in lookup["passes"]] == [(False, "gate_pass.voided")]
    book = c.get("/api/v1/kiosk/pass-book", headers=kiosk).json()  # a guard offline now refuses it too
    assert {p["pass_no"]: p["status"] for p in book["passes"]}[pass_no] == "voided"
    assert c.get("/api/v1/kiosk/pass-book", headers=dispatch).status_code == 403  # devices only
    # the vehicle may be authorized again
    assert c.post("/api/v1/pickup-authorizations/", headers=dealer, json=world.letter([world.vin(4)])).status_code == 201


def test_expired_and_forged_passes_are_refused_with_the_reason(world):
    c, kiosk = world.client, world.device_headers
    dealer, dispatch, finance = (world.login(u) for u in ("dealer1", "dispatch", "finance"))
    auth_id = c.post("/api/v1/pickup-authorizations/", headers=dealer, json=world.letter([world.vin(5)], hours=4)).json()["id"]
    pass_id = c.post("/api/v1/gate-passes/", headers=dispatch,
                     json={"authorization_id": auth_id, "id_number": world.PERSON_ID}).json()["id"]
    c.post(f"/api/v1/gate-passes/{pass_id}/approve", headers=finance)
    c.post(f"/api/v1/gate-passes/{pass_id}/handover", headers=dispatch)
    token = c.post("/api/v1/kiosk/passes/lookup", headers=kiosk,
                   json={"event_id": _eid(), "id_number": world.PERSON_ID}).json()["passes"][0]["qr_payload"]
    body, signature = token.split(".")
    forged = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + signature
    from dealercrm.adapters.signing import Ed25519PassSigner

    stranger = Ed25519PassSigner.generate().sign({"typ": "gate_pass", "pass_no": "GP-2026-000001"})
    scanned_in_time = world.clock()
    world.clock.advance(hours=5)

    expired = c.post("/api/v1/kiosk/verify", headers=kiosk, json={"event_id": _eid(), "qr_payload": token}).json()
    tampered = c.post("/api/v1/kiosk/verify", headers=kiosk, json={"event_id": _eid(), "qr_payload": forged}).json()
    foreign = c.post("/api/v1/kiosk/verify", headers=kiosk, json={"event_id": _eid(), "qr_payload": stranger}).json()

    assert (expired["valid"], expired["code"]) == (False, "gate_pass.expired")
    assert tampered["code"] in ("gate_pass.forged", "gate_pass.malformed") and not tampered["valid"]
    assert (foreign["valid"], foreign["code"]) == (False, "gate_pass.forged")
    problem(c.post("/api/v1/kiosk/exits", headers=kiosk, json={"event_id": _eid(), "qr_payload": token}), 409,
            "gate_pass.expired")
    assert problem(c.post("/api/v1/kiosk/exits", headers=kiosk, json={"event_id": _eid(), "qr_payload": stranger}),
                   422, "gate_pass.forged")["field"] == "qr_payload"
    assert c.get(f"/api/v1/vehicles/{world.vin(5)}", headers=dealer).json()["state"] == "pickup_authorized"
    # an exit journaled offline while the pass was valid is accepted when replayed later
    late = c.post("/api/v1/kiosk/exits", headers=kiosk,
                  json={"event_id": _eid(), "qr_payload": token, "scanned_at": scanned_in_time.isoformat()})
    assert late.status_code == 200, late.text
    assert late.json()["exited_at"] == scanned_in_time.isoformat()
    assert c.get(f"/api/v1/vehicles/{world.vin(5)}", headers=dealer).json()["state"] == "released"


def test_an_event_id_is_bound_to_its_request(world):
    c, kiosk = world.client, world.device_headers
    event_id = _eid()
    c.post("/api/v1/kiosk/passes/lookup", headers=kiosk, json={"event_id": event_id, "id_number": world.PERSON_ID})

    reused = c.post("/api/v1/kiosk/passes/lookup", headers=kiosk, json={"event_id": event_id, "id_number": world.OTHER_ID})

    assert problem(reused, 422, "client_event.reused")["field"] == "event_id"


def test_bad_requests_are_422_naming_the_field_and_change_nothing(world):
    c = world.client
    dealer = world.login("dealer1")

    cases = [
        (world.letter([world.vin(1)], id_number="110105199003071238"), "id_number"),
        ({**world.letter([world.vin(1)]), "phone": "123"}, "phone"),
        ({**world.letter([world.vin(1)]), "vins": ["LZZ1CLVB0TA000001"]}, "vin"),
        ({**world.letter([world.vin(1)]), "dealer_id": 2}, "dealer_id"),
        ({**world.letter([world.vin(1)]), "valid_to": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).isoformat()}, "valid_to"),
        (world.letter([world.vin(1), world.vin(1)]), "vins"),
    ]
    for body, field in cases:
        r = c.post("/api/v1/pickup-authorizations/", headers=dealer, json=body)
        assert problem(r, 422)["field"] == field, (body, r.text)

    assert c.get("/api/v1/pickup-authorizations/", headers=dealer).json()["items"] == []
    assert c.get(f"/api/v1/vehicles/{world.vin(1)}", headers=dealer).json()["state"] == "in_factory_stock"


def test_a_lapsed_letter_frees_its_vehicles_for_a_new_one(world):
    c = world.client
    dealer, dispatch = world.login("dealer1"), world.login("dispatch")
    old = c.post("/api/v1/pickup-authorizations/", headers=dealer, json=world.letter([world.vin(2)], hours=2)).json()
    pass_id = c.post("/api/v1/gate-passes/", headers=dispatch,
                     json={"authorization_id": old["id"], "id_number": world.PERSON_ID}).json()["id"]
    busy = c.post("/api/v1/pickup-authorizations/", headers=dealer, json=world.letter([world.vin(2)]))
    world.clock.advance(hours=3)

    late = c.post("/api/v1/gate-passes/", headers=dispatch,
                  json={"authorization_id": old["id"], "id_number": world.PERSON_ID})
    fresh = c.post("/api/v1/pickup-authorizations/", headers=dealer,
                   json=world.letter([world.vin(2)], start=world.clock()))

    assert busy.status_code == 409 and busy.json()["current_state"] == "pickup_authorized"
    assert problem(late, 409)["current_state"] == "expired"
    assert fresh.status_code == 201, fresh.text
    assert c.get(f"/api/v1/pickup-authorizations/{old['id']}", headers=dealer).json()["status"] == "expired"
    assert c.get(f"/api/v1/gate-passes/{pass_id}", headers=dispatch).json()["status"] == "voided"
    history = c.get(f"/api/v1/vehicles/{world.vin(2)}", headers=dealer).json()["history"]
    assert [h["action"] for h in history][-3:] == ["authorize_pickup", "withdraw_pickup", "authorize_pickup"]
