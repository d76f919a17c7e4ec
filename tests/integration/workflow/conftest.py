"""Fixtures for the workflow integration tests: a container on SQLite / PostgreSQL with a fake
clock, a staff roster, and a test document type whose outcome handler records what it learns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

import dealercrm
from dealercrm.adapters.security import JwtTokenService
from dealercrm.adapters.notify.sql_outbox import notification_outbox
from dealercrm.application import channel as ch
from dealercrm.application import workflow as wfa
from dealercrm.application.identity import CreateUser, principal_of
from dealercrm.bootstrap import system_clock, workflow_handler_table
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal
from tests.apps import app_for
from tests.fakes import FakeClock

SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
PASSWORD = "Passw0rd123"
SYSTEM = Principal.system()
DOC = "test_doc"


class Roster:
    """Users by username, created through the identity use case."""

    def __init__(self, crm: Any) -> None:
        self.crm = crm
        self.ids: dict[str, int] = {}

    def add(self, username: str, role: str, *, regions: tuple[str, ...] = (), department: str | None = None,
            email: str | None = None, dealer_id: int | None = None) -> int:
        self.ids[username] = self.crm.identity.create_user(SYSTEM, CreateUser(
            username, username, role, PASSWORD, dealer_id=dealer_id, regions=regions, email=email,
            department=department))
        return self.ids[username]

    def principal(self, username: str) -> Principal:
        with self.crm.uow(SYSTEM) as uow:
            return principal_of(uow.users.get(self.ids[username]))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC))  # Monday 09:00 Beijing


def build_crm(db_url: str, clock: FakeClock, doc_handler: wfa.OutcomeHandler, *, migrate: bool = True) -> Any:
    """A container whose workflow handler table also gives the test document type ``doc_handler``."""
    settings = load_settings({}, database_url=db_url, jwt_secret=SECRET, log_level="WARNING",
                             principal_cache_seconds=0, login_rate_per_minute=1000, register_rate_per_hour=1000,
                             portal_url="https://crm.example.cn")
    # bearer tokens are checked against real time by PyJWT: issue them on the real clock
    tokens = JwtTokenService(SECRET, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                             ttl=dt.timedelta(hours=1), clock=system_clock)
    handlers = workflow_handler_table().including(wfa.SubjectHandlers(DOC, doc_handler))
    return dealercrm.bootstrap(settings, clock=clock, token_service=tokens, migrate=migrate,
                               workflow_handlers=handlers)


@pytest.fixture
def crm(db_url: str, clock: FakeClock, outcomes: list[Any]) -> Iterator[Any]:
    c = build_crm(db_url, clock, recording_owner(outcomes))
    yield c
    c.close()


@pytest.fixture
def roster(crm: Any) -> Roster:
    r = Roster(crm)
    r.add("proc", "procurement", email="proc@factory.example.cn")
    r.add("tech", "technical", email="tech@factory.example.cn")
    r.add("tech2", "technical")  # no e-mail address: no approval e-mail
    r.add("prod", "production", email="prod@factory.example.cn", department="生产部")
    r.add("fin", "finance", department="财务部", email="fin@factory.example.cn")
    r.add("rm_east", "region_manager", regions=("华东",), email="rm.east@factory.example.cn")
    r.add("rm_central", "region_manager", regions=("华中",), email="rm.central@factory.example.cn")
    r.add("sales_east", "sales", regions=("华东",), email="sales.east@factory.example.cn")
    r.add("mkt", "marketing", email="mkt@factory.example.cn")
    r.add("admin", "admin")
    return r


@pytest.fixture
def outcomes() -> list[Any]:
    """The outcomes the test document's owner learned (``crm``'s handler table has it)."""
    return []


def recording_owner(seen: list[Any]) -> wfa.OutcomeHandler:
    """The test document's outcome handler: it records the outcome and writes an outbox row in
    the deciding transaction (so a test can see both commit or roll back together)."""

    def handler(uow: Any, workflow: Any, outcome: Any) -> None:
        seen.append(outcome)
        uow.outbox.enqueue("dealer.review_rejected", {
            "dealer_name": workflow.title, "application_no": workflow.subject_no,
            "reason": outcome.summary or outcome.status.value, "portal_url": "https://crm.example.cn",
        }, "owner@factory.example.cn", f"test-outcome:{workflow.id}")

    return handler


ORDER_LIKE = wfa.WorkflowDefinition("test_review", "测试单据评审", (
    wfa.StageDef("部门评审", (
        wfa.StepDef("procurement", "采购评审", "role", "procurement", due_in_days=2),
        wfa.StepDef("technical", "技术评审", "role", "technical", due_in_days=2),
        wfa.StepDef("production", "生产评审", "department", "生产部", due_in_days=3),
        wfa.StepDef("sales", "销售评审", "region", "华东"),
    )),
    wfa.StageDef("财务审核", (wfa.StepDef("finance", "财务审核", "department", "财务部", due_in_days=1),)),
))


def start_doc(crm: Any, submitter: Principal, *, doc_id: int = 1, definition: Any = ORDER_LIKE,
              dealer_id: int | None = None, region: str | None = "华东") -> int:
    with crm.uow(submitter) as uow:
        workflow_id = wfa.start_workflow(
            uow, definition=definition,
            subject=wfa.WorkflowSubject(DOC, doc_id, f"TD-2026-{doc_id:06d}", f"测试单据 {doc_id}",
                                        dealer_id=dealer_id, region=region),
            submitted_by=submitter, now=crm.clock(),
        )
        uow.commit()
    return workflow_id


def steps_by_key(crm: Any, workflow_id: int) -> dict[str, dict[str, Any]]:
    return {s["key"]: s for s in crm.workflow.detail(SYSTEM, workflow_id)["steps"]}


def outbox(crm: Any) -> list[dict[str, Any]]:
    with crm.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(notification_outbox).order_by(notification_outbox.c.created_at))]


def register_dealer(crm: Any, *, uscc: str = "91350100M000100Y43", username: str = "hongda", region: str = "华东",
                    email: str | None = "gm@hongda.example.cn") -> ch.Registered:
    return crm.channel.register_dealer(ch.RegisterDealer(
        legal_name=f"{region}宏达专用车销售有限公司", uscc=uscc, region=region,
        address=ch.AddressIn("山东省", "济南市", "经开区88号"),
        contact=ch.ContactIn(name="王建国", title="总经理", phone="13800138000", email=email),
        applicant_username=username, applicant_password=PASSWORD,
    ))


def http_client(crm: Any) -> TestClient:
    return TestClient(app_for(crm, crm.settings))


def login(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


class Kit:
    """The helpers above, handed to tests as a fixture (test modules cannot import conftest)."""

    SYSTEM = SYSTEM
    DOC = DOC
    PASSWORD = PASSWORD
    ORDER_LIKE = ORDER_LIKE
    build_crm = staticmethod(build_crm)
    start_doc = staticmethod(start_doc)
    steps_by_key = staticmethod(steps_by_key)
    outbox = staticmethod(outbox)
    register_dealer = staticmethod(register_dealer)
    http_client = staticmethod(http_client)
    login = staticmethod(login)


@pytest.fixture
def kit() -> type[Kit]:
    return Kit
