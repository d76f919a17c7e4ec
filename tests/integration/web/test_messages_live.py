"""Live delivery over the browser's WebSocket (issue 21 §3), on the demo's order thread: a
message posted by one person reaches another's open socket; a socket that was closed while
three messages arrived gets exactly those three on reconnecting; no session, no socket."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient
from sqlalchemy import text

from dealercrm.entrypoints.demo import DEMO_PASSWORD
from dealercrm.entrypoints.http.security import load_principal
from tests.integration.web.conftest import login


def _thread(crm) -> tuple[int, str, int]:
    """The demo's order thread, its dealer's username and the technical reviewer's user id."""
    with crm.engine.connect() as conn:
        cid = conn.execute(text("SELECT id FROM conversations WHERE record_kind = 'order' ORDER BY id")).scalar()
        dealer = conn.execute(text("SELECT u.username FROM conversation_members m JOIN users u ON u.id = m.user_id "
                                   "WHERE m.conversation_id = :c AND u.role = 'dealer'"), {"c": cid}).scalar()
        tech = conn.execute(text("SELECT id FROM users WHERE username = 'technical'")).scalar()
    return cid, dealer, tech


def _until(ws, kind: str) -> list[dict]:
    """Events up to and including the first of ``kind``."""
    seen = []
    while True:
        event = json.loads(ws.receive_text())
        seen.append(event)
        if event["type"] == kind:
            return seen


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def test_a_socket_without_a_session_is_closed_with_a_reason(client):
    with client.websocket_connect("/live") as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_text()

    assert closed.value.code == 4401
    assert "会话" in closed.value.detail


def test_a_reconnecting_browser_gets_the_three_missed_messages_exactly_once_then_live_ones(client, crm):
    cid, _, tech_id = _thread(crm)
    technical = load_principal(crm.identity, tech_id)
    assert login(client, "procurement").status_code == 303
    with client.websocket_connect("/live?after=0") as ws:
        history = _until(ws, "unread")
    last = max(e["message"]["id"] for e in history if e["type"] == "message")

    missed = [crm.messages.post(technical, cid, f"离线时的第{i}条").id for i in range(1, 4)]
    with client.websocket_connect(f"/live?after={last}") as ws:
        caught = _until(ws, "unread")
        live = crm.messages.post(technical, cid, "重连后的新消息").id
        now = _until(ws, "message")

    assert [e["message"]["id"] for e in caught if e["type"] == "message"] == missed
    assert [(e["change"], e["message"]["id"], e["message"]["body"]) for e in now if e["type"] == "message"] == [
        ("posted", live, "重连后的新消息")]


def test_a_message_posted_by_the_dealer_reaches_the_reviewers_open_socket(client, crm):
    cid, dealer, _ = _thread(crm)
    token = client.post("/api/v1/auth/login", json={"username": dealer, "password": DEMO_PASSWORD}).json()
    assert login(client, "procurement").status_code == 303  # the socket is the reviewer's (session cookie)
    with crm.engine.connect() as conn:
        newest = conn.execute(text("SELECT max(id) FROM messages")).scalar()
    with client.websocket_connect(f"/live?after={newest}") as ws:
        _until(ws, "unread")
        r = client.post(f"/api/v1/conversations/{cid}/messages", json={"body": "@procurement 已改好，请看"},
                        headers={"Authorization": f"Bearer {token['access_token']}"})
        events = _until(ws, "message")

    assert r.status_code == 201, r.text
    assert events[-1]["message"]["body"] == "@procurement 已改好，请看"
    assert events[-1]["message"]["author_name"] == dealer


def _png() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = (b"\x00" + b"\x20\x80\x40" * 32) * 24
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 24, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_the_record_pages_show_their_threads_and_the_thread_page_takes_a_camera_photo(browser, crm):
    """The order, claim, service request and gate pass pages each load their thread box."""
    from tests.integration.web.conftest import csrf_token

    cid, dealer, _ = _thread(crm)
    with crm.engine.connect() as conn:
        order_id = conn.execute(text("SELECT record_id FROM conversations WHERE id = :c"), {"c": cid}).scalar()
        claim = conn.execute(text("SELECT min(id) FROM service_claims")).scalar()
        request = conn.execute(text("SELECT min(id) FROM service_requests")).scalar()
        gate_pass = conn.execute(text("SELECT min(id) FROM gate_passes")).scalar()
    aftersales, dispatch = browser("aftersales"), browser("dispatch")
    record_pages = {"claim": (claim, aftersales.get(f"/aftersales/claims/{claim}")),
                    "service_request": (request, aftersales.get(f"/aftersales/requests/{request}")),
                    "gate_pass": (gate_pass, dispatch.get(f"/dispatch/passes/{gate_pass}"))}
    pass_box = dispatch.get(f"/messages/records/gate_pass/{gate_pass}", headers={"HX-Request": "true"})
    me, stranger = browser(dealer), browser("dealer01")

    order_page = me.get(f"/orders/{order_id}")
    box = me.get(f"/messages/records/order/{order_id}", headers={"HX-Request": "true"})
    thread = me.get(f"/messages/{cid}")
    empty = me.post(f"/messages/{cid}", data={"body": " ", "_csrf_token": csrf_token(thread.text)})
    sent = me.post(f"/messages/{cid}", data={"body": "现场照片", "_csrf_token": csrf_token(thread.text)},
                   files={"file": ("p.png", _png(), "image/png")}, follow_redirects=False)
    after = me.get(f"/messages/{cid}")
    listing = me.get("/messages")

    assert f'hx-get="/messages/records/order/{order_id}"' in order_page.text
    assert "进入讨论" in box.text and f'href="/messages/{cid}#latest"' in box.text
    assert 'accept="image/*" capture' in thread.text and thread.text.count('class="msg') >= 12
    assert empty.status_code == 422 and "消息不能为空" in empty.text
    assert sent.status_code == 303
    assert "现场照片" in after.text and after.text.count('class="msg-photo"') >= 2
    photo = after.text.split('src="/messages/attachments/')[-1].split('/thumbnail"')[0]
    thumbnail = me.get(f"/messages/attachments/{photo}/thumbnail")
    original = me.get(f"/messages/attachments/{photo}")
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"].startswith("image/")
    assert original.status_code == 200 and original.content == _png()
    assert stranger.get(f"/messages/attachments/{photo}").status_code == 404
    assert "订单" in listing.text and f'href="/messages/{cid}"' in listing.text
    assert stranger.get(f"/messages/{cid}").status_code == 404
    assert stranger.get(f"/messages/records/order/{order_id}", headers={"HX-Request": "true"}).status_code == 404
    for kind, (record_id, shown) in record_pages.items():
        assert shown.status_code == 200, kind
        assert f'hx-get="/messages/records/{kind}/{record_id}"' in shown.text, kind
    assert pass_box.status_code == 200 and "进入讨论" in pass_box.text


def test_people_start_direct_and_group_conversations_and_change_their_own_messages_within_the_window(browser, clock):
    from tests.integration.web.conftest import csrf_token

    me = browser("procurement")
    listing = me.get("/messages")
    token = csrf_token(listing.text)
    unknown = me.post("/messages/direct", data={"usernames": "nobody_here", "_csrf_token": token})
    untitled = me.post("/messages/groups", data={"title": " ", "usernames": "technical", "_csrf_token": token})
    direct = me.post("/messages/direct", data={"usernames": "@technical", "_csrf_token": token},
                     follow_redirects=False)
    again = me.post("/messages/direct", data={"usernames": "technical", "_csrf_token": token}, follow_redirects=False)
    group = me.post("/messages/groups", data={"title": "月底发车协调", "usernames": "technical，finance dispatch",
                                              "_csrf_token": token}, follow_redirects=False)
    gid = int(group.headers["location"].split("/")[2].split("#")[0])
    sent = me.post(f"/messages/{gid}", data={"body": "周五前发完", "_csrf_token": token}, follow_redirects=False)
    thread = me.get(f"/messages/{gid}")
    mid = int(thread.text.split('class="msg mine" id="m-', 1)[1].split('"', 1)[0])
    edited = me.post(f"/messages/messages/{mid}/edit", data={"body": "周四前发完", "_csrf_token": token},
                     follow_redirects=False)
    others_view = browser("finance").get(f"/messages/{gid}")
    one = me.get(f"/messages/messages/{mid}")  # what the live script inserts
    clock.now += dt.timedelta(minutes=16)
    late = me.post(f"/messages/messages/{mid}/withdraw", data={"_csrf_token": token})
    clock.now -= dt.timedelta(minutes=16)
    withdrawn = me.post(f"/messages/messages/{mid}/withdraw", data={"_csrf_token": token}, follow_redirects=False)
    after = me.get(f"/messages/{gid}")
    beyond = me.post("/messages/messages/9223372036854775808/withdraw", data={"_csrf_token": token})

    assert 'id="start-direct"' in listing.text and 'id="start-group"' in listing.text
    assert unknown.status_code == 422 and "nobody_here" in unknown.text and 'id="direct-usernames-error"' in unknown.text
    assert untitled.status_code == 422 and "请填写群聊名称" in untitled.text
    assert direct.status_code == 303 and again.headers["location"] == direct.headers["location"]
    assert "技术评审" in me.get(direct.headers["location"].split("#")[0]).text
    assert group.status_code == 303 and sent.status_code == 303
    assert "月底发车协调" in thread.text and f'action="/messages/messages/{mid}/withdraw"' in thread.text
    assert edited.status_code == 303 and edited.headers["location"] == f"/messages/{gid}#m-{mid}"
    assert "周四前发完" in others_view.text and "已编辑" in others_view.text
    assert one.status_code == 200 and "周四前发完" in one.text and f'id="m-{mid}"' in one.text
    assert "/withdraw" not in others_view.text  # no buttons on someone else's message
    assert late.status_code == 409 and "超过15分钟" in late.text and "/withdraw" not in late.text
    assert withdrawn.status_code == 303
    assert "此消息已撤回" in after.text and "周四前发完" not in after.text and "/withdraw" not in after.text
    assert beyond.status_code == 404




def test_an_approved_step_reloads_the_next_approvers_workbench_live_and_a_failed_decision_sends_nothing(client, crm):
    from dealercrm.domain.errors import DomainError
    from dealercrm.domain.workflow import Assignee, AssigneeKind

    with crm.engine.connect() as conn:
        step = conn.execute(text(
            "SELECT s.id, s.assignee_value, n.assignee_value AS next_role FROM workflow_steps s "
            "JOIN workflow_steps n ON n.workflow_id = s.workflow_id AND n.stage_no = s.stage_no + 1 "
            "AND n.status = 'waiting' AND n.assignee_kind = 'role' "
            "WHERE s.status = 'open' AND s.assignee_kind = 'role' AND s.assignee_value <> n.assignee_value "
            "ORDER BY s.id")).first()
        deciders = conn.execute(text("SELECT id FROM users WHERE role = :r ORDER BY id"),
                                {"r": step.assignee_value}).scalars().all()
        next_approver = conn.execute(text("SELECT username FROM users WHERE role = :r ORDER BY id"),
                                     {"r": step.next_role}).scalar()
    people = [load_principal(crm.identity, u) for u in deciders]
    decider = next(p for p in people if Assignee(AssigneeKind.ROLE, step.assignee_value).addresses(p)
                   and any(t["step_id"] == step.id for t in crm.workflow.pending_tasks(p, limit=200)))
    assert login(client, next_approver).status_code == 303
    page = client.get("/")
    relayed: list[dict] = []
    with client.websocket_connect("/live?after=live") as ws:
        opened = _until(ws, "unread")
        to_app = crm.live._sink
        crm.live.connect(lambda channels, event: (relayed.append(event), to_app(channels, event)))
        crm.workflow.decide(decider, step.id, "approve")
        changed = _until(ws, "workbench")
        announced = list(relayed)
        with pytest.raises(DomainError):
            crm.workflow.decide(decider, step.id, "approve")  # decided already: rolled back

    assert 'id="workbench-todo"' in page.text and 'hx-trigger="workbench-changed from:body"' in page.text
    assert [e["type"] for e in opened] == ["unread"]  # ?after=live: no catch-up on the workbench
    assert changed == [{"type": "workbench"}]
    assert [e["type"] for e in announced] == ["workbench"] and ["role", step.next_role] in announced[0]["audience"]
    assert relayed == announced


def test_a_departing_shipment_reloads_its_dealers_workbench_live_and_nobody_elses(client, crm):
    """A truck that leaves puts a receipt to confirm on its dealer's workbench: the dealer's open
    page hears of it at once; another dealer's socket hears nothing."""
    from dealercrm.application.shipping import CreateShipment

    with crm.engine.connect() as conn:  # the demo dealer whose truck is on its way has one more of that contract
        dealer_id, contract_no = conn.execute(text("SELECT dealer_id, contract_no FROM shipments "
                                                   "WHERE status = 'departed'")).one()
        vins = conn.execute(text("SELECT vin FROM vehicles WHERE contract_no = :c AND state = 'in_factory_stock' "
                                 "ORDER BY vin"), {"c": contract_no}).scalars().all()
        dealer_user = conn.execute(text("SELECT username FROM users WHERE dealer_id = :d AND role = 'dealer' "
                                        "ORDER BY id"), {"d": dealer_id}).scalar()
        dispatch_id = conn.execute(text("SELECT id FROM users WHERE role = 'dispatch' ORDER BY id")).scalar()
    assert vins and dealer_user
    dispatch = load_principal(crm.identity, dispatch_id)
    now = crm.clock()
    shipment = crm.gate.create_shipment(dispatch, CreateShipment(
        vins=tuple(vins), carrier="郑州顺达物流有限公司", driver_name="刘建军", driver_id_number="110101199003074514",
        driver_phone="13700001111", truck_plate="豫A8K262挂", planned_departure=now,
        expected_arrival=now + dt.timedelta(days=2), contract_no=contract_no))

    assert login(client, dealer_user).status_code == 303
    relayed: list[dict] = []
    with client.websocket_connect("/live?after=live") as ws:
        _until(ws, "unread")
        to_app = crm.live._sink
        crm.live.connect(lambda channels, event: (relayed.append(event), to_app(channels, event)))
        assert crm.gate.depart_shipment(dispatch, shipment.id) == "departed"
        changed = _until(ws, "workbench")

    assert changed == [{"type": "workbench"}]
    assert relayed == [{"type": "workbench", "audience": [["dealer", str(dealer_id)]]}]
