"""Shared set-up of the order-flow tests: a bootstrapped dealercrm served by the Litestar test
client, the reviewers (procurement, technical, production, regional sales), two finance users,
a dealer with an agreement and a credit line, and a published fuel-tanker template."""

from __future__ import annotations

import datetime as dt
import hashlib

from litestar.testing import TestClient

import dealercrm
from dealercrm.adapters.notify.memory import RecordingEmailSender, RecordingSmsSender
from dealercrm.adapters.notify.sql_outbox import SqlAlchemyOutboxStore
from dealercrm.application import channel as ch
from dealercrm.application import credit
from dealercrm.application.catalog import CreateTemplate
from dealercrm.application.identity import CreateUser
from dealercrm.application.outbox import Backoff, OutboxRelay
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal
from dealercrm.domain.values import Uscc
from dealercrm.entrypoints.demo_orders import FUEL_TANKER
from tests.apps import app_for

SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
PASSWORD = "Passw0rd123"
SYSTEM = Principal.system()
STD_FUEL = ["AXLE-FUWA13", "TYRE-12R225", "RIM-STEEL", "SUSP-MECH", "ABS-4S2M", "TANK-5182", "COMP-4",
            "PUMP-GRAVITY", "LEG-STD"]
REVIEWERS = ("procurement", "technical", "production", "sales_huazhong")
STAFF = (("admin", "admin", ()), ("procurement", "procurement", ()), ("technical", "technical", ()),
         ("production", "production", ()), ("sales_huazhong", "sales", ("华中",)), ("fin_a", "finance", ()),
         ("fin_b", "finance", ()))


def add_dealer(crm, n: int, username: str, region: str = "华中") -> int:
    body = f"91410100MA{n:07d}"
    reg = crm.channel.register_dealer(ch.RegisterDealer(
        legal_name=f"测试{n}专用车销售有限公司", uscc=body + Uscc.check_char(body), region=region,
        address=ch.AddressIn("河南省", "郑州市", f"经开区{n}号"),
        contact=ch.ContactIn(name="王建国", title="总经理", phone="13800138000", email=f"boss{n}@dealer.example.cn"),
        applicant_username=username, applicant_password=PASSWORD))
    crm.channel.submit(SYSTEM, reg.dealer_id)
    crm.channel.approve(SYSTEM, reg.dealer_id)
    year = dt.date.today().year
    crm.channel.add_agreement(SYSTEM, ch.AddAgreement(reg.dealer_id, ("tanker", "dump_truck"), ("河南省",), "credit",
                                                      dt.date(year - 1, 1, 1), dt.date(year + 2, 12, 31)))
    return reg.dealer_id


def grant_credit(crm, dealer_id: int, limit_fen: int) -> None:
    users = {u["username"]: u["id"] for u in crm.identity.list_users(SYSTEM, limit=200)}
    fin_a = Principal(user_id=users["fin_a"], username="fin_a", role=credit.Role.FINANCE)
    fin_b = Principal(user_id=users["fin_b"], username="fin_b", role=credit.Role.FINANCE)
    cr = credit.request_credit_change(credit.RequestCreditChange(dealer_id=dealer_id, reason="年度授信",
                                                                 limit_fen=limit_fen), crm.uow(fin_a), crm.clock)
    credit.approve_credit_change(cr.id, "同意", crm.uow(fin_b), crm.clock)


class Flow:
    """The HTTP client, the container and helpers that walk an order along its life cycle."""

    def __init__(self, db_url: str, erp_gateway: object = None, **settings: object) -> None:
        self.settings = load_settings({}, database_url=db_url, jwt_secret=SECRET, log_level="WARNING",
                                      principal_cache_seconds=0, login_rate_per_minute=1000, **settings)
        self.crm = dealercrm.bootstrap(self.settings, erp_gateway=erp_gateway)
        self.client = TestClient(app_for(self.crm, self.settings))
        self._tokens: dict[str, dict[str, str]] = {}

    def __enter__(self) -> Flow:
        self.client.__enter__()
        for name, role, regions in STAFF:
            self.crm.identity.create_user(SYSTEM, CreateUser(name, name, role, PASSWORD, regions=regions))
        self.dealer_id = add_dealer(self.crm, 1, "hongda")
        self.other_dealer_id = add_dealer(self.crm, 2, "shuntong")
        self.template_id = self.crm.orders.create_template(
            SYSTEM, CreateTemplate("HTL9400GYY", "tanker", FUEL_TANKER, True)).id
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.__exit__(*exc)
        self.crm.close()

    def h(self, username: str) -> dict[str, str]:
        if username not in self._tokens:
            r = self.client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            self._tokens[username] = {"Authorization": f"Bearer {r.json()['access_token']}",
                                      "User-Agent": f"pytest-{username}"}
        return self._tokens[username]

    # -- steps -----------------------------------------------------------------------------

    def submit_order(self, quantity: int = 2, dealer: str = "hongda") -> dict:
        body = {"template_id": self.template_id, "options": STD_FUEL, "quantity": quantity,
                "requested_delivery_date": (dt.date.today() + dt.timedelta(days=90)).isoformat(),
                "delivery_method": "self_pickup"}
        r = self.client.post("/api/v1/orders/", json=body, headers=self.h(dealer), params={"submit": "true"})
        assert r.status_code == 201, r.text
        return r.json()

    def review_steps(self, order_id: int, as_user: str = "admin") -> dict[str, dict]:
        r = self.client.get(f"/api/v1/orders/{order_id}/review", headers=self.h(as_user))
        assert r.status_code == 200, r.text
        return {s["key"]: s for s in r.json()["items"][0]["steps"]}

    def decide(self, order_id: int, key: str, user: str, decision: str = "approve", reason: str | None = None):
        step = self.review_steps(order_id)[key]
        body = {"reason": reason} if decision == "reject" else {"comment": "同意"}
        return self.client.post(f"/api/v1/workflows/steps/{step['id']}/{decision}", json=body, headers=self.h(user))

    def approve_all(self, order_id: int) -> None:
        for key, user in zip(("procurement", "technical", "production", "sales"), REVIEWERS, strict=True):
            r = self.decide(order_id, key, user)
            assert r.status_code == 200, r.text

    def order(self, order_id: int, as_user: str = "admin") -> dict:
        r = self.client.get(f"/api/v1/orders/{order_id}", headers=self.h(as_user))
        assert r.status_code == 200, r.text
        return r.json()

    def timeline(self, order_id: int, as_user: str = "admin") -> list[dict]:
        r = self.client.get(f"/api/v1/orders/{order_id}/timeline", headers=self.h(as_user))
        assert r.status_code == 200, r.text
        return r.json()["items"]

    def accept(self, order_id: int, dealer: str = "hongda"):
        return self.client.post(f"/api/v1/orders/{order_id}/contract/accept", headers=self.h(dealer))

    def finance_approve(self, order_id: int, **body: object):
        return self.client.post(f"/api/v1/orders/{order_id}/finance/approve", json=body or None,
                                headers=self.h("fin_a"))

    def to_finance(self, quantity: int = 2) -> int:
        """A fresh order, submitted, reviewed, contract accepted: waiting for finance."""
        order_id = self.submit_order(quantity)["id"]
        self.approve_all(order_id)
        r = self.accept(order_id)
        assert r.status_code == 200, r.text
        return order_id

    def release(self, quantity: int = 2) -> tuple[int, str]:
        """A fresh order through finance and released by one worker pass: (id, tracking number)."""
        order_id = self.to_finance(quantity)
        r = self.finance_approve(order_id)
        assert r.status_code == 200, r.text
        worker_relay(self.crm).run_once("w")
        tracking_no = self.order(order_id)["erp_tracking_no"]
        assert tracking_no
        return order_id, tracking_no


def worker_relay(crm, deliverers: dict | None = None) -> OutboxRelay:  # type: ignore[no-untyped-def]
    """The outbox relay as ``dealercrm worker`` builds it (the container's deliverers, or the
    ``deliverers`` given), with retries due at once."""
    return OutboxRelay(SqlAlchemyOutboxStore(crm.engine), RecordingEmailSender(), RecordingSmsSender(), crm.clock,
                       backoff=Backoff(base=dt.timedelta(0), jitter=0.0),
                       deliverers=crm.outbox_deliverers() if deliverers is None else deliverers)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
