"""The credit API over HTTP (Litestar test client) on SQLite and PostgreSQL: idempotent payment
postings (RELIABILITY.md invariant 3), the dealer's own credit page reconciling with its
contracts, invoices and payments, isolation, four-eyes term changes and clean errors."""

from __future__ import annotations

import datetime as dt

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select

import dealercrm
from dealercrm.adapters.db.credit_tables import credit_idempotency_keys, credit_payments
from dealercrm.adapters.security import JwtTokenService
from dealercrm.application.identity import CreateUser
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.values import Vin
from tests.apps import app_for
from tests.fakes import race

SECRET = "credit-test-secret-long-enough-for-hs256-0123456789"
PASSWORD = "Passw0rd123"
VIN1 = Vin.build("LZZ", "1CCND", "P", "W", "100001").value
VIN2 = Vin.build("LZZ", "1CCND", "P", "W", "100002").value


class Api:
    def __init__(self, client: TestClient, crm, kit) -> None:
        self.client, self.crm, self.kit = client, crm, kit
        self.tokens: dict[str, dict[str, str]] = {}

    def user(self, username: str, role: str, *, dealer_id: int | None = None, regions: tuple[str, ...] = ()):
        uid = self.crm.identity.create_user(Principal.system(), CreateUser(
            username, username, role, PASSWORD, dealer_id=dealer_id, regions=regions))
        token, _ = self.crm.tokens.issue(Principal(uid, username, Role(role), dealer_id=dealer_id, regions=regions))
        self.tokens[username] = {"Authorization": f"Bearer {token}"}
        return self.tokens[username]

    def get(self, path: str, who: str, **kw):
        return self.client.get(path, headers=self.tokens[who], **kw)

    def post(self, path: str, who: str, json=None, headers=None):
        return self.client.post(path, headers={**self.tokens[who], **(headers or {})}, json=json)


@pytest.fixture
def api(db_url, clock, kit):
    settings = load_settings({}, database_url=db_url, jwt_secret=SECRET, log_json=True, log_level="WARNING",
                             principal_cache_seconds=0)
    # business time is the test's clock; tokens live in real time (PyJWT checks expiry against it)
    tokens = JwtTokenService(SECRET, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                             ttl=dt.timedelta(hours=1), clock=lambda: dt.datetime.now(dt.UTC))
    crm = dealercrm.bootstrap(settings, clock=clock, token_service=tokens)
    kit.crm = crm
    client = TestClient(app_for(crm, settings))
    with client:
        a = Api(client, crm, kit)
        a.dealer_a = kit.add_dealer(region="华中")
        a.dealer_b = kit.add_dealer(region="华东")
        for name, role in (("fin1", "finance"), ("fin2", "finance"), ("kaipiao", "invoicing"), ("admin", "admin")):
            a.user(name, role)
        a.user("dealer_a", "dealer", dealer_id=a.dealer_a)
        a.user("dealer_b", "dealer", dealer_id=a.dealer_b)
        a.user("sales_east", "sales", regions=("华东",))
        a.user("guard", "guard")
        yield a
    crm.close()


def _grant(api: Api, dealer_id: int, limit_fen: int, **terms) -> None:
    r = api.post(f"/api/v1/credit/accounts/{dealer_id}/change-requests", "fin1",
                 {"reason": "年度授信", "limit_fen": limit_fen, **terms})
    assert r.status_code == 201, r.text
    r = api.post(f"/api/v1/credit/change-requests/{r.json()['id']}/approve", "fin2", {"note": "同意"})
    assert r.status_code == 200, r.text


def _payment(dealer_id: int, amount_fen: int = 300_000_00, **over) -> dict:
    return {"dealer_id": dealer_id, "amount_fen": amount_fen, "received_on": "2026-03-01",
            "reference": "工行回单 2026030100017", **over}


def test_50_concurrent_identical_payment_postings_book_one_payment_with_identical_answers(api):
    _grant(api, api.dealer_a, 1_000_000_00)
    api.kit.reserve(api.dealer_a, "HT-2026-000001", 500_000_00)
    body = _payment(api.dealer_a, contract_no="HT-2026-000001")
    key = {"Idempotency-Key": "pay-7f3c2a91-0001"}

    def post(_: int) -> tuple[int, bytes]:
        r = api.post("/api/v1/credit/payments", "fin1", body, key)
        return r.status_code, r.content

    answers = race(50, post, catch=())

    assert {status for status, _ in answers} == {201}
    assert len({content for _, content in answers}) == 1
    with api.crm.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(credit_payments)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(credit_idempotency_keys)).scalar() == 1
    assert api.kit.account(api.dealer_a).prepayment_fen == 300_000_00

    again = api.post("/api/v1/credit/payments", "fin1", {**body, "amount_fen": 300_000_01}, key)

    assert again.status_code == 422, again.text
    assert again.json()["code"] == "idempotency.key_reused"
    assert again.json()["field"] == "Idempotency-Key"
    with api.crm.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(credit_payments)).scalar() == 1


def test_a_payment_without_an_idempotency_key_is_422_and_books_nothing(api):
    r = api.post("/api/v1/credit/payments", "fin1", _payment(api.dealer_a))

    assert r.status_code == 422
    assert r.json()["code"] == "idempotency.key_required"
    assert api.kit.facts(api.dealer_a).prepayment_fen == 0


def test_the_dealers_credit_page_reconciles_with_its_contracts_invoices_and_payments(api):
    _grant(api, api.dealer_a, 2_000_000_00, term_days=30)
    api.kit.reserve(api.dealer_a, "HT-2026-000011", 700_000_00)
    api.kit.reserve(api.dealer_a, "HT-2026-000012", 400_000_00)
    r = api.post("/api/v1/credit/invoices", "kaipiao",
                 {"contract_no": "HT-2026-000011", "amount_fen": 350_000_00, "vins": [VIN1]})
    assert r.status_code == 201, r.text
    assert r.json()["due_on"] == "2026-04-01"
    r = api.post("/api/v1/credit/invoices", "kaipiao", {"contract_no": "HT-2026-000011", "amount_fen": 350_000_00,
                                                        "vins": [VIN2]})
    assert r.status_code == 201
    r = api.post("/api/v1/credit/payments", "fin1", _payment(api.dealer_a, 500_000_00),
                 {"Idempotency-Key": "pay-page-000000001"})
    assert r.status_code == 201, r.text
    assert [a["amount_fen"] for a in r.json()["allocations"]] == [350_000_00, 150_000_00]
    api.post("/api/v1/credit/payments", "fin1", _payment(api.dealer_b, 1_00), {"Idempotency-Key": "pay-other-dealer"})

    page = api.get("/api/v1/credit/me", "dealer_a").json()

    e = page["exposure"]
    assert page["dealer"]["id"] == api.dealer_a
    assert page["terms"]["limit_fen"] == 2_000_000_00
    assert e["receivable_fen"] == sum(x["open_fen"] for x in page["open_receivables"]) == 200_000_00
    assert e["uninvoiced_fen"] == sum(c["uninvoiced_fen"] for c in page["contracts"]) == 400_000_00
    assert e["prepayment_fen"] == sum(p["unapplied_fen"] for p in page["payments"]) == 0
    assert e["exposure_fen"] == 600_000_00 and e["available_fen"] == 1_400_000_00
    assert {c["contract_no"]: c["receivable_fen"] for c in page["contracts"]} == {
        "HT-2026-000011": 200_000_00, "HT-2026-000012": 0}
    assert [p["dealer_id"] for p in page["payments"]] == [api.dealer_a]
    statuses = api.get("/api/v1/credit/vehicles/invoice-status", "fin1", params={"vin": [VIN1, VIN2]}).json()["items"]
    assert [(s["vin"], s["label"]) for s in statuses] == [(VIN1, "已开票已收款"), (VIN2, "已开票未收款")]
    assert api.get(f"/api/v1/credit/accounts/{api.dealer_a}/reconciliation", "fin1").json()["consistent"] is True


def test_a_dealer_sees_only_its_own_credit_and_staff_only_their_scope(api):
    _grant(api, api.dealer_b, 100_000_00)
    api.kit.reserve(api.dealer_b, "HT-2026-000021", 10_000_00)

    assert api.get("/api/v1/credit/me", "dealer_a").json()["exposure"]["exposure_fen"] == 0
    for path in (f"/api/v1/credit/accounts/{api.dealer_b}", "/api/v1/credit/accounts",
                 "/api/v1/credit/contracts/HT-2026-000021", "/api/v1/credit/payments"):
        assert api.get(path, "dealer_a").status_code == 403  # staff routes: a dealer token is refused
    assert api.get("/api/v1/credit/me", "fin1").status_code == 403
    assert api.get("/api/v1/credit/accounts", "guard").status_code == 403
    assert api.get(f"/api/v1/credit/accounts/{api.dealer_a}", "sales_east").status_code == 404
    assert api.get(f"/api/v1/credit/accounts/{api.dealer_b}", "sales_east").status_code == 200
    assert [a["dealer_id"] for a in api.get("/api/v1/credit/accounts", "sales_east").json()["items"]] == [api.dealer_b]
    assert api.get("/api/v1/credit/contracts/HT-2026-000021", "sales_east").status_code == 200
    assert api.get("/api/v1/credit/contracts/HT-NOPE", "fin1").status_code == 404


def test_term_changes_need_a_second_approver_and_keep_who_and_why(api):
    r = api.post(f"/api/v1/credit/accounts/{api.dealer_a}/change-requests", "fin1",
                 {"reason": "新增半挂车业务", "limit_fen": 500_000_00, "term_days": 45, "payment_cycle": "quarterly"})
    request_id = r.json()["id"]

    self_approval = api.post(f"/api/v1/credit/change-requests/{request_id}/approve", "fin1", {})
    second = api.post(f"/api/v1/credit/accounts/{api.dealer_a}/change-requests", "fin2",
                      {"reason": "重复", "limit_fen": 1})
    approved = api.post(f"/api/v1/credit/change-requests/{request_id}/approve", "fin2", {"note": "已核实流水"})

    assert self_approval.status_code == 409 and self_approval.json()["code"] == "credit.four_eyes"
    assert second.status_code == 409 and second.json()["code"] == "credit.change_pending"
    assert approved.status_code == 200
    body = approved.json()
    assert body["state"] == "approved" and body["requested_by"] == "fin1" and body["decided_by"] == "fin2"
    assert body["previous"] == {"limit_fen": 0, "term_days": 30, "payment_cycle": "monthly"}
    terms = api.get(f"/api/v1/credit/accounts/{api.dealer_a}", "fin1").json()["terms"]
    assert (terms["limit_fen"], terms["term_days"], terms["payment_cycle_label"]) == (500_000_00, 45, "季结")
    history = api.get(f"/api/v1/credit/accounts/{api.dealer_a}/history", "fin1").json()["items"]
    assert any(h["entity"] == "credit_account" and h["actor_name"] == "fin2" for h in history)


def test_lowering_the_limit_below_exposure_is_refused_and_changes_nothing(api):
    _grant(api, api.dealer_a, 100_000_00)
    api.kit.reserve(api.dealer_a, "HT-2026-000031", 80_000_00)
    r = api.post(f"/api/v1/credit/accounts/{api.dealer_a}/change-requests", "fin1",
                 {"reason": "压降额度", "limit_fen": 50_000_00})

    refused = api.post(f"/api/v1/credit/change-requests/{r.json()['id']}/approve", "fin2", {})

    assert refused.status_code == 409
    assert refused.json()["code"] == "credit.limit_below_exposure"
    assert api.kit.account(api.dealer_a).limit_fen == 100_000_00
    pending = api.get("/api/v1/credit/change-requests", "fin1", params={"status": "pending"}).json()["items"]
    assert [p["id"] for p in pending] == [r.json()["id"]]


@pytest.mark.parametrize("field, value", [("exposure_fen", 0), ("status", "frozen"), ("dealer_id", 1)])
def test_request_structs_refuse_fields_that_do_not_belong(api, field, value):
    r = api.post(f"/api/v1/credit/accounts/{api.dealer_a}/change-requests", "fin1",
                 {"reason": "x", "limit_fen": 1, field: value} if field != "status" else
                 {"reason": "x", "status": "frozen", "limit_fen": 1, "receivable_fen": 5})

    assert r.status_code == 422
    assert api.kit.account(api.dealer_a).limit_fen == 0


def test_bad_invoice_input_is_422_naming_the_field_and_writes_nothing(api):
    _grant(api, api.dealer_a, 100_000_00)
    api.kit.reserve(api.dealer_a, "HT-2026-000041", 50_000_00)

    bad_vin = api.post("/api/v1/credit/invoices", "kaipiao",
                       {"contract_no": "HT-2026-000041", "amount_fen": 10_000_00, "vins": ["LZZ1CCND0PW100001"]})
    too_much = api.post("/api/v1/credit/invoices", "kaipiao", {"contract_no": "HT-2026-000041", "amount_fen": 60_000_00})
    future = api.post("/api/v1/credit/invoices", "kaipiao", {"contract_no": "HT-2026-000041", "amount_fen": 1,
                                                             "issued_on": "2030-01-01"})

    assert bad_vin.status_code == 422 and bad_vin.json()["field"] == "vins[0]"
    assert too_much.status_code == 409 and too_much.json()["code"] == "credit.invoice_exceeds_contract"
    assert future.status_code == 422 and future.json()["field"] == "issued_on"
    assert api.get("/api/v1/credit/invoices", "fin1").json()["items"] == []
    assert api.kit.account(api.dealer_a).receivable_fen == 0


def test_ageing_report_buckets_open_receivables_by_invoice_age(api):
    _grant(api, api.dealer_b, 1_000_000_00, term_days=30)
    api.kit.reserve(api.dealer_b, "HT-2026-000051", 600_000_00)
    # 30 days old: still 0–30 and due today (not overdue); 31 days: 31–60 and a day overdue
    for days, amount in ((10, 100_000_00), (30, 1_000_00), (31, 2_000_00), (45, 200_000_00), (75, 50_000_00),
                         (120, 25_000_00)):
        r = api.post("/api/v1/credit/invoices", "kaipiao", {
            "contract_no": "HT-2026-000051", "amount_fen": amount,
            "issued_on": (dt.date(2026, 3, 2) - dt.timedelta(days=days)).isoformat()})
        assert r.status_code == 201, r.text

    report = api.get("/api/v1/credit/receivables/ageing", "sales_east").json()

    assert report["total"] == {"b0_30_fen": 101_000_00, "b31_60_fen": 202_000_00, "b61_90_fen": 50_000_00,
                               "over_90_fen": 25_000_00, "open_fen": 378_000_00, "overdue_fen": 277_000_00}
    assert [d["dealer_id"] for d in report["dealers"]] == [api.dealer_b]
    assert api.get("/api/v1/credit/receivables/ageing", "sales_east",
                   params={"dealer_id": api.dealer_a}).status_code == 404
