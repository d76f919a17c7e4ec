"""Dealer value analysis, satisfaction surveys and customer care over HTTP on SQLite and
PostgreSQL: scores from facts in the database (reusing the credit evaluation), explicit tier
application, once-only answers, isolation between dealers, batch sends through the outbox."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from litestar.testing import TestClient
from sqlalchemy import insert, select, update

import dealercrm
from dealercrm.adapters.db.credit_tables import credit_accounts, credit_evaluations
from dealercrm.adapters.db.gate_tables import vehicles
from dealercrm.adapters.db.orders_tables import dealer_price_tiers
from dealercrm.adapters.db.orm import dealers
from dealercrm.adapters.notify.sql_outbox import notification_outbox as notifications
from dealercrm.adapters.security import JwtTokenService
from dealercrm.application.identity import CreateUser
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import Uscc, Vin
from tests.apps import app_for
from tests.fakes import FakeClock

SECRET = "care-test-secret-long-enough-for-hs256-0123456789abcdef"
C = "/api/v1/care"
_seq = itertools.count(1)


class Api:
    def __init__(self, crm, client: TestClient) -> None:
        self.crm, self.client = crm, client
        self.h: dict[str, dict[str, str]] = {}

    def login(self, name: str, role: Role, **kw) -> Principal:
        uid = self.crm.identity.create_user(Principal.system(), CreateUser(name, name, role.value, "Passw0rd123", **kw))
        p = Principal(uid, name, role, dealer_id=kw.get("dealer_id"))
        self.h[name] = {"Authorization": f"Bearer {self.crm.tokens.issue(p)[0]}"}
        return p

    def dealer(self, region: str = "华中") -> int:
        n = next(_seq)
        body = f"91{430000 + n:06d}MA{n:07d}"
        with self.crm.engine.begin() as conn:
            return conn.execute(insert(dealers).values(
                code=f"DL-C{n:06d}", legal_name=f"关怀测试专用车有限公司{n}", short_name=f"关怀{n}",
                uscc=body + Uscc.check_char(body), region=region, province="河南省", city="郑州市",
                address_detail=f"经开区{n}号", status="approved", territory_regions=[], territory_industries=[],
                version=1).returning(dealers.c.id)).scalar_one()

    def get(self, path, who, **params):
        return self.client.get(C + path, headers=self.h[who], params=params)

    def post(self, path, who, json=None):
        return self.client.post(C + path, headers=self.h[who], json=json if json is not None else {})

    def put(self, path, who, json):
        return self.client.put(C + path, headers=self.h[who], json=json)


@pytest.fixture
def api(db_url):
    clock = FakeClock(dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC))
    settings = load_settings({}, database_url=db_url, jwt_secret=SECRET, log_json=True, log_level="WARNING",
                             principal_cache_seconds=0)
    tokens = JwtTokenService(SECRET, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                             ttl=dt.timedelta(hours=1), clock=lambda: dt.datetime.now(dt.UTC))
    crm = dealercrm.bootstrap(settings, clock=clock, token_service=tokens)
    with TestClient(app_for(crm, settings)) as client:
        api = Api(crm, client)
        api.clock = clock
        yield api
    crm.close()


def test_value_analysis_scores_from_credit_and_stock_and_applies_tier_only_when_asked(api):
    d1, d2 = api.dealer(), api.dealer("华东")
    api.login("shichang", Role.MARKETING)
    api.login("admin1", Role.ADMIN)
    api.login("dealer1", Role.DEALER, dealer_id=d1)
    api.login("dealer2", Role.DEALER, dealer_id=d2)
    with api.crm.engine.begin() as conn:
        conn.execute(insert(credit_evaluations).values(
            dealer_id=d1, evaluated_at=dt.datetime(2026, 3, 9, tzinfo=dt.UTC), score=80, grade="B",
            inputs={"due_fen": 1000, "on_time_fen": 800, "max_days_overdue": 5}, breakdown={}, formula="f"))
        for n in range(4):
            conn.execute(insert(vehicles).values(
                vin=Vin.build("LZZ", "1CSVC", "T", "A", f"{900 + n:06d}").value, state="in_dealer_stock",
                dealer_id=d1, product_line="tanker", model_code="HT5250GYY", version=1))

    # weights changed by marketing (who/when kept), invalid weights refused as 422
    model = api.get("/value/model", "shichang").json()["model"]
    bad = api.put("/value/model", "shichang", {"model": model | {"weights": model["weights"] | {"overdue": 99}}})
    assert bad.status_code == 422 and bad.json()["code"] == "dealer_value.weights_sum"
    r = api.put("/value/model", "shichang", {"model": model | {"bands": {"A": 90, "B": 60, "C": 30}}, "note": "调档"})
    assert r.status_code == 200 and r.json()["created_by"] == "shichang"

    e = api.post(f"/value/dealers/{d1}/evaluate", "shichang")
    assert e.status_code == 201, e.text
    ev = e.json()
    assert ev["inputs"]["credit_evaluation_id"] is not None and ev["inputs"]["in_stock"] == 4
    pts = ev["breakdown"]["points"]
    assert pts["punctuality"] == 80 and pts["overdue"] == 90 and pts["turnover"] == 0 and pts["sales_volume"] == 0
    # weights 20/20/20/15/15 (no training invitation: training left out) scaled to 22/22/22/17/17:
    # (22*80 + 17*90)/100 = 32.9 → 33 → band C (30)
    assert ev["score"] == 33 and ev["value_class"] == "C" and ev["suggested_tier_code"] == "VALUE-C"
    with api.crm.engine.connect() as conn:
        assert conn.execute(select(dealer_price_tiers).where(dealer_price_tiers.c.dealer_id == d1)).first() is None

    assert api.post("/value/run", "admin1", {}).json()["evaluated"] >= 2
    hist = api.get(f"/value/dealers/{d1}/history", "shichang").json()["items"]
    assert len(hist) == 2 and {h["trigger"] for h in hist} == {"manual"}

    # applying the older evaluation is refused; the latest one writes the catalog's price tier
    assert api.post(f"/value/evaluations/{ev['id']}/apply-tier", "admin1",
                    {"product_lines": ["tanker"]}).status_code == 409
    latest = hist[0]["id"]
    # one transaction: an unknown product line refuses the whole application, no line is written
    bad = api.post(f"/value/evaluations/{latest}/apply-tier", "admin1", {"product_lines": ["tanker", "bicycle"]})
    assert bad.status_code == 422 and bad.json()["field"] == "product_line", bad.text
    with api.crm.engine.connect() as conn:
        assert conn.execute(select(dealer_price_tiers).where(dealer_price_tiers.c.dealer_id == d1)).first() is None
    ok = api.post(f"/value/evaluations/{latest}/apply-tier", "admin1", {"product_lines": ["tanker"]})
    assert ok.status_code == 200, ok.text
    with api.crm.engine.connect() as conn:
        tier = conn.execute(select(dealer_price_tiers).where(dealer_price_tiers.c.dealer_id == d1)).one()
    assert tier.tier_code == "VALUE-C" and tier.discount_bp == 100 and tier.updated_by == "admin1"
    assert api.post(f"/value/evaluations/{latest}/apply-tier", "shichang", {"product_lines": ["tanker"]}
                    ).status_code == 403

    # a dealer sees its own class only, nothing of another dealer
    mine = api.get("/value/mine", "dealer1").json()
    assert mine == mine | {"dealer_id": d1, "value_class": "C"} and "score" not in mine
    assert api.get(f"/value/dealers/{d1}/history", "dealer2").status_code == 403
    assert api.get("/value/dealers", "dealer1").status_code == 403


QUESTIONS = [{"topic": "products", "kind": "score", "text": "产品质量满意度"},
             {"topic": "delivery", "kind": "score", "text": "交付及时性"},
             {"topic": "sales_service", "kind": "text", "text": "意见和建议", "required": False}]


def test_survey_answered_once_isolated_and_analysed(api):
    d1, d2, d3 = api.dealer(), api.dealer("华东"), api.dealer()
    api.login("shichang", Role.MARKETING)
    for n, d in enumerate((d1, d2, d3), start=1):
        api.login(f"dealer{n}", Role.DEALER, dealer_id=d, email=f"dealer{n}@example.com")
    r = api.post("/surveys", "shichang", {"title": "2026年一季度经销商满意度调查", "questions": QUESTIONS,
                                          "threshold": 3, "deadline": "2026-03-31"})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert api.post("/surveys", "shichang", {"title": "x", "questions": [QUESTIONS[2]]}).status_code == 422
    # a draft is invisible to dealers
    assert api.get(f"/surveys/{sid}", "dealer1").status_code == 404
    sent = api.post(f"/surveys/{sid}/send", "shichang", {"dealer_ids": [d1, d2]}).json()
    assert sent["invited"] == 2 and sent["notified"] == 2
    with api.crm.engine.connect() as conn:
        mails = conn.execute(select(notifications.c.recipient, notifications.c.body)
                             .where(notifications.c.template_code == "survey.invitation")).all()
    assert {m.recipient for m in mails} == {"dealer1@example.com", "dealer2@example.com"}
    assert all(f"/dealer/surveys/{sid}" in m.body for m in mails)

    # dealer 3 was not invited: cannot see or answer it
    assert api.get(f"/surveys/{sid}", "dealer3").status_code == 404
    assert api.post(f"/surveys/{sid}/answers", "dealer3", {"answers": {"1": 5, "2": 5}}).status_code == 404
    assert api.get("/surveys", "dealer3").json()["items"] == []

    assert api.post(f"/surveys/{sid}/answers", "dealer1", {"answers": {"1": 9, "2": 5}}).status_code == 422
    a1 = api.post(f"/surveys/{sid}/answers", "dealer1", {"answers": {"1": 5, "2": 2, "3": "交车晚了两周"}})
    assert a1.status_code == 201, a1.text
    again = api.post(f"/surveys/{sid}/answers", "dealer1", {"answers": {"1": 5, "2": 5}})
    assert again.status_code == 409 and again.json()["code"] == "survey.already_answered"
    assert api.post(f"/surveys/{sid}/answers", "dealer2", {"answers": {"1": 4, "2": 4}}).status_code == 201
    # a dealer sees its own answer, never the other's
    assert api.get(f"/surveys/{sid}", "dealer2").json()["my_response"]["answers"] == {"1": 4, "2": 4}

    out = api.get(f"/surveys/{sid}/analysis", "shichang").json()
    assert out["responses"] == 2 and out["invited"] == 2
    assert [(q["no"], q["average_x100"]) for q in out["questions"]] == [(1, 450), (2, 300)]
    assert {r["region"]: r["average_x100"] for r in out["regions"]} == {"华中": 350, "华东": 400}
    [unhappy] = out["dissatisfied"]
    assert unhappy["dealer_id"] == d1 and "交车晚了两周" in unhappy["reasons"][-1]
    assert api.get(f"/surveys/{sid}/analysis", "dealer1").status_code == 403

    f = api.post(f"/survey-responses/{unhappy['response_id']}/follow-ups", "shichang",
                 {"action": "协调生产部加急排产并电话致歉", "owner": "王经理"})
    assert f.status_code == 201
    fid = f.json()["id"]
    assert api.post(f"/survey-follow-ups/{fid}/status", "shichang", {"status": "done"}).status_code == 422
    assert api.post(f"/survey-follow-ups/{fid}/status", "shichang",
                    {"status": "done", "result": "已于3月12日交车"}).json()["status"] == "done"
    assert api.post(f"/survey-follow-ups/{fid}/status", "shichang", {"status": "in_progress"}).status_code == 409
    out = api.get(f"/surveys/{sid}/analysis", "shichang").json()
    assert out["dissatisfied"][0]["follow_ups"][0]["status"] == "done"

    assert api.post(f"/surveys/{sid}/close", "shichang").status_code == 200
    assert api.post(f"/surveys/{sid}/answers", "dealer3", {"answers": {"1": 5, "2": 5}}).status_code == 404


def test_care_tasks_reminders_and_batch_send(api):
    d1 = api.dealer()
    api.login("kefu", Role.AFTER_SALES)
    api.login("dealer1", Role.DEALER, dealer_id=d1)
    t = api.post("/templates", "kefu", {"name": "交车回访短信", "channel": "sms",
                                         "body": "{name}您好，您的{model_code}已交车一周，使用中如有问题请联系{dealer_name}。"})
    assert t.status_code == 201, t.text
    bad = api.post("/templates", "kefu", {"name": "坏模板", "channel": "sms", "body": "{name}的密码{password}"})
    assert bad.status_code == 422 and bad.json()["code"] == "care.template_variable"
    task = api.post("/tasks", "kefu", {"kind": "delivery_follow_up", "target_kind": "customer", "name": "赵师傅",
                                       "due_on": "2026-03-10", "title": "交车回访", "phone": "13700001111",
                                       "dealer_id": d1, "model_code": "HT5250GYY", "vin": "LZZ1CSVCXTA000001"})
    assert task.status_code == 201, task.text
    tid = task.json()["id"]

    # due today: the scheduler raises a reminder alert for after-sales staff
    api.crm.engagement.run_scheduler_once()
    alerts = api.client.get("/api/v1/alerts", headers=api.h["kefu"]).json()
    items = alerts["items"] if isinstance(alerts, dict) else alerts
    assert any(a.get("subject_id") == str(tid) or "交车回访" in a.get("title", "") for a in items)

    # one recipient lacks a variable: nothing is queued
    miss = api.post("/batches", "kefu", {"template_id": t.json()["id"], "task_ids": [tid],
                                          "recipients": [{"name": "钱师傅", "to": "13700002222",
                                                          "variables": {"name": "钱师傅"}}]})
    assert miss.status_code == 422 and miss.json()["code"] == "care.variable_missing"
    with api.crm.engine.connect() as conn:
        assert conn.execute(select(notifications).where(notifications.c.template_code == "care.sms")).first() is None
    ok = api.post("/batches", "kefu", {"template_id": t.json()["id"], "task_ids": [tid],
                                        "recipients": [{"name": "钱师傅", "to": "13700002222", "variables": {
                                            "name": "钱师傅", "model_code": "HT9400", "dealer_name": "关怀经销商"}}]})
    assert ok.status_code == 201, ok.text
    assert ok.json()["recipients"] == 2 and len(ok.json()["notification_ids"]) == 2
    with api.crm.engine.connect() as conn:
        bodies = {r.recipient: r.body for r in conn.execute(
            select(notifications.c.recipient, notifications.c.body).where(notifications.c.template_code == "care.sms"))}
    assert bodies["13700001111"].startswith("赵师傅您好，您的HT5250GYY") and "钱师傅您好" in bodies["13700002222"]

    assert api.post(f"/tasks/{tid}/status", "kefu", {"status": "done", "result": "客户满意"}).json()["status"] == "done"
    assert api.post(f"/tasks/{tid}/status", "kefu", {"status": "cancelled"}).status_code == 409
    assert api.get("/tasks", "dealer1").status_code == 403


def test_letter_batch_prints_envelopes_and_letters(api):
    api.login("kefu", Role.MARKETING)
    t = api.post("/templates", "kefu", {"name": "春节问候信", "channel": "letter", "subject": "{festival}问候",
                                         "body": "尊敬的{name}：\n值此{festival}之际，{company}向您致以诚挚的问候！"})
    assert t.status_code == 201, t.text
    b = api.post("/batches", "kefu", {"template_id": t.json()["id"], "variables": {"festival": "春节", "company": "专用车公司"},
                                       "recipients": [{"name": "孙经理", "address": "河南省郑州市经开区第八大街1号",
                                                       "variables": {"name": "孙经理"}}]})
    assert b.status_code == 201 and b.json()["notification_ids"] == []
    batch = api.get(f"/batches/{b.json()['batch_id']}", "kefu").json()
    assert batch["recipients"][0]["body"].startswith("尊敬的孙经理：\n值此春节之际，专用车公司")
    pdf = api.get(f"/batches/{b.json()['batch_id']}/letters.pdf", "kefu")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert api.get(f"/batches/{b.json()['batch_id']}/letters.pdf", "kefu", layout="poster").status_code == 422


def _training(conn, dealer_id: int, n: int, *, attended: bool | None, status: str = "completed") -> None:
    from dealercrm.adapters.db.marketing_tables import training_invitations, training_participants, trainings

    at = dt.datetime(2026, 2, n, 2, 0, tzinfo=dt.UTC)
    tid = conn.execute(insert(trainings).values(
        training_no=f"PX-T{dealer_id}-{n}", title="新品培训", topic="罐式车", audience="dealers", starts_at=at,
        ends_at=at + dt.timedelta(hours=2), online=False, organizer_name="市场部", organizer_role="marketing",
        status=status, meeting_status="none", meeting_attempts=0, meeting_generation=0, created_at=at,
        version=1).returning(trainings.c.id)).scalar_one()
    iid = conn.execute(insert(training_invitations).values(
        training_id=tid, invitee_kind="dealer", invitee_id=dealer_id, invitee_name="经销商", dealer_id=dealer_id,
        response="confirmed").returning(training_invitations.c.id)).scalar_one()
    if attended is not None:
        conn.execute(insert(training_participants).values(training_id=tid, invitation_id=iid, name="王建国",
                                                          attended=attended, recorded_at=at))


def test_value_analysis_counts_training_completion_and_proposes_the_credit_grade_for_finance_to_decide(api):
    d1 = api.dealer()
    api.login("shichang", Role.MARKETING)
    api.login("caiwu", Role.FINANCE)
    with api.crm.engine.begin() as conn:
        _training(conn, d1, 1, attended=True)
        _training(conn, d1, 2, attended=False)
        _training(conn, d1, 3, attended=None)  # invited, never came: not completed
        _training(conn, d1, 4, attended=True)
        _training(conn, d1, 5, attended=True, status="cancelled")  # not a completed training: not counted

    no_terms_yet = api.post(f"/value/dealers/{d1}/evaluate", "shichang").json()
    assert no_terms_yet["credit_change_request_id"] is None  # no credit granted yet: no grade to propose
    api.login("caiwu2", Role.FINANCE)
    grant = api.client.post(f"/api/v1/credit/accounts/{d1}/change-requests", headers=api.h["caiwu"],
                            json={"reason": "年度授信", "limit_fen": 100_000_00}).json()
    granted = api.client.post(f"/api/v1/credit/change-requests/{grant['id']}/approve", headers=api.h["caiwu2"], json={})
    assert granted.status_code == 200, granted.text

    ev = api.post(f"/value/dealers/{d1}/evaluate", "shichang").json()
    assert (ev["inputs"]["trainings_invited"], ev["inputs"]["trainings_attended"]) == (4, 2)
    assert ev["breakdown"]["points"]["training"] == 50 and ev["breakdown"]["weights_used"]["training"] > 0
    # only volume, amount (0 each) and training (50) have data: 20/20/10 scaled 40/40/20 → 10 → class D
    assert (ev["score"], ev["value_class"]) == (10, "D")

    # the class is the credit grade it proposes: a credit change request, decided by finance (four eyes)
    rid = ev["credit_change_request_id"]
    [req] = [r for r in api.client.get("/api/v1/credit/change-requests", headers=api.h["caiwu"],
                                       params={"dealer_id": d1}).json()["items"] if r["state"] == "pending"]
    assert req["id"] == rid and req["state"] == "pending" and req["changes"] == {"credit_grade": "D"} and "价值评估" in req["reason"]
    again = api.post(f"/value/dealers/{d1}/evaluate", "shichang").json()
    assert again["credit_change_request_id"] is None  # one pending request at a time
    bad = api.client.post(f"/api/v1/credit/accounts/{d1}/change-requests", headers=api.h["caiwu"],
                          json={"reason": "手工", "credit_grade": "E"})
    assert bad.status_code == 422 and bad.json()["field"] == "credit_grade"
    ok = api.client.post(f"/api/v1/credit/change-requests/{rid}/approve", headers=api.h["caiwu2"], json={})
    assert ok.status_code == 200, ok.text
    page = api.client.get(f"/api/v1/credit/accounts/{d1}", headers=api.h["caiwu"]).json()
    assert page["terms"]["credit_grade"] == "D"
    assert api.post(f"/value/dealers/{d1}/evaluate", "shichang").json()["credit_change_request_id"] is None

    # finance's own request is never blocked by a waiting proposal: the proposal gives way
    with api.crm.engine.begin() as conn:  # the grade was set to A by hand since (as an approved request would)
        conn.execute(update(credit_accounts).where(credit_accounts.c.dealer_id == d1).values(credit_grade="A"))
    moved = api.post(f"/value/dealers/{d1}/evaluate", "shichang").json()
    assert moved["value_class"] == "D" and moved["credit_change_request_id"] is not None
    limit = api.client.post(f"/api/v1/credit/accounts/{d1}/change-requests", headers=api.h["caiwu"],
                            json={"reason": "旺季提额", "limit_fen": 150_000_00})
    assert limit.status_code == 201, limit.text
    [gone] = [r for r in api.client.get("/api/v1/credit/change-requests", headers=api.h["caiwu"],
                                        params={"dealer_id": d1}).json()["items"]
              if r["id"] == moved["credit_change_request_id"]]
    assert (gone["state"], gone["state_label"], gone["decided_by"]) == ("superseded", "已被取代", "caiwu")
    assert limit.json()["request_no"] in gone["decision_note"]
    blocked = api.client.post(f"/api/v1/credit/accounts/{d1}/change-requests", headers=api.h["caiwu2"],
                              json={"reason": "再调", "term_days": 60})
    assert blocked.status_code == 409 and blocked.json()["code"] == "credit.change_pending"  # a person's request waits
    assert api.post(f"/value/dealers/{d1}/evaluate", "shichang").json()["credit_change_request_id"] is None
    api.client.post(f"/api/v1/credit/change-requests/{limit.json()['id']}/approve", headers=api.h["caiwu2"], json={})

    # a proposal finance rejected is not filed again by every morning's evaluation, only after a quarter
    again = api.post(f"/value/dealers/{d1}/evaluate", "shichang").json()
    assert again["credit_change_request_id"] is not None
    no = api.client.post(f"/api/v1/credit/change-requests/{again['credit_change_request_id']}/reject",
                         headers=api.h["caiwu"], json={"reason": "与实际不符"})
    assert no.status_code == 200, no.text
    api.clock.advance(days=1)
    assert api.post(f"/value/dealers/{d1}/evaluate", "shichang").json()["credit_change_request_id"] is None
    api.clock.advance(days=90)
    assert api.post(f"/value/dealers/{d1}/evaluate", "shichang").json()["credit_change_request_id"] is not None

    # satisfaction from service records (no repair confirmed here: nobody listed; a bad threshold is 422)
    assert api.get("/satisfaction/service-records", "shichang", days=30).json()["dealers"] == []
    bad = api.get("/satisfaction/service-records", "shichang", threshold=9)
    assert bad.status_code == 422 and bad.json()["field"] == "threshold"
