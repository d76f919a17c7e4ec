"""Fixtures for the marketing contexts on real databases (SQLite and PostgreSQL): a container
with a settable clock and the in-memory video twin (or the simulator over HTTP), an HTTP client,
dealers and users."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from litestar.testing import TestClient

import dealercrm
from dealercrm.adapters.security import JwtTokenService
from dealercrm.adapters.video.memory import MemoryVideoConferencing
from dealercrm.application import channel as ch
from dealercrm.application.identity import CreateUser
from dealercrm.config import load_settings
from dealercrm.domain.identity import Principal
from dealercrm.domain.values import Uscc
from tests.apps import app_for
from tests.fakes import FakeClock, PlainHasher

PASSWORD = "Passw0rd123"
SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
SYSTEM = Principal.system()
BEIJING = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # Monday 10:00 in Beijing


_uscc_seq = itertools.count(300)


def new_uscc() -> str:
    body = f"91410100MA{next(_uscc_seq):07d}"
    return body + Uscc.check_char(body)


class World:
    def __init__(self, db_url: str, start: dt.datetime, video=None, **settings) -> None:
        self.clock = FakeClock(start)
        # video=False: the adapter the settings choose (DEALERCRM_VIDEO_URL → HTTP)
        self.video = None if video is False else video if video is not None else MemoryVideoConferencing()
        self.settings = load_settings({}, database_url=db_url, jwt_secret=SECRET, log_level="WARNING",
                                      principal_cache_seconds=0, sqlite_synchronous="NORMAL",
                                      login_rate_per_minute=10000, **settings)
        tokens = JwtTokenService(SECRET, issuer=self.settings.jwt_issuer, audience=self.settings.jwt_audience,
                                 ttl=dt.timedelta(hours=1), clock=lambda: dt.datetime.now(dt.UTC))
        self.crm = dealercrm.bootstrap(self.settings, clock=self.clock, password_hasher=PlainHasher(),
                                       token_service=tokens, video_conferencing=self.video)
        self._n = itertools.count(1)
        self.client = TestClient(app_for(self.crm, self.settings))
        self._headers: dict[str, dict[str, str]] = {}

    def user(self, role: str, *, username: str | None = None, regions: tuple[str, ...] = (),
             station_id: int | None = None, email: str | None = None, phone: str | None = None) -> str:
        name = username or f"{role}{next(self._n)}"
        self.crm.identity.create_user(SYSTEM, CreateUser(name, f"{role}用户", role, PASSWORD, regions=regions,
                                                         station_id=station_id, email=email, phone=phone))
        return name

    def dealer(self, *, username: str, name: str = "郑州宏达专用车销售有限公司", region: str = "华中",
               email: str | None = None, phone: str | None = None) -> int:
        reg = self.crm.channel.register_dealer(ch.RegisterDealer(
            legal_name=name, uscc=new_uscc(), region=region, address=ch.AddressIn("河南省", "郑州市", "经开区88号"),
            contact=ch.ContactIn(name="王建国", title="总经理", phone="13800138000", kind="management"),
            applicant_username=username, applicant_password=PASSWORD, short_name=name[:4],
        ))
        self.crm.channel.submit(SYSTEM, reg.dealer_id)
        self.crm.channel.approve(SYSTEM, reg.dealer_id)
        if email or phone:
            from sqlalchemy import update

            from dealercrm.adapters.db.orm import users

            with self.crm.engine.begin() as conn:
                conn.execute(update(users).where(users.c.username == username).values(email=email, phone=phone))
        return reg.dealer_id

    def agreement(self, dealer_id: int, lines: tuple[str, ...] = ("tanker", "dump_truck", "semi_trailer")) -> None:
        self.crm.channel.add_agreement(SYSTEM, ch.AddAgreement(dealer_id, lines, ("河南省",), "credit",
                                                                dt.date(2025, 1, 1), dt.date(2028, 12, 31)))

    def templates(self) -> dict[str, int]:
        from dealercrm.application.catalog import CreateTemplate
        from dealercrm.entrypoints.demo_orders import DUMP_TRUCK, FUEL_TANKER, _flatbed

        return {
            "tanker": self.crm.orders.create_template(SYSTEM, CreateTemplate("HTL9400GYY", "tanker", FUEL_TANKER,
                                                                             True)).id,
            "dump_truck": self.crm.orders.create_template(SYSTEM, CreateTemplate("HTL3250ZLJ", "dump_truck",
                                                                                 DUMP_TRUCK, True)).id,
            "semi_trailer": self.crm.orders.create_template(SYSTEM, CreateTemplate("HTL9400TPB", "semi_trailer",
                                                                                   _flatbed(98_000), True)).id,
        }

    def order(self, username: str, template_id: int, *, quantity: int = 1, submit: bool = True) -> dict:
        """A priced order with the template's standard options, submitted at the fake clock."""
        detail = self.get(username, f"/api/v1/catalog/templates/{template_id}").json()
        options = []
        for group in detail["published"]["content"]["option_groups"]:
            if group["required"]:
                options.append(next(o["code"] for o in group["options"] if not o.get("special")))
        r = self.post(username, "/api/v1/orders/" + ("?submit=true" if submit else ""), {
            "template_id": template_id, "options": options, "quantity": quantity,
            "requested_delivery_date": (self.clock.now + dt.timedelta(days=90)).date().isoformat(),
            "delivery_method": "self_pickup"})
        assert r.status_code == 201, r.text
        return r.json()

    def h(self, username: str) -> dict[str, str]:
        if username not in self._headers:
            r = self.client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            self._headers[username] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        return self._headers[username]

    def get(self, username: str, path: str, **kw):
        return self.client.get(path, headers=self.h(username), **kw)

    def post(self, username: str, path: str, json=None, **kw):
        return self.client.post(path, headers=self.h(username), json=json, **kw)

    def put(self, username: str, path: str, json=None, **kw):
        return self.client.put(path, headers=self.h(username), json=json, **kw)

    def outbox(self) -> list[dict]:
        from sqlalchemy import select

        from dealercrm.adapters.notify.sql_outbox import notification_outbox as ob

        with self.crm.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(ob).order_by(ob.c.created_at))]


@pytest.fixture
def world_factory(db_url):
    made: list[World] = []

    def make(start: dt.datetime = START, **kw) -> World:
        w = World(db_url, start, **kw)
        w.client.__enter__()
        made.append(w)
        return w

    yield make
    for w in made:
        w.client.__exit__(None, None, None)
        w.crm.close()


@pytest.fixture
def world(world_factory) -> World:
    return world_factory()


def at_beijing(day: dt.date, hour: int, minute: int = 0) -> str:
    return dt.datetime.combine(day, dt.time(hour, minute), BEIJING).isoformat()

