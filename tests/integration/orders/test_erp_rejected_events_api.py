"""The ERP events the sync rejected, over HTTP on SQLite and PostgreSQL: fed through the real
applier into ``SqlErpSyncTarget``, then listed (filters, Beijing dates, keyset pages), resolved
once with a note (audited; twice → 409 with the standing resolution), refused to dealers,
stations, the kiosk and staff outside finance/production/dispatch/admin."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from dealercrm.adapters.db.erp_sync_target import SqlErpSyncTarget
from dealercrm.adapters.db.orderflow_tables import erp_rejected_events
from dealercrm.adapters.db.orm import audit_log
from dealercrm.adapters.erp.memory import InMemoryErpGateway
from dealercrm.application.erp_sync import ErpEventApplier
from dealercrm.application.identity import CreateUser
from dealercrm.application.ports.erp import ErpEventPage, ErpStatusChanged, ErpUnreadableEvent
from dealercrm.domain.errors import PermissionDenied
from dealercrm.domain.identity import Principal, Role

from .flow_kit import PASSWORD, SYSTEM, Flow, grant_credit

URL = "/api/v1/erp/rejected-events/"
T0 = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)
# when the sync rejected each page: 1 May 23:30, 2 May 00:30 and 3 May 10:00 in Beijing
AT = (dt.datetime(2026, 5, 1, 15, 30, tzinfo=dt.UTC), dt.datetime(2026, 5, 1, 16, 30, tzinfo=dt.UTC),
      dt.datetime(2026, 5, 3, 2, 0, tzinfo=dt.UTC))


def status(event_id: str, n: int, tracking_no: str, percent: int, order_seq: int) -> ErpStatusChanged:
    return ErpStatusChanged(event_id=event_id, seq=n, tracking_no=tracking_no, contract_no=None, order_seq=order_seq,
                            occurred_at=T0 + dt.timedelta(minutes=n), status="in_production", percent=percent)


def feed(flow: Flow, at: dt.datetime, events: list, cursor: str) -> None:
    """One page through the real applier into the SQL target, rejected at ``at``."""
    with SqlErpSyncTarget(flow.crm.uow, lambda: at) as target:
        ErpEventApplier(target).apply_page(ErpEventPage(tuple(events), cursor, False))


@pytest.fixture
def world(db_url):
    """A released order and five rejected events; ids in feed order (see ``ids``)."""
    with Flow(db_url, erp_gateway=InMemoryErpGateway(seed=5)) as flow:
        grant_credit(flow.crm, flow.dealer_id, 5_000_000_00)
        order_id, t = flow.release(quantity=1)
        for name, role in (("disp", "dispatch"), ("zhan1", "station")):
            flow.crm.identity.create_user(SYSTEM, CreateUser(name, name, role, PASSWORD,
                                                             station_id=1 if role == "station" else None))
        feed(flow, AT[0], [status("ev-u1", 1, "ZZ-0001", 10, 1),
                           ErpUnreadableEvent(event_id="ev-x1", seq=2, type="mystery", reason="未知事件类型")], "c1")
        feed(flow, AT[1], [status("ev-ok", 3, t, 50, 5), status("ev-reg", 4, t, 20, 6),
                           status("ev-u2", 5, "ZZ-0002", 10, 1)], "c2")
        feed(flow, AT[2], [status("ev-u3", 6, "ZZ-0001", 30, 2)], "c3")
        with flow.crm.engine.connect() as conn:
            rows = conn.execute(select(erp_rejected_events.c.id, erp_rejected_events.c.event_id)
                                .order_by(erp_rejected_events.c.id)).all()
        ids = {r.event_id: r.id for r in rows}
        assert list(ids) == ["ev-u1", "ev-x1", "ev-reg", "ev-u2", "ev-u3"]
        yield flow, order_id, t, ids


def listed(flow: Flow, user: str = "admin", **params) -> list[dict]:
    r = flow.client.get(URL, params=params, headers=flow.h(user))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def event_ids(items: list[dict]) -> list[str]:
    return [i["event_id"] for i in items]


def test_staff_list_open_rejected_events_newest_first_filtered_by_code_tracking_no_and_beijing_day(world):
    flow, order_id, t, ids = world

    everything = listed(flow)
    by_code = listed(flow, code="erp.unknown_tracking_no")
    by_tracking = listed(flow, tracking_no="ZZ-0001", user="fin_a")
    second_of_may = listed(flow, **{"from": "2026-05-02", "to": "2026-05-02"}, user="production")
    from_second = listed(flow, **{"from": "2026-05-02"}, user="disp")
    until_first = listed(flow, to="2026-05-01")
    regressions_on_second = listed(flow, code="erp.status_regression", **{"from": "2026-05-02", "to": "2026-05-02"})

    assert event_ids(everything) == ["ev-u3", "ev-u2", "ev-reg", "ev-x1", "ev-u1"]
    assert [i["id"] for i in everything] == sorted(ids.values(), reverse=True)
    assert {i["status"] for i in everything} == {"open"} and {i["status_label"] for i in everything} == {"待处理"}
    reg = everything[2]
    assert (reg["code"], reg["tracking_no"], reg["order_id"], reg["type"]) == (
        "erp.status_regression", t, order_id, "status_changed")
    assert reg["order_no"] and "状态倒退" in reg["reason"] and reg["resolved_at"] is None
    unreadable = everything[3]
    assert (unreadable["code"], unreadable["type"], unreadable["tracking_no"], unreadable["order_id"]) == (
        "erp.event_unreadable", "mystery", None, None)
    assert dt.datetime.fromisoformat(everything[0]["at"]) == AT[2]
    assert event_ids(by_code) == ["ev-u3", "ev-u2", "ev-u1"]
    assert event_ids(by_tracking) == ["ev-u3", "ev-u1"]
    assert event_ids(second_of_may) == ["ev-u2", "ev-reg"]  # 00:30 Beijing on 2 May is 16:30 UTC on 1 May
    assert event_ids(from_second) == ["ev-u3", "ev-u2", "ev-reg"]
    assert event_ids(until_first) == ["ev-x1", "ev-u1"]
    assert event_ids(regressions_on_second) == ["ev-reg"]


def test_keyset_pages_walk_every_event_once_newest_first(world):
    flow, _order_id, _t, ids = world
    seen, cursor, pages = [], None, 0

    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = flow.client.get(URL, params=params, headers=flow.h("admin"))
        assert r.status_code == 200, r.text
        page = r.json()
        seen += [i["id"] for i in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert seen == sorted(ids.values(), reverse=True)
    last = flow.client.get(URL, params={"limit": 5}, headers=flow.h("admin")).json()
    assert len(last["items"]) == 5 and last["next_cursor"] is None


def test_resolving_records_who_when_and_the_note_once_and_a_second_try_answers_409(world):
    flow, _order_id, _t, ids = world
    rid = ids["ev-reg"]

    r = flow.client.post(f"{URL}{rid}/resolve", json={"note": "  ERP侧已撤回错误的进度回报  "},
                         headers=flow.h("production"))
    again = flow.client.post(f"{URL}{rid}/resolve", json={"note": "我也处理了"}, headers=flow.h("fin_a"))

    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["id"], done["status"], done["status_label"], done["resolved_by"], done["resolution_note"]) == (
        rid, "resolved", "已处理", "production", "ERP侧已撤回错误的进度回报")
    assert done["resolved_at"] is not None and done["code"] == "erp.status_regression"
    assert again.status_code == 409
    problem = again.json()
    assert problem["code"] == "erp_rejected.already_resolved" and problem["current_state"] == "resolved"
    assert (problem["resolved_by"], problem["resolution_note"]) == ("production", "ERP侧已撤回错误的进度回报")
    assert dt.datetime.fromisoformat(problem["resolved_at"]) == dt.datetime.fromisoformat(done["resolved_at"])
    assert problem["detail"].startswith("该ERP拒收事件已由 production 处理")
    assert rid not in [i["id"] for i in listed(flow)]
    assert [i["id"] for i in listed(flow, status="resolved")] == [rid]
    assert len(listed(flow, status="all")) == 5
    detail = flow.client.get(f"{URL}{rid}", headers=flow.h("disp")).json()
    assert (detail["resolved_by"], detail["resolution_note"]) == ("production", "ERP侧已撤回错误的进度回报")
    with flow.crm.engine.connect() as conn:
        audits = conn.execute(select(audit_log).where(audit_log.c.entity == "erp_rejected_event")).all()
    assert len(audits) == 1
    audit = audits[0]
    assert (audit.entity_id, audit.actor_name, audit.actor_role, audit.action) == (
        rid, "production", "production", "update")
    assert audit.changes["resolution_note"] == {"old": None, "new": "ERP侧已撤回错误的进度回报"}
    assert audit.changes["resolved_by"] == {"old": None, "new": "production"}


def test_dealers_stations_the_kiosk_and_other_staff_are_refused(world):
    flow, _order_id, _t, ids = world
    rid = ids["ev-u1"]
    device_key = flow.crm.identity.issue_device_key(SYSTEM, "北门自助机", "北门").api_key
    refused = [flow.h(u) for u in ("hongda", "zhan1", "sales_huazhong", "technical")] + [{"X-Device-Key": device_key}]

    answers = []
    for headers in refused:
        answers.append(flow.client.get(URL, headers=headers).status_code)
        answers.append(flow.client.get(f"{URL}{rid}", headers=headers).status_code)
        answers.append(flow.client.post(f"{URL}{rid}/resolve", json={"note": "看过了"}, headers=headers).status_code)
    admitted = [flow.client.get(URL, headers=flow.h(u)).status_code for u in ("admin", "fin_a", "production", "disp")]

    assert answers == [403] * 15
    assert admitted == [200] * 4
    assert listed(flow)[-1]["resolved_at"] is None  # nobody refused wrote anything


BAD_REQUESTS = [
    ("post", "999999/resolve", {"json": {"note": "x"}}, 404, "erp_rejected.not_found"),
    ("get", "999999", {}, 404, "erp_rejected.not_found"),
    ("post", "{rid}/resolve", {"json": {"note": ""}}, 422, "note"),
    ("post", "{rid}/resolve", {"json": {"note": "   "}}, 422, "note"),
    ("post", "{rid}/resolve", {"json": {"note": "长" * 501}}, 422, "note"),
    ("post", "{rid}/resolve", {"json": {}}, 422, "note"),
    ("post", "{rid}/resolve", {"json": {"note": "x", "by": "someone"}}, 422, "by"),
    ("get", "", {"params": {"status": "closed"}}, 422, "status"),
    ("get", "", {"params": {"from": "2026-13-01"}}, 422, "from"),
    ("get", "", {"params": {"from": "2026-05-01T00:00:00+08:00"}}, 422, "from"),
    ("get", "", {"params": {"to": "yesterday"}}, 422, "to"),
    ("get", "", {"params": {"from": "2026-05-03", "to": "2026-05-01"}}, 422, "to"),
    ("get", "", {"params": {"limit": 0}}, 422, "limit"),
    ("get", "", {"params": {"limit": 201}}, 422, "limit"),
    ("get", "", {"params": {"cursor": "not-a-cursor"}}, 422, "cursor"),
    ("get", "", {"params": {"code": "c" * 65}}, 422, "code"),
    ("get", "", {"params": {"tracking_no": "t" * 41}}, 422, "tracking_no"),
]


def test_unknown_ids_answer_404_and_bad_input_422_naming_the_field(world):
    flow, _order_id, _t, ids = world

    answers = []
    for method, path, kwargs, _status, _what in BAD_REQUESTS:
        r = getattr(flow.client, method)(URL + path.format(rid=ids["ev-u1"]), headers=flow.h("admin"), **kwargs)
        body = r.json()
        answers.append((method, path, r.status_code, body.get("code") if r.status_code == 404 else body.get("field")))

    assert answers == [(m, p, status, what) for m, p, _kw, status, what in BAD_REQUESTS]
    assert [i["resolved_at"] for i in listed(flow)] == [None] * 5  # nothing was written


def test_embedding_code_lists_and_resolves_through_the_container_without_http(world):
    flow, _order_id, _t, ids = world
    users = {u["username"]: u["id"] for u in flow.crm.identity.list_users(SYSTEM, limit=200)}
    dispatcher = Principal(user_id=users["disp"], username="disp", role=Role.DISPATCH)
    dealer = Principal(user_id=users["hongda"], username="hongda", role=Role.DEALER, dealer_id=flow.dealer_id)

    first = flow.crm.order_flow.rejected_erp_events(dispatcher, code="erp.unknown_tracking_no", limit=2)
    rest = flow.crm.order_flow.rejected_erp_events(dispatcher, code="erp.unknown_tracking_no",
                                                   before_id=first["next_before_id"], limit=2)
    resolved = flow.crm.order_flow.resolve_rejected_erp_event(dispatcher, ids["ev-u2"], "ERP录入错误的单号，已通知ERP更正")
    with pytest.raises(PermissionDenied):
        flow.crm.order_flow.rejected_erp_events(dealer)

    assert [r["event_id"] for r in first["items"]] == ["ev-u3", "ev-u2"]
    assert [r["event_id"] for r in rest["items"]] == ["ev-u1"] and rest["next_before_id"] is None
    assert (resolved["status"], resolved["resolved_by"]) == ("resolved", "disp")
    still_open = flow.crm.order_flow.rejected_erp_events(dispatcher, date_from=dt.date(2026, 5, 2))["items"]
    assert [r["event_id"] for r in still_open] == ["ev-u3", "ev-reg"]
